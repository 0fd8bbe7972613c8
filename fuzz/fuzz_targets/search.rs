//! The `/alignak_logs` search syntax on any text.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|text: &str| {
    let _ = alignak_module_ws::search::decode(text, 1000);
});
