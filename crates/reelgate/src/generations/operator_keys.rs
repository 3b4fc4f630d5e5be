//! Kie keys the operator adds on `/admin/upstream` or through `/v1/admin/upstream/keys`: each
//! is checked with a balance call to Kie before it is stored (sealed, `key_seal.rs`), then
//! listed by name and fingerprint, never shown again. Disabling one stops new work on it while
//! its tasks are still read with it; deleting one is refused while it has unsettled work.
//!
//! The database is the list every instance goes by: a change is made there, and this instance
//! reads it back at once; the others read it every [`KEY_SYNC`].

use kie::{KieClient, KieError};
use reelgate_store::{KeyDeletion, StoreError, StoredUpstreamKey};
use secrecy::{ExposeSecret, SecretString};
use std::collections::HashSet;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use super::key_seal::SealError;
use super::keys::{fingerprint, Availability, KeyOrigin, KeyPool, KeyView, PoolKey, UpstreamKey};
use super::Lifecycle;

/// How often every instance reads the operator's keys: an added, disabled or deleted key is
/// in force on every instance within this (on the one that made the change, at once).
pub const KEY_SYNC: Duration = Duration::from_secs(10);
const NAME_MAX: usize = 80;
const KEY_MAX: usize = 256;

#[derive(Debug, thiserror::Error)]
pub enum KeyChangeError {
    #[error("name must be 1 to {NAME_MAX} characters")]
    BadName,
    #[error("key must be 1 to {KEY_MAX} printable characters without spaces")]
    BadKey,
    /// Kie answered the balance check as it answers a wrong or revoked key.
    #[error("Kie refused this key: {0}")]
    Refused(String),
    /// Kie could not be asked (unreachable, 5xx): nothing stored, try again.
    #[error("cannot check the key with Kie now: {0}")]
    Unchecked(String),
    #[error("this key is already in the list, as {0}")]
    Duplicate(String),
    #[error("no such Kie key")]
    NotFound,
    #[error("key {0} comes from configuration (REELGATE_KIE_API_KEYS); change it there")]
    Configured(String),
    #[error("key {label} still has {unsettled} generation(s) not settled; disable it, and delete it once they are")]
    Busy { label: String, unsettled: u64 },
    #[error("cannot seal the key: {0}")]
    Seal(#[from] SealError),
    #[error("cannot build a Kie client for the key: {0}")]
    Client(#[source] KieError),
    #[error(transparent)]
    Store(#[from] StoreError),
}

/// The operator's words for a new key, checked.
struct NewKey {
    name: String,
    key: SecretString,
}

impl NewKey {
    fn parse(name: &str, key: &str) -> Result<Self, KeyChangeError> {
        let name = name.trim();
        if name.is_empty() || name.chars().count() > NAME_MAX || name.chars().any(char::is_control)
        {
            return Err(KeyChangeError::BadName);
        }
        let key = key.trim();
        if key.is_empty() || key.len() > KEY_MAX || !key.bytes().all(|b| b.is_ascii_graphic()) {
            return Err(KeyChangeError::BadKey);
        }
        Ok(NewKey {
            name: name.to_owned(),
            key: SecretString::from(key.to_owned()),
        })
    }
}

/// Sealed keys this process could not open, so each is logged once, not every sync.
static UNOPENED: Mutex<Option<HashSet<String>>> = Mutex::new(None);

impl KeyPool {
    fn client_with(&self, key: SecretString) -> Result<KieClient, KeyChangeError> {
        let mut config = self.template.clone();
        config.api_key = key;
        KieClient::new(config).map_err(KeyChangeError::Client)
    }

    /// A listed key by its id (an entered key) or fingerprint (any key).
    fn find(&self, id_or_label: &str) -> Option<Arc<PoolKey>> {
        self.entries().into_iter().find(|key| {
            key.label == id_or_label
                || matches!(key.origin(), KeyOrigin::Operator { id, .. } if id == id_or_label)
        })
    }

    /// Checks `key` with Kie, stores it sealed, and puts it in this instance's rotation.
    pub async fn add(&self, name: &str, key: &str) -> Result<KeyView, KeyChangeError> {
        let new = NewKey::parse(name, key)?;
        let label = fingerprint(new.key.expose_secret());
        if let Some(existing) = self.find(&label) {
            return Err(KeyChangeError::Duplicate(existing.label.clone()));
        }
        let client = self.client_with(new.key.clone())?;
        let credits = match client.credit_balance().await {
            Ok(credits) => credits,
            Err(KieError::Unauthorized { message }) => {
                return Err(KeyChangeError::Refused(message))
            }
            Err(error) if error.is_retryable() => {
                return Err(KeyChangeError::Unchecked(error.to_string()))
            }
            Err(error) => return Err(KeyChangeError::Refused(error.to_string())),
        };
        let sealed = self.seal.seal(&new.key, &label)?;
        let Some(stored) = self
            .store
            .add_upstream_key(&new.name, &label, &sealed)
            .await?
        else {
            return Err(KeyChangeError::Duplicate(label));
        };
        tracing::info!(key = %label, name = %stored.name, %credits, "Kie key added by the operator");
        self.sync().await?;
        let added = self.find(&stored.id).ok_or(KeyChangeError::NotFound)?;
        added.record_balance(credits);
        Ok(added.view())
    }

    /// Stops (or resumes) new work on an entered key. Its tasks are read with it either way.
    pub async fn set_enabled(
        &self,
        id_or_label: &str,
        enabled: bool,
    ) -> Result<KeyView, KeyChangeError> {
        let id = self.operator_id(id_or_label)?;
        let stored = self
            .store
            .set_upstream_key_enabled(&id, enabled)
            .await?
            .ok_or(KeyChangeError::NotFound)?;
        tracing::info!(key = %stored.fingerprint, name = %stored.name, enabled, "Kie key changed by the operator");
        self.sync().await?;
        self.find(&id)
            .map(|key| key.view())
            .ok_or(KeyChangeError::NotFound)
    }

    /// Deletes an entered key that has nothing unsettled.
    pub async fn delete(&self, id_or_label: &str) -> Result<(), KeyChangeError> {
        let id = self.operator_id(id_or_label)?;
        let label = self.find(&id).map(|k| k.label.clone()).unwrap_or_default();
        match self.store.delete_upstream_key(&id).await? {
            KeyDeletion::Deleted => {}
            KeyDeletion::NotFound => return Err(KeyChangeError::NotFound),
            KeyDeletion::Busy(unsettled) => return Err(KeyChangeError::Busy { label, unsettled }),
        }
        tracing::info!(key = %label, "Kie key deleted by the operator");
        self.sync().await?;
        Ok(())
    }

    /// The stored id of an entered key; a configured key cannot be changed here.
    fn operator_id(&self, id_or_label: &str) -> Result<String, KeyChangeError> {
        let key = self.find(id_or_label).ok_or(KeyChangeError::NotFound)?;
        match key.origin() {
            KeyOrigin::Operator { id, .. } => Ok(id),
            KeyOrigin::Configured => Err(KeyChangeError::Configured(key.label.clone())),
        }
    }

    /// Brings the pool in line with the stored keys: new ones join (unsealed with this
    /// instance's secret), disabled and deleted ones leave the rotation. True if a key became
    /// usable (dispatch should look again).
    pub async fn sync(&self) -> Result<bool, StoreError> {
        let _one_at_a_time = self.changing.lock().await;
        let stored = self.store.upstream_keys().await?;
        let current = self.entries_with_deleted();
        let mut woke = false;
        for key in &current {
            let gone = matches!(key.origin(), KeyOrigin::Operator { .. })
                && !stored.iter().any(|row| row.fingerprint == key.label);
            if gone && key.availability() != Availability::Deleted {
                key.set_availability(Availability::Deleted);
            }
        }
        let mut joining = Vec::new();
        for row in &stored {
            let wanted = if row.enabled {
                Availability::Enabled
            } else {
                Availability::Disabled
            };
            match current.iter().find(|k| k.label == row.fingerprint) {
                // A configured key goes by the configuration, even if it was also entered.
                Some(key) if key.origin() == KeyOrigin::Configured => {}
                Some(key) => {
                    if let Ok(mut origin) = key.origin.lock() {
                        *origin = KeyOrigin::Operator {
                            id: row.id.clone(),
                            name: row.name.clone(),
                        };
                    }
                    woke |= wanted == Availability::Enabled && key.availability() != wanted;
                    key.set_availability(wanted);
                }
                None => {
                    if let Some(key) = self.unseal(row) {
                        key.set_availability(wanted);
                        woke |= wanted == Availability::Enabled;
                        joining.push(Arc::new(key));
                    }
                }
            }
        }
        if !joining.is_empty() {
            if let Ok(mut keys) = self.keys.write() {
                keys.extend(joining);
            }
        }
        Ok(woke)
    }

    fn entries_with_deleted(&self) -> Vec<Arc<PoolKey>> {
        self.keys.read().map(|k| k.clone()).unwrap_or_default()
    }

    fn unseal(&self, row: &StoredUpstreamKey) -> Option<PoolKey> {
        let key = match self.seal.open(&row.sealed, &row.fingerprint) {
            Ok(key) => key,
            Err(error) => {
                let first_time = UNOPENED.lock().is_ok_and(|mut seen| {
                    seen.get_or_insert_with(HashSet::new)
                        .insert(row.fingerprint.clone())
                });
                if first_time {
                    tracing::error!(key = %row.fingerprint, name = %row.name, %error,
                        "cannot open this stored Kie key: it is left out of dispatch on this instance");
                }
                return None;
            }
        };
        let client = match self.client_with(key) {
            Ok(client) => client,
            Err(error) => {
                tracing::error!(key = %row.fingerprint, %error, "cannot use this stored Kie key");
                return None;
            }
        };
        let upstream = UpstreamKey {
            label: row.fingerprint.clone(),
            client,
        };
        let origin = KeyOrigin::Operator {
            id: row.id.clone(),
            name: row.name.clone(),
        };
        Some(PoolKey::new(
            upstream,
            origin,
            false,
            &self.store,
            &self.settings,
        ))
    }
}

/// The operator's changes, from the API and the operator's page alike; each wakes the workers
/// it concerns, so neither front end has to.
impl Lifecycle {
    /// Adds a key (checked with Kie first) and wakes dispatch for it.
    pub async fn add_upstream_key(
        &self,
        name: &str,
        key: &SecretString,
    ) -> Result<KeyView, KeyChangeError> {
        let view = self.keys.add(name, key.expose_secret()).await?;
        self.wake.dispatch.notify_one();
        // With a second key the guard reads each key's balance: now, not at its next poll.
        self.wake.guard.notify_one();
        Ok(view)
    }

    /// Disables or enables an entered key; an enabled one may take queued work at once.
    pub async fn set_upstream_key_enabled(
        &self,
        id: &str,
        enabled: bool,
    ) -> Result<KeyView, KeyChangeError> {
        let view = self.keys.set_enabled(id, enabled).await?;
        if enabled {
            self.wake.dispatch.notify_one();
        }
        Ok(view)
    }

    /// Deletes an entered key that has no unsettled work.
    pub async fn delete_upstream_key(&self, id: &str) -> Result<(), KeyChangeError> {
        self.keys.delete(id).await
    }
}

/// Reads the operator's keys every [`KEY_SYNC`] until the lifecycle stops.
pub async fn keep_in_sync(lifecycle: Arc<Lifecycle>) {
    let mut stop = lifecycle.stopping();
    let never = tokio::sync::Notify::new();
    loop {
        match lifecycle.keys.sync().await {
            Ok(true) => lifecycle.wake.dispatch.notify_one(),
            Ok(false) => {}
            Err(error) => tracing::warn!(%error, "cannot read the operator's Kie keys"),
        }
        if !crate::worker::pause_for(KEY_SYNC, &never, &mut stop).await {
            break;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_new_key_needs_a_name_and_a_key_without_spaces() {
        assert!(NewKey::parse("  main account ", " abc123 ").is_ok());
        assert!(matches!(
            NewKey::parse(" ", "abc"),
            Err(KeyChangeError::BadName)
        ));
        assert!(matches!(
            NewKey::parse("x", "ab c"),
            Err(KeyChangeError::BadKey)
        ));
        assert!(matches!(
            NewKey::parse("x", ""),
            Err(KeyChangeError::BadKey)
        ));
        assert!(matches!(
            NewKey::parse(&"n".repeat(81), "abc"),
            Err(KeyChangeError::BadName)
        ));
    }
}
