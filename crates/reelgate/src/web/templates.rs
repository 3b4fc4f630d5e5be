//! The page templates, compiled into the binary and rendered with minijinja (HTML autoescape
//! on by file extension). Templates translate with `t("key", name=value)` in the page's
//! language and link assets with `asset("app.css")`, which carries the content hash.

use minijinja::value::Kwargs;
use minijinja::{Environment, Error, ErrorKind, State, Value};
use std::sync::OnceLock;

use super::assets;
use super::format;
use super::i18n::Locale;

/// Every template, by the name pages render it with.
const TEMPLATES: &[(&str, &str)] = &[
    ("base.html", include_str!("../../templates/base.html")),
    ("error.html", include_str!("../../templates/error.html")),
    ("signin.html", include_str!("../../templates/signin.html")),
    ("signup.html", include_str!("../../templates/signup.html")),
    (
        "password_reset.html",
        include_str!("../../templates/password_reset.html"),
    ),
    (
        "password_reset_confirm.html",
        include_str!("../../templates/password_reset_confirm.html"),
    ),
    (
        "generate.html",
        include_str!("../../templates/generate.html"),
    ),
    ("videos.html", include_str!("../../templates/videos.html")),
    (
        "video_card.html",
        include_str!("../../templates/video_card.html"),
    ),
    ("account.html", include_str!("../../templates/account.html")),
    ("buy.html", include_str!("../../templates/buy.html")),
    (
        "to_provider.html",
        include_str!("../../templates/to_provider.html"),
    ),
    ("payment.html", include_str!("../../templates/payment.html")),
    (
        "pay_demo.html",
        include_str!("../../templates/pay_demo.html"),
    ),
    (
        "admin/base.html",
        include_str!("../../templates/admin/base.html"),
    ),
    (
        "admin/dashboard.html",
        include_str!("../../templates/admin/dashboard.html"),
    ),
    (
        "admin/users.html",
        include_str!("../../templates/admin/users.html"),
    ),
    (
        "admin/user.html",
        include_str!("../../templates/admin/user.html"),
    ),
    (
        "admin/vouchers.html",
        include_str!("../../templates/admin/vouchers.html"),
    ),
    (
        "admin/prices.html",
        include_str!("../../templates/admin/prices.html"),
    ),
    (
        "admin/generations.html",
        include_str!("../../templates/admin/generations.html"),
    ),
    (
        "admin/mail.html",
        include_str!("../../templates/admin/mail.html"),
    ),
    (
        "admin/upstream.html",
        include_str!("../../templates/admin/upstream.html"),
    ),
    (
        "admin/limits.html",
        include_str!("../../templates/admin/limits.html"),
    ),
    (
        "admin/limits_fields.html",
        include_str!("../../templates/admin/limits_fields.html"),
    ),
];

/// The environment, built once. Its templates are compile-time constants, so a template that
/// does not parse is a bug the tests below catch, not a runtime condition.
pub fn environment() -> &'static Environment<'static> {
    static ENV: OnceLock<Environment<'static>> = OnceLock::new();
    ENV.get_or_init(|| {
        let mut env = Environment::new();
        // Lenient: optional page values (an error message, a notice) may simply be absent.
        // Missing texts still fail loudly: `t()` errors on an unknown key.
        for (name, source) in TEMPLATES {
            if let Err(error) = env.add_template(name, source) {
                tracing::error!(template = name, %error, "template does not parse");
            }
        }
        env.add_function("t", translate);
        // Asset URLs are ours, not user input: no escaping needed (it would only turn `/` into `&#x2f;`).
        env.add_function("asset", |name: &str| {
            Value::from_safe_string(assets::url(name))
        });
        env.add_filter("credits", format_integer);
        env.add_filter("number", format_number);
        env.add_filter("money", format_money);
        env.add_filter("datetime", format_datetime);
        env
    })
}

pub fn render(name: &str, context: Value) -> Result<String, Error> {
    environment().get_template(name)?.render(context)
}

/// `t("key", n=3)`: the text of `key` in the page's language (`lang` in the context), with
/// `{n}` replaced by the keyword arguments.
fn translate(state: &State, key: &str, args: Kwargs) -> Result<String, Error> {
    let locale = page_locale(state);
    if !locale.has(key) {
        return Err(Error::new(
            ErrorKind::UndefinedError,
            format!("no text {key:?} in locale {}", locale.code()),
        ));
    }
    let mut text = locale.text(key).to_owned();
    for name in args.args() {
        let value: Value = args.get(name)?;
        text = text.replace(&format!("{{{name}}}"), &value.to_string());
    }
    Ok(text)
}

/// The page's language (`lang` in the context), for texts and formats.
fn page_locale(state: &State) -> Locale {
    state
        .lookup("lang")
        .and_then(|v| v.as_str().and_then(Locale::parse))
        .unwrap_or(Locale::En)
}

/// `{{ n|credits }}`: a whole number grouped in the page's language.
fn format_integer(state: &State, value: Value) -> String {
    match value.as_i64() {
        Some(n) => format::integer(n, page_locale(state)),
        None => value.to_string(),
    }
}

/// `{{ n|number }}`: a whole or exact decimal number (as a string) grouped in the page's
/// language; a value that is neither is shown as it is.
fn format_number(state: &State, value: Value) -> String {
    if let Some(n) = value.as_i64() {
        return format::integer(n, page_locale(state));
    }
    let text = value.to_string();
    match text.parse::<rust_decimal::Decimal>() {
        Ok(n) => format::decimal(n, page_locale(state)),
        Err(_) => text,
    }
}

/// `{{ "0.4"|money("USD") }}` → `$0.40`; `{{ price|money }}` for a `{amount, currency}`.
/// Amounts are exact decimal strings; a value that is not one is shown as it is.
fn format_money(state: &State, value: Value, currency: Option<&str>) -> String {
    let (amount, currency) = match (value.get_attr("amount"), value.get_attr("currency")) {
        (Ok(amount), Ok(c)) if !amount.is_undefined() && !c.is_undefined() => {
            (amount.to_string(), c.to_string())
        }
        _ => (value.to_string(), currency.unwrap_or("USD").to_owned()),
    };
    match amount.parse::<rust_decimal::Decimal>() {
        Ok(exact) => format::money(exact, &currency, page_locale(state)),
        Err(_) => amount,
    }
}

/// RFC 3339 → `2026-11-25 16:14 UTC` (in the page's language's date order); anything else
/// unchanged.
fn format_datetime(state: &State, value: Value) -> String {
    let text = value.to_string();
    match chrono::DateTime::parse_from_rfc3339(&text) {
        Ok(at) => format::datetime(at.with_timezone(&chrono::Utc), page_locale(state)),
        Err(_) => text,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_template_parses() {
        let mut env = Environment::new();
        for (name, source) in TEMPLATES {
            env.add_template(name, source)
                .unwrap_or_else(|e| panic!("{name}: {e:#}"));
        }
    }

    /// Every `t("…")` in a template names a key both locales have.
    #[test]
    fn every_text_a_template_uses_exists_in_both_locales() {
        let mut missing = Vec::new();
        for (name, source) in TEMPLATES {
            for (at, _) in source.match_indices("t(\"") {
                let called_t = source[..at]
                    .chars()
                    .next_back()
                    .is_none_or(|c| !c.is_alphanumeric() && c != '_');
                let Some((key, _)) = source[at + 3..].split_once('"') else {
                    continue;
                };
                if !called_t {
                    continue;
                }
                // `t("status." ~ s)`: a prefix completed at render time; the completions are
                // checked by `dynamic_texts_exist_for_every_value`.
                let is_prefix = key.ends_with('.') || key.ends_with('_');
                for locale in Locale::ALL {
                    let found = if is_prefix {
                        locale.keys().any(|k| k.starts_with(key))
                    } else {
                        locale.has(key)
                    };
                    if !found {
                        missing.push(format!("{name}: {key} ({})", locale.code()));
                    }
                }
            }
        }
        assert!(missing.is_empty(), "missing texts: {missing:#?}");
    }

    /// Every `text("…")` the page handlers ask for exists in both locales.
    #[test]
    fn every_text_the_handlers_use_exists_in_both_locales() {
        fn sources(dir: &std::path::Path, out: &mut Vec<(String, String)>) {
            for entry in std::fs::read_dir(dir).unwrap() {
                let path = entry.unwrap().path();
                if path.is_dir() {
                    sources(&path, out);
                } else if path.extension().is_some_and(|e| e == "rs") {
                    let text = std::fs::read_to_string(&path).unwrap();
                    out.push((path.display().to_string(), text));
                }
            }
        }
        let mut files = Vec::new();
        let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("src/web");
        sources(&root, &mut files);
        // Every string literal shaped like `section.key` whose section is one of the locale
        // files' tables is a text some handler shows.
        let sections: std::collections::BTreeSet<&str> = Locale::En
            .keys()
            .filter_map(|k| k.split_once('.').map(|(section, _)| section))
            .collect();
        let mut checked = 0;
        let mut missing = Vec::new();
        for (name, source) in &files {
            for literal in source.split('"').skip(1).step_by(2) {
                let shaped = literal.contains('.')
                    && literal
                        .chars()
                        .all(|c| c.is_ascii_lowercase() || c == '_' || c == '.')
                    && !literal.ends_with('.')
                    && !literal.ends_with(".html");
                let section = literal.split('.').next().unwrap_or_default();
                if !shaped || !sections.contains(section) {
                    continue;
                }
                checked += 1;
                for locale in Locale::ALL {
                    if !locale.has(literal) {
                        missing.push(format!("{name}: {literal} ({})", locale.code()));
                    }
                }
            }
        }
        assert!(
            checked > 20,
            "found only {checked} texts: is the scan broken?"
        );
        assert!(missing.is_empty(), "missing texts: {missing:#?}");
    }

    #[test]
    fn dynamic_texts_exist_for_every_value() {
        use reelgate_domain::generations::Status;
        use reelgate_domain::ledger::EntryKind;
        let mut keys: Vec<String> = Vec::new();
        keys.extend(Status::ALL.iter().map(|s| format!("status.{}", s.as_str())));
        keys.extend(
            EntryKind::ALL
                .iter()
                .map(|k| format!("ledger.{}", k.as_str())),
        );
        keys.extend(["queued", "running"].map(|s| format!("videos.working_{s}")));
        keys.extend(["pending", "delivered", "failed"].map(|s| format!("account.delivery_{s}")));
        keys.extend(
            reelgate_domain::payments::PaymentStatus::ALL
                .iter()
                .map(|s| format!("buy.status_{}", s.as_str())),
        );
        keys.extend(
            reelgate_domain::payments::ProviderKind::ALL
                .iter()
                .map(|p| format!("buy.pay_with_{}", p.as_str())),
        );
        for error in [
            "not_found",
            "method_not_allowed",
            "bad_form",
            "forbidden",
            "bad_csrf",
            "internal",
        ] {
            keys.push(format!("error.{error}"));
            keys.push(format!("error.{error}_title"));
        }
        for key in &keys {
            for locale in Locale::ALL {
                assert!(locale.has(key), "{key} missing in {}", locale.code());
            }
        }
    }

    #[test]
    fn filters_format_in_the_page_language() {
        let html = |lang: &str| {
            environment()
                .render_str(
                    "{{ 1045|credits }} {{ '9.68'|money }} {{ price|money }} {{ at|datetime }}",
                    minijinja::context! {
                        lang => lang,
                        price => minijinja::context! { amount => "149.9", currency => "TRY" },
                        at => "2026-11-25T16:14:00Z",
                    },
                )
                .unwrap()
        };
        assert_eq!(html("en"), "1,045 $9.68 ₺149.90 2026-11-25 16:14 UTC");
        assert_eq!(html("tr"), "1.045 $9,68 ₺149,90 25.11.2026 16:14 UTC");
    }

    #[test]
    fn output_is_escaped() {
        let mut env = Environment::new();
        env.add_template("x.html", "<p>{{ v }}</p>").unwrap();
        let html = env
            .get_template("x.html")
            .unwrap()
            .render(minijinja::context! { v => "<script>alert(1)</script>" })
            .unwrap();
        assert!(!html.contains("<script>"), "{html}");
    }

    #[test]
    fn translate_fills_placeholders() {
        let mut env = Environment::new();
        env.add_function("t", translate);
        env.add_template("x.html", "{{ t('videos.credits_returned', credits=45) }}")
            .unwrap();
        let html = env
            .get_template("x.html")
            .unwrap()
            .render(minijinja::context! { lang => "en" })
            .unwrap();
        assert!(html.contains("45"), "{html}");
    }
}
