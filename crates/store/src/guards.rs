//! The conditions of the generations' conditional writes, derived from the domain's state
//! machine (`reelgate_domain::generations::lifecycle`): a write for an event changes a row
//! only in a state the event can happen in, so two workers racing over one generation
//! cannot both move it, and none can move it where the machine has no arrow.
//!
//! The queues' predicates (`tracking.rs`) stay written out, in the shape their indexes
//! serve; the tests below check each one, and each derived condition, against the machine.

use reelgate_domain::generations::lifecycle::{failure_sources, sources};
use reelgate_domain::generations::{Event, State, Status};

/// The SQL condition true of a generation's row exactly when it is in one of `states`.
pub(crate) fn condition(states: &[State]) -> String {
    let mut parts = Vec::new();
    for status in Status::ALL {
        let of_status = |state: &&State| state.status() == status;
        let wanted: Vec<&State> = states.iter().filter(of_status).collect();
        if wanted.is_empty() {
            continue;
        }
        let every = State::ALL.iter().filter(of_status).count();
        let status_is = format!("status = '{}'", status.as_str());
        if wanted.len() == every {
            parts.push(status_is);
            continue;
        }
        let (column, values): (&str, Vec<&str>) = if status == Status::Succeeded {
            ("hd", wanted.iter().map(|s| s.parts().2.as_str()).collect())
        } else {
            (
                "dispatch",
                wanted.iter().map(|s| s.parts().1.as_str()).collect(),
            )
        };
        let values = values.iter().map(|v| format!("'{v}'")).collect::<Vec<_>>();
        let one_of = match values.as_slice() {
            [one] => format!("{column} = {one}"),
            many => format!("{column} IN ({})", many.join(", ")),
        };
        parts.push(format!("({status_is} AND {one_of})"));
    }
    match parts.as_slice() {
        [] => "FALSE".to_owned(),
        [one] => one.clone(),
        many => format!("({})", many.join(" OR ")),
    }
}

/// The condition of the write that records `event`.
pub(crate) fn guard(event: Event) -> String {
    condition(&sources(event))
}

/// The condition of settling a failure, whatever its reason (one statement serves them all).
pub(crate) fn any_failure() -> String {
    condition(&failure_sources())
}

#[cfg(test)]
mod tests {
    use super::*;
    use reelgate_domain::generations::{Dispatch, HdFetch, Queued, Why};
    use sqlx::Row;

    /// The legal states among the rows of every combination of the three columns that
    /// `predicate` selects.
    async fn selected(pool: &sqlx::AnyPool, predicate: &str) -> Vec<State> {
        let mut rows = Vec::new();
        for status in Status::ALL {
            for dispatch in Dispatch::ALL {
                for hd in HdFetch::ALL {
                    rows.push(format!(
                        "('{}', '{}', '{}')",
                        status.as_str(),
                        dispatch.as_str(),
                        hd.as_str()
                    ));
                }
            }
        }
        let sql = format!(
            "WITH generations (status, dispatch, hd) AS (VALUES {})
             SELECT status, dispatch, hd FROM generations WHERE {predicate}",
            rows.join(", ")
        );
        let found = sqlx::query(&sql).fetch_all(pool).await;
        let found = found.unwrap_or_else(|e| panic!("{predicate}: {e}"));
        let mut states: Vec<State> = found
            .iter()
            .filter_map(|row| {
                let column = |name: &str| row.try_get::<String, _>(name).unwrap_or_default();
                State::from_parts(
                    column("status").parse().ok()?,
                    column("dispatch").parse().ok()?,
                    column("hd").parse().ok()?,
                )
                .ok()
            })
            .collect();
        states.sort_by_key(|s| format!("{s:?}"));
        states
    }

    fn sorted(mut states: Vec<State>) -> Vec<State> {
        states.sort_by_key(|s| format!("{s:?}"));
        states
    }

    #[tokio::test]
    async fn every_guard_selects_exactly_the_states_the_machine_allows() {
        sqlx::any::install_default_drivers();
        let pool = sqlx::AnyPool::connect("sqlite::memory:")
            .await
            .expect("an in-memory SQLite database");
        // Each derived condition, for every event.
        for event in Event::all() {
            let expected = sorted(sources(event));
            assert_eq!(selected(&pool, &guard(event)).await, expected, "{event:?}");
        }
        assert_eq!(
            selected(&pool, &any_failure()).await,
            sorted(failure_sources())
        );
        // The queues, written out for their indexes.
        let queues = [
            (crate::queues::DISPATCH.waiting, sources(Event::Claimed)),
            (
                crate::queues::UNRESOLVED.waiting,
                [
                    sources(Event::AnswerLost),
                    sources(Event::Failed(Why::NeverConfirmed)),
                ]
                .concat(),
            ),
            (crate::queues::RUNNING.waiting, sources(Event::StillRunning)),
            (crate::queues::HD.waiting, sources(Event::HdArrived)),
            (crate::tracking::UNSENT, sources(Event::Blocked)),
            (crate::tracking::QUEUED, sources(Event::Unblocked)),
        ];
        for (predicate, expected) in queues {
            let mut expected = sorted(expected);
            expected.dedup();
            assert_eq!(selected(&pool, predicate).await, expected, "{predicate}");
        }
        let holding: Vec<State> = State::ALL
            .into_iter()
            .filter(|s| s.holds_upstream_slot())
            .collect();
        assert_eq!(
            selected(&pool, crate::tracking::HOLDS_UPSTREAM_SLOT).await,
            sorted(holding)
        );
    }

    #[test]
    fn conditions_read_as_written_by_hand() {
        assert_eq!(
            guard(Event::UpstreamAccepted),
            "(status = 'queued' AND dispatch IN ('sending', 'unknown'))"
        );
        assert_eq!(any_failure(), "(status = 'queued' OR status = 'running')");
        assert_eq!(
            guard(Event::HdArrived),
            "(status = 'succeeded' AND hd = 'pending')"
        );
        assert_eq!(
            condition(&[State::Queued(Queued::Waiting)]),
            "(status = 'queued' AND dispatch = 'waiting')"
        );
    }
}
