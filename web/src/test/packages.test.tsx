import { act, fireEvent, render, screen, waitFor } from '@testing-library/react';
import { describe, expect, it, vi } from 'vitest';
import { api } from '../api/client';
import { BulkPush } from '../components/BulkPush';
import { guessKind, packagePath, toBase64, zipNames } from '../lib/zip';

// Made with Python's zipfile (deflated); the plugin's has a comment after its directory.
const THEME_ZIP =
  'UEsDBBQAAAAIAHNmel1VdjnoGAAAABYAAAAOAAAAbHVuZS9zdHlsZS5jc3PT11IIyUjNTVXwS8xNtVLwKc1LVdDSBwBQSwMEFAAAAAgAc2Z6Xc0XJOwbAAAAGQAAABkAAABsdW5lL3RlbXBsYXRlcy9pbmRleC5odG1ss1HU1VUoL7AqyC8u0U3OzytJzStR0NfVtQMAUEsBAhQDFAAAAAgAc2Z6XVV2OegYAAAAFgAAAA4AAAAAAAAAAAAAAIABAAAAAGx1bmUvc3R5bGUuY3NzUEsBAhQDFAAAAAgAc2Z6Xc0XJOwbAAAAGQAAABkAAAAAAAAAAAAAAIABRAAAAGx1bmUvdGVtcGxhdGVzL2luZGV4Lmh0bWxQSwUGAAAAAAIAAgCDAAAAlgAAAAAA';
const PLUGIN_ZIP =
  'UEsDBBQAAAAIAHNmel0yoY/PIAAAAB4AAAAPAAAAaGVsbG8vaGVsbG8ucGhws7EvyChQ0NdSCMgpTc/MU/BLzE21UvBIzcnJV9DSBwBQSwMEFAAAAAgAc2Z6XYMW3IwDAAAAAQAAABAAAABoZWxsby9yZWFkbWUudHh0qwAAUEsBAhQDFAAAAAgAc2Z6XTKhj88gAAAAHgAAAA8AAAAAAAAAAAAAAIABAAAAAGhlbGxvL2hlbGxvLnBocFBLAQIUAxQAAAAIAHNmel2DFtyMAwAAAAEAAAAQAAAAAAAAAAAAAACAAU0AAABoZWxsby9yZWFkbWUudHh0UEsFBgAAAAACAAIAewAAAH4AAAAPAG1hZGUgZm9yIGEgdGVzdA==';

const bytesOf = (b64: string) => Uint8Array.from(atob(b64), (c) => c.charCodeAt(0));
const fileOf = (name: string, b64: string) => new File([bytesOf(b64)], name, { type: 'application/zip' });

describe('zips', () => {
  it('reads entry names from the directory and tells a theme from a plugin', () => {
    expect(zipNames(bytesOf(THEME_ZIP))).toEqual(['lune/style.css', 'lune/templates/index.html']);
    expect(zipNames(bytesOf(PLUGIN_ZIP))).toEqual(['hello/hello.php', 'hello/readme.txt']);
    expect(guessKind(zipNames(bytesOf(THEME_ZIP))!)).toBe('theme');
    expect(guessKind(zipNames(bytesOf(PLUGIN_ZIP))!)).toBe('plugin');
    expect(guessKind(['lune/assets/style.css'])).toBe('plugin');
    expect(zipNames(new TextEncoder().encode('not a zip at all, not even close'))).toBeNull();
    expect(zipNames(new Uint8Array(3))).toBeNull();
  });

  it('names and encodes packages as the bundle format takes them', () => {
    expect(packagePath('My Theme (v2).ZIP')).toBe('My-Theme-v2-.zip');
    expect(packagePath('../../etc.zip')).toBe('etc.zip');
    expect(packagePath('.zip')).toBe('package.zip');
    const big = new Uint8Array(100_000).map((_, i) => i % 251);
    expect(atob(toBase64(big)).length).toBe(100_000);
    expect(toBase64(new TextEncoder().encode('hi'))).toBe('aGk=');
  });
});

describe('pushing themes and plugins', () => {
  it('sends the chosen zips to every site in one request and follows each deployment', async () => {
    const row = (id: string) => ({ site: { id, name: `Site ${id}` } }) as never;
    const request = vi.spyOn(api, 'request').mockImplementation(async (_path: string, options?: { body?: unknown }) => {
      const body = options?.body as { site_ids: string[] };
      return { deployments: body.site_ids.map((id) => ({ id: `dep-${id}`, site_id: id, status: 'queued', error: null })) };
    });
    render(<BulkPush rows={[row('a'), row('b')]} what="packages" onClose={() => {}} />);
    const start = screen.getByRole<HTMLButtonElement>('button', { name: 'Start the push' });
    expect(start.disabled).toBe(true);

    const input = screen.getByLabelText('Theme and plugin zips');
    await act(async () => {
      fireEvent.change(input, { target: { files: [fileOf('lune.zip', THEME_ZIP), fileOf('hello.zip', PLUGIN_ZIP), fileOf('notes.zip', btoa('just text'))] } });
    });
    await waitFor(() => expect(screen.getByText('notes.zip is not a zip file.')).toBeTruthy());
    expect(screen.getByLabelText<HTMLSelectElement>('Kind of lune.zip').value).toBe('theme');
    expect(screen.getByLabelText<HTMLSelectElement>('Kind of hello.zip').value).toBe('plugin');

    await act(async () => {
      fireEvent.click(start);
    });
    await waitFor(() => expect(screen.getAllByText('queued')).toHaveLength(2));
    expect(request).toHaveBeenCalledTimes(1);
    const [path, options] = request.mock.calls[0] as [string, { method: string; body: { site_ids: string[]; items: { kind: string; path: string; content_base64: string }[] } }];
    expect(path).toBe('/deployments');
    expect(options.method).toBe('POST');
    expect(options.body.site_ids).toEqual(['a', 'b']);
    expect(options.body.items.map((i) => [i.kind, i.path])).toEqual([
      ['theme', 'lune.zip'],
      ['plugin', 'hello.zip'],
    ]);
    expect(options.body.items[0].content_base64).toBe(THEME_ZIP);
    request.mockRestore();
  });
});
