//! Create-task request bodies, serialised exactly as Kie expects them.

use serde::de::{Deserializer, Error as _};
use serde::ser::{SerializeMap, Serializer};
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

/// Veo's model names on the wire. Kie spells the fast and lite ones with an underscore,
/// although the business's notes (and our catalog ids) use a hyphen.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum VeoModel {
    Veo3,
    Veo3Fast,
    Veo3Lite,
}

impl VeoModel {
    pub const ALL: [VeoModel; 3] = [VeoModel::Veo3, VeoModel::Veo3Fast, VeoModel::Veo3Lite];

    pub fn wire_name(self) -> &'static str {
        match self {
            VeoModel::Veo3 => "veo3",
            VeoModel::Veo3Fast => "veo3_fast",
            VeoModel::Veo3Lite => "veo3_lite",
        }
    }

    pub fn from_wire(name: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|m| m.wire_name() == name)
    }

    /// The name `POST /api/v1/veo/extend` takes for the model (Kie's page: `fast`, `quality`,
    /// `lite`), not the one `generate` takes.
    pub fn extend_name(self) -> &'static str {
        match self {
            VeoModel::Veo3 => "quality",
            VeoModel::Veo3Fast => "fast",
            VeoModel::Veo3Lite => "lite",
        }
    }
}

/// `POST /api/v1/veo/extend`: continues a finished Veo video (`task_id`) with a new prompt,
/// as a new task priced like a new video.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct VeoExtendRequest {
    #[serde(rename = "taskId")]
    pub task_id: String,
    pub prompt: String,
    /// [`VeoModel::extend_name`].
    pub model: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub seeds: Option<u32>,
    #[serde(
        rename = "callBackUrl",
        default,
        skip_serializing_if = "Option::is_none"
    )]
    pub call_back_url: Option<String>,
}

/// The resolutions Kie makes a Veo video in: 720p by `generate`, the others by asking for an
/// upgrade of the finished task (`get-1080p-video`, `get-4k-video`), each charged on its own.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum VeoResolution {
    P720,
    P1080,
    Uhd4k,
}

impl VeoResolution {
    pub const ALL: [VeoResolution; 3] = [
        VeoResolution::P720,
        VeoResolution::P1080,
        VeoResolution::Uhd4k,
    ];

    /// As Kie's pages write it.
    pub fn wire_name(self) -> &'static str {
        match self {
            VeoResolution::P720 => "720p",
            VeoResolution::P1080 => "1080p",
            VeoResolution::Uhd4k => "4K",
        }
    }

    /// Kie's spelling, in any case (`4K` and `4k` alike).
    pub fn from_wire(name: &str) -> Option<Self> {
        Self::ALL
            .into_iter()
            .find(|r| r.wire_name().eq_ignore_ascii_case(name))
    }
}

/// Kie's Veo documentation has spelled the ratio field both ways; which one we send is
/// configuration, not code.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Hash)]
pub enum AspectRatioField {
    /// `aspect_ratio`, Kie's current Veo 3.1 page.
    #[default]
    Snake,
    /// `aspectRatio`, Kie's older pages and most public integrations.
    Camel,
}

impl AspectRatioField {
    pub fn wire_name(self) -> &'static str {
        match self {
            AspectRatioField::Snake => "aspect_ratio",
            AspectRatioField::Camel => "aspectRatio",
        }
    }
}

/// `POST /api/v1/veo/generate`.
#[derive(Debug, Clone, PartialEq)]
pub struct VeoGenerateRequest {
    pub prompt: String,
    /// Empty for text-to-video; one image (first frame) or two (first and last frame).
    pub image_urls: Vec<String>,
    pub model: VeoModel,
    pub aspect_ratio: String,
    pub aspect_ratio_field: AspectRatioField,
    /// `generationType`: `TEXT_2_VIDEO`, `FIRST_AND_LAST_FRAMES_2_VIDEO`, `REFERENCE_2_VIDEO`;
    /// left out, Kie decides from whether `imageUrls` is given.
    pub generation_type: Option<String>,
    /// Text Kie draws on the video.
    pub watermark: Option<String>,
    /// `enableTranslation` (Kie's default: true).
    pub enable_translation: Option<bool>,
    pub call_back_url: Option<String>,
}

impl Serialize for VeoGenerateRequest {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        let mut map = serializer.serialize_map(None)?;
        map.serialize_entry("prompt", &self.prompt)?;
        if !self.image_urls.is_empty() {
            map.serialize_entry("imageUrls", &self.image_urls)?;
        }
        map.serialize_entry("model", self.model.wire_name())?;
        map.serialize_entry(self.aspect_ratio_field.wire_name(), &self.aspect_ratio)?;
        if let Some(kind) = &self.generation_type {
            map.serialize_entry("generationType", kind)?;
        }
        if let Some(text) = &self.watermark {
            map.serialize_entry("watermark", text)?;
        }
        if let Some(on) = self.enable_translation {
            map.serialize_entry("enableTranslation", &on)?;
        }
        if let Some(url) = &self.call_back_url {
            map.serialize_entry("callBackUrl", url)?;
        }
        map.end()
    }
}

/// Reads back what `Serialize` wrote (so a request can be stored and sent later), keeping the
/// ratio field's spelling.
impl<'de> Deserialize<'de> for VeoGenerateRequest {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        #[derive(Deserialize)]
        struct Wire {
            prompt: String,
            #[serde(rename = "imageUrls", default)]
            image_urls: Vec<String>,
            model: String,
            aspect_ratio: Option<String>,
            #[serde(rename = "aspectRatio")]
            aspect_ratio_camel: Option<String>,
            #[serde(rename = "generationType")]
            generation_type: Option<String>,
            watermark: Option<String>,
            #[serde(rename = "enableTranslation")]
            enable_translation: Option<bool>,
            #[serde(rename = "callBackUrl")]
            call_back_url: Option<String>,
        }
        let wire = Wire::deserialize(deserializer)?;
        let model = VeoModel::from_wire(&wire.model)
            .ok_or_else(|| D::Error::custom(format!("unknown Veo model {:?}", wire.model)))?;
        let (aspect_ratio, aspect_ratio_field) = match (wire.aspect_ratio, wire.aspect_ratio_camel)
        {
            (Some(ratio), None) => (ratio, AspectRatioField::Snake),
            (None, Some(ratio)) => (ratio, AspectRatioField::Camel),
            _ => {
                return Err(D::Error::custom(
                    "expected exactly one of aspect_ratio, aspectRatio",
                ))
            }
        };
        Ok(VeoGenerateRequest {
            prompt: wire.prompt,
            image_urls: wire.image_urls,
            model,
            aspect_ratio,
            aspect_ratio_field,
            generation_type: wire.generation_type,
            watermark: wire.watermark,
            enable_translation: wire.enable_translation,
            call_back_url: wire.call_back_url,
        })
    }
}

/// The `input` object of a jobs-API task. Its fields differ per model (Sora, Kling, Grok) and
/// Kie adds new ones over time, so it is an ordered map of wire names to wire values; the
/// caller (reelgate's catalog) decides which fields and value types each model gets.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(transparent)]
pub struct TaskInput(pub Map<String, Value>);

impl TaskInput {
    pub fn new() -> Self {
        Self::default()
    }

    pub fn with(mut self, field: &str, value: impl Into<Value>) -> Self {
        self.0.insert(field.to_owned(), value.into());
        self
    }

    pub fn insert(&mut self, field: &str, value: impl Into<Value>) {
        self.0.insert(field.to_owned(), value.into());
    }
}

/// `POST /api/v1/jobs/createTask` (Sora 2, Kling 2.6, Grok Imagine).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct TaskRequest {
    pub model: String,
    #[serde(rename = "callBackUrl", skip_serializing_if = "Option::is_none")]
    pub call_back_url: Option<String>,
    pub input: TaskInput,
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn veo_request_uses_camel_case_and_configured_ratio_spelling() {
        let mut req = VeoGenerateRequest {
            prompt: "A dog playing in a park".into(),
            image_urls: vec!["https://example.com/first-frame.png".into()],
            model: VeoModel::Veo3Fast,
            aspect_ratio: "16:9".into(),
            aspect_ratio_field: AspectRatioField::Camel,
            generation_type: None,
            watermark: None,
            enable_translation: None,
            call_back_url: Some("https://your.host/cb".into()),
        };
        assert_eq!(
            serde_json::to_value(&req).unwrap(),
            json!({"prompt": "A dog playing in a park",
                   "imageUrls": ["https://example.com/first-frame.png"],
                   "model": "veo3_fast", "aspectRatio": "16:9",
                   "callBackUrl": "https://your.host/cb"})
        );
        req.aspect_ratio_field = AspectRatioField::Snake;
        req.image_urls.clear();
        let v = serde_json::to_value(&req).unwrap();
        assert_eq!(v["aspect_ratio"], "16:9");
        assert!(v.get("imageUrls").is_none() && v.get("aspectRatio").is_none());
    }

    #[test]
    fn stored_requests_read_back_equal() {
        for (field, model) in [
            (AspectRatioField::Snake, VeoModel::Veo3),
            (AspectRatioField::Camel, VeoModel::Veo3Lite),
        ] {
            let veo = VeoGenerateRequest {
                prompt: "p".into(),
                image_urls: vec!["https://e.com/a.png".into()],
                model,
                aspect_ratio: "9:16".into(),
                aspect_ratio_field: field,
                generation_type: Some("REFERENCE_2_VIDEO".into()),
                watermark: Some("Mine".into()),
                enable_translation: Some(false),
                call_back_url: None,
            };
            let back: VeoGenerateRequest =
                serde_json::from_value(serde_json::to_value(&veo).unwrap()).unwrap();
            assert_eq!(back, veo);
        }
        let task = TaskRequest {
            model: "sora-2-text-to-video".into(),
            call_back_url: Some("https://h/cb".into()),
            input: TaskInput::new().with("n_frames", "10"),
        };
        let back: TaskRequest =
            serde_json::from_value(serde_json::to_value(&task).unwrap()).unwrap();
        assert_eq!(back, task);
    }

    #[test]
    fn task_request_nests_snake_case_input() {
        let req = TaskRequest {
            model: "kling-2.6/text-to-video".into(),
            call_back_url: None,
            input: TaskInput::new()
                .with("prompt", "fox")
                .with("sound", false)
                .with("duration", "5"),
        };
        assert_eq!(
            serde_json::to_value(&req).unwrap(),
            json!({"model": "kling-2.6/text-to-video",
                   "input": {"prompt": "fox", "sound": false, "duration": "5"}})
        );
    }
}
