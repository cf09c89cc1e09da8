// Filter-as-you-type for long lists of choices (the wards a unit delivers to): an
// <input data-filter="#list"> hides the <li data-name> items of #list whose name does not contain
// what is typed, folding Vietnamese diacritics ("tan phuoc" finds "Xã Tân Phước 1"). Checked items
// always stay visible. Without this file the page's GET filter does the same on the server.
(function () {
  "use strict";
  function fold(text) {
    return (text || "").replace(/đ/g, "d").replace(/Đ/g, "D").normalize("NFD")
      .replace(/[\u0300-\u036f]/g, "").toLowerCase().replace(/\s+/g, " ").trim();
  }
  function apply(input) {
    var list = document.querySelector(input.getAttribute("data-filter"));
    if (!list) return;
    var term = fold(input.value);
    list.querySelectorAll("li[data-name]").forEach(function (li) {
      var box = li.querySelector("input[type=checkbox]");
      li.hidden = !!term && !(box && box.checked) && fold(li.getAttribute("data-name")).indexOf(term) < 0;
    });
  }
  document.addEventListener("input", function (evt) {
    if (evt.target.matches && evt.target.matches("input[data-filter]")) apply(evt.target);
  });
})();
