//! Result videos with byte ranges, the stream upload and its downloads, and file expiry.

mod common;

use common::*;
use reqwest::multipart::{Form, Part};
use serde_json::{json, Value};

async fn finished_video_url(sim: &TestSim) -> String {
    let id = sim
        .create_task(job_body("kling-2.6/text-to-video", None))
        .await;
    job_result_urls(&sim.finished_job(&id).await).remove(0)
}

async fn ranged(sim: &TestSim, url: &str, range: &str) -> reqwest::Response {
    sim.client
        .get(url)
        .header("range", range)
        .send()
        .await
        .unwrap()
}

#[tokio::test]
async fn range_requests_get_206_with_exactly_the_asked_bytes() {
    let sim = TestSim::for_tests().await;
    let url = finished_video_url(&sim).await;
    let len = ASSET_720P.len();

    let whole = sim.download(&url).await;
    assert_eq!(whole.headers()["accept-ranges"], "bytes");
    assert_eq!(whole.bytes().await.unwrap(), ASSET_720P);

    let head = ranged(&sim, &url, "bytes=0-99").await;
    assert_eq!(head.status(), 206);
    assert_eq!(head.headers()["content-range"], format!("bytes 0-99/{len}"));
    assert_eq!(head.headers()["content-type"], "video/mp4");
    assert_eq!(head.bytes().await.unwrap(), &ASSET_720P[..100]);

    let tail = ranged(&sim, &url, "bytes=-10").await;
    assert_eq!(tail.status(), 206);
    assert_eq!(tail.bytes().await.unwrap(), &ASSET_720P[len - 10..]);

    let open = ranged(&sim, &url, "bytes=1000-").await;
    assert_eq!(open.headers()["content-length"], (len - 1000).to_string());
    assert_eq!(open.bytes().await.unwrap(), &ASSET_720P[1000..]);

    let past = ranged(&sim, &url, &format!("bytes={len}-")).await;
    assert_eq!(past.status(), 416);
    assert_eq!(past.headers()["content-range"], format!("bytes */{len}"));
}

async fn upload(sim: &TestSim, form: Form) -> Value {
    sim.client
        .post(sim.url("/api/file-stream-upload"))
        .bearer_auth(KEY)
        .multipart(form)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap()
}

fn png_part() -> Part {
    let bytes: Vec<u8> = (0..=255u8).cycle().take(3000).collect();
    Part::bytes(bytes)
        .file_name("first frame.png")
        .mime_str("image/png")
        .unwrap()
}

#[tokio::test]
async fn an_upload_downloads_back_byte_for_byte() {
    let sim = TestSim::for_tests().await;
    let form = Form::new()
        .part("file", png_part())
        .text("uploadPath", "images/user-uploads")
        .text("fileName", "frame 1.png");
    let answer = upload(&sim, form).await;
    assert_eq!(answer["success"], true, "{answer}");
    assert_eq!(answer["code"], 200);
    assert_eq!(answer["msg"], "File uploaded successfully");
    let data = &answer["data"];
    assert_eq!(data["fileName"], "frame 1.png");
    assert_eq!(data["filePath"], "images/user-uploads/frame 1.png");
    assert_eq!(data["fileSize"], 3000);
    assert_eq!(data["mimeType"], "image/png");
    assert!(data["uploadedAt"].as_str().unwrap().ends_with('Z'));
    let url = data["downloadUrl"].as_str().unwrap();
    assert_eq!(
        url,
        format!(
            "{}/files/images/user-uploads/frame%201.png",
            sim.running.base_url
        )
    );
    let got = sim.download(url).await;
    assert_eq!(got.headers()["content-type"], "image/png");
    let expected: Vec<u8> = (0..=255u8).cycle().take(3000).collect();
    assert_eq!(got.bytes().await.unwrap(), expected);
    let part = ranged(&sim, url, "bytes=256-511").await;
    assert_eq!(part.status(), 206);
    assert_eq!(part.bytes().await.unwrap(), &expected[256..512]);
}

#[tokio::test]
async fn an_upload_without_a_name_gets_one_keeping_its_extension() {
    let sim = TestSim::for_tests().await;
    let form = Form::new()
        .part("file", png_part())
        .text("uploadPath", "images");
    let data = upload(&sim, form).await["data"].clone();
    let name = data["fileName"].as_str().unwrap();
    assert!(
        name.ends_with(".png") && name != "first frame.png",
        "{name}"
    );
    let got = sim.download(data["downloadUrl"].as_str().unwrap()).await;
    assert_eq!(got.status(), 200);
}

#[tokio::test]
async fn uploads_are_refused_without_file_path_or_key() {
    let sim = TestSim::for_tests().await;
    let cases = [
        (Form::new().text("uploadPath", "images"), "file"),
        (Form::new().part("file", png_part()), "uploadPath"),
        (
            Form::new()
                .part("file", png_part())
                .text("uploadPath", "/images"),
            "uploadPath",
        ),
        (
            Form::new()
                .part("file", png_part())
                .text("uploadPath", "images/"),
            "uploadPath",
        ),
    ];
    for (form, field) in cases {
        let answer = upload(&sim, form).await;
        assert_eq!(answer["success"], false);
        assert_eq!(answer["code"], 400, "{answer}");
        assert!(answer["msg"].as_str().unwrap().contains(field), "{answer}");
    }
    let anonymous = answer(
        sim.client
            .post(sim.url("/api/file-stream-upload"))
            .multipart(Form::new().part("file", png_part()).text("uploadPath", "x")),
    )
    .await;
    assert_eq!(anonymous["code"], 401);
}

#[tokio::test]
async fn forgotten_files_are_gone_but_task_records_stay() {
    let sim = TestSim::for_tests().await;
    let id = sim.create_veo(json!({"prompt": "p"})).await;
    let url = sim.finished_veo(&id).await["response"]["resultUrls"][0]
        .as_str()
        .unwrap()
        .to_owned();
    let form = Form::new()
        .part("file", png_part())
        .text("uploadPath", "images");
    let upload_url = upload(&sim, form).await["data"]["downloadUrl"]
        .as_str()
        .unwrap()
        .to_owned();
    let forget = sim
        .client
        .post(sim.url("/sim/forget"))
        .send()
        .await
        .unwrap();
    assert_eq!(forget.status(), 204);

    assert_eq!(sim.download(&url).await.status(), 404);
    assert_eq!(sim.download(&upload_url).await.status(), 404);
    assert_eq!(sim.veo_record(&id).await["successFlag"], 1);
    // Tasks created afterwards have their files again.
    let fresh = sim.create_veo(json!({"prompt": "p"})).await;
    let fresh_url = sim.finished_veo(&fresh).await["response"]["resultUrls"][0]
        .as_str()
        .unwrap()
        .to_owned();
    assert_eq!(sim.download(&fresh_url).await.status(), 200);
}
