// A page saved unchanged by the block editor comes back byte for byte.
//
//   node e2e/block-roundtrip.mjs pages.json
//
// pages.json is `[{"slug", "blocks", "site"?}]`. For each page this does what
// the editor does on open and save, with the editor's own packages
// (@wordpress/blocks and the core blocks of @wordpress/block-library) on a
// happy-dom DOM: parse(), then serialize(). A page fails when any block
// (inner blocks too) is invalid, valid only through a deprecation or a
// built-in fix, or unregistered, or when the serialized page differs from
// the input. A deprecation the editor applies to a block whose markup is
// still valid (its `isEligible` asks for a migration, as for a post-date
// block without its date binding) shows as a rewritten page. Prints a JSON
// report and exits 1 on any failure, 2 on bad input or a broken install.

import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Window } from 'happy-dom';

const file = process.argv[2];
if (!file) {
  process.stderr.write('usage: node e2e/block-roundtrip.mjs PAGES.json\n');
  process.exit(2);
}
let pages;
try {
  pages = JSON.parse(readFileSync(file, 'utf8'));
  if (!Array.isArray(pages)) throw new Error('expected an array of {"slug", "blocks"}');
} catch (error) {
  process.stderr.write(`cannot read ${file}: ${error.message}\n`);
  process.exit(2);
}

// The packages read browser globals when they load, so the DOM comes first.
const window = new Window({ url: 'http://localhost/' });
for (const key of Object.getOwnPropertyNames(window)) {
  if (!(key in globalThis)) {
    try {
      globalThis[key] = window[key];
    } catch {
      // a read-only global of Node's own; keep Node's
    }
  }
}
for (const key of ['window', 'document', 'navigator', 'location', 'self']) {
  Object.defineProperty(globalThis, key, {
    value: key === 'window' || key === 'self' ? window : window[key],
    configurable: true,
    writable: true,
  });
}
globalThis.requestAnimationFrame ??= (callback) => setTimeout(callback, 0);
globalThis.cancelAnimationFrame ??= (id) => clearTimeout(id);
window.matchMedia ??= () => ({
  matches: false,
  addListener() {},
  removeListener() {},
  addEventListener() {},
  removeEventListener() {},
});
globalThis.matchMedia ??= window.matchMedia;

// In a browser an element's attributes are own properties of its
// NamedNodeMap by name (`attributes.href`), which is how the editor's
// parser (hpq) reads a `source: attribute` value such as a button's URL;
// happy-dom answers them only through its proxy's get, so say they are there.
let proto = window.Element.prototype;
let attributes;
while (proto && !(attributes = Object.getOwnPropertyDescriptor(proto, 'attributes'))) {
  proto = Object.getPrototypeOf(proto);
}
Object.defineProperty(window.Element.prototype, 'attributes', {
  configurable: true,
  get() {
    return new Proxy(attributes.get.call(this), {
      getOwnPropertyDescriptor(map, key) {
        const attribute = typeof key === 'string' ? map.getNamedItem(key) : null;
        return attribute
          ? { value: attribute, enumerable: false, configurable: true, writable: false }
          : Reflect.getOwnPropertyDescriptor(map, key);
      },
    });
  },
});

// Parsing logs each invalid block and each migration to the console; the
// report says it all, so keep stdout to the JSON.
const quiet = () => {};
for (const method of ['log', 'info', 'warn', 'error', 'group', 'groupCollapsed', 'groupEnd', 'debug']) {
  console[method] = quiet;
}

// Two copies of a package that registers block hooks (a nested
// @wordpress/block-editor, say) would apply each save hook twice and double
// classes; package.json's overrides keep one copy of each.
const wordpress = fileURLToPath(new URL('../node_modules/@wordpress', import.meta.url));
const nested = readdirSync(wordpress).flatMap((name) =>
  ['blocks', 'block-editor', 'hooks', 'element', 'rich-text']
    .map((dup) => join(wordpress, name, 'node_modules/@wordpress', dup))
    .filter((path) => existsSync(path)),
);
if (nested.length) {
  process.stderr.write(
    `more than one copy of the editor's packages: ${nested.join(', ')}; run \`npm ci\` in web/\n`,
  );
  process.exit(2);
}

// The packages' ES module builds import JSON the way bundlers do, which
// Node refuses; their CommonJS builds load as they are.
const require = createRequire(import.meta.url);
const blocks = require('@wordpress/blocks');
const { registerCoreBlocks } = require('@wordpress/block-library');
registerCoreBlocks();

// The validator's own words, less its closing dump of the block type.
function issues(block) {
  return (block.validationIssues ?? [])
    .filter(({ args }) => !String(args[0]).startsWith('Block validation failed'))
    .map(({ args: [message, ...values] }) => {
      let rest = values;
      return String(message).replace(/%[so]/g, () => {
        const [value, ...others] = rest;
        rest = others;
        return typeof value === 'string' ? value : JSON.stringify(value);
      });
    });
}

// Why a parsed block would not be saved back as it is, or null.
function problem(block) {
  if (block.name === 'core/missing' || block.name === 'core/freeform') {
    return `${block.name} (not a registered block, or HTML outside any block)`;
  }
  if (!block.isValid) {
    return `invalid: ${issues(block).join('; ') || 'content differs from save()'}`;
  }
  // A block that validated only through a deprecation or a built-in fix has
  // new attributes whose save() output is not what the page holds.
  const [validNow] = blocks.validateBlock(block);
  if (!validNow) {
    return 'valid only through a deprecation or a built-in fix: the editor would save it differently';
  }
  return null;
}

// What the editor's save() writes for the block now.
function saveContent(block) {
  try {
    return blocks.getSaveContent(block.name, block.attributes, block.innerBlocks);
  } catch (error) {
    return `save() threw: ${error.message}`;
  }
}

function check(list, path, found) {
  for (const [index, block] of list.entries()) {
    const where = `${path}/${index}:${block.name}`;
    found.count += 1;
    const issue = problem(block);
    if (issue) {
      found.invalid.push({
        block: where,
        problem: issue,
        page: block.originalContent,
        editor: saveContent(block),
      });
    }
    check(block.innerBlocks ?? [], where, found);
  }
}

function firstDifference(expected, actual) {
  const a = expected.split('\n');
  const b = actual.split('\n');
  for (let i = 0; i < Math.max(a.length, b.length); i += 1) {
    if (a[i] !== b[i]) {
      return { line: i + 1, page: a[i] ?? null, editor: b[i] ?? null };
    }
  }
  return null;
}

const report = { pages: pages.length, blocks: 0, invalid: [], rewritten: [] };
for (const page of pages) {
  const name = page.site ? `${page.site}/${page.slug}` : page.slug;
  const parsed = blocks.parse(page.blocks);
  const found = { count: 0, invalid: [] };
  check(parsed, '', found);
  report.blocks += found.count;
  if (found.invalid.length) {
    report.invalid.push({ page: name, blocks: found.invalid });
  }
  const saved = blocks.serialize(parsed);
  if (saved !== page.blocks) {
    report.rewritten.push({ page: name, first_difference: firstDifference(page.blocks, saved) });
  }
}
process.stdout.write(`${JSON.stringify(report, null, 2)}\n`);
process.exit(report.invalid.length || report.rewritten.length ? 1 : 0);
