// The resend countdown: a hint that mirrors the server's cooldown (data-seconds). The server decides:
// without this script the button is always there and an early press gets a 429 with the true wait.
(function () {
  "use strict";
  document.querySelectorAll("[data-countdown]").forEach(function (box) {
    var left = parseInt(box.getAttribute("data-seconds"), 10) || 0;
    var label = box.querySelector(".countdown-label");
    var button = box.querySelector("[data-countdown-button]");
    var waiting = box.getAttribute("data-waiting") || "{seconds}";
    var ready = box.getAttribute("data-ready") || "";
    var end = Date.now() + left * 1000;
    var timer = null;
    function tick() {
      left = Math.max(0, Math.ceil((end - Date.now()) / 1000));
      if (left > 0) {
        label.textContent = waiting.replace("{seconds}", String(left));
        button.disabled = true;
      } else {
        label.textContent = ready;
        button.disabled = false;
        if (timer !== null) { clearInterval(timer); }
      }
    }
    tick();
    if (left > 0) { timer = setInterval(tick, 250); }
  });
})();
