import { request, rememberLogin } from "/assets/api.js";
import { announce, onSubmit } from "/assets/forms.js";

const form = document.getElementById("login-form");
const notice = document.getElementById("notice");
const params = new URLSearchParams(location.search);

if (params.has("registered")) {
  const name = params.get("registered");
  announce(notice, `Registration succeeded: the account “${name}” is ready. Log in to continue.`);
  form.elements.username.value = name;
  form.elements.password.focus();
} else if (params.has("deleted")) {
  announce(notice, "Your account was deleted.");
}

onSubmit(form, async (fields) => {
  try {
    const { body } = await request("/api/v1/auth/login/", {
      method: "POST",
      body: { username: fields.username.trim(), password: fields.password },
    });
    rememberLogin(body.tokens);
    location.assign(body.is_superuser ? "/admin/" : "/account/");
  } catch (error) {
    if (error.status === 403) error.message = "This account is deactivated.";
    throw error;
  }
});
