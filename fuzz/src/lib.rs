//! The daemon's spool decoder, compiled here from its own source: the daemon is a binary
//! crate, so the fuzz targets cannot link it as a library. (`scan.rs` finds `record` as its
//! sibling, `super::record`, here as in the daemon.)

#[allow(dead_code)]
#[path = "../../host-shim/src/spool/record.rs"]
pub mod record;
#[allow(dead_code)]
#[path = "../../host-shim/src/spool/scan.rs"]
pub mod scan;
