// The grid page: this hub's identity, its grid and the members; the admin founds a grid here or removes members.
"use strict";

(() => {
  Grid.header("/grid");
  const el = Grid.el;
  const error = document.getElementById("grid-error");

  async function change(method, path, body) {
    error.textContent = "";
    const response = await Grid.send(method, path, body);
    if (!response.ok) {
      let reason = response.statusText;
      try { reason = (await response.json()).error || reason; } catch { /* not JSON */ }
      error.textContent = reason;
    }
    await load();
  }

  function render({ hub, grid }) {
    const rows = [["hub id", el("code", { id: "hub-id" }, hub.id)], ["public key", el("code", {}, hub.publicKey)]];
    if (grid.id) rows.push(["grid", el("span", { id: "grid-name-shown" }, el("strong", {}, grid.name), " ", el("code", {}, grid.id))]);
    if (grid.id && !grid.isMember) rows.push(["", el("span", { class: "bad" }, "This hub was removed from the grid: it keeps what it holds and takes no part.")]);
    if (grid.pendingRecords > 0) rows.push(["", el("span", { class: "muted" }, `${grid.pendingRecords} control record(s) wait for records not received yet`)]);
    document.getElementById("hub").replaceChildren(el("table", { class: "list" }, el("tbody", {}, rows.map(([k, v]) => el("tr", {}, el("th", {}, k), el("td", {}, v))))));

    document.getElementById("create").hidden = !!grid.id;
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
  load();
  setInterval(load, 10_000);
})();
