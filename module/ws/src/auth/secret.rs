//! Random secrets (tokens, session ids, generated passwords) and their hashes.
//!
//! Secrets are looked up by their SHA-256 hash, never compared as they are: finding a hash in
//! a table tells a timing observer nothing about the secret (that would need a preimage), which
//! is the constant-time comparison the spec asks for.

use base64::Engine;
use sha2::{Digest, Sha256};

/// Bytes of randomness in a token or a session id.
const SECRET_BYTES: usize = 32;

#[derive(Debug, thiserror::Error)]
#[error("the system's random number generator failed: {0}")]
pub struct RandomError(getrandom::Error);

/// A new random secret, URL-safe base64 without padding (43 characters): usable as it is in a
/// cookie, a Basic `token:` header and JSON.
pub fn new_secret() -> Result<String, RandomError> {
    let mut bytes = [0u8; SECRET_BYTES];
    getrandom::fill(&mut bytes).map_err(RandomError)?;
    Ok(base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(bytes))
}

/// 32 random bytes, for a per-process key.
pub fn random_key() -> Result<[u8; 32], RandomError> {
    let mut bytes = [0u8; 32];
    getrandom::fill(&mut bytes).map_err(RandomError)?;
    Ok(bytes)
}

pub fn hash(secret: &str) -> [u8; 32] {
    Sha256::digest(secret.as_bytes()).into()
}

const ALPHANUMERIC: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789";

/// A random password of `length` letters and digits: easy to copy from a terminal, and with 20
/// characters about 119 bits of entropy.
pub fn new_password(length: usize) -> Result<String, RandomError> {
    // Bytes of 248 and above are thrown away so that every character is equally likely
    // (248 = 4 * 62).
    let limit = (256 / ALPHANUMERIC.len() * ALPHANUMERIC.len()) as u8;
    let mut password = String::with_capacity(length);
    let mut bytes = [0u8; 64];
    while password.len() < length {
        getrandom::fill(&mut bytes).map_err(RandomError)?;
        for &b in bytes.iter().filter(|&&b| b < limit) {
            if password.len() == length {
                break;
            }
            password.push(char::from(
                ALPHANUMERIC[usize::from(b) % ALPHANUMERIC.len()],
            ));
        }
    }
    Ok(password)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn secrets_are_long_distinct_and_url_safe() {
        let a = new_secret().unwrap();
        let b = new_secret().unwrap();
        assert_eq!(a.len(), 43);
        assert_ne!(a, b);
        assert!(a
            .bytes()
            .all(|c| c.is_ascii_alphanumeric() || c == b'-' || c == b'_'));
        assert_ne!(hash(&a), hash(&b));
    }

    #[test]
    fn passwords_are_alphanumeric_of_the_asked_length() {
        let p = new_password(20).unwrap();
        assert_eq!(p.len(), 20);
        assert!(p.bytes().all(|c| c.is_ascii_alphanumeric()));
        assert_ne!(p, new_password(20).unwrap());
    }
}
