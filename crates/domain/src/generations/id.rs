use serde::{Deserialize, Serialize};
use std::fmt;
use std::str::FromStr;

const PREFIX: &str = "gen_";

/// `gen_` followed by a ULID: unguessable enough to show customers, and sortable by creation
/// time, which is what "newest first" pagination walks.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct GenerationId(String);

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("not a generation id: {0:?}")]
pub struct ParseGenerationIdError(String);

/// Monotonic within this process, so two generations created in the same millisecond still
/// list in the order they were made.
static GENERATOR: std::sync::Mutex<ulid::Generator> = std::sync::Mutex::new(ulid::Generator::new());

impl GenerationId {
    pub fn new() -> Self {
        let ulid = GENERATOR
            .lock()
            .ok()
            .and_then(|mut generator| generator.generate().ok())
            // A poisoned lock, or 2^80 ids in one millisecond: a random one will do.
            .unwrap_or_else(|| ulid::Ulid::from_datetime(std::time::SystemTime::now()));
        GenerationId(format!("{PREFIX}{}", ulid.to_string().to_ascii_lowercase()))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl Default for GenerationId {
    fn default() -> Self {
        Self::new()
    }
}

impl FromStr for GenerationId {
    type Err = ParseGenerationIdError;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let body = s
            .strip_prefix(PREFIX)
            .ok_or_else(|| ParseGenerationIdError(s.into()))?;
        match ulid::Ulid::from_string(body) {
            Ok(_) if body.len() == 26 => Ok(GenerationId(s.to_ascii_lowercase())),
            _ => Err(ParseGenerationIdError(s.into())),
        }
    }
}

impl TryFrom<String> for GenerationId {
    type Error = ParseGenerationIdError;
    fn try_from(s: String) -> Result<Self, Self::Error> {
        s.parse()
    }
}

impl From<GenerationId> for String {
    fn from(id: GenerationId) -> String {
        id.0
    }
}

impl fmt::Display for GenerationId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids_round_trip_and_sort_by_creation() {
        let first = GenerationId::new();
        std::thread::sleep(std::time::Duration::from_millis(2));
        let second = GenerationId::new();
        assert!(first < second);
        assert_eq!(first.as_str().parse::<GenerationId>().unwrap(), first);
    }

    #[test]
    fn ids_made_in_the_same_millisecond_keep_their_order() {
        let ids: Vec<GenerationId> = (0..1000).map(|_| GenerationId::new()).collect();
        let mut sorted = ids.clone();
        sorted.sort();
        assert_eq!(ids, sorted);
    }

    #[test]
    fn foreign_strings_are_not_ids() {
        for bad in [
            "",
            "gen_",
            "usr_01jd3xk2v8m4q9r7s6t5w4y3z2",
            "gen_short",
            "gen_../../etc/passwd",
        ] {
            assert!(bad.parse::<GenerationId>().is_err(), "{bad}");
        }
    }
}
