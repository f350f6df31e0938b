// The user's tasks: a list kept current by the `/ws/tasks/` stream, so a change made in
// another tab (or through the API) shows here at once.

import { api, onJsonMessage, refreshSession, wsUrl } from "/assets/api.js";
import { checkFields, clearErrors, onSubmit, showErrors, values } from "/assets/forms.js";
import { byIds } from "/assets/dom.js";

const STATUSES = ["TO DO", "IN PROGRESS", "DONE"];
const PAGE_SIZE = 20;

const [list, empty, more, filter, count, live] = byIds(
  "task-list", "tasks-empty", "tasks-more", "task-filter", "task-count", "live",
);

let total = 0;
let nextUrl = null;
let socket = null;
let stopped = false;

function matchesFilter(task) {
  return !filter.value || task.status_task === filter.value;
}

function rowOf(id) {
  return list.querySelector(`li[data-task-id="${CSS.escape(id)}"]`);
}

function element(tag, props = {}, ...children) {
  const node = document.createElement(tag);
  Object.assign(node, props);
  node.append(...children);
  return node;
}

function renderTask(task) {
  const item = element("li", { className: "task" });
  item.dataset.taskId = task.id;
  item.dataset.status = task.status_task;
  const badge = element("span", { className: "badge" }, task.status_task);
  badge.dataset.status = task.status_task;
  const title = element("h3", { className: "task-title" }, task.title);
  const edit = element("button", { type: "button", className: "secondary small" }, "Edit");
  edit.setAttribute("aria-label", `Edit “${task.title}”`);
  edit.addEventListener("click", () => item.replaceWith(renderEditor(task)));
  const remove = element("button", { type: "button", className: "danger small" }, "Delete");
  remove.setAttribute("aria-label", `Delete “${task.title}”`);
  remove.addEventListener("click", async () => {
    remove.disabled = true;
    try {
      await api(`/api/v1/tasks/${task.id}/`, { method: "DELETE" });
      removeTask(task.id);
    } catch (error) {
      remove.disabled = false;
      reportError(item, error);
    }
  });
  item.append(
    element("div", { className: "task-head" }, title, badge),
    element("p", { className: "task-description" }, task.description || ""),
    element("div", { className: "actions" }, edit, remove),
    element("p", { className: "form-error", role: "alert" }),
  );
  return item;
}

function reportError(item, error) {
  const slot = item.querySelector(".form-error");
  if (slot) slot.textContent = error.message;
}

function renderEditor(task) {
  const form = element("form", { className: "task task-editor", noValidate: true });
  form.dataset.taskId = task.id;
  const id = (name) => `edit-${task.id}-${name}`;
  const title = element("input", { id: id("title"), name: "title", required: true, maxLength: 100, value: task.title });
  const description = element("textarea", { id: id("description"), name: "description", rows: 2, maxLength: 10000, value: task.description || "" });
  const status = element("select", { id: id("status"), name: "status_task" },
    ...STATUSES.map((s) => element("option", { value: s, selected: s === task.status_task }, s)));
  const field = (label, input) => {
    const error = element("p", { className: "field-error" });
    error.dataset.errorFor = input.name;
    return element("div", { className: "field" }, element("label", { htmlFor: input.id }, label), input, error);
  };
  const fields = [field("Title", title), field("Description", description), field("Status", status)];
  const save = element("button", { type: "submit" }, "Save");
  const cancel = element("button", { type: "button", className: "secondary" }, "Cancel");
  cancel.addEventListener("click", () => form.replaceWith(renderTask(task)));
  const general = element("p", { className: "form-error", role: "alert" });
  general.dataset.formError = "";
  form.append(...fields, general, element("div", { className: "actions" }, save, cancel));
  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    if (!checkFields(form)) return;
    save.disabled = true;
    try {
      const updated = await api(`/api/v1/tasks/${task.id}/`, { method: "PATCH", body: values(form) });
      form.replaceWith(renderTask(updated));
      if (!matchesFilter(updated)) removeTask(updated.id);
    } catch (error) {
      save.disabled = false;
      showErrors(form, error);
    }
  });
  queueMicrotask(() => title.focus());
  return form;
}

function updateCount() {
  const shown = list.children.length;
  empty.hidden = shown > 0;
  count.textContent = `${total} task${total === 1 ? "" : "s"}`;
  more.hidden = !nextUrl;
}

/// A task created or changed anywhere: shown (newest first), replaced, or dropped when it no
/// longer passes the filter. An editor open on it is left alone.
function upsertTask(task) {
  const existing = list.querySelector(`[data-task-id="${CSS.escape(task.id)}"]`);
  if (!matchesFilter(task)) {
    if (existing) removeTask(task.id);
    return;
  }
  if (existing) {
    if (existing.tagName === "LI") existing.replaceWith(renderTask(task));
  } else {
    list.prepend(renderTask(task));
    total += 1;
  }
  updateCount();
}

function removeTask(id) {
  const existing = list.querySelector(`[data-task-id="${CSS.escape(id)}"]`);
  if (existing) {
    existing.remove();
    total = Math.max(0, total - 1);
  }
  updateCount();
}

async function loadPage(url, replace) {
  const page = await api(url);
  if (replace) list.replaceChildren();
  for (const task of page.results) {
    if (!rowOf(task.id)) list.append(renderTask(task));
  }
  total = page.count;
  nextUrl = page.next;
  updateCount();
}

function firstPageUrl() {
  const query = new URLSearchParams({ page_size: PAGE_SIZE, ordering: "-date_created" });
  if (filter.value) query.set("status_task", filter.value);
  return `/api/v1/tasks/?${query}`;
}

function setLive(state, text) {
  live.dataset.state = state;
  live.textContent = text;
}

/// The stream; on a drop it reconnects (refreshing the session first when the server said the
/// token ended) and reloads the list, since events may have been missed meanwhile.
function connect(onError, attempt = 0) {
  if (stopped) return;
  socket = new WebSocket(wsUrl("/ws/tasks/"));
  let opened = false;
  socket.addEventListener("open", () => {
    opened = true;
    setLive("live", "live");
    if (attempt > 0) loadPage(firstPageUrl(), true).catch(onError);
  });
  onJsonMessage(socket, (message) => {
    if (message.action === "task_delete") removeTask(message.id);
    else if (message.action === "task_create" || message.action === "task_update") upsertTask(message);
  });
  socket.addEventListener("close", async (event) => {
    if (stopped) return;
    setLive("offline", "reconnecting…");
    if (event.code === 4401 && !(await refreshSession())) {
      location.assign("/login/");
      return;
    }
    const delay = opened ? 500 : Math.min(10000, 500 * 2 ** attempt);
    setTimeout(() => connect(onError, opened ? 1 : attempt + 1), delay);
  });
}

/// Ends the stream for good (the page is leaving: logout, account deleted).
function stopTasks() {
  stopped = true;
  if (socket) socket.close(1000);
}

export function startTasks({ onError }) {
  const form = document.getElementById("task-form");
  onSubmit(form, async (fields) => {
    const task = await api("/api/v1/tasks/", { method: "POST", body: fields });
    upsertTask(task);
    form.reset();
    clearErrors(form);
    form.elements.title.focus();
  });
  filter.addEventListener("change", () => loadPage(firstPageUrl(), true).catch(onError));
  more.addEventListener("click", () => nextUrl && loadPage(nextUrl, false).catch(onError));
  // Load before connecting, so the first events land on a filled list.
  loadPage(firstPageUrl(), true).then(() => connect(onError)).catch(onError);
  return stopTasks;
}
