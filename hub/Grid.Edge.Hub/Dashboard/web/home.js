// Home: every device, its status, when it was last heard from, its latest values and its rejections.
"use strict";

(() => {
  Grid.header("/");
  const container = document.getElementById("devices");
  const summary = document.getElementById("summary");
  let devices = [];
  let series = new Map(); // id -> series from /api/series, kept current by the live stream

  async function load() {
    const [deviceList, seriesList] = await Promise.all([Grid.api("/api/devices"), Grid.api("/api/series")]);
    devices = deviceList;
    series = new Map(seriesList.map(s => [s.id, s]));
    render();
  }

  function lastHeard(device) {
    let t = device.lastSeen ? Date.parse(device.lastSeen) : 0;
    for (const s of series.values()) if (s.device === device.device) t = Math.max(t, s.latest.t);
    return t;
  }

  function render() {
    const now = Date.now();
    const names = new Set([...devices.map(d => d.device), ...[...series.values()].map(s => s.device)]);
    const cards = [...names].sort().map(name => {
      const device = devices.find(d => d.device === name) || { device: name, status: null, rejections: 0 };
      const status = device.status || "unknown";
      const rows = [...series.values()].filter(s => s.device === name).sort((a, b) => a.metric.localeCompare(b.metric)).map(s => {
        const stale = Grid.isStale(s.latest.t, s.intervalMs, now);
        const value = s.metric === "dtc" ? Grid.dtcText(s.latest.v) : Grid.format(s.latest.v, s.unit);
        return Grid.el("tr", { class: stale ? "stale" : "", "data-series": s.id },
          Grid.el("td", {}, Grid.label(s.metric)),
          Grid.el("td", { class: "v" }, value),
          Grid.el("td", { class: "age" + (stale ? " stale" : "") }, Grid.age(now - s.latest.t)));
      });
      const heard = lastHeard(device);
      return Grid.el("div", { class: "card device", "data-device": name },
        Grid.el("h3", {}, Grid.el("span", {}, name), Grid.el("span", { class: "badge " + status }, status)),
        Grid.el("div", { class: "muted" }, heard ? `last seen ${Grid.age(now - heard)} ago` : "never seen",
          device.rejections ? Grid.el("span", { class: "bad" }, ` · ${device.rejections} rejected`) : ""),
        agentLine(device, now),
        Grid.el("table", { class: "values" }, Grid.el("tbody", {}, rows)));
    });
    container.replaceChildren(...cards);
    const online = devices.filter(d => d.status === "online").length;
    summary.textContent = `${names.size} devices, ${online} online, ${series.size} series.`;
  }

  // An agent's own report: link to the hub, readings waiting in its outbox and how old the oldest is, drops, last error.
  function agentLine(device, now) {
    const a = device.agent;
    if (!a) return "";
    const waiting = a.outboxReadings > 0
      ? `${a.outboxReadings} waiting${a.oldestUnsentMs ? `, oldest ${Grid.age(now - a.oldestUnsentMs)}` : ""}`
      : "outbox empty";
    return Grid.el("div", { class: "agent muted", "data-agent": a.link },
      `agent ${a.link} · ${waiting}`,
      a.vehicle ? ` · vehicle ${a.vehicle}` : "",
      a.droppedReadings ? Grid.el("span", { class: "bad" }, ` · ${a.droppedReadings} dropped`) : "",
      a.lastError ? Grid.el("div", { class: "bad agent-error" }, a.lastError) : "");
  }

  Grid.live("", reading => {
    const s = series.get(reading.series);
    if (s) s.latest = { t: Math.max(s.latest.t, reading.t), v: reading.t >= s.latest.t ? reading.v : s.latest.v };
    else series.set(reading.series, { id: reading.series, device: reading.device, metric: reading.metric, unit: reading.unit, latest: { t: reading.t, v: reading.v }, intervalMs: null });
    scheduleRender();
  });

  let renderQueued = false;
  function scheduleRender() {
    if (renderQueued) return;
    renderQueued = true;
    requestAnimationFrame(() => { renderQueued = false; render(); });
  }

  // Pairing: a one-time code for a device to exchange for its own credentials (grid-agent pair <hub> <code>).
  document.getElementById("pair").addEventListener("submit", async event => {
    event.preventDefault();
    const result = document.getElementById("pair-result");
    const device = document.getElementById("pair-device").value.trim();
    const response = await Grid.send("POST", "/api/pairing/codes", device ? { device } : {});
    const body = await response.json().catch(() => ({}));
    if (!response.ok) {
      result.replaceChildren(Grid.el("span", { class: "bad" }, body.error || response.statusText));
      return;
    }
    const until = new Date(body.expiresAt).toLocaleTimeString();
    result.replaceChildren(
      Grid.el("strong", { class: "pair-code" }, body.code),
      ` valid until ${until}${body.device ? " for " + body.device : ""} · on the device: `,
      Grid.el("code", {}, `grid-agent pair ${location.origin} ${body.code}${body.device ? "" : " --device <id>"}`));
  });

  // Storage: what the readings take on disk and how hard the hub works the SD card (bytes written per reading),
  // memory, checkpoints, retention, and the series taking the most room.
  function bytes(n) {
    if (n == null) return "?";
    const units = ["B", "KB", "MB", "GB", "TB"];
    let i = 0;
    while (n >= 1000 && i < units.length - 1) { n /= 1000; i++; }
    return `${n >= 100 || i === 0 ? Math.round(n) : n.toFixed(1)} ${units[i]}`;
  }

  function days(d) { return d == null ? "forever" : d >= 365 && d % 365 === 0 ? `${d / 365} y` : `${d} d`; }

  async function loadStorage() {
    const [storage, health, grid] = await Promise.all([Grid.api("/api/storage"), Grid.api("/api/health"), Grid.api("/api/grid")]);
    const box = document.getElementById("storage");
    const checkpoint = storage.lastCheckpoint ? `${Grid.age(Date.now() - Date.parse(storage.lastCheckpoint))} ago` : "not yet";
    const facts = [
      ["this hub", grid.hub.id, "hub"],
      ["points stored", storage.points.toLocaleString("en-US"), "points"],
      ["on disk", `${bytes(storage.bytesOnDisk)} (${storage.bytesOnDiskPerPoint} B/point)`, "disk"],
      ["written per reading", storage.bytesWrittenPerReading == null ? "—" : `${storage.bytesWrittenPerReading} B`, "written"],
      ["last checkpoint", `${checkpoint} · ${storage.openPoints.toLocaleString("en-US")} points waiting`, "checkpoint"],
      ["hub memory", health.memory ? `${Math.round(health.memory.residentMb)} MB` : "?", "memory"],
      ["dropped by retention", `${storage.droppedChunks} chunks, ${storage.droppedPoints.toLocaleString("en-US")} points`, "dropped"],
    ];
    const rules = storage.retention.map(r => `${r.pattern}: raw ${days(r.rawDays)}, 1-min ${days(r.minuteDays)}, 1-h ${days(r.hourDays)}`).join(" · ");
    const top = [...storage.series].sort((a, b) => b.rawBytes - a.rawBytes).slice(0, 10);
    box.replaceChildren(
      Grid.el("table", { class: "values" }, Grid.el("tbody", {}, facts.map(([label, value, key]) =>
        Grid.el("tr", { "data-storage": key }, Grid.el("td", {}, label), Grid.el("td", { class: "v" }, value))))),
      Grid.el("p", { class: "muted" }, "retention ", rules, storage.origin && storage.origin !== grid.hub.id ? ` · store ${storage.origin}` : ""),
      top.length ? Grid.el("table", { class: "values", id: "storage-series" },
        Grid.el("thead", {}, Grid.el("tr", {}, ["series", "points", "on disk", "B/point", "1-min rows", "1-h rows"].map(h => Grid.el("th", {}, h)))),
        Grid.el("tbody", {}, top.map(s => Grid.el("tr", { "data-series-storage": s.id },
          Grid.el("td", {}, s.id), Grid.el("td", { class: "v" }, s.rawPoints.toLocaleString("en-US")), Grid.el("td", { class: "v" }, bytes(s.rawBytes)),
          Grid.el("td", { class: "v" }, String(s.bytesPerPoint)), Grid.el("td", { class: "v" }, String(s.minuteRollups)), Grid.el("td", { class: "v" }, String(s.hourRollups))))))
        : Grid.el("p", { class: "muted" }, "Nothing in the chunk store yet: readings wait in the log until the first checkpoint."));
  }

  // Exports (Hub:Exports): each one's state, last success, how far behind it is and its last error; hidden when none.
  async function loadExports() {
    const exports = await Grid.api("/api/exports");
    document.getElementById("exports-section").hidden = exports.length === 0;
    const now = Date.now();
    document.getElementById("exports").replaceChildren(Grid.el("table", { class: "values", id: "exports-table" },
      Grid.el("thead", {}, Grid.el("tr", {}, ["export", "target", "state", "last success", "behind", "last error"].map(h => Grid.el("th", {}, h)))),
      Grid.el("tbody", {}, exports.map(e => Grid.el("tr", { "data-export": e.name },
        Grid.el("td", {}, `${e.name} (${e.kind})`),
        Grid.el("td", {}, e.target),
        Grid.el("td", { class: "state" + (e.lastError ? " bad" : "") }, e.state),
        Grid.el("td", { class: "success" }, e.lastSuccess ? `${Grid.age(now - Date.parse(e.lastSuccess))} ago` : "never"),
        Grid.el("td", { class: "lag v" }, e.lagPoints === 0 ? "in step" : `${e.lagPoints.toLocaleString("en-US")} points, ${Grid.age(e.lagMs)}`),
        Grid.el("td", { class: "error bad" }, e.lastError || ""))))));
  }

  load().catch(Grid.showError);
  loadStorage().catch(Grid.showError);
  loadExports().catch(Grid.showError);
  setInterval(() => loadExports().catch(Grid.showError), 5_000);
  setInterval(() => load().catch(Grid.showError), 15_000);
  setInterval(() => loadStorage().catch(Grid.showError), 30_000);
  setInterval(render, 1000);
})();
