// Camera QR reading with the vendored jsQR (works where BarcodeDetector does not).
// <div data-scanner data-scanner-input="ID" data-scanner-form="ID">: the text read
// is put into the input and the form is submitted (the terminal).
// <div data-scanner data-scanner-navigate="^/wallet/pay/[A-Za-z0-9_-]+$">: the
// browser opens the address read when its path matches (the wallet).
(function () {
  "use strict";

  // Without a camera (none, refused, or no reader) the video box goes away
  // and the page's typed-entry path is shown and focused instead:
  // data-scanner-fallback="ID" names it, data-scanner-no-camera says what to do.
  function unavailable(box, why) {
    var video = box.querySelector("video");
    if (video) { video.hidden = true; }
    box.setAttribute("data-scanner-state", "unavailable");
    var status = box.querySelector(".scanner-status");
    if (status) { status.textContent = why + (box.getAttribute("data-scanner-no-camera") || ""); }
    var fallback = document.getElementById(box.getAttribute("data-scanner-fallback") || "");
    if (fallback) {
      fallback.hidden = false;
      var field = fallback.querySelector("input:not([type=hidden]), select, textarea");
      if (field && !fallback.contains(document.activeElement)) { field.focus(); }
    }
  }

  // A page may give the messages in its reader's language:
  // data-scanner-text-<key>="…"; the Japanese below is the default.
  function message(box, key, fallback) {
    return box.getAttribute("data-scanner-text-" + key) || fallback;
  }

  function start(box) {
    var video = box.querySelector("video");
    var canvas = box.querySelector("canvas");
    var status = box.querySelector(".scanner-status");
    var say = function (text) { if (status) { status.textContent = text; } };
    if (!navigator.mediaDevices || !navigator.mediaDevices.getUserMedia) {
      unavailable(box, message(box, "no-device", "この端末ではカメラで読み取れません。"));
      return;
    }
    if (typeof window.jsQR !== "function") {
      // The reader script may still be loading.
      var waited = Number(box.getAttribute("data-scanner-waited") || "0");
      if (waited < 50) {
        box.setAttribute("data-scanner-waited", String(waited + 1));
        window.setTimeout(function () { start(box); }, 100);
      } else {
        unavailable(box, message(box, "no-reader", "読み取り機能を読み込めませんでした。"));
      }
      return;
    }
    var stream = null;
    var done = false;
    var stop = function () {
      done = true;
      if (stream) { stream.getTracks().forEach(function (t) { t.stop(); }); }
    };
    var deliver = function (text) {
      var pattern = box.getAttribute("data-scanner-navigate");
      if (pattern) {
        var url;
        try { url = new URL(text, window.location.href); } catch (e) { url = null; }
        if (url && new RegExp(pattern).test(url.pathname)) {
          stop();
          say(message(box, "read", "読み取りました。"));
          window.location.assign(url.pathname);
          return true;
        }
        say(message(box, "not-store", "ISECAの店舗QRコードではありません。お店のQRコードを読み取ってください。"));
        return false;
      }
      var input = document.getElementById(box.getAttribute("data-scanner-input"));
      var form = document.getElementById(box.getAttribute("data-scanner-form"));
      if (!input || !form) { return false; }
      stop();
      input.value = text;
      say(message(box, "read", "読み取りました。"));
      if (form.requestSubmit) { form.requestSubmit(); } else { form.submit(); }
      return true;
    };
    var tick = function () {
      if (done) { return; }
      if (video.readyState >= 2 && video.videoWidth > 0) {
        var w = video.videoWidth, h = video.videoHeight;
        canvas.width = w; canvas.height = h;
        var ctx = canvas.getContext("2d", { willReadFrequently: true });
        ctx.drawImage(video, 0, 0, w, h);
        var image = ctx.getImageData(0, 0, w, h);
        var code = window.jsQR(image.data, w, h, { inversionAttempts: "attemptBoth" });
        if (code && code.data && deliver(code.data)) { return; }
      }
      window.setTimeout(tick, 150);
    };
    navigator.mediaDevices.getUserMedia({ video: { facingMode: "environment" }, audio: false })
      .then(function (s) {
        stream = s;
        video.srcObject = s;
        video.hidden = false;
        box.setAttribute("data-scanner-state", "reading");
        return video.play();
      })
      .then(function () {
        say(message(box, "point", "QRコードをカメラに向けてください。"));
        tick();
      })
      .catch(function () {
        stop();
        unavailable(box, message(box, "no-camera-access", "カメラを使えません（許可されていないか、カメラがありません）。"));
      });
    window.addEventListener("pagehide", stop);
    document.addEventListener("htmx:beforeHistorySave", stop);
  }

  function init() {
    var boxes = document.querySelectorAll("[data-scanner]");
    for (var i = 0; i < boxes.length; i++) { start(boxes[i]); }
  }

  // Forms that move money: a second tap while the first is on its way does nothing.
  document.addEventListener("submit", function (event) {
    var form = event.target;
    if (form && form.hasAttribute && form.hasAttribute("data-once")) {
      if (form.getAttribute("data-sent") === "1") { event.preventDefault(); return; }
      form.setAttribute("data-sent", "1");
      var buttons = form.querySelectorAll("button[type=submit]");
      for (var i = 0; i < buttons.length; i++) { buttons[i].setAttribute("aria-disabled", "true"); }
    }
  }, true);

  if (document.readyState === "loading") {
    document.addEventListener("DOMContentLoaded", init);
  } else {
    init();
  }
})();
