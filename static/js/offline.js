// The offline page (iseca/web/installable.py): it holds every language of its
// area; show the one the last page was shown in (app.js keeps it in
// localStorage), else the first the browser prefers that the page has, else
// Japanese. Without this script every language stays shown.
(function () {
  "use strict";
  var sections = Array.prototype.slice.call(document.querySelectorAll("[data-offline-lang]"));
  if (!sections.length) { return; }
  function find(code) {
    if (!code) { return null; }
    code = String(code).toLowerCase().replace("_", "-");
    var exact = sections.filter(function (s) { return s.getAttribute("lang").toLowerCase() === code; })[0];
    if (exact) { return exact; }
    var base = code.split("-")[0];
    return sections.filter(function (s) { return s.getAttribute("lang").toLowerCase().split("-")[0] === base; })[0] || null;
  }
  var stored = null;
  try { stored = window.localStorage.getItem("iseca-lang"); } catch (e) { stored = null; }
  var chosen = find(stored);
  var preferred = navigator.languages || [navigator.language];
  for (var i = 0; !chosen && i < preferred.length; i += 1) { chosen = find(preferred[i]); }
  chosen = chosen || sections[0];
  sections.forEach(function (s) { s.hidden = s !== chosen; });
  document.documentElement.lang = chosen.getAttribute("lang");
  var heading = chosen.querySelector("h1");
  if (heading) { document.title = heading.textContent + " | ISECA"; }
  // 「再読み込み」: the same address again (the page that could not be shown).
  document.addEventListener("click", function (event) {
    var button = event.target.closest && event.target.closest("[data-offline-reload]");
    if (!button) { return; }
    event.preventDefault();
    window.location.reload();
  });
  // Say so when the network is back, so the clerk knows 「再読み込み」 will work.
  window.addEventListener("online", function () {
    sections.forEach(function (s) {
      var status = s.querySelector("[data-offline-status]");
      if (status) { status.textContent = status.getAttribute("data-online-text"); }
    });
  });
})();
