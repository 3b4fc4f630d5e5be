//! First run: a fresh installation has no operator, so nobody could sign in to the operator
//! pages. `serve` then creates one and prints its credentials once, to standard output only
//! (never into the log), for the person who started it.

use rand::distributions::{Alphanumeric, DistString};
use reelgate_domain::accounts::{Email, Password, Role};
use reelgate_domain::Credits;
use reelgate_store::{NewUser, Store, StoreError};

pub const FIRST_OPERATOR_EMAIL: &str = "admin@reelgate.local";

/// The operator made on first run; `password` is shown once and kept nowhere.
pub struct FirstOperator {
    pub email: Email,
    pub password: String,
}

impl std::fmt::Debug for FirstOperator {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "FirstOperator({}, [redacted])", self.email)
    }
}

#[derive(Debug, thiserror::Error)]
pub enum FirstRunError {
    #[error("cannot create the first operator: {0}")]
    Store(#[from] StoreError),
    /// The built-in email or a generated password refused by our own rules: a bug.
    #[error("cannot create the first operator: {0}")]
    Invalid(String),
}

/// Creates the first operator if there is no operator yet.
pub async fn ensure_operator(store: &Store) -> Result<Option<FirstOperator>, FirstRunError> {
    if store.has_admin().await? {
        return Ok(None);
    }
    let password = Alphanumeric.sample_string(&mut rand::thread_rng(), 20);
    let email = Email::parse(FIRST_OPERATOR_EMAIL)
        .map_err(|e| FirstRunError::Invalid(format!("built-in email: {e}")))?;
    let new = NewUser {
        email: email.clone(),
        password: Password::parse(&password)
            .map_err(|e| FirstRunError::Invalid(format!("generated password: {e}")))?,
        role: Role::Admin,
        signup_bonus: Credits::ZERO,
    };
    match store.create_user(new).await {
        Ok(_) => Ok(Some(FirstOperator { email, password })),
        // Another instance starting at the same moment made it, or a customer signed up with
        // this address: either way there is nothing to print.
        Err(StoreError::EmailTaken) => Ok(None),
        Err(other) => Err(other.into()),
    }
}

/// The message `serve` prints for the person who started it.
pub fn announcement(operator: &FirstOperator, sign_in_url: &str) -> String {
    format!(
        "\n  ┌──────────────────────────────────────────────────────────────┐\n  \
         │ reelgate first run: an operator account was created.         │\n  \
         └──────────────────────────────────────────────────────────────┘\n  \
         sign in at  {sign_in_url}\n  \
         email       {}\n  \
         password    {}\n  \
         This password is shown only now; keep it somewhere safe.\n",
        operator.email, operator.password
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn the_first_start_makes_one_operator_who_can_sign_in_and_later_starts_make_none() {
        let store = reelgate_store::testing::sqlite_store().await.unwrap();
        let first = ensure_operator(store.store())
            .await
            .unwrap()
            .expect("created");
        let password = Password::parse(&first.password).unwrap();
        let user = store.authenticate(&first.email, &password).await.unwrap();
        assert!(user.is_admin());
        assert!(ensure_operator(store.store()).await.unwrap().is_none());
        assert!(!format!("{first:?}").contains(&first.password));
        let text = announcement(&first, "http://127.0.0.1:8080/signin");
        assert!(text.contains(&first.password) && text.contains(FIRST_OPERATOR_EMAIL));
    }
}
