// Gian hàng 0 đồng — small enhancements on top of htmx. Everything works without this file.
(function () {
  "use strict";
  function showError(text) {
    var box = document.getElementById("net-error");
    if (!box) return;
    box.textContent = text;
    box.hidden = false;
    window.setTimeout(function () { box.hidden = true; }, 6000);
  }
  document.addEventListener("htmx:responseError", function (evt) {
    var xhr = evt.detail.xhr;
    var msg = document.documentElement.lang === "en"
      ? "Something went wrong (" + xhr.status + "). Please try again."
      : "Có lỗi xảy ra (" + xhr.status + "). Vui lòng thử lại.";
    if (xhr.status === 429) {
      msg = document.documentElement.lang === "en"
        ? "Too many attempts. Please wait a moment."
        : "Bạn thao tác quá nhanh. Vui lòng đợi một lát.";
    }
    showError(msg);
  });
  // The header's menu opens by itself (a <details>); on a wide screen it stays open as a row.
  var menu = document.querySelector("[data-site-menu]");
  var wide = window.matchMedia("(min-width: 700px)");
  function fitMenu() { if (menu) menu.open = wide.matches; }
  fitMenu();
  wide.addEventListener("change", fitMenu);
  document.addEventListener("htmx:sendError", function () {
    showError(document.documentElement.lang === "en"
      ? "No connection. Check your network and try again."
      : "Mất kết nối mạng. Vui lòng kiểm tra và thử lại.");
  });
})();
