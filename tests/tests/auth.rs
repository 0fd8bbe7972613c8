//! Authentication end to end (`authorization 1` without a backend), what needs the daemon's
//! log: the rate limit's lines, the first start's admin password shown once, a debug log with
//! no secret, the weak hashes named. The credential forms, `/login`, `/logout` and expiry run
//! in-process (`module/ws/src/api_tests/auth.rs`).
//!
//! Every answer here goes through `checked`, which fails the test if it shows a password hash.
//! Tests that fail authentications on purpose send them from their own loopback address
//! (127.0.0.x): failures are counted per (address, user) for passwords and per address for
//! tokens.

use std::os::unix::fs::PermissionsExt;

use alignak_e2e::credentials::{
    assert_401, call, cookie, from, get, get_api_with, login, login_body, users_setup, ALICE, BOB,
    USERS_FILE,
};
use alignak_e2e::{assert_contains, basic, Reply, Setup};
use serde_json::json;

fn assert_429(reply: &Reply, what: &str) {
    assert_eq!(reply.status, 429, "{what}: {}", reply.body);
    let retry_after: u64 = reply
        .header("retry-after")
        .and_then(|v| v.parse().ok())
        .unwrap_or_else(|| panic!("{what}: no Retry-After: {:?}", reply.headers));
    assert!((1..=10).contains(&retry_after), "{what}: {retry_after}");
    reply.assert_err_issue_contains("Too many failed authentications");
}

#[test]
fn failed_authentications_slow_the_failing_pair_and_no_one_else() {
    let receiver = users_setup(&[ALICE, BOB]).start();
    let attacker = from(20);
    let (token, session) = login(&receiver, attacker, ALICE);
    let wrong = basic(ALICE.0, "guess");
    for attempt in 1..=5 {
        let reply = get_api_with(&receiver, attacker, &wrong);
        assert_401(&reply, &format!("failure {attempt}"));
    }
    assert_429(
        &get_api_with(&receiver, attacker, &wrong),
        "after the burst",
    );
    // The failing pair is slowed: even its right password waits...
    let good = basic(ALICE.0, ALICE.1);
    assert_429(
        &get_api_with(&receiver, attacker, &good),
        "the failing pair's right password",
    );
    let body = json!({"username": ALICE.0, "password": ALICE.1}).to_string();
    assert_429(&login_body(&receiver, attacker, &body), "/login");
    // ... but from the same address another user's right password, any valid token and an
    // open session still work, and other addresses are not touched.
    assert_eq!(
        get_api_with(&receiver, attacker, &basic(BOB.0, BOB.1)).status,
        200,
        "another user's right password from the same address"
    );
    assert_eq!(
        get_api_with(&receiver, attacker, &basic(&token, "")).status,
        200,
        "a valid token from the same address"
    );
    let reply = get(
        &receiver,
        attacker,
        "/api",
        &[("Cookie", &cookie(&session))],
    );
    assert_eq!(reply.status, 200);
    assert_eq!(get_api_with(&receiver, from(21), &good).status, 200);

    // Failed logins count the same way.
    let guesser = from(22);
    let bad = json!({"username": ALICE.0, "password": "guess"}).to_string();
    for _ in 1..=5 {
        assert_eq!(login_body(&receiver, guesser, &bad).status, 401);
    }
    assert_429(
        &login_body(&receiver, guesser, &body),
        "/login after failed logins",
    );
    let bob = json!({"username": BOB.0, "password": BOB.1}).to_string();
    assert_eq!(login_body(&receiver, guesser, &bob).status, 200);

    // Guessing tokens from one address is slowed, whatever names the guesses carry; a valid
    // token from there still works.
    let token_guesser = from(24);
    for attempt in 1..=5 {
        let made_up = format!("{attempt}{}", "A".repeat(42));
        let reply = get_api_with(&receiver, token_guesser, &basic(&made_up, ""));
        assert_401(&reply, &format!("token guess {attempt}"));
    }
    assert_429(
        &get_api_with(&receiver, token_guesser, &basic(&"B".repeat(43), "")),
        "token guesses after the burst",
    );
    assert_eq!(
        get_api_with(&receiver, token_guesser, &basic(&token, "")).status,
        200,
        "a valid token from the guessing address"
    );

    // Many guesses at once do not get more tries than one after the other.
    let parallel = from(23);
    let statuses: Vec<u16> = std::thread::scope(|scope| {
        let handles: Vec<_> = (0..20)
            .map(|_| {
                let receiver = &receiver;
                let wrong = &wrong;
                scope.spawn(move || {
                    get(receiver, parallel, "/api", &[("Authorization", wrong)]).status
                })
            })
            .collect();
        handles.into_iter().map(|h| h.join().unwrap()).collect()
    });
    let refused = statuses.iter().filter(|&&s| s == 401).count();
    let blocked = statuses.iter().filter(|&&s| s == 429).count();
    assert_eq!((refused, blocked), (5, 15), "{statuses:?}");
    receiver.assert_log_contains("127.0.0.20: too many failed authentications");
    receiver.assert_log_contains("127.0.0.24: too many failed authentications");
}

#[test]
fn the_first_start_creates_an_admin_whose_password_is_shown_once() {
    // No users_file: the default, var/lib/alignak/users.htpasswd under the working directory.
    let receiver = Setup::new().module_param("authorization", "1").start();
    let dir = receiver.dir.path().canonicalize().unwrap();
    let path = dir.join("var/lib/alignak/users.htpasswd");
    let meta = std::fs::metadata(&path).expect("the users file is created");
    assert_eq!(meta.permissions().mode() & 0o777, 0o600);
    let text = std::fs::read_to_string(&path).unwrap();
    assert!(text.starts_with("admin:$2b$"), "{text}");
    assert_eq!(text.lines().count(), 1);
    assert!(
        dir.join("var/lib/alignak/ws.sqlite").exists(),
        "the embedded store"
    );

    let log = receiver.log();
    assert!(
        log.contains(&format!("created the users file {}", path.display())),
        "{log}"
    );
    let marker = "admin password: ";
    let start = log
        .find(marker)
        .unwrap_or_else(|| panic!("no password shown:\n{log}"))
        + marker.len();
    let password: String = log[start..]
        .chars()
        .take_while(char::is_ascii_alphanumeric)
        .collect();
    assert_eq!(password.len(), 20, "{log}");
    assert_eq!(
        log.matches(&password).count(),
        1,
        "shown once, logged never:\n{log}"
    );

    let reply = get_api_with(&receiver, from(1), &basic("admin", &password));
    assert_eq!(reply.status, 200, "{}", reply.body);
    login(&receiver, from(1), ("admin", &password));
    assert_eq!(receiver.log().matches(&password).count(), 1);
}

#[test]
fn the_debug_log_holds_no_secret() {
    let mut receiver = users_setup(&[ALICE])
        .module_param("log_level", "DEBUG")
        .rust_log("debug")
        .start();
    let client = from(1);
    let (token, session) = login(&receiver, client, ALICE);
    let wrong_password = "not-the-password-xyz";
    let wrong_token = "made-up-token-0123456789";
    let header = basic(ALICE.0, ALICE.1);
    for headers in [
        vec![("Authorization", header.clone())],
        vec![("Authorization", basic(&token, ""))],
        vec![("Cookie", cookie(&session))],
        vec![("Authorization", basic(ALICE.0, wrong_password))],
        vec![("Authorization", basic(wrong_token, ""))],
    ] {
        let headers: Vec<(&str, &str)> = headers.iter().map(|(k, v)| (*k, v.as_str())).collect();
        call(
            &receiver,
            client,
            "POST",
            "/command",
            headers.first().copied(),
        );
        get(&receiver, client, "/api", &headers);
    }
    login_body(
        &receiver,
        client,
        &json!({"username": ALICE.0, "password": wrong_password}).to_string(),
    );
    get(
        &receiver,
        client,
        "/logout",
        &[("Cookie", &cookie(&session))],
    );
    assert_eq!(receiver.terminate().code(), Some(0));
    let log = receiver.log();
    assert!(log.contains("DEBUG"), "the log is at debug level:\n{log}");
    assert_contains(&log, "user 'alice' logged in from 127.0.0.1");
    let hash = std::fs::read_to_string(receiver.dir.path().join(USERS_FILE)).unwrap();
    let hash = hash.trim().split_once(':').unwrap().1.to_string();
    for secret in [
        ALICE.1,
        wrong_password,
        wrong_token,
        token.as_str(),
        session.as_str(),
        hash.as_str(),
        header.trim_start_matches("Basic "),
    ] {
        assert!(!log.contains(secret), "the log shows '{secret}':\n{log}");
    }
}

/// A users-file line written by Debian's real `htpasswd` with `flag`; `None` (SKIPPED) without
/// it outside CI, a failure under CI (`.ci/run` installs apache2-utils).
fn real_htpasswd(flag: &str, user: &str, password: &str) -> Option<String> {
    let output = match std::process::Command::new("htpasswd")
        .args([flag, "-nb", user, password])
        .output()
    {
        Ok(output) => output,
        Err(err) => {
            alignak_e2e::skip_or_fail_under_ci(
                &format!("htpasswd cannot run ({err}): .ci/run must apt-get install apache2-utils"),
                "htpasswd is not installed (apt-get install apache2-utils)",
            );
            return None;
        }
    };
    assert!(output.status.success(), "{output:?}");
    Some(String::from_utf8(output.stdout).unwrap().trim().to_string() + "\n")
}

#[test]
fn users_of_every_htpasswd_scheme_but_crypt_log_in() {
    let cases = [
        ("-B", "bcrypt", "b pass"),
        ("-m", "md5", "m pass"),
        ("-s", "sha", "s pass"),
        ("-d", "crypt", "dpass"),
    ];
    let mut text = String::new();
    for (flag, user, password) in cases {
        let Some(line) = real_htpasswd(flag, user, password) else {
            return;
        };
        text.push_str(&line);
    }
    assert!(text.contains("$apr1$") && text.contains("{SHA}"), "{text}");
    let receiver = Setup::new()
        .module_param("authorization", "1")
        .module_param("users_file", USERS_FILE)
        .file(USERS_FILE, &text)
        .start();
    for (index, (_, user, password)) in cases.iter().enumerate() {
        let source = from(60 + index as u8);
        let reply = get_api_with(&receiver, source, &basic(user, password));
        let expected = if *user == "crypt" { 401 } else { 200 };
        assert_eq!(reply.status, expected, "{user}: {}", reply.body);
        let wrong = get_api_with(&receiver, source, &basic(user, "nope"));
        assert_eq!(wrong.status, 401, "{user}");
    }
    let log = receiver.log();
    assert_contains(&log, "user 'md5': weak hash");
    assert_contains(&log, "user 'crypt': not a bcrypt");
    for line in text.lines() {
        let hash = line.split_once(':').unwrap().1;
        assert!(!log.contains(hash), "a hash in the log: {log}");
    }
}
