//! Every decoder of what Kie (or anyone posing as Kie) sends: no panic, and no error that
//! grows with its input.
#![no_main]

use kie::{answer, Callback};
use libfuzzer_sys::fuzz_target;

const MAX_ERROR: usize = 2048;

fn bounded<T, E: std::fmt::Display>(result: Result<T, E>) {
    if let Err(error) = result {
        assert!(error.to_string().len() <= MAX_ERROR);
    }
}

fuzz_target!(|data: &[u8]| {
    let (status, body) = match data {
        [a, b, rest @ ..] => (u16::from_le_bytes([*a, *b]) % 1000, rest),
        _ => (200, data),
    };
    bounded(answer::created(status, body));
    bounded(answer::veo_status(status, body));
    bounded(answer::jobs_status(status, body));
    bounded(answer::veo_1080p(status, body));
    bounded(answer::credit_balance(status, body));
    bounded(answer::uploaded_file(status, body));
    bounded(Callback::parse(body));
});
