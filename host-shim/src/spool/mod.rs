// Over 400 lines, earned: the spool's one durable state (segments, cursor, counters) and the operations that must keep it consistent, with its crash tests.
//! The durable spool: every command a module pushes is appended here and fsync'd before the
//! push returns, then delivered from here in order; a persisted cursor says how far delivery
//! got. A crash or `kill -9` at any moment loses nothing that was acknowledged: at the next
//! start, delivery resumes from the cursor (at least once: the batch in flight at the crash
//! may be delivered again).
//!
//! On disk, under `spool_dir`: segment files `seg-<first sequence number>.log` of framed
//! records (`record.rs`), and `cursor`, the sequence number of the next record to deliver.
//! Segments wholly before the cursor are removed.
//!
//! Appends are fsync'd: they are the promise. The cursor is rewritten in place after every
//! delivered batch but fsync'd at most once a second: a process crash keeps it (the page cache
//! survives the process), and after a power loss a cursor up to a second old only widens the
//! window of commands delivered twice.

mod record;
mod recover;
mod scan;

use std::collections::VecDeque;
use std::fs::{self, File, OpenOptions};
use std::io::{self, BufReader, Write};
use std::os::unix::fs::{FileExt, OpenOptionsExt, PermissionsExt};
use std::path::{Path, PathBuf};
use std::sync::{Condvar, Mutex, MutexGuard};
use std::time::{Duration, Instant};

use alignak_module_abi::ExternalCommand;

pub use record::Record;
use record::{read_record, Next};
use recover::recover_segment;

/// Spool files hold what clients asked the core to do: the daemon's user only.
const FILE_MODE: u32 = 0o600;

/// A segment is closed and a new one started past this size.
const SEGMENT_SIZE: u64 = 16 * 1024 * 1024;
/// The cursor is fsync'd at most this often (see the module documentation).
const CURSOR_SYNC_PERIOD: Duration = Duration::from_secs(1);

#[derive(Debug, thiserror::Error)]
pub enum SpoolError {
    #[error(
        "the spool is full: {pending} bytes of commands wait for delivery (max_spool_size {max})"
    )]
    Full { pending: u64, max: u64 },
    #[error("the receiver is stopping")]
    Closed,
    /// The spool cannot be read back: what it took now would not be delivered.
    #[error("the spool cannot be read, so no command is taken until it is: {0}")]
    Inconsistent(String),
    #[error("cannot write the spool {path}: {source}")]
    Io {
        path: PathBuf,
        #[source]
        source: io::Error,
    },
}

fn io_error(path: &Path) -> impl FnOnce(io::Error) -> SpoolError + '_ {
    move |source| SpoolError::Io {
        path: path.to_path_buf(),
        source,
    }
}

struct Segment {
    first_seq: u64,
    path: PathBuf,
}

/// The segment being appended to. Its own lock, so that the fsync of an append does not hold
/// up the delivery thread and the status readers, which only need `State`.
struct Writer {
    file: File,
    path: PathBuf,
    len: u64,
    /// A failed write could not be taken back and no new segment could be started.
    broken: bool,
}

struct State {
    /// Segments in order; the last one is the one written to.
    segments: VecDeque<Segment>,
    /// Sequence number the next appended record gets (= records ever appended).
    next_seq: u64,
    /// Sequence number of the next record to deliver (persisted in `cursor`).
    cursor: u64,
    /// Records from `cursor` on (not `next_seq - cursor`: recovery may leave gaps).
    pending: u64,
    /// Bytes of records from `cursor` on.
    pending_bytes: u64,
    /// Why appends are refused: the spool cannot be read back (see `refuse`).
    refusing: Option<String>,
    closed: bool,
    accepted: u64,
    delivered: u64,
    sink_errors: u64,
    /// Creation time of the oldest record not yet delivered, when known.
    oldest_pending: Option<f64>,
    last_delivery: Option<f64>,
}

pub struct Spool {
    dir: PathBuf,
    max_bytes: u64,
    state: Mutex<State>,
    wake: Condvar,
    writer: Mutex<Writer>,
    cursor_file: Mutex<CursorFile>,
}

/// The `cursor` file: one fixed-width decimal number, rewritten in place.
struct CursorFile {
    path: PathBuf,
    file: File,
    last_sync: Instant,
}

impl CursorFile {
    fn open(path: PathBuf) -> io::Result<CursorFile> {
        let file = OpenOptions::new()
            .create(true)
            .truncate(false)
            .read(true)
            .write(true)
            .mode(FILE_MODE)
            .open(&path)?;
        make_private(&path)?;
        Ok(CursorFile {
            path,
            file,
            last_sync: Instant::now(),
        })
    }

    /// Writes `cursor` in place (fixed width, so a rewrite never leaves stale digits), and
    /// fsyncs when `force` or when the last fsync is a period old.
    fn store(&mut self, cursor: u64, force: bool) -> io::Result<()> {
        self.file
            .write_all_at(format!("{cursor:020}\n").as_bytes(), 0)?;
        if force || self.last_sync.elapsed() >= CURSOR_SYNC_PERIOD {
            self.file.sync_data()?;
            self.last_sync = Instant::now();
        }
        Ok(())
    }
}

/// A snapshot, for logs and for the modules.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct SpoolCounters {
    pub accepted: u64,
    pub delivered: u64,
    pub pending: u64,
    pub pending_bytes: u64,
    pub sink_errors: u64,
    pub oldest_pending: Option<f64>,
    pub last_delivery: Option<f64>,
}

fn segment_path(dir: &Path, first_seq: u64) -> PathBuf {
    dir.join(format!("seg-{first_seq:020}.log"))
}

/// Seconds since the Unix epoch, as the spool's times are kept.
pub fn now() -> f64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_secs_f64())
        .unwrap_or(0.0)
}

/// Takes back the group and world bits a previous version left on a spool file.
fn make_private(path: &Path) -> io::Result<()> {
    let mode = fs::metadata(path)?.permissions().mode();
    if mode & 0o077 != 0 {
        fs::set_permissions(path, fs::Permissions::from_mode(mode & !0o077))?;
    }
    Ok(())
}

fn sync_dir(dir: &Path) -> io::Result<()> {
    File::open(dir)?.sync_all()
}

impl Spool {
    /// Opens (or creates) the spool in `dir`: finds the segments, cuts a torn tail, reads the
    /// cursor, and removes what was delivered already.
    pub fn open(dir: &Path, max_bytes: u64) -> Result<Spool, SpoolError> {
        fs::create_dir_all(dir).map_err(io_error(dir))?;
        let mut firsts: Vec<u64> = fs::read_dir(dir)
            .map_err(io_error(dir))?
            .filter_map(|entry| entry.ok())
            .filter_map(|entry| {
                let name = entry.file_name().to_string_lossy().into_owned();
                name.strip_prefix("seg-")?
                    .strip_suffix(".log")?
                    .parse()
                    .ok()
            })
            .collect();
        firsts.sort_unstable();

        let cursor_path = dir.join("cursor");
        let saved_cursor = match fs::read_to_string(&cursor_path) {
            Ok(text) if text.trim().is_empty() => None,
            Ok(text) => match text.trim().parse::<u64>() {
                Ok(cursor) => Some(cursor),
                Err(_) => {
                    // Re-deliver everything kept rather than skip anything.
                    log::error!(
                        "{}: unreadable cursor '{}': delivering the whole spool again",
                        cursor_path.display(),
                        text.trim()
                    );
                    None
                }
            },
            Err(err) if err.kind() == io::ErrorKind::NotFound => None,
            Err(err) => return Err(io_error(&cursor_path)(err)),
        };
        let mut cursor = saved_cursor.unwrap_or_else(|| firsts.first().copied().unwrap_or(0));
        if let Some(&first) = firsts.first() {
            if cursor < first {
                log::error!(
                    "spool {}: records {cursor} to {} are missing (segment files removed by hand?)",
                    dir.display(),
                    first - 1
                );
                cursor = first;
            }
        }

        let mut segments = VecDeque::new();
        let mut next_seq = cursor;
        let mut pending_bytes = 0;
        let mut pending = 0u64;
        let mut records_end = 0u64;
        let count = firsts.len();
        for (index, first_seq) in firsts.into_iter().enumerate() {
            let path = segment_path(dir, first_seq);
            let last_segment = index + 1 == count;
            let scan = recover_segment(&path, first_seq, cursor, last_segment)?;
            make_private(&path).map_err(io_error(&path))?;
            let end = scan.records.last().map_or(first_seq, |r| r.seq + 1);
            next_seq = next_seq.max(end);
            records_end = records_end.max(end);
            if end <= cursor && !last_segment {
                // Delivered already.
                fs::remove_file(&path).map_err(io_error(&path))?;
                continue;
            }
            for (record, size) in scan.records.iter().zip(&scan.sizes) {
                if record.seq >= cursor {
                    pending_bytes += size;
                    pending += 1;
                }
            }
            segments.push_back(Segment { first_seq, path });
        }
        // New records are numbered from past both the records and the cursor, so the cursor
        // never points past a record that will not come (a cut tail of delivered records).
        if let Some(saved) = saved_cursor {
            let last = records_end;
            if saved > last && last > 0 {
                log::warn!(
                    "spool {}: the cursor ({saved}) is past the last record kept ({}): records {last} to {} were delivered and then cut or removed; new commands are numbered from {saved}",
                    dir.display(),
                    last.saturating_sub(1),
                    saved - 1
                );
            }
        }

        // Write to the last segment while it has room, else to a new one.
        let reuse = segments
            .back()
            .map(|s| fs::metadata(&s.path).map(|m| m.len()).unwrap_or(u64::MAX) < SEGMENT_SIZE)
            .unwrap_or(false);
        if !reuse {
            let path = segment_path(dir, next_seq);
            segments.push_back(Segment {
                first_seq: next_seq,
                path,
            });
        }
        let current = segments.back().map(|s| s.path.clone()).unwrap_or_default();
        let file = open_segment(&current)?;
        let len = file.metadata().map_err(io_error(&current))?.len();
        sync_dir(dir).map_err(io_error(dir))?;
        if pending > 0 {
            log::info!(
                "spool {}: {pending} command(s) from before the start wait for delivery",
                dir.display()
            );
        }
        let mut cursor_file =
            CursorFile::open(cursor_path.clone()).map_err(io_error(&cursor_path))?;
        cursor_file
            .store(cursor, true)
            .map_err(io_error(&cursor_path))?;
        let spool = Spool {
            dir: dir.to_path_buf(),
            max_bytes,
            cursor_file: Mutex::new(cursor_file),
            writer: Mutex::new(Writer {
                file,
                path: current,
                len,
                broken: false,
            }),
            state: Mutex::new(State {
                segments,
                next_seq,
                cursor,
                pending,
                pending_bytes,
                refusing: None,
                closed: false,
                accepted: 0,
                delivered: 0,
                sink_errors: 0,
                oldest_pending: None,
                last_delivery: None,
            }),
            wake: Condvar::new(),
        };
        Ok(spool)
    }

    fn lock(&self) -> MutexGuard<'_, State> {
        // Every update under the lock leaves the state consistent: a panic elsewhere does not
        // make it unusable.
        self.state
            .lock()
            .unwrap_or_else(|poison| poison.into_inner())
    }

    /// Appends a whole batch and makes it durable (one write, one fsync), or takes none of it.
    pub fn append(&self, batch: &[ExternalCommand]) -> Result<(), SpoolError> {
        if batch.is_empty() {
            return Ok(());
        }
        // Appends are serialised by the writer lock, so records keep the order of the calls,
        // and only an append moves `next_seq`: the numbers read here are the ones written.
        let mut writer = self.writer.lock().unwrap_or_else(|p| p.into_inner());
        if writer.broken {
            // The segment has garbage after its last record: nothing may be appended to it.
            let next_seq = self.lock().next_seq;
            self.roll(&mut writer, next_seq)?;
        }
        let first = self.lock().next_seq;
        let records: Vec<Record> = batch
            .iter()
            .zip(first..)
            .map(|(command, seq)| Record::from_command(seq, command))
            .collect();
        let bytes: u64 = records.iter().map(Record::size).sum();
        let mut encoded = Vec::with_capacity(bytes as usize);
        for record in &records {
            record.encode_into(&mut encoded);
        }
        {
            let mut state = self.lock();
            if state.closed {
                return Err(SpoolError::Closed);
            }
            if let Some(reason) = &state.refusing {
                return Err(SpoolError::Inconsistent(reason.clone()));
            }
            if state.pending_bytes + bytes > self.max_bytes {
                return Err(SpoolError::Full {
                    pending: state.pending_bytes,
                    max: self.max_bytes,
                });
            }
            // Reserved now, so that concurrent appends cannot together pass the bound.
            state.pending_bytes += bytes;
        }
        let written = writer
            .file
            .write_all(&encoded)
            .and_then(|()| writer.file.sync_data());
        if let Err(err) = written {
            // Take back a partial write, so the segment stays a clean sequence of records.
            if let Err(cut) = writer.file.set_len(writer.len) {
                // The garbage stays after the segment's last record: later appends go to a new
                // segment, so none lands behind it (a restart cuts it as a torn tail).
                log::error!(
                    "{}: cannot cut a failed write: {cut}",
                    writer.path.display()
                );
                let next_seq = self.lock().next_seq;
                if let Err(roll) = self.roll(&mut writer, next_seq) {
                    log::error!("cannot start a new spool segment either: {roll}");
                    writer.broken = true;
                }
            }
            self.lock().pending_bytes -= bytes;
            return Err(SpoolError::Io {
                path: writer.path.clone(),
                source: err,
            });
        }
        writer.len += bytes;
        let next_seq = {
            let mut state = self.lock();
            state.next_seq += records.len() as u64;
            state.pending += records.len() as u64;
            state.accepted += records.len() as u64;
            state.next_seq
        };
        self.wake.notify_all();
        if writer.len >= SEGMENT_SIZE {
            // The batch is durable already: a failed roll must not turn it into a refusal.
            // The current segment keeps growing, and the next append tries again.
            if let Err(err) = self.roll(&mut writer, next_seq) {
                log::error!("cannot start a new spool segment: {err}");
            }
        }
        Ok(())
    }

    /// Starts a new segment, whose first record will be `first_seq`, for the next appends.
    fn roll(&self, writer: &mut Writer, first_seq: u64) -> Result<(), SpoolError> {
        let path = segment_path(&self.dir, first_seq);
        let file = open_segment(&path)?;
        if let Err(err) = sync_dir(&self.dir) {
            // Unknown to the segment list, it must not be found at the next start either.
            let _ = fs::remove_file(&path);
            return Err(io_error(&self.dir)(err));
        }
        *writer = Writer {
            file,
            path: path.clone(),
            len: 0,
            broken: false,
        };
        self.lock().segments.push_back(Segment { first_seq, path });
        Ok(())
    }

    fn persist_cursor(&self, cursor: u64, force: bool) -> Result<(), SpoolError> {
        let mut file = self
            .cursor_file
            .lock()
            .unwrap_or_else(|poison| poison.into_inner());
        let path = file.path.clone();
        file.store(cursor, force).map_err(io_error(&path))
    }

    /// Makes the cursor durable now (at a clean stop).
    pub fn sync_cursor(&self) -> Result<(), SpoolError> {
        let cursor = self.lock().cursor;
        self.persist_cursor(cursor, true)
    }

    /// Records that `records`, the next ones in order, reached the sink: persists the cursor
    /// and removes the segments wholly delivered.
    pub fn mark_delivered(&self, records: &[Record]) -> Result<(), SpoolError> {
        let Some(last) = records.last() else {
            return Ok(());
        };
        let count = records.len() as u64;
        let bytes: u64 = records.iter().map(Record::size).sum();
        let cursor = {
            let mut state = self.lock();
            state.cursor = state.cursor.max(last.seq + 1);
            state.pending = state.pending.saturating_sub(count);
            state.pending_bytes = state.pending_bytes.saturating_sub(bytes);
            state.delivered += count;
            state.last_delivery = Some(now());
            state.cursor
        };
        self.persist_cursor(cursor, false)?;
        let mut state = self.lock();
        while state.segments.len() > 1 && state.segments[1].first_seq <= cursor {
            if let Some(done) = state.segments.pop_front() {
                if let Err(err) = fs::remove_file(&done.path) {
                    log::warn!(
                        "{}: cannot remove a delivered segment: {err}",
                        done.path.display()
                    );
                }
            }
        }
        Ok(())
    }

    pub fn note_sink_error(&self) {
        self.lock().sink_errors += 1;
    }

    pub fn note_oldest_pending(&self, created: Option<f64>) {
        self.lock().oldest_pending = created;
    }

    pub fn counters(&self) -> SpoolCounters {
        let state = self.lock();
        SpoolCounters {
            accepted: state.accepted,
            delivered: state.delivered,
            pending: state.pending,
            pending_bytes: state.pending_bytes,
            sink_errors: state.sink_errors,
            oldest_pending: if state.pending > 0 {
                state.oldest_pending
            } else {
                None
            },
            last_delivery: state.last_delivery,
        }
    }

    /// Refuses appends, with `reason`, until `accept_again`: what the delivery thread cannot
    /// read back must not be answered OK.
    pub fn refuse(&self, reason: String) {
        let mut state = self.lock();
        if state.refusing.is_none() {
            log::error!("new commands are refused: {reason}");
        }
        state.refusing = Some(reason);
    }

    pub fn accept_again(&self) {
        if self.lock().refusing.take().is_some() {
            log::info!("the spool can be read again: new commands are taken");
        }
    }

    /// Refuses appends from now on and wakes the delivery thread to drain.
    pub fn close(&self) {
        self.lock().closed = true;
        self.wake.notify_all();
    }

    pub fn is_closed(&self) -> bool {
        self.lock().closed
    }

    /// Sleeps `delay`, or less if the spool is closed meanwhile.
    pub fn wait_closed(&self, delay: Duration) {
        let state = self.lock();
        let _ = self.wake.wait_timeout_while(state, delay, |s| !s.closed);
    }

    /// Waits until there are records past `from` to read, or the spool is closed, or
    /// `timeout` passes. Returns how many records are readable from `from`.
    pub fn wait_readable(&self, from: u64, timeout: Duration) -> u64 {
        let state = self.lock();
        let (state, _) = self
            .wake
            .wait_timeout_while(state, timeout, |s| s.next_seq <= from && !s.closed)
            .unwrap_or_else(|poison| poison.into_inner());
        state.next_seq.saturating_sub(from)
    }

    /// A reader positioned at the cursor, for the delivery thread.
    pub fn reader(&self) -> Result<SpoolReader, SpoolError> {
        let state = self.lock();
        let cursor = state.cursor;
        let index = state
            .segments
            .iter()
            .rposition(|s| s.first_seq <= cursor)
            .unwrap_or(0);
        let Some(segment) = state.segments.get(index) else {
            return Err(SpoolError::Inconsistent("no spool segment".into()));
        };
        let (first_seq, path) = (segment.first_seq, segment.path.clone());
        drop(state);
        Ok(SpoolReader {
            input: BufReader::new(File::open(&path).map_err(io_error(&path))?),
            path,
            segment_first: first_seq,
            next_seq: cursor,
        })
    }

    /// The segment after the one starting at `first_seq`, if there is one yet.
    fn segment_after(&self, first_seq: u64) -> Option<(u64, PathBuf)> {
        let state = self.lock();
        state
            .segments
            .iter()
            .find(|s| s.first_seq > first_seq)
            .map(|s| (s.first_seq, s.path.clone()))
    }
}

/// Reads committed records in order, moving from segment to segment.
pub struct SpoolReader {
    input: BufReader<File>,
    path: PathBuf,
    segment_first: u64,
    /// No record before this one is returned (delivered already, or returned).
    next_seq: u64,
}

impl SpoolReader {
    pub fn next_seq(&self) -> u64 {
        self.next_seq
    }

    /// Reads the next record from `next_seq` on, which the caller knows is committed.
    fn read_one(&mut self, spool: &Spool) -> Result<Record, SpoolError> {
        loop {
            match read_record(&mut self.input).map_err(io_error(&self.path))? {
                // Recovery may have left gaps: numbers only ever grow.
                Next::Record(record) if record.seq >= self.next_seq => {
                    self.next_seq = record.seq + 1;
                    return Ok(record);
                }
                // Before the cursor: delivered already.
                Next::Record(_) => {}
                Next::End => match spool.segment_after(self.segment_first) {
                    Some((first, path)) => {
                        let file = File::open(&path).map_err(io_error(&path))?;
                        self.input = BufReader::new(file);
                        self.path = path;
                        self.segment_first = first;
                    }
                    None => return Err(self.missing("the end of the spool")),
                },
                Next::Torn(why) => return Err(self.missing(&why)),
            }
        }
    }

    fn missing(&self, found: &str) -> SpoolError {
        let file = self
            .path
            .file_name()
            .map_or_else(String::new, |name| name.to_string_lossy().into_owned());
        SpoolError::Inconsistent(format!(
            "record {} is missing from segment {file}: found {found}",
            self.next_seq
        ))
    }

    /// Up to `max` committed records from the reader's position.
    pub fn read_batch(&mut self, spool: &Spool, max: usize) -> Result<Vec<Record>, SpoolError> {
        let committed = spool.lock().next_seq;
        let mut batch = Vec::new();
        while batch.len() < max && self.next_seq < committed {
            batch.push(self.read_one(spool)?);
        }
        Ok(batch)
    }
}

/// A segment opened for appends, created private when it is new.
fn open_segment(path: &Path) -> Result<File, SpoolError> {
    OpenOptions::new()
        .create(true)
        .append(true)
        .mode(FILE_MODE)
        .open(path)
        .map_err(io_error(path))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn commands(prefix: &str, n: usize) -> Vec<ExternalCommand> {
        (0..n)
            .map(|i| ExternalCommand {
                cmd_line: format!("[1] {prefix}{i}").into(),
                creation_timestamp: 1.0,
            })
            .collect()
    }

    /// A spool directory holding `n` records `A0..` in its first segment, closed.
    fn spooled(n: usize) -> (tempfile::TempDir, PathBuf) {
        let dir = tempfile::tempdir().unwrap();
        Spool::open(dir.path(), 1 << 30)
            .unwrap()
            .append(&commands("A", n))
            .unwrap();
        let segment = segment_path(dir.path(), 0);
        (dir, segment)
    }

    /// How many files of `dir` have a name that `wanted` takes.
    fn files_where(dir: &Path, wanted: impl Fn(&str) -> bool) -> usize {
        fs::read_dir(dir)
            .unwrap()
            .filter(|e| wanted(&e.as_ref().unwrap().file_name().to_string_lossy()))
            .count()
    }

    fn read_all(spool: &Spool) -> Vec<String> {
        let mut reader = spool.reader().unwrap();
        reader
            .read_batch(spool, usize::MAX)
            .unwrap()
            .into_iter()
            .map(|r| r.line)
            .collect()
    }

    #[test]
    fn appended_records_survive_a_reopen_and_the_cursor_skips_delivered_ones() {
        let dir = tempfile::tempdir().unwrap();
        {
            let spool = Spool::open(dir.path(), 1 << 30).unwrap();
            spool.append(&commands("A", 3)).unwrap();
            spool.append(&commands("B", 2)).unwrap();
            let mut reader = spool.reader().unwrap();
            let first = reader.read_batch(&spool, 2).unwrap();
            spool.mark_delivered(&first).unwrap();
            assert_eq!(spool.counters().pending, 3);
        }
        let spool = Spool::open(dir.path(), 1 << 30).unwrap();
        assert_eq!(read_all(&spool), ["[1] A2", "[1] B0", "[1] B1"]);
        assert_eq!(spool.counters().pending, 3);
        spool.append(&commands("C", 1)).unwrap();
        assert_eq!(read_all(&spool), ["[1] A2", "[1] B0", "[1] B1", "[1] C0"]);
    }

    #[test]
    fn a_torn_tail_is_cut_and_the_records_before_it_kept() {
        let (dir, segment) = spooled(3);
        let mut file = OpenOptions::new().append(true).open(&segment).unwrap();
        // Half a record, as a crash in the middle of a write leaves it.
        let mut partial = Vec::new();
        Record {
            seq: 3,
            created: 1.0,
            line: "[1] TORN".into(),
        }
        .encode_into(&mut partial);
        file.write_all(&partial[..partial.len() / 2]).unwrap();
        drop(file);
        let spool = Spool::open(dir.path(), 1 << 30).unwrap();
        assert_eq!(read_all(&spool), ["[1] A0", "[1] A1", "[1] A2"]);
        spool.append(&commands("B", 1)).unwrap();
        assert_eq!(read_all(&spool), ["[1] A0", "[1] A1", "[1] A2", "[1] B0"]);
    }

    #[test]
    fn a_full_spool_refuses_whole_batches() {
        let dir = tempfile::tempdir().unwrap();
        let one = Record::from_command(0, &commands("A", 1)[0]).size();
        let spool = Spool::open(dir.path(), one * 2).unwrap();
        spool.append(&commands("A", 2)).unwrap();
        assert!(matches!(
            spool.append(&commands("B", 1)),
            Err(SpoolError::Full { .. })
        ));
        assert_eq!(spool.counters().pending, 2);
        spool.close();
        assert!(matches!(
            spool.append(&commands("C", 1)),
            Err(SpoolError::Closed)
        ));
    }

    #[test]
    fn delivered_segments_are_removed_across_rolls() {
        let dir = tempfile::tempdir().unwrap();
        let spool = Spool::open(dir.path(), u64::MAX).unwrap();
        let big = "x".repeat(1024 * 1024);
        let batch: Vec<ExternalCommand> = (0..20)
            .map(|i| ExternalCommand {
                cmd_line: format!("[1] C{i};{big}").into(),
                creation_timestamp: 1.0,
            })
            .collect();
        spool.append(&batch).unwrap();
        spool.append(&commands("D", 1)).unwrap();
        let segments = || files_where(dir.path(), |name| name.starts_with("seg-"));
        assert_eq!(segments(), 2);
        let mut reader = spool.reader().unwrap();
        let all = reader.read_batch(&spool, usize::MAX).unwrap();
        assert_eq!(all.len(), 21);
        assert_eq!(all[20].line, "[1] D0");
        spool.mark_delivered(&all).unwrap();
        assert_eq!(segments(), 1);
        drop(spool);
        let spool = Spool::open(dir.path(), u64::MAX).unwrap();
        assert!(read_all(&spool).is_empty());
    }

    fn lines_of(records: &[Record]) -> Vec<String> {
        records.iter().map(|r| r.line.clone()).collect()
    }

    #[test]
    fn a_damaged_middle_costs_that_record_and_the_rest_is_delivered() {
        let (dir, segment) = spooled(5);
        let mut bytes = fs::read(&segment).unwrap();
        let one = bytes.len() / 5;
        // Four bytes overwritten inside the third record.
        bytes[2 * one + 22..2 * one + 26].copy_from_slice(b"XXXX");
        fs::write(&segment, &bytes).unwrap();
        let spool = Spool::open(dir.path(), 1 << 30).unwrap();
        assert_eq!(spool.counters().pending, 4);
        assert_eq!(read_all(&spool), ["[1] A0", "[1] A1", "[1] A3", "[1] A4"]);
        spool.append(&commands("B", 1)).unwrap();
        let mut reader = spool.reader().unwrap();
        let all = reader.read_batch(&spool, usize::MAX).unwrap();
        assert_eq!(
            all.last().map(|r| (r.seq, r.line.as_str())),
            Some((5, "[1] B0"))
        );
        spool.mark_delivered(&all).unwrap();
        assert_eq!(spool.counters().pending, 0);
        drop(spool);
        // The rewritten segment is clean: nothing more is lost or repeated at the next start.
        let spool = Spool::open(dir.path(), 1 << 30).unwrap();
        assert!(read_all(&spool).is_empty());
        let kept = files_where(dir.path(), |name| name.contains(".damaged-"));
        assert_eq!(kept, 1);
    }

    #[test]
    fn a_cut_tail_of_delivered_records_does_not_hide_new_ones() {
        // The case: the cursor was past the records after the cut.
        let dir = tempfile::tempdir().unwrap();
        {
            let spool = Spool::open(dir.path(), 1 << 30).unwrap();
            spool.append(&commands("A", 3)).unwrap();
            let all = spool.reader().unwrap().read_batch(&spool, 10).unwrap();
            spool.mark_delivered(&all).unwrap();
            spool.sync_cursor().unwrap();
        }
        let segment = segment_path(dir.path(), 0);
        let len = fs::metadata(&segment).unwrap().len();
        OpenOptions::new()
            .write(true)
            .open(&segment)
            .unwrap()
            .set_len(len - 5)
            .unwrap();
        let spool = Spool::open(dir.path(), 1 << 30).unwrap();
        assert_eq!(spool.counters().pending, 0);
        spool.append(&commands("B", 2)).unwrap();
        let mut reader = spool.reader().unwrap();
        let got = reader.read_batch(&spool, 10).unwrap();
        assert_eq!(lines_of(&got), ["[1] B0", "[1] B1"]);
        assert_eq!(got[0].seq, 3);
    }

    #[test]
    fn a_spool_of_the_previous_format_is_migrated_with_nothing_lost() {
        let dir = tempfile::tempdir().unwrap();
        let mut old = Vec::new();
        for i in 0..4 {
            record::tests::encode_v1(&record::tests::record(0, &format!("[1] OLD{i}")), &mut old);
        }
        fs::write(segment_path(dir.path(), 10), &old).unwrap();
        // Record 10 was delivered by the previous version.
        fs::write(dir.path().join("cursor"), format!("{:020}\n", 11)).unwrap();
        let spool = Spool::open(dir.path(), 1 << 30).unwrap();
        assert_eq!(spool.counters().pending, 3);
        let got = spool.reader().unwrap().read_batch(&spool, 10).unwrap();
        assert_eq!(lines_of(&got), ["[1] OLD1", "[1] OLD2", "[1] OLD3"]);
        assert_eq!(got.iter().map(|r| r.seq).collect::<Vec<_>>(), [11, 12, 13]);
        spool.append(&commands("NEW", 1)).unwrap();
        drop(spool);
        let spool = Spool::open(dir.path(), 1 << 30).unwrap();
        assert_eq!(
            read_all(&spool),
            ["[1] OLD1", "[1] OLD2", "[1] OLD3", "[1] NEW0"]
        );
    }

    #[test]
    fn spool_files_are_private() {
        let dir = tempfile::tempdir().unwrap();
        let cursor = dir.path().join("cursor");
        fs::write(&cursor, "").unwrap();
        fs::set_permissions(&cursor, fs::Permissions::from_mode(0o644)).unwrap();
        let spool = Spool::open(dir.path(), 1 << 30).unwrap();
        spool.append(&commands("A", 1)).unwrap();
        for entry in fs::read_dir(dir.path()).unwrap() {
            let entry = entry.unwrap();
            let mode = entry.metadata().unwrap().permissions().mode() & 0o777;
            assert_eq!(mode, 0o600, "{:?}", entry.file_name());
        }
    }

    #[test]
    fn a_spool_that_cannot_be_read_refuses_appends_until_it_can() {
        let dir = tempfile::tempdir().unwrap();
        let spool = Spool::open(dir.path(), 1 << 30).unwrap();
        spool.append(&commands("A", 1)).unwrap();
        spool.refuse("record 0 is missing".into());
        assert!(matches!(
            spool.append(&commands("B", 1)),
            Err(SpoolError::Inconsistent(reason)) if reason.contains("record 0")
        ));
        assert_eq!(spool.counters().pending, 1);
        spool.accept_again();
        spool.append(&commands("C", 1)).unwrap();
        assert_eq!(read_all(&spool), ["[1] A0", "[1] C0"]);
    }
}
