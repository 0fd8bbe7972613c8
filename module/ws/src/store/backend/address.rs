//! The backend's address, `alignak_backend`: read once, where the client is built, so that a
//! value the client could never call stops the start instead of failing every request; and
//! its form for the logs, without the `user:password@` it may hold.

use url::Url;

/// Why `alignak_backend` cannot be the backend's address. The value itself is not repeated:
/// one that does not parse cannot be told apart from the credentials it may hold.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum AddressError {
    #[error("alignak_backend is not a URL ({0})")]
    NotAUrl(#[from] url::ParseError),
    /// `backend:5000` parses as the scheme `backend`: the client speaks HTTP only.
    #[error("alignak_backend is not an http:// or https:// URL (its scheme is '{0}')")]
    NotHttp(String),
}

/// `alignak_backend`, parsed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Address {
    /// What the calls' paths are appended to, credentials included (the HTTP client sends
    /// them), without a trailing `/`.
    base: String,
    /// `base` without the credentials.
    shown: String,
}

impl Address {
    pub fn parse(value: &str) -> Result<Address, AddressError> {
        let mut url = Url::parse(value)?;
        if !matches!(url.scheme(), "http" | "https") {
            return Err(AddressError::NotHttp(url.scheme().to_string()));
        }
        let base = without_trailing_slash(&url);
        let has_credentials = !url.username().is_empty() || url.password().is_some();
        let shown = if has_credentials {
            // http(s) URLs always have a host, so neither setter can refuse.
            let _ = url.set_password(None);
            let _ = url.set_username("***");
            without_trailing_slash(&url)
        } else {
            base.clone()
        };
        Ok(Address { base, shown })
    }

    /// `path` on the backend.
    pub fn join(&self, path: &str) -> String {
        format!("{}/{}", self.base, path.trim_start_matches('/'))
    }

    /// For the logs: no credentials.
    pub fn shown(&self) -> &str {
        &self.shown
    }
}

/// The URL's text as the calls append to it: `http://b:5000`, not the canonical `http://b:5000/`.
fn without_trailing_slash(url: &Url) -> String {
    url.as_str().trim_end_matches('/').to_string()
}

/// `value` for the logs without its credentials; one that is no backend address is not shown
/// (the start stops on it with `AddressError`).
pub fn shown_url(value: &str) -> String {
    match Address::parse(value) {
        Ok(address) => address.shown,
        Err(_) => "(not an http:// or https:// URL)".to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn urls_are_logged_without_their_credentials() {
        assert_eq!(shown_url("http://127.0.0.1:5000"), "http://127.0.0.1:5000");
        assert_eq!(
            shown_url("https://admin:secret@backend:5000/api"),
            "https://***@backend:5000/api"
        );
        assert_eq!(shown_url("http://h/p@x"), "http://h/p@x");
    }

    #[test]
    fn a_user_and_password_are_hidden_from_the_log_but_kept_for_the_calls() {
        let address = Address::parse("http://admin:secret@backend:5000/api/").unwrap();
        assert_eq!(address.shown(), "http://***@backend:5000/api");
        assert_eq!(
            address.join("/login"),
            "http://admin:secret@backend:5000/api/login"
        );
    }

    #[test]
    fn a_user_alone_is_hidden_too() {
        let address = Address::parse("https://admin@backend").unwrap();
        assert_eq!(address.shown(), "https://***@backend");
        assert_eq!(address.join("host"), "https://admin@backend/host");
        // A password with no user name is a credential all the same.
        assert_eq!(shown_url("http://:secret@backend"), "http://***@backend");
    }

    #[test]
    fn a_url_without_credentials_is_shown_whole() {
        let address = Address::parse("http://backend:5000/").unwrap();
        assert_eq!(address.shown(), "http://backend:5000");
        assert_eq!(address.join("realm"), "http://backend:5000/realm");
    }

    #[test]
    fn a_value_that_is_no_http_url_is_refused_without_repeating_it() {
        let err = Address::parse("http://admin:secret@backend:port").unwrap_err();
        assert_eq!(
            err,
            AddressError::NotAUrl(url::ParseError::InvalidPort),
            "{err}"
        );
        assert!(!err.to_string().contains("secret"), "{err}");
        assert_eq!(
            Address::parse("").unwrap_err(),
            AddressError::NotAUrl(url::ParseError::RelativeUrlWithoutBase)
        );
        // Written without its scheme, `host:port` reads as the scheme `host`.
        assert_eq!(
            Address::parse("backend:5000").unwrap_err().to_string(),
            "alignak_backend is not an http:// or https:// URL (its scheme is 'backend')"
        );
        assert_eq!(
            shown_url("http://admin:secret@backend:port"),
            "(not an http:// or https:// URL)"
        );
    }
}
