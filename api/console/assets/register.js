import { request } from "/assets/api.js";
import { onSubmit, values } from "/assets/forms.js";
import { followJob } from "/assets/jobs.js";
import { byIds } from "/assets/dom.js";

const [form, panel, statusText, channel, history, jobError] = byIds(
  "register-form", "job", "job-status", "job-channel", "job-history", "job-error",
);

function show(job, via) {
  if (statusText.dataset.status !== job.status) {
    const item = document.createElement("li");
    item.textContent = job.status;
    history.append(item);
  }
  statusText.textContent = job.status;
  statusText.dataset.status = job.status;
  channel.textContent = via === "polling" ? "(checking every few seconds)" : "(live)";
}

onSubmit(form, async () => {
  const body = values(form, { dropEmpty: true });
  const { body: accepted } = await request("/api/v1/auth/register/", { method: "POST", body });
  form.querySelector("[type=submit]").disabled = true;
  for (const input of form.elements) input.readOnly = true;
  history.replaceChildren();
  statusText.dataset.status = "";
  jobError.hidden = true;
  panel.hidden = false;
  show({ status: accepted.status }, "websocket");
  const job = await followJob(accepted, show);
  if (job.status === "succeeded") {
    const done = new URLSearchParams({ registered: job.result.username, job: job.id });
    location.assign(`/login/?${done}`);
    return;
  }
  for (const input of form.elements) input.readOnly = false;
  jobError.textContent = `Registration failed: ${job.error || "unknown error"}`;
  jobError.hidden = false;
});
