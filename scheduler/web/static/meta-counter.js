// Live counters for an Instagram caption and a Facebook message, counting exactly as the
// adapters do when they refuse a text (scheduler/web/counters.py says the same in Python):
//   characters: code points after NFC, not UTF-16 units (an emoji like 🇵🇰 counts 2, é counts 1);
//   hashtags:   runs of # (or fullwidth ＃) not after a word character and before one;
//   @mentions:  the same with @ (or ＠); shown only once over the limit.
// A "word character" is Python's \w: a letter, a number or "_".  The server re-checks on save.
(function () {
  "use strict";
  var WORD = "[\\p{L}\\p{N}_]";
  var HASHTAG = new RegExp("(?<!" + WORD + ")[#\\uff03]+(?=" + WORD + ")", "gu");
  var MENTION = new RegExp("(?<!" + WORD + ")[@\\uff20]+(?=" + WORD + ")", "gu");
  var COUNT = {
    characters: function (text) { return Array.from(text.normalize("NFC")).length; },
    hashtags: function (text) { return (text.match(HASHTAG) || []).length; },
    mentions: function (text) { return (text.match(MENTION) || []).length; }
  };
  window.metaCount = COUNT; // the browser tests check these against the Python table

  function fmt(n) { return n.toLocaleString("en-US"); }

  // The same sentence as counters.over_note().
  function sentence(over, noun, name, limit) {
    return "Over by " + fmt(over) + " " + noun + (over === 1 ? "" : "s") + "; " + name + " allows " + fmt(limit) + ".";
  }

  function wire(counter) {
    var field = document.getElementById(counter.getAttribute("data-meta-counter-for"));
    var note = document.getElementById(counter.getAttribute("data-note"));
    if (!field || !note) return;
    var name = counter.getAttribute("data-platform-name");
    var items = counter.querySelectorAll("[data-count]");
    var card = field.closest(".post-card");
    var preview = card ? card.querySelector("[data-preview-text]") : null;
    var previewTags = card ? card.querySelector("[data-preview-hashtags]") : null;
    function update() {
      var sentences = [];
      items.forEach(function (item) {
        var n = COUNT[item.getAttribute("data-count")](field.value);
        var limit = Number(item.getAttribute("data-limit"));
        var over = n - limit;
        item.querySelector(".count-value").textContent = fmt(n);
        item.classList.toggle("over", over > 0);
        if (item.hasAttribute("data-only-when-over")) item.hidden = over <= 0;
        if (over > 0) sentences.push(sentence(over, item.getAttribute("data-noun"), name, limit));
      });
      var text = sentences.join(" ");
      counter.classList.toggle("over", sentences.length > 0);
      field.setAttribute("aria-invalid", sentences.length ? "true" : "false");
      if (note.textContent !== text) note.textContent = text; // announced only when it changes
      if (preview) preview.textContent = field.value;
      if (previewTags) {
        var tags = COUNT.hashtags(field.value);
        previewTags.textContent = fmt(tags) + " hashtag" + (tags === 1 ? "" : "s");
      }
    }
    field.addEventListener("input", update);
    update(); // a text the browser restored (back button) may differ from the server's
  }

  document.querySelectorAll("[data-meta-counter-for]").forEach(wire);
  document.documentElement.setAttribute("data-meta-counter", "ready");
})();
