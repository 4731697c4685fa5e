<?php
/**
 * What an active plan plugin puts on the site's pages: a form on the contact
 * page, a booking calendar on the booking page. Runs after the pages are
 * written; each page's `_gsw_applied_hash` is updated, so drift checks see
 * the page as the connector left it.
 *
 * @package gsw-connector
 */

if (!defined('ABSPATH')) {
    exit;
}

require_once __DIR__ . '/class-gsw-keys.php';
require_once __DIR__ . '/class-gsw-packages.php';

/** Plan plugins placed on their pages, by slug. */
final class GSW_Plugin_Pages
{
    /**
     * Per plugin: the key of the page it goes on, the shortcode placed there
     * (`{form}` is the id of the form the connector makes for it), and, for a
     * forms plugin, the post type its forms are.
     */
    private const PLACES = [
        'wpforms-lite' => ['page' => 'page:contact', 'shortcode' => '[wpforms id="{form}"]', 'form_type' => 'wpforms'],
        'simply-schedule-appointments' => ['page' => 'page:book', 'shortcode' => '[ssa_booking]'],
    ];

    /** The keys of the posts placing a plan's plugins may change or create (for the snapshot). */
    public static function keys(array $plugins): array
    {
        $keys = [];
        foreach ($plugins as $plugin) {
            $place = self::PLACES[$plugin['slug']] ?? null;
            if ($place) {
                $keys[] = $place['page'];
                if (isset($place['form_type'])) {
                    $keys[] = 'form:' . $plugin['slug'];
                }
            }
        }
        return $keys;
    }

    /**
     * Places each active plan plugin on its page. Returns [changed, notes,
     * keys of the posts it made or left as they should be].
     */
    public static function place(array $plugins): array
    {
        $changed = false;
        $notes = [];
        $keys = [];
        foreach ($plugins as $plugin) {
            $slug = $plugin['slug'];
            $place = self::PLACES[$slug] ?? null;
            $file = $place ? GSW_Packages::plugin_file($slug) : null;
            if ($file === null || !is_plugin_active($file)) {
                continue;
            }
            $page = GSW_Keys::find_post($place['page']);
            if (!$page || $page->post_status === 'trash') {
                if (isset($place['form_type'])) {
                    $notes[] = "$slug: no {$place['page']} to place its form on";
                }
                continue;
            }
            $form = 0;
            if (isset($place['form_type'])) {
                [$form, $made] = self::form($slug, $place['form_type'], $plugin['settings'] ?? []);
                $changed = $changed || $made;
                $keys[] = "form:$slug";
            }
            $shortcode = str_replace('{form}', (string) $form, $place['shortcode']);
            $changed = self::append($page, $shortcode) || $changed;
        }
        return [$changed, $notes, $keys];
    }

    /**
     * Appends a shortcode block to a page unless the page already holds
     * that shortcode; returns whether the page changed.
     */
    private static function append(WP_Post $page, string $shortcode): bool
    {
        global $wpdb;
        if (str_contains($page->post_content, $shortcode)) {
            return false;
        }
        $content = rtrim($page->post_content) . "\n\n<!-- wp:shortcode -->\n$shortcode\n<!-- /wp:shortcode -->";
        $wpdb->update($wpdb->posts, ['post_content' => $content], ['ID' => $page->ID]);
        clean_post_cache($page->ID);
        update_post_meta($page->ID, '_gsw_applied_hash', GSW_Keys::post_state_hash(get_post($page->ID)));
        return true;
    }

    /**
     * The form the connector made for a forms plugin (key `form:<slug>`):
     * made, or written again when it drifted. Returns [post id, whether written].
     */
    private static function form(string $slug, string $type, $settings): array
    {
        global $wpdb;
        $wanted = is_array($settings['forms'][0] ?? null) ? $settings['forms'][0] : [];
        $title = is_string($wanted['title'] ?? null) ? $wanted['title'] : 'Contact';
        $existing = GSW_Keys::find_post("form:$slug");
        if ($existing && $existing->post_status !== 'trash' && get_post_meta($existing->ID, '_gsw_applied_hash', true) === GSW_Keys::post_state_hash($existing)) {
            return [$existing->ID, false];
        }
        $id = $existing ? $existing->ID : wp_insert_post(['post_type' => $type, 'post_status' => 'publish', 'post_title' => $title], true);
        if (is_wp_error($id)) {
            throw new RuntimeException("$slug: cannot make its form: " . $id->get_error_message());
        }
        // Written as the plugin stores its forms, bypassing the content filters
        // that would treat its JSON as HTML.
        $wpdb->update($wpdb->posts, [
            'post_title' => $title,
            'post_status' => 'publish',
            'post_content' => wp_json_encode(self::wpforms_form($id, $title, $wanted)),
        ], ['ID' => $id]);
        clean_post_cache($id);
        update_post_meta($id, '_gsw_key', "form:$slug");
        update_post_meta($id, '_gsw_applied_hash', GSW_Keys::post_state_hash(get_post($id)));
        return [$id, true];
    }

    /** A WPForms Lite form of the plan's fields (name, email, message, …), as WPForms stores one. */
    private static function wpforms_form(int $id, string $title, array $wanted): array
    {
        $types = ['name' => 'name', 'email' => 'email', 'message' => 'textarea'];
        $names = is_array($wanted['fields'] ?? null) ? $wanted['fields'] : ['name', 'email', 'message'];
        $fields = [];
        foreach (array_values(array_filter($names, 'is_string')) as $i => $name) {
            $type = $types[$name] ?? 'text';
            $fields[(string) $i] = array_filter([
                'id' => (string) $i,
                'type' => $type,
                'label' => ucfirst(str_replace('_', ' ', $name)),
                'format' => $type === 'name' ? 'simple' : null,
                'required' => in_array($type, ['name', 'email', 'textarea'], true) ? '1' : null,
            ]);
        }
        $thanks = is_string($wanted['confirmation'] ?? null) ? $wanted['confirmation'] : 'Thank you for your message.';
        return [
            'id' => (string) $id,
            'field_id' => count($fields),
            'fields' => (object) $fields,
            'settings' => [
                'form_title' => $title,
                'submit_text' => 'Send',
                'notification_enable' => '1',
                'notifications' => ['1' => [
                    'email' => '{admin_email}',
                    'subject' => 'New message from {form_name}',
                    'message' => '{all_fields}',
                ]],
                'confirmations' => ['1' => ['type' => 'message', 'message' => '<p>' . esc_html($thanks) . '</p>']],
            ],
            'meta' => ['template' => 'simple-contact-form-template'],
        ];
    }
}
