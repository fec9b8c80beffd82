// The web chat works without this script; with it, the keyboard stays in the answer box.
// After every turn the answer box has the focus (a redirect's autofocus comes too late for a
// fast typist, or not at all), and Enter sends, in the multi-line box too: Shift+Enter is a new line.
"use strict";
(function () {
  const box = document.querySelector("form.say [name=text]");
  if (!box) return;
  box.focus();
  box.scrollIntoView({ block: "end" });
  if (box.tagName === "TEXTAREA") {
    box.addEventListener("keydown", function (event) {
      if (event.key === "Enter" && !event.shiftKey && !event.isComposing) {
        event.preventDefault();
        if (box.value.trim()) box.form.requestSubmit();
      }
    });
  }
})();
