//! Authentication: who a request comes from, when `authorization` is on.
//!
//! A request is authenticated by a live session cookie (`alignak_ws`, set by `/login`) whose
//! token is still valid, else by HTTP Basic (`user:password` or `token:`). Failed attempts are
//! counted per (address, user) for passwords and per address for tokens, and block that
//! subject for a while (`rate_limit`). Tokens are checked in memory and recently verified
//! passwords from a keyed cache, so neither costs a disk read nor a bcrypt per request. Secrets are never logged:
//! log lines name users and addresses only.

mod caller;
pub mod credentials;
pub mod hashes;
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

use self::credentials::{CredentialError, CredentialStore, LocalCredentials, TokenKeeper, Verdict};
use self::headers::Credentials;
use self::htpasswd::{CreatedAdmin, HtpasswdError, UsersFile, VerifiedCache};
use self::rate_limit::{Admission, Attempt, Policy, RateLimiter};
use self::sessions::Sessions;

pub use self::caller::{Caller, Password};
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
    #[error("password longer than {MAX_PASSWORD_BYTES} bytes")]
    PasswordTooLong,
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
    Credentials(#[from] CredentialError),
}

/// The longest password taken: bcrypt reads only the first 72 bytes, so a longer one would
/// log in with any suffix. Refused for every hash scheme alike, so that the answer does not
/// tell which scheme a user has.
pub const MAX_PASSWORD_BYTES: usize = 72;

/// What failures are counted against.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
enum Subject {
    /// A password for a user (by the hash of its name, so that the limiter's memory is
    /// bounded whatever the names) from an address.
    Pair(IpAddr, [u8; 32]),
    /// Tokens from an address.
    Token(IpAddr),
}

fn blocked_for(left: Duration) -> AuthError {
    AuthError::Blocked {
        retry_after_secs: left.as_secs() + u64::from(left.subsec_nanos() > 0),
    }
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
    session_timeout: Duration,
    limiter: RateLimiter<Subject>,
    secure_cookies: bool,
}

impl Auth {
    pub fn new(
        credentials: Arc<dyn CredentialStore>,
        session_timeout: Duration,
        secure_cookies: bool,
    ) -> Auth {
        // Without `session_key`: a key of this process only (its sessions end with it).
        let key = secret::random_key().unwrap_or_else(|_| {
            log::error!("no random session key: sessions are sealed with a fixed key until the system's random generator works; set session_key");
            [0u8; 32]
        });
        Auth {
            credentials,
            sessions: Sessions::new(session_timeout, &key),
            session_timeout,
            limiter: RateLimiter::new(Policy::default()),
            secure_cookies,
        }
    }

    /// `session_key`: sessions sealed with the key every gateway sharing the backend has.
    pub fn with_session_key(mut self, key: Option<&str>) -> Auth {
        if let Some(key) = key {
            self.sessions = Sessions::new(self.session_timeout, key.as_bytes());
        }
        self
    }

    /// `auth_max_failures`: failed authentications a subject may make before it is blocked.
    pub fn with_failures_allowed(mut self, burst: u32) -> Auth {
        self.limiter = RateLimiter::new(Policy {
            burst,
            ..Policy::default()
        });
        self
    }

    /// Without a backend: the users of `users_file` (created with an `admin` user when missing
    /// or empty: the created password is returned, to be shown once) and tokens kept by
    /// `tokens` (the embedded store's).
    pub fn local(
        users_file: &Path,
        password_cache: VerifiedCache,
        tokens: Arc<dyn TokenKeeper>,
        token_timeout: Duration,
        session_timeout: Duration,
        secure_cookies: bool,
    ) -> Result<(Auth, Option<CreatedAdmin>), SetupError> {
        let (users, created) = UsersFile::open_or_create(users_file)?;
        let users = users.with_cache(password_cache);
        let credentials = LocalCredentials::new(users, tokens, token_timeout)?;
        let auth = Auth::new(Arc::new(credentials), session_timeout, secure_cookies);
        Ok((auth, created))
    }

    /// Who a request to a protected endpoint comes from, and the token it proved (the one
    /// the backend is called with).
    ///
    /// With a session cookie that was sealed again (its idle time restarts), also the
    /// `Set-Cookie` value that gives the client the new one.
    pub async fn authenticate(
        &self,
        headers: &HeaderMap,
        peer: IpAddr,
    ) -> Result<(Caller, Option<String>), AuthError> {
        for id in headers::session_ids(headers) {
            if let Some((caller, resealed)) = self.session_caller(id).await? {
                let set_cookie =
                    resealed.map(|cookie| headers::session_cookie(&cookie, self.secure_cookies));
                return Ok((caller, set_cookie));
            }
        }
        let credentials = headers::basic(headers).ok_or(AuthError::Missing)?;
        let proven = self.check(credentials, peer).await?;
        Ok((
            Caller {
                user: Some(proven.user),
                token: proven.token,
                password: proven.password,
            },
            None,
        ))
    }

    /// `/login`: a token for the credentials (a new one for a password, the same for a token)
    /// and a new session holding it.
    pub async fn login(
        &self,
        credentials: Credentials,
        peer: IpAddr,
    ) -> Result<LoggedIn, AuthError> {
        let Proven { user, token, .. } = self.check(credentials, peer).await?;
        let token = match token {
            Some(token) => token,
            None => {
                let for_user = user.clone();
                self.blocking(move |c| c.issue_token(&for_user)).await?
            }
        };
        let id = self
            .sessions
            .create(&user, &token, now_secs())
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
            if let Some(session) = self.sessions.remove(id, now_secs()) {
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

    async fn session_caller(
        &self,
        id: &str,
    ) -> Result<Option<(Caller, Option<String>)>, AuthError> {
        let Some(touched) = self.sessions.touch(id, now_secs()) else {
            return Ok(None);
        };
        let session = touched.session;
        // A session lasts no longer than its token: once that expires, or is revoked by a
        // /logout elsewhere, the session ends too.
        if self.token_user(&session.token).await?.is_some() {
            let caller = Caller {
                user: Some(session.user),
                token: Some(session.token),
                password: None,
            };
            Ok(Some((caller, touched.resealed)))
        } else {
            self.sessions.remove(id, now_secs());
            Ok(None)
        }
    }

    /// The user of a token: from memory when the credentials know it, else off the workers.
    async fn token_user(&self, token: &str) -> Result<Option<String>, CredentialError> {
        if let Some(known) = self.credentials.known_token(token) {
            return Ok(known);
        }
        let checked = token.to_string();
        self.blocking(move |c| c.verify_token(&checked)).await
    }

    /// Checks credentials under the rate limit: a password's failures count against its
    /// (address, user) pair, a token's against its address. A right token is never refused for
    /// failures, its own address's included: guessing 256 random bits is hopeless anyway,
    /// and the count is there to be seen (the log) and to slow the guesses' answers.
    async fn check(&self, credentials: Credentials, peer: IpAddr) -> Result<Proven, AuthError> {
        let address = rate_limit::key(peer);
        match credentials {
            Credentials::Password { user, password } => {
                if password.len() > MAX_PASSWORD_BYTES {
                    return Err(AuthError::PasswordTooLong);
                }
                let subject = Subject::Pair(address, secret::hash(&user));
                // Checked before the cache: a blocked pair learns nothing, not even a right
                // password.
                if let Some(left) = self.limiter.blocked(&subject, Instant::now()) {
                    return Err(blocked_for(left));
                }
                let proven = |token| Proven {
                    user: user.clone(),
                    token,
                    password: Some(Password(password.clone())),
                };
                if self.credentials.known_password(&user, &password) == Some(true) {
                    return Ok(proven(None));
                }
                let attempt = self.admit(subject).await?;
                let for_user = user.clone();
                let checked = password.clone();
                let verdict = self
                    .blocking(move |c| c.verify_password(&for_user, &checked))
                    .await?;
                match verdict {
                    Verdict::Accepted { token } => Ok(proven(token)),
                    Verdict::Refused => Err(self.refused(attempt, peer)),
                }
            }
            Credentials::Token(token) => {
                let subject = Subject::Token(address);
                if self.credentials.known_token(&token).is_none() {
                    // A check that costs a hop (the backend): not for a blocked address.
                    if let Some(left) = self.limiter.blocked(&subject, Instant::now()) {
                        return Err(blocked_for(left));
                    }
                }
                match self.token_user(&token).await? {
                    Some(user) => Ok(Proven {
                        user,
                        token: Some(token),
                        password: None,
                    }),
                    None => Err(self.token_failed(subject, peer)),
                }
            }
            Credentials::Unusable => Err(self.token_failed(Subject::Token(address), peer)),
        }
    }

    /// A wrong token: counted, and answered as blocked while its address is.
    fn token_failed(&self, subject: Subject, peer: IpAddr) -> AuthError {
        match self.limiter.begin(subject, Instant::now()) {
            Admission::Go(attempt) => self.refused(attempt, peer),
            Admission::Blocked(left) => blocked_for(left),
            Admission::Busy => AuthError::Blocked {
                retry_after_secs: 1,
            },
        }
    }

    /// Waits until the subject may make an attempt, or says how long it is blocked.
    async fn admit(&self, subject: Subject) -> Result<Attempt<'_, Subject>, AuthError> {
        let deadline = Instant::now() + BUSY_WAIT;
        loop {
            let now = Instant::now();
            match self.limiter.begin(subject.clone(), now) {
                Admission::Go(attempt) => return Ok(attempt),
                Admission::Blocked(left) => return Err(blocked_for(left)),
                Admission::Busy if now < deadline => tokio::time::sleep(BUSY_POLL).await,
                Admission::Busy => {
                    return Err(AuthError::Blocked {
                        retry_after_secs: 1,
                    })
                }
            }
        }
    }

    fn refused(&self, attempt: Attempt<'_, Subject>, peer: IpAddr) -> AuthError {
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

/// Unix seconds: sealed sessions carry times that other gateways read.
fn now_secs() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_secs())
}
