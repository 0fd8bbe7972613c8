//! A Nagios-style external command file: a FIFO read by the core (Nagios 4, Naemon, Icinga,
//! Alignak's named-pipe module), or a regular file that is appended to.

use std::fs::{File, OpenOptions};
use std::io::{self, Write};
use std::os::unix::fs::{FileTypeExt, OpenOptionsExt};
use std::path::PathBuf;

use rustix::event::{poll, PollFd, PollFlags, Timespec};
use rustix::fs::OFlags;
use rustix::io::Errno;

use super::{push_command_file_line, DeliveryError, Sink};
use crate::spool::Record;

/// Writes to a FIFO of at most this many bytes are atomic (POSIX `PIPE_BUF` on Linux), so
/// lines are grouped into writes no larger, and never interleave with another writer's.
const PIPE_BUF: usize = 4096;
/// Bytes per write to a regular file.
const FILE_WRITE: usize = 64 * 1024;

pub struct CommandFile {
    path: PathBuf,
    create: bool,
    open: Option<Open>,
}

struct Open {
    file: File,
    is_fifo: bool,
}

impl CommandFile {
    /// `create`: make the file (and its directory) when it does not exist; otherwise a
    /// missing file means the core is not running, and delivery waits for it.
    pub fn new(path: PathBuf, create: bool) -> CommandFile {
        CommandFile {
            path,
            create,
            open: None,
        }
    }

    fn open(&mut self) -> io::Result<&mut Open> {
        if self.open.is_none() {
            let is_fifo = match std::fs::metadata(&self.path) {
                Ok(metadata) => metadata.file_type().is_fifo(),
                Err(err) if err.kind() == io::ErrorKind::NotFound && self.create => {
                    if let Some(dir) = self.path.parent().filter(|d| !d.as_os_str().is_empty()) {
                        std::fs::create_dir_all(dir)?;
                    }
                    false
                }
                Err(err) => return Err(err),
            };
            let file = if is_fifo {
                // Non-blocking open: without a reader it fails at once (ENXIO) instead of
                // blocking the delivery thread until the core starts.
                // It stays non-blocking: a core that holds the FIFO open but stops reading
                // (Nagios keeps it open read-write) must not hold the delivery thread, and with
                // it the daemon's stop, for ever (see `write_fifo`).
                OpenOptions::new()
                    .write(true)
                    .custom_flags(OFlags::NONBLOCK.bits() as i32)
                    .open(&self.path)?
            } else {
                OpenOptions::new()
                    .append(true)
                    .create(true)
                    .open(&self.path)?
            };
            self.open = Some(Open { file, is_fifo });
        }
        // Just set when it was empty.
        self.open
            .as_mut()
            .ok_or_else(|| io::Error::other("command file not open"))
    }
}

/// How long a write waits for room in a full FIFO before the attempt is given up (and retried
/// by the delivery loop, which also watches the stop's drain deadline).
const FIFO_WAIT: Timespec = Timespec {
    tv_sec: 1,
    tv_nsec: 0,
};

/// Writes `bytes` to the non-blocking FIFO, waiting for room while the pipe is full. A write of
/// at most `PIPE_BUF` bytes goes in whole or not at all; when nothing of `bytes` could be
/// written within `FIFO_WAIT`, it fails with `TimedOut` and nothing was written. A longer
/// chunk (one long line) already partly written is finished whatever it takes: abandoning it
/// would leave half a command in the pipe.
fn write_fifo(file: &mut File, bytes: &[u8]) -> io::Result<()> {
    let mut written = 0;
    while written < bytes.len() {
        match file.write(&bytes[written..]) {
            Ok(n) => written += n,
            Err(err) if err.kind() == io::ErrorKind::Interrupted => {}
            Err(err) if err.kind() == io::ErrorKind::WouldBlock => {
                let mut fds = [PollFd::new(&*file, PollFlags::OUT)];
                match poll(&mut fds, Some(&FIFO_WAIT)) {
                    Err(Errno::INTR) => {}
                    Err(err) => return Err(err.into()),
                    Ok(0) if written == 0 => {
                        return Err(io::Error::new(
                            io::ErrorKind::TimedOut,
                            "the FIFO is full: the core is not reading",
                        ))
                    }
                    Ok(_) => {}
                }
            }
            Err(err) => return Err(err),
        }
    }
    Ok(())
}

fn describe_open_error(err: &io::Error) -> String {
    if err.raw_os_error() == Some(Errno::NXIO.raw_os_error()) {
        "no process is reading the FIFO (is the monitoring core running?)".to_string()
    } else if err.kind() == io::ErrorKind::NotFound {
        "it does not exist (is the monitoring core running? set create_command_file 1 to append to a regular file)".to_string()
    } else {
        err.to_string()
    }
}

impl Sink for CommandFile {
    fn deliver(&mut self, records: &[Record]) -> Result<(), DeliveryError> {
        let path = self.path.display().to_string();
        let open = self.open().map_err(|e| DeliveryError {
            delivered: 0,
            reason: format!("cannot open {path}: {}", describe_open_error(&e)),
        })?;
        let mut delivered = 0;
        let limit = if open.is_fifo { PIPE_BUF } else { FILE_WRITE };
        let mut chunk = Vec::with_capacity(limit);
        while delivered < records.len() {
            // Whole lines up to `limit` bytes; a longer line goes alone.
            chunk.clear();
            let mut count = 0;
            for record in &records[delivered..] {
                let before = chunk.len();
                push_command_file_line(&mut chunk, record);
                chunk.push(b'\n');
                if count > 0 && chunk.len() > limit {
                    // Taken back: it starts the next chunk.
                    chunk.truncate(before);
                    break;
                }
                count += 1;
            }
            // Where a regular file ended, to take back a partial write: a fragment without its
            // line break would merge with the retried line into a command the core refuses.
            let length_before = if open.is_fifo {
                None
            } else {
                open.file.metadata().ok().map(|m| m.len())
            };
            let result = if open.is_fifo {
                write_fifo(&mut open.file, &chunk)
            } else {
                open.file.write_all(&chunk)
            };
            if let Err(err) = result {
                if let Some(length) = length_before {
                    let _ = open.file.set_len(length);
                }
                // A reader that went away (EPIPE) or a full disk: reopen on the next try.
                self.open = None;
                return Err(DeliveryError {
                    delivered,
                    reason: format!("cannot write to {path}: {err}"),
                });
            }
            delivered += count;
        }
        Ok(())
    }

    fn describe(&self) -> String {
        format!("command file {}", self.path.display())
    }
}
