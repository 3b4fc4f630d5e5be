//! Keeping the videos: copied into reelgate's storage after success, served from there with
//! byte ranges to their owner or through signed links, playable after Kie forgot them,
//! deletable by their owner.

use crate::helpers::{json, wait_until, TestApp};
use reelgate::config::Settings;
use reelgate::media::{Asset, MediaLinks};
use reelgate_domain::accounts::ApiKey;
use secrecy::SecretString;
use serde_json::{json, Value};
use std::time::Duration;

const SECRET: &str = "a-test-secret-of-more-than-thirty-two-chars";

fn kling() -> Value {
    json!({"model": "kling-2.6/text-to-video", "prompt": "a fox"})
}

/// Generates, and waits until every video is served by reelgate.
async fn stored_generation(app: &TestApp, key: &ApiKey, body: Value) -> Value {
    let (status, created) = app.submit(key, body).await;
    assert_eq!(status, 202, "{created}");
    let id = created["id"].as_str().unwrap().to_owned();
    assert_eq!(app.settled(key, &id).await["status"], "succeeded");
    let path = format!("/v1/generations/{id}");
    let mut generation = Value::Null;
    wait_until("the videos to be copied", async || {
        generation = json(app.get_as(key, &path).await).await.1;
        let videos = generation["videos"].as_array().unwrap();
        !videos.is_empty()
            && videos
                .iter()
                .all(|v| v["url"].as_str().unwrap().starts_with(&app.address))
    })
    .await;
    generation
}

fn ffmpeg_installed() -> bool {
    std::process::Command::new("ffmpeg")
        .arg("-version")
        .output()
        .is_ok_and(|o| o.status.success())
}

async fn fetch(
    app: &TestApp,
    url: &str,
    key: Option<&ApiKey>,
    range: Option<&str>,
) -> reqwest::Response {
    let mut request = app.client.get(url);
    if let Some(key) = key {
        request = request.bearer_auth(key.expose());
    }
    if let Some(range) = range {
        request = request.header("range", range);
    }
    request.send().await.unwrap()
}

/// The URL without its signature: the path the owner's credentials open.
fn unsigned(url: &str) -> String {
    url.split('?').next().unwrap().to_owned()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn videos_stay_playable_from_reelgate_after_kie_forgets_them() {
    let app = TestApp::spawn().await;
    let (_, ada) = app.customer("ada", 1000).await;
    let generation = stored_generation(
        &app,
        &ada,
        json!({"model": "veo3-fast", "prompt": "a fox", "resolution": "1080p"}),
    )
    .await;
    let videos = generation["videos"].as_array().unwrap();
    assert_eq!(videos.len(), 2, "720p and 1080p: {generation}");
    assert_eq!(videos[1]["resolution"], "1080p");
    assert!(videos[0]["expires_at"].is_string());
    // The generation's record keeps Kie's own URLs.
    let id = generation["id"].as_str().unwrap().parse().unwrap();
    let record = app.store.generation(&id).await.unwrap().unwrap();
    let kie_urls: Vec<String> = record.videos.iter().map(|v| v.url.clone()).collect();
    assert!(kie_urls[0].contains("/results/"), "{kie_urls:?}");
    let from_kie = fetch(&app, &kie_urls[0], None, None)
        .await
        .bytes()
        .await
        .unwrap();

    app.sim.forget_files();
    assert_eq!(
        fetch(&app, &kie_urls[0], None, None).await.status(),
        404,
        "Kie forgot it"
    );
    // Signed links play without credentials, as a <video src> would.
    let ours = fetch(&app, videos[0]["url"].as_str().unwrap(), None, None).await;
    assert_eq!(ours.status(), 200);
    assert_eq!(ours.headers()["content-type"], "video/mp4");
    assert_eq!(ours.headers()["accept-ranges"], "bytes");
    assert_eq!(ours.bytes().await.unwrap(), from_kie, "the very same file");
    let hd = fetch(&app, videos[1]["url"].as_str().unwrap(), None, None).await;
    assert_eq!(hd.status(), 200);
    assert_ne!(
        hd.bytes().await.unwrap(),
        from_kie,
        "the 1080p file is its own"
    );
    // The owner's API key opens the same path without a signature.
    let owned = fetch(
        &app,
        &unsigned(videos[0]["url"].as_str().unwrap()),
        Some(&ada),
        None,
    )
    .await;
    assert_eq!(owned.status(), 200);

    if ffmpeg_installed() {
        let poster_url = generation["thumbnail_url"]
            .as_str()
            .expect("a poster with ffmpeg");
        assert_eq!(videos[0]["thumbnail_url"], generation["thumbnail_url"]);
        let poster = fetch(&app, poster_url, None, None).await;
        assert_eq!(poster.status(), 200);
        assert_eq!(poster.headers()["content-type"], "image/jpeg");
        assert_eq!(&poster.bytes().await.unwrap()[..2], &[0xFF, 0xD8], "a JPEG");
    } else {
        assert!(generation["thumbnail_url"].is_null());
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn range_requests_return_the_bytes_asked_for() {
    let app = TestApp::spawn().await;
    let (_, ada) = app.customer("ada", 1000).await;
    let generation = stored_generation(&app, &ada, kling()).await;
    let url = generation["videos"][0]["url"].as_str().unwrap().to_owned();
    let whole = fetch(&app, &url, None, None).await.bytes().await.unwrap();
    let len = whole.len();
    assert!(len > 1000);

    let part = fetch(&app, &url, None, Some("bytes=100-199")).await;
    assert_eq!(part.status(), 206);
    assert_eq!(
        part.headers()["content-range"],
        format!("bytes 100-199/{len}").as_str()
    );
    assert_eq!(part.headers()["content-length"], "100");
    assert_eq!(part.bytes().await.unwrap(), whole.slice(100..200));

    let tail = fetch(&app, &url, None, Some("bytes=-10")).await;
    assert_eq!(tail.status(), 206);
    assert_eq!(
        tail.headers()["content-range"],
        format!("bytes {}-{}/{len}", len - 10, len - 1).as_str()
    );
    assert_eq!(tail.bytes().await.unwrap(), whole.slice(len - 10..));

    let open = fetch(&app, &url, None, Some(&format!("bytes={}-", len - 5))).await;
    assert_eq!(open.status(), 206);
    assert_eq!(open.bytes().await.unwrap(), whole.slice(len - 5..));

    for unsatisfiable in [format!("bytes={len}-"), "bytes=-0".to_owned()] {
        let beyond = fetch(&app, &url, None, Some(&unsatisfiable)).await;
        assert_eq!(beyond.status(), 416, "{unsatisfiable}");
        assert_eq!(
            beyond.headers()["content-range"],
            format!("bytes */{len}").as_str()
        );
        let (_, envelope) = json(beyond).await;
        assert_eq!(
            envelope["error"]["code"], "range_not_satisfiable",
            "{unsatisfiable}: {envelope}"
        );
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_customer_cannot_fetch_or_delete_anothers_video() {
    let app = TestApp::spawn().await;
    let (_, ada) = app.customer("ada", 1000).await;
    let (_, bob) = app.customer("bob", 1000).await;
    let generation = stored_generation(&app, &ada, kling()).await;
    let path = unsigned(generation["videos"][0]["url"].as_str().unwrap());
    assert_eq!(fetch(&app, &path, Some(&ada), None).await.status(), 200);
    let (status, body) = json(fetch(&app, &path, Some(&bob), None).await).await;
    assert_eq!(status, 404, "{body}");
    assert_eq!(fetch(&app, &path, None, None).await.status(), 401);
    assert_eq!(
        fetch(&app, &format!("{path}/thumbnail"), Some(&bob), None)
            .await
            .status(),
        404
    );
    let id = generation["id"].as_str().unwrap();
    let delete = app
        .delete_as(&bob, &format!("/v1/generations/{id}/videos"))
        .await;
    assert_eq!(delete.status(), 404);
    assert_eq!(fetch(&app, &path, Some(&ada), None).await.status(), 200);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn expired_or_forged_signed_links_are_refused() {
    let app = TestApp::spawn_with(Settings::default().with("REELGATE_SECRET", SECRET)).await;
    let (_, ada) = app.customer("ada", 1000).await;
    let generation = stored_generation(&app, &ada, kling()).await;
    let id = generation["id"].as_str().unwrap().parse().unwrap();
    let links = MediaLinks::new(
        SecretString::from(SECRET.to_owned()),
        app.address.parse().unwrap(),
        Duration::from_secs(60),
    );
    let two_hours_ago = chrono::Utc::now() - chrono::Duration::hours(2);
    let (expired, _) = links.signed(&id, 0, Asset::Video, two_hours_ago);
    let (status, body) = json(fetch(&app, &expired, None, None).await).await;
    assert_eq!(status, 410, "{body}");
    assert_eq!(body["error"]["code"], "link_expired");
    // Even the owner's key does not rescue an expired link: the link is judged alone.
    assert_eq!(fetch(&app, &expired, Some(&ada), None).await.status(), 410);

    let (fresh, _) = links.signed(&id, 0, Asset::Video, chrono::Utc::now());
    assert_eq!(fetch(&app, &fresh, None, None).await.status(), 200);
    let forged = format!("{}0000", &fresh[..fresh.len() - 4]);
    assert_eq!(fetch(&app, &forged, None, None).await.status(), 403);
    // A video link does not open the poster, nor another index.
    let poster = fresh.replace("/videos/0?", "/videos/0/thumbnail?");
    assert_eq!(fetch(&app, &poster, None, None).await.status(), 403);
    let other = fresh.replace("/videos/0?", "/videos/1?");
    assert_eq!(fetch(&app, &other, None, None).await.status(), 404);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_owner_deletes_a_video_and_its_file_goes() {
    let app = TestApp::spawn().await;
    let (_, ada) = app.customer("ada", 1000).await;
    let generation = stored_generation(&app, &ada, kling()).await;
    let id = generation["id"].as_str().unwrap();
    let url = generation["videos"][0]["url"].as_str().unwrap().to_owned();
    let stored = app.media_dir().join("videos").join(id).join("0.mp4");
    assert!(stored.exists(), "{}", stored.display());

    let (status, after) = json(
        app.delete_as(&ada, &format!("/v1/generations/{id}/videos"))
            .await,
    )
    .await;
    assert_eq!(status, 200, "{after}");
    assert_eq!(after["videos"], json!([]));
    assert_eq!(after["videos_deleted"], true);
    assert_eq!(after["status"], "succeeded");
    assert_eq!(fetch(&app, &url, None, None).await.status(), 404);
    assert_eq!(
        fetch(&app, &unsigned(&url), Some(&ada), None)
            .await
            .status(),
        404
    );
    wait_until("the stored file to be removed", async || !stored.exists()).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_copy_that_fails_is_retried_visibly_and_never_fails_the_generation() {
    // Tasks take a moment, so Kie's file is deleted well before the video is ready.
    let app = TestApp::spawn_with_sim(
        Settings::default(),
        kie_sim::SimConfig {
            durations: kie_sim::Durations::uniform(Duration::from_millis(300)),
            ..kie_sim::SimConfig::for_tests()
        },
    )
    .await;
    let (_, admin) = app.admin().await;
    let (_, ada) = app.customer("ada", 1000).await;
    let (_, created) = app.submit(&ada, kling()).await;
    // Kie deletes the file before reelgate could copy it.
    wait_until("the task at Kie", async || !app.sim.tasks().is_empty()).await;
    app.sim.forget_files();
    let id = created["id"].as_str().unwrap();
    let done = app.settled(&ada, id).await;
    assert_eq!(done["status"], "succeeded");
    let mut overview = Value::Null;
    wait_until("the failing copy to be listed", async || {
        overview = json(app.get_as(&admin, "/v1/admin/media").await).await.1;
        !overview["retrying"].as_array().unwrap().is_empty()
    })
    .await;
    let copy = &overview["retrying"][0];
    assert_eq!(copy["generation_id"], id);
    assert_eq!(copy["state"], "pending");
    assert!(
        copy["last_error"].as_str().unwrap().contains("404"),
        "{copy}"
    );
    assert!(overview["storage"]
        .as_str()
        .unwrap()
        .starts_with("local directory"));
    let (_, still) = json(app.get_as(&ada, &format!("/v1/generations/{id}")).await).await;
    assert_eq!(still["status"], "succeeded");
    assert!(
        still["videos"][0]["url"]
            .as_str()
            .unwrap()
            .contains("/results/"),
        "Kie's URL until copied: {still}"
    );
}

/// moto's S3-compatible server, stopped when dropped.
struct LocalS3 {
    child: std::process::Child,
    endpoint: String,
}

impl Drop for LocalS3 {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Starts the repository venv's `moto_server` (PyPI `moto[server]`) on a free port.
async fn local_s3() -> LocalS3 {
    let moto = reelgate_store::testing::python_tool("moto_server");
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|listener| listener.local_addr())
        .expect("a free port")
        .port();
    let child = std::process::Command::new(&moto)
        .args(["-H", "127.0.0.1", "-p", &port.to_string()])
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .spawn()
        .unwrap_or_else(|e| panic!("cannot run {}: {e}", moto.display()));
    let s3 = LocalS3 {
        child,
        endpoint: format!("http://127.0.0.1:{port}"),
    };
    let client = reqwest::Client::new();
    // Seconds to start on a loaded machine; then it is broken, not slow.
    for _ in 0..600 {
        if client.get(&s3.endpoint).send().await.is_ok() {
            return s3;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    panic!("moto_server did not start on port {port}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn videos_are_kept_in_s3_compatible_storage() {
    let s3 = local_s3().await;
    let bucket = format!("{}/reelgate-videos", s3.endpoint);
    let created = reqwest::Client::new().put(&bucket).send().await.unwrap();
    assert!(created.status().is_success(), "{}", created.status());
    let app = TestApp::spawn_with(
        Settings::default()
            .with("REELGATE_MEDIA_S3_BUCKET", "reelgate-videos")
            .with("REELGATE_MEDIA_S3_ENDPOINT", &s3.endpoint)
            .with("REELGATE_MEDIA_S3_ACCESS_KEY_ID", "testing")
            .with("REELGATE_MEDIA_S3_SECRET_ACCESS_KEY", "testing")
            .with("REELGATE_MEDIA_S3_PREFIX", "prod"),
    )
    .await;
    let (_, ada) = app.customer("ada", 1000).await;
    let generation = stored_generation(&app, &ada, kling()).await;
    let id = generation["id"].as_str().unwrap();
    app.sim.forget_files();
    let url = generation["videos"][0]["url"].as_str().unwrap();
    let whole = fetch(&app, url, None, None).await;
    assert_eq!(whole.status(), 200);
    let whole = whole.bytes().await.unwrap();
    assert_eq!(&whole[4..8], b"ftyp");
    let part = fetch(&app, url, None, Some("bytes=8-15")).await;
    assert_eq!(part.status(), 206);
    assert_eq!(part.bytes().await.unwrap(), whole.slice(8..16));
    assert!(
        !app.media_dir().join("videos").exists(),
        "nothing kept locally"
    );
    let listing = reqwest::get(format!("{bucket}?list-type=2&prefix=prod/videos/{id}/"))
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(
        listing.contains(&format!("prod/videos/{id}/0.mp4")),
        "{listing}"
    );

    let (_, admin) = app.admin().await;
    let (_, overview) = json(app.get_as(&admin, "/v1/admin/media").await).await;
    assert!(
        overview["storage"]
            .as_str()
            .unwrap()
            .starts_with("S3 bucket reelgate-videos"),
        "{overview}"
    );
    assert!(
        !overview.to_string().contains("testing\""),
        "no credentials: {overview}"
    );
    app.delete_as(&ada, &format!("/v1/generations/{id}/videos"))
        .await;
    wait_until("the object to be removed from the bucket", async || {
        let listing = reqwest::get(format!(
            "{bucket}?list-type=2&prefix=prod/videos/{id}/0.mp4"
        ))
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
        !listing.contains("0.mp4</Key>")
    })
    .await;
}
