//! The availability check of `alignak_backend_polling_period`: the module's own credentials
//! (`username`/`password`, or `token`) tried every period, and each change logged. Requests
//! never wait for it and are never refused because of it: each one calls the backend.

use std::sync::{Arc, Condvar, Mutex};
use std::time::Duration;

use super::client::Client;
use crate::config::WsConfig;

/// Stops the check thread when dropped. The thread is not joined: a check in progress may
/// wait its call bounds on a backend that hangs, and the module's stop must not.
pub struct Poller {
    stop: Arc<(Mutex<bool>, Condvar)>,
}

enum Credentials {
    Login { username: String, password: String },
    Token(String),
}

impl Poller {
    pub fn start(client: Arc<Client>, config: &WsConfig) -> Option<Poller> {
        let period = Duration::from_secs(config.alignak_backend_polling_period);
        if period.is_zero() {
            return None;
        }
        let credentials = if !config.backend_token.is_empty() {
            Credentials::Token(config.backend_token.clone())
        } else if !config.backend_username.is_empty() {
            Credentials::Login {
                username: config.backend_username.clone(),
                password: config.backend_password.clone(),
            }
        } else {
            log::info!("Alignak backend: no username/password nor token configured for the module's own availability check; not polled");
            return None;
        };
        let stop = Arc::new((Mutex::new(false), Condvar::new()));
        let flag = Arc::clone(&stop);
        std::thread::Builder::new()
            .name("ws-backend-poll".into())
            .spawn(move || run(&client, &credentials, period, &flag))
            .map_err(|e| log::error!("Alignak backend availability check not started: {e}"))
            .ok()?;
        Some(Poller { stop })
    }
}

fn check(client: &Client, credentials: &Credentials) -> Result<(), String> {
    let token = match credentials {
        Credentials::Token(token) => token.clone(),
        Credentials::Login { username, password } => client
            .login(username, password)
            .map_err(|e| e.to_string())?
            .ok_or_else(|| format!("the backend refused the login of '{username}'"))?,
    };
    client
        .get(
            Some(&token),
            "realm",
            &[("max_results", "1".into()), ("sort", "_level".into())],
        )
        .map(|_| ())
        .map_err(|e| e.to_string())
}

fn run(
    client: &Client,
    credentials: &Credentials,
    period: Duration,
    stop: &(Mutex<bool>, Condvar),
) {
    let mut last: Option<Result<(), String>> = None;
    loop {
        let now = check(client, credentials);
        if last.as_ref() != Some(&now) {
            match &now {
                Ok(()) => log::info!("Alignak backend is available at {}", client.shown()),
                Err(why) => log::warn!(
                    "Alignak backend at {} is not available currently: {why}",
                    client.shown()
                ),
            }
        }
        last = Some(now);
        let (flag, wake) = stop;
        let guard = flag.lock().unwrap_or_else(|p| p.into_inner());
        let (guard, _) = wake
            .wait_timeout_while(guard, period, |stopped| !*stopped)
            .unwrap_or_else(|p| p.into_inner());
        if *guard {
            return;
        }
    }
}

impl Drop for Poller {
    fn drop(&mut self) {
        let (flag, wake) = &*self.stop;
        *flag.lock().unwrap_or_else(|p| p.into_inner()) = true;
        wake.notify_all();
    }
}
