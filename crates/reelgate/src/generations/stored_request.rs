//! Kie's create body as stored with a generation at submission, and sent later by the
//! dispatcher with the callback URL filled in. Stored rather than re-derived, so what is sent
//! is what was priced even if the operator changes the catalog meanwhile.

use kie::{TaskRequest, VeoExtendRequest, VeoGenerateRequest};
use reelgate_domain::catalog::UpstreamRequest;
use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "endpoint", content = "body", rename_all = "lowercase")]
pub enum StoredRequest {
    Veo(VeoGenerateRequest),
    Jobs(TaskRequest),
    /// A finished Veo video continued (`POST /api/v1/veo/extend`).
    Extend(Extension),
    /// The 4K version of a finished Veo video (`POST /api/v1/veo/get-4k-video`), sold after
    /// the fact.
    Upscale(Upscale),
}

/// The task whose 4K version is asked for, and the Kie key that made it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Upscale {
    pub task_id: String,
    pub key: Option<String>,
}

/// An extension's create body, and the Kie key (its fingerprint) that created the task it
/// continues: Kie extends a task only for the account that made it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Extension {
    pub request: VeoExtendRequest,
    pub key: Option<String>,
}

impl From<UpstreamRequest> for StoredRequest {
    fn from(request: UpstreamRequest) -> Self {
        match request {
            UpstreamRequest::Veo(body) => StoredRequest::Veo(body),
            UpstreamRequest::Task(body) => StoredRequest::Jobs(body),
        }
    }
}

impl StoredRequest {
    pub fn decode(stored: &serde_json::Value) -> Result<Self, serde_json::Error> {
        StoredRequest::deserialize(stored)
    }

    pub fn encode(&self) -> serde_json::Value {
        // Both bodies are plain maps of strings, numbers and booleans.
        serde_json::to_value(self).unwrap_or(serde_json::Value::Null)
    }

    /// Whether its task is read on Veo's endpoints.
    pub fn is_veo(&self) -> bool {
        matches!(
            self,
            StoredRequest::Veo(_) | StoredRequest::Extend(_) | StoredRequest::Upscale(_)
        )
    }

    /// The model's name on the wire.
    pub fn wire_model(&self) -> &str {
        match self {
            StoredRequest::Veo(body) => body.model.wire_name(),
            StoredRequest::Jobs(body) => &body.model,
            StoredRequest::Extend(extension) => &extension.request.model,
            StoredRequest::Upscale(_) => "get-4k-video",
        }
    }

    /// The Kie key (fingerprint) that must send it: the one that made the task it builds on.
    pub fn required_key(&self) -> Option<&Option<String>> {
        match self {
            StoredRequest::Extend(extension) => Some(&extension.key),
            StoredRequest::Upscale(upscale) => Some(&upscale.key),
            _ => None,
        }
    }
}
