// The documents in the installed package are written for npm users: the README and the API
// reference it links to are shipped, every relative link resolves inside the package, and
// nothing sends the reader to the repository's workflow (`cargo xtask`, `docs/`).

import assert from 'node:assert/strict';
import { existsSync, readFileSync, readdirSync } from 'node:fs';
import { join, normalize } from 'node:path';
import { describe, test } from 'node:test';

import { installDir } from './helpers/package.mjs';

const pkg = () => join(installDir(), 'node_modules/switchyard');

/** `[text](target)` link targets of markdown, without `#fragment`, except URLs and anchors. */
function relativeLinks(markdown) {
  return [...markdown.matchAll(/\]\(([^)\s]+)\)/g)]
    .map((m) => m[1].split('#')[0])
    .filter((target) => target !== '' && !/^[a-z][a-z0-9+.-]*:/i.test(target));
}

/** `#anchor` targets of markdown links into `file` (GitHub/npm heading slugs). */
function headingSlugs(markdown) {
  return new Set(
    [...markdown.matchAll(/^#{1,6} (.+)$/gm)].map((m) =>
      m[1].trim().toLowerCase().replace(/[^\p{L}\p{N} _-]/gu, '').replace(/ /g, '-'),
    ),
  );
}

describe('package documents', () => {
  test('the package ships a README and the API reference', () => {
    for (const name of ['README.md', 'API.md']) assert.ok(existsSync(join(pkg(), name)), `${name} is not in the package`);
  });

  test('the packed README is written for npm users: install, usage, options, errors, no cargo xtask', () => {
    const readme = readFileSync(join(pkg(), 'README.md'), 'utf8');
    assert.doesNotMatch(readme, /cargo xtask/);
    assert.doesNotMatch(readme, /\]\(docs\//, 'links into the repository docs/ folder');
    for (const part of ['npm install switchyard', 'new EventBus', '## Options', '## Errors', 'SwitchyardError', '(API.md)']) {
      assert.ok(readme.includes(part), `the README lacks ${part}`);
    }
  });

  test('every relative link in a shipped markdown file resolves inside the package', () => {
    const dir = pkg();
    const docs = readdirSync(dir).filter((f) => f.endsWith('.md'));
    assert.ok(docs.length >= 2, docs.join(', '));
    for (const doc of docs) {
      const text = readFileSync(join(dir, doc), 'utf8');
      for (const target of relativeLinks(text)) {
        const path = normalize(join(dir, target));
        assert.ok(path.startsWith(dir) && existsSync(path), `${doc} links to ${target}, which the package does not ship`);
      }
    }
  });

  test('in-page and cross-file anchors of the shipped documents name existing headings', () => {
    const dir = pkg();
    for (const doc of readdirSync(dir).filter((f) => f.endsWith('.md'))) {
      const text = readFileSync(join(dir, doc), 'utf8');
      for (const m of text.matchAll(/\]\(([^)\s:]*)#([^)\s]+)\)/g)) {
        const file = m[1] === '' ? doc : m[1];
        const slugs = headingSlugs(readFileSync(join(dir, file), 'utf8'));
        assert.ok(slugs.has(m[2]), `${doc} links to ${file}#${m[2]}, which has no such heading`);
      }
    }
  });
});
