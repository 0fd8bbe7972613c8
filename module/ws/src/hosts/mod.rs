//! Passive hosts: the `/host` update algorithm and its parts, against `store::Session`.

pub mod catalog;
pub mod core_vars;
pub mod customs;
pub mod feedback;
pub mod livestate;
pub mod request;
pub mod update;
