<?php
/**
 * Answers, for the pages and posts of one apply, the two questions
 * `wp_insert_post` asks the database once per post: "is another post using
 * this slug?" (`wp_unique_post_slug`) and "is a trashed post using it?"
 * (`wp_add_trashed_suffix_to_post_name_for_trashed_posts`). One query up
 * front replaces a hundred.
 *
 * The answers go through the filters WordPress provides for exactly this
 * (`pre_wp_unique_post_slug`, `add_trashed_suffix_to_trashed_posts`) and
 * are given only where they are certain: a slug no other row holds. In
 * every other case (a slug in use, in the trash, numeric, a feed name, one
 * a filter calls bad, a slug WordPress changed) the filter says nothing and
 * WordPress runs its own query, so the outcome is always WordPress's own.
 */

if (!defined('ABSPATH')) {
    exit;
}

final class GSW_Slugs
{
    /** @var array<string, array<int, true>> slug => ids of the rows holding it (as the database compares) */
    private array $holders = [];
    private bool $on = true;
    /** @var array<string, callable> filter => our callback on it */
    private array $hooks = [];

    /**
     * Looks up every row holding one of `$slugs` in one query, and answers
     * for them until `stop()`. Slugs outside `[a-z0-9-]` are left to
     * WordPress (the database's collation could equate them with others).
     */
    public static function start(array $slugs): self
    {
        global $wpdb;
        $oracle = new self();
        $slugs = array_values(array_unique(array_filter($slugs, fn ($s) => is_string($s) && preg_match('/^[a-z0-9-]{1,190}$/', $s))));
        if (!$slugs) {
            $oracle->on = false;
            return $oracle;
        }
        foreach ($slugs as $slug) {
            $oracle->holders[$slug] = [];
        }
        // Compared in SQL, as WordPress's own queries compare them.
        $wanted = implode(' UNION ALL ', array_map(fn ($s) => $wpdb->prepare('SELECT %s AS slug', $s), $slugs));
        $rows = $wpdb->get_results("SELECT w.slug, p.ID FROM ($wanted) w INNER JOIN {$wpdb->posts} p ON p.post_name = w.slug");
        if ($wpdb->last_error !== '') {
            $oracle->on = false;
            return $oracle;
        }
        foreach ($rows as $row) {
            $oracle->holders[$row->slug][(int) $row->ID] = true;
        }
        $oracle->hook('pre_wp_unique_post_slug', [$oracle, 'unique_slug'], 6);
        $oracle->hook('add_trashed_suffix_to_trashed_posts', [$oracle, 'trashed_suffix'], 3);
        return $oracle;
    }

    private function hook(string $filter, callable $callback, int $args): void
    {
        // Last, so a plugin's own answer stands.
        add_filter($filter, $callback, PHP_INT_MAX, $args);
        $this->hooks[$filter] = $callback;
    }

    /** Removes the filters. */
    public function stop(): void
    {
        foreach ($this->hooks as $filter => $callback) {
            remove_filter($filter, $callback, PHP_INT_MAX);
        }
        $this->hooks = [];
        $this->on = false;
    }

    /**
     * After `wp_insert_post` wrote post `$id` wanting `$slug`: it now holds
     * the slug. A post that ended up with another slug stops the answers:
     * what it now holds was never looked up.
     */
    public function written(int $id, string $slug): void
    {
        if (!$this->on) {
            return;
        }
        $stored = get_post_field('post_name', $id);
        if ($stored !== $slug || !isset($this->holders[$slug])) {
            $this->on = false;
            return;
        }
        $this->holders[$slug][$id] = true;
    }

    /** Whether no row but `$id` holds `$slug`; null when it was not looked up. */
    private function free(string $slug, int $id): ?bool
    {
        if (!$this->on || !isset($this->holders[$slug])) {
            return null;
        }
        return !array_diff_key($this->holders[$slug], [$id => true]);
    }

    /** `pre_wp_unique_post_slug`: the slug itself, where WordPress's query would find nothing. */
    public function unique_slug($override, $slug, $id, $status, $type, $parent)
    {
        global $wp_rewrite;
        if ($override !== null || !is_string($slug) || !in_array($type, ['page', 'post'], true)) {
            return $override;
        }
        if (
            $this->free($slug, (int) $id) !== true
            || in_array($slug, is_array($wp_rewrite->feeds) ? $wp_rewrite->feeds : [], true)
            || $slug === 'embed'
            || preg_match("@^({$wp_rewrite->pagination_base})?\d+$@", $slug)
        ) {
            return null;
        }
        $bad = $type === 'page'
            ? apply_filters('wp_unique_post_slug_is_bad_hierarchical_slug', false, $slug, $type, $parent)
            : apply_filters('wp_unique_post_slug_is_bad_flat_slug', false, $slug, $type);
        if ($bad) {
            return null;
        }
        // What wp_unique_post_slug ends with, which a pre_ answer skips.
        return apply_filters('wp_unique_post_slug', $slug, $id, $status, $type, $parent, $slug);
    }

    /** `add_trashed_suffix_to_trashed_posts`: no, where no other row holds the slug at all. */
    public function trashed_suffix($add, $slug, $id)
    {
        return $add && is_string($slug) && $this->free($slug, (int) $id) === true ? false : $add;
    }
}
