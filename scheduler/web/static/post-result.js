// After an action on a post the page reloads scrolled to the post's card, which shows the
// result.  Move keyboard focus to that message so a screen reader reads it out (a live region
// that is already filled when the page loads is not announced), and so Tab continues from the
// card the editor was working in.  Without JavaScript the message is still shown in the card.
(function () {
  "use strict";
  function focusResult() {
    var message = document.querySelector("[data-focus-on-load]");
    if (!message) return;
    message.focus({ preventScroll: true });
    var box = message.getBoundingClientRect();
    if (box.top < 0 || box.bottom > window.innerHeight) {
      message.scrollIntoView({ block: "center" });
    }
  }
  if (document.readyState === "loading") {
    document.addEventListener("DOMContentLoaded", focusResult);
  } else {
    focusResult();
  }
})();
