//! The object-file parser on any file content: an error or objects, never a panic.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|bytes: &[u8]| {
    let Ok(dir) = tempfile::tempdir() else { return };
    let main = dir.path().join("main.cfg");
    if std::fs::write(&main, bytes).is_err() {
        return;
    }
    let _ = alignak_objects::read(&main);
});
