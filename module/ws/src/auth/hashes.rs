//! The password hashes Apache's `htpasswd` writes, and their check: bcrypt (`-B`, `$2y$`),
//! MD5 (`-m`, the default, `$apr1$`) and SHA-1 (`-s`, `{SHA}`). The last two are weak (fast
//! to try offline, `{SHA}` unsalted): taken so that existing Nagios `htpasswd.users` files work,
//! with a warning at load. `crypt` (`-d`) is not taken: it reads 8 characters only.

use base64::Engine;
use md5::{Digest as _, Md5};
use sha1::Sha1;
use sha2::Sha256;

/// A hash scheme of the users file.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Scheme {
    Bcrypt,
    Apr1,
    Sha1,
}

impl Scheme {
    /// The scheme of a stored hash, if it is one of those taken.
    pub fn of(hash: &str) -> Option<Scheme> {
        if ["$2y$", "$2b$", "$2a$"].iter().any(|p| hash.starts_with(p)) {
            Some(Scheme::Bcrypt)
        } else if hash.starts_with(APR1_MAGIC) {
            Some(Scheme::Apr1)
        } else if hash.starts_with(SHA_PREFIX) {
            Some(Scheme::Sha1)
        } else {
            None
        }
    }

    /// Whether offline guessing of it is cheap.
    pub fn is_weak(self) -> bool {
        self != Scheme::Bcrypt
    }
}

const APR1_MAGIC: &str = "$apr1$";
const SHA_PREFIX: &str = "{SHA}";

/// Whether `password` matches `hash`. Blocking for bcrypt (slow on purpose).
pub fn verify(password: &str, hash: &str) -> bool {
    match Scheme::of(hash) {
        Some(Scheme::Bcrypt) => bcrypt::verify(password, hash).unwrap_or(false),
        Some(Scheme::Apr1) => {
            let salt = hash[APR1_MAGIC.len()..].split('$').next().unwrap_or("");
            same(&apr1(password.as_bytes(), salt.as_bytes()), hash)
        }
        Some(Scheme::Sha1) => {
            let digest = Sha1::digest(password.as_bytes());
            let computed = format!(
                "{SHA_PREFIX}{}",
                base64::engine::general_purpose::STANDARD.encode(digest)
            );
            same(&computed, hash)
        }
        None => false,
    }
}

/// Compares through SHA-256 digests, so that the time taken says nothing about how much of
/// the stored hash a guess matched.
fn same(a: &str, b: &str) -> bool {
    Sha256::digest(a.as_bytes()) == Sha256::digest(b.as_bytes())
}

const ITOA64: &[u8] = b"./0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz";

/// Apache's MD5-crypt (`$apr1$salt$digest`): the FreeBSD MD5 crypt with Apache's magic.
/// No crate of the RustCrypto family does it; it is 1000 rounds of MD5 as published by
/// Poul-Henning Kamp, checked here against hashes written by Debian's `htpasswd -m`.
fn apr1(password: &[u8], salt: &[u8]) -> String {
    let salt = &salt[..salt.len().min(8)];
    let alternate = Md5::new()
        .chain_update(password)
        .chain_update(salt)
        .chain_update(password)
        .finalize();
    let mut context = Md5::new()
        .chain_update(password)
        .chain_update(APR1_MAGIC.as_bytes())
        .chain_update(salt);
    let mut left = password.len();
    while left > 0 {
        let n = left.min(16);
        context.update(&alternate[..n]);
        left -= n;
    }
    let mut bits = password.len();
    while bits > 0 {
        if bits & 1 == 1 {
            context.update([0u8]);
        } else {
            context.update(&password[..1]);
        }
        bits >>= 1;
    }
    let mut digest = context.finalize();
    for round in 0..1000 {
        let mut c = Md5::new();
        if round & 1 == 1 {
            c.update(password);
        } else {
            c.update(digest);
        }
        if round % 3 != 0 {
            c.update(salt);
        }
        if round % 7 != 0 {
            c.update(password);
        }
        if round & 1 == 1 {
            c.update(digest);
        } else {
            c.update(password);
        }
        digest = c.finalize();
    }
    let mut out = String::with_capacity(37);
    out.push_str(APR1_MAGIC);
    out.push_str(&String::from_utf8_lossy(salt));
    out.push('$');
    let mut push = |mut value: u32, count: usize| {
        for _ in 0..count {
            out.push(char::from(ITOA64[(value & 0x3f) as usize]));
            value >>= 6;
        }
    };
    let d = |i: usize| u32::from(digest[i]);
    for (a, b, c) in [(0, 6, 12), (1, 7, 13), (2, 8, 14), (3, 9, 15), (4, 10, 5)] {
        push((d(a) << 16) | (d(b) << 8) | d(c), 4);
    }
    push(d(11), 2);
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    // Written by Debian's `htpasswd -nbm` and `htpasswd -nbs` (apache2-utils 2.4).
    const APR1: &str = "$apr1$Xz/a5lcn$xfmX0GhigpEmt86HlBeIt/";
    const SHA: &str = "{SHA}RkzHrH9qzsJF2xa6l4pcBFHUZ+A=";

    #[test]
    fn htpasswd_m_and_s_hashes_verify() {
        assert!(verify("correct horse battery", APR1));
        assert!(!verify("correct horse batter", APR1));
        assert!(!verify("", APR1));
        assert!(verify("staple 42", SHA));
        assert!(!verify("staple 43", SHA));
        // An empty password, as htpasswd -nbm dave '' wrote it.
        assert!(verify("", "$apr1$hMuawxBH$1cfBMkhox/zXwCT9TfP5Q."));
    }

    #[test]
    fn crypt_and_unknown_schemes_are_not_taken() {
        assert_eq!(Scheme::of("2w18ct5R8E3s6"), None);
        assert!(!verify("tr0ub4d0r", "2w18ct5R8E3s6"));
        assert!(!verify("x", "$1$abc$def"));
        assert!(Scheme::of(APR1).unwrap().is_weak());
        assert!(!Scheme::of("$2y$05$x").unwrap().is_weak());
    }
}
