//! `alignak-receiver`: reads Alignak configuration files, loads the receiver's modules as
//! dynamic libraries, and delivers the external commands they push to the monitoring core.
//!
//! # Layout
//!
//! - `daemon`: `--check` and a run (spool, delivery thread, modules, signals).
//! - `config/`: the receiver's block and its modules' blocks, from the object files.
//! - `loader`: a module library loaded and checked against the interface; `host`: what the
//!   daemon gives a module (its pushes go to the spool, its logs to the daemon's log).
//! - `spool/`: the durable queue (record framing, recovery scan); `delivery`: the thread
//!   that takes it to a `sink/` (a command file, an Alignak arbiter, a journal).
//! - `log_file`: `log_error`, reopened on SIGHUP.

pub mod config;
pub mod daemon;
pub mod delivery;
pub mod host;
pub mod loader;
pub mod log_file;
pub mod sink;
pub mod spool;
