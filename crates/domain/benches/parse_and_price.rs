//! Parsing and pricing a generation request (`Catalog::parse`): what every `POST
//! /v1/generations` and `POST /v1/quote` does before touching the database. Target: ≤ 5 µs.
//!
//! `cargo bench -p reelgate-domain --bench parse_and_price`

use criterion::{black_box, criterion_group, criterion_main, Criterion};
use reelgate_domain::catalog::Catalog;
use serde_json::{json, Map, Value};

fn body(value: Value) -> Map<String, Value> {
    match value {
        Value::Object(map) => map,
        _ => unreachable!("the bodies below are objects"),
    }
}

fn parse_and_price(c: &mut Criterion) {
    let catalog = Catalog::builtin().expect("the built-in catalog loads");
    let requests = [
        (
            "kling text-to-video",
            body(
                json!({"model": "kling-2.6/text-to-video", "prompt": "a red fox running through snow",
                        "aspect_ratio": "16:9", "duration": 5, "sound": false}),
            ),
        ),
        (
            "veo3 fast, defaults",
            body(json!({"model": "veo3-fast", "prompt": "a lighthouse in a storm at night"})),
        ),
        (
            "sora pro image-to-video",
            body(
                json!({"model": "sora-2-pro-image-to-video", "prompt": "the cat looks up",
                        "image_urls": ["https://cdn.example.com/cat.png"], "duration": 10}),
            ),
        ),
    ];
    let mut group = c.benchmark_group("catalog_parse");
    for (name, request) in &requests {
        // Fails loudly if the example drifts from the catalog: a benchmark of an error path
        // would measure the wrong thing.
        let parsed = catalog.parse(request);
        assert!(parsed.is_ok(), "{name}: {:?}", parsed.err());
        group.bench_function(*name, |b| {
            b.iter(|| catalog.parse(black_box(request)).map(|r| r.quote().credits))
        });
    }
    group.bench_function("unknown parameter (a 400)", |b| {
        let bad = body(json!({"model": "kling-2.6/text-to-video", "prompt": "x", "colour": "red"}));
        b.iter(|| catalog.parse(black_box(&bad)).is_err())
    });
    group.finish();
}

criterion_group!(benches, parse_and_price);
criterion_main!(benches);
