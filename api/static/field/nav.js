// Moving between screens by the URL's hash; app.js installs the router.
let router = () => {};

export function setRouter(fn) {
  router = fn;
}

export function go(hash) {
  if (location.hash === hash) router();
  else location.hash = hash;
}

// Redraw lists in place; never a form someone is filling in.
export function rerender() {
  const here = location.hash.split("/")[0];
  if (here === "#outbox" || here === "#intake" || here === "#received") router();
}
