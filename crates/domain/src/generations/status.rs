use serde::{Deserialize, Serialize};
use std::fmt;
use std::str::FromStr;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "lowercase")]
pub enum Status {
    /// Accepted and its price held; waiting for its turn upstream.
    Queued,
    /// Kie accepted it and gave a task id.
    Running,
    /// Videos ready; the held credits were charged.
    Succeeded,
    /// Upstream refused or failed it, or it ran too long; the held credits were returned.
    Failed,
    /// The customer canceled it before it was sent; the held credits were returned.
    Canceled,
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("unknown status {0:?}: expected queued, running, succeeded, failed or canceled")]
pub struct ParseStatusError(String);

impl Status {
    pub const ALL: [Status; 5] = [
        Status::Queued,
        Status::Running,
        Status::Succeeded,
        Status::Failed,
        Status::Canceled,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Status::Queued => "queued",
            Status::Running => "running",
            Status::Succeeded => "succeeded",
            Status::Failed => "failed",
            Status::Canceled => "canceled",
        }
    }

    /// Final states never change again; their credits are settled.
    pub fn is_final(self) -> bool {
        matches!(self, Status::Succeeded | Status::Failed | Status::Canceled)
    }

    /// The arrows of a generation's life (docs/API.md), as the state machine draws them
    /// (`lifecycle.rs`). Everything else is a bug or a lost race.
    pub fn can_become(self, next: Status) -> bool {
        self != next
            && super::lifecycle::State::ALL
                .into_iter()
                .filter(|state| state.status() == self)
                .any(|state| {
                    super::lifecycle::Event::all().into_iter().any(|event| {
                        super::lifecycle::transition(state, event)
                            .is_ok_and(|(to, _)| to.status() == next)
                    })
                })
    }
}

impl FromStr for Status {
    type Err = ParseStatusError;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Status::ALL
            .into_iter()
            .find(|status| status.as_str() == s)
            .ok_or_else(|| ParseStatusError(s.to_owned()))
    }
}

impl fmt::Display for Status {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn final_states_never_change() {
        for from in Status::ALL.into_iter().filter(|s| s.is_final()) {
            for to in Status::ALL {
                assert!(!from.can_become(to), "{from} -> {to}");
            }
        }
    }

    #[test]
    fn only_queued_generations_can_be_canceled() {
        let cancelable: Vec<_> = Status::ALL
            .into_iter()
            .filter(|s| s.can_become(Status::Canceled))
            .collect();
        assert_eq!(cancelable, vec![Status::Queued]);
    }

    #[test]
    fn names_round_trip() {
        for status in Status::ALL {
            assert_eq!(status.as_str().parse::<Status>().unwrap(), status);
        }
        assert!("done".parse::<Status>().is_err());
    }
}
