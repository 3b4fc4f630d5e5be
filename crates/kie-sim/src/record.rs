//! A task as Kie shows it: record-info / recordInfo answers and callback payloads.

use serde_json::{json, Value};

use crate::task::{Outcome, Task, TaskId, TaskState};

/// One task seen at one moment, with the base URL its files are served under.
pub(crate) struct View<'a> {
    pub task: &'a Task,
    pub id: TaskId,
    pub now_ms: u64,
    pub base_url: &'a str,
}

pub(crate) fn result_url(base_url: &str, id: TaskId) -> String {
    format!("{base_url}/results/{id}.mp4")
}

pub(crate) fn hd_result_url(base_url: &str, id: TaskId) -> String {
    format!("{base_url}/results/{id}_1080p.mp4")
}

pub(crate) fn uhd_result_url(base_url: &str, id: TaskId) -> String {
    format!("{base_url}/results/{id}_4k.mp4")
}

impl View<'_> {
    fn state(&self) -> TaskState {
        self.task.state(self.now_ms)
    }

    fn complete_time(&self) -> Value {
        match self.state().is_final() {
            true => json!(self.task.completed_ms()),
            false => Value::Null,
        }
    }

    fn failure(&self) -> Option<crate::task::Failure> {
        match (self.state(), self.task.outcome) {
            (TaskState::Fail, Outcome::Fail(f)) => Some(f),
            _ => None,
        }
    }

    fn urls(&self) -> Value {
        json!([result_url(self.base_url, self.id)])
    }

    /// `GET /api/v1/veo/record-info` data.
    pub fn veo_record(&self) -> Value {
        let state = self.state();
        let failure = self.failure();
        let success_flag = match failure {
            Some(f) => f.veo_success_flag(),
            None if state == TaskState::Success => 1,
            None => 0,
        };
        let response = match state {
            TaskState::Success => {
                let mut response = self.veo_info();
                response["taskId"] = json!(self.id.to_string());
                response
            }
            _ => Value::Null,
        };
        json!({
            "taskId": self.id.to_string(),
            "paramJson": &*self.task.param,
            "successFlag": success_flag,
            "response": response,
            "errorCode": failure.map(|f| f.code()),
            "errorMessage": failure.map_or("", |f| f.message()),
            "createTime": self.task.created_ms,
            "completeTime": self.complete_time(),
            "fallbackFlag": false,
        })
    }

    fn veo_info(&self) -> Value {
        json!({
            "resultUrls": self.urls(),
            "originUrls": null,
            "resolution": "720p",
        })
    }

    /// `GET /api/v1/jobs/recordInfo` data.
    pub fn job_record(&self) -> Value {
        let state = self.state();
        let failure = self.failure();
        let result_json = match state {
            TaskState::Success => json!({"resultUrls": self.urls()}).to_string(),
            _ => String::new(),
        };
        json!({
            "taskId": self.id.to_string(),
            "model": self.task.model.wire_name(),
            "state": state.wire_name(),
            "param": &*self.task.param,
            "resultJson": result_json,
            "failCode": failure.map_or(String::new(), |f| f.code().to_string()),
            "failMsg": failure.map_or("", |f| f.message()),
            "costTime": state.is_final().then_some(self.task.run_ms),
            "completeTime": self.complete_time(),
            "createTime": self.task.created_ms,
        })
    }

    /// The POST Kie makes to `callBackUrl` once the task has ended.
    pub fn callback(&self) -> Value {
        let failure = self.failure();
        let code = failure.map_or(200, |f| f.code());
        if self.task.model.is_veo() {
            let info = match failure {
                None => self.veo_info(),
                Some(_) => Value::Null,
            };
            let msg = failure.map_or("Veo3 video generated successfully.", |f| f.message());
            json!({"code": code, "msg": msg, "data": {
                "taskId": self.id.to_string(), "info": info, "fallbackFlag": false}})
        } else {
            let msg = failure.map_or("Playground task completed successfully.", |f| f.message());
            json!({"code": code, "msg": msg, "data": self.job_record()})
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::Model;
    use crate::task::Failure;
    use rust_decimal::Decimal;

    fn task(model: Model, outcome: Outcome) -> Task {
        Task {
            seq: 0,
            key: 0,
            model,
            created_ms: 1_000,
            run_ms: 500,
            outcome,
            hd_available: true,
            cost: Decimal::ONE,
            callback_url: None,
            param: r#"{"prompt":"p"}"#.into(),
        }
    }

    fn view(task: &Task, now_ms: u64) -> View<'_> {
        View {
            task,
            id: TaskId::new(task.model.is_veo(), 7),
            now_ms,
            base_url: "http://sim",
        }
    }

    #[test]
    fn veo_record_shows_response_only_after_success() {
        let t = task(Model::Veo3Fast, Outcome::Success);
        let running = view(&t, 1_200).veo_record();
        assert_eq!(running["successFlag"], 0);
        assert!(running["response"].is_null() && running["completeTime"].is_null());
        let done = view(&t, 1_500).veo_record();
        assert_eq!(done["successFlag"], 1);
        assert_eq!(done["completeTime"], 1_500);
        assert_eq!(done["paramJson"], r#"{"prompt":"p"}"#);
        assert_eq!(
            done["response"]["resultUrls"][0],
            "http://sim/results/veo_task_0000000000000007.mp4"
        );
        assert_eq!(done["response"]["resolution"], "720p");
    }

    #[test]
    fn failures_carry_kie_codes_in_records_and_callbacks() {
        let t = task(Model::Veo3, Outcome::Fail(Failure::GenerationFailed));
        let v = view(&t, 2_000);
        assert_eq!(v.veo_record()["successFlag"], 3);
        assert_eq!(v.veo_record()["errorCode"], 501);
        let cb = v.callback();
        assert_eq!(cb["code"], 501);
        assert!(cb["data"]["info"].is_null());

        let j = task(Model::GrokTextToVideo, Outcome::Fail(Failure::Refused));
        let v = view(&j, 2_000);
        let rec = v.job_record();
        assert_eq!(
            (rec["state"].as_str(), rec["failCode"].as_str()),
            (Some("fail"), Some("400"))
        );
        assert_eq!(rec["resultJson"], "");
        assert_eq!(v.callback()["code"], 400);
        assert_eq!(v.callback()["data"]["taskId"], "task_0000000000000007");
    }

    #[test]
    fn job_result_json_is_a_string_holding_result_urls() {
        let t = task(Model::KlingTextToVideo, Outcome::Success);
        let rec = view(&t, 1_500).job_record();
        let inner: Value = serde_json::from_str(rec["resultJson"].as_str().unwrap()).unwrap();
        assert_eq!(
            inner["resultUrls"][0],
            "http://sim/results/task_0000000000000007.mp4"
        );
        assert_eq!(rec["costTime"], 500);
        let running = view(&t, 1_000).job_record();
        assert_eq!(running["state"], "waiting");
        assert!(running["costTime"].is_null());
    }
}
