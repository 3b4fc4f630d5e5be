//! One simulated task. Its state is not stored: it follows from the time since creation, so
//! 100,000 tasks in flight cost a small record each and no timer.

use rust_decimal::Decimal;
use serde::Serialize;

use crate::model::Model;

/// What the simulator keeps per task (a few dozen bytes plus the request text).
#[derive(Clone, Debug)]
pub(crate) struct Task {
    /// Creation order; `forget_files` deletes the files of every task before a given one.
    pub seq: u64,
    /// Hash of the API key that created it: Kie shows a task only to its own account.
    pub key: u64,
    pub model: Model,
    pub created_ms: u64,
    pub run_ms: u64,
    pub outcome: Outcome,
    pub hd_available: bool,
    pub cost: Decimal,
    pub callback_url: Option<Box<str>>,
    /// The request body as received, compact JSON: Kie echoes it as `paramJson` / `param`.
    pub param: Box<str>,
}

/// Decided at creation, from the seeded RNG, so a run replays identically.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Outcome {
    Success,
    Fail(Failure),
}

/// Kie's two ways for a generation to end badly.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Failure {
    /// The content was refused (Veo successFlag 2, code 400).
    Refused,
    /// The model failed to generate (Veo successFlag 3, code 501).
    GenerationFailed,
}

impl Failure {
    pub fn code(self) -> u16 {
        match self {
            Failure::Refused => 400,
            Failure::GenerationFailed => 501,
        }
    }

    pub fn message(self) -> &'static str {
        match self {
            Failure::Refused => {
                "Your request was rejected by the content policy. Please adjust the prompt or images."
            }
            Failure::GenerationFailed => "Generation failed, please try again later.",
        }
    }

    pub fn veo_success_flag(self) -> u8 {
        match self {
            Failure::Refused => 2,
            Failure::GenerationFailed => 3,
        }
    }
}

/// The jobs API's states; Veo's successFlag maps onto them (0 = not finished).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum TaskState {
    Waiting,
    Queuing,
    Generating,
    Success,
    Fail,
}

impl TaskState {
    pub fn wire_name(self) -> &'static str {
        match self {
            TaskState::Waiting => "waiting",
            TaskState::Queuing => "queuing",
            TaskState::Generating => "generating",
            TaskState::Success => "success",
            TaskState::Fail => "fail",
        }
    }

    pub fn is_final(self) -> bool {
        matches!(self, TaskState::Success | TaskState::Fail)
    }
}

impl Task {
    pub fn completed_ms(&self) -> u64 {
        self.created_ms.saturating_add(self.run_ms)
    }

    /// Waiting for the first tenth of the run, queuing until a quarter, then generating.
    pub fn state(&self, now_ms: u64) -> TaskState {
        let elapsed = now_ms.saturating_sub(self.created_ms);
        if elapsed >= self.run_ms {
            return match self.outcome {
                Outcome::Success => TaskState::Success,
                Outcome::Fail(_) => TaskState::Fail,
            };
        }
        match elapsed.saturating_mul(20) / self.run_ms.max(1) {
            0 | 1 => TaskState::Waiting,
            2..=4 => TaskState::Queuing,
            _ => TaskState::Generating,
        }
    }

    /// When Veo's 1080p file appears, if it ever does.
    pub fn hd_ready_ms(&self, hd_delay_ms: u64) -> Option<u64> {
        (self.hd_available && self.outcome == Outcome::Success)
            .then(|| self.completed_ms().saturating_add(hd_delay_ms))
    }

    pub fn id(&self, number: u64) -> String {
        TaskId::new(self.model.is_veo(), number).to_string()
    }
}

/// Kie's task ids: `veo_task_…` for Veo, `task_…` for the jobs API, stored as a number.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct TaskId {
    pub veo: bool,
    pub number: u64,
}

impl TaskId {
    pub fn new(veo: bool, number: u64) -> Self {
        Self { veo, number }
    }

    pub fn parse(s: &str) -> Option<Self> {
        let (veo, hex) = match s.strip_prefix("veo_task_") {
            Some(hex) => (true, hex),
            None => (false, s.strip_prefix("task_")?),
        };
        if hex.len() != 16 {
            return None;
        }
        u64::from_str_radix(hex, 16)
            .ok()
            .map(|number| Self { veo, number })
    }
}

impl std::fmt::Display for TaskId {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let prefix = if self.veo { "veo_task_" } else { "task_" };
        write!(f, "{prefix}{:016x}", self.number)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn task(run_ms: u64, outcome: Outcome) -> Task {
        Task {
            seq: 0,
            key: 0,
            model: Model::KlingTextToVideo,
            created_ms: 1_000,
            run_ms,
            outcome,
            hd_available: true,
            cost: Decimal::ONE,
            callback_url: None,
            param: "{}".into(),
        }
    }

    #[test]
    fn state_moves_through_kie_states_in_order_then_ends() {
        let t = task(1_000, Outcome::Success);
        let states: Vec<_> = [1_000, 1_099, 1_100, 1_249, 1_250, 1_999, 2_000, 9_000]
            .into_iter()
            .map(|now| t.state(now))
            .collect();
        use TaskState::*;
        assert_eq!(
            states,
            [Waiting, Waiting, Queuing, Queuing, Generating, Generating, Success, Success]
        );
        let failed = task(1_000, Outcome::Fail(Failure::Refused));
        assert_eq!(failed.state(2_000), Fail);
        assert_eq!(failed.hd_ready_ms(500), None);
    }

    #[test]
    fn zero_duration_tasks_are_final_at_once_and_hd_follows_the_delay() {
        let t = task(0, Outcome::Success);
        assert_eq!(t.state(1_000), TaskState::Success);
        assert_eq!(t.hd_ready_ms(2_000), Some(3_000));
    }

    #[test]
    fn task_ids_round_trip_and_keep_their_api() {
        for veo in [true, false] {
            let id = TaskId::new(veo, 0xdead_beef);
            assert_eq!(TaskId::parse(&id.to_string()), Some(id));
        }
        assert_eq!(
            TaskId::new(true, 1).to_string(),
            "veo_task_0000000000000001"
        );
        assert_eq!(TaskId::parse("task_123"), None);
        assert_eq!(TaskId::parse("veo_task_zzzzzzzzzzzzzzzz"), None);
    }
}
