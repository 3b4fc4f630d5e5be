//! The state machine against every state and every event, and against random lives.

use super::*;
use proptest::prelude::*;

fn credit_effects(effects: &[Effect]) -> usize {
    effects
        .iter()
        .filter(|e| matches!(e, Effect::Charge | Effect::Refund))
        .count()
}

#[test]
fn every_legal_state_round_trips_through_its_columns_and_no_other_combination_exists() {
    let mut legal = 0;
    for status in Status::ALL {
        for dispatch in Dispatch::ALL {
            for hd in HdFetch::ALL {
                if let Ok(state) = State::from_parts(status, dispatch, hd) {
                    assert_eq!(state.parts(), (status, dispatch, hd));
                    legal += 1;
                }
            }
        }
    }
    assert_eq!(legal, State::ALL.len());
}

#[test]
fn every_state_and_every_event() {
    let mut arrows = std::collections::HashSet::new();
    for from in State::ALL {
        for event in Event::all() {
            let Ok((to, effects)) = transition(from, event) else {
                continue;
            };
            let (before, after) = (from.status(), to.status());
            if before != after {
                arrows.insert((before, after));
            }
            if before.is_final() {
                assert_eq!(before, after, "a final status never changes");
                assert_eq!(credit_effects(effects), 0, "{from:?} --{event:?}");
            }
            if effects.contains(&Effect::Charge) {
                assert_eq!((from, after), (State::Running, Status::Succeeded));
            }
            if effects.contains(&Effect::Refund) {
                assert!(matches!(to, State::Failed(_) | State::Canceled));
                assert!(!before.is_final());
            }
            if after.is_final() && !before.is_final() {
                assert_eq!(credit_effects(effects), 1, "settling moves credits once");
                assert!(effects.contains(&Effect::Webhook));
            }
            assert!(!effects.contains(&Effect::Hold), "only submission holds");
        }
    }
    // The arrows docs/API.md draws between statuses, and no other.
    use Status::*;
    let documented = [
        (Queued, Running),
        (Queued, Failed),
        (Queued, Canceled),
        (Running, Succeeded),
        (Running, Failed),
    ];
    assert_eq!(arrows, documented.into_iter().collect());
}

#[test]
fn an_unanswered_create_is_never_sent_again_and_only_a_waiting_one_can_be_canceled() {
    for event in Event::all() {
        if let Ok((_, effects)) = transition(State::Queued(Queued::Unanswered), event) {
            assert!(!effects.contains(&Effect::SendCreate), "{event:?}");
        }
    }
    assert_eq!(
        sources(Event::Canceled),
        vec![State::Queued(Queued::Waiting)]
    );
    assert_eq!(
        sources(Event::Claimed),
        vec![State::Queued(Queued::Waiting)]
    );
}

#[test]
fn a_failure_can_happen_to_anything_queued_or_running_and_nothing_else() {
    let mut from: Vec<Status> = failure_sources().into_iter().map(State::status).collect();
    from.dedup();
    assert_eq!(from, vec![Status::Queued, Status::Running]);
    assert_eq!(failure_sources().len(), 4);
}

proptest! {
    /// Whatever happens, in whatever order (illegal steps are refused and change nothing):
    /// one hold, at most one charge or refund, and exactly one once the generation ended.
    #[test]
    fn credits_move_once_whatever_happens(
        events in prop::collection::vec(prop::sample::select(Event::all()), 0..40)
    ) {
        let (mut state, first) = submitted();
        let mut effects: Vec<Effect> = first.to_vec();
        let mut ended_at = None;
        for (step, event) in events.into_iter().enumerate() {
            if let Ok((next, done)) = transition(state, event) {
                if state.status().is_final() {
                    prop_assert_eq!(next.status(), state.status());
                } else if next.status().is_final() {
                    ended_at = Some(step);
                }
                state = next;
                effects.extend_from_slice(done);
            }
        }
        let count = |effect: Effect| effects.iter().filter(|e| **e == effect).count();
        prop_assert_eq!(count(Effect::Hold), 1);
        prop_assert!(count(Effect::Refund) + count(Effect::Charge) <= 1);
        prop_assert_eq!(
            count(Effect::Refund) + count(Effect::Charge) == 1,
            state.status().is_final()
        );
        prop_assert_eq!(ended_at.is_some(), state.status().is_final());
        prop_assert_eq!(count(Effect::Charge) == 1, matches!(state, State::Succeeded(_)));
    }

    /// A step is legal exactly from the states `sources` lists: the store guards its
    /// writes with that list.
    #[test]
    fn sources_are_exactly_the_states_a_step_is_legal_from(
        state in prop::sample::select(State::ALL.to_vec()),
        event in prop::sample::select(Event::all()),
    ) {
        prop_assert_eq!(sources(event).contains(&state), transition(state, event).is_ok());
    }
}
