import { api } from "/assets/api.js";
import { followJob } from "/assets/jobs.js";
import { clearPageError, showPageError, signedIn } from "/assets/page.js";

// Everything on the page is re-read on a timer while the tab is visible; a retried job is
// followed over its socket so its row shows it running and finishing as it happens.
const REFRESH_MS = 2000;
const KINDS = ["register_user", "resize_image", "send_mail", "daily_mail"];
const COLOURS = { register_user: "#2f6fde", resize_image: "#c2410c", send_mail: "#15803d", daily_mail: "#7c3aed" };
const SVG = "http://www.w3.org/2000/svg";

const followed = new Map();

function cell(text) {
  const td = document.createElement("td");
  td.textContent = text;
  return td;
}

function seconds(value) {
  if (value === null || value === undefined) return "—";
  if (value < 60) return `${value} s`;
  if (value < 3600) return `${Math.floor(value / 60)} min ${value % 60} s`;
  return `${Math.floor(value / 3600)} h ${Math.floor((value % 3600) / 60)} min`;
}

function when(value) {
  return value ? new Date(value).toLocaleString(undefined, { dateStyle: "short", timeStyle: "medium" }) : "—";
}

function renderQueues({ queues }) {
  const rows = queues.map((q) => {
    const row = document.createElement("tr");
    row.dataset.kind = q.kind;
    for (const text of [q.kind, q.queued, q.running, q.failed_last_24h, q.succeeded_last_24h,
      seconds(q.oldest_queued_seconds), q.workers]) {
      row.append(cell(String(text)));
    }
    return row;
  });
  document.getElementById("queues-body").replaceChildren(...rows);
}

function renderWorkers({ workers }) {
  const now = Date.now();
  const rows = workers.map((w) => {
    const row = document.createElement("tr");
    row.dataset.instance = w.instance;
    const kinds = w.kinds.map((k) => `${k} (${w.concurrency[k] ?? "?"})`).join(", ");
    const age = Math.max(0, Math.round((now - new Date(w.last_seen_at).getTime()) / 1000));
    row.append(cell(w.instance), cell(kinds), cell(String(w.jobs_in_hand)), cell(when(w.started_at)),
      cell(`${age} s ago`));
    return row;
  });
  document.getElementById("workers-body").replaceChildren(...rows);
}

function statusCell(status) {
  const td = cell(status);
  td.className = "job-status";
  td.dataset.status = status;
  return td;
}

async function retry(job, row, button) {
  button.disabled = true;
  try {
    const accepted = await api(`/api/v1/admin/jobs/${job.id}/retry/`, { method: "POST" });
    followed.set(job.id, job);
    const show = (current) => {
      followed.set(job.id, current);
      const cells = row.children;
      cells[2].textContent = current.error || "";
      cells[3].textContent = String(current.attempts);
      cells[4].textContent = when(current.finished_at);
      row.querySelector(".job-status").replaceWith(statusCell(current.status));
    };
    show({ ...job, status: "queued", error: null, finished_at: null });
    const done = await followJob(accepted, show);
    show(done);
    if (done.status === "failed") button.disabled = false;
  } catch (error) {
    button.disabled = false;
    showPageError(error);
  }
}

function renderFailed(page) {
  const body = document.getElementById("failed-body");
  // Jobs being followed after a retry stay on the list until they finish, with their state.
  const shown = new Map(page.results.map((job) => [job.id, job]));
  for (const [id, job] of followed) shown.set(id, job);
  const rows = [...shown.values()].map((job) => {
    const row = document.createElement("tr");
    row.dataset.jobId = job.id;
    const button = document.createElement("button");
    button.type = "button";
    button.className = "small retry";
    button.textContent = "Retry";
    button.disabled = job.status !== "failed";
    button.addEventListener("click", () => retry(job, row, button));
    const actions = document.createElement("td");
    actions.append(button);
    row.append(cell(job.id.slice(0, 8)), cell(job.kind), cell(job.error || ""),
      cell(String(job.attempts)), cell(when(job.finished_at)), statusCell(job.status), actions);
    return row;
  });
  // Rows whose retry is in flight keep their element, so a click in progress is not lost.
  const current = new Map([...body.children].map((row) => [row.dataset.jobId, row]));
  body.replaceChildren(...rows.map((row) => (followed.has(row.dataset.jobId) && current.get(row.dataset.jobId)) || row));
  document.getElementById("failed-empty").hidden = rows.length > 0;
}

function renderThroughput({ minutes }) {
  const svg = document.getElementById("throughput-chart");
  const end = Math.floor(Date.now() / 60000);
  const start = end - 59;
  const series = new Map(KINDS.map((k) => [k, new Array(60).fill(0)]));
  for (const m of minutes) {
    const slot = Math.floor(new Date(m.minute).getTime() / 60000) - start;
    if (slot >= 0 && slot < 60 && series.has(m.kind)) series.get(m.kind)[slot] += m.finished;
  }
  const peak = Math.max(1, ...[...series.values()].flat());
  const [width, height, pad] = [600, 160, 16];
  const x = (i) => pad + (i * (width - 2 * pad)) / 59;
  const y = (v) => height - pad - (v * (height - 2 * pad)) / peak;
  const shapes = [];
  const axis = document.createElementNS(SVG, "line");
  for (const [name, value] of [["x1", pad], ["x2", width - pad], ["y1", height - pad], ["y2", height - pad]]) {
    axis.setAttribute(name, value);
  }
  axis.setAttribute("stroke", "currentColor");
  axis.setAttribute("opacity", "0.3");
  shapes.push(axis);
  const label = document.createElementNS(SVG, "text");
  label.setAttribute("x", pad);
  label.setAttribute("y", pad - 4);
  label.setAttribute("font-size", "11");
  label.setAttribute("fill", "currentColor");
  label.textContent = `peak ${peak}/min`;
  shapes.push(label);
  for (const [kind, values] of series) {
    const line = document.createElementNS(SVG, "polyline");
    line.setAttribute("points", values.map((v, i) => `${x(i).toFixed(1)},${y(v).toFixed(1)}`).join(" "));
    line.setAttribute("fill", "none");
    line.setAttribute("stroke", COLOURS[kind]);
    line.setAttribute("stroke-width", "2");
    line.dataset.kind = kind;
    line.dataset.total = String(values.reduce((a, b) => a + b, 0));
    shapes.push(line);
  }
  svg.replaceChildren(...shapes);
  const legend = KINDS.map((kind) => {
    const span = document.createElement("span");
    span.style.color = COLOURS[kind];
    span.textContent = `${kind} ${series.get(kind).reduce((a, b) => a + b, 0)}`;
    return span;
  });
  document.getElementById("throughput-legend").replaceChildren(...legend);
}

let busy = false;
async function refresh() {
  if (busy || document.visibilityState !== "visible") return;
  busy = true;
  try {
    const [queues, workers, failed, throughput] = await Promise.all([
      api("/api/v1/admin/queues/"),
      api("/api/v1/admin/workers/"),
      api("/api/v1/admin/jobs/?status=failed&ordering=-finished_at&page_size=50"),
      api("/api/v1/admin/throughput/"),
    ]);
    renderQueues(queues);
    renderWorkers(workers);
    renderFailed(failed);
    renderThroughput(throughput);
    clearPageError();
    document.getElementById("refreshed").textContent = `Last read ${new Date().toLocaleTimeString()}.`;
  } catch (error) {
    if (error.status === 403) location.assign("/account/");
    showPageError(error);
  } finally {
    busy = false;
  }
}

async function main() {
  const me = await signedIn();
  if (!me.is_superuser) {
    location.assign("/account/");
    return;
  }
  await refresh();
  setInterval(refresh, REFRESH_MS);
  document.addEventListener("visibilitychange", refresh);
}

main().catch(showPageError);
