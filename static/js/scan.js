// Camera scanner (html5-qrcode), one widget for every page that reads a QR code: the parcel scan
// page, the route sheet (offline too) and the booth's wallet-card page. Each [data-scanner] box (drawn by the scanner macro in
// templates/_macros/components.html) says which form it fills (data-form), which field of it
// (data-input), the side of the square it decodes (data-qrbox, in pixels of the video on screen)
// and where the library is (data-library). The box reads a code, puts it into the field and
// submits the form; the server checks it. Without a camera, without this file or before the
// library loads, typing (or pasting) the code into that field works the same.
// The library (~370 KB) is loaded only when someone asks for the camera.
(function () {
  "use strict";
  if (!window.isSecureContext || !navigator.mediaDevices || !navigator.mediaDevices.getUserMedia) {
    return;
  }

  function loadLibrary(url, done, fail) {
    if (window.Html5Qrcode) { done(); return; }
    var script = document.createElement("script");
    script.src = url;
    script.onload = done;
    script.onerror = fail;
    document.head.appendChild(script);
  }

  document.querySelectorAll("[data-scanner]").forEach(function (box) {
    var form = document.getElementById(box.getAttribute("data-form"));
    var input = document.getElementById(box.getAttribute("data-input"));
    if (!form || !input) return;
    var startBtn = box.querySelector("[data-scan-start]");
    var stopBtn = box.querySelector("[data-scan-stop]");
    var status = box.querySelector("[data-scan-status]");
    var video = box.querySelector("[data-scan-video]");
    var qrbox = Number(box.getAttribute("data-qrbox"));
    var scanner = null;
    box.hidden = false;

    function fail() {
      status.textContent = box.getAttribute("data-error");
      startBtn.hidden = false;
      stopBtn.hidden = true;
    }

    function stop() {
      var s = scanner;
      scanner = null;
      startBtn.hidden = false;
      stopBtn.hidden = true;
      return s ? s.stop().catch(function () {}) : Promise.resolve();
    }

    function found(text) {
      if (!scanner) return;  // a second frame of the same code
      stop().then(function () {
        input.value = text;  // the server reads the code out of a scanned URL and checks it
        // A form checked on the phone (the route sheet offline: static/js/offline.js listens
        // for its submit event) is submitted as if its button were pressed.
        if (form.hasAttribute("data-scan-local")) form.requestSubmit();
        else form.submit();
      });
    }

    startBtn.addEventListener("click", function () {
      status.textContent = "";
      startBtn.hidden = true;
      loadLibrary(box.getAttribute("data-library"), function () {
        scanner = new window.Html5Qrcode(video.id);
        stopBtn.hidden = false;
        scanner.start({ facingMode: "environment" }, { fps: 10, qrbox: qrbox }, found,
                      function () {})
          .catch(function () { scanner = null; fail(); });
      }, fail);
    });
    stopBtn.addEventListener("click", stop);
  });
})();
