//! What `reelgate admin …` does. Each command opens the same database as `serve` with a pool
//! of its own, so it works while `serve` runs (SQLite waits for the write lock; see the store).

use std::io::Write;

use reelgate_domain::accounts::{Email, Password, Role};
use reelgate_domain::ledger::Actor;
use reelgate_domain::Credits;
use reelgate_store::{NewUser, Store, StoreError};

use crate::cli::AdminCommand;

#[derive(Debug, thiserror::Error)]
pub enum OperatorError {
    #[error("--email: {0}")]
    Email(#[from] reelgate_domain::accounts::EmailError),
    #[error("--password: {0}")]
    Password(#[from] reelgate_domain::accounts::PasswordError),
    #[error("--credits: must not be 0")]
    ZeroCredits,
    #[error("no user with email {0}")]
    NoSuchUser(Email),
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error("cannot write the output: {0}")]
    Output(#[from] std::io::Error),
}

/// Runs one admin command, writing what it did to `out`.
pub async fn run(
    store: &Store,
    command: AdminCommand,
    out: &mut impl Write,
) -> Result<(), OperatorError> {
    match command {
        AdminCommand::CreateUser {
            email,
            password,
            admin,
        } => {
            let user = store
                .create_user(NewUser {
                    email: Email::parse(&email)?,
                    password: Password::parse(&password)?,
                    role: if admin { Role::Admin } else { Role::Customer },
                    signup_bonus: Credits::ZERO,
                })
                .await?;
            writeln!(out, "created {} {} ({})", user.role, user.email, user.id)?;
        }
        AdminCommand::Grant {
            email,
            credits,
            reason,
        } => {
            let user = find(store, &email).await?;
            if credits == 0 {
                return Err(OperatorError::ZeroCredits);
            }
            let entry = store
                .operator_grant(
                    &user.id,
                    Credits::new(credits),
                    reason.as_deref(),
                    &Actor::Cli,
                )
                .await?;
            let balance = store.user(&user.id).await?.balance;
            writeln!(
                out,
                "{} {} credits for {}; balance now {balance}",
                entry.kind, entry.amount, user.email
            )?;
        }
        AdminCommand::CreateApiKey { email, name } => {
            let user = find(store, &email).await?;
            let (info, key) = store
                .create_api_key(&user.id, name.as_deref().unwrap_or(""))
                .await?;
            writeln!(
                out,
                "created API key {} ({:?}) for {}; it is shown only once:",
                info.id, info.name, user.email
            )?;
            // The key alone on the last line, for scripts: `reelgate admin create-api-key … | tail -1`.
            writeln!(out, "{}", key.expose())?;
        }
    }
    Ok(())
}

async fn find(
    store: &Store,
    email: &str,
) -> Result<reelgate_domain::accounts::User, OperatorError> {
    let email = Email::parse(email)?;
    match store.user_by_email(&email).await {
        Err(StoreError::UserNotFound) => Err(OperatorError::NoSuchUser(email)),
        other => Ok(other?),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use reelgate_store::testing::sqlite_store;

    async fn run_to_string(store: &Store, command: AdminCommand) -> Result<String, OperatorError> {
        let mut out = Vec::new();
        run(store, command, &mut out).await?;
        Ok(String::from_utf8(out).unwrap())
    }

    fn create_user(email: &str, admin: bool) -> AdminCommand {
        AdminCommand::CreateUser {
            email: email.into(),
            password: "correct horse battery".into(),
            admin,
        }
    }

    #[tokio::test]
    async fn create_grant_and_key_as_product_md_says() {
        let store = sqlite_store().await.unwrap();
        let out = run_to_string(&store, create_user("Ops@Example.com", true))
            .await
            .unwrap();
        assert!(
            out.starts_with("created admin ops@example.com (usr_"),
            "{out}"
        );

        let grant = AdminCommand::Grant {
            email: "ops@example.com".into(),
            credits: 500,
            reason: Some("launch".into()),
        };
        let out = run_to_string(&store, grant).await.unwrap();
        assert_eq!(
            out,
            "grant 500 credits for ops@example.com; balance now 500\n"
        );

        let adjust = AdminCommand::Grant {
            email: "ops@example.com".into(),
            credits: -200,
            reason: None,
        };
        let out = run_to_string(&store, adjust).await.unwrap();
        assert_eq!(
            out,
            "adjustment -200 credits for ops@example.com; balance now 300\n"
        );

        let key = AdminCommand::CreateApiKey {
            email: "ops@example.com".into(),
            name: Some("deploy".into()),
        };
        let out = run_to_string(&store, key).await.unwrap();
        let last = out.lines().last().unwrap();
        let key = reelgate_domain::accounts::ApiKey::parse(last).unwrap();
        let owner = store.api_key_user(&key).await.unwrap().unwrap();
        assert_eq!(owner.email.as_str(), "ops@example.com");
    }

    #[tokio::test]
    async fn bad_input_names_the_flag() {
        let store = sqlite_store().await.unwrap();
        let err = run_to_string(&store, create_user("not-an-email", false))
            .await
            .unwrap_err();
        assert!(err.to_string().starts_with("--email:"), "{err}");
        let short = AdminCommand::CreateUser {
            email: "a@example.com".into(),
            password: "short".into(),
            admin: false,
        };
        let err = run_to_string(&store, short).await.unwrap_err();
        assert!(err.to_string().starts_with("--password:"), "{err}");
        assert!(!err.to_string().contains("short"));
        let grant = AdminCommand::Grant {
            email: "nobody@example.com".into(),
            credits: 5,
            reason: None,
        };
        let err = run_to_string(&store, grant).await.unwrap_err();
        assert_eq!(err.to_string(), "no user with email nobody@example.com");
    }
}
