// A hint only: how long the current authenticator code stays valid. The server decides; the page works without this.
(function () {
  "use strict";
  document.querySelectorAll(".totp-countdown").forEach(function (box) {
    var period = parseInt(box.getAttribute("data-period"), 10) || 30;
    var fill = box.querySelector(".fill");
    var label = box.querySelector(".label");
    var template = box.getAttribute("data-label") || "{seconds}";
    function tick() {
      var now = Date.now() / 1000;
      var left = period - (now % period);
      fill.style.width = (100 * left / period).toFixed(1) + "%";
      label.textContent = template.replace("{seconds}", String(Math.ceil(left)));
    }
    box.hidden = false;
    tick();
    setInterval(tick, 250);
  });
})();
