// A page saved unchanged by the block editor comes back byte for byte.
//
//   node e2e/block-roundtrip.mjs pages.json [--editor EDITOR]
//
// pages.json is `[{"slug", "blocks", "site"?}]`. For each page this does what
// the editor does on open and save, with the editor's own code on a
// happy-dom DOM: parse(), then serialize(). EDITOR says whose:
//
//   newest               @wordpress/blocks and @wordpress/block-library as
//                        web/package.json pins them (the default)
//   wordpress:DIR        the editor scripts a WordPress install ships
//                        (DIR/wp-includes/js/dist, loaded in the order its
//                        script loader would), e.g. Debian's 6.1 in
//                        /usr/share/wordpress
//   packages:DIR         the packages installed in DIR/node_modules, e.g.
//                        e2e/wordpress-6.7 (the versions WordPress 6.7 ships)
//
// The JSON report lists, per page, blocks that are `invalid` (the editor
// shows them as broken: unregistered, or content its save() does not
// produce), blocks `migrated` (valid only through a deprecation or a
// built-in fix, so the editor writes new markup for them), and pages
// `rewritten` (serialize() after parse() differs from the input; a
// deprecation whose `isEligible` asks to migrate markup that still
// validates, as for a post-date block without its date binding, shows
// here). Exits 1
// when any list is not empty (the caller decides which ones matter for an
// older editor), 2 on bad input or a broken install.

import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { execFileSync } from 'node:child_process';
import { createRequire } from 'node:module';
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import vm from 'node:vm';
import { Window } from 'happy-dom';

function fail(message) {
  process.stderr.write(`${message}\n`);
  process.exit(2);
}

const args = process.argv.slice(2);
let editor = 'newest';
const editorAt = args.indexOf('--editor');
if (editorAt >= 0) {
  editor = args[editorAt + 1] ?? '';
  args.splice(editorAt, 2);
}
if (!/^(newest|wordpress:.+|packages:.+)$/.test(editor)) {
  fail(`--editor takes newest, wordpress:DIR or packages:DIR, not "${editor}"`);
}
const file = args[0];
if (!file || args.length > 1) {
  fail('usage: node e2e/block-roundtrip.mjs PAGES.json [--editor newest|wordpress:DIR|packages:DIR]');
}
let pages;
try {
  pages = JSON.parse(readFileSync(file, 'utf8'));
  if (!Array.isArray(pages)) throw new Error('expected an array of {"slug", "blocks"}');
} catch (error) {
  fail(`cannot read ${file}: ${error.message}`);
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
function singleCopies(nodeModules) {
  const wordpress = join(nodeModules, '@wordpress');
  if (!existsSync(wordpress)) {
    fail(`the editor's packages are not installed in ${nodeModules}: run \`npm ci\` there`);
  }
  const nested = readdirSync(wordpress).flatMap((name) =>
    ['blocks', 'block-editor', 'hooks', 'element', 'rich-text']
      .map((dup) => join(wordpress, name, 'node_modules/@wordpress', dup))
      .filter((path) => existsSync(path)),
  );
  if (nested.length) {
    fail(`more than one copy of the editor's packages: ${nested.join(', ')}; run \`npm ci\``);
  }
}

// The packages' ES module builds import JSON the way bundlers do, which
// Node refuses; their CommonJS builds load as they are.
function fromPackages(dir) {
  singleCopies(join(dir, 'node_modules'));
  const require = createRequire(join(dir, 'package.json'));
  const blocks = require('@wordpress/blocks');
  const { registerCoreBlocks } = require('@wordpress/block-library');
  return { blocks, registerCoreBlocks };
}

// Vendor scripts WordPress registers itself (not in its packages' list),
// with what each needs first.
const VENDOR = {
  react: [],
  'react-dom': ['react'],
  lodash: [],
  moment: [],
  'regenerator-runtime': [],
  'wp-polyfill': ['regenerator-runtime'],
};

// The editor as a WordPress install ships it: its dist scripts, each after
// the scripts it depends on (as its script loader orders them), run as
// plain scripts on the page's globals.
function fromWordPress(root) {
  const list = join(root, 'wp-includes/assets/script-loader-packages.php');
  if (!existsSync(list)) fail(`${root} is not a WordPress folder (no ${list})`);
  let packages;
  try {
    packages = JSON.parse(
      execFileSync('php', ['-r', `echo json_encode(include $argv[1]);`, list], { encoding: 'utf8' }),
    );
  } catch (error) {
    fail(`cannot read ${list} with php: ${error.message}`);
  }
  const order = [];
  const seen = new Set();
  const visit = (handle) => {
    if (seen.has(handle)) return;
    seen.add(handle);
    let path;
    let needs;
    if (handle in VENDOR) {
      path = join(root, 'wp-includes/js/dist/vendor', `${handle}.js`);
      needs = VENDOR[handle];
    } else {
      const name = handle.replace(/^wp-/, '');
      const entry = packages[`${name}.js`];
      if (!entry) fail(`${root} has no script ${handle}`);
      path = join(root, 'wp-includes/js/dist', `${name}.js`);
      needs = entry.dependencies;
    }
    needs.forEach(visit);
    order.push(path);
  };
  visit('wp-block-library');
  for (const path of order) {
    vm.runInThisContext(readFileSync(path, 'utf8'), { filename: path });
    // What WordPress prints after its vendor scripts: lodash under its own
    // name, and the UMD globals where the packages read them (`window.X`).
    if (path.endsWith('/lodash.js')) window.lodash = globalThis._.noConflict();
    for (const name of ['React', 'ReactDOM', 'moment', 'regeneratorRuntime']) {
      if (globalThis[name] && !window[name]) window[name] = globalThis[name];
    }
  }
  const { blocks, blockLibrary } = window.wp;
  return { blocks, registerCoreBlocks: blockLibrary.registerCoreBlocks };
}

const web = fileURLToPath(new URL('..', import.meta.url));
let loaded;
if (editor === 'newest') {
  loaded = fromPackages(web);
} else if (editor.startsWith('packages:')) {
  loaded = fromPackages(resolve(web, editor.slice('packages:'.length)));
} else {
  loaded = fromWordPress(resolve(editor.slice('wordpress:'.length)));
}
const { blocks } = loaded;
loaded.registerCoreBlocks();

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

// Why a parsed block would not be saved back as it is, or null: `invalid`
// when the editor shows it as broken (unregistered, or content its save()
// does not produce, so the user is asked to recover it), `migrated` when it
// opens fine only through a deprecation or a built-in fix, so the editor
// would write new markup for it.
function problem(block) {
  if (block.name === 'core/missing' || block.name === 'core/freeform') {
    return ['invalid', `${block.name} (not a registered block, or HTML outside any block)`];
  }
  if (!block.isValid) {
    return ['invalid', issues(block).join('; ') || 'content differs from save()'];
  }
  // A block that validated only through a deprecation or a built-in fix has
  // new attributes whose save() output is not what the page holds.
  const [validNow] = blocks.validateBlock(block);
  if (!validNow) {
    return ['migrated', 'valid only through a deprecation or a built-in fix: the editor would save it differently'];
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
      found[issue[0]].push({
        block: where,
        problem: issue[1],
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

const report = { editor, pages: pages.length, blocks: 0, invalid: [], migrated: [], rewritten: [] };
for (const page of pages) {
  const name = page.site ? `${page.site}/${page.slug}` : page.slug;
  const parsed = blocks.parse(page.blocks);
  const found = { count: 0, invalid: [], migrated: [] };
  check(parsed, '', found);
  report.blocks += found.count;
  for (const kind of ['invalid', 'migrated']) {
    if (found[kind].length) report[kind].push({ page: name, blocks: found[kind] });
  }
  const saved = blocks.serialize(parsed);
  if (saved !== page.blocks) {
    report.rewritten.push({ page: name, first_difference: firstDifference(page.blocks, saved) });
  }
}
// Exits once the report is written out: exiting at once would cut a report
// longer than the pipe's buffer short.
const code = report.invalid.length || report.migrated.length || report.rewritten.length ? 1 : 0;
process.stdout.write(`${JSON.stringify(report, null, 2)}\n`, () => process.exit(code));
