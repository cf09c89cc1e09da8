// Phiên chợ 4.0: print buttons and the booth's beep on each new payment (the wallet-card scanner
// is the camera scanner of static/js/scan.js).
// Everything works without this file: printing from the browser menu, the booth screen without
// sound.
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
})();
