//! Password hashing with argon2id (PHC strings). Hashing is deliberately slow, so it runs on
//! the blocking pool instead of stalling the async workers, and never while a database
//! connection is held (a burst of sign-ins otherwise starved the pool: 500 `pool timed out`).
//! At most one hash per CPU runs at once: argon2 takes 19 MiB and a core each, and a burst of
//! 200 hashes at once only made all of them slow and the machine short of memory.

use argon2::password_hash::{PasswordHash, PasswordHasher, PasswordVerifier, SaltString};
use argon2::Argon2;
use rand::rngs::OsRng;
use rand::RngCore;
use reelgate_domain::accounts::Password;
use std::sync::OnceLock;
use tokio::sync::Semaphore;

use crate::StoreError;

fn hashers() -> &'static Semaphore {
    static HASHERS: OnceLock<Semaphore> = OnceLock::new();
    HASHERS.get_or_init(|| {
        let cpus = std::thread::available_parallelism().map_or(2, |n| n.get());
        Semaphore::new(cpus)
    })
}

/// Runs one argon2 computation on the blocking pool, in turn with the others.
async fn in_turn<T: Send + 'static>(
    work: impl FnOnce() -> Result<T, StoreError> + Send + 'static,
) -> Result<T, StoreError> {
    // The semaphore is never closed, so acquiring cannot fail.
    let _turn = hashers()
        .acquire()
        .await
        .map_err(|_| StoreError::PasswordHash)?;
    tokio::task::spawn_blocking(work)
        .await
        .map_err(|_| StoreError::PasswordHash)?
}

pub(crate) async fn hash(password: &Password) -> Result<String, StoreError> {
    let password = password.clone();
    in_turn(move || hash_blocking(password.expose())).await
}

fn hash_blocking(password: &str) -> Result<String, StoreError> {
    let mut salt = [0u8; 16];
    OsRng.fill_bytes(&mut salt);
    let salt = SaltString::encode_b64(&salt).map_err(|_| StoreError::PasswordHash)?;
    Argon2::default()
        .hash_password(password.as_bytes(), &salt)
        .map(|hash| hash.to_string())
        .map_err(|_| StoreError::PasswordHash)
}

/// Checks a password against a stored hash, or against a throwaway hash when there is no user,
/// so that a wrong email takes as long to refuse as a wrong password.
pub(crate) async fn verify(
    password: &Password,
    stored: Option<String>,
) -> Result<bool, StoreError> {
    let password = password.clone();
    in_turn(move || {
        let known_user = stored.is_some();
        let stored = match stored {
            Some(stored) => stored,
            None => dummy_hash()?.to_owned(),
        };
        let parsed = PasswordHash::new(&stored).map_err(|_| StoreError::PasswordHash)?;
        let matches = Argon2::default()
            .verify_password(password.expose().as_bytes(), &parsed)
            .is_ok();
        Ok(known_user && matches)
    })
    .await
}

fn dummy_hash() -> Result<&'static str, StoreError> {
    static DUMMY: OnceLock<String> = OnceLock::new();
    if let Some(hash) = DUMMY.get() {
        return Ok(hash);
    }
    let hash = hash_blocking("not a password anyone has")?;
    Ok(DUMMY.get_or_init(|| hash))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn a_hash_verifies_its_password_only() {
        let right = Password::parse("correct horse battery").unwrap();
        let wrong = Password::parse("correct horse battery!").unwrap();
        let stored = hash(&right).await.unwrap();
        assert!(stored.starts_with("$argon2id$"));
        assert!(verify(&right, Some(stored.clone())).await.unwrap());
        assert!(!verify(&wrong, Some(stored)).await.unwrap());
    }
}
