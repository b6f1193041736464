// A header checkbox [data-select-all="name"] checks or clears every checkbox
// of that name in its form. Hidden without JavaScript (each row still works).
(function () {
  "use strict";
  function init(root) {
    var boxes = root.querySelectorAll("[data-select-all]");
    Array.prototype.forEach.call(boxes, function (box) {
      if (box.dataset.selectAllReady) { return; }
      box.dataset.selectAllReady = "1";
      box.hidden = false;
      box.addEventListener("change", function () {
        var form = box.form;
        if (!form) { return; }
        var targets = form.querySelectorAll('input[type=checkbox][name="' + box.dataset.selectAll + '"]');
        Array.prototype.forEach.call(targets, function (t) { t.checked = box.checked; });
      });
    });
  }
  // Loaded at the end of the page's content, also when htmx swaps it in.
  if (document.readyState === "loading") {
    document.addEventListener("DOMContentLoaded", function () { init(document); });
  } else {
    init(document);
  }
})();
