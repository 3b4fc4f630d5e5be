//! Request validation on any JSON object: no panic; what is accepted prices and translates;
//! refusals stay small.
#![no_main]

use libfuzzer_sys::fuzz_target;
use reelgate_domain::catalog::Catalog;
use std::sync::LazyLock;

static CATALOG: LazyLock<Catalog> =
    LazyLock::new(|| Catalog::builtin().expect("the built-in catalog loads"));

fuzz_target!(|data: &[u8]| {
    let Ok(serde_json::Value::Object(body)) = serde_json::from_slice(data) else {
        return;
    };
    match CATALOG.parse(&body) {
        Ok(request) => {
            assert!(request.quote().credits.get() > 0);
            let _ = request
                .to_upstream(Some("https://cb.example/x".into()))
                .to_json();
        }
        Err(errors) => {
            for error in errors.iter() {
                assert!(error.message.len() <= 1024 && error.field.len() <= 128);
            }
        }
    }
});
