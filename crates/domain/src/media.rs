//! reelgate's own copies of generated videos: Kie deletes its files after 14 days, so every
//! video of a succeeded generation is copied into the operator's storage and served from there.

use chrono::{DateTime, Utc};
use std::fmt;
use std::str::FromStr;

use crate::accounts::UserId;
use crate::generations::GenerationId;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum MediaState {
    /// Not copied yet: the copier tries, backing off between attempts.
    Pending,
    /// In reelgate's storage; served from there.
    Copied,
    /// The copier gave up; the operator sees it. The generation itself stays succeeded.
    Failed,
    /// Deleted by its owner or by the retention policy.
    Deleted,
}

impl MediaState {
    pub const ALL: [MediaState; 4] = [
        MediaState::Pending,
        MediaState::Copied,
        MediaState::Failed,
        MediaState::Deleted,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            MediaState::Pending => "pending",
            MediaState::Copied => "copied",
            MediaState::Failed => "failed",
            MediaState::Deleted => "deleted",
        }
    }
}

impl fmt::Display for MediaState {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("unknown media state {0:?}: expected pending, copied, failed or deleted")]
pub struct ParseMediaStateError(String);

impl FromStr for MediaState {
    type Err = ParseMediaStateError;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        MediaState::ALL
            .into_iter()
            .find(|state| state.as_str() == s)
            .ok_or_else(|| ParseMediaStateError(s.to_owned()))
    }
}

/// One video of a generation and where its copy stands.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MediaCopy {
    pub generation_id: GenerationId,
    /// Its position in the generation's `videos`.
    pub index: u32,
    pub user_id: UserId,
    /// Kie's URL, good for 14 days after the generation.
    pub source_url: String,
    pub resolution: Option<String>,
    pub state: MediaState,
    pub attempts: u32,
    pub next_attempt_at: Option<DateTime<Utc>>,
    pub last_error: Option<String>,
    pub stored: Option<StoredMedia>,
    /// `customer` or `retention`.
    pub deleted_reason: Option<String>,
    pub created_at: DateTime<Utc>,
    pub copied_at: Option<DateTime<Utc>>,
    pub deleted_at: Option<DateTime<Utc>>,
}

/// Where a copied video lives in reelgate's storage.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StoredMedia {
    pub object_key: String,
    pub content_type: String,
    pub size_bytes: u64,
    /// Its poster image (first frame), when one could be made.
    pub thumbnail_key: Option<String>,
}

impl MediaCopy {
    /// The copy, when it can be served.
    pub fn served(&self) -> Option<&StoredMedia> {
        match self.state {
            MediaState::Copied => self.stored.as_ref(),
            _ => None,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn states_round_trip_through_their_names() {
        for state in MediaState::ALL {
            assert_eq!(state.as_str().parse(), Ok(state));
        }
        assert!("lost".parse::<MediaState>().is_err());
    }
}
