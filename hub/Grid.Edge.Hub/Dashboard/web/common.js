// Shared by every dashboard page: API access, the live stream, formatting and staleness rules.
"use strict";

const Grid = (() => {
  const LABELS = {
    temperature: "Temperature", humidity: "Humidity", pressure: "Pressure", sea_level_pressure: "Sea-level pressure",
    dew_point: "Dew point", wind_speed: "Wind", wind_gust: "Gust", wind_direction: "Wind direction", rain: "Rain",
    rain_total: "Rain total", rain_rate: "Rain rate", rpm: "Engine speed", speed: "Speed", coolant_temp: "Coolant",
    battery_voltage: "Battery", fuel_level: "Fuel", engine_load: "Engine load", dtc_count: "Trouble codes", dtc: "Trouble code",
  };
  const DECIMALS = { degC: 1, "%": 0, hPa: 1, "m/s": 1, deg: 0, mm: 1, "mm/h": 1, "km/h": 0, rpm: 0, V: 2, kPa: 0 };
  const UNIT_TEXT = { degC: "°C", deg: "°" };

  // Not signed in (and no guest view): to the login page, which brings the reader back here afterwards.
  // Set while logging out: requests still in flight then get 401s, which must not send the page elsewhere.
  let loggingOut = false;

  function toLogin() {
    if (!loggingOut && location.pathname !== "/login") location.assign("/login?return=" + encodeURIComponent(location.pathname + location.search));
  }

  async function api(path) {
    const response = await fetch(path, { headers: { accept: "application/json" } });
    if (response.status === 401) { toLogin(); throw new Error("log in to see this"); }
    if (!response.ok) {
      let message = response.statusText;
      try { message = (await response.json()).error || message; } catch { /* not JSON */ }
      throw new Error(`${path}: ${response.status} ${message}`);
    }
    return response.json();
  }

  // The antiforgery request token the hub gives each page in a cookie; state-changing requests send it back as a
  // header, which a page of another site cannot do.
  function requestToken() {
    const entry = document.cookie.split("; ").find(c => c.startsWith("XSRF-TOKEN="));
    return entry ? decodeURIComponent(entry.slice("XSRF-TOKEN=".length)) : "";
  }

  // POST/PUT/DELETE with the token; a guest is sent to the login page first. Resolves to the response.
  async function send(method, path, body) {
    const headers = { accept: "application/json", "X-XSRF-TOKEN": requestToken() };
    if (body !== undefined) headers["content-type"] = "application/json";
    const response = await fetch(path, { method, headers, body: body === undefined ? undefined : JSON.stringify(body) });
    if (response.status === 401) toLogin();
    return response;
  }

  // One EventSource per page; the browser reconnects by itself, the header shows the state.
  function live(query, onReading) {
    const source = new EventSource("/api/live" + (query ? "?" + query : ""));
    const conn = document.querySelector("header .conn");
    const show = (state, text) => { if (conn) { conn.className = "conn " + state; conn.textContent = text; } };
    source.onopen = () => show("live", "live");
    source.onerror = () => show("down", "reconnecting…");
    source.addEventListener("reading", e => onReading(JSON.parse(e.data)));
    return source;
  }

  function label(metric) {
    return LABELS[metric] || metric.replace(/[_.-]+/g, " ").replace(/^./, c => c.toUpperCase());
  }

  function unitText(unit) { return UNIT_TEXT[unit] ?? unit; }

  function format(value, unit) {
    if (value === null || value === undefined || Number.isNaN(value)) return "–";
    const decimals = DECIMALS[unit] ?? (Math.abs(value) >= 100 ? 0 : 2);
    const text = value.toLocaleString(undefined, { minimumFractionDigits: 0, maximumFractionDigits: decimals });
    const u = unitText(unit || "");
    return u ? `${text} ${u}` : text;
  }

  function age(ms) {
    if (ms < 0) ms = 0;
    const s = Math.round(ms / 1000);
    if (s < 60) return `${s} s`;
    if (s < 3600) return `${Math.round(s / 60)} min`;
    if (s < 86400 * 2) return `${Math.round(s / 3600)} h`;
    return `${Math.round(s / 86400)} d`;
  }

  // Stale: older than three reporting intervals (weather.md: sensor health), never less than 10 s;
  // a series whose interval is unknown is stale after 10 minutes.
  function staleAfter(intervalMs) {
    return intervalMs ? Math.max(3 * intervalMs, 10_000) : 600_000;
  }
  function isStale(t, intervalMs, now = Date.now()) { return now - t > staleAfter(intervalMs); }

  // Chart resolution: raw points when a range holds few enough, else aggregated with a round step.
  const STEPS = [1, 2, 5, 10, 15, 30, 60, 120, 300, 600, 900, 1800, 3600, 7200, 10800, 21600, 43200, 86400].map(s => s * 1000);
  const MAX_POINTS = 12_000;
  function resolution(rangeMs, intervalMs) {
    const wanted = rangeMs / MAX_POINTS;
    const step = STEPS.find(s => s >= wanted) ?? STEPS[STEPS.length - 1];
    return intervalMs && step <= intervalMs ? null : step;
  }
  function stepText(step) {
    if (!step) return "raw";
    const s = step / 1000;
    return s < 60 ? `${s} s` : s < 3600 ? `${s / 60} min` : s < 86400 ? `${s / 3600} h` : `${s / 86400} d`;
  }

  // Points as columns for the charts. The JSON answer is fetched, not format=binary: compressed, it is a
  // quarter of the bytes of the float64 columns, and a Pi on Wi-Fi is slower at sending than at formatting.
  async function points(series, from, to, agg = "mean", intervalMs = null) {
    const step = resolution(to - from, intervalMs);
    const query = new URLSearchParams({ from: String(Math.floor(from)), to: String(Math.ceil(to)) });
    if (step) { query.set("step", String(step)); query.set("agg", agg); }
    else query.set("limit", "200000");
    const result = await api(`/api/series/${series}/points?${query}`);
    const n = result.points.length;
    result.times = new Float64Array(n);
    result.values = new Float64Array(n);
    for (let i = 0; i < n; i++) { result.times[i] = result.points[i][0]; result.values[i] = result.points[i][1]; }
    result.stepText = stepText(result.step);
    return result;
  }

  // SAE J2012: two bytes as one number -> P0171.
  function dtcText(code) {
    const a = (code >> 8) & 0xff, b = code & 0xff;
    return "PCBU"[a >> 6] + ((a >> 4) & 3) + (a & 0xf).toString(16).toUpperCase() + b.toString(16).toUpperCase().padStart(2, "0");
  }

  function compassName(deg) {
    const names = ["N", "NNE", "NE", "ENE", "E", "ESE", "SE", "SSE", "S", "SSW", "SW", "WSW", "W", "WNW", "NW", "NNW"];
    return names[Math.floor((deg + 11.25) / 22.5) % 16];
  }

  function el(tag, attrs = {}, ...children) {
    const node = document.createElement(tag);
    for (const [k, v] of Object.entries(attrs)) {
      if (k === "class") node.className = v;
      else if (k.startsWith("on")) node.addEventListener(k.slice(2), v);
      else node.setAttribute(k, v);
    }
    for (const child of children.flat()) node.append(child instanceof Node ? child : document.createTextNode(String(child)));
    return node;
  }

  function header(active) {
    const pages = [["/", "Home"], ["/weather", "Weather"], ["/vehicle", "Vehicle"], ["/explorer", "Explorer"], ["/alerts", "Alerts"], ["/grid", "Grid"]];
    const nav = el("nav", {}, pages.map(([href, text]) => el("a", { href, class: href === active ? "active" : "" }, text)));
    const banner = el("div", { id: "alerts", class: "alerts", "aria-live": "polite" });
    const who = el("span", { class: "who" });
    document.body.prepend(el("header", {}, el("span", { class: "brand" }, "Grid.Edge"), nav, el("span", { class: "conn" }, "connecting…"), who), banner);
    session(who).catch(() => { /* the page's own requests will tell */ });
    const refresh = () => alerts(banner).catch(() => { /* the next round will tell */ });
    refresh();
    setInterval(refresh, 10_000);
  }

  // Who is looking: the admin with a log-out button, or a guest (read-only) with a link to log in.
  async function session(who) {
    const me = await api("/api/session");
    if (me.user) {
      const logout = el("button", { type: "button", class: "link", id: "logout", onclick: async () => {
        loggingOut = true;
        let response;
        try { response = await send("POST", "/api/session/logout"); } catch { response = null; }
        // A refused or lost request leaves the session open: say so rather than show a login page that sends back here.
        if (response && (response.ok || response.status === 401)) { location.assign("/login"); return; }
        loggingOut = false;
        let reason = response ? response.statusText : "the hub did not answer";
        try { reason = (await response.json()).error || reason; } catch { /* not JSON */ }
        who.replaceChildren(el("span", { class: "user" }, me.user), " · ", logout, " ", el("span", { class: "error", id: "logout-error" }, "not logged out: " + reason));
      } }, "Log out");
      who.replaceChildren(el("span", { class: "user" }, me.user), " · ", logout);
    } else {
      who.replaceChildren(el("span", { class: "user" }, "guest (read-only)"), " · ", el("a", { href: "/login?return=" + encodeURIComponent(location.pathname + location.search) }, "Log in"));
    }
  }

  // Active alerts on every page: firing ones first, each with who it is about, since when, and an acknowledge button.
  async function alerts(banner) {
    const { active } = await api("/api/alerts");
    const now = Date.now();
    const order = { critical: 0, warning: 1, info: 2 };
    const rows = active
      .sort((a, b) => (a.state === "firing" ? 0 : 1) - (b.state === "firing" ? 0 : 1) || order[a.severity] - order[b.severity])
      .map(a => el("div", { class: `alert ${a.severity} ${a.state}`, "data-alert": `${a.ruleId}/${a.subject}` },
        el("strong", {}, a.title),
        ` · ${a.subject} · since ${age(now - Date.parse(a.firedAt))}`,
        a.state === "firing"
          ? el("button", { type: "button", onclick: async () => {
              await send("POST", `/api/alerts/${encodeURIComponent(a.ruleId)}/${encodeURIComponent(a.subject)}/ack`);
              await alerts(banner);
            } }, "Acknowledge")
          : el("span", { class: "muted" }, " · acknowledged")));
    banner.replaceChildren(...rows);
  }

  // Devices that report any of the given metrics, preferring ?device= from the address.
  async function pickDevice(metrics, select) {
    const series = await api("/api/series");
    const devices = [...new Set(series.filter(s => metrics.includes(s.metric)).map(s => s.device))].sort();
    const wanted = new URLSearchParams(location.search).get("device");
    select.replaceChildren(...devices.map(d => el("option", { value: d }, d)));
    if (wanted && devices.includes(wanted)) select.value = wanted;
    return { device: select.value || null, series };
  }

  function showError(error) {
    console.error(error);
    const box = document.querySelector("#error") || document.querySelector("main").appendChild(el("p", { id: "error", class: "bad" }));
    box.textContent = "Could not load data: " + error.message;
  }

  window.gridTimings = window.gridTimings || [];
  return { api, send, live, label, unitText, format, age, isStale, staleAfter, resolution, stepText, points, dtcText, compassName, el, header, pickDevice, showError };
})();
