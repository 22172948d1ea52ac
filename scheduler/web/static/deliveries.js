// Refresh the delivery log every 2 s by fetching the server-rendered rows (escaped on the
// server); pauses while the tab is hidden and never replaces rows under a focused button.
(function () {
  "use strict";
  var body = document.getElementById("log-rows");
  if (!body) return;
  var note = document.getElementById("log-updated");
  var src = body.getAttribute("data-src");
  function refresh() {
    if (document.hidden || body.contains(document.activeElement)) return;
    fetch(src, { credentials: "same-origin", headers: { Accept: "text/html" } })
      .then(function (r) { if (!r.ok) throw new Error(String(r.status)); return r.text(); })
      .then(function (html) {
        body.innerHTML = html;
        if (note) note.textContent = "Updated " + new Date().toLocaleTimeString();
      })
      .catch(function () { if (note) note.textContent = "Could not refresh; retrying."; });
  }
  setInterval(refresh, 2000);
})();
