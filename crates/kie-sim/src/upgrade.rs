//! Veo's upgrades of a finished video: 1080p (`get-1080p-video`) and 4K (`get-4k-video`), each
//! charged once on its own, as Kie's Veo 3.1 price page has it.

use std::time::Duration;

use serde_json::{json, Value};

use crate::callbacks::{self, Due};
use crate::pricing;
use crate::record::uhd_result_url;
use crate::simulator::{now_ms, Simulator};
use crate::task::{Outcome, TaskId};
use crate::validate::Rejection;

/// What a task's upgrades have cost and where its 4K one stands. Kept beside the task, not in
/// it, so the 100,000 tasks that are never upgraded stay small.
#[derive(Clone, Debug, Default)]
pub(crate) struct Upgrades {
    pub hd_charged: bool,
    pub uhd: Option<Uhd>,
}

#[derive(Clone, Debug)]
pub(crate) struct Uhd {
    pub ready_ms: u64,
    /// Decided at the request, from the seeded RNG: Kie cannot make this one.
    pub fails: bool,
    pub callback_url: Option<String>,
}

/// Kie's answer to one `get-4k-video` request.
pub(crate) enum UhdAnswer {
    /// The first request: accepted, the file is being made.
    Started,
    Ready(String),
}

pub(crate) const UHD_UNAVAILABLE: &str =
    "The 4K version of this video is unavailable. Please try a different video.";

impl Simulator {
    /// Whether a 4K version of the Veo task `id` was asked for (such a video cannot be
    /// extended).
    pub(crate) fn was_upscaled(&self, id: &str) -> bool {
        let Some(id) = TaskId::parse(id) else {
            return false;
        };
        self.lock()
            .upgrades
            .get(&id.number)
            .is_some_and(|u| u.uhd.is_some())
    }

    /// Charges the 1080p upgrade the first time its file is handed out.
    pub(crate) fn charge_hd_once(&self, number: u64) -> Result<(), Rejection> {
        let mut st = self.lock();
        if st.upgrades.get(&number).is_some_and(|u| u.hd_charged) {
            return Ok(());
        }
        let cost = pricing::veo_upgrade(false);
        if st.balance < cost {
            return Err(insufficient());
        }
        st.balance -= cost;
        st.upgrades.entry(number).or_default().hd_charged = true;
        Ok(())
    }

    /// `POST /api/v1/veo/get-4k-video` for a task that exists on the Veo API.
    pub(crate) fn request_uhd(
        &self,
        id: TaskId,
        callback_url: Option<String>,
        delay: Duration,
    ) -> Result<UhdAnswer, Rejection> {
        let now = now_ms();
        let base_url = self.base_url();
        let mut st = self.lock();
        let task = st.tasks.get(&id.number).ok_or_else(not_found)?;
        if !task.state(now).is_final() {
            return Err(Rejection::invalid(
                "The video is still being generated; ask for 4K once it has succeeded",
            ));
        }
        if task.outcome != Outcome::Success {
            return Err(Rejection::invalid("The task did not succeed: no 4K video"));
        }
        if let Some(uhd) = st.upgrades.get(&id.number).and_then(|u| u.uhd.as_ref()) {
            return match () {
                _ if now < uhd.ready_ms => Err(Rejection::invalid(
                    "4k is processing. It should be ready in 5-10 minutes. Please check back shortly.",
                )),
                _ if uhd.fails => Err(Rejection::invalid(UHD_UNAVAILABLE)),
                _ => Ok(UhdAnswer::Ready(uhd_result_url(&base_url, id))),
            };
        }
        let ratio = st.faults.upscale_failure_ratio;
        let fails = st.roll(ratio);
        // Kie takes nothing for an upgrade it cannot make.
        let cost = pricing::veo_upgrade(true);
        if !fails {
            if st.balance < cost {
                return Err(insufficient());
            }
            st.balance -= cost;
        }
        let ready_ms = now.saturating_add(u64::try_from(delay.as_millis()).unwrap_or(u64::MAX));
        st.upgrades.entry(id.number).or_default().uhd = Some(Uhd {
            ready_ms,
            fails,
            callback_url: callback_url.clone(),
        });
        drop(st);
        if callback_url.is_some() {
            let due = Due {
                at_ms: ready_ms,
                task: id.number,
                copies: 1,
                uhd: true,
            };
            callbacks::schedule(&self.shared, due);
        }
        Ok(UhdAnswer::Started)
    }
}

/// The POST Kie makes to a 4K request's `callBackUrl` when the file is made (or cannot be).
pub(crate) fn uhd_callback(id: TaskId, uhd: &Uhd, base_url: &str) -> Value {
    if uhd.fails {
        return json!({"code": 500, "msg": UHD_UNAVAILABLE, "data": {"taskId": id.to_string()}});
    }
    json!({"code": 200, "msg": "4K Video generated successfully.", "data": {
        "taskId": id.to_string(),
        "info": {"resultUrls": [uhd_result_url(base_url, id)], "imageUrls": null}}})
}

fn insufficient() -> Rejection {
    Rejection::new(402, "The current credits are insufficient. Please top up.")
}

fn not_found() -> Rejection {
    Rejection::new(404, "task not found")
}
