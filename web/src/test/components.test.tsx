import { act, fireEvent, render, screen, waitFor, within } from '@testing-library/react';
import { describe, expect, it, vi } from 'vitest';
import { api, ApiError } from '../api/client';
import type { DraftPage, FleetPage } from '../api/types';
import { BulkPush, eachLimited, summarise } from '../components/BulkPush';
import { CONNECTOR_ZIP, ConnectSite, connectTitle, serverCommands } from '../components/ConnectSite';
import { Field, Input, deploymentStatus } from '../components/ui';
import { driftLabel, version } from '../lib/format';
import { previewDocument, referencedImages, stripBlockComments, themedDocument, withImages } from '../lib/preview';
import { match } from '../lib/router';
import { safeNext } from '../App';
import { checkForm, editOf, formOf, splitParagraphs } from '../pages/Editor';
import { stepsOf } from '../pages/Job';
import { SitesPage } from '../pages/Sites';
import { briefOf, EMPTY_FORM, validate, WizardPage } from '../pages/Wizard';
import { parseTags, rollbackBlocked } from '../pages/SiteDetail';

describe('Field', () => {
  it('labels its control and puts the message beside it', () => {
    render(<Field label="SEO title" error="Keep it to 60." count={{ used: 64, max: 60 }}>{(p) => <Input {...p} defaultValue="x" />}</Field>);
    const input = screen.getByLabelText('SEO title');
    expect(input.getAttribute('aria-invalid')).toBe('true');
    const described = input.getAttribute('aria-describedby')!.split(' ');
    const texts = described.map((id) => document.getElementById(id)?.textContent);
    expect(texts).toContain('Keep it to 60.');
    expect(texts).toContain('64/60');
  });
});

describe('Wizard', () => {
  it('validates each step next to its fields', () => {
    expect(validate(EMPTY_FORM, 0)).toEqual({
      business_name: 'Enter the name of the business.',
      type: 'Say what kind of business it is, such as “bakery”.',
    });
    expect(validate({ ...EMPTY_FORM, description: 'short' }, 1).description).toMatch(/at least 30/);
    expect(validate({ ...EMPTY_FORM, goals: [' ', ''] }, 2).goals).toBe('Give at least one goal for the site.');
    expect(validate({ ...EMPTY_FORM, goals: Array<string>(11).fill('x') }, 2).goals).toMatch(/at most 10/);
  });

  it('sends the brief the API takes, style folded into one line', () => {
    const brief = briefOf({ ...EMPTY_FORM, business_name: ' Lune ', type: 'bakery', description: 'd', goals: ['Sell', ' '], look: ['Warm', 'Classic'], tone: 'Friendly', colours: 'green' });
    expect(brief).toEqual({ business_name: 'Lune', type: 'bakery', description: 'd', goals: ['Sell'], style: 'Look: warm, classic. Tone: friendly. Colours: green.' });
    expect('style' in briefOf(EMPTY_FORM)).toBe(false);
  });

  it('walks the steps, keeps what was typed, and shows the server error on its step', async () => {
    const post = vi.spyOn(api, 'post').mockRejectedValue(new ApiError(422, 'validation', 'must be at most 200 characters', { field: 'business_name' }));
    const { unmount } = render(<WizardPage />);
    fireEvent.click(screen.getByRole('button', { name: 'Continue' }));
    expect(screen.getByText('Enter the name of the business.')).toBeTruthy();
    fireEvent.change(screen.getByLabelText('Business name'), { target: { value: 'Maison Lune' } });
    fireEvent.change(screen.getByLabelText('Type of business'), { target: { value: 'Bakery' } });
    fireEvent.click(screen.getByRole('button', { name: 'Continue' }));
    // What was typed survives a remount (a reload, or a trip through sign-in).
    unmount();
    render(<WizardPage />);
    expect(screen.getByLabelText('Description')).toBeTruthy();
    fireEvent.change(screen.getByLabelText('Description'), { target: { value: 'A family bakery in Lyon making sourdough bread and cakes.' } });
    fireEvent.click(screen.getByRole('button', { name: 'Continue' }));
    fireEvent.change(screen.getByLabelText('Goal 1'), { target: { value: 'Take orders' } });
    fireEvent.click(screen.getByRole('button', { name: 'Continue' }));
    fireEvent.click(screen.getByRole('button', { name: 'Warm' }));
    fireEvent.click(screen.getByRole('button', { name: 'Continue' }));
    expect(screen.getByText('Maison Lune · Bakery')).toBeTruthy();
    expect(screen.getByText('Look: warm.')).toBeTruthy();
    await act(async () => {
      fireEvent.click(screen.getByRole('button', { name: 'Generate' }));
    });
    expect(post).toHaveBeenCalledWith('/sites/generate', expect.objectContaining({ business_name: 'Maison Lune', goals: ['Take orders'] }));
    // Back on the first step, with the server's words beside the field.
    expect(await screen.findByText('Must be at most 200 characters.')).toBeTruthy();
    expect(screen.getByLabelText('Business name')).toBeTruthy();
    post.mockRestore();
  });
});

describe('generation progress', () => {
  const logs = ['planning the sitemap', 'planned 3 pages: Home, About, Contact', 'wrote the Home page', 'could not write the About page: model refused'].join('\n');

  it('shows planning, design, each page and plugins from the log', () => {
    const steps = stepsOf(logs, 'running', 'content');
    expect(steps.map((s) => [s.label, s.state])).toEqual([
      ['Planning the sitemap', 'done'],
      ['Design: palette, fonts and theme', 'running'],
      ['Home', 'done'],
      ['About', 'failed'],
      ['Contact', 'running'],
      ['Choosing plugins', 'waiting'],
      ['Assembling the draft', 'waiting'],
    ]);
    expect(steps[3].detail).toBe('model refused');
  });

  it('marks everything done when the job completes, and a regeneration as one step', () => {
    expect(stepsOf(logs, 'completed', 'done').filter((s) => s.state !== 'done').map((s) => s.label)).toEqual(['About']);
    const rewrite = stepsOf('rewriting section 2 of the About page', 'running', 'content');
    expect(rewrite).toHaveLength(1);
    expect(rewrite[0].label).toBe('Rewriting section 2 of the About page');
    expect(stepsOf('', 'queued', null)[0].state).toBe('waiting');
  });
});

const page: DraftPage = {
  slug: 'about',
  title: 'About',
  parent: null,
  path: '/about/',
  seo_title: 'About Lune',
  meta_description: 'A bakery.',
  blocks: '<!-- wp:group {"tagName":"section"} -->\n<section class="wp-block-group gsw-section gsw-hero"><!-- wp:heading {"level":1} -->\n<h1>About &amp; us</h1>\n<!-- /wp:heading --></section>\n<!-- /wp:group -->',
  content: {
    seo_title: 'About Lune',
    meta_description: 'A bakery.',
    sections: [{ kind: 'hero', heading: 'About us', paragraphs: ['One.', 'Two.'], items: [], link: { label: 'Call', slug: 'contact' } }],
  },
  variant: 0,
};

describe('editor', () => {
  it('sends only what changed', () => {
    const form = formOf(page);
    expect(editOf(page, form)).toEqual({});
    form.seo_title = 'Our story';
    form.sections[0].paragraphs = 'One.\n\nTwo,\nwrapped.';
    expect(editOf(page, form)).toEqual({ seo_title: 'Our story', sections: [{ index: 0, paragraphs: ['One.', 'Two, wrapped.'] }] });
  });

  it('counts characters against the search limits', () => {
    const form = { ...formOf(page), seo_title: 'x'.repeat(61), meta_description: '' };
    const errors = checkForm(form);
    expect(errors.seo_title).toBe('The SEO title is 61 characters; keep it to 60.');
    expect(errors.meta_description).toBe('The meta description cannot be empty.');
    expect(splitParagraphs('a\n\n\n b \n')).toEqual(['a', 'b']);
  });

  it('previews the block markup with the palette and fonts, without scripts', () => {
    const doc = previewDocument(page.blocks, {
      theme: 'twentytwentyfour',
      style: 'warm',
      palette: { base: '#fffaf0', contrast: '#222222', primary: '#8a3b12', on_primary: '#ffffff', secondary: '#f4e9dc', accent: '#d4a373' },
      fonts: { heading: 'Playfair Display', body: 'Inter"; } body { x' },
    }, 'About');
    expect(stripBlockComments(page.blocks)).not.toContain('wp:');
    expect(doc).toContain('<h1>About &amp; us</h1>');
    expect(doc).toContain('background:#fffaf0');
    expect(doc).toContain('"Playfair Display"');
    expect(doc).not.toContain('Inter";');
    expect(doc).toContain("default-src 'none'");
  });
});

describe('deployment status', () => {
  it('says applied with warnings when something was skipped', () => {
    expect(deploymentStatus({ status: 'applied', warnings: ['plan.json: contact-form-7 skipped'] })).toBe('applied_with_warnings');
    expect(deploymentStatus({ status: 'applied', warnings: [] })).toBe('applied');
    expect(deploymentStatus({ status: 'failed', warnings: ['x'] })).toBe('failed');
  });
});

describe('preview images', () => {
  it('finds the generated images and puts only PNG data URLs in', () => {
    const blocks = '<img src="#gsw-media=images/hero-home.png" alt="a"/><img src="#gsw-media=images/item-x.png" alt="b"/><img src="#gsw-media=images/hero-home.png" alt="c"/>';
    expect(referencedImages(blocks)).toEqual(['hero-home.png', 'item-x.png']);
    const out = withImages(blocks, { 'hero-home.png': 'data:image/png;base64,AAA', 'item-x.png': 'javascript:alert(1)' });
    expect(out).toContain('src="data:image/png;base64,AAA"');
    expect(out).not.toContain('#gsw-media');
    expect(out).toContain('src="data:image/gif;base64,');
    expect(out).not.toContain('javascript:');
  });

  it('puts downloaded stock photos in as image data URLs and leaves hotlinked ones as they are', () => {
    const blocks = '<img src="#gsw-media=images/hero-home.jpg" alt="a"/><img src="#gsw-media=images/item-x.webp" alt="b"/><img src="https://images.unsplash.com/photo-1?w=1080&amp;q=80" alt="c"/>';
    expect(referencedImages(blocks)).toEqual(['hero-home.jpg', 'item-x.webp']);
    const out = withImages(blocks, { 'hero-home.jpg': 'data:image/jpeg;base64,BBB', 'item-x.webp': 'data:text/html;base64,CCC' });
    expect(out).toContain('src="data:image/jpeg;base64,BBB"');
    expect(out).not.toContain('data:text/html');
    expect(out).toContain('src="https://images.unsplash.com/photo-1?w=1080&amp;q=80"');
  });
});

describe('themed preview', () => {
  it('renders with the theme stylesheet, loads fonts only from the control plane, and cannot be escaped', () => {
    const doc = themedDocument(page.blocks, '.gsw-hero{color:red}</style><script>x</script>', 'About', 'Fish & <Chips>', 'http://127.0.0.1:8080');
    expect(doc).toContain('.gsw-hero{color:red}');
    expect(doc).not.toContain('</style><script>');
    expect(doc).toContain("font-src http://127.0.0.1:8080");
    expect(doc).toContain('Fish &amp; &lt;Chips&gt;');
    expect(doc).toContain('<h1>About &amp; us</h1>');
    expect(themedDocument('', '', 't', 'n', "x'; script-src *")).toContain("font-src 'none'");
  });
});

describe('fleet', () => {
  it('describes drift and versions, or a dash before the agent reported them', () => {
    expect(driftLabel(undefined).text).toBe('—');
    expect(driftLabel({ checked: 9, drifted: [{ key: 'page:about', state: 'modified' }] }).text).toBe('1 changed');
    expect(driftLabel({ checked: 9, drifted: [] }).tone).toBe('ok');
    expect(driftLabel({ checked: 900, drifted: [{ key: 'a', state: 'deleted' }], total_drifted: 250 }).text).toBe('250 changed');
    expect(version('6.8.1')).toBe('6.8.1');
    expect(version(undefined)).toBe('—');
    expect(parseTags(' #Bakery, lyon,, bakery ')).toEqual(['bakery', 'lyon']);
  });

  it('shows the table with agent state, and an empty state', async () => {
    const rows: FleetPage = {
      total: 1,
      next_after: null,
      sites: [
        {
          site: { id: 's1', name: 'Maison Lune', domain: 'lune.example', wp_admin_url: null, status: 'active', allow_unfiltered_html: false, metadata: {}, created_at: '', updated_at: '', inventory: { wordpress_version: '6.8.1', php_version: '8.2', site_url: 'https://lune.example' } },
          tags: ['lyon'],
          agent: { id: 'a', connection: 'plugin', online: true, last_seen: new Date().toISOString(), hostname: 'h', agent_version: '1', last_applied: 3 },
          last_deployment: { id: 'd', sequence: 3, status: 'applied', error: null, created_at: new Date().toISOString(), updated_at: '' },
        },
      ],
    };
    const get = vi.spyOn(api, 'get').mockImplementation(async (path: string) => (path.startsWith('/fleet/tags') ? { tags: [{ tag: 'lyon', sites: 1 }] } : rows));
    render(<SitesPage />);
    expect(await screen.findByText('Maison Lune')).toBeTruthy();
    const table = within(screen.getByRole('table'));
    expect(table.getByText('Online')).toBeTruthy();
    expect(table.getByText(/Plugin only/)).toBeTruthy();
    expect(table.getByText('6.8.1')).toBeTruthy();
    expect(screen.getByRole('button', { name: 'Show sites tagged lyon' })).toBeTruthy();
    expect(screen.getByText('1 site in your fleet')).toBeTruthy();
    get.mockRestore();

    const empty = vi.spyOn(api, 'get').mockImplementation(async (path: string) => (path.startsWith('/fleet/tags') ? { tags: [] } : { sites: [], total: 0, next_after: null }));
    const { unmount } = render(<SitesPage />);
    expect(await screen.findByText('No sites yet')).toBeTruthy();
    unmount();
    empty.mockRestore();
  });

  it('pushes to each site and follows every deployment', async () => {
    const row = (id: string) => ({ site: { id, name: `Site ${id}` } }) as never;
    const request = vi.spyOn(api, 'request').mockImplementation(async (path: string) => {
      if (path.includes('/sites/b/')) throw new ApiError(422, 'validation_failed', 'this site has no draft to deploy');
      return { id: `dep-${path.split('/')[2]}`, status: 'queued', error: null };
    });
    render(<BulkPush rows={[row('a'), row('b')]} onClose={() => {}} />);
    await act(async () => {
      fireEvent.click(screen.getByRole('button', { name: 'Start the push' }));
    });
    await waitFor(() => expect(screen.getByText('This site has no draft to deploy.')).toBeTruthy());
    expect(screen.getByText('queued')).toBeTruthy();
    expect(request).toHaveBeenCalledTimes(2);
    request.mockRestore();
  });

  it('runs work with bounded concurrency and counts states', async () => {
    let running = 0;
    let peak = 0;
    await eachLimited([1, 2, 3, 4, 5, 6], 2, async () => {
      running++;
      peak = Math.max(peak, running);
      await new Promise((r) => setTimeout(r, 1));
      running--;
    });
    expect(peak).toBe(2);
    expect(summarise([{ phase: 'waiting' }, { phase: 'error', message: 'x' }, { phase: 'sent', deployment: 'd', status: 'applied' }])).toMatchObject({ waiting: 1, errors: 1, applied: 1 });
  });
});

describe('routing', () => {
  it('matches patterns and never follows an off-site next', () => {
    expect(match('/sites/:id/pages/:slug', '/sites/1/pages/about')).toEqual({ id: '1', slug: 'about' });
    expect(match('/sites/:id', '/sites/1/editor')).toBeNull();
    expect(safeNext('//evil.example')).toBe('/');
    expect(safeNext('/sites/new')).toBe('/sites/new');
    expect(safeNext(null)).toBe('/');
  });
});

describe('rollback', () => {
  it('is offered for applied deployments whose snapshot the host keeps', () => {
    const d = (sequence: number, status = 'applied') => ({ sequence, status }) as never;
    expect(rollbackBlocked(d(3))).toBeNull();
    expect(rollbackBlocked(d(3, 'queued'))).toMatch(/Only an applied/);
    expect(rollbackBlocked(d(1), [2, 3])).toMatch(/no longer keeps .* #2 and later/);
    expect(rollbackBlocked(d(2), [2, 3])).toBeNull();
    // Newer than the agent's last report: it may well have one.
    expect(rollbackBlocked(d(9), [2, 3])).toBeNull();
    expect(rollbackBlocked(d(1), [])).toBeNull();
  });
});

describe('connecting a site', () => {
  const credentials = { url: 'https://lune.example', username: 'ada', application_password: 'abcd EFGH ijkl MNOP qrst UVWX' };

  const fill = () => {
    fireEvent.change(screen.getByLabelText('Site address'), { target: { value: credentials.url } });
    fireEvent.change(screen.getByLabelText('WordPress user'), { target: { value: credentials.username } });
    fireEvent.change(screen.getByLabelText('Application password'), { target: { value: credentials.application_password } });
  };

  it('checks the site, then connects it with the login and forgets the password', async () => {
    const post = vi.spyOn(api, 'post').mockImplementation(async (path: string) =>
      path === '/wordpress/validate'
        ? {
            url: 'https://lune.example/',
            rest_url: 'https://lune.example/wp-json/',
            wordpress_version: '6.7.1',
            php_version: null,
            rest_api: true,
            user: { id: 1, name: 'ada', roles: ['administrator'], is_administrator: true, can_install_plugins: true, can_activate_plugins: true, can_manage_options: true },
            connector: { installed: true, active: false, version: '0.2.0' },
          }
        : { id: 'a', site_id: 's1', connection: 'plugin', online: false, hostname: 'lune.example', agent_version: 'gsw-connector 0.2.0', last_applied: 0, enrolled_at: '' },
    );
    const started = vi.fn();
    render(<ConnectSite siteId="s1" connected={false} onStarted={started} />);
    expect(screen.getByRole('link', { name: 'Download the connector plugin' }).getAttribute('href')).toBe(CONNECTOR_ZIP);
    fill();
    fireEvent.click(screen.getByRole('button', { name: 'Check' }));
    const report = within(await screen.findByTestId('wordpress-report'));
    expect(report.getByText('6.7.1')).toBeTruthy();
    expect(report.getByText('Installed, not active')).toBeTruthy();
    fireEvent.click(screen.getByRole('button', { name: 'Connect' }));
    expect(await screen.findByRole('status')).toBeTruthy();
    expect(post).toHaveBeenLastCalledWith('/sites/s1/connect', credentials);
    expect(started).toHaveBeenCalledOnce();
    post.mockRestore();
  });

  it('names what is wrong with the site, and puts a field error beside its field', async () => {
    const post = vi.spyOn(api, 'post').mockRejectedValueOnce(new ApiError(409, 'connector_missing', 'the gsw-connector plugin is not installed'));
    render(<ConnectSite siteId="s1" connected={false} onStarted={() => {}} />);
    fill();
    fireEvent.click(screen.getByRole('button', { name: 'Connect' }));
    expect(await screen.findByText('Install and activate the connector plugin first')).toBeTruthy();
    post.mockRejectedValueOnce(new ApiError(422, 'validation_failed', 'must start with http:// or https://', { field: 'url' }));
    fireEvent.click(screen.getByRole('button', { name: 'Connect' }));
    expect(await screen.findByText('Must start with http:// or https://.')).toBeTruthy();
    expect(connectTitle(new ApiError(422, 'insufficient_role', 'x'))).toBe('That user is not an administrator');
    post.mockRestore();
  });

  it('gives a server its commands, and the plugin what to paste', async () => {
    const token = { token: 'gswe_abc', expires_at: new Date().toISOString(), command: 'wp-agent enroll …', commands: [] as string[], bundle_key_fingerprint: 'SHA256:xyz' };
    const post = vi.spyOn(api, 'post').mockResolvedValue(token);
    render(<ConnectSite siteId="s1" connected={false} onStarted={() => {}} />);
    fireEvent.click(screen.getByRole('tab', { name: 'Server with the agent' }));
    fireEvent.click(screen.getByRole('button', { name: 'Show the commands' }));
    expect((await screen.findByTestId('enroll-command')).textContent).toBe('wp-agent enroll …');
    expect(serverCommands({ ...token, commands: ['a', 'b'] })).toBe('a\nb');
    fireEvent.click(screen.getByRole('tab', { name: 'Plugin, by hand' }));
    fireEvent.click(screen.getByRole('button', { name: 'Make a token' }));
    const manual = within(await screen.findByTestId('manual-enrollment'));
    expect(manual.getByText('gswe_abc')).toBeTruthy();
    expect(manual.getByText('SHA256:xyz')).toBeTruthy();
    expect(manual.getByText(window.location.origin)).toBeTruthy();
    post.mockRestore();
  });
});
