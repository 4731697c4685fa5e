<?php
/**
 * The plugin-only connection's work: ask the control plane for bundles,
 * verify, spool, acknowledge, apply and report, as the agent does over its
 * WebSocket (docs/connector.md, "Connecting without the agent"). Run by
 * WP-Cron every minute and by `bin/pull.php` from a real cron.
 *
 * @package gsw-connector
 */

if (!defined('ABSPATH')) {
    exit;
}

require_once __DIR__ . '/class-gsw-connector.php';
require_once __DIR__ . '/class-gsw-link.php';
require_once __DIR__ . '/class-gsw-native.php';

/** One run of the pull: what is spooled first, then what the control plane has. */
final class GSW_Pull
{
    /** Largest bundle taken (the control plane's default limit). */
    public const MAX_BUNDLE_BYTES = 67108864;

    /** Snapshots kept for rollback, newest first (as the agent keeps them). */
    public const KEEP_SNAPSHOTS = 5;

    /** Reports remembered, so a bundle sent again is answered, not applied again. */
    private const JOURNAL_SIZE = 50;

    /** How often drift is reported besides after each apply, in seconds. */
    private const DRIFT_EVERY = 3600;

    /** How long a run may hold the lock before another may take it over. */
    private const LOCK_SECONDS = 900;

    /**
     * Pulls and applies until nothing is queued or `$seconds` have passed,
     * holding each request open while time remains; with `$report`, the
     * inventory and drift go first whenever they were last sent. Returns a
     * summary (`applied`, `refused`, `error`, …); never throws.
     */
    public static function run(int $seconds = 0, bool $report = false): array
    {
        $summary = ['applied' => 0, 'refused' => 0, 'reported' => 0];
        if (!GSW_Link::active()) {
            return $summary + ['error' => 'not connected'];
        }
        if (!self::lock()) {
            return $summary + ['error' => 'another pull is running'];
        }
        try {
            self::work(time() + max(0, $seconds), $report, $summary);
        } catch (Throwable $e) {
            $summary['error'] = get_class($e) . ': ' . $e->getMessage();
        } finally {
            self::unlock();
        }
        $state = self::state();
        $state['last_error'] = $summary['error'] ?? null;
        self::save($state);
        return $summary;
    }

    private static function work(int $until, bool $report, array &$summary): void
    {
        $state = self::state();
        // A spooled bundle was acknowledged, so the control plane will not send
        // it again: a run that stopped before applying it finishes it first.
        foreach (self::spooled() as [$file, $deployment_id, $sequence]) {
            self::apply($file, $deployment_id, $sequence, $summary);
        }
        $frames = [];
        if ($report || empty($state['inventory_sent'])) {
            $frames = self::status_frames(true);
        } elseif (time() - (int) ($state['drift_at'] ?? 0) >= self::DRIFT_EVERY) {
            $frames = self::status_frames(false);
        }
        if ($frames && self::report($frames, $summary)) {
            $state = self::state();
            $state['inventory_sent'] = true;
            $state['drift_at'] = time();
            self::save($state);
        }
        $answered = [];
        while (true) {
            $wait = min(GSW_Connector::MAX_WAIT_SECONDS, max(0, $until - time() - 5));
            $path = GSW_Link::get()['next_path'] . ($wait > 0 ? "?wait=$wait" : '');
            $response = GSW_Link::request('GET', $path, '', $wait + 30);
            if (is_wp_error($response)) {
                $summary['error'] = 'the control plane could not be reached: ' . $response->get_error_message();
                return;
            }
            [$status, $body, $headers] = $response;
            self::contact();
            if ($status === 204) {
                if (time() + 5 >= $until) {
                    return;
                }
                continue;
            }
            if ($status !== 200) {
                self::refused_by_server($status, $body, $summary);
                return;
            }
            $deployment_id = (string) ($headers['x-gsw-deployment-id'] ?? '');
            if (!preg_match('/^[0-9a-f-]{36}$/', $deployment_id) || isset($answered[$deployment_id])) {
                // The same bundle again within one run: its report did not take.
                $summary['error'] = 'the control plane sent a bundle again that was already answered';
                return;
            }
            $answered[$deployment_id] = true;
            self::receive($deployment_id, $body, $summary);
        }
    }

    /** A bundle just received: answered from the journal, refused, or spooled and applied. */
    private static function receive(string $deployment_id, string $bytes, array &$summary): void
    {
        $state = self::state();
        if (isset($state['journal'][$deployment_id])) {
            self::report([$state['journal'][$deployment_id]], $summary);
            return;
        }
        $link = GSW_Link::get();
        $file = self::dir('spool') . '/.incoming-' . bin2hex(random_bytes(8));
        if (file_put_contents($file, $bytes) !== strlen($bytes)) {
            wp_delete_file($file);
            throw new RuntimeException('cannot write the spool in ' . self::dir('spool'));
        }
        try {
            $bundle = GSW_Native::bundle_open($file, $link['bundle_key'], $link['site_id'], (int) $state['last_applied'], self::MAX_BUNDLE_BYTES);
        } catch (Throwable $e) {
            wp_delete_file($file);
            $sequence = self::peek_sequence($bytes);
            $code = preg_match('/bundle refused \(([a-z_]+)\)/', $e->getMessage(), $m) ? $m[1] : 'malformed';
            $frame = ['type' => 'refused', 'deployment_id' => $deployment_id, 'sequence' => $sequence, 'code' => $code, 'reason' => $e->getMessage()];
            self::journal($deployment_id, $frame);
            self::report([$frame], $summary);
            $summary['refused']++;
            return;
        }
        $sequence = (int) $bundle['manifest']['sequence'];
        $spooled = self::dir('spool') . "/$sequence-$deployment_id.bundle";
        if (!rename($file, $spooled)) {
            wp_delete_file($file);
            throw new RuntimeException("cannot move the bundle into the spool ($spooled)");
        }
        // Safely on disk: the control plane may take it off its outbox.
        self::report([['type' => 'ack', 'deployment_id' => $deployment_id, 'sequence' => $sequence]], $summary);
        self::apply($spooled, $deployment_id, $sequence, $summary);
    }

    /** Applies a spooled bundle and reports how it went, with the inventory and drift after it. */
    private static function apply(string $file, string $deployment_id, int $sequence, array &$summary): void
    {
        $link = GSW_Link::get();
        $items = [];
        try {
            $bundle = GSW_Native::bundle_open($file, $link['bundle_key'], $link['site_id'], $sequence - 1, self::MAX_BUNDLE_BYTES);
            foreach ($bundle['items'] as $item) {
                $items[] = ['kind' => $item['kind'], 'path' => $item['path']];
            }
            $report = self::run_apply($file, $sequence, $bundle);
        } catch (Throwable $e) {
            $report = ['status' => 'refused', 'error' => $e->getMessage()];
        }
        if (($report['status'] ?? '') === 'refused') {
            $frame = [
                'type' => 'refused',
                'deployment_id' => $deployment_id,
                'sequence' => $sequence,
                'code' => 'connector_refused',
                'reason' => (string) ($report['error'] ?? 'the connector refused the bundle'),
            ];
            $summary['refused']++;
        } else {
            $frame = ['type' => 'applied', 'deployment_id' => $deployment_id, 'sequence' => $sequence, 'results' => self::results($report, $items)];
            $summary['applied']++;
        }
        $state = self::state();
        $state['last_applied'] = max((int) $state['last_applied'], $sequence);
        self::save($state);
        self::journal($deployment_id, $frame);
        wp_delete_file($file);
        self::prune_snapshots();
        if (self::report(array_merge([$frame], self::status_frames(true)), $summary)) {
            $state = self::state();
            $state['inventory_sent'] = true;
            $state['drift_at'] = time();
            self::save($state);
        }
    }

    /**
     * Runs the connector's apply on a bundle file: in a PHP process of its
     * own when this is the command line (as the agent runs it, so a plugin
     * that dies while activating takes only its own process down), in this
     * request otherwise (WP-Cron on a host that may not start processes),
     * on `$bundle`, the file as the caller just verified it.
     */
    private static function run_apply(string $file, int $sequence, array $bundle): array
    {
        $link = GSW_Link::get();
        $snapshots = self::dir('snapshots');
        if (GSW_CLI::can_run()) {
            $out = GSW_CLI::run('apply.php', [
                '--bundle', $file,
                '--public-key', $link['bundle_key'],
                '--site-id', $link['site_id'],
                '--last-applied', (string) ($sequence - 1),
                '--max-bytes', (string) self::MAX_BUNDLE_BYTES,
                '--snapshots', $snapshots,
            ]);
            $lines = array_values(array_filter(explode("\n", trim((string) $out)), 'strlen'));
            $report = $lines ? json_decode(end($lines), true) : null;
            if (!is_array($report)) {
                return ['status' => 'failed', 'error' => 'the connector gave no readable report; part of the bundle may be applied, and rolling this deployment back restores the state before it'];
            }
            return $report;
        }
        global $wpdb;
        require_once __DIR__ . '/class-gsw-apply.php';
        // Verified by the caller a moment ago, from the same spooled file.
        try {
            return GSW_Apply::bundle($bundle, $snapshots, false)[0];
        } catch (GSW_Refusal $e) {
            return ['status' => 'refused', 'error' => $e->getMessage()];
        } catch (Throwable $e) {
            $wpdb->query('ROLLBACK');
            return ['status' => 'failed', 'error' => get_class($e) . ': ' . $e->getMessage()];
        }
    }

    /** The report's results, with every item of the bundle given one. */
    private static function results(array $report, array $items): array
    {
        $results = [];
        foreach (is_array($report['results'] ?? null) ? $report['results'] : [] as $result) {
            if (is_array($result) && isset($result['kind'], $result['path'], $result['status'])) {
                $results[] = array_intersect_key($result, array_flip(['kind', 'path', 'status', 'message']));
            }
        }
        foreach ($items as $item) {
            foreach ($results as $result) {
                if ($result['kind'] === $item['kind'] && $result['path'] === $item['path']) {
                    continue 2;
                }
            }
            $why = isset($report['error']) ? (string) $report['error'] : 'the connector did not report this item';
            $results[] = $item + ['status' => 'failed', 'message' => $why];
        }
        return $results;
    }

    /** The inventory (with the snapshots kept) and, when asked, the drift, as report frames. */
    private static function status_frames(bool $inventory): array
    {
        require_once __DIR__ . '/class-gsw-inventory.php';
        require_once __DIR__ . '/class-gsw-keys.php';
        require_once __DIR__ . '/class-gsw-drift.php';
        $frames = [];
        if ($inventory) {
            $frames[] = ['type' => 'inventory', 'inventory' => GSW_Inventory::collect() + ['snapshots' => self::kept_snapshots()]];
        }
        $frames[] = ['type' => 'drift', 'drift' => GSW_Drift::check()];
        return $frames;
    }

    /** Posts report frames; true when the control plane stored them. */
    private static function report(array $frames, array &$summary): bool
    {
        $body = wp_json_encode($frames, JSON_UNESCAPED_SLASHES | JSON_INVALID_UTF8_SUBSTITUTE);
        $response = GSW_Link::request('POST', GSW_Link::get()['reports_path'], (string) $body);
        if (is_wp_error($response)) {
            $summary['error'] = 'reporting failed: ' . $response->get_error_message();
            return false;
        }
        [$status, $answer] = $response;
        if ($status !== 204) {
            self::refused_by_server($status, $answer, $summary);
            return false;
        }
        $summary['reported'] += count($frames);
        return true;
    }

    /** What an error answer means for the connection. */
    private static function refused_by_server(int $status, string $body, array &$summary): void
    {
        $code = GSW_Link::error_code($body);
        if ($code === 'agent_revoked') {
            GSW_Link::mark_revoked();
        }
        $summary['error'] = "the control plane answered HTTP $status" . ($code === '' ? '' : " ($code)");
    }

    /** The sequence a bundle claims, unverified: only to label a refusal. */
    private static function peek_sequence(string $bytes): ?int
    {
        if (strlen($bytes) < 12 || substr($bytes, 0, 8) !== 'GSWBNDL1') {
            return null;
        }
        $length = unpack('N', substr($bytes, 8, 4))[1];
        $manifest = json_decode((string) substr($bytes, 12, min($length, 1048576)), true);
        $sequence = is_array($manifest) ? ($manifest['sequence'] ?? null) : null;
        return is_int($sequence) && $sequence >= 0 ? $sequence : null;
    }

    /** Spooled bundles (acknowledged, not applied yet): [file, deployment id, sequence], oldest first. */
    private static function spooled(): array
    {
        $found = [];
        foreach ((array) glob(self::dir('spool') . '/*.bundle') as $file) {
            if (preg_match('/^(\d+)-([0-9a-f-]{36})\.bundle$/', basename($file), $m)) {
                $found[] = [$file, $m[2], (int) $m[1]];
            }
        }
        usort($found, fn ($a, $b) => $a[2] <=> $b[2]);
        return $found;
    }

    /** Remembers what was reported about a deployment, the newest JOURNAL_SIZE. */
    private static function journal(string $deployment_id, array $frame): void
    {
        $state = self::state();
        $state['journal'][$deployment_id] = $frame;
        $state['journal'] = array_slice($state['journal'], -self::JOURNAL_SIZE, null, true);
        self::save($state);
    }

    /** Complete snapshots' sequences, oldest first. */
    public static function kept_snapshots(): array
    {
        $kept = [];
        foreach ((array) glob(self::dir('snapshots') . '/*', GLOB_ONLYDIR) as $dir) {
            if (ctype_digit(basename($dir)) && is_file("$dir/snapshot.json")) {
                $kept[] = (int) basename($dir);
            }
        }
        sort($kept);
        return $kept;
    }

    /** Keeps the newest KEEP_SNAPSHOTS snapshots; removes older ones and work folders of killed runs. */
    private static function prune_snapshots(): void
    {
        $root = self::dir('snapshots');
        $numbered = [];
        foreach ((array) glob("$root/{,.}*", GLOB_BRACE | GLOB_ONLYDIR) as $dir) {
            $name = basename($dir);
            if (ctype_digit($name)) {
                $numbered[(int) $name] = $dir;
            } elseif (preg_match('/^\.(\d+\.tmp|work)-/', $name)) {
                self::remove_tree($dir);
            }
        }
        krsort($numbered);
        foreach (array_slice($numbered, self::KEEP_SNAPSHOTS, null, true) as $dir) {
            self::remove_tree($dir);
        }
    }

    private static function remove_tree(string $dir): void
    {
        require_once __DIR__ . '/class-gsw-folders.php';
        GSW_Folders::remove($dir);
    }

    /**
     * The connector's private folder in wp-content, under a random name (no
     * guessing it where .htaccess is not read), denied to web requests
     * where it is: `spool/` for bundles, `snapshots/` for rollback.
     */
    public static function dir(string $sub): string
    {
        $name = get_option('gsw_state_dir');
        if (!is_string($name) || !preg_match('/^gsw-connector-[0-9a-f]{32}$/', $name)) {
            $name = 'gsw-connector-' . bin2hex(random_bytes(16));
            update_option('gsw_state_dir', $name, false);
        }
        $root = WP_CONTENT_DIR . '/' . $name;
        if (!is_dir("$root/$sub")) {
            wp_mkdir_p("$root/$sub");
            file_put_contents("$root/.htaccess", "Require all denied\nDeny from all\n");
            file_put_contents("$root/index.php", "<?php // Silence.\n");
        }
        return "$root/$sub";
    }

    /** The pull's own state: last_applied, journal, last_contact, last_error, inventory_sent, drift_at. */
    public static function state(): array
    {
        $state = get_option(GSW_Connector::PULL_STATE_OPTION, []);
        $state = is_array($state) ? $state : [];
        return $state + ['last_applied' => 0, 'journal' => [], 'last_contact' => null, 'last_error' => null];
    }

    private static function save(array $state): void
    {
        update_option(GSW_Connector::PULL_STATE_OPTION, $state, false);
    }

    private static function contact(): void
    {
        $state = self::state();
        $state['last_contact'] = time();
        self::save($state);
    }

    /** One run at a time: an option only one process can add; a stale one is taken over. */
    private static function lock(): bool
    {
        global $wpdb;
        $until = time() + self::LOCK_SECONDS;
        // add_option fails when the row exists: atomic in the database.
        if (add_option('gsw_pull_lock', $until, '', false)) {
            return true;
        }
        $held = (int) get_option('gsw_pull_lock', 0);
        if ($held > time()) {
            return false;
        }
        // Stale: take it over only if nobody else did in between.
        $taken = $wpdb->query($wpdb->prepare(
            "UPDATE {$wpdb->options} SET option_value = %s WHERE option_name = 'gsw_pull_lock' AND option_value = %s",
            (string) $until,
            (string) $held
        ));
        wp_cache_delete('gsw_pull_lock', 'options');
        return $taken === 1;
    }

    private static function unlock(): void
    {
        delete_option('gsw_pull_lock');
    }
}
