// Explorer: any series over any range, zoom and pan, CSV download.
"use strict";

(() => {
  Grid.header("/explorer");
  const H = 3_600_000;
  const PRESETS = { "1 h": H, "6 h": 6 * H, "24 h": 24 * H, "7 d": 7 * 24 * H, "30 d": 30 * 24 * H, "all": null };
  const select = document.getElementById("series");
  const fromInput = document.getElementById("from");
  const toInput = document.getElementById("to");
  const info = document.getElementById("info");
  const csv = document.getElementById("csv");
  let all = [];
  let window_ = { from: Date.now() - 24 * H, to: Date.now() };
  let chart = null;

  const local = ms => { const d = new Date(ms); d.setMinutes(d.getMinutes() - d.getTimezoneOffset()); return d.toISOString().slice(0, 19); };
  const parseLocal = text => new Date(text).getTime();

  function current() { return all.find(s => s.id === select.value); }

  async function load() {
    const s = current();
    if (!s) return;
    fromInput.value = local(window_.from);
    toInput.value = local(window_.to);
    const params = new URLSearchParams(location.search);
    params.set("series", s.id); params.set("from", String(Math.round(window_.from))); params.set("to", String(Math.round(window_.to)));
    history.replaceState(null, "", "?" + params);
    const box = document.getElementById("chart");
    box.dataset.chart = s.id;
    chart = GridChart.create(box, { title: s.id, labels: [Grid.label(s.metric)], unit: s.unit, height: 360, onZoom: (from, to) => { window_ = { from, to }; load().catch(Grid.showError); } });
    const started = performance.now();
    const [result, provisional] = await Promise.all([Grid.points(s.id, window_.from, window_.to, "mean", s.intervalMs), GridChart.provisional()]);
    chart.set([result], { started, fetched: performance.now() }, GridChart.since(provisional, s.device, [s.metric]));
    info.textContent = `${result.times.length.toLocaleString()} points · resolution ${result.stepText}${result.truncated ? " · truncated: zoom in" : ""} · ${new Date(result.from).toLocaleString()} – ${new Date(result.to).toLocaleString()}`;
    const query = new URLSearchParams({ from: String(result.from), to: String(result.to), format: "csv" });
    if (result.step) { query.set("step", String(result.step)); query.set("agg", result.agg); }
    csv.href = `/api/series/${s.id}/points?${query}`;
  }

  function preset(ms) {
    const s = current();
    const to = Date.now();
    window_ = { from: ms ? to - ms : Math.min(s?.firstT ?? to - H, to - 60_000), to };
    load().catch(Grid.showError);
  }

  function shift(fraction) {
    const span = window_.to - window_.from;
    window_ = { from: window_.from + span * fraction, to: window_.to + span * fraction };
    load().catch(Grid.showError);
  }

  const presetBox = document.getElementById("presets");
  for (const [name, ms] of Object.entries(PRESETS)) presetBox.append(Grid.el("button", { "data-range": name, onclick: () => preset(ms) }, name));
  document.getElementById("apply").onclick = () => { window_ = { from: parseLocal(fromInput.value), to: parseLocal(toInput.value) }; load().catch(Grid.showError); };
  document.getElementById("back").onclick = () => shift(-0.5);
  document.getElementById("forward").onclick = () => shift(0.5);
  document.getElementById("zoomout").onclick = () => {
    const span = window_.to - window_.from, mid = window_.from + span / 2;
    window_ = { from: mid - span, to: Math.min(Date.now(), mid + span) };
    load().catch(Grid.showError);
  };
  select.onchange = () => load().catch(Grid.showError);

  async function start() {
    all = await Grid.api("/api/series");
    select.replaceChildren(...all.map(s => Grid.el("option", { value: s.id }, s.id)));
    const params = new URLSearchParams(location.search);
    if (params.get("series")) select.value = params.get("series");
    const from = Number(params.get("from")), to = Number(params.get("to"));
    if (from && to && from < to) window_ = { from, to };
    if (all.length === 0) { info.textContent = "No series yet."; return; }
    await load();
  }

  Grid.live("", reading => {
    if (chart && reading.series === select.value && window_.to >= Date.now() - 5000) chart.append(reading.t, 0, reading.v);
  });

  start().catch(Grid.showError);
})();
