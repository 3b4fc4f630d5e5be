//! One task status for both of Kie's API families, so callers need not know which endpoint
//! (or callback) told them.

use serde_json::Value;

use crate::response::{JobsRecordInfo, JobsResult, JobsState, VeoRecordInfo, VeoResult};
use crate::task_id::TaskId;

/// A task as Kie last described it.
#[derive(Debug, Clone, PartialEq)]
pub struct TaskStatus {
    pub task_id: TaskId,
    pub state: TaskState,
    /// Milliseconds since the epoch, when Kie gave them.
    pub created_at_ms: Option<i64>,
    pub completed_at_ms: Option<i64>,
    /// The whole answer body, for diagnosis.
    pub raw: Value,
}

/// Where a task is, normalised across Veo's `successFlag` and the jobs API's `state`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum TaskState {
    /// Accepted, not started (jobs `waiting` / `queuing`; Veo never says).
    Pending,
    /// Generating.
    Running,
    /// Done. `videos` is never empty.
    Succeeded {
        videos: Vec<String>,
        /// The 1080p video, when the answer already names it (a Veo result Kie reports as
        /// 1080p). Otherwise ask [`KieClient::veo_1080p`](crate::KieClient::veo_1080p).
        hd_video: Option<String>,
    },
    /// Ended without a video. `code` is Kie's error code as text, empty when Kie gave none.
    Failed { code: String, message: String },
}

impl TaskState {
    /// The task will not change any more.
    pub fn is_terminal(&self) -> bool {
        matches!(self, Self::Succeeded { .. } | Self::Failed { .. })
    }

    pub(crate) fn from_veo(record: &VeoRecordInfo) -> Result<Self, Malformed> {
        match record.success_flag {
            0 => Ok(Self::Running),
            1 => veo_success(record.response.as_ref()),
            2 | 3 => Ok(Self::Failed {
                code: record.error_code.clone().unwrap_or_default(),
                message: record.error_message.clone().unwrap_or_default(),
            }),
            other => Err(Malformed(format!("unknown successFlag {other}"))),
        }
    }

    pub(crate) fn from_jobs(record: &JobsRecordInfo) -> Result<Self, Malformed> {
        match record.state {
            JobsState::Waiting | JobsState::Queuing => Ok(Self::Pending),
            JobsState::Generating => Ok(Self::Running),
            JobsState::Success => {
                let json = record.result_json.as_deref().unwrap_or_default();
                let result: JobsResult = serde_json::from_str(json)
                    .map_err(|err| Malformed(format!("resultJson is not a result: {err}")))?;
                succeeded(result.result_urls, None)
            }
            JobsState::Fail => Ok(Self::Failed {
                code: record.fail_code.clone().unwrap_or_default(),
                message: record.fail_msg.clone().unwrap_or_default(),
            }),
        }
    }
}

/// A Veo result (record-info `response` or callback `info`) as a success.
pub(crate) fn veo_success(result: Option<&VeoResult>) -> Result<TaskState, Malformed> {
    let result = result.ok_or_else(|| Malformed("a Veo success without a result".into()))?;
    let hd_video = match result.resolution.as_deref() {
        Some("1080p") => result.result_urls.first().cloned(),
        _ => None,
    };
    succeeded(result.result_urls.clone(), hd_video)
}

/// A success without a video is not one a caller could deliver (or charge for).
fn succeeded(videos: Vec<String>, hd_video: Option<String>) -> Result<TaskState, Malformed> {
    if videos.is_empty() {
        return Err(Malformed("a success without result URLs".into()));
    }
    Ok(TaskState::Succeeded { videos, hd_video })
}

impl TaskStatus {
    pub(crate) fn from_veo(record: &VeoRecordInfo, raw: Value) -> Result<Self, Malformed> {
        Ok(Self {
            task_id: TaskId::new(record.task_id.clone()),
            state: TaskState::from_veo(record)?,
            created_at_ms: record.create_time,
            completed_at_ms: record.complete_time,
            raw,
        })
    }

    pub(crate) fn from_jobs(record: &JobsRecordInfo, raw: Value) -> Result<Self, Malformed> {
        Ok(Self {
            task_id: TaskId::new(record.task_id.clone()),
            state: TaskState::from_jobs(record)?,
            created_at_ms: record.create_time,
            completed_at_ms: record.complete_time,
            raw,
        })
    }
}

/// Why a well-formed envelope still does not describe a task.
#[derive(Debug)]
pub(crate) struct Malformed(pub String);

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn jobs(v: Value) -> Result<TaskState, Malformed> {
        TaskState::from_jobs(&serde_json::from_value(v).unwrap())
    }

    fn veo(v: Value) -> Result<TaskState, Malformed> {
        TaskState::from_veo(&serde_json::from_value(v).unwrap())
    }

    #[test]
    fn jobs_states_normalise() {
        assert_eq!(
            jobs(json!({"taskId": "t", "state": "waiting"})).unwrap(),
            TaskState::Pending
        );
        assert_eq!(
            jobs(json!({"taskId": "t", "state": "queuing"})).unwrap(),
            TaskState::Pending
        );
        assert_eq!(
            jobs(json!({"taskId": "t", "state": "generating"})).unwrap(),
            TaskState::Running
        );
        let failed =
            jobs(json!({"taskId": "t", "state": "fail", "failCode": "501", "failMsg": "boom"}));
        assert_eq!(
            failed.unwrap(),
            TaskState::Failed {
                code: "501".into(),
                message: "boom".into()
            }
        );
    }

    #[test]
    fn jobs_success_needs_a_result_url() {
        let empty = json!({"taskId": "t", "state": "success", "resultJson": "{\"resultUrls\":[]}"});
        assert!(jobs(empty).is_err());
        assert!(jobs(json!({"taskId": "t", "state": "success", "resultJson": ""})).is_err());
        assert!(jobs(json!({"taskId": "t", "state": "success"})).is_err());
    }

    #[test]
    fn veo_flags_normalise() {
        assert_eq!(
            veo(json!({"taskId": "t", "successFlag": 0})).unwrap(),
            TaskState::Running
        );
        for flag in [2, 3] {
            let failed = veo(json!({"taskId": "t", "successFlag": flag,
                                    "errorCode": 400, "errorMessage": "flagged"}));
            assert_eq!(
                failed.unwrap(),
                TaskState::Failed {
                    code: "400".into(),
                    message: "flagged".into()
                }
            );
        }
        assert!(veo(json!({"taskId": "t", "successFlag": 1, "response": null})).is_err());
        assert!(veo(json!({"taskId": "t", "successFlag": 7})).is_err());
    }

    #[test]
    fn a_veo_result_reported_as_1080p_is_its_own_hd_video() {
        let state = veo(json!({"taskId": "t", "successFlag": 1,
            "response": {"resultUrls": ["https://x/a.mp4"], "resolution": "1080p"}}));
        assert_eq!(
            state.unwrap(),
            TaskState::Succeeded {
                videos: vec!["https://x/a.mp4".into()],
                hd_video: Some("https://x/a.mp4".into())
            }
        );
    }
}
