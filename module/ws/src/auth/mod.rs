//! Authentication: who a request comes from, when `authorization` is on.
//!
//! A request is authenticated by a live session cookie (`alignak_ws`, set by `/login`) whose
//! token is still valid, else by HTTP Basic (`user:password` or `token:`). Failed attempts are
//! counted per client address and block it for a while (`rate_limit`). Secrets are never logged:
//! log lines name users and addresses only.

pub mod credentials;
pub mod headers;
pub mod htpasswd;
pub mod rate_limit;
pub mod secret;
pub mod sessions;

use std::net::IpAddr;
use std::path::Path;
use std::sync::Arc;
use std::time::{Duration, Instant};

use hyper::HeaderMap;

use self::credentials::{CredentialError, CredentialStore, LocalCredentials, Verdict};
use self::headers::Credentials;
use self::htpasswd::{CreatedAdmin, HtpasswdError, UsersFile};
use self::rate_limit::{Admission, Attempt, Policy, RateLimiter};
use self::sessions::Sessions;
use crate::store::tokens::{TokenStore, TokenStoreError};
use crate::store::{Caller, Password};

pub use self::headers::COOKIE_NAME;

/// How long an attempt waits while its address has as many attempts being checked as it may
/// still fail, before it is answered 429.
const BUSY_WAIT: Duration = Duration::from_secs(10);
const BUSY_POLL: Duration = Duration::from_millis(20);

#[derive(Debug, thiserror::Error)]
pub enum AuthError {
    #[error("no credentials")]
    Missing,
    #[error("credentials refused")]
    Refused,
    #[error("too many failed attempts; retry after {retry_after_secs} s")]
    Blocked { retry_after_secs: u64 },
    #[error(transparent)]
    Unavailable(#[from] CredentialError),
}

#[derive(Debug, thiserror::Error)]
pub enum SetupError {
    #[error(transparent)]
    Users(#[from] HtpasswdError),
    #[error(transparent)]
    Store(#[from] TokenStoreError),
}

/// A successful `/login`.
pub struct LoggedIn {
    pub token: String,
    pub set_cookie: String,
}

/// What credentials proved: the user, and the token when they were one.
struct Proven {
    user: String,
    token: Option<String>,
    /// The password that proved it, for a backend that must be logged in to again.
    password: Option<Password>,
}

pub struct Auth {
    credentials: Arc<dyn CredentialStore>,
    sessions: Sessions,
    limiter: RateLimiter,
    secure_cookies: bool,
}

impl Auth {
    pub fn new(
        credentials: Arc<dyn CredentialStore>,
        session_timeout: Duration,
        secure_cookies: bool,
    ) -> Auth {
        Auth {
            credentials,
            sessions: Sessions::new(session_timeout),
            limiter: RateLimiter::new(Policy::default()),
            secure_cookies,
        }
    }

    /// Without a backend: the users of `users_file` (created with an `admin` user when missing
    /// or empty: the created password is returned, to be shown once) and tokens in the
    /// embedded store at `store_path`.
    pub fn local(
        users_file: &Path,
        store_path: &Path,
        token_timeout: Duration,
        session_timeout: Duration,
        secure_cookies: bool,
    ) -> Result<(Auth, Option<CreatedAdmin>), SetupError> {
        let (users, created) = UsersFile::open_or_create(users_file)?;
        let store = Arc::new(TokenStore::open(store_path)?);
        let credentials = LocalCredentials::new(users, store, token_timeout);
        let auth = Auth::new(Arc::new(credentials), session_timeout, secure_cookies);
        Ok((auth, created))
    }

    /// Who a request to a protected endpoint comes from, and the token it proved (the one
    /// the backend is called with).
    pub async fn authenticate(
        &self,
        headers: &HeaderMap,
        peer: IpAddr,
    ) -> Result<Caller, AuthError> {
        for id in headers::session_ids(headers) {
            if let Some(caller) = self.session_caller(id).await? {
                return Ok(caller);
            }
        }
        let credentials = headers::basic(headers).ok_or(AuthError::Missing)?;
        let attempt = self.admit(peer).await?;
        match self.check(credentials).await? {
            Some(proven) => Ok(Caller {
                user: Some(proven.user),
                token: proven.token,
                password: proven.password,
            }),
            None => Err(self.refused(attempt, peer)),
        }
    }

    /// `/login`: a token for the credentials (a new one for a password, the same for a token)
    /// and a new session holding it.
    pub async fn login(
        &self,
        credentials: Credentials,
        peer: IpAddr,
    ) -> Result<LoggedIn, AuthError> {
        let attempt = self.admit(peer).await?;
        let Some(Proven { user, token, .. }) = self.check(credentials).await? else {
            return Err(self.refused(attempt, peer));
        };
        drop(attempt);
        let token = match token {
            Some(token) => token,
            None => {
                let for_user = user.clone();
                self.blocking(move |c| c.issue_token(&for_user)).await?
            }
        };
        let id = self
            .sessions
            .create(&user, &token, Instant::now())
            .map_err(CredentialError::from)?;
        log::info!("user '{user}' logged in from {peer}");
        Ok(LoggedIn {
            token,
            set_cookie: headers::session_cookie(&id, self.secure_cookies),
        })
    }

    /// `/logout`: ends the request's session and makes its token invalid, and the token of a
    /// Basic `token:` header too.
    pub async fn logout(&self, headers: &HeaderMap) -> Result<(), AuthError> {
        let mut tokens = Vec::new();
        for id in headers::session_ids(headers) {
            if let Some(session) = self.sessions.remove(id) {
                log::info!("user '{}' logged out", session.user);
                tokens.push(session.token);
            }
        }
        if let Some(Credentials::Token(token)) = headers::basic(headers) {
            tokens.push(token);
        }
        if !tokens.is_empty() {
            self.blocking(move |c| tokens.iter().try_for_each(|t| c.revoke_token(t)))
                .await?;
        }
        Ok(())
    }

    /// The `Set-Cookie` value that makes a client forget its session.
    pub fn clear_cookie(&self) -> String {
        headers::clear_cookie(self.secure_cookies)
    }

    async fn session_caller(&self, id: &str) -> Result<Option<Caller>, AuthError> {
        let Some(session) = self.sessions.touch(id, Instant::now()) else {
            return Ok(None);
        };
        // A session lasts no longer than its token: once that expires, or is revoked by a
        // /logout elsewhere, the session ends too.
        let token = session.token.clone();
        if self
            .blocking(move |c| c.verify_token(&token))
            .await?
            .is_some()
        {
            Ok(Some(Caller {
                user: Some(session.user),
                token: Some(session.token),
                password: None,
            }))
        } else {
            self.sessions.remove(id);
            Ok(None)
        }
    }

    async fn check(&self, credentials: Credentials) -> Result<Option<Proven>, CredentialError> {
        match credentials {
            Credentials::Password { user, password } => {
                let for_user = user.clone();
                let checked = password.clone();
                let verdict = self
                    .blocking(move |c| c.verify_password(&for_user, &checked))
                    .await?;
                Ok(match verdict {
                    Verdict::Accepted { token } => Some(Proven {
                        user,
                        token,
                        password: Some(Password(password)),
                    }),
                    Verdict::Refused => None,
                })
            }
            Credentials::Token(token) => {
                let checked = token.clone();
                let user = self.blocking(move |c| c.verify_token(&checked)).await?;
                Ok(user.map(|user| Proven {
                    user,
                    token: Some(token),
                    password: None,
                }))
            }
            Credentials::Unusable => Ok(None),
        }
    }

    /// Waits until the client's address may make an attempt, or says how long it is blocked.
    async fn admit(&self, peer: IpAddr) -> Result<Attempt<'_>, AuthError> {
        let deadline = Instant::now() + BUSY_WAIT;
        loop {
            let now = Instant::now();
            match self.limiter.begin(peer, now) {
                Admission::Go(attempt) => return Ok(attempt),
                Admission::Blocked(left) => {
                    return Err(AuthError::Blocked {
                        retry_after_secs: left.as_secs() + u64::from(left.subsec_nanos() > 0),
                    })
                }
                Admission::Busy if now < deadline => tokio::time::sleep(BUSY_POLL).await,
                Admission::Busy => {
                    return Err(AuthError::Blocked {
                        retry_after_secs: 1,
                    })
                }
            }
        }
    }

    fn refused(&self, attempt: Attempt<'_>, peer: IpAddr) -> AuthError {
        log::info!("authentication refused for {peer}");
        if let Some(block) = attempt.failed(Instant::now()) {
            log::warn!(
                "{peer}: too many failed authentications: refused for {} s",
                block.as_secs()
            );
        }
        AuthError::Refused
    }

    /// Runs a credential check on tokio's blocking pool: it may hash (bcrypt) or do I/O.
    async fn blocking<T: Send + 'static>(
        &self,
        job: impl FnOnce(&dyn CredentialStore) -> Result<T, CredentialError> + Send + 'static,
    ) -> Result<T, CredentialError> {
        let credentials = Arc::clone(&self.credentials);
        tokio::task::spawn_blocking(move || job(credentials.as_ref()))
            .await
            .map_err(|e| CredentialError::Task(e.to_string()))?
    }
}
