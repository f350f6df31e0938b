import { api, forgetLogin, rememberLogin, request } from "/assets/api.js";
import { announce, onSubmit, showErrors, values } from "/assets/forms.js";
import { showPageError, signedIn } from "/assets/page.js";
import { startTasks } from "/assets/tasks.js";

function showUser(user) {
  document.getElementById("admin-link").hidden = !user.is_superuser;
  const form = document.getElementById("profile-form");
  for (const name of ["username", "email", "first_name", "last_name"]) {
    form.elements.namedItem(name).value = user[name] || "";
  }
}

async function main() {
  let stopTasks = () => {};
  let user = await signedIn({ beforeLogout: () => stopTasks() });
  showUser(user);
  stopTasks = startTasks({ onError: showPageError });

  const profileForm = document.getElementById("profile-form");
  onSubmit(profileForm, async () => {
    profileForm.querySelector("[data-saved]").hidden = true;
    user = await api("/api/v1/auth/profile/", { method: "PATCH", body: values(profileForm) });
    showUser(user);
    announce(profileForm.querySelector("[data-saved]"), "Profile saved.");
  });

  const passwordForm = document.getElementById("password-form");
  onSubmit(passwordForm, async (fields) => {
    passwordForm.querySelector("[data-saved]").hidden = true;
    await request("/api/v1/auth/profile/password/", { method: "POST", body: fields });
    // The change ends every login of the account, this one included: sign in again with the
    // new password so the page keeps working.
    const { body } = await request("/api/v1/auth/login/", {
      method: "POST",
      body: { username: user.username, password: fields.new_password_1 },
    });
    rememberLogin(body.tokens);
    passwordForm.reset();
    announce(passwordForm.querySelector("[data-saved]"), "Password updated.");
  });

  const dialog = document.getElementById("delete-dialog");
  const deleteForm = document.getElementById("delete-form");
  document.getElementById("delete-account").addEventListener("click", () => dialog.showModal());
  deleteForm.addEventListener("submit", async (event) => {
    if (event.submitter && event.submitter.value !== "delete") return;
    event.preventDefault();
    try {
      stopTasks();
      await request("/api/v1/auth/profile/", { method: "DELETE" });
      forgetLogin();
      location.assign("/login/?deleted=1");
    } catch (error) {
      showErrors(deleteForm, error);
    }
  });
}

main().catch(showPageError);
