//! A queued mail made into what is sent: a subject, a text part and an HTML part, in the
//! recipient's language.
//!
//! Every mail has the same shape — a greeting, paragraphs, perhaps one button, a closing note —
//! so two templates (`templates/mail/message.{txt,html}`) render them all; what differs is
//! text, which lives in the locale files as `mail.<name>_{subject,body,action,after}` with
//! `{placeholders}` filled from the mail's values, and the button's link, decided here.

use minijinja::{context, Environment, Value};
use reelgate_domain::mail::MailTemplate;
use reelgate_store::OutboxMail;
use std::sync::OnceLock;
use url::Url;

use crate::web::format;
use crate::web::Locale;

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RenderedMail {
    pub subject: String,
    pub text: String,
    pub html: String,
}

#[derive(Debug, thiserror::Error)]
pub enum RenderError {
    #[error("mail {template}: {reason}")]
    Values {
        template: MailTemplate,
        reason: String,
    },
    #[error("mail template: {0}")]
    Template(#[from] minijinja::Error),
}

fn environment() -> &'static Environment<'static> {
    static ENV: OnceLock<Environment<'static>> = OnceLock::new();
    ENV.get_or_init(|| {
        let mut env = Environment::new();
        // Compile-time constants: a template that does not parse is caught by the tests below.
        for (name, source) in [
            (
                "message.txt",
                include_str!("../../templates/mail/message.txt"),
            ),
            (
                "message.html",
                include_str!("../../templates/mail/message.html"),
            ),
        ] {
            if let Err(error) = env.add_template(name, source) {
                tracing::error!(template = name, %error, "mail template does not parse");
            }
        }
        env
    })
}

/// Renders `mail`; links point into the site at `base` (the public URL).
pub fn render(mail: &OutboxMail, base: &Url) -> Result<RenderedMail, RenderError> {
    let locale = Locale::parse(mail.language.code()).unwrap_or(Locale::En);
    let prefix = text_prefix(mail)?;
    let fill = |key: &str| {
        fill(
            locale.text(&format!("mail.{prefix}_{key}")),
            &mail.values,
            locale,
        )
    };
    let paragraphs = |key: &str| -> Vec<String> {
        fill(key)
            .split("\n\n")
            .map(str::trim)
            .filter(|p| !p.is_empty())
            .map(str::to_owned)
            .collect()
    };
    // Headers cannot hold line breaks; an operator alert's subject comes from outside.
    let subject: String = fill("subject")
        .chars()
        .map(|c| if c.is_control() { ' ' } else { c })
        .collect();
    // minijinja's escaping turns every `/` into `&#x2f;`, which mail clients show as typed
    // when they quote the link; the link is ours (the public URL and a token of hex), so
    // escaping the few characters HTML needs is enough.
    let url = link(mail, base)?;
    let action = context! {
        label => fill("action"),
        url => Value::from_safe_string(escape_html(&url)),
    };
    let site = base.as_str().trim_end_matches('/');
    let values = context! {
        lang => locale.code(),
        subject => subject,
        greeting => locale.text("mail.greeting"),
        paragraphs => paragraphs("body"),
        action => action,
        after => paragraphs("after"),
        link_help => locale.text("mail.link_help"),
        signature => locale.text("mail.signature"),
        footer => locale.text("mail.footer").replace("{site}", site),
    };
    let env = environment();
    Ok(RenderedMail {
        text: env.get_template("message.txt")?.render(&values)?,
        html: env.get_template("message.html")?.render(&values)?,
        subject,
    })
}

/// The locale keys' prefix: the template's name, or for receipts the kind of money movement.
fn text_prefix(mail: &OutboxMail) -> Result<String, RenderError> {
    if mail.template != MailTemplate::Receipt {
        return Ok(mail.template.as_str().to_owned());
    }
    match mail.values.get("kind").and_then(|k| k.as_str()) {
        Some(kind @ ("purchase" | "refund" | "chargeback")) => Ok(format!("receipt_{kind}")),
        other => Err(RenderError::Values {
            template: mail.template,
            reason: format!("kind must be purchase, refund or chargeback, not {other:?}"),
        }),
    }
}

/// Where the mail's button leads.
fn link(mail: &OutboxMail, base: &Url) -> Result<String, RenderError> {
    let token = || {
        mail.values
            .get("token")
            .and_then(|t| t.as_str())
            .ok_or_else(|| RenderError::Values {
                template: mail.template,
                reason: "no token".into(),
            })
    };
    let path = match mail.template {
        MailTemplate::PasswordReset => format!("password-reset/confirm?token={}", token()?),
        MailTemplate::VerifyEmail | MailTemplate::ChangeEmail => {
            format!("confirm-email?token={}", token()?)
        }
        MailTemplate::PasswordChanged | MailTemplate::EmailChanged => "password-reset".into(),
        MailTemplate::VideoReady | MailTemplate::VideoFailed => "videos".into(),
        MailTemplate::CreditsAdded | MailTemplate::LowBalance | MailTemplate::Receipt => {
            "account".into()
        }
        MailTemplate::OperatorAlert => "admin".into(),
    };
    base.join(&path)
        .map(String::from)
        .map_err(|e| RenderError::Values {
            template: mail.template,
            reason: format!("link: {e}"),
        })
}

fn escape_html(text: &str) -> String {
    text.replace('&', "&amp;")
        .replace('"', "&quot;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
}

/// `{name}` → the value of `name`: strings as they are, whole numbers grouped like credits
/// everywhere else (in the mail's language), nothing for a missing or null value.
fn fill(text: &str, values: &serde_json::Value, locale: Locale) -> String {
    let mut filled = text.to_owned();
    if let Some(values) = values.as_object() {
        // An amount with its currency is money, written as the mail's language writes it.
        if let (Some(amount), Some(currency)) = (
            values.get("amount").and_then(|a| a.as_str()),
            values.get("currency").and_then(|c| c.as_str()),
        ) {
            if let Ok(exact) = amount.parse::<rust_decimal::Decimal>() {
                filled = filled.replace("{amount}", &format::money(exact, currency, locale));
            }
        }
        for (name, value) in values {
            let shown = match value {
                serde_json::Value::String(s) => s.clone(),
                serde_json::Value::Number(n) => match n.as_i64() {
                    Some(n) => format::integer(n, locale),
                    None => n.to_string(),
                },
                serde_json::Value::Null => String::new(),
                other => other.to_string(),
            };
            filled = filled.replace(&format!("{{{name}}}"), &shown);
        }
    }
    filled
}

#[cfg(test)]
mod tests {
    use super::*;
    use reelgate_domain::accounts::Email;
    use reelgate_domain::mail::Language;
    use serde_json::json;

    fn mail(template: MailTemplate, language: Language, values: serde_json::Value) -> OutboxMail {
        OutboxMail {
            id: "mail_01".into(),
            user_id: None,
            to: Email::parse("ada@example.com").unwrap(),
            language,
            template,
            values,
            attempts: 0,
            last_error: None,
            created_at: chrono::Utc::now(),
            sent_at: None,
            gave_up_at: None,
        }
    }

    fn base() -> Url {
        Url::parse("https://videos.example.com/").unwrap()
    }

    /// Every value any template documents.
    fn example_values() -> serde_json::Value {
        json!({
            "token": "rgt_0123456789abcdef0123456789abcdef",
            "new_email": "new@example.com",
            "credits": 1500, "balance": 2000, "reason": "welcome gift", "kind": "purchase",
            "generation_id": "gen_01", "model": "kling-2.6/text-to-video",
            "error": "the prompt was refused", "threshold": 100,
            "subject": "Kie balance low", "message": "1,000 credits left",
            "payment_id": "pay_01", "package": "Starter", "amount": "149.90", "currency": "TRY",
        })
    }

    #[test]
    fn every_template_renders_in_every_language_with_no_placeholder_left() {
        for template in MailTemplate::ALL {
            for language in Language::ALL {
                let rendered = render(&mail(template, language, example_values()), &base())
                    .unwrap_or_else(|e| panic!("{template} {language}: {e}"));
                for part in [&rendered.subject, &rendered.text, &rendered.html] {
                    assert!(!part.contains('{'), "{template} {language}: {part}");
                    assert!(
                        !part.contains("[missing text]"),
                        "{template} {language}: {part}"
                    );
                }
                assert!(!rendered.subject.is_empty());
                assert!(rendered.html.contains("https://videos.example.com/"));
                assert!(rendered.text.contains("https://videos.example.com/"));
            }
        }
    }

    #[test]
    fn a_reset_mail_links_to_its_token_in_both_parts() {
        let rendered = render(
            &mail(
                MailTemplate::PasswordReset,
                Language::Tr,
                json!({"token": "rgt_abc0123456789abcdef"}),
            ),
            &base(),
        )
        .unwrap();
        let link =
            "https://videos.example.com/password-reset/confirm?token=rgt_abc0123456789abcdef";
        assert!(rendered.text.contains(link), "{}", rendered.text);
        assert!(
            rendered.html.contains(&format!("href=\"{link}\"")),
            "{}",
            rendered.html
        );
        assert_eq!(rendered.subject, "reelgate şifrenizi sıfırlayın");
    }

    #[test]
    fn values_are_escaped_in_html_and_numbers_grouped() {
        let rendered = render(
            &mail(
                MailTemplate::CreditsAdded,
                Language::En,
                json!({"credits": 1500, "balance": 20000, "reason": "<script>x</script>"}),
            ),
            &base(),
        )
        .unwrap();
        assert!(!rendered.html.contains("<script>"), "{}", rendered.html);
        assert!(rendered.text.contains("<script>x</script>"));
        assert_eq!(rendered.subject, "1,500 credits were added to your account");
        assert!(rendered.text.contains("20,000"));
    }

    #[test]
    fn a_subject_cannot_break_the_headers() {
        let rendered = render(
            &mail(
                MailTemplate::OperatorAlert,
                Language::En,
                json!({"subject": "low\r\nBcc: victim@example.com", "message": "m"}),
            ),
            &base(),
        )
        .unwrap();
        assert!(!rendered.subject.contains('\n') && !rendered.subject.contains('\r'));
    }

    #[test]
    fn a_receipt_must_say_what_moved() {
        let err = render(
            &mail(MailTemplate::Receipt, Language::En, json!({})),
            &base(),
        );
        assert!(err.is_err());
    }

    #[test]
    fn a_receipt_writes_its_money_in_the_mails_language() {
        let values = json!({"kind": "refund", "payment_id": "pay_01", "package": "Starter",
                            "amount": "1149.9", "currency": "TRY", "credits": 1045});
        let tr = render(
            &mail(MailTemplate::Receipt, Language::Tr, values.clone()),
            &base(),
        )
        .unwrap();
        assert_eq!(tr.subject, "İade: ₺1.149,90");
        assert!(tr.text.contains("1.045 kredi"), "{}", tr.text);
        let en = render(&mail(MailTemplate::Receipt, Language::En, values), &base()).unwrap();
        assert_eq!(en.subject, "Refund: ₺1,149.90");
    }
}
