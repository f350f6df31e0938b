// What every signed-in page has (the `_signed_in.html` layout): the user's name in the header,
// the log-out button, and one line for errors that belong to no form.

import { currentUser, logout } from "/assets/api.js";

const pageError = document.getElementById("page-error");

export function showPageError(error) {
  pageError.textContent = error.message;
  pageError.hidden = false;
}

export function clearPageError() {
  pageError.hidden = true;
}

/// Reads the signed-in user (a visitor who is not is sent to the login page), names them in
/// the header and wires the log-out button; `beforeLogout` runs first, to stop what the page
/// keeps open.
export async function signedIn({ beforeLogout = () => {} } = {}) {
  const user = await currentUser();
  document.getElementById("whoami").textContent = `Signed in as ${user.username}`;
  document.getElementById("logout").addEventListener("click", () => {
    beforeLogout();
    logout().catch(showPageError);
  });
  return user;
}
