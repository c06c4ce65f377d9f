// The narratives report: lays out the JSON in the element with id "report-data". Every value from the data is put on
// the page with textContent, createTextNode or setAttribute (never as HTML), so scraped text stays text.
(function () {
  "use strict";
  var SVGNS = "http://www.w3.org/2000/svg";
  var PAGE = 25;
  var COLORS = ["#2563eb", "#dc2626", "#16a34a", "#9333ea", "#ea580c", "#0891b2", "#ca8a04", "#db2777",
                "#4f46e5", "#65a30d", "#0d9488", "#b45309", "#7c3aed", "#be123c", "#15803d", "#1d4ed8"];
  var data = JSON.parse(document.getElementById("report-data").textContent);
  var byId = {};
  data.narratives.forEach(function (n, i) { n.rank = i + 1; byId[n.id] = n; });
  var state = {query: "", page: 0, rows: data.narratives};

  function el(tag, attrs, kids) {
    var e = document.createElement(tag);
    setAttrs(e, attrs);
    (kids || []).forEach(function (k) {
      if (k === null || k === undefined) return;
      e.appendChild(typeof k === "object" ? k : document.createTextNode(String(k)));
    });
    return e;
  }
  function sv(tag, attrs, kids) {
    var e = document.createElementNS(SVGNS, tag);
    setAttrs(e, attrs);
    (kids || []).forEach(function (k) {
      e.appendChild(typeof k === "object" ? k : document.createTextNode(String(k)));
    });
    return e;
  }
  function setAttrs(e, attrs) {
    Object.keys(attrs || {}).forEach(function (k) {
      if (attrs[k] !== null && attrs[k] !== undefined) e.setAttribute(k, String(attrs[k]));
    });
  }
  function txt(v, dflt) { return v === null || v === undefined || v === "" ? (dflt || "—") : String(v); }
  function safeUrl(u) { return typeof u === "string" && /^https?:\/\/[^\s]+$/i.test(u) ? u : null; }
  function color(nid) {
    var n = byId[nid];
    return n && n.rank <= COLORS.length ? COLORS[n.rank - 1] : "#94a3b8";
  }
  function narrLink(nid) {
    var n = byId[nid];
    var a = el("a", {href: "#n-" + nid, "data-nid": nid, title: n ? n.label : ""}, ["#" + nid]);
    return a;
  }
  function kwList(kws) { return el("p", {}, (kws || []).map(function (k) { return el("span", {"class": "kw"}, [k]); })); }
  function growthCell(g) {
    var last = g[0], prev = g[1], label, cls;
    if (prev === 0) { label = last ? "new" : "—"; cls = last ? "up" : "muted"; }
    else { var p = Math.round((last - prev) / prev * 100); label = (p > 0 ? "+" : "") + p + "%"; cls = p > 0 ? "up" : p < 0 ? "down" : "muted"; }
    return el("span", {"class": cls, title: last + " claims in the last 7 days vs " + prev + " in the 7 before"}, [label]);
  }
  function growthValue(g) { return g[1] === 0 ? (g[0] ? 1e6 + g[0] : -1e6) : (g[0] - g[1]) / g[1]; }

  // ---- summary ---------------------------------------------------------------------------------------
  function renderSummary() {
    var s = data.summary, box = document.getElementById("summary-box");
    var items = [["Articles", s.articles], ["Claims", s.claims], ["Outlets", s.outlets],
      ["Date range", txt(s.first_date) + " – " + txt(s.last_date)], ["Narratives", s.narratives], ["Themes", s.themes],
      ["Unassigned claims", s.unassigned], ["Undated claims", s.undated], ["Quarantined records", s.quarantined],
      ["Runs", s.runs], ["Last run", s.last_run ? txt(s.last_run.status) + " (" + txt(s.last_run.mode) + ")" : "—"]];
    var dl = el("dl", {"class": "summary"}, items.map(function (it) {
      return el("div", {}, [el("dt", {}, [it[0]]), el("dd", {}, [txt(it[1], "0")])]);
    }));
    box.replaceChildren(dl);
  }

  // ---- ranked, searchable list with paging ------------------------------------------------------------
  function matches(n, q) {
    if (!q) return true;
    var hay = ["#" + n.id, n.label, (n.keywords || []).join(" "), data.theme_labels[n.theme] || "",
               (n.spread && n.spread.outlets || []).map(function (o) { return o[0]; }).join(" ")].join(" ").toLowerCase();
    return q.split(/\s+/).every(function (w) { return hay.indexOf(w) >= 0; });
  }
  var SORTS = {
    size: function (a, b) { return b.size - a.size || a.id - b.id; },
    growth: function (a, b) { return growthValue(b.growth) - growthValue(a.growth) || b.size - a.size; },
    drift: function (a, b) { return (b.drift || 0) - (a.drift || 0) || b.size - a.size; },
    bursts: function (a, b) { return b.bursts.length - a.bursts.length || b.size - a.size; },
    recent: function (a, b) { return txt(b.first, "").localeCompare(txt(a.first, "")) || b.size - a.size; }
  };
  function refresh() {
    var q = state.query.toLowerCase().trim();
    state.rows = data.narratives.filter(function (n) { return matches(n, q); }).sort(SORTS[state.sort || "size"]);
    var pages = Math.max(1, Math.ceil(state.rows.length / PAGE));
    state.page = Math.min(state.page, pages - 1);
    renderList(pages);
    renderCards();
  }
  function renderList(pages) {
    var rows = state.rows.slice(state.page * PAGE, (state.page + 1) * PAGE);
    var trs = rows.map(function (n) {
      return el("tr", {}, [el("td", {"class": "num"}, [n.rank]), el("td", {}, [narrLink(n.id)]),
        el("td", {}, [n.label]), el("td", {}, [n.theme === null ? "—" : "T" + n.theme + " " + txt(data.theme_labels[n.theme], "")]),
        el("td", {"class": "num"}, [n.size]), el("td", {"class": "num"}, [n.n_outlets]), el("td", {}, [growthCell(n.growth)]),
        el("td", {"class": "num"}, [n.drift === null ? "—" : n.drift.toFixed(2)]), el("td", {"class": "num"}, [n.bursts.length]),
        el("td", {}, [txt(n.first)])]);
    });
    var tbody = document.getElementById("ranked-body");
    tbody.replaceChildren.apply(tbody, trs);
    document.getElementById("search-count").textContent = state.rows.length + " of " + data.narratives.length +
      " narratives · page " + (state.page + 1) + " of " + pages;
    document.getElementById("prev").disabled = state.page === 0;
    document.getElementById("next").disabled = state.page >= pages - 1;
  }

  // ---- cards -----------------------------------------------------------------------------------------
  function timelineSvg(n) {
    var series = n.timeline.series;
    if (!series.length) return el("p", {"class": "empty"}, ["No dated claims."]);
    var lo = Infinity, hi = -Infinity, totals = {};
    series.forEach(function (s) { s.points.forEach(function (p) { lo = Math.min(lo, p[0]); hi = Math.max(hi, p[0]); totals[p[0]] = (totals[p[0]] || 0) + p[1]; }); });
    var peak = Math.max.apply(null, Object.keys(totals).map(function (k) { return totals[k]; }));
    var W = 720, H = 150, pad = 32, top = 10, nW = hi - lo + 1, step = (W - 2 * pad) / nW, bw = Math.max(Math.min(step * 0.8, 36), 1);
    var svg = sv("svg", {"class": "chart timeline", viewBox: "0 0 " + W + " " + H, width: W, height: H, role: "img"});
    svg.appendChild(sv("title", {}, ["Claims per week by outlet: #" + n.id]));
    svg.appendChild(sv("line", {x1: pad, y1: H - pad, x2: W - pad, y2: H - pad, stroke: "#94a3b8"}));
    svg.appendChild(sv("text", {x: pad - 4, y: top + 8, "font-size": 10, "text-anchor": "end", fill: "#64748b"}, [peak]));
    var base = {};
    series.forEach(function (s, si) {
      var c = si < 5 ? COLORS[si] : "#94a3b8";
      s.points.forEach(function (p) {
        var h = (H - pad - top) * p[1] / peak, y0 = (base[p[0]] || 0);
        var r = sv("rect", {x: (pad + (p[0] - lo) * step + (step - bw) / 2).toFixed(1), y: (H - pad - y0 - h).toFixed(1),
                            width: bw.toFixed(1), height: Math.max(h, 0.5).toFixed(1), fill: c});
        r.appendChild(sv("title", {}, [s.outlet + ", week of " + data.weeks[p[0]] + ": " + p[1] + " claims"]));
        svg.appendChild(r);
        base[p[0]] = y0 + h;
      });
    });
    svg.appendChild(sv("text", {x: pad, y: H - pad + 14, "font-size": 10, fill: "#64748b"}, [data.weeks[lo]]));
    svg.appendChild(sv("text", {x: W - pad, y: H - pad + 14, "font-size": 10, "text-anchor": "end", fill: "#64748b"}, [data.weeks[hi]]));
    var legend = el("p", {"class": "legend"}, series.map(function (s, si) {
      return el("span", {}, [el("i", {style: "background:" + (si < 5 ? COLORS[si] : "#94a3b8")}), s.outlet]);
    }));
    return el("div", {}, [svg, legend]);
  }
  function repClaims(n) {
    if (!n.reps.length) return el("p", {"class": "empty"}, ["None."]);
    return el("div", {}, n.reps.map(function (c) {
      var meta = [txt(c.outlet, "unknown outlet"), txt(c.date)];
      if (c.speaker) meta.push("speaker: " + c.speaker);
      var kids = [el("span", {"class": "muted"}, [meta.join(" · ")])];
      var u = safeUrl(c.url);
      if (u) kids.push(" · ", el("a", {href: u, rel: "noopener noreferrer nofollow", target: "_blank"}, ["source"]));
      return el("div", {"class": "claim"}, [c.text, el("br")].concat(kids));
    }));
  }
  function spreadBlock(n) {
    var s = n.spread;
    if (!s) return el("p", {"class": "empty"}, ["No dated claims."]);
    var days = ["2", "3", "5"].map(function (k, i) { return s.days_to[i] === null ? null : k + " outlets after " + s.days_to[i] + " days"; }).filter(Boolean);
    var p = el("p", {}, ["First carried by ", el("b", {}, [txt(s.first_outlet, "unknown outlet")]), " on " + txt(s.first_seen) + ". ",
      days.length ? "Reached " + days.join(", ") + "." : "Carried by one outlet only.",
      s.n_reprints ? " " + s.n_reprints + " claims arrived as syndicated copies." : ""]);
    var rows = s.outlets.map(function (o) { return el("tr", {}, [el("td", {}, [o[0]]), el("td", {"class": "num"}, [o[1]]), el("td", {"class": "num"}, [txt(o[2])])]); });
    var t = el("table", {}, [el("thead", {}, [el("tr", {}, [el("th", {}, ["Outlet"]), el("th", {"class": "num"}, ["Claims"]), el("th", {"class": "num"}, ["Days after first"])])]), el("tbody", {}, rows)]);
    return el("div", {}, [p, t]);
  }
  function burstsBlock(n) {
    if (!n.bursts.length) return el("p", {"class": "muted"}, ["No bursts above its own baseline."]);
    return el("ul", {}, n.bursts.map(function (b) {
      return el("li", {}, [b.start + " – " + b.end + " (" + b.grain + "): up to " + b.peak + " claims per " + b.grain +
        ", baseline " + b.baseline + ", z " + b.score]);
    }));
  }
  function periodsBlock(n) {
    if (!n.periods.length) return el("p", {"class": "muted"}, ["No weekly periods."]);
    var rows = n.periods.map(function (p) {
      return el("tr", {}, [el("td", {}, [p.period]), el("td", {"class": "num"}, [p.n]), el("td", {"class": "num"}, [p.shift === null ? "—" : p.shift.toFixed(2)]),
        el("td", {}, [p.rising.join(", ")]), el("td", {}, [p.falling.join(", ")]), el("td", {}, [txt(p.rep)])]);
    });
    return el("table", {}, [el("thead", {}, [el("tr", {}, ["Week", "Claims", "Shift", "Rising terms", "Falling terms", "Representative claim"].map(function (h) { return el("th", {}, [h]); }))]), el("tbody", {}, rows)]);
  }
  function lineageBlock(n) {
    if (!n.lineage.length) return el("p", {"class": "muted"}, ["No lineage events."]);
    return el("ul", {}, n.lineage.map(function (e) {
      var kids = [txt(e.run) + ": " + e.event + " of #" + e.narrative];
      if (e.related !== null) kids.push(e.event === "merge" ? " into " : " from ", narrLink(e.related));
      if (e.overlap !== null) kids.push(" (overlap " + e.overlap + ")");
      return el("li", {}, kids);
    }));
  }
  function card(n) {
    var theme = n.theme === null ? "—" : "T" + n.theme + " " + txt(data.theme_labels[n.theme], "");
    return el("section", {"class": "narrative", id: "n-" + n.id}, [
      el("h3", {}, ["#" + n.id + " " + txt(n.label)]),
      el("p", {"class": "muted"}, ["Theme " + theme + " · " + n.size + " claims · " + n.n_outlets + " outlets · " + txt(n.first) + " – " + txt(n.last)]),
      kwList(n.keywords), el("h4", {}, ["Representative claims"]), repClaims(n),
      el("h4", {}, ["Timeline by outlet"]), timelineSvg(n), el("h4", {}, ["Spread"]), spreadBlock(n),
      el("h4", {}, ["Bursts"]), burstsBlock(n), el("h4", {}, ["Wording by week"]), periodsBlock(n),
      el("h4", {}, ["Lineage"]), lineageBlock(n)]);
  }
  function renderCards() {
    var box = document.getElementById("cards-box");
    var rows = state.rows.slice(state.page * PAGE, (state.page + 1) * PAGE);
    box.replaceChildren.apply(box, rows.length ? rows.map(card) : [el("p", {"class": "empty"}, ["No narratives match."])]);
  }

  // ---- themes, heatmap, map --------------------------------------------------------------------------
  function renderThemes() {
    var box = document.getElementById("themes-box");
    if (!data.themes.length) { box.replaceChildren(el("p", {"class": "empty"}, ["No themes."])); return; }
    box.replaceChildren.apply(box, data.themes.map(function (t) {
      var ns = t.narratives.slice(0, 12).map(function (id) { var n = byId[id]; return el("li", {}, [narrLink(id), " " + (n ? txt(n.label) + " (" + n.size + ")" : "")]); });
      if (t.narratives.length > 12) ns.push(el("li", {"class": "muted"}, [(t.narratives.length - 12) + " more"]));
      return el("section", {"class": "theme", id: "t-" + t.id}, [el("h3", {}, ["Theme " + t.id + ": " + txt(t.label)]),
        el("p", {"class": "muted"}, [t.narratives.length + " narratives · " + t.size + " claims"]), kwList(t.keywords), el("ul", {}, ns)]);
    }));
  }
  function renderHeatmap() {
    var h = data.heatmap, box = document.getElementById("heatmap-box");
    if (!h.outlets.length) { box.replaceChildren(el("p", {"class": "empty"}, ["No outlet data."])); return; }
    var cw = 26, ch = 20, left = 170, topm = 40, W = left + cw * h.narratives.length + 10, H = topm + ch * h.outlets.length + 10;
    var peak = 1;
    h.values.forEach(function (r) { r.forEach(function (v) { peak = Math.max(peak, v); }); });
    var svg = sv("svg", {"class": "chart heatmap", viewBox: "0 0 " + W + " " + H, width: W, height: H, role: "img"});
    svg.appendChild(sv("title", {}, ["Claims per outlet and narrative"]));
    h.narratives.forEach(function (nid, j) {
      svg.appendChild(sv("text", {x: left + j * cw + cw / 2, y: topm - 6, "font-size": 9, "text-anchor": "middle", fill: "#334155"}, ["#" + nid]));
    });
    h.outlets.forEach(function (o, i) {
      svg.appendChild(sv("text", {x: left - 6, y: topm + i * ch + ch * 0.7, "font-size": 11, "text-anchor": "end", fill: "#334155"}, [o.length > 26 ? o.slice(0, 25) + "…" : o]));
      h.values[i].forEach(function (v, j) {
        var r = sv("rect", {x: left + j * cw, y: topm + i * ch, width: cw - 1, height: ch - 1,
                            fill: v ? "rgba(37,99,235," + (0.08 + 0.85 * v / peak).toFixed(3) + ")" : "#f1f5f9"});
        var n = byId[h.narratives[j]];
        r.appendChild(sv("title", {}, [o + " × #" + h.narratives[j] + " " + (n ? n.label : "") + ": " + v + " claims"]));
        svg.appendChild(r);
      });
    });
    var kids = [svg];
    if (h.hidden_outlets) kids.push(el("p", {"class": "muted"}, [h.hidden_outlets + " smaller outlets not shown."]));
    box.replaceChildren.apply(box, kids);
  }
  function renderMap() {
    var m = data.map, box = document.getElementById("map-box");
    if (!m.points.length) { box.replaceChildren(el("p", {"class": "empty"}, ["No assigned claims."])); return; }
    var W = 720, H = 480, pad = 20;
    var svg = sv("svg", {"class": "chart map", viewBox: "0 0 " + W + " " + H, width: W, height: H, role: "img"});
    svg.appendChild(sv("title", {}, ["Claims coloured by narrative"]));
    var xs = m.points.map(function (p) { return p[0]; }), ys = m.points.map(function (p) { return p[1]; });
    var x0 = Math.min.apply(null, xs), x1 = Math.max.apply(null, xs), y0 = Math.min.apply(null, ys), y1 = Math.max.apply(null, ys);
    function X(v) { return pad + (v - x0) / ((x1 - x0) || 1) * (W - 2 * pad); }
    function Y(v) { return H - pad - (v - y0) / ((y1 - y0) || 1) * (H - 2 * pad); }
    m.points.forEach(function (p) {
      var c = sv("circle", {cx: X(p[0]).toFixed(1), cy: Y(p[1]).toFixed(1), r: 2.2, fill: color(p[2]), "fill-opacity": 0.7, "data-nid": p[2]});
      svg.appendChild(c);
    });
    m.centres.forEach(function (c) {
      var n = byId[c[2]];
      if (!n || n.rank > 12) return;
      svg.appendChild(sv("text", {x: X(c[0]).toFixed(1), y: Y(c[1]).toFixed(1), "font-size": 10, fill: "#0f172a", "text-anchor": "middle"}, ["#" + c[2]]));
    });
    svg.addEventListener("mousemove", function (ev) {
      var nid = ev.target && ev.target.getAttribute && ev.target.getAttribute("data-nid");
      var n = nid && byId[nid];
      document.getElementById("map-hover").textContent = n ? "#" + n.id + " " + n.label + " (" + n.size + " claims)" : "";
    });
    svg.addEventListener("click", function (ev) {
      var nid = ev.target && ev.target.getAttribute && ev.target.getAttribute("data-nid");
      if (nid) openNarrative(Number(nid));
    });
    var note = el("p", {"class": "muted"}, ["Each dot is a claim (" + m.points.length + " of " + m.n_claims + " assigned claims shown), " +
      "placed around its narrative's centroid projected on the two principal axes of all centroids; the 16 largest narratives have their own colour."]);
    box.replaceChildren(svg, el("p", {id: "map-hover", "class": "hover"}), note);
  }

  // ---- navigation --------------------------------------------------------------------------------------
  function openNarrative(nid) {
    state.query = ""; document.getElementById("search").value = "";
    state.rows = data.narratives.slice().sort(SORTS[state.sort || "size"]);
    var idx = state.rows.findIndex(function (n) { return n.id === nid; });
    if (idx < 0) return;
    state.page = Math.floor(idx / PAGE);
    refresh();
    var c = document.getElementById("n-" + nid);
    if (c) c.scrollIntoView();
  }
  document.addEventListener("click", function (ev) {
    var a = ev.target.closest && ev.target.closest("a[data-nid]");
    if (!a) return;
    ev.preventDefault();
    openNarrative(Number(a.getAttribute("data-nid")));
  });
  document.getElementById("search").addEventListener("input", function (ev) { state.query = ev.target.value; state.page = 0; refresh(); });
  document.getElementById("sort").addEventListener("change", function (ev) { state.sort = ev.target.value; state.page = 0; refresh(); });
  document.getElementById("prev").addEventListener("click", function () { state.page = Math.max(0, state.page - 1); refresh(); });
  document.getElementById("next").addEventListener("click", function () { state.page += 1; refresh(); });

  renderSummary();
  refresh();
  renderThemes();
  renderHeatmap();
  renderMap();
  document.body.setAttribute("data-ready", "1");
})();
