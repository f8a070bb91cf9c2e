// The compat cases in a browser, measured in pairs: compat and its peer (eventemitter3, mitt)
// alternate in chunks of 5 000 emits for 5 s, each with its own loop, 3 distinct listeners and a
// fresh payload per emit; the median of the chunk ratios is printed (a loaded machine slows
// each pair alike, which the runner's one-case-after-another tables cannot correct for). The page
// loads the installed package through an import map, as a user's page would. From tests/:
//   node bench/compat-pairs.mjs <folder holding node_modules/switchyard> chromium|firefox
import { spawn } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { createServer } from 'node:http';
import { tmpdir } from 'node:os';
import { dirname, extname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

const here = dirname(fileURLToPath(import.meta.url));
const [installDir, browser = 'chromium'] = process.argv.slice(2);
if (!installDir) {
  console.error('usage: node bench/compat-pairs.mjs <folder holding node_modules/switchyard> chromium|firefox');
  process.exit(2);
}
const pkg = resolve(installDir, 'node_modules/switchyard');
const modules = resolve(here, '../node_modules');

const PAGE = `<!doctype html><html><head><meta charset="utf-8"><link rel="icon" href="data:,">
<script type="importmap">{"imports":{"switchyard":"/pkg/web/index.js","switchyard/compat":"/pkg/web/compat.js"}}</script></head><body>
<script type="module">
import realMitt from '/mitt.mjs';
import EE3 from '/ee3.mjs';
import { mitt, EventEmitter } from 'switchyard/compat';
const post = (s) => fetch('/log', { method: 'POST', body: s });
const sink = { n: 0, acc: 0, audit: 0, last: 0 };
const L = [
  () => function onOrderCreated(p) { sink.n = (sink.n + 1) | 0; sink.acc = (sink.acc + p.n) | 0; },
  () => function auditEveryEighth(p) { sink.n = (sink.n + 1) | 0; if ((p.n & 7) === 0) sink.audit = (sink.audit ^ p.n) | 0; },
  () => function showBadge(p) { sink.n = (sink.n + 1) | 0; sink.last = p.n; },
];
const a = realMitt(); for (const f of L) a.on('orders.created', f());
const b = mitt(); for (const f of L) b.on('orders.created', f());
const c = new EE3(); for (const f of L) c.on('orders.created', f());
const d = new EventEmitter(); for (const f of L) d.on('orders.created', f());
const C = (n) => { for (let i = 0; i < n; i++) c.emit('orders.created', { n: i }); };
const D = (n) => { for (let i = 0; i < n; i++) d.emit('orders.created', { n: i }); };
const A = (n) => { for (let i = 0; i < n; i++) a.emit('orders.created', { n: i }); };
const B = (n) => { for (let i = 0; i < n; i++) b.emit('orders.created', { n: i }); };
async function pair(name, A, B) {
  const N = 5000, ratios = [], ra = [], rb = [];
  const end = performance.now() + 5000;
  while (performance.now() < end) {
    let t = performance.now(); A(N); const ta = performance.now() - t;
    t = performance.now(); B(N); const tb = performance.now() - t;
    if (ta > 0 && tb > 0) { ratios.push(ta / tb); ra.push(N / ta / 1000); rb.push(N / tb / 1000); }
    if (ratios.length % 50 === 0) await new Promise((r) => setTimeout(r, 0));
  }
  const med = (x) => x.sort((p, q) => p - q)[x.length >> 1];
  await post(\`\${name}: peer \${med(ra).toFixed(1)} M/s compat \${med(rb).toFixed(1)} M/s ratio \${med(ratios).toFixed(2)} (\${ratios.length})\`);
}
await pair('emit-3 vs eventemitter3', C, D);
await pair('mitt-3 vs mitt', A, B);
await pair('emit-3 vs eventemitter3 again', C, D);
await pair('mitt-3 vs mitt again', A, B);
await post('DONE ' + sink.n);
</script></body></html>
`;

const FILES = {
  '/mitt.mjs': join(modules, 'mitt/dist/mitt.mjs'),
  '/ee3.mjs': join(modules, 'eventemitter3/dist/eventemitter3.esm.js'),
};
const TYPES = { '.js': 'text/javascript', '.mjs': 'text/javascript', '.wasm': 'application/wasm' };
let child;
const profile = mkdtempSync(join(tmpdir(), 'switchyard-compat-pairs-'));
const server = createServer((req, res) => {
  const url = new URL(req.url, 'http://x');
  if (req.method === 'POST') {
    let body = '';
    req.on('data', (chunk) => (body += chunk));
    req.on('end', () => {
      res.end();
      if (body.startsWith('DONE')) finish(0);
      else console.log(`${browser} ${body}`);
    });
    return;
  }
  if (url.pathname === '/') {
    // Cross-origin isolated, so that performance.now() ticks finely (Chromium: 5 µs, not 100).
    res.writeHead(200, {
      'content-type': 'text/html',
      'cross-origin-opener-policy': 'same-origin',
      'cross-origin-embedder-policy': 'require-corp',
    });
    res.end(PAGE);
    return;
  }
  const file = url.pathname.startsWith('/pkg/') ? join(pkg, url.pathname.slice(5)) : FILES[url.pathname];
  if (!file || !file.startsWith(pkg) && !Object.values(FILES).includes(file) || !existsSync(file)) {
    res.writeHead(404);
    res.end();
    return;
  }
  res.writeHead(200, { 'content-type': TYPES[extname(file)] ?? 'application/octet-stream', 'cross-origin-resource-policy': 'same-origin' });
  res.end(readFileSync(file));
});
async function finish(code) {
  server.close();
  server.closeAllConnections?.();
  if (child?.exitCode === null) {
    // The browser's whole process group (Debian's chromium is a wrapper script).
    const exited = new Promise((done) => child.on('exit', done));
    try {
      process.kill(-child.pid, 'SIGTERM');
    } catch {
      child.kill('SIGTERM');
    }
    await Promise.race([exited, new Promise((done) => setTimeout(done, 5000))]);
  }
  rmSync(profile, { recursive: true, force: true, maxRetries: 10, retryDelay: 200 });
  process.exit(code);
}
server.listen(0, '127.0.0.1', () => {
  const origin = `http://127.0.0.1:${server.address().port}/`;
  child =
    browser === 'firefox'
      ? spawn('firefox-esr', ['--headless', '--no-remote', '--profile', profile, origin], { stdio: 'ignore', detached: true })
      : spawn('/usr/bin/chromium', ['--headless=new', '--no-sandbox', '--disable-gpu', '--no-first-run', `--user-data-dir=${profile}`, origin], { stdio: 'ignore', detached: true });
});
setTimeout(() => {
  console.error('no result within 2 minutes');
  finish(1);
}, 120_000);
