// Module resolution hook (see bridge.mjs): `switchyard` imported by the package's sources under
// crates/wasm/js resolves to the installed tarball, as it does inside the package.
let parent;
export function initialize(data) {
  parent = data.parent;
}
export async function resolve(specifier, context, next) {
  if (specifier === 'switchyard' && context.parentURL?.includes('/crates/wasm/js/')) return next(specifier, { ...context, parentURL: parent });
  return next(specifier, context);
}
