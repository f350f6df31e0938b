// Following a job to its end: over its WebSocket, or by polling its status URL when the
// socket cannot be used (blocked by a proxy, dropped mid-way).

import { api, onJsonMessage, wsUrl } from "/assets/api.js";

const FINAL = new Set(["succeeded", "failed"]);
const POLL_GIVE_UP_MS = 5 * 60 * 1000;

function viaSocket(accepted, onUpdate) {
  return new Promise((resolve, reject) => {
    let socket;
    try {
      socket = new WebSocket(wsUrl(accepted.ws_url));
    } catch (error) {
      reject(error);
      return;
    }
    let finished = false;
    onJsonMessage(socket, (job) => {
      onUpdate(job, "websocket");
      if (FINAL.has(job.status)) {
        finished = true;
        resolve(job);
        socket.close(1000);
      }
    });
    socket.addEventListener("close", (event) => {
      if (!finished) reject(new Error(`job socket closed (${event.code}) before the job finished`));
    });
  });
}

async function viaPolling(accepted, onUpdate) {
  const started = Date.now();
  let delay = 250;
  while (Date.now() - started < POLL_GIVE_UP_MS) {
    const job = await api(accepted.status_url);
    onUpdate(job, "polling");
    if (FINAL.has(job.status)) return job;
    await new Promise((resolve) => setTimeout(resolve, delay));
    delay = Math.min(delay * 2, 2000);
  }
  throw new Error("The job has not finished yet; its status stays available at " + accepted.status_url);
}

/// Resolves to the finished job; `onUpdate(job, channel)` sees every state on the way.
export async function followJob(accepted, onUpdate = () => {}) {
  try {
    return await viaSocket(accepted, onUpdate);
  } catch {
    return viaPolling(accepted, onUpdate);
  }
}
