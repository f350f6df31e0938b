// The console's one way to call the API: same-origin JSON with the session cookie, problem
// details turned into ApiError, and a silent token refresh when the access token has expired.

const REFRESH_KEY = "dispatch.refresh";

export class ApiError extends Error {
  constructor(status, problem) {
    const detail = problem && typeof problem === "object"
      ? problem.detail || problem.title
      : null;
    super(detail || `The server answered ${status}.`);
    this.status = status;
    this.problem = problem && typeof problem === "object" ? problem : null;
    this.fieldErrors = (this.problem && this.problem.errors) || {};
  }
}

export function rememberLogin(tokens) {
  if (tokens && tokens.refresh) localStorage.setItem(REFRESH_KEY, tokens.refresh);
}

export function forgetLogin() {
  localStorage.removeItem(REFRESH_KEY);
}

function storedRefresh() {
  return localStorage.getItem(REFRESH_KEY);
}

// Two tabs must not rotate the same refresh token at once: the server treats the second use
// as token theft and ends the login. The lock serialises them; a tab that waited finds the
// token already rotated and simply uses the new cookie.
async function refreshSession() {
  const attempted = storedRefresh();
  if (!attempted) return false;
  const rotate = async () => {
    const current = storedRefresh();
    if (!current) return false;
    if (current !== attempted) return true;
    const response = await fetch("/api/v1/auth/token/refresh/", {
      method: "POST",
      headers: { "Content-Type": "application/json", "Accept": "application/json" },
      body: JSON.stringify({ refresh: current }),
      credentials: "same-origin",
    });
    if (!response.ok) {
      forgetLogin();
      return false;
    }
    rememberLogin(await response.json());
    return true;
  };
  if (navigator.locks) return navigator.locks.request("dispatch-refresh", rotate);
  return rotate();
}

/// Sends a request; resolves to `{status, body, headers}` for any 2xx answer, rejects with
/// ApiError otherwise (after one refresh-and-retry on 401).
export async function request(path, { method = "GET", body, retried = false, headers = {} } = {}) {
  const init = {
    method,
    credentials: "same-origin",
    headers: { "Accept": "application/json", "X-Requested-With": "dispatch-console", ...headers },
  };
  if (body !== undefined) {
    init.headers["Content-Type"] = "application/json";
    init.body = JSON.stringify(body);
  }
  let response;
  try {
    response = await fetch(path, init);
  } catch (cause) {
    throw new ApiError(0, { title: "Network error", detail: "The server could not be reached." });
  }
  if (response.status === 401 && !retried && !path.startsWith("/api/v1/auth/login")
      && await refreshSession()) {
    return request(path, { method, body, headers, retried: true });
  }
  const type = response.headers.get("Content-Type") || "";
  let data = null;
  if (response.status !== 204) {
    data = type.includes("json") ? await response.json().catch(() => null) : await response.text();
  }
  if (!response.ok) {
    const error = new ApiError(response.status, data);
    error.retryAfter = response.headers.get("Retry-After");
    throw error;
  }
  return { status: response.status, body: data, headers: response.headers };
}

export async function api(path, options) {
  return (await request(path, options)).body;
}

/// The signed-in user, or a redirect to the login page when there is none.
export async function currentUser() {
  try {
    return await api("/api/v1/auth/profile/");
  } catch (error) {
    if (error.status === 401) {
      location.assign("/login/");
      return new Promise(() => {});
    }
    throw error;
  }
}

export async function logout() {
  const refresh = storedRefresh();
  try {
    // Without our refresh token (storage cleared) the only way to end the login is to end all.
    await request("/api/v1/auth/logout/", { method: "POST", body: refresh ? { refresh } : { all: true } });
  } finally {
    forgetLogin();
    location.assign("/login/");
  }
}

export function wsUrl(path) {
  const scheme = location.protocol === "https:" ? "wss:" : "ws:";
  return `${scheme}//${location.host}${path}`;
}

/// Calls `handle` with each message the socket receives, parsed; a frame that is not JSON
/// carries nothing for the page and is skipped.
export function onJsonMessage(socket, handle) {
  socket.addEventListener("message", (event) => {
    let message;
    try {
      message = JSON.parse(event.data);
    } catch {
      return;
    }
    handle(message);
  });
}

export { refreshSession };
