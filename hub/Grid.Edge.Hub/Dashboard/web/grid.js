// The grid page: this hub's identity, its grid, the members and the peers; the admin founds or joins a grid here,
// invites hubs and removes members.
"use strict";

(() => {
  Grid.header("/grid");
  const el = Grid.el;
  const error = document.getElementById("grid-error");

  async function change(method, path, body) {
    error.textContent = "";
    const response = await Grid.send(method, path, body);
    let answer = null;
    try { answer = await response.json(); } catch { /* not JSON */ }
    if (!response.ok) error.textContent = (answer && answer.error) || response.statusText;
    await load();
    return response.ok ? answer : null;
  }

  function ago(at) {
    if (!at) return "never";
    const s = Math.max(0, Math.round((Date.now() - Date.parse(at)) / 1000));
    return s < 60 ? `${s} s ago` : s < 3600 ? `${Math.round(s / 60)} min ago` : `${Math.round(s / 3600)} h ago`;
  }

  function bytes(n) {
    return n < 1024 ? `${n} B` : n < 1048576 ? `${(n / 1024).toFixed(1)} KiB` : `${(n / 1048576).toFixed(1)} MiB`;
  }

  // "2 h 13 min, 41,000 points behind": what this hub holds that the peer lacked at its last version vector.
  function behind(p) {
    if (p.pointsBehind == null || p.behindMs == null) return "not known yet";
    if (p.pointsBehind === 0 && p.behindMs === 0) return "in sync";
    const s = Math.max(0, Math.floor(p.behindMs / 1000));
    const time = s >= 86400 ? `${Math.floor(s / 86400)} d ${Math.floor(s % 86400 / 3600)} h`
      : s >= 3600 ? `${Math.floor(s / 3600)} h ${Math.floor(s % 3600 / 60)} min`
      : s >= 60 ? `${Math.floor(s / 60)} min ${s % 60} s` : `${s} s`;
    return `${time}, ${p.pointsBehind.toLocaleString("en-US")} points behind`;
  }

  function behindClass(p) {
    if (p.pointsBehind == null) return "muted";
    return p.pointsBehind === 0 && p.behindMs === 0 ? "ok" : p.behindMs > 600000 ? "bad" : "";
  }

  function renderPeers(links) {
    const peers = document.getElementById("peers");
    if (!links || links.peers.length === 0) {
      peers.replaceChildren(el("span", { class: "muted" }, links ? `No peer has connected yet (grid port ${links.port}).` : "No grid links."));
      return;
    }
    const body = links.peers.map(p => el("tr", { "data-peer": p.hubId },
      el("td", {}, el("code", {}, p.hubId)),
      el("td", { class: p.state === "up" ? "ok" : "bad" }, p.state),
      el("td", {}, p.address || "address unknown"),
      el("td", {}, ago(p.lastContact)),
      el("td", {}, `${bytes(p.bytesIn)} in, ${bytes(p.bytesOut)} out`),
      el("td", {}, `${p.deltasIn} deltas in` + (p.deltasRefused ? `, ${p.deltasRefused} refused` : "")),
      el("td", { class: behindClass(p), "data-behind": "" }, behind(p))));
    peers.replaceChildren(
      el("p", { class: "muted" }, `Grid port ${links.port} (${links.addresses.join(", ")}): ${links.deltasAuthored} deltas sent from this hub, ${links.deltasApplied} taken from peers` +
        (links.deltasHeld ? `, ${links.deltasHeld} held back (a peer's clock is too far ahead of this hub's: --grid-max-skew).` : ".")),
      el("table", { class: "list" },
        el("thead", {}, el("tr", {}, ["hub", "link", "address", "last heard", "traffic", "deltas", "behind"].map(h => el("th", {}, h)))),
        el("tbody", {}, body)));
  }

  function render({ hub, grid, links }) {
    renderPeers(links);
    const rows = [["hub id", el("code", { id: "hub-id" }, hub.id)], ["public key", el("code", {}, hub.publicKey)]];
    if (grid.id) rows.push(["grid", el("span", { id: "grid-name-shown" }, el("strong", {}, grid.name), " ", el("code", {}, grid.id))]);
    if (grid.id && !grid.isMember) rows.push(["", el("span", { class: "bad" }, "This hub was removed from the grid: it keeps what it holds and takes no part.")]);
    if (grid.pendingRecords > 0) rows.push(["", el("span", { class: "muted" }, `${grid.pendingRecords} control record(s) wait for records not received yet`)]);
    document.getElementById("hub").replaceChildren(el("table", { class: "list" }, el("tbody", {}, rows.map(([k, v]) => el("tr", {}, el("th", {}, k), el("td", {}, v))))));

    document.getElementById("create").hidden = !!grid.id;
    document.getElementById("invite").hidden = !(grid.id && grid.isMember);
    const members = document.getElementById("members");
    if (!grid.id) {
      members.replaceChildren(el("span", { class: "muted" }, "This hub belongs to no grid yet."));
      return;
    }
    const writes = m => m.writablePrefixes.some(p => p === "") ? "every series" : m.writablePrefixes.map(p => p + "*").join(", ");
    const body = grid.members.map(m => el("tr", { "data-member": m.hubId },
      el("td", {}, el("code", {}, m.hubId)),
      el("td", {}, [m.isThisHub ? "this hub" : "", m.isRoot ? "founder" : ""].filter(Boolean).join(", ")),
      el("td", {}, writes(m)),
      el("td", {}, grid.isMember ? el("button", { type: "button", class: "danger", onclick: () => {
        const what = m.isThisHub ? "Leave the grid? This hub stops taking part until it is invited again." : `Remove hub ${m.hubId} from the grid? It is cut off by every member that hears of it.`;
        if (confirm(what)) change("DELETE", `/api/grid/members/${encodeURIComponent(m.hubId)}`);
      } }, m.isThisHub ? "Leave" : "Remove") : "")));
    members.replaceChildren(el("table", { class: "list" },
      el("thead", {}, el("tr", {}, ["hub", "", "writes", ""].map(h => el("th", {}, h)))),
      el("tbody", {}, body)));
  }

  async function load() {
    try {
      render(await Grid.api("/api/grid"));
    } catch (e) {
      Grid.showError(e);
    }
  }

  document.getElementById("create-form").addEventListener("submit", event => {
    event.preventDefault();
    change("POST", "/api/grid", { name: document.getElementById("grid-name").value });
  });
  document.getElementById("join-form").addEventListener("submit", async event => {
    event.preventDefault();
    const button = event.submitter;
    button.disabled = true;
    button.textContent = "Joining…";
    try {
      await change("POST", "/api/grid/join", { code: document.getElementById("join-code").value.trim() });
    } finally {
      button.disabled = false;
      button.textContent = "Join a grid";
    }
  });
  document.getElementById("invite-button").addEventListener("click", async () => {
    const answer = await change("POST", "/api/grid/invitations", { minutes: Number(document.getElementById("invite-minutes").value) });
    const shown = document.getElementById("invite-code");
    shown.hidden = !answer;
    if (answer) shown.textContent = `${answer.code}\n\nvalid once, until ${new Date(answer.expiresAt).toLocaleString()}`;
  });
  load();
  setInterval(load, 5_000);
})();
