//! The daemon's configuration: object files, and the receiver and modules chosen from them.

pub use alignak_objects as objects;
pub mod receiver;

pub use receiver::{ModuleSpec, ReceiverConfig};
