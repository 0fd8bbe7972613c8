//! Who a request works for, as the stores are told it.

/// Who a session works for: the backend is called with the caller's own token (upstream
/// v1.5+), the embedded store does not need it.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Caller {
    pub user: Option<String>,
    pub token: Option<String>,
    /// The request's own password, when it sent `user:password`: a backend that refuses the
    /// token that password gave before (restarted, token changed) is logged in to again.
    pub password: Option<Password>,
}

/// A password that never shows in a log or a debug print.
#[derive(Clone, PartialEq, Eq)]
pub struct Password(pub String);

impl std::fmt::Debug for Password {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Password(***)")
    }
}
