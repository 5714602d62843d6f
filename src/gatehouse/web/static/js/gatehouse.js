/* Gatehouse front-end glue. Loaded from 'self' (no inline script: the CSP forbids it).
   - live "time in state" clocks: any element with data-since="<epoch seconds>"
   - agent desk: keyboard-first answering (1-9 pick, Enter moves on), no copy/cut/drag/menu
   - wallboard: the live chart (uPlot) fed by the "chart" SSE event
*/
(function () {
  "use strict";

  function pad(n) { return n < 10 ? "0" + n : "" + n; }
  function fmt(seconds) {
    seconds = Math.max(0, Math.floor(seconds));
    var h = Math.floor(seconds / 3600), m = Math.floor((seconds % 3600) / 60), s = seconds % 60;
    return (h > 0 ? h + ":" + pad(m) : m) + ":" + pad(s);
  }
  // Server and browser clocks differ; the page tells us the server's "now" when it rendered.
  var skew = 0;
  function syncSkew(root) {
    var el = (root || document).querySelector("[data-server-now]");
    if (el) { skew = parseFloat(el.getAttribute("data-server-now")) - Date.now() / 1000; }
  }
  function tick() {
    var now = Date.now() / 1000 + skew;
    document.querySelectorAll("[data-since]").forEach(function (el) {
      el.textContent = fmt(now - parseFloat(el.getAttribute("data-since")));
    });
    document.querySelectorAll("[data-until]").forEach(function (el) {
      el.textContent = fmt(parseFloat(el.getAttribute("data-until")) - now);
    });
  }

  // ---- agent desk ----
  function onDeskKey(ev) {
    if (!document.body.classList.contains("desk-body")) { return; }
    var target = ev.target;
    var typing = target && (target.tagName === "INPUT" || target.tagName === "TEXTAREA" || target.tagName === "SELECT");
    if (!typing && !ev.ctrlKey && !ev.metaKey && !ev.altKey && /^[0-9a-z]$/.test(ev.key)) {
      var opt = document.querySelector('[data-key="' + ev.key + '"]');
      if (opt) { ev.preventDefault(); opt.click(); }
      return;
    }
    if (ev.key === "Enter" && !ev.shiftKey) {
      var next = document.querySelector("[data-enter]");
      // Enter moves on everywhere, typed answers included (Shift+Enter for a new line).
      if (next && !next.disabled) {
        ev.preventDefault();
        next.click();
      }
    }
  }
  function blockOnDesk(ev) {
    if (document.body.classList.contains("desk-body")) {
      var t = ev.target;
      var field = t && (t.tagName === "INPUT" || t.tagName === "TEXTAREA");
      if (field && (ev.type === "paste" || ev.type === "selectstart")) { return; }
      ev.preventDefault();
    }
  }
  // Choice buttons fill the hidden answer field and mark themselves selected (multi-choice toggles).
  function onOptionClick(ev) {
    var btn = ev.target.closest("[data-option]");
    if (!btn) { return; }
    var form = btn.closest("form");
    if (!form) { return; }
    ev.preventDefault();
    var multi = form.hasAttribute("data-multi");
    if (multi) {
      btn.classList.toggle("selected");
    } else {
      form.querySelectorAll("[data-option]").forEach(function (b) { b.classList.remove("selected"); });
      btn.classList.add("selected");
    }
    var values = [];
    form.querySelectorAll("[data-option].selected").forEach(function (b) { values.push(b.getAttribute("data-option")); });
    var field = form.querySelector("input[name=answer]");
    if (field) { field.value = values.join(","); }
    if (!multi && btn.hasAttribute("data-autosubmit")) { form.requestSubmit(); }
  }

  // ---- wallboard chart ----
  var chart = null, series = null;
  function ensureChart(el) {
    if (chart || !window.uPlot || !el) { return; }
    series = [[], [], [], []];
    var opts = {
      width: el.clientWidth || 600, height: 240,
      scales: {
        x: { time: true },
        y: { range: function (u, min, max) { return [0, Math.max(5, Math.ceil(max * 1.25))]; } },
        pct: { auto: false, range: [0, 5] }
      },
      axes: [{}, { label: "calls" }, { side: 1, scale: "pct", label: "abandon %", grid: { show: false } }],
      series: [
        {},
        { label: "on call", stroke: "#2b6a8f", width: 2, fill: "rgba(43,106,143,0.08)" },
        { label: "lines dialling", stroke: "#2f8f7e", width: 2 },
        { label: "abandon % (24 h)", stroke: "#b3261e", width: 2, scale: "pct" }
      ]
    };
    chart = new window.uPlot(opts, series, el);
    window.addEventListener("resize", function () { chart.setSize({ width: el.clientWidth, height: 240 }); });
  }
  // The hidden element with sse-swap="chart" receives the JSON points; we plot them and stop
  // htmx from swapping JSON into the page.
  function onSse(ev) {
    var d = ev.detail || {};
    if (d.type !== "chart") { return; }
    ev.preventDefault();
    var el = document.getElementById("live-chart");
    if (!el) { return; }
    ensureChart(el);
    if (!chart) { return; }
    var p;
    try { p = JSON.parse(d.data); } catch (e) { return; }
    series[0].push(p.t); series[1].push(p.on_call); series[2].push(p.dialling); series[3].push(p.abandon_pct);
    if (series[0].length > 600) { series.forEach(function (s) { s.shift(); }); }
    chart.setData(series);
  }

  document.addEventListener("DOMContentLoaded", function () {
    syncSkew(document);
    tick();
    setInterval(tick, 1000);
    document.addEventListener("keydown", onDeskKey);
    ["copy", "cut", "contextmenu", "dragstart", "selectstart", "paste"].forEach(function (t) {
      document.addEventListener(t, blockOnDesk);
    });
    document.addEventListener("click", onOptionClick);
    document.body.addEventListener("htmx:sseBeforeMessage", onSse);
    document.body.addEventListener("htmx:afterSwap", function (ev) {
      syncSkew(ev.target); tick();
      var auto = ev.target.querySelector ? ev.target.querySelector("[autofocus]") : null;
      if (auto) { auto.focus(); }
    });
    var c = document.getElementById("live-chart");
    if (c) { ensureChart(c); }
  });
})();
