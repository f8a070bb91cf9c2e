// The packed tarball on pages with and without a strict Content-Security-Policy, in headless
// Chromium. The fast path compiles a dispatcher for each hot route (`new Function`, see
// crates/wasm/js/src/dispatchers.js); a page whose CSP forbids `eval` refuses that, and the bus
// must keep working on its shared loop: every handler called, a throw isolated, the metrics
// exact, and the refusal tried once, not once per route.
import { test, before, after, describe } from 'node:test';
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { serve, launch, unpackTarball } from './harness.mjs';

const tarball = process.env.SWITCHYARD_TARBALL;
let server;
let context;

// Two hot routes with three handlers each (one of them throws once), on a page that records CSP
// violations and, where `new Function` is allowed, counts the compiles.
const page = (main, csp) => `<!DOCTYPE html><html><head><meta charset="utf-8">
${csp ? `<meta http-equiv="Content-Security-Policy" content="${csp}">` : ''}
<link rel="icon" href="data:,"><title>csp</title></head><body>
<script type="module" nonce="e2e">
const violations = [];
document.addEventListener('securitypolicyviolation', (event) => violations.push(event.blockedURI));
let compiles = 0;
const OriginalFunction = globalThis.Function;
globalThis.Function = new Proxy(OriginalFunction, { construct(target, args) { compiles++; return Reflect.construct(target, args); } });
const { EventBus } = await import('/pkg/${main}');
const bus = new EventBus({ retry: { attempts: 1 } });
const calls = { a: 0, b: 0, c: 0 };
for (const topic of ['orders.created', 'orders.shipped']) {
  bus.subscribe(topic, (order) => { calls.a += order.n >= 0 ? 1 : 0; });
  bus.subscribe(topic, (order, meta) => { if (meta.topic === 'orders.shipped' && order.n === 700) throw new Error('once'); calls.b++; });
  bus.subscribe(topic, function third(order) { calls.c += 1; });
}
// Three tasks of 1 100 publishes per topic: both routes turn hot in the first (one compiles, the
// other is refused for now: one compile per few milliseconds) and the second compiles later.
let n = 0;
for (let round = 0; round < 3; round++) {
  for (let i = 0; i < 1100; i++, n++) {
    bus.publish('orders.created', { n });
    bus.publish('orders.shipped', { n });
  }
  await new Promise((resolve) => setTimeout(resolve, 20));
}
const { totals } = bus.metrics();
window.result = { calls, delivered: totals.delivered, failed: totals.deadLettered, compiles, violations };
</script></body></html>`;

before(async () => {
  if (!tarball) return;
  const { pkg, entry } = await unpackTarball(tarball);
  const main = entry('.');
  server = await serve(join(pkg, 'web', 'devtools-app'), {
    mounts: { '/pkg/': pkg },
    pages: {
      '/open.html': page(main, null),
      // Scripts from this origin and the nonced one, wasm compiles, no `eval`.
      '/strict.html': page(main, "script-src 'self' 'nonce-e2e' 'wasm-unsafe-eval'"),
    },
  });
  context = await launch();
});

after(async () => {
  await context?.close();
  await server?.close();
});

async function run(path) {
  const p = await context.newPage();
  const errors = [];
  p.on('pageerror', (e) => errors.push(String(e)));
  await p.goto(`${server.url}${path}`);
  await p.waitForFunction(() => window.result !== undefined, null, { timeout: 20_000 });
  const result = await p.evaluate(() => window.result);
  await p.close();
  return { ...result, errors };
}

describe('compiled dispatchers and Content-Security-Policy', { skip: tarball ? false : 'SWITCHYARD_TARBALL is not set' }, () => {
  test('without a CSP each hot route gets its own dispatcher, and every handler runs', async () => {
    const result = await run('/open.html');
    assert.deepEqual(result.errors, []);
    assert.equal(result.compiles, 2, 'one compile per hot route');
    assert.deepEqual(result.calls, { a: 6600, b: 6599, c: 6600 });
    assert.equal(result.delivered, 19799);
    assert.equal(result.failed, 1);
  });

  test('a CSP without unsafe-eval keeps every route on the loop, with the same deliveries, refused once', async () => {
    const result = await run('/strict.html');
    assert.deepEqual(result.errors, []);
    assert.deepEqual(result.calls, { a: 6600, b: 6599, c: 6600 });
    assert.equal(result.delivered, 19799);
    assert.equal(result.failed, 1);
    assert.deepEqual(result.violations, ['eval'], 'tried once, then remembered');
  });
});
