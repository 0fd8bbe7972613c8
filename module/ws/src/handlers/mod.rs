//! One module per endpoint family; each turns a parsed request into an answer or an
//! `ApiError`.

pub mod command;
pub mod event;
pub mod health;
pub mod host;
pub mod hostgroup;
pub mod index;
pub mod login;
pub mod logs;
pub mod nrdp;
