//! A site's identity ([`Identity`]): the brief's structured fields where the
//! user gave them, read from the description where not. Nothing here is
//! invented: a detail the input does not state stays empty, and the site
//! then leaves it out rather than show a placeholder.

use crate::draft::{Brief, Identity, OpeningHoursSpec};

/// schema.org's day names, Monday first.
pub const DAYS: [&str; 7] = [
    "Monday",
    "Tuesday",
    "Wednesday",
    "Thursday",
    "Friday",
    "Saturday",
    "Sunday",
];

/// Day names and abbreviations, by language, as they appear in descriptions.
const DAY_WORDS: [[&str; 7]; 5] = [
    [
        "monday",
        "tuesday",
        "wednesday",
        "thursday",
        "friday",
        "saturday",
        "sunday",
    ],
    [
        "maandag",
        "dinsdag",
        "woensdag",
        "donderdag",
        "vrijdag",
        "zaterdag",
        "zondag",
    ],
    [
        "lundi", "mardi", "mercredi", "jeudi", "vendredi", "samedi", "dimanche",
    ],
    [
        "montag",
        "dienstag",
        "mittwoch",
        "donnerstag",
        "freitag",
        "samstag",
        "sonntag",
    ],
    [
        "lunes",
        "martes",
        "miércoles",
        "jueves",
        "viernes",
        "sábado",
        "domingo",
    ],
];

/// The details a brief gives (name, language, contact, hours). The tagline
/// and schema.org type come from the business type, which the offline
/// engine's profiles know: `offline::identity` gives the whole identity.
pub fn details(brief: &Brief) -> Identity {
    let description = brief.description.as_str();
    let given = |field: &Option<String>| {
        field
            .as_deref()
            .map(str::trim)
            .filter(|v| !v.is_empty())
            .map(str::to_owned)
    };
    let opening_hours = given(&brief.opening_hours).or_else(|| hours_phrase(description));
    let hours = opening_hours
        .as_deref()
        .map(parse_hours)
        .unwrap_or_default();
    Identity {
        name: brief.business_name.trim().to_owned(),
        tagline: String::new(),
        language: language_of(brief),
        schema_type: String::new(),
        address: given(&brief.address).or_else(|| address_in(description)),
        phone: given(&brief.phone).or_else(|| phone_in(description)),
        email: given(&brief.email).or_else(|| email_in(description)),
        opening_hours,
        hours,
    }
}

/// The brief's language tag, `en` when it gave none.
pub fn language_of(brief: &Brief) -> String {
    brief
        .language
        .as_deref()
        .map(str::trim)
        .filter(|l| !l.is_empty())
        .unwrap_or("en")
        .to_owned()
}

/// The first e-mail address in `text`.
pub fn email_in(text: &str) -> Option<String> {
    text.split(|c: char| c.is_whitespace() || matches!(c, ',' | ';' | '(' | ')' | '<' | '>'))
        .map(|w| w.trim_end_matches(['.', ':', '!', '?']))
        .find(|w| {
            let Some((local, domain)) = w.split_once('@') else {
                return false;
            };
            !local.is_empty()
                && domain.contains('.')
                && !domain.starts_with('.')
                && !domain.ends_with('.')
                && w.chars()
                    .all(|c| c.is_alphanumeric() || "@._+-".contains(c))
        })
        .map(str::to_owned)
}

/// The first phone number in `text`: a run of digits, spaces, dots, dashes,
/// slashes and brackets, optionally after `+`, holding 8 to 15 digits.
pub fn phone_in(text: &str) -> Option<String> {
    let chars: Vec<char> = text.chars().collect();
    let mut i = 0;
    while i < chars.len() {
        let starts = chars[i] == '+' || chars[i].is_ascii_digit() || chars[i] == '(';
        let after_word = i == 0 || !chars[i - 1].is_alphanumeric();
        if starts && after_word {
            let mut j = i + 1;
            while j < chars.len() && (chars[j].is_ascii_digit() || " .-/()".contains(chars[j])) {
                j += 1;
            }
            let run: String = chars[i..j].iter().collect();
            let run = run.trim_end_matches([' ', '.', '-', '/', '(']).to_owned();
            let digits = run.chars().filter(char::is_ascii_digit).count();
            // Times ("9.00-18.00") and years are not phone numbers.
            let looks_like_time = run.contains(':')
                || (digits <= 8 && run.matches('.').count() >= 2 && run.contains('-'));
            if (8..=15).contains(&digits) && !looks_like_time {
                return Some(run);
            }
            i = j.max(i + 1);
        } else {
            i += 1;
        }
    }
    None
}

/// A street address in `text`: a sentence part that holds a house number
/// next to a street word ("Kortrijksesteenweg 12, 9000 Gent", "12 Mill Lane").
pub fn address_in(text: &str) -> Option<String> {
    const STREET: [&str; 24] = [
        "street",
        "st.",
        "road",
        "rd",
        "lane",
        "avenue",
        "ave",
        "square",
        "place",
        "way",
        "straat",
        "steenweg",
        "laan",
        "plein",
        "kaai",
        "weg",
        "rue",
        "boulevard",
        "avenue",
        "straße",
        "strasse",
        "calle",
        "plaza",
        "gasse",
    ];
    for sentence in text.split(['.', ';', '\n']) {
        let lower = sentence.to_lowercase();
        let has_street = lower.split_whitespace().any(|w| {
            let w = w.trim_matches(|c: char| !c.is_alphanumeric() && c != '.' && c != 'ß');
            STREET
                .iter()
                .any(|s| w == *s || (s.len() > 3 && w.ends_with(s)))
        });
        let has_number = sentence.split_whitespace().any(|w| {
            w.trim_end_matches(',')
                .chars()
                .next()
                .is_some_and(|c| c.is_ascii_digit())
                && w.len() <= 6
        });
        if !(has_street && has_number) {
            continue;
        }
        // From the first word that is a number or a capitalised street name
        // after "at"/"on"/"in"…, to the end of the sentence.
        let words: Vec<&str> = sentence.split_whitespace().collect();
        let first_number = words
            .iter()
            .position(|w| w.chars().next().is_some_and(|c| c.is_ascii_digit()))
            .unwrap_or(0);
        let start = words[..first_number]
            .iter()
            .rposition(|w| {
                // "at", "in"… or a label such as "Address:" ends what comes before.
                w.ends_with(':')
                    || matches!(
                        w.to_lowercase().as_str(),
                        "at" | "on" | "aan" | "op" | "in" | "au" | "à" | "an" | "en"
                    )
            })
            .map(|p| p + 1)
            .unwrap_or(0);
        let address = words[start..].join(" ");
        let address = address.trim_matches([',', ' ']).to_owned();
        if !address.is_empty() && address.chars().count() <= 120 {
            return Some(address);
        }
    }
    None
}

/// The phrase of a description that gives opening hours ("open Tuesday to
/// Saturday", "open daily 8:00-17:00").
pub fn hours_phrase(text: &str) -> Option<String> {
    for sentence in text.split(['.', ';', '\n']) {
        let lower = sentence.to_lowercase();
        let Some(at) = [
            "open ",
            "opened ",
            "geopend",
            "ouvert",
            "geöffnet",
            "abierto",
        ]
        .iter()
        .filter_map(|w| lower.find(w))
        .min() else {
            continue;
        };
        let phrase = &sentence[at..];
        let names_days = day_index_in(&phrase.to_lowercase()).is_some()
            || phrase.to_lowercase().contains("daily")
            || phrase.to_lowercase().contains("every day");
        if names_days {
            let phrase = phrase.trim().trim_end_matches(',');
            let mut out: String = phrase
                .chars()
                .take(1)
                .flat_map(char::to_uppercase)
                .collect();
            out.push_str(&phrase.chars().skip(1).collect::<String>());
            return Some(out);
        }
    }
    None
}

fn day_index_in(text: &str) -> Option<usize> {
    text.split(|c: char| !c.is_alphabetic()).find_map(day_index)
}

/// The day a word names (0 is Monday), in any of the languages we know,
/// full or as a three-letter English abbreviation.
fn day_index(word: &str) -> Option<usize> {
    let word = word.to_lowercase();
    if word.len() < 3 {
        return None;
    }
    for names in DAY_WORDS {
        if let Some(i) = names.iter().position(|d| *d == word) {
            return Some(i);
        }
    }
    let short = [
        "mon", "tue", "tues", "wed", "thu", "thur", "thurs", "fri", "sat", "sun",
    ];
    let index = [0, 1, 1, 2, 3, 3, 3, 4, 5, 6];
    short.iter().position(|s| *s == word).map(|p| index[p])
}

/// Structured hours from a phrase like "Tuesday to Saturday, 9:00-18:00" or
/// "Mon-Fri 8.30-17.30": one spec per day range that has times. A range
/// without times gives nothing (schema.org needs both ends).
pub fn parse_hours(phrase: &str) -> Vec<OpeningHoursSpec> {
    let lower = phrase.to_lowercase();
    let tokens: Vec<&str> = lower
        .split(|c: char| c.is_whitespace() || c == ',' || c == ';')
        .filter(|t| !t.is_empty())
        .collect();
    let mut specs = Vec::new();
    let mut days: Vec<usize> = Vec::new();
    let mut range_from: Option<usize> = None;
    let mut expecting_range_end = false;
    let mut times: Vec<String> = Vec::new();
    let flush =
        |days: &mut Vec<usize>, times: &mut Vec<String>, specs: &mut Vec<OpeningHoursSpec>| {
            if !days.is_empty() && times.len() >= 2 {
                specs.push(OpeningHoursSpec {
                    days: days.iter().map(|&d| DAYS[d].to_owned()).collect(),
                    opens: times[0].clone(),
                    closes: times[1].clone(),
                });
            }
            if times.len() >= 2 {
                days.clear();
            }
            times.clear();
        };
    for token in tokens {
        // "tue-sat" and "9:00-18:00" carry their range in one token.
        let parts: Vec<&str> = token.split(['-', '–']).filter(|p| !p.is_empty()).collect();
        if parts.len() == 2 {
            if let (Some(a), Some(b)) = (day_index(parts[0]), day_index(parts[1])) {
                if !times.is_empty() {
                    flush(&mut days, &mut times, &mut specs);
                }
                days.extend(span(a, b));
                continue;
            }
            if let (Some(a), Some(b)) = (time_of(parts[0]), time_of(parts[1])) {
                times = vec![a, b];
                flush(&mut days, &mut times, &mut specs);
                continue;
            }
        }
        if matches!(
            token,
            "to" | "until" | "till" | "tot" | "t/m" | "au" | "à" | "bis" | "a" | "-" | "–"
        ) {
            expecting_range_end = range_from.is_some() || !times.is_empty();
            continue;
        }
        if token == "daily" || token == "dagelijks" {
            days = (0..7).collect();
            continue;
        }
        if let Some(d) = day_index(token.trim_matches(|c: char| !c.is_alphabetic())) {
            if expecting_range_end {
                if let Some(from) = range_from.take() {
                    days.pop();
                    days.extend(span(from, d));
                }
                expecting_range_end = false;
            } else {
                if !times.is_empty() {
                    flush(&mut days, &mut times, &mut specs);
                }
                days.push(d);
                range_from = Some(d);
            }
            continue;
        }
        if let Some(t) = time_of(token) {
            times.push(t);
            expecting_range_end = false;
            if times.len() == 2 {
                flush(&mut days, &mut times, &mut specs);
            }
        }
    }
    specs
}

fn span(from: usize, to: usize) -> Vec<usize> {
    if from <= to {
        (from..=to).collect()
    } else {
        (from..7).chain(0..=to).collect()
    }
}

/// `HH:MM` from "9", "9:00", "9.30", "09h30", "9am", "5pm", "17u".
fn time_of(token: &str) -> Option<String> {
    let t = token.trim_matches(|c: char| !c.is_alphanumeric());
    let (t, pm) = if let Some(t) = t.strip_suffix("pm") {
        (t, Some(true))
    } else if let Some(t) = t.strip_suffix("am") {
        (t, Some(false))
    } else {
        (t.trim_end_matches(['u', 'h']), None)
    };
    let (h, m) = match t.split_once([':', '.', 'h']) {
        Some((h, m)) => (h, m),
        None => (t, "00"),
    };
    let mut hour: u32 = h.parse().ok()?;
    let minute: u32 = m.parse().ok()?;
    if m.len() != 2
        || minute > 59
        || hour > 24
        || (pm.is_none()
            && !t.contains([':', '.', 'h'])
            && hour < 6
            && !token.ends_with(['u', 'h']))
    {
        return None;
    }
    match pm {
        Some(true) if hour < 12 => hour += 12,
        Some(false) if hour == 12 => hour = 0,
        _ => {}
    }
    Some(format!("{hour:02}:{minute:02}"))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn brief(description: &str) -> Brief {
        Brief {
            business_name: "Velo Vandaag".into(),
            business_type: "bicycle repair".into(),
            description: description.into(),
            goals: vec!["Get repair bookings".into()],
            ..Brief::default()
        }
    }

    #[test]
    fn details_come_from_the_fields_first_then_the_description() {
        let mut b = brief("A bicycle repair workshop in Ghent at Kortrijksesteenweg 12, 9000 Gent. Call +32 9 123 45 67 or write to hallo@velovandaag.be. Open Tuesday to Saturday, 9:00-18:00.");
        let id = details(&b);
        assert_eq!(id.name, "Velo Vandaag");
        assert_eq!(id.language, "en");
        assert_eq!(id.phone.as_deref(), Some("+32 9 123 45 67"));
        assert_eq!(id.email.as_deref(), Some("hallo@velovandaag.be"));
        assert_eq!(
            id.address.as_deref(),
            Some("Kortrijksesteenweg 12, 9000 Gent")
        );
        assert_eq!(
            id.opening_hours.as_deref(),
            Some("Open Tuesday to Saturday, 9:00-18:00")
        );
        assert_eq!(
            id.hours,
            vec![OpeningHoursSpec {
                days: DAYS[1..6].iter().map(|d| d.to_string()).collect(),
                opens: "09:00".into(),
                closes: "18:00".into()
            }]
        );
        b.phone = Some("09 999 99 99".into());
        b.opening_hours = Some("Mon-Fri 8.30-17.30, Sat 10am-2pm".into());
        let id = details(&b);
        assert_eq!(id.phone.as_deref(), Some("09 999 99 99"));
        assert_eq!(id.hours.len(), 2, "{:?}", id.hours);
        assert_eq!(id.hours[0].days.len(), 5);
        assert_eq!(
            (id.hours[0].opens.as_str(), id.hours[0].closes.as_str()),
            ("08:30", "17:30")
        );
        assert_eq!(id.hours[1].days, vec!["Saturday".to_owned()]);
        assert_eq!(
            (id.hours[1].opens.as_str(), id.hours[1].closes.as_str()),
            ("10:00", "14:00")
        );
    }

    #[test]
    fn nothing_is_invented() {
        let id = details(&brief(
            "Two mechanics fixing bikes since 2009, open Tuesday to Saturday.",
        ));
        assert_eq!(id.phone, None, "a year is not a phone number");
        assert_eq!(id.email, None);
        assert_eq!(id.address, None);
        assert_eq!(
            id.opening_hours.as_deref(),
            Some("Open Tuesday to Saturday")
        );
        assert!(
            id.hours.is_empty(),
            "days without times are not structured hours"
        );
    }

    #[test]
    fn hours_are_read_in_the_languages_we_write() {
        let cases = [
            (
                "Een fietsenmaker in Gent. Open dinsdag tot zaterdag van 9 tot 18 uur.",
                "Open dinsdag tot zaterdag van 9 tot 18 uur",
            ),
            (
                "Un atelier à Gand, ouvert du mardi au samedi de 9h à 18h.",
                "Ouvert du mardi au samedi de 9h à 18h",
            ),
            (
                "Eine Werkstatt in Gent, geöffnet Dienstag bis Samstag 9:00-18:00.",
                "Geöffnet Dienstag bis Samstag 9:00-18:00",
            ),
            (
                "Un taller en Gante, abierto de martes a sábado de 9:00 a 18:00.",
                "Abierto de martes a sábado de 9:00 a 18:00",
            ),
        ];
        for (description, phrase) in cases {
            assert_eq!(hours_phrase(description).as_deref(), Some(phrase));
            let hours = parse_hours(phrase);
            assert_eq!(hours.len(), 1, "{phrase}: {hours:?}");
            assert_eq!(hours[0].days, DAYS[1..6].to_vec(), "{phrase}");
            assert_eq!(
                (hours[0].opens.as_str(), hours[0].closes.as_str()),
                ("09:00", "18:00"),
                "{phrase}"
            );
        }
    }
}
