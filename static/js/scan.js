// Scan page: read a parcel's QR code with the phone's camera (html5-qrcode) and look it up.
// Without a camera, without this file or before the library loads, the typed-code form works.
// The library (~370 KB) is loaded only when the volunteer asks for the camera.
(function () {
  "use strict";
  var box = document.getElementById("scanner");
  var form = document.getElementById("scan-form");
  if (!box || !form || !window.isSecureContext || !navigator.mediaDevices ||
      !navigator.mediaDevices.getUserMedia) {
    return;
  }
  var startBtn = document.getElementById("scan-start");
  var stopBtn = document.getElementById("scan-stop");
  var status = document.getElementById("scan-status");
  var input = form.querySelector("input[name=ma]");
  var scanner = null;
  box.hidden = false;

  function loadLibrary(done) {
    if (window.Html5Qrcode) { done(); return; }
    var script = document.createElement("script");
    script.src = box.getAttribute("data-library");
    script.onload = done;
    script.onerror = fail;
    document.head.appendChild(script);
  }

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
      input.value = text;  // the server reads the code out of a scanned URL
      form.submit();
    });
  }

  startBtn.addEventListener("click", function () {
    status.textContent = "";
    startBtn.hidden = true;
    loadLibrary(function () {
      scanner = new window.Html5Qrcode("scan-video");
      stopBtn.hidden = false;
      scanner.start({ facingMode: "environment" }, { fps: 10, qrbox: 220 }, found,
                    function () {})
        .catch(function () { scanner = null; fail(); });
    });
  });
  stopBtn.addEventListener("click", stop);
})();
