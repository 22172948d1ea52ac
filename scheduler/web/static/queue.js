// The queue's bulk form, enhanced: a "tick every post" box per article, and the report of the
// last bulk action focused (so a screen reader reads it) once the page has reloaded at the form.
// Without this script every chip still has its own box and the report is still shown.
(function () {
  "use strict";
  var report = document.querySelector(".bulk-result[data-fresh]");
  // After the load: the browser's scroll to the #bulk fragment would otherwise take focus back.
  if (report) {
    window.addEventListener("load", function () { setTimeout(function () { report.focus(); }, 0); });
  }
  if (!document.getElementById("bulk-form")) { return; }
  document.querySelectorAll("li.entry").forEach(function (entry, i) {
    var boxes = entry.querySelectorAll('.chips input[type="checkbox"]');
    var head = entry.querySelector(".entry-head");
    var title = entry.querySelector(".entry-head .title");
    if (boxes.length < 2 || !head || !title) { return; }
    var all = document.createElement("input");
    all.type = "checkbox";
    all.className = "pick-article";
    all.id = "pick-article-" + i;
    all.setAttribute("aria-label", "Tick every post of " + title.textContent.trim());
    all.addEventListener("change", function () {
      boxes.forEach(function (box) { box.checked = all.checked; });
    });
    boxes.forEach(function (box) {
      box.addEventListener("change", function () {
        var ticked = Array.prototype.filter.call(boxes, function (b) { return b.checked; }).length;
        all.checked = ticked === boxes.length;
        all.indeterminate = ticked > 0 && ticked < boxes.length;
      });
    });
    head.insertBefore(all, head.firstChild);
  });
})();
