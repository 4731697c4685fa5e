//! The JSON items of a bundle that the connector plugin reads, as the control
//! plane writes them (`docs/connector.md` describes each). Zips and media go
//! as their own bytes and have no type here.
//!
//! Fields are declared in alphabetical order, so an item serializes to the
//! same bytes, and the same hash, as long as its values are the same.

use serde::{Deserialize, Serialize};
use uuid::Uuid;

/// `content/pages/<slug>.json` or `content/posts/<slug>.json`: a page or post,
/// created or updated by its stable `key`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PostItem {
    /// Block markup.
    pub content: String,
    /// Make this page the site's front page.
    pub front_page: bool,
    /// Stable key, such as `page:about`; applying the same key again updates that post.
    pub key: String,
    /// The parent page's key, if any.
    pub parent_key: Option<String>,
    /// Show posts on this page.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub posts_page: bool,
    pub seo: Seo,
    pub slug: String,
    pub status: PostStatus,
    /// The page template to use (`_wp_page_template`), such as the generated
    /// theme's `gsw-landing`; absent leaves the theme's default.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub template: Option<String>,
    pub title: String,
    #[serde(rename = "type")]
    pub post_type: PostType,
}

impl PostItem {
    /// The key of the page with this slug.
    pub fn page_key(slug: &str) -> String {
        format!("page:{slug}")
    }
}

/// A post's SEO title and meta description (Yoast and Rank Math fields).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Seo {
    pub description: String,
    pub title: String,
}

/// WordPress's post status for an item.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum PostStatus {
    Publish,
    Draft,
    Private,
}

/// WordPress's post type for an item.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum PostType {
    Page,
    Post,
}

/// `content/navigation.json`: the site's main menu.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct NavigationItem {
    pub items: Vec<NavigationLink>,
    /// The menu's name (`Main` when absent).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
}

/// One link of a menu: to the post with `key`, else to `path` on the site.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct NavigationLink {
    pub key: String,
    pub label: String,
    pub path: String,
}

/// `content/site.json`: who the site is: its title (`blogname`), tagline
/// (`blogdescription`), language (`WPLANG`, as a WordPress locale) and icon.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SiteItem {
    /// A media item's path (in this bundle or an earlier one) to use as the
    /// site icon and logo (`site_icon`, `site_logo`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub icon: Option<String>,
    /// BCP 47 (`en`, `nl-BE`).
    pub language: String,
    pub tagline: String,
    pub title: String,
}

/// `plugin/plan.json`: the plugins the site's plan names, and how to set
/// each up. A plugin whose zip the bundle could not carry says why in
/// `unavailable`; the connector names it among the skipped.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct PluginPlanItem {
    pub plugins: Vec<PlannedPlugin>,
}

/// One plugin of a plan.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct PlannedPlugin {
    pub category: String,
    pub name: String,
    pub reason: String,
    /// What the plugin is to be set up with (kept in `gsw_plugin_settings`).
    pub settings: serde_json::Value,
    /// The WordPress.org slug, which is also its folder.
    pub slug: String,
    /// Why the bundle carries no zip of it, when it does not.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub unavailable: Option<String>,
}

/// `rollback/rollback.json`: restore the state from before an earlier deployment.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct RollbackItem {
    pub deployment_id: Uuid,
    /// The sequence of the bundle whose snapshot is restored.
    pub sequence: i64,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_page_item_has_the_connectors_field_names() {
        let item = PostItem {
            content: "<!-- wp:paragraph --><p>Hi</p><!-- /wp:paragraph -->".into(),
            front_page: true,
            key: PostItem::page_key("home"),
            parent_key: None,
            posts_page: false,
            seo: Seo {
                description: "d".into(),
                title: "t".into(),
            },
            slug: "home".into(),
            status: PostStatus::Publish,
            template: None,
            title: "Home".into(),
            post_type: PostType::Page,
        };
        let json = serde_json::to_string(&item).unwrap();
        assert_eq!(
            json,
            r#"{"content":"<!-- wp:paragraph --><p>Hi</p><!-- /wp:paragraph -->","front_page":true,"key":"page:home","parent_key":null,"seo":{"description":"d","title":"t"},"slug":"home","status":"publish","title":"Home","type":"page"}"#
        );
        assert_eq!(serde_json::from_str::<PostItem>(&json).unwrap(), item);
    }

    #[test]
    fn a_navigation_item_leaves_out_a_default_name() {
        let nav = NavigationItem {
            items: vec![NavigationLink {
                key: "page:about".into(),
                label: "About".into(),
                path: "/about/".into(),
            }],
            name: None,
        };
        assert_eq!(
            serde_json::to_string(&nav).unwrap(),
            r#"{"items":[{"key":"page:about","label":"About","path":"/about/"}]}"#
        );
    }
}
