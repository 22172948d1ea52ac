// Live X weighted-length counter, mirroring twitter-text v3 closely enough for typing:
// URLs count 23, code points in the v3 "light" ranges count 1, every other code point 2, and
// an emoji (a whole grapheme cluster, ZWJ sequences included) counts 2.  The server re-checks
// with the real twitter-text on save; its answer is the one that counts.
(function () {
  "use strict";
  var LIMIT = 280;
  var URL_LENGTH = 23;
  var LIGHT = [[0x0000, 0x10ff], [0x2000, 0x200d], [0x2010, 0x201f], [0x2032, 0x2037]];
  var URL_RE = /(?:https?:\/\/|www\.)[^\s<>"]+|\b(?:[a-z0-9-]+\.)+(?:com|org|net|pk|in|uk|co|io|news|info|gov|edu|tv|me)(?:\/[^\s<>"]*)?/gi;
  var EMOJI_RE = /\p{Extended_Pictographic}|\p{Regional_Indicator}/u;
  var segmenter = typeof Intl !== "undefined" && Intl.Segmenter ? new Intl.Segmenter() : null;

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

  function weightedLength(text) {
    text = text.normalize("NFC").replace(/\r\n?/g, "\n");
    var total = 0, last = 0, m;
    URL_RE.lastIndex = 0;
    while ((m = URL_RE.exec(text)) !== null) {
      total += plainWeight(text.slice(last, m.index)) + URL_LENGTH;
      last = m.index + m[0].length;
    }
    return total + plainWeight(text.slice(last));
  }
  window.xWeightedLength = weightedLength;

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
      if (preview) preview.textContent = field.value;
    }
    field.addEventListener("input", update);
    update();
  }
  document.querySelectorAll("[data-counter-for]").forEach(wire);
})();
