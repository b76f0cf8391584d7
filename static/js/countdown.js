// The resend countdown: a hint that mirrors the server's cooldown (data-seconds). The server decides:
// without this script the button is always there and an early press gets a 429 with the true wait.
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
    var end = Date.now() + left * 1000;
    var timer = null;
    var counting = left > 0;
    function show(text) {
      if (label.textContent !== text) { label.textContent = text; }
    }
    function tick() {
      left = Math.max(0, Math.ceil((end - Date.now()) / 1000));
      if (left > 0) {
        var form = (left === 1 ? waiting.one : waiting.other) || waiting.other || "%(num)d";
        show(form.replace("%(num)d", String(left)));
        button.disabled = true;
      } else {
        show(ready);
        button.disabled = false;
        if (timer !== null) { clearInterval(timer); }
        if (counting) {
          // The wait the server gave with its 429 is over: its message would now contradict the label.
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
