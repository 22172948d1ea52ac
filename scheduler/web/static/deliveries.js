// Refresh the delivery log every 2 s by fetching the server-rendered rows (escaped on the
// server); pauses while the tab is hidden, never replaces rows under a focused control, and
// keeps open the attempt lists a person expanded.  Older pages (no data-src) stay still.
(function () {
  "use strict";
  var body = document.getElementById("log-rows");
  if (!body) return;
  var note = document.getElementById("log-updated");
  var src = body.getAttribute("data-src");
  if (!src) return;
  function openPosts() {
    var open = {};
    body.querySelectorAll("details[open][data-post]").forEach(function (d) {
      open[d.getAttribute("data-post")] = true;
    });
    return open;
  }
  function refresh() {
    if (document.hidden || body.contains(document.activeElement)) return;
    fetch(src, { credentials: "same-origin", headers: { Accept: "text/html" } })
      .then(function (r) { if (!r.ok) throw new Error(String(r.status)); return r.text(); })
      .then(function (html) {
        if (body.contains(document.activeElement)) return;  // focused while fetching
        var open = openPosts();
        body.innerHTML = html;
        body.querySelectorAll("details[data-post]").forEach(function (d) {
          if (open[d.getAttribute("data-post")]) d.open = true;
        });
        if (note) note.textContent = "Updated " + new Date().toLocaleTimeString();
      })
      .catch(function () { if (note) note.textContent = "Could not refresh; retrying."; });
  }
  setInterval(refresh, 2000);
})();
