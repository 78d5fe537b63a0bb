// Time-series charts on uPlot (served by the hub from the npm package).
"use strict";

const GridChart = (() => {
  const COLORS = ["#1f6feb", "#cf222e", "#1a7f37", "#bf8700", "#8250df"];

  // A pause in reporting (a parked van, a station without power) is drawn as a gap, not as a line across it:
  // a null goes in wherever two points are further apart than five typical intervals and 20 minutes.
  function withGaps(times, values) {
    const xs = [], ys = [];
    const deltas = new Float64Array(Math.max(0, times.length - 1));
    for (let i = 1; i < times.length; i++) deltas[i - 1] = times[i] - times[i - 1];
    deltas.sort();
    const gap = deltas.length ? Math.max(5 * deltas[Math.floor(deltas.length / 2)], 20 * 60_000) : Infinity;
    for (let i = 0; i < times.length; i++) {
      if (i > 0 && times[i] - times[i - 1] > gap) { xs.push(times[i - 1] + 1); ys.push(null); }
      xs.push(times[i]);
      ys.push(values[i]);
    }
    return [xs, ys];
  }

  // results: { unit, times, values } per series, as Grid.points returns them.
  function toColumns(results) {
    const tables = results.map(r => withGaps(r.times, r.values));
    if (tables.length === 1) return tables[0];
    // Keep our nulls as gaps (mode 1); values missing only because the series do not align are spanned.
    return uPlot.join(tables, tables.map(t => t.map(() => 1)));
  }

  function create(container, { title, labels, unit = "", kind = "line", height = 220, onZoom = null }) {
    container.classList.add("chart");
    const heading = Grid.el("div", { class: "title" }, title);
    const body = Grid.el("div");
    container.replaceChildren(heading, body);
    let plot = null;
    let pendingTiming = null;
    let provisionalSince = null;

    function options(width) {
      return {
        width, height, ms: 1,
        cursor: { drag: { x: true, y: false, setScale: !onZoom } },
        legend: { live: true },
        scales: { x: { time: true } },
        axes: [{}, { size: 55, values: (u, values) => values.map(v => v == null ? "" : Grid.format(v, unit).replace(/\s.*$/, "")) }],
        series: [{}, ...labels.map((label, i) => ({
          label: `${label}${unit ? " (" + Grid.unitText(unit) + ")" : ""}`,
          stroke: COLORS[i % COLORS.length],
          width: 1.5,
          fill: kind === "bars" ? COLORS[i % COLORS.length] + "66" : undefined,
          paths: kind === "bars" ? uPlot.paths.bars({ size: [0.8, 64] }) : undefined,
          points: { show: false },
        }))],
        hooks: {
          setSelect: onZoom ? [u => {
            if (u.select.width < 3) return;
            const from = u.posToVal(u.select.left, "x"), to = u.posToVal(u.select.left + u.select.width, "x");
            u.setSelect({ left: 0, top: 0, width: 0, height: 0 }, false);
            onZoom(from, to);
          }] : [],
          draw: [u => {
            // Readings no other hub of the grid holds yet: a shaded band from the first of them on.
            if (provisionalSince == null) return;
            const left = Math.max(u.bbox.left, u.valToPos(provisionalSince, "x", true));
            const right = u.bbox.left + u.bbox.width;
            if (left >= right) return;
            const ctx = u.ctx;
            ctx.save();
            ctx.fillStyle = "rgba(191, 135, 0, 0.10)";
            ctx.fillRect(left, u.bbox.top, right - left, u.bbox.height);
            ctx.fillStyle = "#9a6700";
            ctx.font = `${Math.round(11 * uPlot.pxRatio)}px sans-serif`;
            ctx.textAlign = "right";
            ctx.fillText("not yet on another hub", right - 4 * uPlot.pxRatio, u.bbox.top + 12 * uPlot.pxRatio);
            ctx.restore();
          }, u => {
            if (!pendingTiming) return;
            const done = performance.now();
            window.gridTimings.push({ chart: title, points: u.data[0].length, fetchMs: pendingTiming.fetched - pendingTiming.started, renderMs: done - pendingTiming.fetched });
            pendingTiming = null;
          }],
        },
      };
    }

    const width = () => Math.max(200, body.clientWidth || container.clientWidth - 16);
    new ResizeObserver(() => plot && plot.setSize({ width: width(), height })).observe(container);

    return {
      // results: one API points response per label; timing: { started, fetched } from performance.now();
      // provisional: the time (Unix ms) from which readings have reached no other hub yet, or null.
      set(results, timing = null, provisional = null) {
        provisionalSince = provisional;
        container.dataset.provisionalSince = provisional == null ? "" : String(provisional);
        const columns = toColumns(results);
        const count = results.reduce((n, r) => Math.max(n, r.times.length), 0);
        container.dataset.points = String(count);
        heading.textContent = title + (results[0] && results[0].stepText && results[0].stepText !== "raw" ? ` · ${results[0].stepText} ${results[0].agg}` : "");
        if (count === 0) {
          plot?.destroy();
          plot = null;
          body.replaceChildren(Grid.el("div", { class: "empty" }, "No data in this range."));
          return;
        }
        pendingTiming = timing;
        if (plot) plot.setData(columns);
        else {
          body.replaceChildren();
          plot = new uPlot(options(width()), columns, body);
        }
      },
      // The provisional band moved (a peer took readings in, or a partition began).
      provisional(since) {
        if (since === provisionalSince) return;
        provisionalSince = since;
        container.dataset.provisionalSince = since == null ? "" : String(since);
        plot?.redraw(false);
      },
      // A live reading: appended when the chart shows raw data that reaches now.
      append(t, seriesIndex, value) {
        if (!plot) return;
        const data = plot.data.map(column => Array.from(column));
        const last = data[0][data[0].length - 1];
        if (t <= last) return;
        data[0].push(t);
        for (let i = 1; i < data.length; i++) data[i].push(i === seriesIndex + 1 ? value : null);
        plot.setData(data);
        container.dataset.points = String(data[0].length);
      },
    };
  }

  // A set of charts of one device over a chosen range, with range buttons, fed live while they show raw data.
  // specs: [{ title, metrics, agg?, kind? }]; series(): Map metric -> series info; device(): the device id.
  function panel({ chartsBox, rangeBox, ranges, range, specs, series, device, height = 220 }) {
    let charts = [];
    for (const [name, ms] of Object.entries(ranges)) {
      rangeBox.append(Grid.el("button", { "data-range": name, class: ms === range ? "active" : "", onclick: e => {
        range = ms;
        rangeBox.querySelectorAll("button").forEach(b => b.classList.toggle("active", b === e.target));
        load().catch(Grid.showError);
      } }, name));
    }

    async function load() {
      const now = Date.now(), from = now - range, latest = series(), id = device();
      const provisional = await GridChart.provisional();
      charts = [];
      const boxes = [];
      for (const spec of specs) {
        const metrics = spec.metrics.filter(m => latest.has(m));
        if (!metrics.length) continue;
        const box = Grid.el("div", { "data-chart": spec.title });
        boxes.push(box);
        charts.push({ spec, metrics, chart: create(box, { title: spec.title, labels: metrics.map(Grid.label), unit: latest.get(metrics[0]).unit, kind: spec.kind, height }), raw: false });
      }
      chartsBox.replaceChildren(...boxes);
      await Promise.all(charts.map(async c => {
        const started = performance.now();
        const results = await Promise.all(c.metrics.map(m => Grid.points(`${id}/${m}`, from, now, c.spec.agg || "mean", latest.get(m).intervalMs)));
        c.raw = results.every(r => r.step == null);
        c.chart.set(results, { started, fetched: performance.now() }, GridChart.since(provisional, id, c.metrics));
      }));
    }

    // The band follows the grid while the page stays open: live readings arrive, peers come and go.
    setInterval(async () => {
      if (!charts.length || document.hidden) return;
      const map = await provisional();
      for (const c of charts) c.chart.provisional(since(map, device(), c.metrics));
    }, 20_000);

    function onReading(reading) {
      for (const c of charts) {
        const index = c.metrics.indexOf(reading.metric);
        if (index >= 0 && c.raw) c.chart.append(reading.t, index, reading.v);
      }
    }

    return { load, onReading };
  }

  // What of this hub's readings no other hub holds yet (GET /api/grid/provisional); empty outside a grid.
  async function provisional() {
    try { return (await Grid.api("/api/grid/provisional")).since || {}; } catch { return {}; }
  }

  // The earliest provisional reading among a device's metrics: their own streams or the device's.
  function since(map, device, metrics) {
    const times = [map[`${device}/*`], ...metrics.map(m => map[`${device}/${m}`])].filter(t => t != null);
    return times.length ? Math.min(...times) : null;
  }

  return { create, panel, provisional, since };
})();
