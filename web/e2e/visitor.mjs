#!/usr/bin/env node
// A deployed WordPress site, checked as a visitor sees it, in Debian's
// Chromium driven by playwright-core:
//
//   node web/e2e/visitor.mjs --base-url http://127.0.0.1:8081 --site-name "Velo Vandaag" \
//        --heading-font "Playfair Display" [--out DIR] [--label NAME]
//
// From the home page it follows the site's own links (menu, buttons, text)
// to every page, and on each checks, at 1280 and 390 pixels wide: the
// <title> names the business, exactly one H1, no word of a heading broken
// across lines, every image has alt text, the heading font is loaded from
// the site (document.fonts), no console errors and no failed requests to
// the site. Every internal link must answer 200 and land where it points
// (a link to another page that lands on the home page is the symptom of
// hard-coded paths under plain permalinks). Screenshots of each page at
// both widths go to --out. With --lighthouse, Lighthouse (the npm package,
// in the same Chromium) audits the home page as a phone (its default
// simulated mobile throttling): SEO, accessibility and best practices must
// reach --min-score (default 95); the scores, performance's included, are
// in the report.
//
// With --dashboard URL --session FILE --site-id ID, the dashboard's own
// preview of the home page (the document its editor puts in the preview
// frame, read from the editor signed in with the session in FILE, as the
// dashboard keeps it: {access_token, refresh_token}) is drawn at each width
// and compared with the live page's content (its <main>) by pixelmatch:
// the share of differing pixels must stay under --max-mismatch (default
// 0.02) and the heights within 2% of each other. The two screenshots and
// the difference go to --out.
//
// Prints a JSON report and exits non-zero on any failure.

import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import pixelmatch from 'pixelmatch';
import { PNG } from 'pngjs';
import { chromium } from 'playwright-core';

const args = {};
for (let i = 2; i < process.argv.length; i += 1) {
  const key = process.argv[i].replace(/^--/, '');
  const value = process.argv[i + 1];
  if (value === undefined || value.startsWith('--')) {
    args[key] = 'true';
  } else {
    args[key] = value;
    i += 1;
  }
}
const base = (args['base-url'] ?? '').replace(/\/$/, '');
const siteName = args['site-name'] ?? '';
const headingFont = args['heading-font'] ?? '';
const out = args.out ?? 'visitor-screenshots';
const label = args.label ?? 'site';
const CHROMIUM = process.env.GSW_TEST_CHROMIUM ?? '/usr/bin/chromium';
const MAX_PAGES = 40;
const MIN_SCORE = Number(args['min-score'] ?? 95);
const MAX_MISMATCH = Number(args['max-mismatch'] ?? 0.02);
const WIDTHS = [
  { name: 'desktop', width: 1280, height: 900 },
  { name: 'phone', width: 390, height: 844 },
];

if (!base || !siteName) {
  console.error('usage: node web/e2e/visitor.mjs --base-url URL --site-name NAME [--heading-font FAMILY] [--out DIR]');
  process.exit(2);
}
if (!existsSync(CHROMIUM)) {
  console.error(`Chromium is not at ${CHROMIUM}: install Debian's package (apt-get install chromium) or set GSW_TEST_CHROMIUM.`);
  process.exit(3);
}
mkdirSync(out, { recursive: true });

const failures = [];
const fail = (page, what) => failures.push(`${page}: ${what}`);

/** The same-site links of the current page, absolute, without fragments. */
async function linksOf(page) {
  return page.$$eval(
    'a[href]',
    (anchors, origin) =>
      anchors
        .map((a) => ({ href: a.href, text: a.textContent.trim(), button: a.classList.contains('wp-block-button__link') }))
        .filter((l) => l.href.startsWith(origin) && !/\/wp-(admin|login|json)|\/feed\/?$|xmlrpc|\?s=/.test(l.href)),
    new URL(base).origin,
  );
}

/** Words of headings drawn on more than one line. */
async function brokenWords(page) {
  return page.$$eval('h1, h2, h3, h4, .wp-block-site-title', (headings) => {
    const broken = [];
    for (const heading of headings) {
      const walker = document.createTreeWalker(heading, NodeFilter.SHOW_TEXT);
      for (let node = walker.nextNode(); node; node = walker.nextNode()) {
        for (const match of node.textContent.matchAll(/\S+/g)) {
          const range = document.createRange();
          range.setStart(node, match.index);
          range.setEnd(node, match.index + match[0].length);
          const tops = new Set([...range.getClientRects()].filter((r) => r.width > 0).map((r) => Math.round(r.top)));
          if (tops.size > 1) broken.push(`${heading.tagName} "${match[0]}"`);
        }
      }
    }
    return broken;
  });
}

const DEBUG_PORT = 9300 + Math.floor(Math.random() * 600);
const browser = await chromium.launch({
  executablePath: CHROMIUM,
  args: ['--no-sandbox', '--disable-gpu', '--no-first-run', '--font-render-hinting=none', ...(args.lighthouse ? [`--remote-debugging-port=${DEBUG_PORT}`] : [])],
});
const report = { base, pages: {} };
try {
  const context = await browser.newContext({ viewport: WIDTHS[0] });
  const page = await context.newPage();
  const consoleErrors = [];
  page.on('console', (m) => m.type() === 'error' && consoleErrors.push(m.text()));
  page.on('pageerror', (e) => consoleErrors.push(String(e)));
  page.on('response', (r) => {
    if (r.url().startsWith(base) && r.status() >= 400 && !r.url().endsWith('/favicon.ico')) {
      consoleErrors.push(`${r.status()} ${r.url()}`);
    }
  });

  // The home page's canonical identity, to tell "landed on home" apart.
  const queue = [`${base}/`];
  const seen = new Set();
  const canonicalOf = new Map();
  const linksFrom = new Map();
  while (queue.length && seen.size < MAX_PAGES) {
    const url = queue.shift();
    if (seen.has(url)) continue;
    seen.add(url);
    const name = url === `${base}/` ? 'home' : url.slice(base.length);
    const entry = {};
    report.pages[name] = entry;
    for (const viewport of WIDTHS) {
      await page.setViewportSize({ width: viewport.width, height: viewport.height });
      consoleErrors.length = 0;
      const response = await page.goto(url, { waitUntil: 'load' });
      await page.evaluate(() => document.fonts.ready);
      if (!response || response.status() !== 200) {
        fail(name, `answered ${response?.status()}`);
        continue;
      }
      const facts = await page.evaluate((family) => {
        const loaded = [...document.fonts].filter((f) => f.status === 'loaded').map((f) => f.family.replace(/["']/g, ''));
        const h1 = [...document.querySelectorAll('h1')].map((h) => h.textContent.trim());
        const canonical = document.querySelector('link[rel=canonical]')?.href ?? null;
        const images = [...document.images].map((i) => ({ src: i.currentSrc || i.src, alt: i.getAttribute('alt') }));
        const headingFamily = getComputedStyle(document.querySelector('h1') ?? document.body).fontFamily;
        const overflow = document.documentElement.scrollWidth > window.innerWidth + 1;
        return { title: document.title, h1, canonical, images, loaded, headingFamily, overflow, lang: document.documentElement.lang, wants: family };
      }, headingFont);
      entry.title = facts.title;
      entry.h1 = facts.h1;
      entry.lang = facts.lang;
      if (!facts.title.includes(siteName)) fail(name, `title "${facts.title}" does not name ${siteName}`);
      if (facts.h1.length !== 1) fail(name, `${facts.h1.length} H1s at ${viewport.width}px: ${JSON.stringify(facts.h1)}`);
      for (const image of facts.images) {
        if (!image.alt || !image.alt.trim()) fail(name, `image without alt text: ${image.src}`);
      }
      if (headingFont && !facts.loaded.includes(headingFont)) {
        fail(name, `heading font ${headingFont} not loaded (loaded: ${JSON.stringify(facts.loaded)})`);
      }
      if (facts.overflow) fail(name, `the page is wider than the window at ${viewport.width}px`);
      for (const word of await brokenWords(page)) fail(name, `word broken inside a heading at ${viewport.width}px: ${word}`);
      for (const error of consoleErrors) fail(name, `console or request error: ${error}`);
      const file = `${label}-${name.replace(/[^a-z0-9]+/gi, '_').replace(/^_|_$/g, '') || 'home'}-${viewport.name}.png`;
      await page.screenshot({ path: join(out, file), fullPage: true });
      if (viewport === WIDTHS[0]) {
        canonicalOf.set(url, facts.canonical ?? page.url());
        const links = await linksOf(page);
        linksFrom.set(url, links);
        for (const link of links) {
          const target = link.href.split('#')[0];
          if (!seen.has(target)) queue.push(target);
        }
      }
    }
  }

  // Every internal link lands where it points: a page of its own, unless it
  // points at the home page.
  const home = canonicalOf.get(`${base}/`);
  for (const [from, links] of linksFrom) {
    for (const link of links) {
      const target = link.href.split('#')[0];
      if (!link.href.includes('#') && target !== `${base}/` && canonicalOf.get(target) === home) {
        fail(from, `link "${link.text}" (${link.href}) lands on the home page`);
      }
      if (link.href.includes('#gsw-page=')) fail(from, `link "${link.text}" was never resolved: ${link.href}`);
    }
  }
  report.pages_visited = seen.size;
  report.buttons = [...linksFrom.values()].flat().filter((l) => l.button).length;
  await context.close();

  if (args.dashboard) {
    report.preview = await comparePreview(browser);
  }

  if (args.lighthouse) {
    const { default: lighthouse } = await import('lighthouse');
    const result = await lighthouse(`${base}/`, {
      port: DEBUG_PORT,
      output: 'json',
      logLevel: 'error',
      onlyCategories: ['performance', 'accessibility', 'best-practices', 'seo'],
    });
    const scores = Object.fromEntries(Object.entries(result.lhr.categories).map(([id, c]) => [id, Math.round((c.score ?? 0) * 100)]));
    report.lighthouse = scores;
    for (const id of ['seo', 'accessibility', 'best-practices']) {
      if (scores[id] < MIN_SCORE) {
        const audits = Object.values(result.lhr.audits)
          .filter((a) => a.score !== null && a.score < 1 && result.lhr.categories[id].auditRefs.some((r) => r.id === a.id && r.weight > 0))
          .map((a) => a.id);
        fail('home', `Lighthouse ${id} ${scores[id]} < ${MIN_SCORE} (failing audits: ${audits.join(', ')})`);
      }
    }
    writeFileSync(join(out, `${label}-lighthouse.json`), JSON.stringify(result.lhr, null, 1));
  }
} finally {
  await browser.close();
}

/** The dashboard editor's preview document of the site's home page. */
async function previewDocument(browser) {
  const session = JSON.parse(readFileSync(args.session, 'utf8'));
  const context = await browser.newContext({ viewport: WIDTHS[0] });
  await context.addInitScript((stored) => {
    localStorage.setItem('gsw.session', JSON.stringify({ ...stored, expires_at: Date.now() + 3_600_000 }));
  }, session);
  const page = await context.newPage();
  await page.goto(`${args.dashboard.replace(/\/$/, '')}/sites/${args['site-id']}/editor`);
  const frame = page.locator('iframe[title^="Preview of"]');
  await frame.waitFor({ timeout: 30_000 });
  const doc = await frame.getAttribute('srcdoc');
  await context.close();
  return doc;
}

/** A screenshot of an element as a PNG, and its height in CSS pixels. */
async function shoot(page, selector, path) {
  await page.evaluate(() => document.fonts.ready);
  // WordPress lazy-loads images below the fold and a screenshot does not
  // scroll: load them all, and wait until each has its pixels (a deferred
  // lazy image can report itself complete before it has loaded anything).
  await page.evaluate(async () => {
    const images = [...document.images];
    for (const image of images) image.loading = 'eager';
    await Promise.all(images.map((image) => image.decode().catch(() => null)));
  });
  await page.waitForFunction(() => [...document.images].every((i) => i.complete && i.naturalWidth > 0), null, {
    timeout: 15_000,
  });
  const element = page.locator(selector).first();
  const box = await element.boundingBox();
  const bytes = await element.screenshot({ path, animations: 'disabled' });
  return { png: PNG.sync.read(bytes), height: Math.round(box?.height ?? 0) };
}

/** The top `height` rows of a PNG. */
function crop(png, width, height) {
  const out = new PNG({ width, height });
  for (let y = 0; y < height; y += 1) {
    png.data.copy(out.data, y * width * 4, y * png.width * 4, y * png.width * 4 + width * 4);
  }
  return out;
}

/** The preview and the live home page, compared at each width. */
async function comparePreview(browser) {
  const doc = await previewDocument(browser);
  const results = {};
  for (const viewport of WIDTHS) {
    const context = await browser.newContext({ viewport: { width: viewport.width, height: viewport.height } });
    const page = await context.newPage();
    // Written into a page of the dashboard's origin, as the editor's frame
    // is: the stylesheet's font URLs are relative to it.
    await page.goto(`${args.dashboard.replace(/\/$/, '')}/api/v1/health`);
    await page.setContent(doc, { waitUntil: 'load' });
    const preview = await shoot(page, 'main', join(out, `${label}-preview-${viewport.name}.png`));
    await page.goto(`${base}/`, { waitUntil: 'load' });
    const live = await shoot(page, 'main', join(out, `${label}-live-${viewport.name}.png`));
    await context.close();
    const width = Math.min(preview.png.width, live.png.width);
    const height = Math.min(preview.png.height, live.png.height);
    const diff = new PNG({ width, height });
    const differing = pixelmatch(crop(preview.png, width, height).data, crop(live.png, width, height).data, diff.data, width, height, {
      threshold: 0.2,
    });
    writeFileSync(join(out, `${label}-preview-diff-${viewport.name}.png`), PNG.sync.write(diff));
    const mismatch = differing / (width * height || 1);
    const heights = { preview: preview.height, live: live.height };
    results[viewport.name] = { mismatch: Number(mismatch.toFixed(4)), heights };
    if (mismatch > MAX_MISMATCH) {
      fail('preview', `${(mismatch * 100).toFixed(1)}% of the pixels differ from the live page at ${viewport.width}px`);
    }
    if (Math.abs(preview.height - live.height) > 0.02 * Math.max(preview.height, live.height)) {
      fail('preview', `the preview is ${preview.height}px tall, the live page ${live.height}px, at ${viewport.width}px`);
    }
  }
  return results;
}

report.failures = failures;
writeFileSync(join(out, `${label}-report.json`), JSON.stringify(report, null, 2));
console.log(JSON.stringify(report));
process.exit(failures.length ? 1 : 0);
