// The checkout's total (templates/shop/_order_total.html) follows the quantities as they are typed.
// Without this file the button "Cập nhật tổng tiền" recounts on the server.
(function () {
  "use strict";
  var box = document.querySelector(".order-total");
  if (!box) return;
  var money = new Intl.NumberFormat("vi-VN");
  function vnd(n) { return money.format(n) + " ₫"; }
  function recount() {
    var total = 0;
    document.querySelectorAll("input[data-price]").forEach(function (input) {
      var raw = input.value.trim();
      var qty = /^\d{1,2}$/.test(raw) ? parseInt(raw, 10) : 0;
      var row = box.querySelector('tr[data-line="' + input.dataset.product + '"]');
      var subtotal = qty * parseInt(input.dataset.price, 10);
      total += subtotal;
      if (!row) return;
      row.hidden = qty === 0;
      row.querySelector("[data-qty]").textContent = qty;
      row.querySelector("[data-subtotal]").textContent = vnd(subtotal);
    });
    box.querySelector("[data-total]").textContent = vnd(total);
    box.querySelector("[data-empty]").hidden = total > 0;
  }
  document.addEventListener("input", function (evt) {
    if (evt.target.matches && evt.target.matches("input[data-price]")) recount();
  });
  box.querySelector("[data-recount]").hidden = true;
})();
