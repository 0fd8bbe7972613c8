//! Making one segment file consistent at start-up: its valid records are kept, damage in the
//! middle is reported with the sequence numbers it cost and skipped, a torn tail is cut, and a
//! segment of the previous format is rewritten in the current one. A segment that needs more
//! than a cut is rewritten whole (a new file renamed over it), after a copy of the damaged
//! file is kept beside it for whoever wants to look.

use std::fs::{self, File, OpenOptions};
use std::io::Write;
use std::os::unix::fs::OpenOptionsExt;
use std::path::Path;

use super::scan::{format_of, scan, Format, SegmentScan};
use super::{io_error, sync_dir, SpoolError, FILE_MODE};

pub fn recover_segment(
    path: &Path,
    first_seq: u64,
    cursor: u64,
    last_segment: bool,
) -> Result<SegmentScan, SpoolError> {
    let bytes = fs::read(path).map_err(io_error(path))?;
    let format = format_of(&bytes);
    let scan = scan(&bytes, first_seq, format);
    let name = path.display();
    for damage in &scan.damaged {
        let bytes = damage.end - damage.start;
        match damage.lost(first_seq) {
            Some((from, to)) => {
                let pending = (from.max(cursor)..=to).count();
                log::error!(
                    "{name}: {} at byte {}: {bytes} damaged byte(s) skipped; record(s) {from} to {to} lost ({} of them not delivered yet); the records after them are kept",
                    damage.why, damage.start, pending
                );
            }
            None => log::error!(
                "{name}: {} at byte {}: {bytes} damaged byte(s) skipped; no record lost",
                damage.why,
                damage.start
            ),
        }
    }
    if let Some(torn) = &scan.torn_tail {
        let after = torn.after.map_or("at its start".to_string(), |seq| {
            format!("after record {seq}")
        });
        if last_segment {
            // A crash in the middle of an append: that append was never answered OK.
            log::warn!(
                "{name}: {} {after}: cutting {} byte(s) of a torn write",
                torn.why,
                torn.end - torn.start
            );
        } else {
            log::error!(
                "{name}: {} {after}: cutting {} damaged byte(s) at the end of a segment; the records in them are lost, later segments are kept",
                torn.why,
                torn.end - torn.start
            );
        }
    }
    if format == Format::V1 && !scan.records.is_empty() {
        log::info!(
            "{name}: {} record(s) of the previous spool format rewritten in the current one",
            scan.records.len()
        );
    }
    if format == Format::V1 || !scan.damaged.is_empty() {
        if !scan.damaged.is_empty() {
            let copy = path.with_extension(format!("log.damaged-{}", super::now() as u64));
            fs::copy(path, &copy).map_err(io_error(&copy))?;
            log::error!("{name}: the damaged file is kept as {}", copy.display());
        }
        rewrite(path, &scan)?;
    } else if let Some(torn) = &scan.torn_tail {
        let file = OpenOptions::new()
            .write(true)
            .open(path)
            .map_err(io_error(path))?;
        file.set_len(torn.start as u64).map_err(io_error(path))?;
        file.sync_all().map_err(io_error(path))?;
    }
    Ok(scan)
}

/// Replaces the segment by its valid records, atomically (a crash leaves the old or the new).
fn rewrite(path: &Path, scan: &SegmentScan) -> Result<(), SpoolError> {
    let mut bytes = Vec::new();
    for record in &scan.records {
        record.encode_into(&mut bytes);
    }
    let temporary = path.with_extension("log.tmp");
    let mut file: File = OpenOptions::new()
        .create(true)
        .write(true)
        .truncate(true)
        .mode(FILE_MODE)
        .open(&temporary)
        .map_err(io_error(&temporary))?;
    file.write_all(&bytes)
        .and_then(|()| file.sync_all())
        .map_err(io_error(&temporary))?;
    fs::rename(&temporary, path).map_err(io_error(path))?;
    let dir = path.parent().unwrap_or(Path::new("."));
    sync_dir(dir).map_err(io_error(dir))
}
