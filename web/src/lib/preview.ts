// A page's preview: its block markup (already escaped HTML from the control
// plane's renderer) in a document styled with the site's palette and fonts,
// for a sandboxed iframe that runs no script.

import type { Design } from '../api/types';

/// Drops the block delimiters (`<!-- wp:… -->`); the HTML between them is the page.
export function stripBlockComments(blocks: string): string {
  return blocks.replace(/<!--\s*\/?wp:[^]*?-->/g, '');
}

const FALLBACK_SERIF = 'Georgia, "Times New Roman", serif';
const FALLBACK_SANS = 'system-ui, -apple-system, "Segoe UI", Roboto, sans-serif';

function family(name: string, fallback: string) {
  const clean = name.replace(/["';{}<>\\]/g, '').trim();
  return clean ? `"${clean}", ${fallback}` : fallback;
}

function colour(value: string, fallback: string) {
  return /^#[0-9a-fA-F]{3,8}$/.test(value) ? value : fallback;
}

/// The preview as the deployed site draws it: the page's markup in a
/// document styled by the site's generated theme stylesheet
/// (`GET /sites/{id}/draft/theme.css`, the same section styles the theme
/// loads in WordPress), with the site's header and footer around it. Fonts
/// come from the control plane (`fontOrigin`); nothing else may load.
/// The images a page's markup shows from the bundle (`images/<file>`
/// paths): drawn ones (PNG) and downloaded stock photos (JPEG, PNG, WebP).
export function referencedImages(blocks: string): string[] {
  const files = new Set<string>();
  for (const match of blocks.matchAll(MEDIA)) files.add(match[1]);
  return [...files];
}

const MEDIA = /#gsw-media=images\/([a-z0-9][a-z0-9.-]*\.(?:png|jpg|webp))"/g;

/// Where hotlinked stock photos are shown from (Unsplash's API guidelines
/// ask that its images be shown from its own servers).
export const HOTLINKED_IMAGES = 'https://images.unsplash.com';

/// A transparent pixel: the stand-in of an image not loaded (yet).
const BLANK = 'data:image/gif;base64,R0lGODlhAQABAIAAAAAAAP///yH5BAEAAAAALAAAAAABAAEAAAIBRAA7';

/// Puts the images in: `#gsw-media=images/<file>` becomes the data URL given
/// for `<file>`, or a transparent pixel until it is there (the address as
/// written would point the frame at the dashboard's own page).
export function withImages(blocks: string, images: Record<string, string>): string {
  return blocks.replace(MEDIA, (_whole, file: string) => {
    const url = images[file];
    return `${url && /^data:image\/(?:png|jpeg|webp);base64,/.test(url) ? url : BLANK}"`;
  });
}

export function themedDocument(blocks: string, css: string, title: string, siteName: string, fontOrigin: string): string {
  const safe = (text: string) => text.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;');
  const origin = /^https?:\/\/[^\s;'"]+$/.test(fontOrigin) ? fontOrigin : "'none'";
  // A stylesheet cannot end the <style> element it is put in.
  const style = css.replace(/<\/style/gi, '<\\/style');
  return `<!doctype html><html><head><meta charset="utf-8"><meta name="viewport" content="width=device-width,initial-scale=1">
<meta http-equiv="Content-Security-Policy" content="default-src 'none'; style-src 'unsafe-inline'; font-src ${origin}; img-src data: ${origin} ${HOTLINKED_IMAGES}">
<title>${safe(title)}</title><style>*{box-sizing:border-box}body{margin:0}</style><style>${style}</style></head>
<body class="gsw-preview"><div class="wp-site-blocks"><header class="gsw-header"><div class="gsw-header-inner"><p class="wp-block-site-title">${safe(siteName)}</p></div></header>
<main>${stripBlockComments(blocks)}</main></div></body></html>`;
}

export function previewDocument(blocks: string, design: Design, title: string): string {
  const p = design.palette;
  const base = colour(p.base, '#ffffff');
  const text = colour(p.contrast, '#111111');
  const primary = colour(p.primary, '#3b5bdb');
  const onPrimary = colour(p.on_primary, '#ffffff');
  const secondary = colour(p.secondary, '#f1f3f5');
  const accent = colour(p.accent, primary);
  const heading = family(design.fonts.heading, FALLBACK_SERIF);
  const body = family(design.fonts.body, FALLBACK_SANS);
  const safeTitle = title.replace(/[<>&]/g, '');
  return `<!doctype html><html><head><meta charset="utf-8"><meta name="viewport" content="width=device-width,initial-scale=1">
<meta http-equiv="Content-Security-Policy" content="default-src 'none'; style-src 'unsafe-inline'; img-src data:">
<title>${safeTitle}</title><style>
*{box-sizing:border-box}
html{font-size:16px}
body{margin:0;background:${base};color:${text};font-family:${body};line-height:1.65}
h1,h2,h3{font-family:${heading};color:${primary};line-height:1.2;margin:0 0 .6em}
h1{font-size:clamp(1.9rem,4vw,2.8rem)} h2{font-size:clamp(1.4rem,3vw,1.9rem)} h3{font-size:1.15rem}
p{margin:0 0 1em;max-width:65ch}
a{color:${primary}}
.gsw-section{padding:clamp(2rem,5vw,3.5rem) clamp(1rem,4vw,3rem);border-bottom:4px solid ${accent}22}
.gsw-section:nth-of-type(even){background:${secondary}}
.gsw-hero{padding-top:clamp(3rem,8vw,5rem);padding-bottom:clamp(3rem,8vw,5rem)}
.wp-block-columns{display:grid;grid-template-columns:repeat(auto-fit,minmax(13rem,1fr));gap:1.5rem;margin-top:1.5rem}
.wp-block-column{background:${base};border-radius:.75rem;padding:1.25rem;box-shadow:0 1px 2px #0001;border:1px solid ${text}14}
ol{padding-left:1.4rem} li{margin:.4em 0}
.wp-block-buttons{margin-top:1.5rem}
.wp-block-button__link{display:inline-block;background:${primary};color:${onPrimary};padding:.75rem 1.4rem;border-radius:999px;text-decoration:none;font-weight:600}
</style></head><body>${stripBlockComments(withImages(blocks, {}))}</body></html>`;
}
