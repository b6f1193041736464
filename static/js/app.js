// Small behaviours shared by every page. No inline scripts: the CSP forbids them.
(function () {
  "use strict";
  // Move focus to the main content after a boosted navigation, for screen readers.
  document.addEventListener("htmx:afterSettle", function (event) {
    if (event.detail && event.detail.boosted) {
      var main = document.getElementById("main");
      if (main) { main.focus({ preventScroll: true }); }
    }
  });
})();

// 利用状況一覧 / 日計: focus on the new results after an htmx page change so
// that screen readers announce them.
(function () {
  "use strict";
  // The results section is replaced whole (outerHTML), so listen for the new one.
  document.addEventListener("htmx:load", function (event) {
    if (event.target && event.target.id === "results") {
      var heading = document.getElementById("results-heading");
      if (heading) { heading.focus({ preventScroll: false }); }
    }
  });
})();
