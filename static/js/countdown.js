// The resend countdown: a hint that mirrors the server's cooldown (data-seconds). The server decides:
// without this script the button is always there and an early press is refused by the server (the sign-in
// page's with a 303 back to it, the others' with a 429), whose page counts from the true wait.
(function () {
  "use strict";
  document.querySelectorAll("[data-countdown]").forEach(function (box) {
    var left = parseInt(box.getAttribute("data-seconds"), 10) || 0;
    var label = box.querySelector(".countdown-label");
    var button = box.querySelector("[data-countdown-button]");
    // {"one": "… %(num)d second.", "other": "… %(num)d seconds."}: the server's own translated words.
    var waiting = JSON.parse(box.getAttribute("data-waiting") || "{}");
    var ready = box.getAttribute("data-ready") || "";
    var status = box.querySelector("[data-countdown-status]");
    // Before any code was sent (and with no wait to count) "you can request a new code now" would be wrong:
    // the label stays empty and hidden, and the button ("Send code") speaks for itself.
    var sayReady = box.hasAttribute("data-code-sent") || left > 0;
    var end = Date.now() + left * 1000;
    var timer = null;
    var counting = left > 0;
    function show(text) {
      if (label.textContent !== text) { label.textContent = text; }
      label.hidden = text === "";
    }
    function tick() {
      left = Math.max(0, Math.ceil((end - Date.now()) / 1000));
      if (left > 0) {
        var form = (left === 1 ? waiting.one : waiting.other) || waiting.other || "%(num)d";
        show(form.replace("%(num)d", String(left)));
        button.disabled = true;
      } else {
        show(sayReady ? ready : "");
        button.disabled = false;
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
