// Download, print and copy the recovery codes shown on this page. Nothing leaves the browser.
(function () {
  "use strict";
  var list = document.getElementById("recovery-codes");
  var actions = document.querySelector(".code-actions");
  if (!list || !actions) { return; }
  function codes() {
    return Array.prototype.map.call(list.querySelectorAll("code"), function (c) { return c.textContent.trim(); });
  }
  actions.hidden = false;
  actions.addEventListener("click", function (event) {
    var button = event.target.closest("button[data-action]");
    if (!button) { return; }
    var action = button.getAttribute("data-action");
    if (action === "print") { window.print(); return; }
    if (action === "download") {
      var heading = button.getAttribute("data-heading") || "";
      var text = heading + "\n\n" + codes().join("\n") + "\n";
      var link = document.createElement("a");
      link.href = URL.createObjectURL(new Blob([text], { type: "text/plain;charset=utf-8" }));
      link.download = button.getAttribute("data-filename") || "recovery-codes.txt";
      document.body.appendChild(link);
      link.click();
      setTimeout(function () { URL.revokeObjectURL(link.href); link.remove(); }, 0);
      return;
    }
    if (action === "copy" && navigator.clipboard) {
      navigator.clipboard.writeText(codes().join("\n")).then(function () {
        button.textContent = button.getAttribute("data-done") || button.textContent;
      });
    }
  });
})();
