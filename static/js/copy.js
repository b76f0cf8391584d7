// One copy button's work, for every page that has one (the authenticator key, the recovery codes): put `text` on
// the clipboard; without the Clipboard API (plain HTTP, older browsers) select `node` so the menu or Ctrl+C copies
// it. `tell` gets the button's data-done or data-selected sentence. Nothing leaves the browser.
window.portalCopy = function (text, node, button, tell) {
  "use strict";
  function selectNode() {
    var range = document.createRange();
    range.selectNodeContents(node);
    var selection = window.getSelection();
    selection.removeAllRanges();
    selection.addRange(range);
    var copied = false;
    try { copied = document.execCommand("copy"); } catch (ignored) { copied = false; }
    tell(copied ? button.getAttribute("data-done") : button.getAttribute("data-selected"));
  }
  tell("");
  if (navigator.clipboard && window.isSecureContext) {
    navigator.clipboard.writeText(text).then(function () { tell(button.getAttribute("data-done")); }, selectNode);
  } else {
    selectNode();
  }
};
