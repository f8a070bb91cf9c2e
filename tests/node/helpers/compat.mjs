// `switchyard/compat` from the installed tarball, as a user imports or requires it.

import { existsSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';

import { installDir } from './package.mjs';

/** `import * as compat from 'switchyard/compat'` (with `default`) from the install folder. */
export async function importCompat() {
  const dir = installDir();
  const entry = join(dir, 'compat-entry.mjs');
  if (!existsSync(entry)) {
    writeFileSync(entry, "export * from 'switchyard/compat';\nexport { default } from 'switchyard/compat';\n");
  }
  return import(pathToFileURL(entry).href);
}

/** `require('switchyard/compat')` from the install folder. */
export function requireCompat() {
  return createRequire(join(installDir(), 'index.cjs'))('switchyard/compat');
}
