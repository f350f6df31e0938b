// Looking up a page's elements: every id a script names must exist on its page.

/// The elements with these ids, in order; a missing one throws at once, naming it, rather
/// than failing later on `null`.
export function byIds(...ids) {
  return ids.map((id) => {
    const element = document.getElementById(id);
    if (!element) throw new Error(`The page has no element #${id}.`);
    return element;
  });
}
