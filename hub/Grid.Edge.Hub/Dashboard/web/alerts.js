// Alerts: what is active now (acknowledge it here), what happened before, the rules in force and the push log.
"use strict";

(() => {
  Grid.header("/alerts");
  const el = Grid.el;
  const when = iso => iso ? new Date(iso).toLocaleString() : "–";
  const lasted = (from, to) => Grid.age(Date.parse(to) - Date.parse(from));
  const values = a => Object.entries(a.values ?? {}).map(([k, v]) => `${k} ${Number.isInteger(v) ? v : v.toFixed(2)}`).join(", ");
  const severityBadge = s => el("span", { class: `badge ${s}` }, s);
  let data = null;

  function table(headings, rows, empty) {
    if (rows.length === 0) return el("span", { class: "muted" }, empty);
    return el("table", { class: "list" }, el("thead", {}, el("tr", {}, headings.map(h => el("th", {}, h)))), el("tbody", {}, rows));
  }

  function renderActive() {
    const now = Date.now();
    const rows = data.active.map(a => el("tr", { "data-alert": `${a.ruleId}/${a.subject}`, class: a.state },
      el("td", {}, severityBadge(a.severity)),
      el("td", {}, el("strong", {}, a.title), el("div", { class: "muted" }, values(a))),
      el("td", {}, a.subject),
      el("td", {}, `${when(a.firedAt)} (${Grid.age(now - Date.parse(a.firedAt))} ago)`),
      el("td", { class: "state" }, a.state === "acknowledged" ? `acknowledged ${when(a.acknowledgedAt)}` : el("button", { type: "button", onclick: () => acknowledge(a) }, "Acknowledge"))));
    document.getElementById("active").replaceChildren(table(["", "alert", "device", "since", ""], rows, "Nothing needs attention."));
  }

  function renderHistory() {
    const severity = document.getElementById("severity").value;
    const subject = document.getElementById("subject").value;
    const shown = data.history.filter(a => (!severity || a.severity === severity) && (!subject || a.subject === subject));
    document.getElementById("history-count").textContent = `${shown.length} of the ${data.history.length} most recent`;
    const rows = shown.map(a => el("tr", { "data-history": `${a.ruleId}/${a.subject}` },
      el("td", {}, severityBadge(a.severity)),
      el("td", {}, a.title, el("div", { class: "muted" }, values(a))),
      el("td", {}, a.subject),
      el("td", {}, when(a.firedAt)),
      el("td", {}, `${when(a.resolvedAt)} · lasted ${lasted(a.firedAt, a.resolvedAt)}`),
      el("td", {}, a.acknowledgedAt ? `seen ${when(a.acknowledgedAt)}` : "not acknowledged")));
    document.getElementById("history").replaceChildren(table(["", "alert", "device", "fired", "resolved", ""], rows, "No alert has resolved yet."));
  }

  function renderRules() {
    const rows = data.rules.map(r => el("tr", { "data-rule": r.id },
      el("td", {}, el("code", {}, r.id)), el("td", {}, severityBadge(r.severity)), el("td", {}, r.title),
      el("td", {}, el("code", { class: "expr" }, r.noDataForMinutes ? `no data for ${r.noDataForMinutes} min` : r.when)),
      el("td", {}, r.clearWhen ? el("code", { class: "expr" }, r.clearWhen) : "when it stops holding"),
      el("td", {}, r.forSeconds ? `${Grid.age(r.forSeconds * 1000)}` : "at once"),
      el("td", {}, r.devices)));
    document.getElementById("rules").replaceChildren(table(["rule", "", "title", "fires when", "clears when", "held for", "devices"], rows, "No rules."));
  }

  async function renderDeliveries() {
    const log = await Grid.api("/api/alerts/deliveries");
    const box = document.getElementById("deliveries");
    if (log.webhooks.length === 0) {
      box.replaceChildren(el("span", { class: "muted" }, "No webhooks configured: alerts stay on this hub (and its MQTT topics grid/alerts/…). Add notifications.json to push them to a phone."));
      return;
    }
    const rows = log.deliveries.slice(0, 50).map(d => el("tr", { class: d.delivered ? "" : "failed" },
      el("td", {}, when(d.at)), el("td", {}, d.webhook), el("td", {}, `${d.ruleId} · ${d.subject} · ${d.state}`), el("td", {}, `attempt ${d.attempt}`), el("td", {}, d.outcome)));
    box.replaceChildren(el("div", { class: "muted" }, `Webhooks: ${log.webhooks.map(w => `${w.name} (${w.severities.join(", ")})`).join(" · ")}`),
      table(["when", "webhook", "alert", "", "outcome"], rows, "Nothing sent yet."));
  }

  async function acknowledge(a) {
    const response = await Grid.send("POST", `/api/alerts/${encodeURIComponent(a.ruleId)}/${encodeURIComponent(a.subject)}/ack`);
    if (!response.ok) Grid.showError(new Error((await response.json().catch(() => ({}))).error || response.statusText));
    await load();
  }

  async function load() {
    data = await Grid.api("/api/alerts?history=500");
    const subjects = [...new Set(data.history.map(a => a.subject))].sort();
    const select = document.getElementById("subject");
    const chosen = select.value;
    select.replaceChildren(el("option", { value: "" }, "all"), ...subjects.map(s => el("option", { value: s }, s)));
    select.value = subjects.includes(chosen) ? chosen : "";
    renderActive();
    renderHistory();
    renderRules();
  }

  document.getElementById("severity").addEventListener("change", renderHistory);
  document.getElementById("subject").addEventListener("change", renderHistory);
  Promise.all([load(), renderDeliveries()]).catch(Grid.showError);
  setInterval(() => load().catch(Grid.showError), 10_000);
})();
