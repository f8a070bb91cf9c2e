// Runs the benchmark page in headless Chromium and headless Firefox.
//
// A tiny HTTP server on 127.0.0.1 serves the page, the esbuild bundle of browser.mjs (harness, cases,
// tinybench and the peers) and the installed switchyard package; the page's import map resolves
// `switchyard` into that package. The page POSTs its log lines and results back to the server. The
// server sends COOP/COEP headers so the page is cross-origin isolated, which gives performance.now()
// its fine resolution (5 µs in Chromium instead of 100 µs).
//
// Browsers are plain processes (Playwright cannot drive Debian's Firefox), started in their own
// process group with a throwaway profile, and stopped by their process-group id when done.
import { spawn, execFileSync } from 'node:child_process';
import { createServer } from 'node:http';
import { mkdtempSync, readFileSync, rmSync, writeFileSync, existsSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, extname, join, normalize, relative, resolve, sep } from 'node:path';
import { fileURLToPath } from 'node:url';
import * as esbuild from 'esbuild';

const here = dirname(fileURLToPath(import.meta.url));

const CHROMIUM = '/usr/bin/chromium';
const FIREFOX = 'firefox-esr';

const CONTENT_TYPES = {
  '.html': 'text/html; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
  '.mjs': 'text/javascript; charset=utf-8',
  '.wasm': 'application/wasm',
  '.json': 'application/json',
  '.map': 'application/json',
};

/** Bundles browser.mjs (or `entry`) with everything but `switchyard`; returns the JavaScript source. */
export async function bundleBrowserRunner(entry = join(here, 'browser.mjs')) {
  const result = await esbuild.build({
    entryPoints: [entry],
    bundle: true,
    format: 'esm',
    platform: 'browser',
    target: 'es2022',
    external: ['switchyard'],
    write: false,
    logLevel: 'error',
  });
  return result.outputFiles[0].text;
}

/**
 * The file a browser loads for `import 'switchyard'` from `installDir` (honouring the package's
 * `exports` conditions for browsers), relative to the package's own folder.
 */
export async function resolveBrowserEntry(installDir) {
  installDir = resolve(installDir);
  const result = await esbuild.build({
    // Metafile paths are relative to the working directory: make that the install folder.
    absWorkingDir: installDir,
    stdin: { contents: "import 'switchyard';", resolveDir: installDir, loader: 'js' },
    bundle: true,
    platform: 'browser',
    format: 'esm',
    write: false,
    metafile: true,
    logLevel: 'error',
    loader: { '.wasm': 'file' },
    outdir: join(installDir, '.esbuild-out'),
  });
  const entry = result.metafile.inputs['<stdin>'].imports[0].path;
  const packageDir = join(installDir, 'node_modules', 'switchyard');
  return relative(packageDir, resolve(installDir, entry)).split(sep).join('/');
}

function pageHtml(importMap) {
  return `<!doctype html>
<html>
<head>
<meta charset="utf-8">
<link rel="icon" href="data:,">
<title>switchyard benchmarks</title>
<script type="importmap">${JSON.stringify(importMap)}</script>
<script type="module" src="/bench.js"></script>
</head>
<body><p>Running the switchyard benchmarks; results go back to the harness.</p></body>
</html>
`;
}

/**
 * Starts the page server. `installDir` holds `node_modules/switchyard` (or is null: peers only).
 * Returns `{ origin, waitForResults(runtime, timeoutMs), close() }`.
 */
export async function startServer({ bundle, installDir, switchyardEntry, log }) {
  const packageDir = installDir ? join(installDir, 'node_modules', 'switchyard') : null;
  const importMap = {
    imports: switchyardEntry ? { switchyard: `/pkg/${switchyardEntry}`, 'switchyard/compat': '/pkg/web/compat.js' } : {},
  };
  const waiting = new Map();
  const settle = (runtime, outcome) => {
    const waiter = waiting.get(runtime);
    if (!waiter) return;
    waiting.delete(runtime);
    clearTimeout(waiter.timer);
    if ('error' in outcome) waiter.reject(new Error(`${runtime}: ${outcome.error}`));
    else waiter.resolve(outcome.report);
  };

  const server = createServer((request, response) => {
    const headers = {
      'cross-origin-opener-policy': 'same-origin',
      'cross-origin-embedder-policy': 'require-corp',
      'cross-origin-resource-policy': 'same-origin',
      'cache-control': 'no-store',
    };
    const url = new URL(request.url, 'http://127.0.0.1');
    if (request.method === 'POST') {
      let body = '';
      request.setEncoding('utf8');
      request.on('data', (chunk) => (body += chunk));
      request.on('end', () => {
        response.writeHead(204, headers).end();
        let message;
        try {
          message = JSON.parse(body);
        } catch (error) {
          log(`server: unreadable POST ${url.pathname}: ${error.message}`);
          return;
        }
        if (url.pathname === '/log') log(`[${message.runtime}] ${message.line}`);
        else if (url.pathname === '/results') settle(message.runtime, { report: message });
        else if (url.pathname === '/error') settle(message.runtime, { error: message.error });
      });
      return;
    }
    const send = (status, type, content) => {
      response.writeHead(status, { ...headers, 'content-type': type }).end(content);
    };
    if (url.pathname === '/' || url.pathname === '/index.html') {
      return send(200, CONTENT_TYPES['.html'], pageHtml(importMap));
    }
    if (url.pathname === '/bench.js') return send(200, CONTENT_TYPES['.js'], bundle);
    if (packageDir && url.pathname.startsWith('/pkg/')) {
      const file = normalize(join(packageDir, decodeURIComponent(url.pathname.slice('/pkg/'.length))));
      if (file.startsWith(packageDir + sep) && existsSync(file) && statSync(file).isFile()) {
        return send(200, CONTENT_TYPES[extname(file)] ?? 'application/octet-stream', readFileSync(file));
      }
    }
    log(`server: 404 ${url.pathname}`);
    send(404, 'text/plain', 'not found');
  });
  await new Promise((ready) => server.listen(0, '127.0.0.1', ready));
  const origin = `http://127.0.0.1:${server.address().port}`;

  return {
    origin,
    waitForResults(runtime, timeoutMs) {
      return new Promise((resolvePromise, reject) => {
        const timer = setTimeout(() => {
          waiting.delete(runtime);
          reject(new Error(`${runtime}: no results within ${Math.round(timeoutMs / 1000)} s`));
        }, timeoutMs);
        waiting.set(runtime, { resolve: resolvePromise, reject, timer });
      });
    },
    close: () => new Promise((done) => server.close(done)),
  };
}

/** `Chromium 156.0.8078.79`, `Mozilla Firefox 153.7.0esr`: the first line of `--version`. */
export function browserVersion(runtime) {
  const binary = runtime === 'chromium' ? CHROMIUM : FIREFOX;
  try {
    const out = execFileSync(binary, ['--version'], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] });
    return out.split('\n')[0].replace(/\s+built on.*$/, '').trim();
  } catch (error) {
    return `unknown (${error.message.split('\n')[0]})`;
  }
}

// Firefox preferences for an unattended, quiet, precise run.
const FIREFOX_PREFS = {
  // performance.now() is clamped (1 ms, or 20 µs when cross-origin isolated, and 20 µs
  // "unconditionally" as a Spectre mitigation): keep full precision for measuring.
  'privacy.reduceTimerPrecision': false,
  'privacy.reduceTimerPrecision.unconditional': false,
  'privacy.resistFingerprinting': false,
  'browser.shell.checkDefaultBrowser': false,
  'browser.startup.homepage_override.mstone': 'ignore',
  'browser.aboutwelcome.enabled': false,
  'datareporting.policy.dataSubmissionEnabled': false,
  'datareporting.healthreport.uploadEnabled': false,
  'toolkit.telemetry.reportingpolicy.firstRun': false,
  'app.update.disabledForTesting': true,
  'app.normandy.enabled': false,
  'extensions.update.enabled': false,
  'browser.safebrowsing.malware.enabled': false,
  'browser.safebrowsing.phishing.enabled': false,
  'network.captive-portal-service.enabled': false,
  'network.connectivity-service.enabled': false,
  'dom.min_background_timeout_value': 0,
};

function browserCommand(runtime, profileDir, url) {
  if (runtime === 'chromium') {
    return [
      CHROMIUM,
      [
        '--headless=new',
        '--no-sandbox',
        '--disable-gpu',
        '--disable-background-networking',
        '--disable-component-update',
        '--disable-sync',
        '--no-first-run',
        '--disable-background-timer-throttling',
        '--disable-renderer-backgrounding',
        '--disable-backgrounding-occluded-windows',
        `--user-data-dir=${profileDir}`,
        url,
      ],
    ];
  }
  const prefs = Object.entries(FIREFOX_PREFS)
    .map(([key, value]) => `user_pref(${JSON.stringify(key)}, ${JSON.stringify(value)});`)
    .join('\n');
  writeFileSync(join(profileDir, 'user.js'), `${prefs}\n`);
  return [FIREFOX, ['--headless', '--no-remote', '--profile', profileDir, url]];
}

/**
 * Opens the page in one headless browser and resolves with the results it posts back. The
 * browser's own output goes to `<logDir>/<logName>` (default `<runtime>[-<family>].log`).
 */
export async function runInBrowser(server, runtime, { query, timeoutMs, logDir, logName, log }) {
  const profileDir = mkdtempSync(join(tmpdir(), `switchyard-bench-${runtime}-`));
  const url = `${server.origin}/?${new URLSearchParams({ runtime, ...query })}`;
  const [binary, args] = browserCommand(runtime, profileDir, url);
  const results = server.waitForResults(runtime, timeoutMs);
  const logFile = join(logDir, logName ?? (query.family ? `${runtime}-${query.family}.log` : `${runtime}.log`));
  let output = '';
  const child = spawn(binary, args, { detached: true, stdio: ['ignore', 'pipe', 'pipe'] });
  child.stdout.on('data', (chunk) => (output += chunk));
  child.stderr.on('data', (chunk) => (output += chunk));
  const exited = new Promise((done) => child.on('exit', done));
  const died = new Promise((_, reject) => {
    child.on('error', (error) => reject(new Error(`${runtime}: could not start ${binary}: ${error.message}`)));
    child.on('exit', (code, signal) => reject(new Error(`${runtime}: ${binary} exited early (${signal ?? code}); see ${logFile}`)));
  });
  log(`[${runtime}] ${binary} ${url}`);
  try {
    return await Promise.race([results, died]);
  } finally {
    results.catch(() => {});
    died.catch(() => {});
    await stopProcessGroup(child, exited);
    writeFileSync(logFile, output);
    rmSync(profileDir, { recursive: true, force: true });
  }
}

/** Stops the browser we started: SIGTERM to its process group, SIGKILL if it lingers. */
async function stopProcessGroup(child, exited) {
  if (child.exitCode !== null || child.signalCode !== null) return;
  const signalGroup = (signal) => {
    try {
      process.kill(-child.pid, signal);
    } catch {
      // Already gone.
    }
  };
  signalGroup('SIGTERM');
  const gone = await Promise.race([exited.then(() => true), new Promise((r) => setTimeout(() => r(false), 5000))]);
  if (!gone) signalGroup('SIGKILL');
}
