import { api } from "/assets/api.js";
import { byIds } from "/assets/dom.js";
import { clearPageError, showPageError, signedIn } from "/assets/page.js";

// The table follows changes made elsewhere (new registrations, other admins) by re-reading
// the current page on a timer while the tab is visible.
const REFRESH_MS = 4000;

const state = { page: 1, pageSize: 20, ordering: "-date_joined", search: "" };
const [body, counter, resultCount, pageLabel, prev, next] = byIds(
  "users-body", "user-count", "result-count", "page-label", "prev-page", "next-page",
);
let me = null;
let generation = 0;

function when(value) {
  return value ? new Date(value).toLocaleString(undefined, { dateStyle: "short", timeStyle: "short" }) : "—";
}

function cell(text) {
  const td = document.createElement("td");
  td.textContent = text;
  return td;
}

function renderRow(user) {
  const row = document.createElement("tr");
  row.dataset.userId = user.id;
  row.dataset.username = user.username;
  row.append(
    cell(user.username), cell(user.email), cell(user.first_name || ""), cell(user.last_name || ""),
    cell(when(user.date_joined)), cell(when(user.last_login)), cell(user.is_active ? "yes" : "no"),
  );
  const actions = document.createElement("td");
  const toggle = document.createElement("button");
  toggle.type = "button";
  toggle.className = user.is_active ? "danger small" : "small";
  toggle.textContent = user.is_active ? "Deactivate" : "Reactivate";
  toggle.setAttribute("aria-label", `${toggle.textContent} ${user.username}`);
  toggle.disabled = me && user.id === me.id;
  toggle.addEventListener("click", async () => {
    toggle.disabled = true;
    try {
      const changed = await api(`/api/v1/admin/users/${user.id}/`, {
        method: "PATCH",
        body: { is_active: !user.is_active },
      });
      row.replaceWith(renderRow(changed));
      clearPageError();
    } catch (error) {
      toggle.disabled = false;
      showPageError(error);
    }
  });
  actions.append(toggle);
  row.append(actions);
  return row;
}

/// Counts up or down to `target`, easing over half a second (at once for reduced motion).
function animateCounter(target) {
  const start = Number(counter.dataset.value);
  counter.dataset.value = String(target);
  if (start === target) return;
  if (matchMedia("(prefers-reduced-motion: reduce)").matches) {
    counter.textContent = String(target);
    return;
  }
  const began = performance.now();
  const step = (now) => {
    if (counter.dataset.value !== String(target)) return;
    const t = Math.min(1, (now - began) / 600);
    const eased = 1 - (1 - t) ** 3;
    counter.textContent = String(Math.round(start + (target - start) * eased));
    if (t < 1) requestAnimationFrame(step);
  };
  requestAnimationFrame(step);
}

function showSort() {
  const field = state.ordering.replace(/^-/, "");
  for (const th of document.querySelectorAll("th[data-sort]")) {
    const sorted = th.dataset.sort === field;
    th.setAttribute("aria-sort", sorted ? (state.ordering.startsWith("-") ? "descending" : "ascending") : "none");
  }
}

async function load() {
  const mine = ++generation;
  const query = new URLSearchParams({ page: state.page, page_size: state.pageSize, ordering: state.ordering });
  if (state.search) query.set("search", state.search);
  const [page, all] = await Promise.all([
    api(`/api/v1/admin/users/?${query}`),
    state.search ? api("/api/v1/admin/users/?page_size=1") : null,
  ]);
  if (mine !== generation) return;
  const pages = Math.max(1, Math.ceil(page.count / state.pageSize));
  if (state.page > pages) {
    state.page = pages;
    return load();
  }
  body.replaceChildren(...page.results.map(renderRow));
  animateCounter((all || page).count);
  resultCount.textContent = state.search ? `${page.count} matching` : "";
  pageLabel.textContent = `Page ${state.page} of ${pages}`;
  prev.disabled = !page.previous;
  next.disabled = !page.next;
  showSort();
  clearPageError();
}

function reload() {
  load().catch(showPageError);
}

async function main() {
  me = await signedIn();
  if (!me.is_superuser) {
    location.assign("/account/");
    return;
  }
  for (const th of document.querySelectorAll("th[data-sort]")) {
    th.querySelector("button").addEventListener("click", () => {
      const field = th.dataset.sort;
      state.ordering = state.ordering === field ? `-${field}` : field;
      state.page = 1;
      reload();
    });
  }
  prev.addEventListener("click", () => { state.page = Math.max(1, state.page - 1); reload(); });
  next.addEventListener("click", () => { state.page += 1; reload(); });
  document.getElementById("page-size").addEventListener("change", (event) => {
    state.pageSize = Number(event.target.value);
    state.page = 1;
    reload();
  });
  let typing;
  document.getElementById("user-search").addEventListener("input", (event) => {
    clearTimeout(typing);
    typing = setTimeout(() => {
      state.search = event.target.value.trim();
      state.page = 1;
      reload();
    }, 250);
  });
  setInterval(() => {
    if (document.visibilityState === "visible") reload();
  }, REFRESH_MS);
  reload();
}

main().catch(showPageError);
