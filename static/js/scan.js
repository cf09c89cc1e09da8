// Camera scanners (html5-qrcode): each [data-scanner] block reads a QR code with the phone's
// camera, puts it into its form's field (data-input, in the form data-form) and submits the form;
// the server reads the code out of a scanned URL and checks it. Without a camera, without this
// file or before the library loads, typing the code into that field works the same.
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
    var status = box.querySelector("[role=status]");
    var video = box.querySelector(".scan-video");
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
      stop();  // the camera also stops when the page goes; the submit does not wait for it
      input.value = text;
      form.submit();
    }

    startBtn.addEventListener("click", function () {
      status.textContent = "";
      startBtn.hidden = true;
      loadLibrary(box.getAttribute("data-library"), function () {
        scanner = new window.Html5Qrcode(video.id);
        stopBtn.hidden = false;
        var qrbox = Number(box.getAttribute("data-qrbox"));
        scanner.start({ facingMode: "environment" }, { fps: 10, qrbox: qrbox }, found,
                      function () {})
          .catch(function () { scanner = null; fail(); });
      }, fail);
    });
    stopBtn.addEventListener("click", stop);
  });
})();
