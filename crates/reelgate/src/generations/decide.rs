//! What Kie's answers mean for a generation. Pure functions, so every branch of the table in
//! `docs/UPSTREAM.md` is tested without a network.

use kie::{KieError, TaskId, TaskState};
use std::time::Duration;

/// Why a generation failed: a stable code, words for the customer, and Kie's own words for
/// the operator.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Failure {
    pub code: &'static str,
    pub message: String,
    pub detail: String,
}

impl Failure {
    pub fn new(code: &'static str, message: impl Into<String>, detail: impl Into<String>) -> Self {
        Failure {
            code,
            message: format!("{}{RETURNED}", message.into()),
            detail: detail.into(),
        }
    }

    pub fn too_slow(limit: Duration) -> Self {
        Failure::new(
            "timed_out",
            "The video took too long to generate.",
            format!("still not finished after {} s", limit.as_secs()),
        )
    }

    pub fn never_confirmed() -> Self {
        Failure::new(
            "upstream_unconfirmed",
            "We could not confirm that the video service accepted this generation.",
            "create request outcome unknown and no callback revealed a task",
        )
    }

    pub fn no_capacity(detail: impl Into<String>) -> Self {
        Failure::new(
            "upstream_unavailable",
            "The video service is out of capacity right now; please try again later.",
            detail,
        )
    }

    pub fn lost() -> Self {
        Failure::new(
            "upstream_lost",
            "The video service lost track of this generation.",
            "status endpoint kept answering 404",
        )
    }
}

/// What to do after sending a create request.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum AfterCreate {
    Running(TaskId),
    /// Certainly not created: send it again later.
    RetryLater {
        reason: String,
        rate_limited: bool,
    },
    /// Nothing will be accepted until the operator acts (key, balance, caps): keep it queued
    /// and make noise; it fails only after the configured wait.
    WaitForOperator {
        reason: String,
    },
    /// Kie's account has too few credits (402): nothing is accepted until it is topped up,
    /// which the balance guard sees, so dispatch is suspended rather than probed.
    OutOfCredits {
        reason: String,
    },
    Fail(Failure),
    /// Sent, but no trustworthy answer: the task may exist. Never send it again; wait for a
    /// callback to reveal it.
    Unknown {
        reason: String,
    },
}

pub fn after_create(result: Result<TaskId, KieError>) -> AfterCreate {
    let error = match result {
        Ok(task_id) => return AfterCreate::Running(task_id),
        Err(error) => error,
    };
    let detail = error.to_string();
    if error.may_have_created_task() {
        return AfterCreate::Unknown { reason: detail };
    }
    match &error {
        KieError::FeatureDisabled { .. } => AfterCreate::Fail(Failure::new(
            "model_unavailable",
            "This model is temporarily unavailable.",
            detail,
        )),
        KieError::InsufficientCredits { .. } => AfterCreate::OutOfCredits { reason: detail },
        e if e.needs_operator() => AfterCreate::WaitForOperator { reason: detail },
        e if e.is_final_refusal() => AfterCreate::Fail(refusal(e, detail.clone())),
        KieError::RateLimited { .. } => AfterCreate::RetryLater {
            reason: detail,
            rate_limited: true,
        },
        _ => AfterCreate::RetryLater {
            reason: detail,
            rate_limited: false,
        },
    }
}

fn refusal(error: &KieError, detail: String) -> Failure {
    let said = kie_message(error).trim().to_owned();
    match error {
        KieError::ImageUnreachable { .. } => Failure::new(
            "image_unreachable",
            "The video service could not fetch your image; make sure its URL is public.",
            detail,
        ),
        KieError::GenerationFailed { .. } => {
            Failure::new("generation_failed", generation_failed(&said), detail)
        }
        _ => Failure::new(
            "upstream_refused",
            format!("{REFUSED_PREFIX}{}.", unstopped(&said)),
            detail,
        ),
    }
}

/// Kie's own words, for the refusals that carry them.
fn kie_message(error: &KieError) -> &str {
    match error {
        KieError::InvalidRequest { message, .. }
        | KieError::GenerationFailed { message }
        | KieError::ImageUnreachable { message }
        | KieError::FeatureDisabled { message } => message,
        _ => "",
    }
}

/// How the customer's message introduces Kie's own words, so that a page in another
/// language can find them again (`upstream_words`).
const REFUSED_PREFIX: &str = "The video service refused this request: ";
const FAILED_PREFIX: &str = "The video could not be generated: ";
const RETURNED: &str = " Your credits have been returned.";

fn generation_failed(said: &str) -> String {
    if said.is_empty() {
        "The video could not be generated.".to_owned()
    } else {
        format!("{FAILED_PREFIX}{}.", unstopped(said))
    }
}

/// Kie's sentence without its closing stop, so ours does not make it "..".
fn unstopped(said: &str) -> &str {
    said.trim().trim_end_matches(['.', ' '])
}

/// Kie's own words in a failure message made here, if it quotes them: what a customer
/// reading another language still needs to see.
pub fn upstream_words(message: &str) -> Option<&str> {
    let rest = message
        .strip_prefix(FAILED_PREFIX)
        .or_else(|| message.strip_prefix(REFUSED_PREFIX))?;
    let said = rest.strip_suffix(RETURNED).unwrap_or(rest);
    let said = said.strip_suffix('.').unwrap_or(said).trim();
    (!said.is_empty()).then_some(said)
}

/// What to do after reading a running task's status.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum AfterStatus {
    StillRunning,
    Succeeded {
        videos: Vec<String>,
        hd_video: Option<String>,
    },
    Failed(Failure),
    /// Kie does not know the task (404): re-check a few times before giving up on it.
    NotFound,
    /// The read itself failed; the task is unaffected. Ask again later.
    RetryLater {
        reason: String,
    },
}

pub fn after_status(result: Result<TaskState, KieError>) -> AfterStatus {
    match result {
        Ok(TaskState::Pending | TaskState::Running) => AfterStatus::StillRunning,
        Ok(TaskState::Succeeded { videos, hd_video }) => {
            AfterStatus::Succeeded { videos, hd_video }
        }
        Ok(TaskState::Failed { code, message }) => {
            let detail = format!("task failed: code {code:?}, message {message:?}");
            let failure = if code == "451" {
                Failure::new(
                    "image_unreachable",
                    "The video service could not fetch your image; make sure its URL is public.",
                    detail,
                )
            } else {
                Failure::new(
                    "generation_failed",
                    generation_failed(message.trim()),
                    detail,
                )
            };
            AfterStatus::Failed(failure)
        }
        Err(KieError::NotFound { .. }) => AfterStatus::NotFound,
        Err(error @ KieError::ImageUnreachable { .. }) => {
            let detail = error.to_string();
            AfterStatus::Failed(refusal(&error, detail))
        }
        Err(error) => AfterStatus::RetryLater {
            reason: error.to_string(),
        },
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn task() -> TaskId {
        TaskId::from("task_1".to_owned())
    }

    #[test]
    fn only_a_lost_answer_is_an_unknown_outcome() {
        assert!(matches!(
            after_create(Err(KieError::OutcomeUnknown {
                reason: "timed out".into()
            })),
            AfterCreate::Unknown { .. }
        ));
        assert!(matches!(
            after_create(Err(KieError::Undecodable {
                status: 200,
                body_snippet: "<html>".into()
            })),
            AfterCreate::Unknown { .. }
        ));
        assert!(matches!(
            after_create(Err(KieError::Server {
                code: 500,
                message: "oops".into()
            })),
            AfterCreate::RetryLater {
                rate_limited: false,
                ..
            }
        ));
        assert!(matches!(
            after_create(Err(KieError::RateLimited {
                message: "slow down".into()
            })),
            AfterCreate::RetryLater {
                rate_limited: true,
                ..
            }
        ));
        assert_eq!(after_create(Ok(task())), AfterCreate::Running(task()));
    }

    #[test]
    fn account_problems_wait_for_the_operator() {
        assert!(matches!(
            after_create(Err(KieError::InsufficientCredits {
                message: "low".into(),
            })),
            AfterCreate::OutOfCredits { .. }
        ));
        for error in [
            KieError::Unauthorized {
                message: "bad key".into(),
            },
            KieError::SpendingLimit {
                message: "cap".into(),
            },
        ] {
            assert!(matches!(
                after_create(Err(error)),
                AfterCreate::WaitForOperator { .. }
            ));
        }
    }

    #[test]
    fn refusals_fail_with_kies_reason_in_the_customers_words() {
        let AfterCreate::Fail(failure) = after_create(Err(KieError::InvalidRequest {
            code: 400,
            message: "prompt flagged by content policy".into(),
        })) else {
            panic!("a refusal must fail the generation");
        };
        assert_eq!(failure.code, "upstream_refused");
        assert!(failure.message.contains("prompt flagged by content policy"));
        assert!(failure
            .message
            .ends_with("Your credits have been returned."));
    }

    /// Kie's sentences end in a stop; ours must not double it.
    #[test]
    fn a_failure_quoting_kie_has_no_double_stop() {
        let AfterStatus::Failed(failure) = after_status(Ok(TaskState::Failed {
            code: "500".into(),
            message: "Generation failed, please try again later.".into(),
        })) else {
            panic!("a failed task fails the generation");
        };
        assert_eq!(
            failure.message,
            "The video could not be generated: Generation failed, please try again later. \
             Your credits have been returned."
        );
        assert_eq!(
            upstream_words(&failure.message),
            Some("Generation failed, please try again later")
        );
        let AfterCreate::Fail(refused) = after_create(Err(KieError::InvalidRequest {
            code: 400,
            message: "prompt flagged.".into(),
        })) else {
            panic!("a refusal must fail the generation");
        };
        assert!(!refused.message.contains(".."), "{}", refused.message);
        assert_eq!(upstream_words(&refused.message), Some("prompt flagged"));
        assert_eq!(upstream_words(&Failure::lost().message), None);
    }

    #[test]
    fn task_outcomes_map_to_settlement() {
        assert_eq!(
            after_status(Ok(TaskState::Pending)),
            AfterStatus::StillRunning
        );
        assert_eq!(
            after_status(Ok(TaskState::Succeeded {
                videos: vec!["https://v/1.mp4".into()],
                hd_video: None
            })),
            AfterStatus::Succeeded {
                videos: vec!["https://v/1.mp4".into()],
                hd_video: None
            }
        );
        let AfterStatus::Failed(failure) = after_status(Ok(TaskState::Failed {
            code: "501".into(),
            message: "model overloaded".into(),
        })) else {
            panic!("a failed task must fail the generation");
        };
        assert!(failure.message.contains("model overloaded"));
        assert_eq!(
            after_status(Err(KieError::NotFound {
                message: "no".into()
            })),
            AfterStatus::NotFound
        );
        assert!(matches!(
            after_status(Err(KieError::Timeout)),
            AfterStatus::RetryLater { .. }
        ));
    }
}
