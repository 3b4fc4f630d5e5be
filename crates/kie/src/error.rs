//! The one error type of this crate, shaped by what a caller does next rather than by where
//! the failure happened.

/// Everything a call to Kie can end in, other than success.
///
/// Kie's own failures carry its `msg` (`message`), which is safe to show an operator; none of
/// the variants ever carry the API key.
#[derive(Debug, thiserror::Error)]
pub enum KieError {
    /// 401 (or 403): the API key is missing, wrong, or not allowed from this address.
    #[error("Kie rejected the API key: {message}")]
    Unauthorized { message: String },
    /// 402: the Kie account has too few credits.
    #[error("the Kie account has too few credits: {message}")]
    InsufficientCredits { message: String },
    /// 429: more than Kie's per-key rate limit; Kie did not queue the request.
    #[error("rate limited by Kie: {message}")]
    RateLimited { message: String },
    /// 400 / 422 (and any other 4xx Kie has not documented): the request was refused as it stands.
    #[error("Kie refused the request ({code}): {message}")]
    InvalidRequest { code: u16, message: String },
    /// 404, or a status read of a task Kie no longer knows.
    #[error("Kie does not know this task or route: {message}")]
    NotFound { message: String },
    /// 455: Kie is down for maintenance.
    #[error("Kie is under maintenance: {message}")]
    Maintenance { message: String },
    /// 433: the key's spending cap (hourly, daily or total) is reached.
    #[error("the Kie API key's spending limit is reached: {message}")]
    SpendingLimit { message: String },
    /// 501: the generation failed.
    #[error("Kie's generation failed: {message}")]
    GenerationFailed { message: String },
    /// 505: the feature is disabled on Kie's side.
    #[error("the feature is disabled at Kie: {message}")]
    FeatureDisabled { message: String },
    /// 451: Kie could not fetch an image the request points at.
    #[error("Kie could not fetch the image: {message}")]
    ImageUnreachable { message: String },
    /// 500 and any other 5xx.
    #[error("Kie server error ({code}): {message}")]
    Server { code: u16, message: String },
    /// The connection failed. For a create request this is only returned when the request
    /// cannot have reached Kie (connect failure), so the task was not created.
    #[error("could not reach Kie: {0}")]
    Transport(#[source] reqwest::Error),
    /// A request that is safe to repeat ran out of time.
    #[error("Kie did not answer in time")]
    Timeout,
    /// A create request was sent but its answer was lost (timeout or broken connection):
    /// the task may exist. It must not be re-sent blindly.
    #[error("the create request was sent but its outcome is unknown: {reason}")]
    OutcomeUnknown { reason: String },
    /// The answer is not one of Kie's envelopes, or its `data` is not what the endpoint promises.
    #[error("undecodable answer from Kie (HTTP {status}): {body_snippet}")]
    Undecodable { status: u16, body_snippet: String },
}

impl KieError {
    /// Maps an envelope `code` other than 200 (or, when the body carried none, the HTTP status)
    /// to its error. `None` for codes Kie does not use, which the caller treats as undecodable.
    pub(crate) fn from_code(code: i64, message: String) -> Option<Self> {
        let code = u16::try_from(code).ok()?;
        Some(match code {
            // 403 is not in Kie's table; it is what an IP allow-list refusal looks like, which
            // is the operator's problem just like a wrong key.
            401 | 403 => Self::Unauthorized { message },
            402 => Self::InsufficientCredits { message },
            404 => Self::NotFound { message },
            429 => Self::RateLimited { message },
            433 => Self::SpendingLimit { message },
            451 => Self::ImageUnreachable { message },
            455 => Self::Maintenance { message },
            501 => Self::GenerationFailed { message },
            505 => Self::FeatureDisabled { message },
            400..=499 => Self::InvalidRequest { code, message },
            500..=599 => Self::Server { code, message },
            _ => return None,
        })
    }

    /// The free text an error carries (Kie's message, a reason, a body snippet).
    pub(crate) fn text_mut(&mut self) -> Option<&mut String> {
        match self {
            Self::Unauthorized { message }
            | Self::InsufficientCredits { message }
            | Self::RateLimited { message }
            | Self::InvalidRequest { message, .. }
            | Self::NotFound { message }
            | Self::Maintenance { message }
            | Self::SpendingLimit { message }
            | Self::GenerationFailed { message }
            | Self::FeatureDisabled { message }
            | Self::ImageUnreachable { message }
            | Self::Server { message, .. } => Some(message),
            Self::OutcomeUnknown { reason } => Some(reason),
            Self::Undecodable { body_snippet, .. } => Some(body_snippet),
            Self::Transport(_) | Self::Timeout => None,
        }
    }

    /// Kie's code behind this error, when Kie gave one.
    pub fn kie_code(&self) -> Option<u16> {
        Some(match self {
            Self::Unauthorized { .. } => 401,
            Self::InsufficientCredits { .. } => 402,
            Self::NotFound { .. } => 404,
            Self::RateLimited { .. } => 429,
            Self::SpendingLimit { .. } => 433,
            Self::ImageUnreachable { .. } => 451,
            Self::Maintenance { .. } => 455,
            Self::GenerationFailed { .. } => 501,
            Self::FeatureDisabled { .. } => 505,
            Self::InvalidRequest { code, .. } | Self::Server { code, .. } => *code,
            Self::Transport(_)
            | Self::Timeout
            | Self::OutcomeUnknown { .. }
            | Self::Undecodable { .. } => return None,
        })
    }

    /// A short stable name for the kind of failure, for metrics and log fields.
    pub fn kind(&self) -> &'static str {
        match self {
            Self::Unauthorized { .. } => "unauthorized",
            Self::InsufficientCredits { .. } => "insufficient_credits",
            Self::RateLimited { .. } => "rate_limited",
            Self::InvalidRequest { .. } => "invalid_request",
            Self::NotFound { .. } => "not_found",
            Self::Maintenance { .. } => "maintenance",
            Self::SpendingLimit { .. } => "spending_limit",
            Self::GenerationFailed { .. } => "generation_failed",
            Self::FeatureDisabled { .. } => "feature_disabled",
            Self::ImageUnreachable { .. } => "image_unreachable",
            Self::Server { .. } => "server_error",
            Self::Transport(_) => "transport",
            Self::Timeout => "timeout",
            Self::OutcomeUnknown { .. } => "outcome_unknown",
            Self::Undecodable { .. } => "undecodable",
        }
    }

    /// The same request may succeed if simply tried again later, with nobody acting.
    /// A create request may be re-sent after such an error only if
    /// [`may_have_created_task`](Self::may_have_created_task) is false.
    pub fn is_retryable(&self) -> bool {
        matches!(
            self,
            Self::RateLimited { .. }
                | Self::Maintenance { .. }
                | Self::Server { .. }
                | Self::Transport(_)
                | Self::Timeout
                | Self::Undecodable { .. }
        )
    }

    /// Nothing will work until the operator acts (fixes the key, tops up, raises a cap,
    /// enables a feature).
    pub fn needs_operator(&self) -> bool {
        matches!(
            self,
            Self::Unauthorized { .. }
                | Self::InsufficientCredits { .. }
                | Self::SpendingLimit { .. }
                | Self::FeatureDisabled { .. }
        )
    }

    /// Kie refused this particular request for good: trying it again cannot help.
    pub fn is_final_refusal(&self) -> bool {
        matches!(
            self,
            Self::InvalidRequest { .. }
                | Self::GenerationFailed { .. }
                | Self::FeatureDisabled { .. }
                | Self::ImageUnreachable { .. }
        )
    }

    /// After a create request ended in this error, the task may nonetheless exist at Kie.
    /// True when the request was sent and no trustworthy answer came back: a lost answer, or
    /// one that is not Kie's envelope (a proxy's error page, a truncated body).
    pub fn may_have_created_task(&self) -> bool {
        matches!(self, Self::OutcomeUnknown { .. } | Self::Undecodable { .. })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn from(code: i64) -> KieError {
        KieError::from_code(code, "m".into()).unwrap()
    }

    #[test]
    fn documented_codes_map_to_their_variants() {
        assert!(matches!(
            from(400),
            KieError::InvalidRequest { code: 400, .. }
        ));
        assert!(matches!(from(401), KieError::Unauthorized { .. }));
        assert!(matches!(from(402), KieError::InsufficientCredits { .. }));
        assert!(matches!(from(404), KieError::NotFound { .. }));
        assert!(matches!(
            from(422),
            KieError::InvalidRequest { code: 422, .. }
        ));
        assert!(matches!(from(429), KieError::RateLimited { .. }));
        assert!(matches!(from(433), KieError::SpendingLimit { .. }));
        assert!(matches!(from(451), KieError::ImageUnreachable { .. }));
        assert!(matches!(from(455), KieError::Maintenance { .. }));
        assert!(matches!(from(500), KieError::Server { code: 500, .. }));
        assert!(matches!(from(501), KieError::GenerationFailed { .. }));
        assert!(matches!(from(503), KieError::Server { code: 503, .. }));
        assert!(matches!(from(505), KieError::FeatureDisabled { .. }));
    }

    #[test]
    fn codes_kie_does_not_use_are_not_mapped() {
        assert!(KieError::from_code(302, "m".into()).is_none());
        assert!(KieError::from_code(-1, "m".into()).is_none());
        assert!(KieError::from_code(70000, "m".into()).is_none());
    }

    #[test]
    fn kie_code_round_trips_through_the_mapping() {
        for code in [
            400, 401, 402, 404, 422, 429, 433, 451, 455, 500, 501, 502, 505,
        ] {
            assert_eq!(from(code).kie_code(), Some(code as u16));
        }
    }

    #[test]
    fn only_transient_failures_are_retryable() {
        assert!(from(429).is_retryable() && from(455).is_retryable() && from(500).is_retryable());
        assert!(KieError::Timeout.is_retryable());
        for code in [400, 401, 402, 404, 422, 433, 451, 501, 505] {
            assert!(!from(code).is_retryable(), "{code}");
        }
        let unknown = KieError::OutcomeUnknown {
            reason: "timed out".into(),
        };
        assert!(!unknown.is_retryable() && unknown.may_have_created_task());
        assert!(!from(500).may_have_created_task());
    }

    #[test]
    fn operator_and_final_classes_follow_the_spec_table() {
        for code in [401, 402, 433, 505] {
            assert!(from(code).needs_operator(), "{code}");
        }
        for code in [400, 422, 451, 501, 505] {
            assert!(from(code).is_final_refusal(), "{code}");
        }
        assert!(!from(429).needs_operator() && !from(429).is_final_refusal());
    }
}
