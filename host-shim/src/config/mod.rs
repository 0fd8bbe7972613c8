//! The daemon's configuration: object files, and the receiver and modules chosen from them.

pub mod objects;
pub mod receiver;

pub use receiver::{ModuleSpec, ReceiverConfig};
