//! Credentials as requests carry them: HTTP Basic (`user:password`, or `token:` with an empty
//! password, the Alignak backend's convention) and the `alignak_ws` session cookie.

use base64::Engine;
use cookie::Cookie;
use hyper::header::{AUTHORIZATION, COOKIE};
use hyper::HeaderMap;

pub const COOKIE_NAME: &str = "alignak_ws";

/// What a client presented.
#[derive(Clone, PartialEq, Eq)]
pub enum Credentials {
    Password {
        user: String,
        password: String,
    },
    Token(String),
    /// Something that can never be valid: an empty token, an unreadable header.
    Unusable,
}

// Never print a secret, not even in a debug log or a test failure.
impl std::fmt::Debug for Credentials {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Credentials::Password { user, .. } => write!(f, "Password {{ user: {user:?}, .. }}"),
            Credentials::Token(_) => f.write_str("Token(..)"),
            Credentials::Unusable => f.write_str("Unusable"),
        }
    }
}

impl Credentials {
    /// A user name and a password, as Basic or `/login`'s body give them: an empty password
    /// makes the user name a token.
    pub fn from_pair(user: &str, password: &str) -> Credentials {
        match (user.is_empty(), password.is_empty()) {
            (true, _) => Credentials::Unusable,
            (false, true) => Credentials::Token(user.to_string()),
            (false, false) => Credentials::Password {
                user: user.to_string(),
                password: password.to_string(),
            },
        }
    }
}

/// The `Authorization` header's credentials; `None` when there is no such header.
pub fn basic(headers: &HeaderMap) -> Option<Credentials> {
    let value = headers.get(AUTHORIZATION)?;
    Some(parse_basic(value.as_bytes()).unwrap_or(Credentials::Unusable))
}

fn parse_basic(value: &[u8]) -> Option<Credentials> {
    let value = std::str::from_utf8(value).ok()?.trim();
    let (scheme, encoded) = value.split_once(' ')?;
    if !scheme.eq_ignore_ascii_case("basic") {
        return None;
    }
    let decoded = base64::engine::general_purpose::STANDARD
        .decode(encoded.trim())
        .ok()?;
    let decoded = String::from_utf8(decoded).ok()?;
    // No colon at all: the whole of it is a token.
    let (user, password) = decoded.split_once(':').unwrap_or((&decoded, ""));
    Some(Credentials::from_pair(user, password))
}

/// The values of every `alignak_ws` cookie the request carries (a browser may send several,
/// from different paths).
pub fn session_ids(headers: &HeaderMap) -> Vec<&str> {
    headers
        .get_all(COOKIE)
        .iter()
        .filter_map(|value| value.to_str().ok())
        .flat_map(Cookie::split_parse)
        // A pair that does not parse is skipped, as a browser would.
        .filter_map(Result::ok)
        .filter(|cookie| cookie.name() == COOKIE_NAME)
        // The raw value borrows from the header; a quoted one is taken without its quotes.
        .filter_map(|cookie| cookie.value_raw())
        .map(|value| value.trim_matches('"'))
        .filter(|value| !value.is_empty())
        .collect()
}

// Set-Cookie is written here rather than by `cookie`, whose attribute order differs from the
// one clients and tests have seen since the first release.
fn attributes(secure: bool) -> &'static str {
    if secure {
        "; Path=/; HttpOnly; SameSite=Lax; Secure"
    } else {
        "; Path=/; HttpOnly; SameSite=Lax"
    }
}

/// The `Set-Cookie` value that gives the client its session. No `Max-Age`: the server ends
/// idle sessions, and the browser forgets the cookie when it closes.
pub fn session_cookie(id: &str, secure: bool) -> String {
    format!("{COOKIE_NAME}={id}{}", attributes(secure))
}

/// The `Set-Cookie` value that makes the client forget its session.
pub fn clear_cookie(secure: bool) -> String {
    format!("{COOKIE_NAME}=; Max-Age=0{}", attributes(secure))
}

#[cfg(test)]
mod tests {
    use super::*;
    use hyper::header::HeaderValue;

    fn headers(pairs: &[(&hyper::header::HeaderName, &str)]) -> HeaderMap {
        let mut map = HeaderMap::new();
        for (name, value) in pairs {
            map.append(*name, HeaderValue::from_str(value).unwrap());
        }
        map
    }

    fn basic_of(value: &str) -> Option<Credentials> {
        basic(&headers(&[(&AUTHORIZATION, value)]))
    }

    #[test]
    fn basic_gives_a_password_a_token_or_nothing_usable() {
        // admin:s3:cret (a colon in the password is the password's).
        assert_eq!(
            basic_of("Basic YWRtaW46czM6Y3JldA=="),
            Some(Credentials::Password {
                user: "admin".into(),
                password: "s3:cret".into()
            })
        );
        // tok: and tok
        assert_eq!(
            basic_of("basic dG9rOg=="),
            Some(Credentials::Token("tok".into()))
        );
        assert_eq!(
            basic_of("Basic dG9r"),
            Some(Credentials::Token("tok".into()))
        );
        // ":" and ":pw": no user, no token.
        assert_eq!(basic_of("Basic Og=="), Some(Credentials::Unusable));
        assert_eq!(basic_of("Basic OnB3"), Some(Credentials::Unusable));
        assert_eq!(basic_of("Bearer abc"), Some(Credentials::Unusable));
        assert_eq!(basic_of("Basic !!!"), Some(Credentials::Unusable));
        assert_eq!(basic(&HeaderMap::new()), None);
    }

    #[test]
    fn session_ids_come_from_every_cookie_header() {
        let map = headers(&[
            (&COOKIE, "a=1; alignak_ws=first"),
            (&COOKIE, "alignak_ws=; other=2;alignak_ws=second"),
        ]);
        assert_eq!(session_ids(&map), ["first", "second"]);
        // A quoted value is the value; a pair without `=` is skipped, not the header.
        let map = headers(&[(&COOKIE, r#"junk; alignak_ws="quoted""#)]);
        assert_eq!(session_ids(&map), ["quoted"]);
    }

    #[test]
    fn cookies_are_http_only_lax_and_secure_under_tls() {
        assert_eq!(
            session_cookie("x", false),
            "alignak_ws=x; Path=/; HttpOnly; SameSite=Lax"
        );
        assert!(session_cookie("x", true).ends_with("; Secure"));
        assert!(clear_cookie(false).starts_with("alignak_ws=; Max-Age=0; Path=/"));
    }

    #[test]
    fn debug_never_shows_a_secret() {
        let shown = format!(
            "{:?} {:?}",
            Credentials::from_pair("alice", "pw-secret"),
            Credentials::Token("tok-secret".into())
        );
        assert!(!shown.contains("secret"), "{shown}");
    }
}
