// A charge that survives a lost answer (terminal and wallet). Before a form
// marked data-till-charge is sent, its fields are kept in localStorage under
// the login's own name (#till data-store), until a page that is the charge's
// answer says so (#till data-answer = its key). Any page of the area that
// opens while one is kept (Back, reload, a new tab, the app reopened, the
// network back) asks the server what became of that key (#till data-outcome)
// and goes to 決済完了 (「決済は完了しています」) or to the amount filled in
// again with the same key (「決済されていません」): sending it again charges once.
(function () {
  "use strict";
  function box() { return document.getElementById("till"); }
  function load(name) {
    try { return JSON.parse(window.localStorage.getItem(name) || "null"); } catch (e) { return null; }
  }
  function save(name, record) {
    try { window.localStorage.setItem(name, JSON.stringify(record)); } catch (e) { /* private mode: the key still guards */ }
  }
  function forget(name) {
    try { window.localStorage.removeItem(name); } catch (e) { /* nothing kept */ }
  }

  // Kept before it leaves (after scanner.js's data-once, which stops a second tap).
  document.addEventListener("submit", function (event) {
    var form = event.target, till = box();
    if (!till || event.defaultPrevented || !form.hasAttribute || !form.hasAttribute("data-till-charge")) { return; }
    var fields = {};
    new FormData(form).forEach(function (value, name) {
      if (name !== "csrf_token" && name !== "duplicate_of") { fields[name] = String(value); }
    });
    save(till.getAttribute("data-store"), { key: fields.key, retry: form.getAttribute("data-till-charge"),
                                            fields: fields, at: new Date().toISOString() });
  });

  var asking = false;
  function check() {
    var till = box();
    if (!till || asking) { return; }
    var name = till.getAttribute("data-store"), record = load(name);
    if (!record || !record.key) { return; }
    var here = new URLSearchParams(window.location.search);
    if (till.getAttribute("data-answer") === record.key || (here.get("pending") && here.get("key") === record.key)) {
      forget(name);  // this page is the answer (or the server's word on it)
      return;
    }
    asking = true;
    var query = new URLSearchParams({ key: record.key, run: (record.fields && record.fields.run) || "" });
    fetch(till.getAttribute("data-outcome") + "?" + query.toString(),
          { credentials: "same-origin", cache: "no-store", headers: { Accept: "application/json" } })
      .then(function (response) { return response.json(); })
      .then(function (answer) {
        asking = false;
        if (answer.state === "done") {
          forget(name);
          window.location.replace(answer.url);
        } else if (answer.state === "none") {
          var params = new URLSearchParams(record.fields || {});
          params.set("pending", "1");
          window.location.replace(record.retry + "?" + params.toString());
        } else {
          window.setTimeout(check, 1000);  // still running on the server
        }
      })
      .catch(function () { asking = false; });  // offline: asked again when the network is back
  }

  if (document.readyState === "loading") {
    document.addEventListener("DOMContentLoaded", check);
  } else {
    check();
  }
  window.addEventListener("pageshow", function (event) { if (event.persisted) { check(); } });
  window.addEventListener("online", check);
  document.addEventListener("htmx:afterSettle", check);
})();
