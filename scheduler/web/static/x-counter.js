// Live X weighted-length counter, mirroring twitter-text v3 closely enough for typing:
// a URL on a TLD twitter-text knows counts 23, code points in the v3 "light" ranges count 1,
// every other code point 2, and an emoji (a whole grapheme cluster, ZWJ sequences included)
// counts 2.  The server re-checks with the real twitter-text on save; its answer is the one
// that counts.  The preview shows each link as X does (scheduler/web/xlinks.py): t.co's
// display form, no scheme or "www.", the part after the host cut to 15 characters and "…".
(function () {
  "use strict";
  var LIMIT = 280;
  var URL_LENGTH = 23;
  var LIGHT = [[0x0000, 0x10ff], [0x2000, 0x200d], [0x2010, 0x201f], [0x2032, 0x2037]];
  var URL_RE = /(?:https?:\/\/)?((?:[\p{L}\p{N}_-]+\.)+([\p{L}\p{N}-]+))(?::\d+)?(?:[/?#][^\s]*)?/giu;
  var TRAILING = /[.,:;!?'")\]]+$/u;
  // Keycaps ("1️⃣") are emoji too: a digit, VS16 and U+20E3 make one cluster that counts 2.
  var EMOJI_RE = /\p{Extended_Pictographic}|\p{Regional_Indicator}|\u20e3/u;
  var segmenter = typeof Intl !== "undefined" && Intl.Segmenter ? new Intl.Segmenter() : null;
  var tlds = null; // until the list arrives, only links with http(s):// count as URLs

  function codePointWeight(cp) {
    for (var i = 0; i < LIGHT.length; i++) {
      if (cp >= LIGHT[i][0] && cp <= LIGHT[i][1]) return 1;
    }
    return 2;
  }

  function plainWeight(text) {
    var total = 0;
    var clusters = segmenter ? Array.from(segmenter.segment(text), function (s) { return s.segment; }) : Array.from(text);
    clusters.forEach(function (cluster) {
      if (EMOJI_RE.test(cluster)) { total += 2; return; }
      for (var ch of cluster) total += codePointWeight(ch.codePointAt(0));
    });
    return total;
  }

  function isUrl(match, tld) {
    if (tlds) return tlds.has(tld.toLowerCase());
    return /^https?:\/\//i.test(match);
  }

  // The text in runs: {text} plain, {text, url} a link X wraps in t.co.
  function parts(text) {
    text = text.normalize("NFC").replace(/\r\n?/g, "\n");
    var out = [], last = 0, m;
    URL_RE.lastIndex = 0;
    while ((m = URL_RE.exec(text)) !== null) {
      var url = m[0].replace(TRAILING, "");
      if (!isUrl(url, m[2])) continue;
      if (m.index > last) out.push({ text: text.slice(last, m.index) });
      out.push({ text: url, url: url });
      last = m.index + url.length;
    }
    if (last < text.length) out.push({ text: text.slice(last) });
    return out;
  }

  function weightedLength(text) {
    return parts(text).reduce(function (total, part) {
      return total + (part.url ? URL_LENGTH : plainWeight(part.text));
    }, 0);
  }
  window.xWeightedLength = weightedLength;

  var SHOWN_PATH = 15;
  function displayUrl(url) {
    var rest = url.replace(/^https?:\/\//i, "").replace(/^www\./i, "");
    var end = rest.search(/[/?#]/);
    var host = end < 0 ? rest : rest.slice(0, end);
    var tail = end < 0 ? "" : rest.slice(end);
    if (tail === "/") tail = "";
    var chars = Array.from(tail); // code points, as Python counts them
    if (chars.length > SHOWN_PATH + 1) tail = chars.slice(0, SHOWN_PATH).join("") + "\u2026";
    return host + tail;
  }
  window.xDisplayUrl = displayUrl;

  function showPreview(preview, text) {
    preview.replaceChildren.apply(preview, parts(text).map(function (part) {
      if (!part.url) return document.createTextNode(part.text);
      var a = document.createElement("a");
      a.href = /^https?:\/\//i.test(part.url) ? part.url : "http://" + part.url;
      a.title = part.url;
      a.rel = "noopener noreferrer";
      a.target = "_blank";
      a.textContent = displayUrl(part.url);
      return a;
    }));
  }

  var updaters = [];
  function wire(counter) {
    var field = document.getElementById(counter.getAttribute("data-counter-for"));
    if (!field) return;
    var value = counter.querySelector(".count-value");
    var note = counter.querySelector(".count-note");
    var card = field.closest(".post-card");
    var preview = card ? card.querySelector("[data-preview-text]") : null;
    function update() {
      var n = weightedLength(field.value);
      value.textContent = String(n);
      var over = n > LIMIT;
      counter.classList.toggle("over", over);
      field.setAttribute("aria-invalid", over ? "true" : "false");
      note.textContent = over ? "— " + (n - LIMIT) + " over X's limit; shorten it before approving." : "";
      if (preview) showPreview(preview, field.value);
    }
    field.addEventListener("input", update);
    updaters.push(update);
  }
  var counters = document.querySelectorAll("[data-counter-for]");
  counters.forEach(wire);
  if (counters.length) {
    fetch("/x-tlds.json", { credentials: "same-origin" })
      .then(function (r) { return r.ok ? r.json() : null; })
      .then(function (list) {
        if (list) tlds = new Set(list);
        updaters.forEach(function (u) { u(); });
        document.documentElement.setAttribute("data-x-counter", "ready");
      })
      .catch(function () { document.documentElement.setAttribute("data-x-counter", "ready"); });
  }
})();
