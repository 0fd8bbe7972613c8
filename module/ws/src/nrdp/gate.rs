//! The gate of `/nrdp`: its tokens, and the limiter of bad tokens per client address.

use std::net::IpAddr;
use std::time::Instant;

use super::{NrdpError, NrdpTokens};
use crate::auth::rate_limit::{Admission, Policy, RateLimiter};

/// What `/nrdp` needs beyond the module's configuration: its tokens and the limiter of bad
/// tokens per client address.
pub struct NrdpGate {
    tokens: NrdpTokens,
    limiter: RateLimiter<std::net::IpAddr>,
    commands_allowed: bool,
}

impl NrdpGate {
    /// `nrdp_commands`: whether `cmd=submitcmd` may send commands.
    pub fn commands_allowed(&self) -> bool {
        self.commands_allowed
    }

    pub fn new(tokens: &[String], commands_allowed: bool) -> NrdpGate {
        NrdpGate {
            tokens: NrdpTokens::new(tokens),
            limiter: RateLimiter::new(Policy::default()),
            commands_allowed,
        }
    }

    /// The token check, through the same rate limiter as the HTTP credentials. One small
    /// function so that a limiter counting token failures apart can be put here alone.
    pub fn check_token(&self, token: Option<&str>, peer: IpAddr) -> Result<(), NrdpError> {
        let token = token.filter(|t| !t.is_empty()).ok_or(NrdpError::NoToken)?;
        let now = Instant::now();
        let attempt = match self.limiter.begin(crate::auth::rate_limit::key(peer), now) {
            Admission::Go(attempt) => attempt,
            Admission::Blocked(left) => {
                return Err(NrdpError::Blocked {
                    retry_after: left.as_secs() + u64::from(left.subsec_nanos() > 0),
                })
            }
            // Checking a token takes no time: an address with attempts in flight is not
            // worth waiting for.
            Admission::Busy => return Err(NrdpError::Blocked { retry_after: 1 }),
        };
        if self.tokens.accepts(token) {
            return Ok(());
        }
        log::info!("nrdp: bad token from {peer}");
        if let Some(block) = attempt.failed(now) {
            log::warn!(
                "{peer}: too many bad NRDP tokens: refused for {} s",
                block.as_secs()
            );
        }
        Err(NrdpError::BadToken)
    }
}
