// The browser runner, bundled by esbuild (with `switchyard` left external: the page's import map
// points it at the installed package, so the browser loads it exactly as a `<script type="module">`
// user would). Runs the same harness as Node and POSTs progress and results back to the server that
// served the page.
import { peers } from './peers.mjs';
import { runAll } from './harness.mjs';

const params = new URLSearchParams(location.search);
const runtime = params.get('runtime') ?? 'browser';

function post(path, body) {
  return fetch(path, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) });
}

function describeError(error) {
  return error instanceof Error ? `${error.name}: ${error.message}\n${error.stack ?? ''}` : String(error);
}

addEventListener('error', (event) => void post('/error', { runtime, error: describeError(event.error ?? event.message) }));
addEventListener('unhandledrejection', (event) => void post('/error', { runtime, error: describeError(event.reason) }));

try {
  // esbuild leaves `switchyard` external: the page's import map resolves it.
  const switchyard =
    params.get('switchyard') === '1' ? { ...(await import('switchyard')), compat: await import('switchyard/compat') } : null;
  const only = (params.get('only') ?? '').split(',').filter(Boolean);
  const report = await runAll(
    { peers, switchyard },
    { quick: params.get('quick') === '1', only, family: params.get('family') ?? undefined, log: (line) => void post('/log', { runtime, line }) },
  );
  await post('/results', {
    runtime,
    userAgent: navigator.userAgent,
    crossOriginIsolated: globalThis.crossOriginIsolated === true,
    ...report,
  });
} catch (error) {
  await post('/error', { runtime, error: describeError(error) });
}
