//! The operator's pricing file, any text at all: no panic.
#![no_main]

use libfuzzer_sys::fuzz_target;
use reelgate_domain::catalog::Catalog;

fuzz_target!(|data: &[u8]| {
    if let Ok(text) = std::str::from_utf8(data) {
        if let Ok(catalog) = Catalog::with_pricing_file(text) {
            let _ = catalog.view();
        }
    }
});
