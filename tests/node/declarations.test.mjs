// index.d.ts declares exactly what the package exports: every runtime export, class method and
// getter of the installed package is declared, every declared one exists, and the unions of
// error codes and lifecycle kinds are the ones the Rust side writes (crates/wasm/src/shared.rs,
// generated into crates/wasm/js/src/generated.js). A bundler that imports only `EventBus` pulls
// in only the main entry.

import assert from 'node:assert/strict';
import { readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { describe, test } from 'node:test';
import { fileURLToPath, pathToFileURL } from 'node:url';

import * as esbuild from 'esbuild';
import ts from 'typescript';

import { importPackage, installDir, requirePackage } from './helpers/package.mjs';

const here = dirname(fileURLToPath(import.meta.url));
const generated = await import(pathToFileURL(resolve(here, '../../crates/wasm/js/src/generated.js')).href);
/** The ESM namespace of `switchyard`, `default` included, imported from the install folder. */
async function importNamespace() {
  await importPackage();
  const entry = join(installDir(), 'namespace.mjs');
  writeFileSync(entry, "export * as ns from 'switchyard';\n");
  return (await import(pathToFileURL(entry).href)).ns;
}

const api = await importNamespace();

const file = join(installDir(), 'node_modules/switchyard/index.d.ts');
const source = ts.createSourceFile(file, readFileSync(file, 'utf8'), ts.ScriptTarget.Latest, true);
const hasModifier = (node, kind) => (ts.getModifiers(node) ?? []).some((m) => m.kind === kind);

/** Names of the values index.d.ts exports (classes, functions, consts, `default`). */
function declaredValues() {
  const names = [];
  for (const statement of source.statements) {
    if (ts.isExportAssignment(statement)) names.push('default');
    if (!hasModifier(statement, ts.SyntaxKind.ExportKeyword)) continue;
    if (ts.isClassDeclaration(statement) || ts.isFunctionDeclaration(statement)) names.push(statement.name.text);
    if (ts.isVariableStatement(statement)) {
      for (const declaration of statement.declarationList.declarations) names.push(declaration.name.getText(source));
    }
  }
  return names.sort();
}

/** `{ instance, static }` member names of class `name` in index.d.ts (no constructor). */
function declaredMembers(name) {
  const declaration = source.statements.find((s) => ts.isClassDeclaration(s) && s.name?.text === name);
  assert.ok(declaration, `index.d.ts declares class ${name}`);
  const members = { instance: new Set(), static: new Set() };
  for (const member of declaration.members) {
    if (ts.isConstructorDeclaration(member) || member.name === undefined) continue;
    const bucket = hasModifier(member, ts.SyntaxKind.StaticKeyword) ? members.static : members.instance;
    bucket.add(member.name.getText(source));
  }
  return { instance: [...members.instance].sort(), static: [...members.static].sort() };
}

/** Public member names of a runtime object (methods and getters; `__` internals left out). */
function runtimeMembers(object, skip) {
  const names = Object.getOwnPropertyNames(object).filter((n) => !skip.includes(n) && !n.startsWith('__'));
  for (const symbol of Object.getOwnPropertySymbols(object)) {
    if (symbol === Symbol.dispose || symbol === Symbol.for('Symbol.dispose')) names.push('[Symbol.dispose]');
    else names.push(`[${symbol.description}]`);
  }
  return names.sort();
}

/** The string literals of union type alias `name` in index.d.ts. */
function declaredUnion(name) {
  const alias = source.statements.find((s) => ts.isTypeAliasDeclaration(s) && s.name.text === name);
  assert.ok(alias, `index.d.ts declares type ${name}`);
  return alias.type.types.map((t) => t.literal.text);
}

describe('index.d.ts against the implementation', () => {
  test('every runtime export of the ESM and CommonJS entries is declared, and every declared value exists', () => {
    assert.deepEqual(Object.keys(api).sort(), declaredValues());
    const cjs = requirePackage();
    assert.deepEqual(
      Object.keys(cjs)
        .filter((k) => k !== '__esModule')
        .sort(),
      declaredValues(),
    );
    assert.deepEqual(Object.keys(api.default).sort(), ['EventBus', 'Subscription', 'SwitchyardError']);
  });

  for (const name of ['EventBus', 'Subscription']) {
    test(`every method and getter of ${name} is declared, and every declared member exists`, () => {
      const Class = api[name];
      const declared = declaredMembers(name);
      assert.deepEqual(runtimeMembers(Class.prototype, ['constructor']), declared.instance, `${name}.prototype (left) vs index.d.ts (right)`);
      assert.deepEqual(runtimeMembers(Class, ['length', 'name', 'prototype']), declared.static, `static ${name} (left) vs index.d.ts (right)`);
    });
  }

  test('SwitchyardErrorCode is the list of error codes the Rust side writes', () => {
    assert.deepEqual(declaredUnion('SwitchyardErrorCode'), generated.ERROR_CODES);
  });

  test('LifecycleKind is the list of trace kind names the Rust side writes', () => {
    assert.deepEqual(declaredUnion('LifecycleKind'), generated.TRACE_KINDS);
  });
});

describe('package layout', () => {
  test('bundling `import { EventBus } from "switchyard"` pulls in only the main entry (and the error class it shares)', async () => {
    const result = await esbuild.build({
      stdin: { contents: "import { EventBus } from 'switchyard';\nglobalThis.bus = new EventBus();\n", resolveDir: installDir() },
      absWorkingDir: installDir(),
      bundle: true,
      write: false,
      metafile: true,
      minify: true,
      format: 'esm',
      platform: 'browser',
      target: 'es2022',
      logLevel: 'silent',
    });
    const fromPackage = Object.keys(result.metafile.inputs).filter((input) => input.includes('node_modules/switchyard/'));
    assert.deepEqual(fromPackage.sort(), ['node_modules/switchyard/web/errors.js', 'node_modules/switchyard/web/index.js']);
  });

  test('package.json marks the package free of side effects and ships the two engine .wasm files', () => {
    const root = join(installDir(), 'node_modules/switchyard');
    const manifest = JSON.parse(readFileSync(join(root, 'package.json'), 'utf8'));
    assert.equal(manifest.sideEffects, false);
    const wasmFiles = listFiles(root).filter((f) => f.endsWith('.wasm'));
    // The other one is the visualiser's, fetched only by `openDevtools` (switchyard/devtools).
    // `switchyard` loads the first, `switchyard/snapshot` the second (with snapshots).
    assert.deepEqual(wasmFiles.filter((f) => !f.startsWith('web/devtools-app/')).sort(), ['web/switchyard_bg.wasm', 'web/switchyard_snapshot_bg.wasm']);
    assert.equal(wasmFiles.filter((f) => f.startsWith('web/devtools-app/')).length, 1);
  });
});

/** Files under `dir`, relative to it. */
function listFiles(dir, prefix = '') {
  return readdirSync(join(dir, prefix), { withFileTypes: true }).flatMap((entry) =>
    entry.isDirectory() ? listFiles(dir, join(prefix, entry.name)) : [join(prefix, entry.name)],
  );
}
