// Phiên chợ 4.0: print buttons, the booth's beep on each new payment, the wallet-card scanner.
// Everything works without this file: printing from the browser menu, the booth screen without
// sound, the card read from the typed (pasted) code.
(function () {
  "use strict";

  // ------------------------------------------------------------ print buttons
  document.querySelectorAll("[data-print]").forEach(function (btn) {
    btn.hidden = false;
    btn.addEventListener("click", function () { window.print(); });
  });

  // ------------------------------------------------------------ booth screen: sound on payment
  // Browsers let a page play sound only after a tap, so the booth turns the beep on once.
  var toggle = document.getElementById("sound-toggle");
  var audio = null;
  function beep() {
    if (!audio) return;
    var osc = audio.createOscillator();
    var gain = audio.createGain();
    osc.type = "sine";
    osc.frequency.setValueAtTime(880, audio.currentTime);
    osc.frequency.setValueAtTime(1320, audio.currentTime + 0.12);
    gain.gain.setValueAtTime(0.25, audio.currentTime);
    gain.gain.exponentialRampToValueAtTime(0.001, audio.currentTime + 0.35);
    osc.connect(gain).connect(audio.destination);
    osc.start();
    osc.stop(audio.currentTime + 0.36);
  }
  if (toggle && (window.AudioContext || window.webkitAudioContext)) {
    toggle.hidden = false;
    toggle.addEventListener("click", function () {
      if (audio) {
        audio.close();
        audio = null;
        toggle.textContent = toggle.getAttribute("data-off");
        toggle.setAttribute("aria-pressed", "false");
      } else {
        audio = new (window.AudioContext || window.webkitAudioContext)();
        toggle.textContent = toggle.getAttribute("data-on");
        toggle.setAttribute("aria-pressed", "true");
        beep();
      }
    });
  }
  // The live fragment says how many payments are new; the flash itself is CSS (.is-new).
  document.addEventListener("htmx:afterSwap", function (evt) {
    var live = document.getElementById("booth-live");
    if (live && Number(live.getAttribute("data-new")) > 0) beep();
  });

  // ------------------------------------------------------------ booth: scan a wallet card
  var box = document.getElementById("card-scanner");
  var form = document.getElementById("card-form");
  if (!box || !form || !window.isSecureContext || !navigator.mediaDevices ||
      !navigator.mediaDevices.getUserMedia) {
    return;
  }
  var startBtn = document.getElementById("card-scan-start");
  var stopBtn = document.getElementById("card-scan-stop");
  var status = document.getElementById("card-scan-status");
  var input = document.getElementById("card-input");
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
      input.value = text;  // the server checks the card's signature and expiry
      form.submit();
    });
  }

  function loadLibrary(done) {
    if (window.Html5Qrcode) { done(); return; }
    var script = document.createElement("script");
    script.src = box.getAttribute("data-library");
    script.onload = done;
    script.onerror = fail;
    document.head.appendChild(script);
  }

  startBtn.addEventListener("click", function () {
    status.textContent = "";
    startBtn.hidden = true;
    loadLibrary(function () {
      scanner = new window.Html5Qrcode("card-video");
      stopBtn.hidden = false;
      scanner.start({ facingMode: "environment" }, { fps: 10, qrbox: 240 }, found,
                    function () {})
        .catch(function () { scanner = null; fail(); });
    });
  });
  stopBtn.addEventListener("click", stop);
})();
