// Recovery codes: download, print and copy the codes shown on the page (nothing leaves the browser),
// and send "Generate new codes" once however often it is clicked. Progressive enhancement: the server
// refuses a second set from the same form anyway.
(function () {
  "use strict";

  Array.prototype.forEach.call(document.querySelectorAll("form[data-submit-once]"), function (form) {
    form.addEventListener("submit", function (event) {
      if (form.getAttribute("data-sent") === "yes") { event.preventDefault(); return; }
      form.setAttribute("data-sent", "yes");
      Array.prototype.forEach.call(form.querySelectorAll("button[type=submit]"), function (button) {
        button.setAttribute("aria-disabled", "true");
      });
    });
    window.addEventListener("pageshow", function () {  // back from the cache: the form may be sent again
      form.removeAttribute("data-sent");
      Array.prototype.forEach.call(form.querySelectorAll("button[type=submit]"), function (button) {
        button.removeAttribute("aria-disabled");
      });
    });
  });

  var list = document.getElementById("recovery-codes");
  var actions = document.querySelector(".code-actions");
  if (!list || !actions) { return; }
  var status = document.getElementById("copy-status");

  function codes() {
    return Array.prototype.map.call(list.querySelectorAll("code"), function (c) { return c.textContent.trim(); });
  }

  function tell(text) {
    if (status) { status.textContent = text; }
  }

  actions.hidden = false;
  actions.addEventListener("click", function (event) {
    var button = event.target.closest("button[data-action]");
    if (!button) { return; }
    var action = button.getAttribute("data-action");
    if (action === "print") { window.print(); return; }
    if (action === "download") {
      var heading = button.getAttribute("data-heading") || "";
      var intro = button.getAttribute("data-intro") || "";
      var text = heading + "\n" + intro + "\n\n" + codes().join("\n") + "\n";
      var link = document.createElement("a");
      link.href = URL.createObjectURL(new Blob([text], { type: "text/plain;charset=utf-8" }));
      link.download = button.getAttribute("data-filename") || "recovery-codes.txt";
      document.body.appendChild(link);
      link.click();
      setTimeout(function () { URL.revokeObjectURL(link.href); link.remove(); }, 0);
      return;
    }
    if (action === "copy") { window.portalCopy(codes().join("\n"), list, button, tell); }  // static/js/copy.js
  });
})();
