//! The models Kie sells that the simulator knows, by their wire names.

/// One model as Kie names it on the wire.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Model {
    Veo3,
    Veo3Fast,
    Veo3Lite,
    Sora2TextToVideo,
    Sora2ImageToVideo,
    Sora2ProTextToVideo,
    Sora2ProImageToVideo,
    KlingTextToVideo,
    KlingImageToVideo,
    GrokTextToVideo,
    GrokImageToVideo,
}

/// Models that share a generation time.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Family {
    Veo3,
    Veo3Fast,
    Sora,
    SoraPro,
    Kling,
    Grok,
}

impl Model {
    /// The jobs-API models, for looking a `model` field up.
    pub const JOBS: [Model; 8] = [
        Model::Sora2TextToVideo,
        Model::Sora2ImageToVideo,
        Model::Sora2ProTextToVideo,
        Model::Sora2ProImageToVideo,
        Model::KlingTextToVideo,
        Model::KlingImageToVideo,
        Model::GrokTextToVideo,
        Model::GrokImageToVideo,
    ];

    pub fn wire_name(self) -> &'static str {
        match self {
            Model::Veo3 => "veo3",
            Model::Veo3Fast => "veo3_fast",
            Model::Veo3Lite => "veo3_lite",
            Model::Sora2TextToVideo => "sora-2-text-to-video",
            Model::Sora2ImageToVideo => "sora-2-image-to-video",
            Model::Sora2ProTextToVideo => "sora-2-pro-text-to-video",
            Model::Sora2ProImageToVideo => "sora-2-pro-image-to-video",
            Model::KlingTextToVideo => "kling-2.6/text-to-video",
            Model::KlingImageToVideo => "kling-2.6/image-to-video",
            Model::GrokTextToVideo => "grok-imagine/text-to-video",
            Model::GrokImageToVideo => "grok-imagine/image-to-video",
        }
    }

    pub fn job_from_wire(name: &str) -> Option<Model> {
        Model::JOBS.into_iter().find(|m| m.wire_name() == name)
    }

    pub fn family(self) -> Family {
        match self {
            Model::Veo3 => Family::Veo3,
            // Kie does not say how long Lite takes; it is sold as the quick one, like Fast.
            Model::Veo3Fast | Model::Veo3Lite => Family::Veo3Fast,
            Model::Sora2TextToVideo | Model::Sora2ImageToVideo => Family::Sora,
            Model::Sora2ProTextToVideo | Model::Sora2ProImageToVideo => Family::SoraPro,
            Model::KlingTextToVideo | Model::KlingImageToVideo => Family::Kling,
            Model::GrokTextToVideo | Model::GrokImageToVideo => Family::Grok,
        }
    }

    /// Veo has its own endpoints and answer shapes; everything else is the jobs API.
    pub fn is_veo(self) -> bool {
        matches!(self, Model::Veo3 | Model::Veo3Fast | Model::Veo3Lite)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_jobs_model_round_trips_through_its_wire_name() {
        for m in Model::JOBS {
            assert_eq!(Model::job_from_wire(m.wire_name()), Some(m));
            assert!(!m.is_veo());
        }
        assert_eq!(Model::job_from_wire("veo3"), None);
        assert_eq!(Model::job_from_wire("kling-2.6"), None);
    }
}
