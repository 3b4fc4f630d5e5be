//! API keys recently seen valid, so a request with a known key costs no query for it.
//!
//! An entry lives [`KEY_CACHE_TTL`] at most. What this instance changes about a key or its
//! owner (a revocation, disabling, closing, a new address) forgets the owner's entries when it
//! commits, so here it takes effect at once; another instance sharing the database notices
//! when its entry expires, at most [`KEY_CACHE_TTL`] later. A lookup that read the database
//! before such a change committed cannot store what it read after it (`epoch`), or a
//! revocation racing a request could be undone for a whole TTL.

use std::collections::HashMap;
use std::sync::{Mutex, PoisonError};
use std::time::{Duration, Instant};

use reelgate_domain::accounts::{User, UserId};

/// How long a key stays trusted without asking the database.
pub const KEY_CACHE_TTL: Duration = Duration::from_secs(1);

/// Most keys remembered at once; about 300 bytes each.
pub const KEY_CACHE_CAPACITY: usize = 10_000;

pub(crate) struct KeyCache {
    ttl: Duration,
    capacity: usize,
    inner: Mutex<Inner>,
}

#[derive(Default)]
struct Inner {
    /// By the key's hash.
    entries: HashMap<String, Entry>,
    /// Bumped by every [`KeyCache::forget_user`].
    epoch: u64,
}

struct Entry {
    user: User,
    until: Instant,
}

impl KeyCache {
    pub(crate) fn new(ttl: Duration, capacity: usize) -> KeyCache {
        KeyCache {
            ttl,
            capacity,
            inner: Mutex::default(),
        }
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Inner> {
        // Every update leaves the map consistent, so one that panicked left nothing half done.
        self.inner.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// The owner of the key with this hash, if it was seen valid less than a TTL ago.
    pub(crate) fn get(&self, hash: &str, now: Instant) -> Option<User> {
        let inner = self.lock();
        let entry = inner.entries.get(hash)?;
        (entry.until > now).then(|| entry.user.clone())
    }

    /// To pass to [`KeyCache::insert`] with what is read from the database after this call.
    pub(crate) fn epoch(&self) -> u64 {
        self.lock().epoch
    }

    /// Remembers a valid key, unless some owner was forgotten since `epoch` was taken.
    pub(crate) fn insert(&self, hash: String, user: User, epoch: u64, now: Instant) {
        let mut inner = self.lock();
        if inner.epoch != epoch {
            return;
        }
        if inner.entries.len() >= self.capacity && !inner.entries.contains_key(&hash) {
            inner.entries.retain(|_, entry| entry.until > now);
            if inner.entries.len() >= self.capacity {
                // Still full of live entries: drop any one; it costs its owner one query.
                if let Some(victim) = inner.entries.keys().next().cloned() {
                    inner.entries.remove(&victim);
                }
            }
        }
        let until = now + self.ttl;
        inner.entries.insert(hash, Entry { user, until });
    }

    /// Forgets every key of this user (after a change to them or their keys committed).
    pub(crate) fn forget_user(&self, user: &UserId) {
        let mut inner = self.lock();
        inner.epoch = inner.epoch.wrapping_add(1);
        inner.entries.retain(|_, entry| &entry.user.id != user);
    }

    #[cfg(test)]
    fn len(&self) -> usize {
        self.lock().entries.len()
    }
}

impl std::fmt::Debug for KeyCache {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("KeyCache")
            .field("ttl", &self.ttl)
            .field("capacity", &self.capacity)
            .finish_non_exhaustive()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::Utc;
    use reelgate_domain::accounts::{Email, Role};
    use reelgate_domain::Credits;

    fn user(name: &str) -> User {
        User {
            id: UserId::generate(),
            email: Email::parse(&format!("{name}@example.com")).unwrap(),
            role: Role::Customer,
            balance: Credits::new(0),
            held: Credits::new(0),
            debt: Credits::new(0),
            created_at: Utc::now(),
            disabled_at: None,
        }
    }

    #[test]
    fn it_never_holds_more_than_its_capacity() {
        let cache = KeyCache::new(Duration::from_secs(60), 3);
        let now = Instant::now();
        let users: Vec<User> = (0..10).map(|n| user(&format!("u{n}"))).collect();
        for (n, user) in users.iter().enumerate() {
            cache.insert(format!("hash{n}"), user.clone(), cache.epoch(), now);
            assert!(
                cache.len() <= 3,
                "{} entries after {} inserts",
                cache.len(),
                n + 1
            );
        }
        assert_eq!(cache.len(), 3);
        // The newest is always kept.
        assert_eq!(
            cache.get("hash9", now).map(|u| u.id),
            Some(users[9].id.clone())
        );
    }

    #[test]
    fn expired_entries_make_room_before_live_ones_are_dropped() {
        let cache = KeyCache::new(Duration::from_secs(1), 2);
        let start = Instant::now();
        let (old, live, new) = (user("old"), user("live"), user("new"));
        cache.insert("old".into(), old, cache.epoch(), start);
        let later = start + Duration::from_millis(600);
        cache.insert("live".into(), live.clone(), cache.epoch(), later);
        let after_old_expired = start + Duration::from_millis(1200);
        cache.insert("new".into(), new.clone(), cache.epoch(), after_old_expired);
        assert_eq!(cache.len(), 2);
        assert_eq!(
            cache.get("live", after_old_expired).map(|u| u.id),
            Some(live.id)
        );
        assert_eq!(
            cache.get("new", after_old_expired).map(|u| u.id),
            Some(new.id)
        );
    }

    #[test]
    fn an_entry_is_trusted_for_its_ttl_only() {
        let cache = KeyCache::new(Duration::from_secs(1), 10);
        let now = Instant::now();
        let ada = user("ada");
        cache.insert("k".into(), ada.clone(), cache.epoch(), now);
        assert_eq!(cache.get("k", now).map(|u| u.id), Some(ada.id));
        assert_eq!(cache.get("k", now + Duration::from_secs(1)), None);
    }

    #[test]
    fn forgetting_a_user_drops_their_keys_only() {
        let cache = KeyCache::new(Duration::from_secs(60), 10);
        let now = Instant::now();
        let (ada, bob) = (user("ada"), user("bob"));
        cache.insert("a1".into(), ada.clone(), cache.epoch(), now);
        cache.insert("a2".into(), ada.clone(), cache.epoch(), now);
        cache.insert("b".into(), bob.clone(), cache.epoch(), now);
        cache.forget_user(&ada.id);
        assert_eq!(cache.get("a1", now), None);
        assert_eq!(cache.get("a2", now), None);
        assert_eq!(cache.get("b", now).map(|u| u.id), Some(bob.id));
    }

    #[test]
    fn a_lookup_that_began_before_a_revocation_does_not_store_what_it_read() {
        let cache = KeyCache::new(Duration::from_secs(60), 10);
        let now = Instant::now();
        let ada = user("ada");
        let before = cache.epoch();
        // The revocation commits while the lookup's query is in flight…
        cache.forget_user(&ada.id);
        // …which then returns the key as it was.
        cache.insert("k".into(), ada, before, now);
        assert_eq!(cache.get("k", now), None);
    }
}
