<?php
/**
 * Media items: files imported as attachments once, keyed `media:<path>`.
 *
 * @package gsw-connector
 */

if (!defined('ABSPATH')) {
    exit;
}

require_once __DIR__ . '/class-gsw-item.php';
require_once __DIR__ . '/class-gsw-keys.php';
require_once __DIR__ . '/class-gsw-content.php';

/** Media items, imported with `wp_upload_bits` and `wp_insert_attachment`. */
final class GSW_Media
{
    /**
     * Imports media items (['index', 'item']); results go into `$results` by
     * index. Returns key => attachment id.
     */
    public static function apply(array $entries, array &$results): array
    {
        if (!$entries) {
            return [];
        }
        require_once ABSPATH . 'wp-admin/includes/image.php';
        $ids = GSW_Keys::find_ids(array_map(fn ($e) => 'media:' . $e['item']['path'], $entries));
        if ($ids) {
            _prime_post_caches(array_values($ids), false, true);
        }
        $written = [];
        foreach ($entries as ['index' => $index, 'item' => $item]) {
            try {
                self::apply_item($index, $item, $ids, $written, $results);
            } catch (Throwable $e) {
                $results[$index] = GSW_Item::failed($item, $e);
            }
        }
        GSW_Content::write_meta($written);
        return $ids;
    }

    /** Imports one file as an attachment, or replaces the one its key names. */
    private static function apply_item(int $index, array $item, array &$ids, array &$written, array &$results): void
    {
        $key = 'media:' . $item['path'];
        $existing = $ids[$key] ?? null;
        if ($existing && get_post_meta($existing, '_gsw_hash', true) === $item['sha256'] && is_file((string) get_attached_file($existing))) {
            $results[$index] = GSW_Item::result($item, 'unchanged');
            return;
        }
        // wp_upload_bits refuses types the site does not allow (no .php, say).
        $upload = wp_upload_bits(basename($item['path']), null, $item['content']);
        if (!empty($upload['error'])) {
            $results[$index] = GSW_Item::result($item, 'failed', $upload['error']);
            return;
        }
        $type = wp_check_filetype($upload['file']);
        $attachment = [
            'post_mime_type' => $type['type'] ?: 'application/octet-stream',
            'post_title' => sanitize_text_field(pathinfo($item['path'], PATHINFO_FILENAME)),
            'post_status' => 'inherit',
            'guid' => $upload['url'],
        ];
        if ($existing) {
            $attachment['ID'] = $existing;
        }
        $id = wp_insert_attachment(wp_slash($attachment), $upload['file'], 0, true);
        if (is_wp_error($id)) {
            wp_delete_file($upload['file']);
            $results[$index] = GSW_Item::result($item, 'failed', $id->get_error_message());
            return;
        }
        $message = null;
        try {
            // Sizes need GD or Imagick; without them WordPress still records the file.
            wp_update_attachment_metadata($id, wp_generate_attachment_metadata($id, $upload['file']));
        } catch (Throwable $e) {
            $message = 'imported without image sizes: ' . $e->getMessage();
        }
        $ids[$key] = $id;
        $written[$id] = [['key' => $key, 'seo' => []], $item['sha256'], null, (bool) $existing];
        $results[$index] = GSW_Item::result($item, 'applied', $message);
    }
}
