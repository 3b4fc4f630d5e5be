//! Contract tests: the client against the real simulator (`kie-sim`), for every model variant,
//! success and failure, callbacks, and each fault the simulator can inject.

use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use axum::body::Bytes;
use axum::routing::post;
use axum::Router;
use kie::{
    AspectRatioField, Callback, JobsStatusPath, KieClient, KieConfig, KieError, RetryPolicy,
    SecretString, TaskId, TaskInput, TaskRequest, TaskState, TaskStatus, Url, VeoGenerateRequest,
    VeoModel,
};
use kie_sim::{Faults, RateLimit, RunningSim, SimConfig};
use rust_decimal::Decimal;
use serde_json::{json, Value};

type Outcome<T = ()> = anyhow::Result<T>;

/// One simulated Kie account, a client on it, and an endpoint collecting its callbacks.
struct Harness {
    sim: RunningSim,
    kie: KieClient,
    callbacks: Arc<Mutex<Vec<Bytes>>>,
    callback_url: String,
}

impl Harness {
    async fn start(config: SimConfig) -> Outcome<Self> {
        let sim = kie_sim::spawn(config, "127.0.0.1:0".parse()?).await?;
        let kie = KieClient::new(client_config(&sim, "sim-test-key")?)?;
        let callbacks: Arc<Mutex<Vec<Bytes>>> = Arc::default();
        let sink = callbacks.clone();
        let receiver = Router::new().route(
            "/callbacks/kie",
            post(move |body: Bytes| {
                sink.lock().unwrap().push(body);
                async { "ok" }
            }),
        );
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
        let callback_url = format!("http://{}/callbacks/kie", listener.local_addr()?);
        tokio::spawn(async move { axum::serve(listener, receiver).await });
        Ok(Self {
            sim,
            kie,
            callbacks,
            callback_url,
        })
    }

    async fn with_faults(faults: Faults) -> Outcome<Self> {
        Self::start(SimConfig {
            faults,
            ..SimConfig::for_tests()
        })
        .await
    }

    /// Polls until the task ends (the test simulator finishes tasks at once).
    async fn finished(&self, variant: &Variant, id: &TaskId) -> Outcome<TaskStatus> {
        let deadline = Instant::now() + Duration::from_secs(10);
        loop {
            let status = match variant {
                Variant::Veo(_) => self.kie.veo_status(id).await?,
                Variant::Jobs(_) => self.kie.task_status(id).await?,
            };
            if status.state.is_terminal() || Instant::now() > deadline {
                return Ok(status);
            }
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    }

    /// The first callback the simulator sent for `id`, decoded.
    async fn callback_for(&self, id: &TaskId) -> Outcome<Callback> {
        let deadline = Instant::now() + Duration::from_secs(10);
        loop {
            let bodies = self.callbacks.lock().unwrap().clone();
            for body in bodies {
                let callback = Callback::parse(&body)?;
                if &callback.task_id == id {
                    return Ok(callback);
                }
            }
            anyhow::ensure!(Instant::now() < deadline, "no callback for {id}");
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    }
}

fn client_config(sim: &RunningSim, key: &str) -> Outcome<KieConfig> {
    Ok(KieConfig {
        request_timeout: Duration::from_secs(5),
        connect_timeout: Duration::from_secs(1),
        retry: RetryPolicy {
            max_retries: 2,
            initial_backoff: Duration::from_millis(5),
            max_backoff: Duration::from_millis(20),
        },
        ..KieConfig::for_single_host(Url::parse(&sim.base_url)?, SecretString::from(key))
    })
}

enum Variant {
    Veo(VeoGenerateRequest),
    Jobs(TaskRequest),
}

impl Variant {
    async fn create(&self, kie: &KieClient) -> Result<TaskId, KieError> {
        match self {
            Variant::Veo(request) => kie.create_veo(request).await,
            Variant::Jobs(request) => kie.create_task(request).await,
        }
    }
}

fn veo(model: VeoModel, image: Option<&str>, callback: &str) -> Variant {
    Variant::Veo(VeoGenerateRequest {
        prompt: "A dog playing in a park".into(),
        image_urls: image.map(str::to_owned).into_iter().collect(),
        model,
        aspect_ratio: "16:9".into(),
        aspect_ratio_field: AspectRatioField::Snake,
        generation_type: None,
        watermark: None,
        enable_translation: None,
        call_back_url: Some(callback.into()),
    })
}

fn job(model: &str, input: Value, callback: &str) -> Variant {
    let Value::Object(input) = input else {
        unreachable!("inputs are objects")
    };
    Variant::Jobs(TaskRequest {
        model: model.into(),
        call_back_url: Some(callback.into()),
        input: TaskInput(input),
    })
}

/// One valid request per model variant Kie sells through reelgate.
fn all_variants(image: &str, callback: &str) -> Vec<(&'static str, Variant)> {
    vec![
        ("veo3", veo(VeoModel::Veo3, None, callback)),
        ("veo3-fast", veo(VeoModel::Veo3Fast, Some(image), callback)),
        (
            "sora-2-text-to-video",
            job(
                "sora-2-text-to-video",
                json!({
            "prompt": "a boat", "aspect_ratio": "landscape", "n_frames": "10",
            "remove_watermark": true}),
                callback,
            ),
        ),
        (
            "sora-2-image-to-video",
            job(
                "sora-2-image-to-video",
                json!({
            "prompt": "a boat", "aspect_ratio": "portrait", "n_frames": "15",
            "image_urls": [image]}),
                callback,
            ),
        ),
        (
            "sora-2-pro-text-to-video",
            job(
                "sora-2-pro-text-to-video",
                json!({
            "prompt": "a boat", "aspect_ratio": "landscape", "n_frames": "10",
            "size": "high"}),
                callback,
            ),
        ),
        (
            "sora-2-pro-image-to-video",
            job(
                "sora-2-pro-image-to-video",
                json!({
            "prompt": "a boat", "aspect_ratio": "landscape", "n_frames": "10",
            "size": "standard", "image_urls": [image]}),
                callback,
            ),
        ),
        (
            "kling-2.6/text-to-video",
            job(
                "kling-2.6/text-to-video",
                json!({
            "prompt": "a fox", "sound": false, "aspect_ratio": "16:9", "duration": "5"}),
                callback,
            ),
        ),
        (
            "kling-2.6/image-to-video",
            job(
                "kling-2.6/image-to-video",
                json!({
            "prompt": "a fox", "sound": true, "duration": "10", "image_urls": [image]}),
                callback,
            ),
        ),
        (
            "grok-imagine/text-to-video",
            job(
                "grok-imagine/text-to-video",
                json!({
            "prompt": "a cat", "aspect_ratio": "9:16", "mode": "normal",
            "resolution": "480p", "duration": 6}),
                callback,
            ),
        ),
        (
            "grok-imagine/image-to-video",
            job(
                "grok-imagine/image-to-video",
                json!({
            "image_urls": [image], "prompt": "a cat", "mode": "fun",
            "resolution": "480p", "duration": 6}),
                callback,
            ),
        ),
    ]
}

/// An image the simulator can serve back, uploaded the way reelgate uploads customers' images.
async fn uploaded_image(kie: &KieClient) -> Outcome<String> {
    let file = kie
        .upload_file(
            b"\x89PNG\r\n\x1a\n".to_vec(),
            "first-frame.png",
            "image/png",
            "images/tests",
        )
        .await?;
    anyhow::ensure!(file.mime_type == "image/png", "{file:?}");
    Ok(file.download_url)
}

#[tokio::test]
async fn every_variant_succeeds_with_a_video_and_a_matching_callback() -> Outcome {
    let h = Harness::start(SimConfig::for_tests()).await?;
    let image = uploaded_image(&h.kie).await?;
    for (name, variant) in all_variants(&image, &h.callback_url) {
        let id = variant
            .create(&h.kie)
            .await
            .map_err(|e| anyhow::anyhow!("{name}: {e}"))?;
        let status = h.finished(&variant, &id).await?;
        assert_eq!(status.task_id, id, "{name}");
        let TaskState::Succeeded { videos, .. } = &status.state else {
            anyhow::bail!("{name} did not succeed: {status:?}");
        };
        let video = reqwest::get(&videos[0]).await?;
        assert_eq!(video.status(), 200, "{name}: {}", videos[0]);
        assert!(!video.bytes().await?.is_empty(), "{name}");
        assert!(
            status.created_at_ms.is_some() && status.completed_at_ms.is_some(),
            "{name}"
        );

        let callback = h.callback_for(&id).await?;
        assert_eq!(
            callback.hint, status.state,
            "{name}: callback and status agree"
        );
    }
    let models: Vec<String> = h.sim.sim.tasks().into_iter().map(|t| t.model).collect();
    assert_eq!(models.len(), 10);
    assert!(
        models.iter().any(|m| m == "veo3_fast"),
        "Veo fast goes out as veo3_fast: {models:?}"
    );
    Ok(())
}

#[tokio::test]
async fn every_variant_reports_failure_in_status_and_callback() -> Outcome {
    let h = Harness::with_faults(Faults {
        failure_ratio: 1.0,
        ..Faults::default()
    })
    .await?;
    let image = uploaded_image(&h.kie).await?;
    for (name, variant) in all_variants(&image, &h.callback_url) {
        let id = variant
            .create(&h.kie)
            .await
            .map_err(|e| anyhow::anyhow!("{name}: {e}"))?;
        let status = h.finished(&variant, &id).await?;
        let TaskState::Failed { code, message } = &status.state else {
            anyhow::bail!("{name} did not fail: {status:?}");
        };
        assert!(
            !code.is_empty() && !message.is_empty(),
            "{name}: {status:?}"
        );
        let callback = h.callback_for(&id).await?;
        let TaskState::Failed { code: cb_code, .. } = &callback.hint else {
            anyhow::bail!("{name}: the callback does not say failed: {callback:?}");
        };
        assert_eq!(
            cb_code, code,
            "{name}: callback and status agree on the code"
        );
    }
    Ok(())
}

#[tokio::test]
async fn the_older_status_path_and_ratio_spelling_work_too() -> Outcome {
    let h = Harness::start(SimConfig::for_tests()).await?;
    let kie = KieClient::new(KieConfig {
        status_path: JobsStatusPath::GetTaskDetails,
        ..client_config(&h.sim, "sim-test-key")?
    })?;
    let kling = job(
        "kling-2.6/text-to-video",
        json!({
        "prompt": "a fox", "sound": false, "aspect_ratio": "9:16", "duration": "5"}),
        &h.callback_url,
    );
    let id = kling.create(&kie).await?;
    assert!(matches!(
        kie.task_status(&id).await?.state,
        TaskState::Succeeded { .. }
    ));

    let Variant::Veo(mut request) = veo(VeoModel::Veo3, None, &h.callback_url) else {
        unreachable!("veo() builds a Veo request")
    };
    request.aspect_ratio_field = AspectRatioField::Camel;
    let id = kie.create_veo(&request).await?;
    assert!(matches!(
        kie.veo_status(&id).await?.state,
        TaskState::Succeeded { .. }
    ));
    let sent = h
        .sim
        .sim
        .tasks()
        .into_iter()
        .find(|t| t.task_id == id.as_str());
    assert_eq!(
        sent.map(|t| t.request["aspectRatio"].clone()),
        Some(json!("16:9"))
    );
    Ok(())
}

#[tokio::test]
async fn a_finished_16_9_veo_video_has_a_1080p_version() -> Outcome {
    let h = Harness::start(SimConfig::for_tests()).await?;
    let variant = veo(VeoModel::Veo3, None, &h.callback_url);
    let id = variant.create(&h.kie).await?;
    h.finished(&variant, &id).await?;
    let url = h.kie.veo_1080p(&id, 0).await?;
    assert!(url.starts_with("http"), "{url}");
    Ok(())
}

#[tokio::test]
async fn a_1080p_version_still_processing_is_a_422_to_retry_later() -> Outcome {
    let h = Harness::start(SimConfig {
        hd_delay: Duration::from_secs(600),
        ..SimConfig::for_tests()
    })
    .await?;
    let variant = veo(VeoModel::Veo3, None, &h.callback_url);
    let id = variant.create(&h.kie).await?;
    h.finished(&variant, &id).await?;
    let err = h.kie.veo_1080p(&id, 0).await.unwrap_err();
    assert!(
        matches!(err, KieError::InvalidRequest { code: 422, .. }),
        "{err:?}"
    );
    Ok(())
}

#[tokio::test]
async fn the_balance_is_the_simulated_accounts() -> Outcome {
    let h = Harness::start(SimConfig::for_tests()).await?;
    h.sim.sim.set_balance(Decimal::new(12345, 1));
    assert_eq!(h.kie.credit_balance().await?, Decimal::new(12345, 1));
    Ok(())
}

#[tokio::test]
async fn server_errors_are_server_and_create_nothing() -> Outcome {
    let h = Harness::with_faults(Faults {
        server_error_ratio: 1.0,
        ..Faults::default()
    })
    .await?;
    let variant = veo(VeoModel::Veo3Fast, None, &h.callback_url);
    let err = variant.create(&h.kie).await.unwrap_err();
    assert!(matches!(err, KieError::Server { code: 500, .. }), "{err:?}");
    assert!(!err.may_have_created_task());
    assert!(h.sim.sim.tasks().is_empty());
    let err = h.kie.credit_balance().await.unwrap_err();
    assert!(matches!(err, KieError::Server { .. }), "{err:?}");

    let requests = h.sim.sim.stats().requests;
    assert_eq!(
        requests["POST /api/v1/veo/generate"], 1,
        "a create is never re-sent"
    );
    assert_eq!(
        requests["GET /api/v1/chat/credit"], 3,
        "a read is retried twice"
    );
    Ok(())
}

#[tokio::test]
async fn creates_past_the_rate_limit_are_rate_limited() -> Outcome {
    let config = SimConfig {
        rate_limit: Some(RateLimit {
            requests: 1,
            per: Duration::from_secs(60),
        }),
        ..SimConfig::for_tests()
    };
    let h = Harness::start(config).await?;
    let variant = veo(VeoModel::Veo3Fast, None, &h.callback_url);
    variant.create(&h.kie).await?;
    let err = variant.create(&h.kie).await.unwrap_err();
    assert!(matches!(err, KieError::RateLimited { .. }), "{err:?}");
    assert_eq!(h.sim.sim.tasks().len(), 1);
    Ok(())
}

#[tokio::test]
async fn an_empty_kie_account_is_insufficient_credits() -> Outcome {
    let h = Harness::start(SimConfig::for_tests()).await?;
    h.sim.sim.set_balance(Decimal::ZERO);
    let variant = veo(VeoModel::Veo3, None, &h.callback_url);
    let err = variant.create(&h.kie).await.unwrap_err();
    assert!(
        matches!(err, KieError::InsufficientCredits { .. }),
        "{err:?}"
    );
    assert!(err.needs_operator());
    Ok(())
}

#[tokio::test]
async fn a_create_slower_than_the_client_is_outcome_unknown_yet_created() -> Outcome {
    let faults = Faults {
        latency: Duration::from_millis(1500),
        ..Faults::default()
    };
    let h = Harness::with_faults(faults).await?;
    let kie = KieClient::new(KieConfig {
        request_timeout: Duration::from_millis(300),
        ..client_config(&h.sim, "sim-test-key")?
    })?;
    let variant = veo(VeoModel::Veo3Fast, None, &h.callback_url);
    let err = variant.create(&kie).await.unwrap_err();
    assert!(matches!(err, KieError::OutcomeUnknown { .. }), "{err:?}");
    assert_eq!(
        h.sim.sim.tasks().len(),
        1,
        "the task exists although the client gave up"
    );
    Ok(())
}

#[tokio::test]
async fn malformed_answers_are_undecodable() -> Outcome {
    let h = Harness::with_faults(Faults {
        malformed_ratio: 1.0,
        ..Faults::default()
    })
    .await?;
    let err = h.kie.credit_balance().await.unwrap_err();
    assert!(matches!(err, KieError::Undecodable { .. }), "{err:?}");
    let variant = veo(VeoModel::Veo3Fast, None, &h.callback_url);
    let err = variant.create(&h.kie).await.unwrap_err();
    assert!(matches!(err, KieError::Undecodable { .. }), "{err:?}");
    assert!(err.may_have_created_task());
    Ok(())
}

#[tokio::test]
async fn a_missing_key_is_unauthorized() -> Outcome {
    let h = Harness::start(SimConfig::for_tests()).await?;
    let kie = KieClient::new(client_config(&h.sim, "")?)?;
    let err = kie.credit_balance().await.unwrap_err();
    assert!(matches!(err, KieError::Unauthorized { .. }), "{err:?}");
    let variant = veo(VeoModel::Veo3Fast, None, &h.callback_url);
    let err = variant.create(&kie).await.unwrap_err();
    assert!(matches!(err, KieError::Unauthorized { .. }), "{err:?}");
    assert!(h.sim.sim.tasks().is_empty());
    Ok(())
}

#[tokio::test]
async fn an_unknown_task_is_not_found() -> Outcome {
    let h = Harness::start(SimConfig::for_tests()).await?;
    let err = h
        .kie
        .task_status(&TaskId::from("task_never_made"))
        .await
        .unwrap_err();
    assert!(matches!(err, KieError::NotFound { .. }), "{err:?}");
    let err = h
        .kie
        .veo_status(&TaskId::from("veo_never_made"))
        .await
        .unwrap_err();
    assert!(matches!(err, KieError::NotFound { .. }), "{err:?}");
    Ok(())
}
