// Field errors shown beside their inputs, from the browser's own checks before sending and
// from the server's problem details after.

function errorSlot(form, name) {
  return form.querySelector(`[data-error-for="${name}"]`);
}

export function clearErrors(form) {
  for (const slot of form.querySelectorAll("[data-error-for]")) slot.textContent = "";
  for (const input of form.querySelectorAll("[aria-invalid]")) input.removeAttribute("aria-invalid");
  const general = form.querySelector("[data-form-error]");
  if (general) general.textContent = "";
}

function markField(form, name, messages) {
  const input = form.elements.namedItem(name);
  const slot = errorSlot(form, name);
  if (!slot || !input) return false;
  slot.textContent = messages.join(" ");
  input.setAttribute("aria-invalid", "true");
  return true;
}

/// Shows `message` for the whole form.
export function showFormError(form, message) {
  const general = form.querySelector("[data-form-error]");
  if (general) general.textContent = message;
}

/// Shows an API error: each field's messages beside it, the rest (and the detail when no
/// field matched) as the form's error. Focuses the first field in error.
export function showErrors(form, error) {
  let unplaced = [];
  let first = null;
  for (const [name, messages] of Object.entries(error.fieldErrors || {})) {
    if (markField(form, name, messages)) {
      first = first || form.elements.namedItem(name);
    } else {
      unplaced.push(...messages);
    }
  }
  if (!first || unplaced.length) {
    let text = unplaced.length ? unplaced.join(" ") : error.message;
    if (error.status === 429 && error.retryAfter) text += ` (retry in ${error.retryAfter} s)`;
    showFormError(form, text);
  }
  if (first) first.focus();
}

/// Runs the browser's constraint checks; shows each failing field's message beside it.
export function checkFields(form) {
  clearErrors(form);
  let first = null;
  for (const input of form.elements) {
    if (!input.name || !input.willValidate || input.checkValidity()) continue;
    const hint = input.dataset.hint;
    markField(form, input.name, [hint && input.validity.patternMismatch ? hint : input.validationMessage]);
    first = first || input;
  }
  if (first) first.focus();
  return first === null;
}

/// The form's named fields as an object of trimmed strings; empty optional ones left out
/// when `dropEmpty`.
export function values(form, { dropEmpty = false } = {}) {
  const result = {};
  for (const [name, value] of new FormData(form)) {
    const text = typeof value === "string" ? value : "";
    if (dropEmpty && text.trim() === "") continue;
    result[name] = text;
  }
  return result;
}

/// Wires a form: checks, disables its submit button while `handler` runs, shows errors.
export function onSubmit(form, handler) {
  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    if (!checkFields(form)) return;
    const button = form.querySelector("[type=submit]");
    if (button) button.disabled = true;
    try {
      await handler(values(form));
    } catch (error) {
      showErrors(form, error);
    } finally {
      if (button) button.disabled = false;
    }
  });
}

/// A short-lived status line (`role=status`) for successes.
export function announce(element, message) {
  element.textContent = message;
  element.hidden = false;
}
