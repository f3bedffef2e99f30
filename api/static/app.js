/* wasteflow dashboard: sortable tables and Plotly charts. Plain JavaScript, no framework,
 * no network access beyond this server. */
(function () {
  "use strict";

  var lang = document.body.getAttribute("data-lang") || "zh";

  /* --- printing: the print stylesheet (app.css) lays the page out for A4 landscape ---- */

  Array.prototype.forEach.call(document.querySelectorAll("[data-print]"), function (button) {
    button.addEventListener("click", function () { window.print(); });
  });

  /* --- sortable tables --------------------------------------------------------------- */

  function cellValue(row, index) {
    var cell = row.children[index];
    if (!cell) return "";
    var v = cell.getAttribute("data-sort");
    return v === null ? cell.textContent.trim() : v;
  }

  function isNumeric(values) {
    return values.every(function (v) { return v === "" || !isNaN(Number(v)); });
  }

  function sortTable(table, index, th) {
    var body = table.tBodies[0];
    if (!body) return;
    var rows = Array.prototype.slice.call(body.rows);
    // First click sorts descending for figures (best first), ascending for words.
    var current = th.getAttribute("aria-sort");
    var values = rows.map(function (r) { return cellValue(r, index); });
    var numeric = isNumeric(values);
    var dir;
    if (current === "ascending") dir = "descending";
    else if (current === "descending") dir = "ascending";
    else dir = numeric ? "descending" : "ascending";
    var sign = dir === "ascending" ? 1 : -1;
    var collator = new Intl.Collator(lang === "zh" ? "zh-CN" : "en", { numeric: true });
    rows.sort(function (a, b) {
      var x = cellValue(a, index), y = cellValue(b, index);
      // Empty cells (no data) always go last, whichever the direction.
      if (x === "" && y === "") return 0;
      if (x === "") return 1;
      if (y === "") return -1;
      if (numeric) return sign * (Number(x) - Number(y));
      return sign * collator.compare(x, y);
    });
    rows.forEach(function (r) { body.appendChild(r); });
    Array.prototype.forEach.call(th.parentNode.children, function (other) {
      if (other.hasAttribute("aria-sort")) other.setAttribute("aria-sort", "none");
    });
    th.setAttribute("aria-sort", dir);
  }

  Array.prototype.forEach.call(document.querySelectorAll("table.sortable"), function (table) {
    var head = table.tHead && table.tHead.rows[0];
    if (!head) return;
    Array.prototype.forEach.call(head.children, function (th, index) {
      var button = th.querySelector("button.sort");
      if (!button) return;
      button.addEventListener("click", function () { sortTable(table, index, th); });
    });
  });

  /* --- charts ------------------------------------------------------------------------ */

  if (typeof window.Plotly === "undefined") return;
  var Plotly = window.Plotly;

  // Plotly ships English words only; the mode bar gets Chinese ones here.
  Plotly.register({
    moduleType: "locale",
    name: "zh-CN",
    dictionary: {
      "Zoom": "缩放", "Pan": "平移", "Box Select": "框选", "Lasso Select": "套索选择",
      "Zoom in": "放大", "Zoom out": "缩小", "Autoscale": "自动缩放", "Reset axes": "重置坐标轴",
      "Download plot as a png": "下载为 PNG 图片", "Reset view": "重置视图",
      "Toggle Spike Lines": "切换辅助线", "Show closest data on hover": "悬停显示最近数据",
      "Compare data on hover": "悬停比较数据", "Produced with Plotly.js": "由 Plotly.js 生成",
      "Double-click to zoom back out": "双击恢复"
    },
    format: { decimal: ".", thousands: ",", months: ["1月", "2月", "3月", "4月", "5月", "6月", "7月", "8月", "9月", "10月", "11月", "12月"] }
  });
  var baseConfig = { displaylogo: false, responsive: true, locale: lang === "zh" ? "zh-CN" : "en" };
  var font = { family: getComputedStyle(document.documentElement).fontFamily, size: 12 };

  function monthLabel(label) {
    var m = Number(label.slice(5, 7));
    if (lang === "zh") return m + "月";
    return ["Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"][m - 1];
  }

  function drawTrend(el, months) {
    var kind = el.getAttribute("data-kind");
    var x = months.map(function (m, i) { return i + 1; });
    var labels = months.map(function (m) { return monthLabel(m.period); });
    // A narrow card cannot hold twelve month names upright: label every other month.
    var ticks = x.filter(function (v) { return months.length <= 6 || v % 2 === 1; });
    var traces = [];
    if (kind === "quantity") {
      traces.push({
        // Tonnes, in plain numbers with separators: officials read 吨, never "60k".
        type: "bar", x: x, y: months.map(function (m) { return m.numerator_kg / 1000; }), customdata: labels,
        marker: { color: "#0b5cab" }, name: el.getAttribute("data-y-title"),
        hovertemplate: "%{customdata}: %{y:,.2f} " + (el.getAttribute("data-unit") || "t") + "<extra></extra>"
      });
    } else {
      traces.push({
        type: "scatter", mode: "lines+markers", x: x, customdata: labels,
        y: months.map(function (m) { return m.rate === null ? null : m.rate * 100; }),
        name: el.getAttribute("data-y-title"), line: { color: "#0b5cab", width: 2 },
        // Shape as well as colour: a circle where the month met its target, a cross if not.
        marker: {
          size: 7,
          symbol: months.map(function (m) { return m.met === false ? "x" : "circle"; }),
          color: months.map(function (m) { return m.met === false ? "#a40e26" : m.met ? "#116329" : "#4d5561"; })
        },
        hovertemplate: "%{customdata}: %{y:.1f} %<extra></extra>", connectgaps: false
      });
      var target = el.getAttribute("data-target");
      if (target) {
        traces.push({
          type: "scatter", mode: "lines", x: x, y: x.map(function () { return Number(target) * 100; }),
          name: el.getAttribute("data-target-label"), line: { color: "#a40e26", dash: "dash", width: 1.5 },
          hoverinfo: "skip"
        });
      }
    }
    el.innerHTML = "";
    Plotly.newPlot(el, traces, {
      title: { text: el.getAttribute("data-title") + (kind === "quantity" ? " · " + (el.getAttribute("data-unit") || "t") : ""),
               font: { size: 12 }, x: 0, xanchor: "left" },
      margin: { l: 44, r: 8, t: 26, b: 24 }, height: 170, font: font, showlegend: false,
      xaxis: { fixedrange: true, tickmode: "array", tickvals: ticks,
               ticktext: ticks.map(function (v) { return labels[v - 1]; }), tickfont: { size: 10 } },
      // Plain numbers, never d3's SI suffixes ("60k", "500m"): tonnes with separators, rates
      // in per cent with the decimals they need.
      yaxis: { fixedrange: true, rangemode: "tozero", ticksuffix: kind === "quantity" ? "" : " %",
               tickformat: kind === "quantity" ? ",.3~f" : ",.2~f", separatethousands: true,
               exponentformat: "none", tickfont: { size: 10 } },
      paper_bgcolor: "rgba(0,0,0,0)", plot_bgcolor: "#fafbfc"
    }, { displayModeBar: false, responsive: true });
  }

  // Every card's trend comes from one request (the server computes all indicators in one
  // pass per month), fetched after the page is shown.
  var trends = Array.prototype.slice.call(document.querySelectorAll(".trend[data-src]"));
  var controller = typeof AbortController !== "undefined" ? new AbortController() : null;
  window.addEventListener("pagehide", function () { if (controller) controller.abort(); });
  var bySource = {};
  trends.forEach(function (el) {
    var src = el.getAttribute("data-src");
    (bySource[src] = bySource[src] || []).push(el);
  });
  Object.keys(bySource).forEach(function (src) {
    var els = bySource[src];
    fetch(src, { credentials: "same-origin", signal: controller ? controller.signal : undefined })
      .then(function (r) { if (!r.ok) throw new Error(r.status); return r.json(); })
      .then(function (series) {
        els.forEach(function (el) {
          drawTrend(el, series[el.getAttribute("data-indicator")] || []);
          el.setAttribute("data-ready", "1");
        });
      })
      .catch(function (err) {
        if (err && err.name === "AbortError") return;
        els.forEach(function (el) {
          el.innerHTML = "<p class='muted small'></p>";
          el.firstChild.textContent = el.getAttribute("data-failed");
        });
      });
  });

  function jsonData(id) {
    var node = document.getElementById(id);
    return node ? JSON.parse(node.textContent) : null;
  }

  var sankeyEl = document.getElementById("sankey");
  var sankey = jsonData("sankey-data");
  if (sankeyEl && sankey) {
    // Tonnes in plain numbers (never "60k"); the words of every hover box come from the server.
    Plotly.newPlot(sankeyEl, [{
      type: "sankey", arrangement: "snap", valueformat: ",.1f", valuesuffix: " " + sankey.unit,
      // Columns placed by the server: plants stand far enough from the routes for both names.
      node: { label: sankey.labels, color: sankey.node_colour, customdata: sankey.node_hover,
              x: sankey.x, y: sankey.y,
              hovertemplate: "%{customdata}<extra></extra>", pad: 14, thickness: 16,
              line: { color: "#5b6675", width: 0.5 } },
      link: { source: sankey.source, target: sankey.target, value: sankey.value, color: sankey.colour,
              label: sankey.link_label, customdata: sankey.link_hover,
              hovertemplate: "%{customdata}<extra></extra>" }
    }], {
      title: { text: sankeyEl.getAttribute("data-title"), x: 0, xanchor: "left" },
      font: font, margin: { l: 8, r: 8, t: 40, b: 8 }
    }, baseConfig);
  }

  function webglWorks() {
    try {
      var c = document.createElement("canvas");
      return !!(c.getContext("webgl") || c.getContext("experimental-webgl"));
    } catch (e) {
      return false;
    }
  }

  var mapEl = document.getElementById("sites-map");
  var sites = jsonData("sites-data");
  if (mapEl && sites) {
    // WebGL draws thousands of points fast; without it (old phones) SVG still works.
    var type = webglWorks() ? "scattergl" : "scatter";
    var midLat = 29.35;
    var traces = sites.map(function (s) {
      return {
        type: type, mode: "markers", name: s.name, x: s.x, y: s.y, text: s.text,
        hovertemplate: "%{text}<extra></extra>",
        marker: { color: s.colour, size: s.size, opacity: s.kind === "source" ? 0.55 : 0.9,
                  line: { width: s.kind === "source" ? 0 : 1, color: "#fff" } }
      };
    });
    Plotly.newPlot(mapEl, traces, {
      title: { text: mapEl.getAttribute("data-title"), x: 0, xanchor: "left" },
      font: font, margin: { l: 60, r: 10, t: 40, b: 50 }, legend: { orientation: "h", y: -0.12 },
      xaxis: { title: { text: mapEl.getAttribute("data-x-title") }, ticksuffix: "°E", zeroline: false,
               tickformat: ".2~f", exponentformat: "none", constrain: "domain" },
      // One degree of latitude is longer than one of longitude here: keep the shape true.
      yaxis: { title: { text: mapEl.getAttribute("data-y-title") }, ticksuffix: "°N", zeroline: false,
               tickformat: ".2~f", exponentformat: "none", scaleanchor: "x", scaleratio: 1 / Math.cos(midLat * Math.PI / 180), constrain: "domain" },
      plot_bgcolor: "#f7f9f6", hovermode: "closest"
    }, baseConfig);
  }
})();
