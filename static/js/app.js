// Small behaviours shared by every page. No inline scripts: the CSP forbids them.
(function () {
  "use strict";
  // After a boosted navigation, move focus for screen readers: to the first
  // field that needs attention when the page came back with errors (its
  // message is tied to it by aria-describedby), to an expired-form notice,
  // otherwise to the main content.
  // A boosted navigation swaps the body and the window keeps the old page's
  // scroll position, so a new page starts at its top, and its message (「取消
  // しました」 after a form) is in view; the field or notice in focus is
  // scrolled to by the focus itself. (htmx's own scrollIntoViewOnBoost is
  // off in base.html: it scrolls after this handler, away from that field.)
  document.addEventListener("htmx:afterSettle", function (event) {
    if (!(event.detail && event.detail.boosted)) { return; }
    var main = document.getElementById("main");
    if (!main) { return; }
    var invalid = main.querySelector("[aria-invalid=true]");
    var notice = document.getElementById("form-expired");
    var target = invalid || notice || main.querySelector("[data-focus-on-load]") || main;
    if (target === main) {
      window.scrollTo(0, 0);
      var message = main.querySelector(".flashes");
      if (message && message.getBoundingClientRect().bottom > window.innerHeight) {
        message.scrollIntoView({ block: "start" });
      }
    }
    target.focus({ preventScroll: target === main });
  });
})();

// A result that a full page load brings (the terminal's 決済完了) is marked
// [data-focus-on-load]: it takes the focus, so a screen reader reads the
// result itself, not the page's title alone.
(function () {
  "use strict";
  function focusResult() {
    var result = document.querySelector("[data-focus-on-load]");
    if (result && !document.querySelector("[autofocus]")) { result.focus(); }
  }
  if (document.readyState === "loading") {
    document.addEventListener("DOMContentLoaded", focusResult);
  } else {
    focusResult();
  }
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

// Error answers. A boosted navigation or form gets the whole error page and
// htmx swaps it like any page (responseHandling in base.html). A fragment (a
// part of the page that htmx asked for) gets the message alone, marked
// [data-error-message]: it is shown just before that part instead of
// replacing it, so the part keeps working once the problem is gone. A view's
// own answer for an error status (a form with its messages) swaps as usual.
(function () {
  "use strict";
  // The messages in the page's language (data-text-* on <body>, written by
  // the server through the catalogues); Japanese when a page has none.
  function text(name, fallback) {
    return (document.body && document.body.getAttribute("data-text-" + name)) || fallback;
  }
  function networkText() {
    return text("network", "通信できませんでした。電波やネットワークの状態を確かめて、もう一度お試しください。");
  }

  function anchorOf(target) {
    if (!target || target === document.body || !document.body.contains(target)) {
      var main = document.getElementById("main");
      return main && main.firstElementChild ? main.firstElementChild : null;
    }
    return target;
  }
  function boxBefore(anchor) {
    var box = anchor && anchor.previousElementSibling;
    return box && box.classList.contains("fragment-error") ? box : null;
  }
  function show(target, node) {
    var anchor = anchorOf(target);
    if (!anchor) { return; }
    var old = boxBefore(anchor);
    // The same message again (a poll that keeps failing) is not re-announced.
    if (old && old.textContent === node.textContent) { return; }
    node.classList.add("fragment-error");
    if (old) { old.replaceWith(node); } else { anchor.insertAdjacentElement("beforebegin", node); }
  }
  function clear(target) {
    var old = boxBefore(anchorOf(target));
    if (old) { old.remove(); }
  }
  function textBox(text) {
    var box = document.createElement("div");
    box.className = "alert alert-danger";
    box.setAttribute("role", "alert");
    box.textContent = text;
    return box;
  }

  document.addEventListener("htmx:beforeSwap", function (event) {
    var d = event.detail;
    if (!d.isError) { clear(d.target); return; }
    if (d.boosted) { return; }
    var doc = new DOMParser().parseFromString(d.serverResponse || "", "text/html");
    var message = doc.querySelector("[data-error-message]");
    if (!message && doc.body && doc.body.querySelector("main")) {
      // A whole page where a part was expected (a proxy's or an old page's): say so.
      message = textBox(text("error", "エラーが発生しました（{status}）。画面を再読み込みしてください。")
        .replace("{status}", String(d.xhr.status)));
    }
    if (!message) { return; }
    d.shouldSwap = false;
    show(d.target, document.importNode(message, true));
  });
  // The network is down: the guide's steps (「決済時にエラーがでたら」) for this
  // area, from the page's <template id="network-help">, beside the part that asked.
  function networkBox() {
    var help = document.getElementById("network-help");
    var box = help && help.content && help.content.firstElementChild;
    return box ? document.importNode(box, true) : textBox(networkText());
  }
  document.addEventListener("htmx:sendError", function (event) { show(event.detail.target, networkBox()); });
  document.addEventListener("htmx:timeout", function (event) { show(event.detail.target, networkBox()); });
})();

// The CSRF token of htmx requests: the body's data-hx-headers keep the token of
// the first page (a boosted navigation swaps the body's content, not its
// attributes); a page drawn again after an expired token carries a fresh one
// in its forms, so send that.
(function () {
  "use strict";
  document.addEventListener("htmx:configRequest", function (event) {
    var input = document.querySelector("input[name=csrf_token]");
    if (input && input.value && event.detail.verb !== "get") {
      event.detail.headers["X-CSRFToken"] = input.value;
    }
  });
})();

// The terminal and the wallet as installed apps (iseca/web/installable.py):
// their service worker (static files and the offline page only), the page's
// language for the offline page, and the screen kept on where a page asks.
(function () {
  "use strict";
  var manifest = document.querySelector("link[rel=manifest][data-service-worker]");
  if (manifest && "serviceWorker" in navigator) {
    navigator.serviceWorker.register(manifest.getAttribute("data-service-worker"),
      { scope: manifest.getAttribute("data-scope") }).catch(function () { /* the page works without it */ });
  }
  // The offline page shows the language the last page was shown in.
  try { window.localStorage.setItem("iseca-lang", document.documentElement.lang); } catch (e) { /* private mode */ }

  // 決済する and the amount: the screen stays on while a page marked
  // [data-keep-awake] is shown (Wake Lock API where the browser has it); the
  // lock ends when the page is hidden, so it is asked again when it is shown.
  var lock = null;
  var asking = false;
  function wanted() { return document.visibilityState === "visible" && document.querySelector("[data-keep-awake]"); }
  function update() {
    if (!("wakeLock" in navigator) || asking) { return; }
    if (wanted() && !lock) {
      asking = true;
      navigator.wakeLock.request("screen").then(function (sentinel) {
        asking = false;
        lock = sentinel;
        sentinel.addEventListener("release", function () { if (lock === sentinel) { lock = null; } });
        update();  // the page may have changed while the browser answered
      }).catch(function () { asking = false; lock = null; });
    } else if (!wanted() && lock) {
      var held = lock;
      lock = null;
      held.release().catch(function () { /* already released */ });
    }
  }
  document.addEventListener("visibilitychange", update);
  document.addEventListener("htmx:afterSettle", update);
  if (document.readyState === "loading") { document.addEventListener("DOMContentLoaded", update); } else { update(); }
})();
