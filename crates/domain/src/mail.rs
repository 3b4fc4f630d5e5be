//! Mail reelgate sends: which kinds there are, and in which language.
//!
//! A mail is queued as a template name, a language and the values the template fills in;
//! it is rendered only when it is sent (or shown to the operator), so a template fixed later
//! fixes the mails still waiting too.

use std::fmt;
use std::str::FromStr;

/// What a mail is about; each has a text and an HTML template and a subject line per language.
/// Adding one: a variant here (with its name in `as_str` and `ALL`), the templates
/// `templates/mail/<name>.txt` and `.html` in the `reelgate` crate, and `mail.<name>_subject`
/// in every locale file. The template tests fail until all of them exist.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum MailTemplate {
    /// `token`: the single-use link's token.
    PasswordReset,
    /// `token`: confirms the address of a new account.
    VerifyEmail,
    /// `token`, `new_email`: sent to the new address, which the link confirms.
    ChangeEmail,
    /// `credits`, `balance`, `reason`: a grant or a voucher added credits.
    CreditsAdded,
    /// `generation_id`, `model`: a generation succeeded.
    VideoReady,
    /// `generation_id`, `model`, `credits`, `error`: a generation failed, its credits returned.
    VideoFailed,
    /// `balance`, `threshold`: the balance fell below the customer's chosen threshold.
    LowBalance,
    /// `subject`, `message`: an operator alert (upstream balance low, a key refused, …).
    OperatorAlert,
    /// `kind` (`purchase`, `refund`, `chargeback`), `payment_id`, `package`, `credits`,
    /// `amount`, `currency`: a receipt for money that moved.
    Receipt,
    /// No values: the password of the account was changed (a reset or the owner's change).
    PasswordChanged,
    /// `new_email`: sent to the old address once the account's address changed to a new one.
    EmailChanged,
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("unknown mail template {0:?}")]
pub struct UnknownTemplate(pub String);

impl MailTemplate {
    pub const ALL: [MailTemplate; 11] = [
        MailTemplate::PasswordReset,
        MailTemplate::VerifyEmail,
        MailTemplate::ChangeEmail,
        MailTemplate::CreditsAdded,
        MailTemplate::VideoReady,
        MailTemplate::VideoFailed,
        MailTemplate::LowBalance,
        MailTemplate::OperatorAlert,
        MailTemplate::Receipt,
        MailTemplate::PasswordChanged,
        MailTemplate::EmailChanged,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            MailTemplate::PasswordReset => "password_reset",
            MailTemplate::VerifyEmail => "verify_email",
            MailTemplate::ChangeEmail => "change_email",
            MailTemplate::CreditsAdded => "credits_added",
            MailTemplate::VideoReady => "video_ready",
            MailTemplate::VideoFailed => "video_failed",
            MailTemplate::LowBalance => "low_balance",
            MailTemplate::OperatorAlert => "operator_alert",
            MailTemplate::Receipt => "receipt",
            MailTemplate::PasswordChanged => "password_changed",
            MailTemplate::EmailChanged => "email_changed",
        }
    }

    /// Whether the mail carries a secret (a link that signs in or changes the account):
    /// its values are erased once it has been sent.
    pub fn carries_secret(self) -> bool {
        matches!(
            self,
            MailTemplate::PasswordReset | MailTemplate::VerifyEmail | MailTemplate::ChangeEmail
        )
    }
}

impl FromStr for MailTemplate {
    type Err = UnknownTemplate;
    fn from_str(s: &str) -> Result<Self, UnknownTemplate> {
        MailTemplate::ALL
            .into_iter()
            .find(|t| t.as_str() == s)
            .ok_or_else(|| UnknownTemplate(s.to_owned()))
    }
}

impl fmt::Display for MailTemplate {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// The languages reelgate writes in (the web app's and the mail's).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub enum Language {
    #[default]
    En,
    Tr,
}

impl Language {
    pub const ALL: [Language; 2] = [Language::En, Language::Tr];

    pub fn code(self) -> &'static str {
        match self {
            Language::En => "en",
            Language::Tr => "tr",
        }
    }

    /// `tr`, `tr-TR`, `TR_tr` → Turkish; anything else is not a language we write.
    pub fn parse(code: &str) -> Option<Language> {
        let primary = code.trim().split(['-', '_']).next()?.to_ascii_lowercase();
        match primary.as_str() {
            "en" => Some(Language::En),
            "tr" => Some(Language::Tr),
            _ => None,
        }
    }
}

impl fmt::Display for Language {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.code())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn template_names_round_trip() {
        for template in MailTemplate::ALL {
            assert_eq!(template.as_str().parse::<MailTemplate>(), Ok(template));
        }
        assert!("nonsense".parse::<MailTemplate>().is_err());
    }

    #[test]
    fn only_link_mails_carry_secrets() {
        assert!(MailTemplate::PasswordReset.carries_secret());
        assert!(!MailTemplate::VideoReady.carries_secret());
    }

    #[test]
    fn languages_parse_from_region_tags() {
        assert_eq!(Language::parse("tr-TR"), Some(Language::Tr));
        assert_eq!(Language::parse("EN_gb"), Some(Language::En));
        assert_eq!(Language::parse("de"), None);
    }
}
