// What the dashboard needs to know about a theme or plugin zip before it
// sends it: the names inside (from the zip's central directory, nothing is
// unpacked), whether it is a theme or a plugin, and its bytes as base64.

const END_OF_DIRECTORY = 0x06054b50;
const DIRECTORY_ENTRY = 0x02014b50;

/// The names of a zip's entries; null when the bytes are not a zip.
export function zipNames(bytes: Uint8Array): string[] | null {
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  // The end record is the last 22 bytes, or further back by a comment of up to 64 KiB.
  let end = -1;
  for (let at = bytes.length - 22; at >= Math.max(0, bytes.length - 22 - 0xffff); at--) {
    if (view.getUint32(at, true) === END_OF_DIRECTORY) {
      end = at;
      break;
    }
  }
  if (end < 0) return null;
  const count = view.getUint16(end + 10, true);
  let at = view.getUint32(end + 16, true);
  const names: string[] = [];
  const decoder = new TextDecoder();
  for (let i = 0; i < count; i++) {
    if (at + 46 > bytes.length || view.getUint32(at, true) !== DIRECTORY_ENTRY) return null;
    const nameLength = view.getUint16(at + 28, true);
    const extraLength = view.getUint16(at + 30, true);
    const commentLength = view.getUint16(at + 32, true);
    if (at + 46 + nameLength > bytes.length) return null;
    names.push(decoder.decode(bytes.subarray(at + 46, at + 46 + nameLength)));
    at += 46 + nameLength + extraLength + commentLength;
  }
  return names;
}

export type PackageKind = 'theme' | 'plugin';

/// A theme is a folder holding style.css at its top; anything else is taken for a plugin.
export function guessKind(names: string[]): PackageKind {
  return names.some((n) => /^[^/]+\/style\.css$/.test(n)) ? 'theme' : 'plugin';
}

/// A file name the bundle format takes: letters, digits, dot, dash and underscore, ending in .zip.
export function packagePath(name: string): string {
  const base = name.replace(/\.zip$/i, '').replace(/[^A-Za-z0-9._-]+/g, '-').replace(/^[.-]+/, '') || 'package';
  return `${base}.zip`;
}

/// Base64 of any size (btoa takes a string, so in chunks).
export function toBase64(bytes: Uint8Array): string {
  let binary = '';
  for (let i = 0; i < bytes.length; i += 0x8000) {
    binary += String.fromCharCode(...bytes.subarray(i, i + 0x8000));
  }
  return btoa(binary);
}
