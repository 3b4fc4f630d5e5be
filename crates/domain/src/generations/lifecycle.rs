//! A generation's whole life as one table: which states exist, what can happen to each, and
//! what each step does to the customer's credits and who hears of it.
//!
//! The store keeps `status`, `dispatch` and `hd` as three columns, which allow 80
//! combinations; [`State`] has only the thirteen that can happen (ten of status and
//! dispatch, a succeeded one's 1080p fetch making four of its one). Workers never write a state of their own choosing: each write is
//! an [`Event`], its conditional UPDATE is guarded by [`sources`] (the store checks its SQL
//! against this table in its tests), and [`transition`] says where it leads and which
//! [`Effect`]s come with it.

use super::{Dispatch, HdFetch, Status};

/// Where a queued generation's create request stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Queued {
    /// Not sent, or certainly not created: may be sent.
    Waiting,
    /// A worker holding the claim is sending it now.
    Sending,
    /// Sent without a trustworthy answer: Kie may have a task. Never sent again; a callback
    /// can reveal the task, and the wait for one ends in failure.
    Unanswered,
}

/// A legal state of a generation.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum State {
    Queued(Queued),
    /// Kie accepted it and gave a task id.
    Running,
    /// Charged; its 1080p video may still be coming (`Pending`).
    Succeeded(HdFetch),
    /// Refunded. Remembers how far its create got: a failure of an unanswered create is the
    /// one case where Kie may have made a video we did not charge for.
    Failed(Dispatch),
    /// Canceled before it was sent; refunded.
    Canceled,
}

/// A combination of columns no generation can be in: a bug, or a row written by hand.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[error("no generation can be {status} with dispatch {dispatch} and 1080p {hd}", dispatch = .dispatch.as_str(), hd = .hd.as_str())]
pub struct IllegalState {
    pub status: Status,
    pub dispatch: Dispatch,
    pub hd: HdFetch,
}

impl State {
    /// Every legal state.
    pub const ALL: [State; 13] = [
        State::Queued(Queued::Waiting),
        State::Queued(Queued::Sending),
        State::Queued(Queued::Unanswered),
        State::Running,
        State::Succeeded(HdFetch::None),
        State::Succeeded(HdFetch::Pending),
        State::Succeeded(HdFetch::Done),
        State::Succeeded(HdFetch::GaveUp),
        State::Failed(Dispatch::Waiting),
        State::Failed(Dispatch::Sending),
        State::Failed(Dispatch::Unknown),
        State::Failed(Dispatch::Accepted),
        State::Canceled,
    ];

    /// A new generation: its price held, waiting for its turn upstream.
    pub const SUBMITTED: State = State::Queued(Queued::Waiting);

    /// The stored columns of this state.
    pub fn parts(self) -> (Status, Dispatch, HdFetch) {
        match self {
            State::Queued(queued) => (Status::Queued, dispatch_of(queued), HdFetch::None),
            State::Running => (Status::Running, Dispatch::Accepted, HdFetch::None),
            State::Succeeded(hd) => (Status::Succeeded, Dispatch::Accepted, hd),
            State::Failed(dispatch) => (Status::Failed, dispatch, HdFetch::None),
            State::Canceled => (Status::Canceled, Dispatch::Waiting, HdFetch::None),
        }
    }

    /// The state stored as these columns, if any generation can be in it.
    pub fn from_parts(
        status: Status,
        dispatch: Dispatch,
        hd: HdFetch,
    ) -> Result<State, IllegalState> {
        State::ALL
            .into_iter()
            .find(|state| state.parts() == (status, dispatch, hd))
            .ok_or(IllegalState {
                status,
                dispatch,
                hd,
            })
    }

    pub fn status(self) -> Status {
        self.parts().0
    }

    /// Holds one of the upstream's task slots: running, or sent and not answered.
    pub fn holds_upstream_slot(self) -> bool {
        matches!(
            self,
            State::Running | State::Queued(Queued::Sending | Queued::Unanswered)
        )
    }
}

/// Why a generation fails. Each has its own states to fail from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Why {
    /// Kie refused this request for good (its content, its image, a model it no longer takes),
    /// or reelgate cannot send it (its stored request is unreadable).
    Refused,
    /// Its model was paused while it waited, or before its claimed create went out.
    ModelPaused,
    /// It waited longer than the operator allows for the upstream to take work again.
    WaitedTooLong,
    /// Its create went unanswered and no callback revealed a task in time.
    NeverConfirmed,
    /// Kie's task failed, or Kie lost it (404 time after time).
    TaskFailed,
    /// It ran longer than allowed (its 4K version included).
    TooSlow,
    /// Kie cannot make the 4K version it was sold with.
    UpgradeRefused,
}

impl Why {
    pub const ALL: [Why; 7] = [
        Why::Refused,
        Why::ModelPaused,
        Why::WaitedTooLong,
        Why::NeverConfirmed,
        Why::TaskFailed,
        Why::TooSlow,
        Why::UpgradeRefused,
    ];
}

/// What happens to a generation.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Event {
    /// The dispatcher claimed it to send its create request now.
    Claimed,
    /// With several Kie keys: the key it is about to be sent with is recorded first.
    KeyChosen,
    /// The create certainly made no task (a 429, an outage, an account refusal, or dispatch
    /// paused while it was claimed): send it again later.
    NotSent,
    /// The create's answer was lost, or the worker sending it stopped.
    AnswerLost,
    /// Kie gave a task id: in its answer, or in a callback for an unanswered create.
    UpstreamAccepted,
    /// A status read says the task goes on (or the read failed, or 4K is still being made).
    StillRunning,
    /// A callback says the task changed: look now.
    CallbackHint,
    /// Kie says the task succeeded; its 1080p video may still have to be fetched.
    TaskSucceeded {
        hd_pending: bool,
    },
    Failed(Why),
    /// The customer canceled it.
    Canceled,
    /// The upstream refuses new work: an unsent generation shows why, and its wait starts.
    Blocked,
    /// The upstream takes work again.
    Unblocked,
    /// Its 1080p video was asked for and is not there yet.
    HdNotYet,
    HdArrived,
    HdGaveUp,
}

impl Event {
    /// Every event.
    pub fn all() -> Vec<Event> {
        let mut all = vec![
            Event::Claimed,
            Event::KeyChosen,
            Event::NotSent,
            Event::AnswerLost,
            Event::UpstreamAccepted,
            Event::StillRunning,
            Event::CallbackHint,
            Event::TaskSucceeded { hd_pending: false },
            Event::TaskSucceeded { hd_pending: true },
            Event::Canceled,
            Event::Blocked,
            Event::Unblocked,
            Event::HdNotYet,
            Event::HdArrived,
            Event::HdGaveUp,
        ];
        all.extend(Why::ALL.map(Event::Failed));
        all
    }
}

/// What a step does besides changing the state. Credit effects are the ledger's rows; the
/// others say who must hear of it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Effect {
    /// The price is held (at submission only).
    Hold,
    /// The hold becomes a charge.
    Charge,
    /// The hold is released.
    Refund,
    /// The create request goes out.
    SendCreate,
    /// The create goes out again after a wait.
    SendLater,
    /// Nothing is sent again; a callback may still reveal the task.
    AwaitCallback,
    /// The tracker asks Kie about it later.
    PollLater,
    /// The tracker asks Kie about it now.
    PollNow,
    /// Its videos are copied to reelgate's storage.
    CopyVideos,
    /// Its 1080p video is asked for (now, or again later).
    FetchHd,
    /// The customer's webhook is queued.
    Webhook,
    /// The customer is mailed that it ended.
    Mail,
}

/// A step that cannot happen from this state: the caller lost a race (the state changed
/// since it read it) or has a bug. Nothing is written.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[error("a generation {from:?} cannot take {event:?}")]
pub struct IllegalTransition {
    pub from: State,
    pub event: Event,
}

/// A new generation's first state and effects.
pub fn submitted() -> (State, &'static [Effect]) {
    (State::SUBMITTED, &[Effect::Hold])
}

/// Where `event` takes a generation in state `from`, and what comes with it.
pub fn transition(
    from: State,
    event: Event,
) -> Result<(State, &'static [Effect]), IllegalTransition> {
    use Effect::*;
    use Queued::{Sending, Unanswered, Waiting};
    use State::{Canceled, Failed, Queued as Q, Running, Succeeded};
    const ENDED: &[Effect] = &[Refund, Webhook, Mail];
    let next: Option<(State, &'static [Effect])> = match (from, event) {
        (Q(Waiting), Event::Claimed) => Some((Q(Sending), &[SendCreate])),
        (Q(Sending), Event::KeyChosen) => Some((Q(Sending), &[])),
        (Q(Sending), Event::NotSent) => Some((Q(Waiting), &[SendLater])),
        (Q(Sending | Unanswered), Event::AnswerLost) => Some((Q(Unanswered), &[AwaitCallback])),
        (Q(Sending | Unanswered), Event::UpstreamAccepted) => Some((Running, &[PollLater])),
        (Running, Event::StillRunning) => Some((Running, &[PollLater])),
        (Running, Event::CallbackHint) => Some((Running, &[PollNow])),
        (Running, Event::TaskSucceeded { hd_pending: false }) => Some((
            Succeeded(HdFetch::None),
            &[Charge, CopyVideos, Webhook, Mail],
        )),
        (Running, Event::TaskSucceeded { hd_pending: true }) => Some((
            Succeeded(HdFetch::Pending),
            &[Charge, CopyVideos, Webhook, Mail, FetchHd],
        )),
        (Q(queued), Event::Failed(why)) if fails_from_queue(why, queued) => {
            Some((Failed(dispatch_of(queued)), ENDED))
        }
        (Running, Event::Failed(why)) if fails_while_running(why) => {
            Some((Failed(Dispatch::Accepted), ENDED))
        }
        (Q(Waiting), Event::Canceled) => Some((Canceled, ENDED)),
        (Q(Waiting), Event::Blocked) => Some((Q(Waiting), &[])),
        (Q(queued), Event::Unblocked) => Some((Q(queued), &[])),
        (Succeeded(HdFetch::Pending), Event::HdNotYet) => {
            Some((Succeeded(HdFetch::Pending), &[FetchHd]))
        }
        (Succeeded(HdFetch::Pending), Event::HdArrived) => {
            Some((Succeeded(HdFetch::Done), &[CopyVideos, Webhook]))
        }
        (Succeeded(HdFetch::Pending), Event::HdGaveUp) => Some((Succeeded(HdFetch::GaveUp), &[])),
        _ => None,
    };
    next.ok_or(IllegalTransition { from, event })
}

/// Every state `event` can happen in: what the store's conditional write for it must allow.
pub fn sources(event: Event) -> Vec<State> {
    State::ALL
        .into_iter()
        .filter(|state| transition(*state, event).is_ok())
        .collect()
}

/// Every state a failure (of any kind) can happen in: the store settles every failure with
/// one statement.
pub fn failure_sources() -> Vec<State> {
    let mut states = Vec::new();
    for why in Why::ALL {
        for state in sources(Event::Failed(why)) {
            if !states.contains(&state) {
                states.push(state);
            }
        }
    }
    states
}

fn fails_from_queue(why: Why, queued: Queued) -> bool {
    match why {
        // Found refused, or paused, while being sent.
        Why::Refused => queued == Queued::Sending,
        Why::ModelPaused => matches!(queued, Queued::Waiting | Queued::Sending),
        Why::WaitedTooLong => queued == Queued::Waiting,
        Why::NeverConfirmed => queued == Queued::Unanswered,
        Why::TaskFailed | Why::TooSlow | Why::UpgradeRefused => false,
    }
}

fn fails_while_running(why: Why) -> bool {
    matches!(why, Why::TaskFailed | Why::TooSlow | Why::UpgradeRefused)
}

fn dispatch_of(queued: Queued) -> Dispatch {
    match queued {
        Queued::Waiting => Dispatch::Waiting,
        Queued::Sending => Dispatch::Sending,
        Queued::Unanswered => Dispatch::Unknown,
    }
}

#[cfg(test)]
mod tests;
