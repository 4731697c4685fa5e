//! Rules for values users send, each failing with a message that names the
//! field and says what is allowed.

use crate::error::AppError;

/// Longest email address (RFC 5321's path limit).
pub const EMAIL_MAX: usize = 254;
/// Shortest and longest password, in characters.
pub const PASSWORD_MIN: usize = 10;
pub const PASSWORD_MAX: usize = 256;
/// Longest site name, in characters.
pub const SITE_NAME_MAX: usize = 200;
/// Longest URL.
pub const URL_MAX: usize = 2048;
/// Largest site metadata object, serialised.
pub const METADATA_MAX_BYTES: usize = 64 * 1024;

fn invalid(field: &str, rule: impl std::fmt::Display) -> AppError {
    AppError::invalid(field, rule.to_string())
}

/// Multi-line text: not blank, at most `max` characters, no control characters but line breaks and tabs.
pub fn text(field: &str, raw: &str, max: usize) -> Result<String, AppError> {
    let text = raw.trim();
    if text.is_empty() {
        return Err(AppError::invalid(field, "must not be empty"));
    }
    if text.chars().count() > max {
        return Err(AppError::invalid(
            field,
            format!("must be at most {max} characters"),
        ));
    }
    if text
        .chars()
        .any(|c| c.is_control() && !matches!(c, '\n' | '\r' | '\t'))
    {
        return Err(AppError::invalid(
            field,
            "must not contain control characters",
        ));
    }
    Ok(text.to_owned())
}

/// Lower-cases and checks an account's email address.
pub fn email(raw: &str) -> Result<String, AppError> {
    email_address("email", raw)
}

/// Lower-cases and checks an email address given in `field`.
pub fn email_address(field: &str, raw: &str) -> Result<String, AppError> {
    let email = raw.trim().to_lowercase();
    let bad = || invalid(field, "must be an email address such as ada@example.com");
    if email.len() > EMAIL_MAX {
        return Err(invalid(
            field,
            format!("must be at most {EMAIL_MAX} characters"),
        ));
    }
    let (local, domain) = email.split_once('@').ok_or_else(bad)?;
    let local_ok = !local.is_empty()
        && local.len() <= 64
        && !local.starts_with('.')
        && !local.ends_with('.')
        && !local.contains("..")
        && local
            .chars()
            .all(|c| c.is_alphanumeric() || "!#$%&'*+-/=?^_`{|}~.".contains(c));
    if !local_ok || !is_hostname(domain) || !domain.contains('.') {
        return Err(bad());
    }
    Ok(email)
}

/// Checks a BCP 47 language tag (`en`, `nl-BE`, `zh-Hant-TW`): letters and
/// digits in subtags of 1 to 8, the first of 2 to 3 letters. Returns it in
/// its usual case (`nl-BE`).
pub fn language_tag(field: &str, raw: &str) -> Result<String, AppError> {
    let bad = || invalid(field, "must be a language tag such as en, nl or fr-BE");
    let tag = raw.trim();
    let mut parts = tag.split(['-', '_']);
    let primary = parts.next().unwrap_or_default();
    if !(2..=3).contains(&primary.len()) || !primary.chars().all(|c| c.is_ascii_alphabetic()) {
        return Err(bad());
    }
    let mut out = primary.to_ascii_lowercase();
    for part in parts {
        if part.is_empty() || part.len() > 8 || !part.chars().all(|c| c.is_ascii_alphanumeric()) {
            return Err(bad());
        }
        out.push('-');
        out.push_str(&match part.len() {
            2 => part.to_ascii_uppercase(),
            4 => {
                let mut p = part.to_ascii_lowercase();
                p[..1].make_ascii_uppercase();
                p
            }
            _ => part.to_ascii_lowercase(),
        });
    }
    if out.len() > 35 {
        return Err(bad());
    }
    Ok(out)
}

/// Checks a phone number as people write it: digits, spaces, `+ ( ) . - /`,
/// 5 to 15 digits.
pub fn phone(field: &str, raw: &str) -> Result<String, AppError> {
    let phone = raw.trim();
    let digits = phone.chars().filter(char::is_ascii_digit).count();
    let allowed = phone
        .chars()
        .all(|c| c.is_ascii_digit() || " +().-/".contains(c));
    if !allowed || !(5..=15).contains(&digits) || phone.len() > 40 {
        return Err(invalid(
            field,
            "must be a phone number such as +32 9 123 45 67",
        ));
    }
    Ok(phone.to_owned())
}

/// Checks a new password's length (characters, not bytes).
pub fn password(raw: &str) -> Result<(), AppError> {
    let len = raw.chars().count();
    if len < PASSWORD_MIN {
        return Err(invalid(
            "password",
            format!("must be at least {PASSWORD_MIN} characters"),
        ));
    }
    if len > PASSWORD_MAX {
        return Err(invalid(
            "password",
            format!("must be at most {PASSWORD_MAX} characters"),
        ));
    }
    Ok(())
}

/// Trims and checks a one-line text: not blank, at most `max` characters, no control characters.
pub fn line(field: &str, raw: &str, max: usize) -> Result<String, AppError> {
    let text = raw.trim();
    if text.is_empty() {
        return Err(invalid(field, "must not be empty"));
    }
    if text.chars().count() > max {
        return Err(invalid(field, format!("must be at most {max} characters")));
    }
    if text.chars().any(char::is_control) {
        return Err(invalid(field, "must not contain control characters"));
    }
    Ok(text.to_owned())
}

fn is_hostname(host: &str) -> bool {
    !host.is_empty()
        && host.len() <= 253
        && host.split('.').all(|label| {
            !label.is_empty()
                && label.len() <= 63
                && !label.starts_with('-')
                && !label.ends_with('-')
                && label.chars().all(|c| c.is_ascii_alphanumeric() || c == '-')
        })
}

/// Lower-cases and checks a domain name such as `bakery.example`.
pub fn domain(raw: &str) -> Result<String, AppError> {
    let domain = raw.trim().trim_end_matches('.').to_ascii_lowercase();
    if !is_hostname(&domain) || !domain.contains('.') {
        return Err(invalid(
            "domain",
            "must be a domain name such as bakery.example (letters, digits, hyphens and dots)",
        ));
    }
    Ok(domain)
}

/// Checks an absolute `http` or `https` URL.
pub fn http_url(field: &str, raw: &str) -> Result<String, AppError> {
    let text = raw.trim();
    if text.len() > URL_MAX {
        return Err(invalid(
            field,
            format!("must be at most {URL_MAX} characters"),
        ));
    }
    let url = url::Url::parse(text)
        .map_err(|e| invalid(field, format!("must be an absolute URL ({e})")))?;
    if !matches!(url.scheme(), "http" | "https") || url.host_str().is_none() {
        return Err(invalid(field, "must be an http or https URL with a host"));
    }
    if !url.username().is_empty() || url.password().is_some() {
        return Err(invalid(field, "must not contain credentials"));
    }
    Ok(url.to_string())
}

/// Checks site metadata: a JSON object of bounded size.
pub fn metadata(value: &serde_json::Value) -> Result<(), AppError> {
    if !value.is_object() {
        return Err(invalid("metadata", "must be a JSON object"));
    }
    let size = serde_json::to_vec(value)
        .map(|v| v.len())
        .unwrap_or(usize::MAX);
    if size > METADATA_MAX_BYTES {
        return Err(invalid(
            "metadata",
            format!("must be at most {METADATA_MAX_BYTES} bytes as JSON"),
        ));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn emails() {
        assert_eq!(email("  Ada@Example.COM ").unwrap(), "ada@example.com");
        assert!(email("ada.lovelace+gsw@mail.example.co.uk").is_ok());
        for bad in [
            "",
            "ada",
            "ada@",
            "@example.com",
            "ada@example",
            "a da@example.com",
            "ada@@example.com",
            "ada@exa_mple.com",
            ".ada@example.com",
            "ada..l@example.com",
            "ada@-example.com",
            "ada\n@example.com",
        ] {
            assert!(email(bad).is_err(), "{bad:?} accepted");
        }
        assert!(email(&format!("{}@example.com", "a".repeat(65))).is_err());
        assert!(email(&format!("a@{}.com", "b".repeat(250))).is_err());
    }

    #[test]
    fn passwords_count_characters() {
        assert!(password("short").is_err());
        assert!(password("ünïcödé-pw").is_ok());
        assert!(password(&"x".repeat(PASSWORD_MAX + 1)).is_err());
    }

    #[test]
    fn lines_and_urls() {
        assert_eq!(
            line("name", "  Ada's Bakery ", 200).unwrap(),
            "Ada's Bakery"
        );
        assert!(line("name", "   ", 200).is_err());
        assert!(line("name", "a\u{0}b", 200).is_err());
        assert!(line("name", &"é".repeat(201), 200).is_err());
        assert!(http_url("wp_admin_url", "https://bakery.example/wp-admin/").is_ok());
        assert!(http_url("wp_admin_url", "ftp://bakery.example/").is_err());
        assert!(http_url("wp_admin_url", "https://user:pw@bakery.example/").is_err());
        assert!(http_url("wp_admin_url", "/wp-admin").is_err());
        assert_eq!(domain("Bakery.Example.").unwrap(), "bakery.example");
        assert!(domain("bakery").is_err());
        assert!(domain("bak ery.example").is_err());
    }
}
