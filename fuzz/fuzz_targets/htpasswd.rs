//! The htpasswd reader on any file content.
#![no_main]

use alignak_module_ws::auth::htpasswd::UsersFile;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|bytes: &[u8]| {
    // A blank file makes the reader create an admin with a bcrypt hash: a fixed, slow path
    // that says nothing about parsing. (No password is checked either: bcrypt's cost comes
    // from the file, and a fuzzed cost of 31 would only measure bcrypt.)
    if String::from_utf8_lossy(bytes).trim().is_empty() {
        return;
    }
    let Ok(dir) = tempfile::tempdir() else { return };
    let path = dir.path().join("users");
    if std::fs::write(&path, bytes).is_err() {
        return;
    }
    let _ = UsersFile::open_or_create(&path);
});
