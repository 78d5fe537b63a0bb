// Weather: current conditions, today's extremes, and charts over 6 h to 30 d.
"use strict";

(() => {
  Grid.header("/weather");
  const H = 3_600_000;
  const RANGES = { "6 h": 6 * H, "24 h": 24 * H, "7 d": 7 * 24 * H, "30 d": 30 * 24 * H };
  const CHARTS = [
    { title: "Temperature", metrics: ["temperature", "dew_point"], agg: "mean" },
    { title: "Humidity", metrics: ["humidity"], agg: "mean" },
    { title: "Pressure", metrics: ["pressure", "sea_level_pressure"], agg: "mean" },
    { title: "Wind", metrics: ["wind_speed", "wind_gust"], agg: "max" },
    { title: "Rain", metrics: ["rain"], agg: "sum", kind: "bars" },
  ];
  const select = document.getElementById("device");
  const tiles = document.getElementById("tiles");
  const chartsBox = document.getElementById("charts");
  let device = null;
  let latest = new Map(); // metric -> series info with latest {t, v}
  let today = {};

  const panel = GridChart.panel({
    chartsBox, rangeBox: document.getElementById("ranges"), ranges: RANGES, range: RANGES["24 h"], specs: CHARTS,
    series: () => latest, device: () => device,
  });

  function tile(metric, label, valueText, sub) {
    const s = latest.get(metric);
    const stale = !s || Grid.isStale(s.latest.t, s.intervalMs);
    return Grid.el("div", { class: "card tile" + (stale ? " stale" : ""), "data-metric": metric },
      Grid.el("div", { class: "label" }, label),
      Grid.el("div", { class: "value" }, s ? valueText(s) : "–"),
      Grid.el("div", { class: "sub" }, s ? sub(s) : "no data"),
      Grid.el("div", { class: "sub age" }, s ? `${Grid.age(Date.now() - s.latest.t)} ago` : ""));
  }

  function renderTiles() {
    const v = m => latest.get(m)?.latest.v;
    const fmt = (m, value = v(m)) => Grid.format(value, latest.get(m)?.unit);
    const items = [
      tile("temperature", "Temperature", () => fmt("temperature"),
        () => today.min != null ? `today ${fmt("temperature", today.min)} … ${fmt("temperature", today.max)}` : ""),
      tile("humidity", "Humidity", () => fmt("humidity"), () => ""),
      tile("pressure", "Pressure", () => fmt("pressure"), () => {
        const t = derived?.tendency;
        if (t) return Grid.el("span", { class: "tendency", "data-level": String(t.level) }, `${TENDENCY_ARROWS[t.level + 4]} ${t.text} (${t.hpaPer3h >= 0 ? "+" : ""}${t.hpaPer3h.toFixed(1)} hPa in 3 h)`);
        return today.pressure3h != null ? `${v("pressure") - today.pressure3h >= 0 ? "↑" : "↓"} ${Math.abs(v("pressure") - today.pressure3h).toFixed(1)} hPa in 3 h` : "";
      }),
      tile("forecast", "Forecast", () => derived?.forecast?.text ?? "–", () => derived?.forecast ? `Zambretti ${derived.forecast.number} · from pressure and its trend` : "needs 3 h of pressure and the station's altitude"),
      tile("wind_speed", "Wind", () => fmt("wind_speed"), () => {
        const dir = v("wind_direction");
        const gust = latest.has("wind_gust") ? `gusts ${fmt("wind_gust")}` : "";
        const mean = derived?.wind;
        return Grid.el("span", {}, gust, dir != null ? Grid.el("span", {}, " · from ", Grid.el("span", { class: "compass", style: `transform: rotate(${dir + 180}deg)` }, "↑"), ` ${Grid.compassName(dir)}`) : "",
          mean?.meanSpeed != null ? Grid.el("div", { class: "wind-mean" }, `10 min: ${Grid.format(mean.meanSpeed, "m/s")}${mean.meanFrom ? " from " + mean.meanFrom : ""} · Beaufort ${mean.beaufort}${mean.gustMax != null ? " · max " + Grid.format(mean.gustMax, "m/s") : ""}`) : "");
      }),
      tile("rain", "Rain today", () => Grid.format(derived?.rain?.today ?? today.rain ?? 0, "mm"), () => {
        const totals = derived?.rain;
        const rate = latest.has("rain_rate") ? `now ${fmt("rain_rate")} (${derived?.rainIntensity ?? "none"})` : "";
        if (!totals) return rate;
        const since = totals.resetAtMs ? `since ${new Date(totals.resetAtMs).toLocaleDateString()}` : "in total";
        return Grid.el("span", {}, rate,
          Grid.el("div", { class: "rain-totals" }, `1 h ${Grid.format(totals.lastHour, "mm")} · 24 h ${Grid.format(totals.last24Hours, "mm")} · ${since} ${Grid.format(totals.sinceReset, "mm")} `,
            Grid.el("button", { type: "button", class: "link", id: "rain-reset", title: "Start the rain total again from now", onclick: resetRain }, "reset")));
      }),
    ];
    tiles.replaceChildren(...items);
  }

  async function resetRain() {
    const response = await Grid.send("POST", `/api/weather/${device}/rain/reset`);
    if (!response.ok) return Grid.showError(new Error((await response.json().catch(() => ({}))).error || response.statusText));
    if (derived) derived.rain = await response.json();
    renderTiles();
  }

  // Live rain totals from the hub's derived series; the series names map onto /api/weather/{device}/now's fields.
  const RAIN_TOTALS = { rain_last_hour: "lastHour", rain_last_24h: "last24Hours", rain_today: "today", rain_since_reset: "sinceReset" };

  // Derived weather in words (forecast, tendency) from the hub; absent until a station has 3 h of pressure.
  const TENDENCY_ARROWS = ["⇊", "↓", "↘", "↘", "→", "↗", "↗", "↑", "⇈"];
  let derived = null;

  async function loadLatest() {
    derived = await Grid.api(`/api/weather/${device}/now`).catch(() => null);
    const series = await Grid.api("/api/series");
    latest = new Map(series.filter(s => s.device === device).map(s => [s.metric, s]));
    const midnight = new Date(); midnight.setHours(0, 0, 0, 0);
    const from = midnight.getTime();
    const [temperature, rain, pressure] = await Promise.all([
      latest.has("temperature") ? Grid.api(`/api/series/${device}/temperature/summary?from=${from}&to=now`) : null,
      latest.has("rain") ? Grid.api(`/api/series/${device}/rain/summary?from=${from}&to=now`) : null,
      latest.has("pressure") ? Grid.api(`/api/series/${device}/pressure/points?from=-3h&to=now&limit=1`) : null,
    ]);
    today = { min: temperature?.min, max: temperature?.max, rain: rain?.sum ?? 0, pressure3h: pressure?.points[0]?.[1] };
    renderTiles();
  }

  async function start() {
    ({ device } = await Grid.pickDevice(["temperature", "pressure", "humidity", "wind_speed"], select));
    if (!device) {
      tiles.replaceChildren(Grid.el("p", { class: "muted" }, "No weather station has reported yet. Run the demo (hub/Grid.Edge.Demo) to see one."));
      return;
    }
    await loadLatest();
    await panel.load();
  }

  select.addEventListener("change", () => {
    history.replaceState(null, "", `?device=${encodeURIComponent(select.value)}`);
    device = select.value;
    loadLatest().then(panel.load).catch(Grid.showError);
  });

  Grid.live("", reading => {
    if (reading.device !== device) return;
    const s = latest.get(reading.metric);
    if (s && reading.t >= s.latest.t) s.latest = { t: reading.t, v: reading.v };
    if (reading.metric === "rain" && reading.t >= new Date().setHours(0, 0, 0, 0)) today.rain = (today.rain ?? 0) + reading.v;
    if (RAIN_TOTALS[reading.metric] && derived?.rain) derived.rain[RAIN_TOTALS[reading.metric]] = reading.v;
    if (reading.metric === "temperature") {
      today.min = today.min == null ? reading.v : Math.min(today.min, reading.v);
      today.max = today.max == null ? reading.v : Math.max(today.max, reading.v);
    }
    panel.onReading(reading);
    renderTiles();
  });

  start().catch(Grid.showError);
  setInterval(renderTiles, 1000);
  setInterval(() => loadLatest().catch(Grid.showError), 60_000);
})();
