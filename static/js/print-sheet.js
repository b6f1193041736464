// 印刷用ページ: the 「印刷する」 button opens the browser's print dialog.
// Without JavaScript the button stays hidden and the browser menu prints.
(function () {
  "use strict";
  document.addEventListener("DOMContentLoaded", function () {
    var buttons = document.querySelectorAll("[data-print]");
    Array.prototype.forEach.call(buttons, function (button) {
      button.hidden = false;
      button.addEventListener("click", function () { window.print(); });
    });
  });
})();
