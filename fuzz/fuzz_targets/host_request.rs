//! The `/host` request parser on any JSON body, with and without a name in the path.
#![no_main]

use alignak_module_ws::hosts::request::HostRequest;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|bytes: &[u8]| {
    let Ok(body) = serde_json::from_slice::<serde_json::Value>(bytes) else {
        return;
    };
    let _ = HostRequest::parse(&body, None);
    let _ = HostRequest::parse(&body, Some("web01"));
});
