// Shared helpers for the visualiser's end-to-end tests: a tiny static server for the Trunk
// build (plus optional extra directories mounted under a prefix), and a headless Chromium.
import { createServer } from 'node:http';
import { execFileSync } from 'node:child_process';
import { rmSync } from 'node:fs';
import { readFile, stat, mkdtemp, mkdir } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, extname, resolve, normalize, sep } from 'node:path';
import { fileURLToPath } from 'node:url';
import { chromium } from 'playwright-core';

export const repo = resolve(fileURLToPath(new URL('../..', import.meta.url)));
export const dist = resolve(process.env.SWITCHYARD_DIST ?? join(repo, 'dist'));
export const screenshots = join(repo, 'target', 'screenshots');

const types = {
  '.html': 'text/html; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
  '.mjs': 'text/javascript; charset=utf-8',
  '.cjs': 'text/javascript; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
  '.wasm': 'application/wasm',
  '.json': 'application/json',
  '.ndjson': 'application/x-ndjson',
  '.map': 'application/json',
  '.d.ts': 'text/plain',
};

/**
 * Serves `root` on a free 127.0.0.1 port. `mounts` maps URL prefixes ("/pkg/") to directories,
 * `pages` maps exact paths to HTML strings.
 */
export async function serve(root = dist, { mounts = {}, pages = {} } = {}) {
  await stat(join(root, 'index.html')).catch(() => {
    throw new Error(`no visualiser build at ${root}: run \`trunk build --release\` (or set SWITCHYARD_DIST)`);
  });
  const server = createServer(async (req, res) => {
    const path = decodeURIComponent(new URL(req.url, 'http://x').pathname);
    if (pages[path]) {
      res.writeHead(200, { 'content-type': types['.html'] });
      res.end(pages[path]);
      return;
    }
    let base = root;
    let rel = path;
    for (const [prefix, dir] of Object.entries(mounts)) {
      if (path.startsWith(prefix)) {
        base = dir;
        rel = path.slice(prefix.length - 1);
        break;
      }
    }
    if (rel.endsWith('/')) rel += 'index.html';
    const file = normalize(join(base, rel));
    if (!file.startsWith(normalize(base) + sep) && file !== normalize(base)) {
      res.writeHead(403).end();
      return;
    }
    try {
      const body = await readFile(file);
      res.writeHead(200, { 'content-type': types[extname(file)] ?? 'application/octet-stream', 'cache-control': 'no-store' });
      res.end(body);
    } catch {
      res.writeHead(404, { 'content-type': 'text/plain' }).end('not found');
    }
  });
  await new Promise((ok) => server.listen(0, '127.0.0.1', ok));
  const { port } = server.address();
  return { url: `http://127.0.0.1:${port}`, close: () => new Promise((ok) => server.close(ok)) };
}

const scratchDirs = [];
process.on('exit', () => {
  for (const dir of scratchDirs) rmSync(dir, { recursive: true, force: true });
});

/**
 * A fresh folder under the system's temporary folder, removed when the test process exits
 * (CI shares the disk; a run must not leave unpacked tarballs and browser profiles behind).
 * @param {string} prefix
 */
export async function scratchDir(prefix) {
  const dir = await mkdtemp(join(tmpdir(), prefix));
  scratchDirs.push(dir);
  return dir;
}

/** A headless Chromium with a fresh profile. */
export async function launch() {
  const userDataDir = await scratchDir('switchyard-e2e-');
  const context = await chromium.launchPersistentContext(userDataDir, {
    executablePath: '/usr/bin/chromium',
    headless: true,
    acceptDownloads: true,
    viewport: { width: 1280, height: 800 },
    // The visualiser follows the system theme; headless Chromium reports light. Screenshots use
    // the dark theme (a test switches to light explicitly).
    colorScheme: 'dark',
    args: ['--no-sandbox', '--disable-gpu', '--disable-background-networking', '--disable-component-update', '--disable-sync', '--no-first-run'],
  });
  return context;
}

/** Opens `url` in a new page that collects console errors, page errors and dialogs. */
export async function open(context, url) {
  const page = await context.newPage();
  const problems = [];
  const dialogs = [];
  page.on('console', (m) => { if (m.type() === 'error') problems.push(`console: ${m.text()}`); });
  page.on('pageerror', (e) => problems.push(`pageerror: ${e.message}`));
  page.on('dialog', async (d) => { dialogs.push(d.message()); await d.dismiss(); });
  await page.goto(url);
  return { page, problems, dialogs };
}

export async function shot(page, name) {
  await mkdir(screenshots, { recursive: true });
  const path = join(screenshots, `${name}.png`);
  await page.screenshot({ path });
  return path;
}

/** The text content of a test id, trimmed. */
export async function text(page, testId) {
  return (await page.getByTestId(testId).first().textContent())?.trim() ?? '';
}

/**
 * Unpacks the packed tarball into a fresh temporary folder, as a static host would serve it:
 * `{ pkg, entry(name) }`, `pkg` the package's folder and `entry('.')`, `entry('./devtools')`...
 * the browser file of an export, relative to `pkg`.
 * @param {string} tarball
 */
export async function unpackTarball(tarball) {
  const dir = await scratchDir('switchyard-e2e-pkg-');
  execFileSync('tar', ['-xzf', tarball, '-C', dir]);
  const pkg = join(dir, 'package');
  const { exports } = JSON.parse(await readFile(join(pkg, 'package.json'), 'utf8'));
  const entry = (/** @type {string} */ name) => exports[name].browser.replace(/^\.\//, '');
  return { pkg, entry };
}

