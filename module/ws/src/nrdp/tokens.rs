//! `nrdp_tokens`: the shared secrets NRDP clients send. Compared in constant time over their
//! SHA-256 digests, so neither a token's bytes nor its length show in the timing.

use sha2::{Digest, Sha256};
use subtle::ConstantTimeEq;

pub struct NrdpTokens {
    digests: Vec<[u8; 32]>,
}

impl NrdpTokens {
    pub fn new(tokens: &[String]) -> NrdpTokens {
        NrdpTokens {
            digests: tokens.iter().map(|t| digest(t)).collect(),
        }
    }

    pub fn is_empty(&self) -> bool {
        self.digests.is_empty()
    }

    /// Whether `token` is one of them; every configured token is compared, whichever matches.
    pub fn accepts(&self, token: &str) -> bool {
        let given = digest(token);
        let mut found = subtle::Choice::from(0);
        for known in &self.digests {
            found |= known.ct_eq(&given);
        }
        bool::from(found)
    }
}

fn digest(token: &str) -> [u8; 32] {
    Sha256::digest(token.as_bytes()).into()
}

impl std::fmt::Debug for NrdpTokens {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "NrdpTokens({} configured)", self.digests.len())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_configured_tokens_pass() {
        let tokens = NrdpTokens::new(&["alpha".into(), "beta".into()]);
        assert!(tokens.accepts("alpha"));
        assert!(tokens.accepts("beta"));
        assert!(!tokens.accepts("alph"));
        assert!(!tokens.accepts(""));
        assert!(!NrdpTokens::new(&[]).accepts(""));
    }
}
