// The authenticator setup on a phone: the key is unfolded beside the QR code (a phone cannot scan its own
// screen), and the Copy button puts it on the clipboard. Progressive enhancement: without this script the key
// is one tap away under "Can't scan?" and can be selected as text. Nothing leaves the browser.
(function () {
  "use strict";
  var details = document.querySelector("details.manual-key");
  var key = document.getElementById("totp-key");
  var button = document.getElementById("totp-key-copy");
  var status = document.getElementById("totp-key-status");
  if (!details || !key) { return; }

  // The same query as the stylesheet's phone layout (static/css/app.css, issue 17 point 10).
  var phone = window.matchMedia("(max-width: 40em), (pointer: coarse)");
  function unfold() { if (phone.matches) { details.open = true; } }
  unfold();
  if (phone.addEventListener) { phone.addEventListener("change", unfold); }

  if (!button) { return; }
  function tell(text) { if (status) { status.textContent = text; } }

  button.hidden = false;
  button.addEventListener("click", function () {
    // The key without its grouping spaces (static/js/copy.js does the copying).
    window.portalCopy(key.textContent.replace(/\s+/g, ""), key, button, tell);
  });
})();
