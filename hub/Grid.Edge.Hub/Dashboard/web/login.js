// The login page: signs the admin in (or, on the hub's own machine before any admin exists, sets the password).
"use strict";

(() => {
  const status = document.getElementById("login-status");
  const form = document.getElementById("login-form");
  const error = document.getElementById("login-error");
  const password = document.getElementById("password");
  const again = document.getElementById("password-again");

  // Back to where the reader came from, but only to a page of this hub.
  const wanted = new URLSearchParams(location.search).get("return") || "/";
  const target = wanted.startsWith("/") && !wanted.startsWith("//") && !wanted.startsWith("/\\") ? wanted : "/";

  async function post(path, body) {
    const response = await Grid.send("POST", path, body);
    const answer = await response.json().catch(() => ({}));
    return { ok: response.ok, error: answer.error || response.statusText };
  }

  async function start() {
    const me = await Grid.api("/api/session");
    if (me.user) { location.replace(target); return; }
    document.getElementById("guest").hidden = !me.guestView;
    const setup = me.setup === "here";
    if (me.setup === "elsewhere") {
      status.textContent = "No admin password is set yet. Open this page on the hub's own machine (http://localhost:<port>), or run 'Grid.Edge.Hub admin set-password' there.";
      return;
    }

    status.textContent = setup
      ? "First run: choose the admin password (at least 8 characters). Only this machine may do this."
      : "Log in as the admin to change things; your session ends when the password changes.";
    for (const node of document.querySelectorAll(".setup-only")) node.hidden = !setup;
    again.required = setup;
    password.autocomplete = setup ? "new-password" : "current-password";
    document.getElementById("login-submit").textContent = setup ? "Set password and log in" : "Log in";
    form.hidden = false;
    password.focus();
    form.addEventListener("submit", async event => {
      event.preventDefault();
      error.textContent = "";
      if (setup && password.value !== again.value) { error.textContent = "The two passwords differ."; return; }
      const result = await post(setup ? "/api/session/setup" : "/api/session/login", { password: password.value });
      if (result.ok) location.replace(target);
      else { error.textContent = result.error; password.select(); }
    });
  }

  start().catch(e => { status.textContent = "Could not reach the hub: " + e.message; });
})();
