// Writes a .gz and a .br beside each text file of dist/, so the control
// plane can serve them precompressed. Both encoders are deterministic (gzip
// with no timestamp), so a rebuild gives the same bytes and CI can check
// that the committed dist/ is current.
import { readdirSync, readFileSync, statSync, writeFileSync, unlinkSync } from 'node:fs';
import { join } from 'node:path';
import { brotliCompressSync, constants, gzipSync } from 'node:zlib';

const root = new URL('../dist/', import.meta.url).pathname;
const TEXT = /\.(html|js|css|svg|json|txt|map)$/;

function walk(dir) {
  return readdirSync(dir).flatMap((name) => {
    const path = join(dir, name);
    return statSync(path).isDirectory() ? walk(path) : [path];
  });
}

let raw = 0;
let gz = 0;
let br = 0;
for (const file of walk(root)) {
  if (file.endsWith('.gz') || file.endsWith('.br')) {
    unlinkSync(file);
    continue;
  }
  if (!TEXT.test(file)) continue;
  const bytes = readFileSync(file);
  const gzipped = gzipSync(bytes, { level: 9 });
  const brotli = brotliCompressSync(bytes, {
    params: { [constants.BROTLI_PARAM_QUALITY]: 11, [constants.BROTLI_PARAM_SIZE_HINT]: bytes.length },
  });
  writeFileSync(`${file}.gz`, gzipped);
  writeFileSync(`${file}.br`, brotli);
  raw += bytes.length;
  gz += gzipped.length;
  br += brotli.length;
}
console.log(`dist: ${raw} bytes of text, ${gz} gzip, ${br} brotli`);
