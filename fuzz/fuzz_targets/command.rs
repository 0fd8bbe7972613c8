//! `/command` building on any JSON body: a command line or a clear error, never a panic, and
//! a line that is built passes the module's own line check.
#![no_main]

use alignak_module_ws::command::{validate, CommandRequest};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|bytes: &[u8]| {
    let Ok(body) = serde_json::from_slice::<serde_json::Value>(bytes) else {
        return;
    };
    if let Ok(request) = CommandRequest::from_json(&body) {
        if let Ok(line) = request.line() {
            assert!(validate(&line).is_ok(), "{line:?}");
        }
    }
});
