// Memory soak of the visualiser: opens `?scenario=storm&autoplay=1` on a release build in headless
// Chromium and samples, every 10 s for 5 minutes, the JavaScript heap (raw, and after a forced
// garbage collection), the wasm linear memory, the DOM node and event-listener counts and the
// frame rate. Prints a table and the growth slope, writes target/bench/soak.json, and exits 1 if
// memory is not flat (the budget: history is bounded so memory stays flat over 5 minutes):
// after the warm-up (60 s: the visualiser's histories cover 60 s), the post-GC JS heap grows by
// less than 10 % (+256 KB), the wasm memory by less than 10 %, the live Rust heap by less than
// 5 % (+256 KB), and the DOM node peaks by no more than 5 %.
//
//   trunk build --release --dist /tmp/dist        (not `trunk serve`: its reload script differs)
//   cd tests && SWITCHYARD_DIST=/tmp/dist node bench/soak.mjs
//
// Environment: SWITCHYARD_DIST (default ../dist), SOAK_SECONDS (300), SOAK_EVERY (10),
// SOAK_SCENARIO (storm), SOAK_WARMUP (60: seconds before the flatness check starts).
import { mkdir, mkdtemp, writeFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { chromium } from 'playwright-core';
import { serve, repo, dist } from '../e2e/harness.mjs';

const seconds = Number(process.env.SOAK_SECONDS ?? 300);
const every = Number(process.env.SOAK_EVERY ?? 10);
const scenario = process.env.SOAK_SCENARIO ?? 'storm';
const warmup = Number(process.env.SOAK_WARMUP ?? Math.min(60, seconds / 5));
// Flat means: from the end of the warm-up to the end, the post-GC heap grows by less than this
// fraction (plus a small absolute allowance for allocator noise), the wasm memory does not grow
// and the DOM node count stays within 5 %.
const HEAP_TOLERANCE = 0.1;
const HEAP_SLACK = 256 * 1024;

const MB = 1024 * 1024;
const mb = (bytes) => (bytes / MB).toFixed(2);

/** Least-squares slope of `ys` over `xs`. */
function slope(xs, ys) {
  const n = xs.length;
  if (n < 2) return 0;
  const mx = xs.reduce((a, b) => a + b, 0) / n;
  const my = ys.reduce((a, b) => a + b, 0) / n;
  let num = 0;
  let den = 0;
  for (let i = 0; i < n; i++) {
    num += (xs[i] - mx) * (ys[i] - my);
    den += (xs[i] - mx) ** 2;
  }
  return den === 0 ? 0 : num / den;
}

async function main() {
  const server = await serve(dist);
  const profile = await mkdtemp(join(tmpdir(), 'switchyard-soak-'));
  const context = await chromium.launchPersistentContext(profile, {
    executablePath: '/usr/bin/chromium',
    headless: true,
    viewport: { width: 1280, height: 800 },
    args: [
      '--no-sandbox', '--disable-gpu', '--disable-background-networking', '--disable-component-update',
      '--disable-sync', '--no-first-run', '--enable-precise-memory-info',
    ],
  });
  const problems = [];
  try {
    const page = await context.newPage();
    page.on('console', (m) => { if (m.type() === 'error') problems.push(`console: ${m.text()}`); });
    page.on('pageerror', (e) => problems.push(`pageerror: ${e.message}`));
    const cdp = await context.newCDPSession(page);
    await cdp.send('Performance.enable');
    await page.goto(`${server.url}/?scenario=${encodeURIComponent(scenario)}&autoplay=1`);
    // Frame intervals from requestAnimationFrame, kept as a histogram (0.1 ms bins) so the
    // collector itself allocates nothing as it runs.
    await page.evaluate(() => {
      const bins = new Uint32Array(2_000);
      let last = null;
      const frame = (t) => {
        if (last !== null) bins[Math.min(bins.length - 1, Math.round((t - last) * 10))]++;
        last = t;
        requestAnimationFrame(frame);
      };
      requestAnimationFrame(frame);
      window.__soakFrames = bins;
    });
    const started = Date.now();
    const samples = [];
    for (let at = 0; at <= seconds; at += every) {
      const wait = started + at * 1_000 - Date.now();
      if (wait > 0) await new Promise((r) => setTimeout(r, wait));
      const raw = await page.evaluate(() => ({
        heap: performance.memory.usedJSHeapSize,
        wasm: window.__switchyardPerf?.wasmBytes ?? null,
        rustHeap: window.__switchyardPerf?.heapBytes ?? null,
        dom: document.getElementsByTagName('*').length,
        frames: window.__switchyardPerf?.frames ?? 0,
        totals: document.querySelector('[data-testid=totals]')?.textContent ?? '',
      }));
      await cdp.send('HeapProfiler.collectGarbage');
      const gc = await page.evaluate(() => performance.memory.usedJSHeapSize);
      const { metrics } = await cdp.send('Performance.getMetrics');
      const metric = (name) => metrics.find((m) => m.name === name)?.value ?? null;
      const sample = {
        t: Math.round((Date.now() - started) / 1_000),
        heap: raw.heap,
        heapAfterGc: gc,
        wasm: raw.wasm,
        rustHeap: raw.rustHeap,
        domElements: raw.dom,
        nodes: metric('Nodes'),
        listeners: metric('JSEventListeners'),
        frames: raw.frames,
        published: raw.totals.match(/pub([\d.]+k?)\/s/)?.[1] ?? '?',
      };
      samples.push(sample);
      console.log(
        `${String(sample.t).padStart(4)} s  heap ${mb(sample.heap).padStart(7)} MB  after GC ${mb(gc).padStart(7)} MB  ` +
          `wasm ${sample.wasm === null ? '?' : mb(sample.wasm).padStart(6)} MB (Rust heap ${sample.rustHeap === null ? '?' : mb(sample.rustHeap).padStart(6)} MB)  elements ${String(sample.domElements).padStart(5)}  ` +
          `nodes ${String(sample.nodes).padStart(6)}  listeners ${String(sample.listeners).padStart(5)}  pub ${sample.published}/s`,
      );
    }
    const frameStats = await page.evaluate(() => {
      const bins = window.__soakFrames;
      let total = 0;
      for (const c of bins) total += c;
      const at = (q) => {
        let seen = 0;
        for (let i = 0; i < bins.length; i++) {
          seen += bins[i];
          if (seen >= q * total) return i / 10;
        }
        return (bins.length - 1) / 10;
      };
      let long = 0;
      for (let i = 200; i < bins.length; i++) long += bins[i];
      return { frames: total, p50: at(0.5), p95: at(0.95), p99: at(0.99), over20ms: long };
    });

    const steady = samples.filter((s) => s.t >= warmup);
    const first = steady[0] ?? samples[0];
    const last = samples.at(-1);
    const minutes = (s) => s.t / 60;
    const report = {
      scenario,
      seconds,
      every,
      warmup,
      when: new Date().toISOString(),
      samples,
      frames: frameStats,
      summary: {
        heapAfterGc: {
          start: samples[0].heapAfterGc,
          steadyStart: first.heapAfterGc,
          end: last.heapAfterGc,
          peak: Math.max(...samples.map((s) => s.heapAfterGc)),
          slopeBytesPerMin: slope(steady.map(minutes), steady.map((s) => s.heapAfterGc)),
        },
        heapRaw: {
          start: samples[0].heap,
          end: last.heap,
          peak: Math.max(...samples.map((s) => s.heap)),
          slopeBytesPerMin: slope(steady.map(minutes), steady.map((s) => s.heap)),
        },
        wasm: { start: samples[0].wasm, steadyStart: first.wasm, end: last.wasm, peak: Math.max(...samples.map((s) => s.wasm ?? 0)) },
        rustHeap: {
          steadyStart: first.rustHeap,
          end: last.rustHeap,
          peak: Math.max(...samples.map((s) => s.rustHeap ?? 0)),
          slopeBytesPerMin: slope(steady.map(minutes), steady.map((s) => s.rustHeap ?? 0)),
        },
        domElements: { start: samples[0].domElements, end: last.domElements, peak: Math.max(...samples.map((s) => s.domElements)) },
        nodes: {
          start: samples[0].nodes,
          end: last.nodes,
          peak: Math.max(...samples.map((s) => s.nodes ?? 0)),
          slopePerMin: slope(steady.map(minutes), steady.map((s) => s.nodes ?? 0)),
        },
        listeners: { start: samples[0].listeners, end: last.listeners },
      },
      problems,
    };
    const s = report.summary;
    const heapFlat = s.heapAfterGc.end <= s.heapAfterGc.steadyStart * (1 + HEAP_TOLERANCE) + HEAP_SLACK;
    // The wasm memory is the Rust heap's high-water mark in 64 KB pages: it never shrinks and
    // may step up once for a rare peak (a long frame's bigger batch), so it may grow by 10 %
    // at most. The live Rust heap (allocated minus freed, sampled between frames) must not
    // grow by more than 5 % (+256 KB) once the 60 s histories are full.
    const wasmFlat = (s.wasm.end ?? 0) <= (s.wasm.steadyStart ?? 0) * (1 + HEAP_TOLERANCE);
    const rustHeapFlat = s.rustHeap.end === null
      || s.rustHeap.end <= (s.rustHeap.steadyStart ?? 0) * 1.05 + HEAP_SLACK;
    // DOM nodes include detached ones waiting for Blink's own collector, so the count saws up
    // and down: compare the peaks of the two halves of the steady window instead of two points.
    const half = Math.floor(steady.length / 2);
    const peak = (xs) => Math.max(0, ...xs.map((x) => x.nodes ?? 0));
    const nodesFlat = peak(steady.slice(half)) <= peak(steady.slice(0, half)) * 1.05 + 50;
    report.flat = { heap: heapFlat, wasm: wasmFlat, rustHeap: rustHeapFlat, nodes: nodesFlat };

    console.log('');
    console.log(`scenario ${scenario}, ${seconds} s, a sample every ${every} s; flatness checked from ${warmup} s`);
    console.log(`JS heap after GC: start ${mb(s.heapAfterGc.start)} MB, at ${first.t} s ${mb(s.heapAfterGc.steadyStart)} MB, end ${mb(s.heapAfterGc.end)} MB, peak ${mb(s.heapAfterGc.peak)} MB, slope ${(s.heapAfterGc.slopeBytesPerMin / 1024).toFixed(1)} KB/min`);
    console.log(`JS heap (raw):     start ${mb(s.heapRaw.start)} MB, end ${mb(s.heapRaw.end)} MB, peak ${mb(s.heapRaw.peak)} MB, slope ${(s.heapRaw.slopeBytesPerMin / 1024).toFixed(1)} KB/min`);
    console.log(`wasm memory:       start ${mb(s.wasm.start ?? 0)} MB, at ${first.t} s ${mb(s.wasm.steadyStart ?? 0)} MB, end ${mb(s.wasm.end ?? 0)} MB`);
    console.log(`Rust heap (live):  at ${first.t} s ${mb(s.rustHeap.steadyStart ?? 0)} MB, end ${mb(s.rustHeap.end ?? 0)} MB, peak ${mb(s.rustHeap.peak)} MB, slope ${(s.rustHeap.slopeBytesPerMin / 1024).toFixed(1)} KB/min`);
    console.log(`DOM elements:      start ${s.domElements.start}, end ${s.domElements.end}, peak ${s.domElements.peak}; nodes (incl. detached) start ${s.nodes.start}, end ${s.nodes.end}, peak ${s.nodes.peak}, slope ${s.nodes.slopePerMin.toFixed(1)}/min`);
    console.log(`event listeners:   start ${s.listeners.start}, end ${s.listeners.end}`);
    console.log(`frames (rAF):      ${frameStats.frames} frames, p50 ${frameStats.p50} ms, p95 ${frameStats.p95} ms, p99 ${frameStats.p99} ms, ${frameStats.over20ms} over 20 ms`);
    console.log(`flat: JS heap ${heapFlat}, wasm memory ${wasmFlat}, Rust heap ${rustHeapFlat}, DOM nodes ${nodesFlat}`);
    const out = join(repo, 'target', 'bench');
    await mkdir(out, { recursive: true });
    await writeFile(join(out, 'soak.json'), JSON.stringify(report, null, 2));
    console.log(`wrote ${join(out, 'soak.json')}`);
    if (problems.length) console.log(`page problems: ${problems.join('; ')}`);
    process.exitCode = heapFlat && wasmFlat && rustHeapFlat && nodesFlat && problems.length === 0 ? 0 : 1;
  } finally {
    await context.close();
    await server.close();
    await rm(profile, { recursive: true, force: true });
  }
}

await main();
