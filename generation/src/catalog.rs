//! The curated plugin catalog: the only plugins a draft may ask for, each
//! with what it is for, the goals it serves, and settings to start from.

use serde_json::{json, Value};

/// A plugin we know and trust.
#[derive(Debug, Clone)]
pub struct CatalogPlugin {
    /// The wordpress.org slug.
    pub slug: &'static str,
    pub name: &'static str,
    /// seo, forms, caching, shop, booking, newsletter, security, backup, images, privacy, analytics, events, donations.
    pub category: &'static str,
    /// Words in a goal (or business type) that call for it.
    pub keywords: &'static [&'static str],
    /// Every site gets it.
    pub essential: bool,
    pub what_for: &'static str,
}

/// The catalog.
pub const CATALOG: &[CatalogPlugin] = &[
    CatalogPlugin {
        slug: "wordpress-seo",
        name: "Yoast SEO",
        category: "seo",
        keywords: &[
            "seo", "search", "google", "found", "rank", "visib", "traffic",
        ],
        essential: true,
        what_for: "titles, meta descriptions, sitemaps and schema for search engines",
    },
    CatalogPlugin {
        slug: "wpforms-lite",
        name: "WPForms Lite",
        category: "forms",
        keywords: &[
            "contact", "lead", "enquir", "inquir", "quote", "form", "call", "message",
        ],
        essential: true,
        what_for: "contact and quote request forms",
    },
    CatalogPlugin {
        slug: "wp-super-cache",
        name: "WP Super Cache",
        category: "caching",
        keywords: &["fast", "speed", "performance", "traffic"],
        essential: true,
        what_for: "static page caching for fast loads",
    },
    CatalogPlugin {
        slug: "woocommerce",
        name: "WooCommerce",
        category: "shop",
        keywords: &[
            "sell",
            "shop",
            "store",
            "order",
            "e-commerce",
            "ecommerce",
            "product",
            "online sales",
            "deliver",
        ],
        essential: false,
        what_for: "an online shop with cart, checkout and payments",
    },
    CatalogPlugin {
        slug: "simply-schedule-appointments",
        name: "Simply Schedule Appointments",
        category: "booking",
        keywords: &[
            "book",
            "appointment",
            "reservation",
            "reserve",
            "schedule",
            "consultation",
        ],
        essential: false,
        what_for: "online booking of appointments and tables",
    },
    CatalogPlugin {
        slug: "mailpoet",
        name: "MailPoet",
        category: "newsletter",
        keywords: &[
            "newsletter",
            "email",
            "subscriber",
            "mailing",
            "loyal",
            "repeat",
        ],
        essential: false,
        what_for: "newsletter sign-ups and emails",
    },
    CatalogPlugin {
        slug: "the-events-calendar",
        name: "The Events Calendar",
        category: "events",
        keywords: &["event", "class", "workshop", "concert", "calendar"],
        essential: false,
        what_for: "an events calendar",
    },
    CatalogPlugin {
        slug: "give",
        name: "GiveWP",
        category: "donations",
        keywords: &["donat", "fundrais", "charity", "nonprofit", "non-profit"],
        essential: false,
        what_for: "donation forms and campaigns",
    },
    CatalogPlugin {
        slug: "wordfence",
        name: "Wordfence Security",
        category: "security",
        keywords: &["secur", "protect"],
        essential: true,
        what_for: "firewall and login protection",
    },
    CatalogPlugin {
        slug: "updraftplus",
        name: "UpdraftPlus",
        category: "backup",
        keywords: &["backup"],
        essential: false,
        what_for: "scheduled backups",
    },
    CatalogPlugin {
        slug: "wp-smushit",
        name: "Smush",
        category: "images",
        keywords: &["photo", "gallery", "portfolio", "image", "menu"],
        essential: false,
        what_for: "image compression and lazy loading",
    },
    CatalogPlugin {
        slug: "complianz-gdpr",
        name: "Complianz",
        category: "privacy",
        keywords: &["gdpr", "privacy", "cookie", "consent"],
        essential: false,
        what_for: "cookie consent and privacy notices",
    },
    CatalogPlugin {
        slug: "google-site-kit",
        name: "Site Kit by Google",
        category: "analytics",
        keywords: &["analytics", "measure", "grow", "track", "insight"],
        essential: false,
        what_for: "Search Console and Analytics in the dashboard",
    },
];

/// The catalog entry with this slug.
pub fn find(slug: &str) -> Option<&'static CatalogPlugin> {
    CATALOG.iter().find(|p| p.slug == slug)
}

/// Whether a goal (or description) asks for what this plugin does.
pub fn serves(plugin: &CatalogPlugin, text: &str) -> bool {
    let text = text.to_lowercase();
    plugin.keywords.iter().any(|k| text.contains(k))
}

/// Settings to start from, fitted to the business.
pub fn default_settings(plugin: &CatalogPlugin, business_name: &str) -> Value {
    match plugin.category {
        "seo" => {
            json!({"title_separator": "|", "site_name": business_name, "xml_sitemap": true, "breadcrumbs": true})
        }
        "forms" => {
            json!({"forms": [{"title": "Contact", "fields": ["name", "email", "phone", "message"], "notify": "admin_email", "confirmation": format!("Thank you for contacting {business_name}. We will reply within one working day.")}]})
        }
        "caching" => json!({"mode": "simple", "compress_pages": true, "cache_rebuild": true}),
        "shop" => {
            json!({"currency": "EUR", "guest_checkout": true, "pages": ["shop", "cart", "checkout", "my-account"]})
        }
        "booking" => {
            json!({"appointment_types": [{"title": "Appointment", "duration_minutes": 60}], "notify": "admin_email", "buffer_minutes": 15})
        }
        "newsletter" => json!({"lists": [format!("{business_name} news")], "double_opt_in": true}),
        "events" => json!({"views": ["list", "month"], "default_currency_symbol": "€"}),
        "donations" => json!({"currency": "EUR", "suggested_amounts": [10, 25, 50]}),
        "security" => {
            json!({"firewall": "learning_mode", "login_attempt_limit": 5, "two_factor_for_admins": true})
        }
        "backup" => json!({"files_schedule": "weekly", "database_schedule": "daily", "retain": 4}),
        "images" => json!({"auto_compress": true, "lazy_load": true, "strip_metadata": true}),
        "privacy" => json!({"region": "eu", "cookie_banner": true}),
        "analytics" => json!({"modules": ["search-console", "analytics"]}),
        _ => json!({}),
    }
}
