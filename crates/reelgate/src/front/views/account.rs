//! The account as both front ends show it: the account itself, its ledger rows, its API keys,
//! where it is signed in and what it wants mailed. The JSON API answers these (they are in
//! the OpenAPI document); the web app renders the same values.

use chrono::{DateTime, Utc};
use reelgate_domain::accounts::ApiKeyInfo;
use reelgate_domain::accounts::User;
use reelgate_domain::ledger::LedgerEntry;
use reelgate_domain::Credits;
use reelgate_store::{MailPreferences, SessionInfo};
use serde::Serialize;
use utoipa::ToSchema;

#[derive(Debug, Serialize, ToSchema)]
pub struct AccountView {
    pub id: String,
    pub email: String,
    /// `customer` or `admin`.
    pub role: String,
    /// Spendable credits.
    pub balance: i64,
    /// Credits held by generations not yet finished (not included in `balance`).
    pub held: i64,
    /// Credits owed after a refunded or disputed purchase had been spent; while above zero,
    /// new generations are refused (402) and the next purchase pays it first.
    pub debt: i64,
    pub disabled: bool,
    pub created_at: DateTime<Utc>,
}

impl From<&User> for AccountView {
    fn from(user: &User) -> Self {
        AccountView {
            id: user.id.to_string(),
            email: user.email.to_string(),
            role: user.role.to_string(),
            balance: user.balance.get(),
            held: user.held.get(),
            debt: user.debt.get(),
            disabled: user.is_disabled(),
            created_at: user.created_at,
        }
    }
}

/// One credit movement.
#[derive(Debug, Serialize, ToSchema)]
pub struct LedgerEntryView {
    pub id: i64,
    /// `grant`, `voucher`, `hold`, `charge`, `refund`, `adjustment`, `purchase`, `reversal`,
    /// `debt`, `debt_repayment` or `reinstatement`.
    pub kind: String,
    /// Signed: negative amounts leave the balance.
    pub amount: i64,
    pub reason: String,
    /// `system`, `cli`, or the id of the user who caused it.
    pub actor: String,
    pub generation_id: Option<String>,
    /// The payment a purchase, reversal, debt or repayment belongs to.
    pub payment_id: Option<String>,
    /// The change to the account's debt (debt and repayment rows).
    pub debt: i64,
    pub created_at: DateTime<Utc>,
}

impl From<&LedgerEntry> for LedgerEntryView {
    fn from(entry: &LedgerEntry) -> Self {
        LedgerEntryView {
            id: entry.id,
            kind: entry.kind.to_string(),
            amount: entry.amount.get(),
            reason: entry.reason.clone(),
            actor: entry.actor.to_string(),
            generation_id: entry.generation_id.as_ref().map(ToString::to_string),
            payment_id: entry.payment_id.as_ref().map(ToString::to_string),
            debt: entry.debt.get(),
            created_at: entry.created_at,
        }
    }
}

#[derive(Debug, Serialize, ToSchema)]
pub struct ApiKeyView {
    pub id: String,
    pub name: String,
    /// The key's first characters, to tell keys apart; never the whole key.
    pub prefix: String,
    pub created_at: DateTime<Utc>,
    pub last_used_at: Option<DateTime<Utc>>,
    pub revoked_at: Option<DateTime<Utc>>,
}

impl From<&ApiKeyInfo> for ApiKeyView {
    fn from(key: &ApiKeyInfo) -> Self {
        ApiKeyView {
            id: key.id.to_string(),
            name: key.name.clone(),
            prefix: key.prefix.clone(),
            created_at: key.created_at,
            last_used_at: key.last_used_at,
            revoked_at: key.revoked_at,
        }
    }
}

/// One place the account is signed in to the web app.
#[derive(Debug, Serialize, ToSchema)]
pub struct SessionView {
    /// Tells sessions apart; opens none.
    pub id: String,
    pub user_agent: Option<String>,
    pub created_at: DateTime<Utc>,
    pub last_used_at: Option<DateTime<Utc>>,
    pub expires_at: DateTime<Utc>,
    pub revoked_at: Option<DateTime<Utc>>,
    /// The session this request came with.
    pub current: bool,
}

impl From<&SessionInfo> for SessionView {
    fn from(s: &SessionInfo) -> Self {
        SessionView {
            id: s.id.clone(),
            user_agent: s.user_agent.clone(),
            created_at: s.created_at,
            last_used_at: s.last_used_at,
            expires_at: s.expires_at,
            revoked_at: s.revoked_at,
            current: s.current,
        }
    }
}

/// What the caller wants mailed.
#[derive(Debug, Serialize, ToSchema)]
pub struct NotificationsView {
    /// `en` or `tr`: the language of every mail.
    pub language: String,
    pub email_verified: bool,
    /// "Your video is ready" / "could not be generated, credits returned".
    pub notify_generations: bool,
    /// Mail once when the balance falls below this; `null`: never.
    pub low_balance_below: Option<i64>,
}

impl From<&MailPreferences> for NotificationsView {
    fn from(p: &MailPreferences) -> Self {
        NotificationsView {
            language: p.language.code().to_owned(),
            email_verified: p.email_verified,
            notify_generations: p.notify_generations,
            low_balance_below: p.low_balance_below.map(Credits::get),
        }
    }
}
