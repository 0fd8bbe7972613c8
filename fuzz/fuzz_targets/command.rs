//! `/command` building on any JSON body: a command line or a clear error, never a panic; a
//! line that is built holds no line break and no control character (nothing could start a
//! second command), and the table check (which the handler runs next) never panics on it.
#![no_main]

use alignak_module_ws::command::{validate, CommandRequest};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|bytes: &[u8]| {
    let Ok(body) = serde_json::from_slice::<serde_json::Value>(bytes) else {
        return;
    };
    if let Ok(request) = CommandRequest::from_json(&body) {
        if let Ok(line) = request.line() {
            assert!(!line.chars().any(|c| c.is_ascii_control()), "{line:?}");
            let _ = validate(&line);
        }
    }
});
