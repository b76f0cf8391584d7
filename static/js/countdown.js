// The resend countdown: a hint that mirrors the server's cooldown (data-seconds). The server decides:
// without this script the button is always there and an early press is refused by the server (the sign-in
// page's with a 303 back to it, the others' with a 429), whose page counts from the true wait.
// Also the wait before the next password or code (portal/waits.py): no button, and while more than a minute is
// left it counts in minutes (data-waiting-minutes).
(function () {
  "use strict";
  document.querySelectorAll("[data-countdown]").forEach(function (box) {
    if (box.hasAttribute("data-countdown-running")) { return; }  // the script can be on a page twice
    box.setAttribute("data-countdown-running", "");
    var left = parseInt(box.getAttribute("data-seconds"), 10) || 0;
    var label = box.querySelector(".countdown-label");
    var button = box.querySelector("[data-countdown-button]");
    // {"one": "… %(num)d second.", "other": "… %(num)d seconds."}: the server's own translated words.
    var waiting = JSON.parse(box.getAttribute("data-waiting") || "{}");
    var waitingMinutes = JSON.parse(box.getAttribute("data-waiting-minutes") || "null");
    var ready = box.getAttribute("data-ready") || "";
    var status = box.querySelector("[data-countdown-status]");
    // Before any code was sent (and with no wait to count) "you can request a new code now" would be wrong:
    // the label stays empty and hidden, and the button ("Send code") speaks for itself.
    var sayReady = box.hasAttribute("data-code-sent") || left > 0;
    var end = Date.now() + left * 1000;
    var timer = null;
    var counting = left > 0;
    // A ticking sentence is no alert: it was there when the page came, and a screen reader would read every
    // change. The status below says once, at zero, that the next try can go.
    label.removeAttribute("role");
    function show(text) {
      if (label.textContent !== text) { label.textContent = text; }
      label.hidden = text === "";
    }
    function tick() {
      left = Math.max(0, Math.ceil((end - Date.now()) / 1000));
      if (left > 0) {
        var forms = waiting, num = left;
        if (waitingMinutes && left > 60) { forms = waitingMinutes; num = Math.ceil(left / 60); }
        var form = (num === 1 ? forms.one : forms.other) || forms.other || "%(num)d";
        show(form.replace("%(num)d", String(num)));
        if (button) { button.disabled = true; }
      } else {
        show(sayReady ? ready : "");
        if (button) { button.disabled = false; }
        if (timer !== null) { clearInterval(timer); }
        if (counting) {
          // The wait is over: a message that no code was sent yet (a 429's alert, the flash after a 303) is stale.
          document.querySelectorAll("[data-countdown-stale]").forEach(function (el) { el.hidden = true; });
          if (status) { status.textContent = ready; }
          counting = false;
        }
      }
    }
    tick();
    if (left > 0) { timer = setInterval(tick, 250); }
  });
})();
