//! Opening an account and changing what keeps it safe, for both front ends. Each change queues its mail (or
//! marks files to delete) in the store's own transaction; the worker that acts on it is woken
//! here, once it is committed, so no handler has to.

use reelgate_domain::accounts::{Email, Password, SessionToken, User, UserId};
use reelgate_domain::mail::Language;
use reelgate_store::{Closed, NewUser, Store, StoreError};
use tokio::sync::Notify;

/// A new password, proving the current one; every session but `keep` ends, and the owner is
/// mailed.
pub async fn change_password(
    store: &Store,
    mail: &Notify,
    user: &UserId,
    current: &Password,
    new: &Password,
    keep: Option<&SessionToken>,
) -> Result<(), StoreError> {
    store.change_password(user, current, new, keep).await?;
    mail.notify_one();
    Ok(())
}

/// A link to confirm `new_email` is mailed to it; the account keeps its address until then.
pub async fn request_email_change(
    store: &Store,
    mail: &Notify,
    user: &UserId,
    password: &Password,
    new_email: &Email,
) -> Result<(), StoreError> {
    store
        .request_email_change(user, password, new_email)
        .await?;
    mail.notify_one();
    Ok(())
}

/// Closes the account (`Store::close_account`); the media copier then removes its videos.
pub async fn close_account(
    store: &Store,
    media: &Notify,
    user: &UserId,
    password: &Password,
) -> Result<Closed, StoreError> {
    let closed = store.close_account(user, password).await?;
    media.notify_one();
    Ok(closed)
}

/// A customer signing up themselves: the account, and the mail confirming its address.
pub async fn sign_up(
    store: &Store,
    mail: &Notify,
    new: NewUser,
    language: Language,
) -> Result<User, StoreError> {
    let user = store.sign_up(new, language).await?;
    mail.notify_one();
    Ok(user)
}
