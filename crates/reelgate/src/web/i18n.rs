//! The web app's two languages. Every string a page shows lives in `locales/<lang>.toml`,
//! compiled in; a page's language comes from the `lang` cookie (the switcher sets it), else
//! from the browser's `Accept-Language`, else English.

use axum::http::header::{ACCEPT_LANGUAGE, COOKIE};
use axum::http::HeaderMap;
use std::collections::BTreeMap;
use std::sync::OnceLock;

/// The cookie the language switcher sets.
pub const LANG_COOKIE: &str = "reelgate_lang";

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, serde::Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Locale {
    En,
    Tr,
}

impl Locale {
    pub const ALL: [Locale; 2] = [Locale::En, Locale::Tr];

    pub fn code(self) -> &'static str {
        match self {
            Locale::En => "en",
            Locale::Tr => "tr",
        }
    }

    /// The same language as the domain names it (what mail is written in).
    pub fn language(self) -> reelgate_domain::mail::Language {
        match self {
            Locale::En => reelgate_domain::mail::Language::En,
            Locale::Tr => reelgate_domain::mail::Language::Tr,
        }
    }

    pub fn parse(code: &str) -> Option<Locale> {
        let primary = code.trim().split(['-', '_']).next()?.to_ascii_lowercase();
        match primary.as_str() {
            "en" => Some(Locale::En),
            "tr" => Some(Locale::Tr),
            _ => None,
        }
    }

    fn source(self) -> &'static str {
        match self {
            Locale::En => include_str!("../../locales/en.toml"),
            Locale::Tr => include_str!("../../locales/tr.toml"),
        }
    }

    /// The cookie's choice if it names a language we have, else the browser's best match.
    pub fn negotiate(headers: &HeaderMap) -> Locale {
        let from_cookie = super::cookies::get(headers.get_all(COOKIE), LANG_COOKIE)
            .and_then(|v| Locale::parse(&v));
        from_cookie
            .or_else(|| {
                headers
                    .get(ACCEPT_LANGUAGE)
                    .and_then(|v| v.to_str().ok())
                    .and_then(from_accept_language)
            })
            .unwrap_or(Locale::En)
    }

    /// The translation of `key`; a missing key shows itself, so it is noticed, not hidden.
    pub fn text(self, key: &str) -> &'static str {
        match strings(self).get(key) {
            Some(text) => text,
            None => {
                tracing::warn!(key, locale = self.code(), "missing translation");
                strings(Locale::En)
                    .get(key)
                    .map(String::as_str)
                    .unwrap_or("[missing text]")
            }
        }
    }

    pub fn has(self, key: &str) -> bool {
        strings(self).contains_key(key)
    }

    /// Every key of this locale, for the parity test and for the strings pages' scripts need.
    pub fn keys(self) -> impl Iterator<Item = &'static str> {
        strings(self).keys().map(String::as_str)
    }
}

/// `Accept-Language: tr-TR,tr;q=0.9,en;q=0.8` → the supported language with the highest weight.
fn from_accept_language(header: &str) -> Option<Locale> {
    let mut best: Option<(Locale, f32)> = None;
    for part in header.split(',') {
        let mut pieces = part.split(';');
        let Some(locale) = pieces.next().and_then(Locale::parse) else {
            continue;
        };
        let weight = pieces
            .filter_map(|p| p.trim().strip_prefix("q="))
            .find_map(|q| q.trim().parse::<f32>().ok())
            .unwrap_or(1.0);
        if best.is_none_or(|(_, w)| weight > w) {
            best = Some((locale, weight));
        }
    }
    best.map(|(locale, _)| locale)
}

type Strings = BTreeMap<String, String>;

fn strings(locale: Locale) -> &'static Strings {
    static EN: OnceLock<Strings> = OnceLock::new();
    static TR: OnceLock<Strings> = OnceLock::new();
    let cell = match locale {
        Locale::En => &EN,
        Locale::Tr => &TR,
    };
    cell.get_or_init(|| parse(locale.source()))
}

/// Flattens `[section] key = "…"` into `section.key`. The files are compiled in and checked by
/// the tests below, so a malformed one cannot ship; at worst every key would show as missing.
fn parse(source: &str) -> Strings {
    let mut out = Strings::new();
    match source.parse::<toml::Table>() {
        Ok(table) => flatten("", &table, &mut out),
        Err(error) => tracing::error!(%error, "malformed locale file"),
    }
    out
}

fn flatten(prefix: &str, table: &toml::Table, out: &mut Strings) {
    for (key, value) in table {
        let path = if prefix.is_empty() {
            key.clone()
        } else {
            format!("{prefix}.{key}")
        };
        match value {
            toml::Value::Table(inner) => flatten(&path, inner, out),
            toml::Value::String(text) => {
                out.insert(path, text.clone());
            }
            other => {
                out.insert(path, other.to_string());
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use axum::http::HeaderValue;

    #[test]
    fn both_locales_have_exactly_the_same_keys() {
        let en: Vec<_> = Locale::En.keys().collect();
        let tr: Vec<_> = Locale::Tr.keys().collect();
        let only_en: Vec<_> = en.iter().filter(|k| !Locale::Tr.has(k)).collect();
        let only_tr: Vec<_> = tr.iter().filter(|k| !Locale::En.has(k)).collect();
        assert!(
            only_en.is_empty() && only_tr.is_empty(),
            "only in en: {only_en:?}; only in tr: {only_tr:?}"
        );
        assert!(en.len() > 50, "the locale files did not parse");
    }

    #[test]
    fn both_locale_files_parse_as_toml() {
        for locale in Locale::ALL {
            assert!(locale.source().parse::<toml::Table>().is_ok(), "{locale:?}");
        }
    }

    #[test]
    fn placeholders_match_between_locales() {
        let placeholders = |text: &str| {
            let mut found: Vec<String> = text
                .split('{')
                .skip(1)
                .filter_map(|rest| rest.split_once('}').map(|(name, _)| name.to_owned()))
                .collect();
            found.sort();
            found
        };
        for key in Locale::En.keys() {
            assert_eq!(
                placeholders(Locale::En.text(key)),
                placeholders(Locale::Tr.text(key)),
                "{key}"
            );
        }
    }

    fn headers(pairs: &[(&'static str, &'static str)]) -> HeaderMap {
        let mut map = HeaderMap::new();
        for (name, value) in pairs {
            map.append(*name, HeaderValue::from_static(value));
        }
        map
    }

    #[test]
    fn turkish_browsers_get_turkish() {
        let h = headers(&[("accept-language", "tr-TR,tr;q=0.9,en-US;q=0.8,en;q=0.7")]);
        assert_eq!(Locale::negotiate(&h), Locale::Tr);
    }

    #[test]
    fn the_highest_weighted_supported_language_wins() {
        let h = headers(&[("accept-language", "de-DE, en;q=0.5, tr;q=0.8")]);
        assert_eq!(Locale::negotiate(&h), Locale::Tr);
    }

    #[test]
    fn the_cookie_overrides_the_browser() {
        let h = headers(&[
            ("accept-language", "tr-TR"),
            ("cookie", "a=b; reelgate_lang=en"),
        ]);
        assert_eq!(Locale::negotiate(&h), Locale::En);
    }

    #[test]
    fn unsupported_languages_fall_back_to_english() {
        let h = headers(&[("accept-language", "fr-FR,de;q=0.9")]);
        assert_eq!(Locale::negotiate(&h), Locale::En);
        assert_eq!(Locale::negotiate(&HeaderMap::new()), Locale::En);
    }
}
