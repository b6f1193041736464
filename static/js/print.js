// 「印刷する」 buttons (日計, 掲示用QRコード台紙): open the browser's print dialog.
// A button marked `hidden` stays hidden without JavaScript (the browser menu prints).
(function () {
  "use strict";
  document.addEventListener("DOMContentLoaded", function () {
    Array.prototype.forEach.call(document.querySelectorAll("[data-print][hidden]"), function (button) {
      button.hidden = false;
    });
  });
  // Delegated, so buttons that htmx swaps in work too.
  document.addEventListener("click", function (event) {
    var button = event.target.closest && event.target.closest("[data-print]");
    if (button) { window.print(); }
  });
})();
