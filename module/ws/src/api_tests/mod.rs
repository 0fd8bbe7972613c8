//! The HTTP API in-process (`in_process::TestApp`): the router, handlers, embedded store,
//! authentication and queue for real, without a socket or a daemon, one file per topic. The
//! process-level suite (`tests/tests/`) keeps what needs a process or the wire.

mod auth;
mod command;
mod events;
mod host_batches;
mod hostgroups;
mod hosts;
mod http;
mod limits;
mod logs;
