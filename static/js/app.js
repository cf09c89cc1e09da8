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
  document.addEventListener("htmx:sendError", function () {
    showError(document.documentElement.lang === "en"
      ? "No connection. Check your network and try again."
      : "Mất kết nối mạng. Vui lòng kiểm tra và thử lại.");
  });
})();
