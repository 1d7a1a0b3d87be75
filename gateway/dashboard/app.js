// The Zunray dashboard: plain JavaScript, no libraries, data only from the API (charts in charts.js).
"use strict";

const state = { mode: "noauth", token: sessionStorage.getItem("zunray-token"), job: null };
const $ = (sel) => document.querySelector(sel);

class LoggedOut extends Error {}

async function api(path, { method = "GET", body, zun = false, text = false } = {}) {
  const headers = {};
  if (state.mode === "keystone") headers["X-Auth-Token"] = state.token || "";
  else headers["X-Project-Id"] = $("#project").value || "default";
  if (zun) headers["OpenStack-API-Version"] = "container 1.40";
  if (body !== undefined) headers["Content-Type"] = "application/json";
  const resp = await fetch(path, { method, headers, body: body === undefined ? undefined : JSON.stringify(body) });
  if (resp.status === 401) throw new LoggedOut("expired");
  if (!resp.ok) {
    let detail = resp.statusText;
    try { detail = (await resp.json()).errors[0].detail; } catch (e) { /* not our error shape */ }
    throw new Error(`${resp.status}: ${detail}`);
  }
  return text ? resp.text() : resp.json();
}

function el(tag, attrs = {}, ...children) {
  const node = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs)) {
    if (k === "class") node.className = v;
    else if (k.startsWith("data-")) node.setAttribute(k, v);
    else node[k] = v;
  }
  for (const c of children) node.append(c instanceof Node ? c : document.createTextNode(c ?? ""));
  return node;
}

function bar(used, total, kind) {
  const pct = total > 0 ? Math.min(100, (100 * used) / total) : 0;
  return el("div", { class: `bar ${kind}`, title: `${used.toFixed(2)} of ${total}` }, el("div", { style: `width:${pct}%` }));
}

function showLogin(note) {
  $("#app").hidden = true;
  $("#logout").hidden = true;
  $("#login").hidden = false;
  if (note) $("#login-note").textContent = note;
}

function showApp() {
  $("#login").hidden = true;
  $("#app").hidden = false;
  $("#logout").hidden = state.mode !== "keystone";
  $("#project-pick").hidden = state.mode === "keystone";
}

async function renderHosts() {
  const box = $("#hosts");
  let hosts;
  try { hosts = (await api("/v1/cluster/hosts")).hosts; } catch (e) {
    if (e instanceof LoggedOut) throw e;
    box.replaceChildren(el("p", {}, "Hosts are shown to admins."));
    return;
  }
  box.replaceChildren(...hosts.map((h) => {
    const ok = h.up && h.docker_ok && h.enabled;
    const pages = Object.entries(h.hugepages || {}).filter(([, n]) => n).map(([s, n]) => `${n}×${s}`).join(", ");
    return el("div", { class: `host${ok ? "" : " down"}`, "data-host": h.name },
      el("div", { class: "name" }, h.name), el("div", {}, ok ? "up" : (h.enabled ? "down" : `disabled: ${h.disabled_reason}`)),
      el("div", {}, `cpu ${h.cpu_used.toFixed(2)} allocated / ${h.cpus} cores`), bar(h.cpu_used, h.cpus, "cpu"),
      el("div", {}, `memory ${(h.memory_used_mb / 1024).toFixed(2)} / ${(h.memory_mb / 1024).toFixed(1)} GiB`), bar(h.memory_used_mb, h.memory_mb, "mem"),
      el("div", {}, `pinned cpus: ${(h.pinned_cpus || []).join(",") || "none"}`), el("div", {}, `runtimes: ${h.runtimes.join(", ")}${pages ? ` · huge pages ${pages}` : ""}`));
  }));
}

function row(cells, id) {
  const tr = el("tr", id ? { "data-id": id } : {}, ...cells.map((c) => (c instanceof Node ? el("td", {}, c) : el("td", {}, String(c ?? "")))));
  return tr;
}

function status(s) { return el("span", { class: `status-${s}` }, s); }

async function renderLists() {
  const jobs = (await api("/v1/jobs?limit=50")).jobs;
  $("#jobs tbody").replaceChildren(...(jobs.length ? jobs.map((j) => {
    const tr = row([j.id.slice(0, 8), j.name, status(j.status), j.host || "", j.status_reason], j.id);
    tr.addEventListener("click", () => showJob(j.id));
    return tr;
  }) : [row(["none"])]));
  const lists = [
    ["#containers", "/v1/containers", (c) => [c.name, status(c.status), c.host || ""], true, "containers"],
    ["#capsules", "/v1/capsules", (c) => [c.meta_name || c.name, status(c.status), c.host || ""], true, "capsules"],
    ["#functions", "/v1/functions", (f) => [f.name, `v${f.version}`, f.protocol], false, "functions"],
    ["#schedules", "/v1/schedules", (s) => [s.name, s.cron, s.suspend ? "suspended" : `next ${s.next_run_at || ""}`], false, "schedules"],
  ];
  for (const [sel, path, cells, zun, key] of lists) {
    try {
      const items = (await api(path, { zun }))[key] || [];
      $(`${sel} tbody`).replaceChildren(...(items.length ? items.map((x) => row(cells(x))) : [row(["none"])]));
    } catch (e) {
      if (e instanceof LoggedOut) throw e;
      $(`${sel} tbody`).replaceChildren(row([e.message]));
    }
  }
}

function renderTimeline(trace) {
  const spans = trace.spans;
  $("#job-trace-source").textContent = trace.source === "traces" ? `trace ${trace.trace_id}` : "status history";
  if (!spans.length) { $("#job-trace").replaceChildren(el("p", {}, "no spans yet")); return; }
  const t0 = Math.min(...spans.map((s) => s.start));
  const t1 = Math.max(...spans.map((s) => s.end), t0 + 0.001);
  $("#job-trace").replaceChildren(...spans.map((s) => {
    const left = (100 * (s.start - t0)) / (t1 - t0);
    const width = Math.max(0.3, (100 * (s.end - s.start)) / (t1 - t0));
    const ms = ((s.end - s.start) * 1000).toFixed(1);
    return el("div", { class: "span", title: `${s.service || ""} ${s.name}` }, el("div", { style: `left:${left}%;width:${width}%` }), el("span", {}, `${s.name} ${ms} ms`));
  }));
}

async function showJob(id) {
  state.job = id;
  const job = await api(`/v1/jobs/${id}`);
  $("#job-detail").hidden = false;
  $("#job-id").textContent = id.slice(0, 8);
  const fields = [["status", job.status], ["reason", job.status_reason], ["image", job.image], ["command", job.command.join(" ")],
    ["host", job.host || "-"], ["exit code", job.exit_code ?? "-"], ["attempt", job.attempt], ["created", job.created_at]];
  $("#job-fields").replaceChildren(...fields.flatMap(([k, v]) => [el("dt", {}, k), el("dd", {}, String(v))]));
  $("#job-logs").textContent = await api(`/v1/jobs/${id}/logs`, { text: true });
  renderTimeline(await api(`/v1/jobs/${id}/trace`));
  const why = $("#job-why");
  if (job.status === "Queued") {  // filled first, shown after: never an empty box
    const w = await api(`/v1/jobs/${id}/why`);
    $("#job-why-summary").textContent = w.summary || job.status_reason;
    why.querySelector("tbody").replaceChildren(...Object.entries(w.reasons || {}).map(([h, r]) => row([h, r])));
  }
  why.hidden = job.status !== "Queued";
}

async function refresh() {
  try {
    await renderHosts();
    await renderCharts(api).catch((e) => {
      if (e instanceof LoggedOut) throw e;
      $("#charts").replaceChildren(el("p", { class: "error" }, `charts: ${e.message}`));
    });
    await renderLists();
    if (state.job) await showJob(state.job);
  } catch (e) {
    if (e instanceof LoggedOut) {
      sessionStorage.removeItem("zunray-token");
      state.token = null;
      showLogin("Your session has expired or is not valid: log in again.");
      return false;
    }
    console.error(e);
  }
  return true;
}

async function start() {
  state.mode = (await (await fetch("/v1/dashboard/config")).json()).auth_mode;
  $("#login-form").addEventListener("submit", async (ev) => {
    ev.preventDefault();
    const form = new FormData(ev.target);
    try {
      const got = await api("/v1/dashboard/login", { method: "POST", body: Object.fromEntries(form) });
      state.token = got.token;
      sessionStorage.setItem("zunray-token", got.token);
      $("#login-error").textContent = "";
      $("#who").textContent = `${form.get("username")} @ ${form.get("project")}`;
      showApp();
      await refresh();
    } catch (e) {
      $("#login-error").textContent = e instanceof LoggedOut ? "wrong user, password or project" : e.message;
    }
  });
  $("#logout").addEventListener("click", () => { sessionStorage.removeItem("zunray-token"); state.token = null; showLogin("Logged out."); });
  if (state.mode === "keystone" && !state.token) { showLogin(); return; }
  showApp();
  if (await refresh()) document.body.dataset.ready = "true";
  setInterval(async () => { if (!$("#app").hidden) await refresh(); }, 3000);
}

start();
