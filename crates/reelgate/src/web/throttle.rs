//! Sign-in throttling: five failed sign-ins for one email from one client address within 15
//! minutes lock that pair out until the oldest failure ages out.
//!
//! Each sign-in reserves its attempt in the database *before* the password is checked (see
//! `reelgate_store::AttemptLimit`), so guesses sent all at once are counted like guesses sent
//! one by one, and every instance on one PostgreSQL shares the count. The client address is
//! the one `REELGATE_TRUSTED_PROXIES` lets us believe, so that behind a proxy one guesser does
//! not lock the account for everyone.

use reelgate_domain::accounts::Email;
use reelgate_store::AttemptLimit;
use std::net::IpAddr;
use std::time::Duration;

pub const SIGN_IN: AttemptLimit = AttemptLimit {
    name: "sign_in",
    limit: 5,
    window: Duration::from_secs(15 * 60),
};

/// What the sign-in throttle counts: the account as the store will find it (so that spelling
/// the address differently does not buy more guesses), and the client.
pub fn subject(email: &str, client: Option<IpAddr>) -> String {
    let account = match Email::parse(email) {
        Ok(email) => email.as_str().to_owned(),
        Err(_) => email.trim().to_lowercase(),
    };
    let client = client.map_or_else(|| "-".to_owned(), |ip| ip.to_string());
    format!("{account}|{client}")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn spellings_of_one_address_are_one_subject_and_clients_are_apart() {
        let here = Some(IpAddr::from([127, 0, 0, 1]));
        assert_eq!(
            subject(" Ada@Example.com", here),
            subject("ada@example.com", here)
        );
        assert_ne!(
            subject("ada@example.com", here),
            subject("ada@example.com", None)
        );
    }
}
