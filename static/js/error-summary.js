// The error summary (templates/_macros/forms.html, error_summary_box): on a page that came back
// with errors, move the focus to it so that a screen reader reads it and the page shows its top;
// a link in it focuses its field (the browser only scrolls to it). Without this file the summary
// is still the first thing in the page.
(function () {
  "use strict";
  document.addEventListener("DOMContentLoaded", function () {
    var box = document.getElementById("error-summary");
    if (!box) return;
    box.focus();
    box.addEventListener("click", function (evt) {
      var link = evt.target.closest("a[href^='#']");
      var field = link && document.getElementById(link.getAttribute("href").slice(1));
      if (!field) return;
      evt.preventDefault();
      var label = document.querySelector("label[for='" + field.id + "']");
      (label || field).scrollIntoView();
      field.focus({preventScroll: true});
    });
  });
})();
