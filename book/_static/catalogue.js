// Filters for the resource catalogue page: everything runs in the browser, no server.
// Filters can be preset from the address, e.g. resources.html?topic=tabular/BDT&kind=tutorial
(function () {
  function init() {
    const root = document.getElementById("hepml-catalogue");
    if (!root) return;
    const search = document.getElementById("filter-search");
    const selects = Array.from(root.querySelectorAll("select[data-filter]"));
    const entries = Array.from(root.querySelectorAll(".hepml-resource"));
    const groups = Array.from(root.querySelectorAll(".hepml-group"));
    const count = document.getElementById("hepml-count");
    const params = new URLSearchParams(window.location.search);
    selects.forEach((s) => { const v = params.get(s.dataset.filter); if (v !== null) s.value = v; });
    if (params.get("q")) search.value = params.get("q");

    function matches(entry) {
      const text = search.value.trim().toLowerCase();
      if (text && !text.split(/\s+/).every((w) => entry.dataset.search.includes(w))) return false;
      for (const s of selects) {
        const v = s.value;
        if (!v) continue;
        const f = s.dataset.filter;
        if (f === "topic" && !entry.dataset.topics.split("|").includes(v)) return false;
        if (f === "level" && !entry.dataset.level.split("|").includes(v)) return false;
        if (f === "kind" && entry.dataset.kind !== v) return false;
        if (f === "hep" && entry.dataset.hep !== v) return false;
      }
      return true;
    }
    function update() {
      let shown = 0;
      entries.forEach((e) => { const ok = matches(e); e.hidden = !ok; if (ok) shown += 1; });
      groups.forEach((g) => { g.hidden = !g.querySelector(".hepml-resource:not([hidden])"); });
      count.textContent = shown + " of " + entries.length + " resources";
    }
    search.addEventListener("input", update);
    selects.forEach((s) => s.addEventListener("change", update));
    update();
  }
  if (document.readyState === "loading") document.addEventListener("DOMContentLoaded", init);
  else init();
})();
