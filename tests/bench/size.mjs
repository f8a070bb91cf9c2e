// Size of each library as a browser user ships it: the import bundled and minified by esbuild (what a
// bundler does to the package's ESM build), then gzipped at level 9. For switchyard the `.wasm` is
// counted too: whatever the bundle emits, or else the `.wasm` beside the modules it bundled.
import { gzipSync } from 'node:zlib';
import { readdirSync, readFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import * as esbuild from 'esbuild';

const testsDir = join(dirname(fileURLToPath(import.meta.url)), '..');

/** What a user of each library imports. */
const PEER_IMPORTS = {
  eventemitter3: "export { default } from 'eventemitter3';",
  tseep: "export { EventEmitter } from 'tseep';",
  mitt: "export { default } from 'mitt';",
  eventemitter2: "export { default } from 'eventemitter2';",
  'rxjs-subject': "export { Subject } from 'rxjs';",
  emittery: "export { default } from 'emittery';",
};

const gzipSize = (bytes) => gzipSync(bytes, { level: 9 }).length;

async function bundle(contents, resolveDir) {
  const result = await esbuild.build({
    stdin: { contents, resolveDir, loader: 'js' },
    // The metafile names inputs relative to the working directory: make that `resolveDir`.
    absWorkingDir: resolveDir,
    bundle: true,
    minify: true,
    format: 'esm',
    platform: 'browser',
    target: 'es2022',
    write: false,
    outdir: join(resolveDir, '.esbuild-size'),
    loader: { '.wasm': 'file' },
    metafile: true,
    logLevel: 'error',
  });
  return {
    files: result.outputFiles.map((file) => ({ path: file.path, bytes: file.contents })),
    inputs: Object.keys(result.metafile.inputs)
      .filter((input) => !input.startsWith('<'))
      .map((input) => resolve(resolveDir, input)),
  };
}

/**
 * The `.wasm` files beside the modules a bundle was made from: a wasm-bindgen glue loads its
 * `.wasm` with `new URL('x_bg.wasm', import.meta.url)`, which bundlers copy as an asset rather
 * than bundle, so it shows up as neither an input nor an output.
 */
function wasmFilesBeside(inputs) {
  const dirs = new Set(inputs.map((input) => dirname(input)));
  return [...dirs].flatMap((dir) =>
    readdirSync(dir, { withFileTypes: true })
      .filter((entry) => entry.isFile() && entry.name.endsWith('.wasm'))
      .map((entry) => join(dir, entry.name)),
  );
}

/**
 * Sizes in bytes: `[{ impl, minBytes, gzipBytes, parts }]`, where `parts` splits switchyard into
 * its JavaScript glue and its `.wasm`. `installDir` holds `node_modules/switchyard`, or is null.
 */
export async function measureSizes(installDir) {
  const sizes = [];
  if (installDir) {
    const { files, inputs } = await bundle("export { EventBus } from 'switchyard';", installDir);
    const js = files.filter((f) => !f.path.endsWith('.wasm'));
    let wasm = files.filter((f) => f.path.endsWith('.wasm'));
    if (wasm.length === 0) {
      wasm = wasmFilesBeside(inputs).map((path) => ({ path, bytes: readFileSync(path) }));
    }
    const part = (name, list) => ({
      name,
      minBytes: list.reduce((sum, f) => sum + f.bytes.length, 0),
      gzipBytes: list.reduce((sum, f) => sum + gzipSize(f.bytes), 0),
    });
    const parts = [part('glue (js)', js), part('engine (wasm)', wasm)];
    sizes.push({
      impl: 'switchyard',
      minBytes: parts[0].minBytes + parts[1].minBytes,
      gzipBytes: parts[0].gzipBytes + parts[1].gzipBytes,
      parts,
    });
  }
  for (const [impl, contents] of Object.entries(PEER_IMPORTS)) {
    const {
      files: [file],
    } = await bundle(contents, testsDir);
    sizes.push({ impl, minBytes: file.bytes.length, gzipBytes: gzipSize(file.bytes) });
  }
  sizes.push({ impl: 'event-target', minBytes: 0, gzipBytes: 0, note: 'built into the platform' });
  return sizes;
}
