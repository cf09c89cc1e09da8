// "Sao chép" and "Chia sẻ" buttons: [data-copy="text"] puts the text on the clipboard;
// [data-share="url"] opens the phone's share sheet (Web Share API) and, where the sheet fails,
// copies the link. Each button stays hidden where the browser cannot do it (a "Sao chép" button
// beside a "Chia sẻ" one is the fallback); the values are always on the page as plain text.
(function () {
  "use strict";
  var canCopy = !!(navigator.clipboard && navigator.clipboard.writeText);
  var canShare = typeof navigator.share === "function";
  document.querySelectorAll("[data-copy]").forEach(function (btn) { btn.hidden = !canCopy; });
  document.querySelectorAll("[data-share]").forEach(function (btn) { btn.hidden = !canShare; });
  function done(btn) {
    var label = btn.textContent;
    btn.textContent = btn.dataset.done;
    window.setTimeout(function () { btn.textContent = label; }, 2500);
  }
  function copy(btn, text) {
    if (!canCopy) return;
    navigator.clipboard.writeText(text).then(function () { done(btn); }, function () {});
  }
  document.addEventListener("click", function (evt) {
    var btn = evt.target.closest && evt.target.closest("[data-copy], [data-share]");
    if (!btn) return;
    if (btn.hasAttribute("data-copy")) { copy(btn, btn.dataset.copy); return; }
    navigator.share({ title: document.title, url: btn.dataset.share }).catch(function (err) {
      if (err && err.name !== "AbortError") copy(btn, btn.dataset.share);
    });
  });
})();
