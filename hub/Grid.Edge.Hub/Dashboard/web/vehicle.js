// Vehicle: live gauges, last contact, trouble codes and trip charts.
"use strict";

(() => {
  Grid.header("/vehicle");
  const H = 3_600_000;
  const GAUGES = [
    { metric: "rpm", min: 0, max: 6000, alarm: v => v > 5000 },
    { metric: "speed", min: 0, max: 160, alarm: () => false },
    { metric: "coolant_temp", min: 40, max: 130, alarm: v => v > 110 },
    { metric: "battery_voltage", min: 10, max: 16, alarm: v => v < 11.8 || v > 15 },
    { metric: "fuel_level", min: 0, max: 100, alarm: v => v < 15 },
    { metric: "engine_load", min: 0, max: 100, alarm: () => false },
  ];
  const RANGES = { "1 h": H, "6 h": 6 * H, "24 h": 24 * H, "7 d": 7 * 24 * H };
  const CHARTS = [
    { title: "Speed", metrics: ["speed"] },
    { title: "Engine speed", metrics: ["rpm"] },
    { title: "Coolant", metrics: ["coolant_temp"] },
    { title: "Battery", metrics: ["battery_voltage"] },
    { title: "Fuel", metrics: ["fuel_level"] },
  ];
  const select = document.getElementById("device");
  const gaugesBox = document.getElementById("gauges");
  const contact = document.getElementById("contact");
  const chartsBox = document.getElementById("charts");
  let device = null;
  let latest = new Map();
  let status = null;

  const ARC = 240, R = 70, CIRC = 2 * Math.PI * R * ARC / 360;
  function arcPath() {
    const start = (90 + (360 - ARC) / 2) * Math.PI / 180, end = start + ARC * Math.PI / 180;
    const p = a => `${100 + R * Math.cos(a)} ${100 + R * Math.sin(a)}`;
    return `M ${p(start)} A ${R} ${R} 0 1 1 ${p(end)}`;
  }

  function gauge(spec) {
    const s = latest.get(spec.metric);
    const stale = !s || Grid.isStale(s.latest.t, s.intervalMs);
    const v = s?.latest.v;
    const fraction = v == null ? 0 : Math.min(1, Math.max(0, (v - spec.min) / (spec.max - spec.min)));
    const ns = "http://www.w3.org/2000/svg";
    const svg = document.createElementNS(ns, "svg");
    svg.setAttribute("viewBox", "0 0 200 170");
    const make = (tag, attrs, text) => {
      const node = document.createElementNS(ns, tag);
      for (const [k, val] of Object.entries(attrs)) node.setAttribute(k, val);
      if (text != null) node.textContent = text;
      svg.append(node);
    };
    make("path", { d: arcPath(), class: "track" });
    make("path", { d: arcPath(), class: "bar", "stroke-dasharray": `${CIRC}`, "stroke-dashoffset": `${CIRC * (1 - fraction)}` });
    make("text", { x: 100, y: 108, "text-anchor": "middle", class: "reading" }, v == null ? "–" : Grid.format(v, s.unit).split(" ")[0]);
    make("text", { x: 100, y: 130, "text-anchor": "middle", class: "unit" }, s ? Grid.unitText(s.unit) : "");
    return Grid.el("div", { class: "card gauge" + (stale ? " stale" : "") + (v != null && spec.alarm(v) ? " alarm" : ""), "data-metric": spec.metric },
      Grid.el("div", { class: "label" }, Grid.label(spec.metric)), svg,
      Grid.el("div", { class: "sub age muted" }, s ? `${Grid.age(Date.now() - s.latest.t)} ago` : "no data"));
  }

  function render() {
    gaugesBox.replaceChildren(...GAUGES.map(gauge));
    const heard = Math.max(0, ...[...latest.values()].map(s => s.latest.t));
    contact.replaceChildren(
      Grid.el("span", { class: "badge " + (status || "unknown") }, status || "unknown"),
      heard ? ` last contact ${Grid.age(Date.now() - heard)} ago (${new Date(heard).toLocaleString()})` : " never heard from");
  }

  async function loadLatest() {
    const [series, devices] = await Promise.all([Grid.api("/api/series"), Grid.api("/api/devices")]);
    latest = new Map(series.filter(s => s.device === device).map(s => [s.metric, s]));
    status = devices.find(d => d.device === device)?.status ?? null;
    render();
  }

  const BATTERY_WORDS = {
    Good: "good", RechargeSoon: "recharge soon", Low: "low: it may not start the engine", Critical: "flat: starting at risk",
    Charging: "charging normally", Undercharging: "not charging enough (alternator, belt or regulator?)", Overcharging: "overcharging (regulator fault?)",
  };

  async function loadDtcs() {
    const box = document.getElementById("dtcs");
    const info = await Grid.api(`/api/vehicle/${device}/now`);
    const b = info.battery;
    const battery = b ? Grid.el("div", { class: "battery-health", "data-verdict": b.verdict },
      `Battery ${b.volts.toFixed(2)} V · `,
      b.engineRunning ? `engine running: ${BATTERY_WORDS[b.verdict] ?? b.verdict}` : `at rest: about ${b.stateOfCharge} % charged (${BATTERY_WORDS[b.verdict] ?? b.verdict})`) : "";
    if (info.codes.length === 0) {
      box.replaceChildren(battery, Grid.el("span", { class: "muted" }, "No trouble codes reported."));
      return;
    }
    const rows = info.codes.map(c =>
      Grid.el("li", { "data-dtc": c.code, class: "severity-" + c.severity + (c.clearedAt ? " cleared" : "") }, Grid.el("code", {}, c.code), " ",
        Grid.el("span", { class: "description" }, c.description),
        Grid.el("span", { class: "muted" }, ` · ${c.severity} · first ${new Date(c.firstSeen).toLocaleString()} · last ${new Date(c.lastSeen).toLocaleString()} · ${c.times}×`),
        c.clearedAt ? Grid.el("span", { class: "cleared-at" }, ` · cleared ${new Date(c.clearedAt).toLocaleString()}`) : ""));
    const count = latest.get("dtc_count")?.latest.v;
    box.replaceChildren(battery, Grid.el("div", { class: "muted" }, count != null ? `${count} stored now · codes of the last 30 days:` : "Codes of the last 30 days:"),
      Grid.el("ul", { class: "dtcs" }, rows));
  }

  // Maintenance: the hub's odometer (anchored once from the dashboard), engine hours, and the service items.
  const STATUS_WORDS = { ok: "ok", dueSoon: "due soon", due: "due", overdue: "overdue" };
  async function loadService(data) {
    const box = document.getElementById("service");
    const s = data ?? await Grid.api(`/api/vehicle/${device}/service`);
    const send = async (method, path, body) => {
      const response = await Grid.send(method, path, body);
      if (response.ok) await loadService(await response.json());
      else Grid.showError(new Error((await response.json().catch(() => ({}))).error || response.statusText));
    };
    const number = (attrs) => Grid.el("input", { type: "number", min: "0", step: "1", ...attrs });
    const input = number({ placeholder: "dashboard km", "aria-label": "odometer in km", id: "odometer-km" });
    const anchor = Grid.el("form", { class: "toolbar", onsubmit: e => { e.preventDefault(); send("POST", `/api/vehicle/${device}/odometer`, { km: Number(input.value) }); } },
      input, Grid.el("button", { type: "submit" }, s.odometerKm == null ? "Set odometer" : "Correct odometer"));
    const interval = item => [item.intervalKm ? `${Grid.format(item.intervalKm, "km")}` : "", item.intervalDays ? `${Math.round(item.intervalDays / 30.4)} months` : ""].filter(Boolean).join(" / ");

    // Name and intervals of an item (new when item is null): km and months, either may be left empty.
    function editor(item, done) {
      const name = Grid.el("input", { value: item?.name ?? "", placeholder: "name", "aria-label": "service item name", required: "" });
      const km = number({ value: item?.intervalKm ?? "", placeholder: "km", "aria-label": "interval in km", class: "short" });
      const months = number({ value: item?.intervalDays ? Math.round(item.intervalDays / 30.4) : "", placeholder: "months", "aria-label": "interval in months", class: "short" });
      const id = item?.id ?? null;
      return Grid.el("form", { class: "toolbar service-editor", onsubmit: e => {
          e.preventDefault();
          const itemId = id ?? name.value.trim().toLowerCase().replace(/[^a-z0-9]+/g, "-").replace(/^-|-$/g, "").slice(0, 40);
          send("PUT", `/api/vehicle/${device}/service/${itemId}`, {
            name: name.value, intervalKm: km.value ? Number(km.value) : null, intervalDays: months.value ? Math.round(Number(months.value) * 30.4) : null });
        } },
        name, km, months, Grid.el("button", { type: "submit" }, "Save"),
        item ? Grid.el("button", { type: "button", onclick: () => send("DELETE", `/api/vehicle/${device}/service/${item.id}`) }, "Remove") : "",
        Grid.el("button", { type: "button", onclick: done }, "Cancel"));
    }

    const rows = s.items.map(item => {
      const row = Grid.el("tr", { "data-service": item.id, class: "service-" + item.status },
        Grid.el("td", {}, item.name),
        Grid.el("td", {}, interval(item)),
        Grid.el("td", {}, item.doneOn ? `done ${item.doneOn}${item.doneAtKm != null ? " at " + Grid.format(item.doneAtKm, "km") : ""}` : "never recorded"),
        Grid.el("td", { class: "status" }, item.doneOn ? STATUS_WORDS[item.status] : "–"),
        Grid.el("td", { class: "actions" },
          Grid.el("button", { type: "button", onclick: () => send("POST", `/api/vehicle/${device}/service/${item.id}/done`, {}) }, "Done today"),
          Grid.el("button", { type: "button", class: "link", onclick: () => {
            const cell = Grid.el("td", { colspan: "5" }, editor(item, () => loadService(s)));
            row.replaceChildren(cell);
          } }, "edit")));
      return row;
    });
    const adder = Grid.el("button", { type: "button", class: "link", id: "add-service", onclick: () => adder.replaceWith(editor(null, () => loadService(s))) }, "add a service item");
    box.replaceChildren(
      Grid.el("div", { class: "muted", id: "odometer" }, s.odometerKm == null ? "Odometer not set yet: enter the dashboard reading once; the hub counts on from there." : `Odometer ${Grid.format(s.odometerKm, "km")} · engine ${s.engineHours.toFixed(1)} h`),
      anchor,
      Grid.el("table", { class: "values service" }, Grid.el("tbody", {}, rows)),
      adder);
  }

  // The odometer moves with every few readings: refresh the maintenance card at most every 10 s, and never under
  // someone typing an odometer reading.
  const SERVICE_METRICS = new Set(["virtual_odometer", "engine_hours", "service_due"]);
  let serviceRefreshed = 0;
  function refreshService() {
    const input = document.getElementById("odometer-km");
    const editing = document.querySelector("#service .service-editor");
    if (Date.now() - serviceRefreshed < 10_000 || editing || (input && (input.value || document.activeElement === input))) return;
    serviceRefreshed = Date.now();
    loadService().catch(Grid.showError);
  }

  const panel = GridChart.panel({
    chartsBox, rangeBox: document.getElementById("ranges"), ranges: RANGES, range: RANGES["6 h"], specs: CHARTS,
    series: () => latest, device: () => device, height: 180,
  });

  async function start() {
    ({ device } = await Grid.pickDevice(["rpm", "speed", "coolant_temp"], select));
    if (!device) {
      gaugesBox.replaceChildren(Grid.el("p", { class: "muted" }, "No vehicle has reported yet. Run the demo (hub/Grid.Edge.Demo) to see one."));
      return;
    }
    await loadLatest();
    await Promise.all([loadDtcs(), loadService(), panel.load()]);
  }

  select.addEventListener("change", () => {
    history.replaceState(null, "", `?device=${encodeURIComponent(select.value)}`);
    device = select.value;
    loadLatest().then(() => Promise.all([loadDtcs(), loadService(), panel.load()])).catch(Grid.showError);
  });

  Grid.live("", reading => {
    if (reading.device !== device) return;
    const s = latest.get(reading.metric);
    if (s) { if (reading.t >= s.latest.t) s.latest = { t: reading.t, v: reading.v }; }
    else latest.set(reading.metric, { metric: reading.metric, unit: reading.unit, latest: { t: reading.t, v: reading.v }, intervalMs: null });
    if (reading.metric === "dtc" || reading.metric === "dtc_count") loadDtcs().catch(Grid.showError);
    if (SERVICE_METRICS.has(reading.metric)) refreshService();
    panel.onReading(reading);
    render();
  });

  start().catch(Grid.showError);
  setInterval(render, 1000);
  setInterval(() => loadLatest().catch(Grid.showError), 30_000);
})();
