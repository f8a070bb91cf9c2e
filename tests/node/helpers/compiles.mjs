// Counting the code a package compiles at run time (`new Function`): the compiled dispatchers of
// the fast path and compat's compiled emit callers.

/** Counts `new Function` calls while `body` runs. */
export function countCompiles(body) {
  const original = globalThis.Function;
  let compiles = 0;
  globalThis.Function = new Proxy(original, {
    construct(target, args) {
      compiles++;
      return Reflect.construct(target, args);
    },
  });
  try {
    body();
  } finally {
    globalThis.Function = original;
  }
  return compiles;
}
