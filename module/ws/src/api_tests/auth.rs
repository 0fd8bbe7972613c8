// Over 400 lines, earned: authentication's rules (Basic, tokens, sessions, the rate limit, the verified-password cache), in-process.
//! Authentication in-process (`authorization 1` without a backend): the three credential
//! forms, what is refused, `/login` and `/logout`, sessions and tokens that expire, a users
//! file changed under the module, and secrets that never show in answers. What needs the
//! daemon's log stays in `tests/tests/auth.rs`.
//!
//! Every answer here goes through `checked`, which fails the test if it shows a password hash.
//! Tests that fail authentications on purpose send them from their own loopback address
//! (127.0.0.x): failures are counted per (address, user) for passwords and per address for
//! tokens.

use std::net::IpAddr;
use std::time::Duration;

use alignak_e2e::credentials::{
    assert_401, call, cookie, from, get, get_api_with, htpasswd, login, login_body, send,
    users_setup, ALICE, BOB, PROTECTED, USERS_FILE,
};
use hyper::{Method, StatusCode};
use serde_json::{json, Value};

use crate::in_process::{basic, InProcess, Reply, TestApp, USER};

#[test]
fn every_endpoint_needs_credentials_and_takes_each_form() {
    let app = users_setup(&[ALICE]).in_process();
    let client = from(1);
    let (token, session) = login(&app, client, ALICE);
    let password_header = basic(ALICE.0, ALICE.1);
    let token_header = basic(&token, "");
    let cookie_header = cookie(&session);
    for &(method, path, status) in PROTECTED {
        let reply = call(&app, client, method, path, None);
        assert_401(&reply, &format!("{method} {path} without credentials"));
        for (form, header) in [
            (
                "Basic user:password",
                ("Authorization", password_header.as_str()),
            ),
            ("Basic token:", ("Authorization", token_header.as_str())),
            ("session cookie", ("Cookie", cookie_header.as_str())),
        ] {
            let reply = call(&app, client, method, path, Some(header));
            assert_eq!(
                reply.status, status,
                "{method} {path} with {form}: {}",
                reply.body
            );
        }
    }
    // Once per credential form.
    let lines = app.wait_commands(3);
    assert_eq!(lines.len(), 3, "{lines:?}");
    assert!(lines.iter().all(|l| l == "DISABLE_NOTIFICATIONS"));
    // /login and /logout are open.
    assert_eq!(get(&app, client, "/logout", &[]).status, 200);
}

#[test]
fn wrong_unknown_and_empty_credentials_are_refused() {
    let app = users_setup(&[ALICE, BOB]).in_process();
    let (alice_token, _) = login(&app, from(1), ALICE);
    let made_up_token = "A".repeat(alice_token.len());
    let cases: Vec<(&str, Vec<(&str, String)>)> = vec![
        (
            "a wrong password",
            vec![("Authorization", basic(ALICE.0, BOB.1))],
        ),
        (
            "another user's password",
            vec![("Authorization", basic(BOB.0, ALICE.1))],
        ),
        (
            "an unknown user",
            vec![("Authorization", basic("carol", ALICE.1))],
        ),
        (
            "an unknown token",
            vec![("Authorization", basic(&made_up_token, ""))],
        ),
        (
            "a user name as a token",
            vec![("Authorization", basic(ALICE.0, ""))],
        ),
        ("an empty token", vec![("Authorization", basic("", ""))]),
        (
            "a password without user",
            vec![("Authorization", basic("", ALICE.1))],
        ),
        (
            "another scheme",
            vec![("Authorization", format!("Bearer {alice_token}"))],
        ),
        (
            "an undecodable header",
            vec![("Authorization", "Basic %%%".into())],
        ),
        (
            "an empty session cookie",
            vec![("Cookie", "alignak_ws=".into())],
        ),
        (
            "a made-up session",
            vec![("Cookie", cookie(&made_up_token))],
        ),
        ("a token as session", vec![("Cookie", cookie(&alice_token))]),
    ];
    for (index, (what, headers)) in cases.iter().enumerate() {
        let headers: Vec<(&str, &str)> = headers.iter().map(|(k, v)| (*k, v.as_str())).collect();
        let reply = get(&app, from(10 + index as u8), "/api", &headers);
        assert_401(&reply, what);
    }
}

#[test]
fn login_answers_the_originals_messages() {
    let app = users_setup(&[ALICE]).in_process();
    let client = from(1);
    let reply = get(&app, client, "/login", &[]);
    assert_eq!(reply.status, 405);
    assert_eq!(reply.header("allow"), Some("POST"));
    assert_eq!(
        reply.json(),
        json!({"_status": "ERR", "_issues": ["You must only POST on this endpoint."]})
    );
    for (body, status, message) in [
        ("{}", 400, "You must POST parameters on this endpoint."),
        ("", 400, "You must POST parameters on this endpoint."),
        (r#"{"password":"x"}"#, 400, "Missing username parameter."),
        (
            r#"{"username":null,"password":"x"}"#,
            400,
            "Missing username parameter.",
        ),
        (
            r#"{"username":"alice","password":"wrong"}"#,
            401,
            "Access denied.",
        ),
        (r#"{"username":"","password":""}"#, 401, "Access denied."),
    ] {
        let reply = login_body(&app, client, body);
        assert_eq!(reply.status, status, "{body}: {}", reply.body);
        assert_eq!(
            reply.json(),
            json!({"_status": "ERR", "_issues": [message]}),
            "{body}"
        );
        assert!(reply.cookie("alignak_ws").is_none(), "{body}");
    }
    // A body that is not declared as JSON, as the original: 415.
    let reply = send(
        &app,
        client,
        "POST",
        "/login",
        &[],
        br#"{"username":"alice"}"#,
    );
    assert_eq!(reply.status, 415);

    // Success: the token, and a session cookie.
    let reply = login_body(
        &app,
        client,
        &json!({"username": ALICE.0, "password": ALICE.1}).to_string(),
    );
    assert_eq!(reply.status, 200, "{}", reply.body);
    let token = reply.json()["_result"][0].as_str().unwrap().to_string();
    assert_eq!(reply.json(), json!({"_status": "OK", "_result": [token]}));
    assert_eq!(token.len(), 43, "{token}");
    let set_cookie = reply.set_cookies()[0].to_string();
    assert!(set_cookie.starts_with("alignak_ws="), "{set_cookie}");
    for attribute in ["Path=/", "HttpOnly", "SameSite=Lax"] {
        assert!(set_cookie.contains(attribute), "{set_cookie}");
    }
    assert!(
        !set_cookie.contains("Secure"),
        "not under plain HTTP: {set_cookie}"
    );

    // With a Basic header and no body at all (curl -u user:password -X POST).
    let header = basic(ALICE.0, ALICE.1);
    let reply = post_with(&app, client, "/login", &header);
    assert_eq!(reply.status, 200, "{}", reply.body);
    let second = reply.json()["_result"][0].as_str().unwrap().to_string();
    assert_ne!(second, token, "each password login mints a token");
    // The header wins over the body, as in the original.
    let reply = send(
        &app,
        client,
        "POST",
        "/login",
        &[
            ("Authorization", &header),
            ("Content-Type", "application/json"),
        ],
        br#"{"username":"alice","password":"wrong"}"#,
    );
    assert_eq!(reply.status, 200, "{}", reply.body);
    let wrong = basic(ALICE.0, "wrong");
    let reply = send(
        &app,
        client,
        "POST",
        "/login",
        &[
            ("Authorization", &wrong),
            ("Content-Type", "application/json"),
        ],
        json!({"username": ALICE.0, "password": ALICE.1})
            .to_string()
            .as_bytes(),
    );
    assert_eq!(
        reply.json(),
        json!({"_status": "ERR", "_issues": ["Access denied."]})
    );
    // A token logs in as itself, with or without a null password.
    for body in [
        json!({"username": token}),
        json!({"username": token, "password": null}),
    ] {
        let reply = login_body(&app, client, &body.to_string());
        assert_eq!(reply.json(), json!({"_status": "OK", "_result": [token]}));
        assert!(reply.cookie("alignak_ws").is_some());
    }
}

#[test]
fn logout_ends_the_session_and_its_token() {
    let app = users_setup(&[ALICE]).in_process();
    let client = from(1);
    let (token, session) = login(&app, client, ALICE);
    let (other_token, other_session) = login(&app, client, ALICE);
    let reply = get(&app, client, "/logout", &[("Cookie", &cookie(&session))]);
    assert_eq!(reply.status, 200);
    assert_eq!(
        reply.json(),
        json!({"_status": "OK", "_result": "Logged out"})
    );
    assert_eq!(reply.cookie("alignak_ws").as_deref(), Some(""));
    assert!(reply.set_cookies()[0].contains("Max-Age=0"));
    // Neither the session nor its token work any more...
    assert_401(
        &get(&app, client, "/api", &[("Cookie", &cookie(&session))]),
        "a logged-out session",
    );
    assert_401(
        &get_api_with(&app, client, &basic(&token, "")),
        "a logged-out token",
    );
    // ... and the token cannot open a new session either.
    let reply = login_body(&app, client, &json!({"username": token}).to_string());
    assert_eq!(reply.status, 401);
    // The other session is untouched.
    let reply = get(&app, client, "/api", &[("Cookie", &cookie(&other_session))]);
    assert_eq!(reply.status, 200);
    // Logging out with Basic token: revokes that token, and so ends its session too.
    let header = basic(&other_token, "");
    let reply = post_with(&app, client, "/logout", &header);
    assert_eq!(
        reply.json(),
        json!({"_status": "OK", "_result": "Logged out"})
    );
    assert_401(&get_api_with(&app, from(2), &header), "a revoked token");
    assert_401(
        &get(&app, client, "/api", &[("Cookie", &cookie(&other_session))]),
        "the session of a revoked token",
    );
}

/// A POST with credentials in its Authorization header and no body at all, as
/// `curl -u user:password -X POST` sends.
fn post_with(app: &TestApp, client: IpAddr, path: &str, authorization: &str) -> Reply {
    send(
        app,
        client,
        "POST",
        path,
        &[("Authorization", authorization)],
        b"",
    )
}

/// Alice logged in (her token and session) on a module whose `timeout_key` is 2 seconds, for
/// the tests that wait for it to pass.
fn alice_with_a_short(timeout_key: &str) -> (TestApp, IpAddr, String, String) {
    let app = users_setup(&[ALICE])
        .module_param(timeout_key, "2")
        .in_process();
    let client = from(1);
    let (token, session) = login(&app, client, ALICE);
    (app, client, token, session)
}

#[test]
fn an_idle_session_expires_but_not_its_token() {
    let (app, client, token, session) = alice_with_a_short("session_timeout");
    let session_cookie = cookie(&session);
    let with_cookie = [("Cookie", session_cookie.as_str())];
    assert_eq!(get(&app, client, "/api", &with_cookie).status, 200);
    std::thread::sleep(Duration::from_millis(3500));
    assert_401(&get(&app, client, "/api", &with_cookie), "an idle session");
    // token_timeout is 30 days: the token itself is still good.
    let reply = get_api_with(&app, client, &basic(&token, ""));
    assert_eq!(reply.status, 200);
}

#[test]
fn a_token_expires_and_its_session_with_it() {
    let (app, client, token, session) = alice_with_a_short("token_timeout");
    let header = basic(&token, "");
    assert_eq!(get_api_with(&app, client, &header).status, 200);
    std::thread::sleep(Duration::from_millis(3500));
    assert_401(&get_api_with(&app, client, &header), "an expired token");
    assert_401(
        &get(&app, client, "/api", &[("Cookie", &cookie(&session))]),
        "the session of an expired token",
    );
    // The password still logs in, with a new token.
    let (new_token, _) = login(&app, client, ALICE);
    assert_ne!(new_token, token);
}

#[test]
fn a_cached_password_is_refused_once_changed_or_removed_and_a_wrong_one_never_served() {
    let app = users_setup(&[ALICE, BOB]).in_process();
    let client = from(30);
    let alice = basic(ALICE.0, ALICE.1);
    let bob = basic(BOB.0, BOB.1);
    for _ in 0..3 {
        assert_eq!(get_api_with(&app, client, &alice).status, 200);
        assert_eq!(get_api_with(&app, client, &bob).status, 200);
    }
    // While the right password is cached, a wrong one is still refused.
    let near = basic(ALICE.0, &format!("{} ", ALICE.1));
    assert_401(&get_api_with(&app, from(31), &near), "wrong while cached");
    // alice's password changes: the cached one is refused from the next request.
    rewrite_users(&app, &[("alice", "a new one"), BOB]);
    assert_401(&get_api_with(&app, client, &alice), "old password");
    assert_eq!(
        get_api_with(&app, client, &basic("alice", "a new one")).status,
        200
    );
    assert_eq!(get_api_with(&app, client, &bob).status, 200);
    // bob is removed: refused from the next request.
    rewrite_users(&app, &[("alice", "a new one")]);
    assert_401(&get_api_with(&app, client, &bob), "removed user");
}

#[test]
fn a_wrong_password_is_told_apart_from_no_credentials_but_not_from_an_unknown_user() {
    let app = users_setup(&[ALICE]).in_process();
    let text = |reply: Reply| reply.json()["_issues"][0].as_str().unwrap().to_string();
    let none = text(get(&app, from(40), "/api", &[]));
    let wrong = text(get_api_with(&app, from(41), &basic(ALICE.0, "x")));
    let unknown = text(get_api_with(&app, from(42), &basic("carol", "x")));
    let token = text(get_api_with(&app, from(43), &basic(&"A".repeat(43), "")));
    assert_ne!(none, wrong);
    assert_eq!(wrong, unknown, "the answer must not tell which users exist");
    assert_eq!(wrong, token);
}

#[test]
fn passwords_longer_than_72_bytes_are_refused_with_a_clear_message() {
    let long = "p".repeat(72);
    let longer = format!("{long}x");
    let app = users_setup(&[("alice", long.as_str())]).in_process();
    let client = from(50);
    assert_eq!(
        get_api_with(&app, client, &basic("alice", &long)).status,
        200
    );
    for reply in [
        get_api_with(&app, client, &basic("alice", &longer)),
        login_body(
            &app,
            client,
            &json!({"username": "alice", "password": longer}).to_string(),
        ),
    ] {
        assert_eq!(reply.status, 400, "{}", reply.body);
        let issue = reply.json()["_issues"][0].as_str().unwrap().to_string();
        assert!(issue.contains("longer than 72 bytes"), "{issue}");
    }
}

#[test]
fn no_answer_shows_a_hash_or_another_users_token() {
    let app = users_setup(&[ALICE, BOB]).in_process();
    let client = from(1);
    let mut answers: Vec<(&str, Reply)> = Vec::new();
    let (alice_token, alice_session) = login(&app, client, ALICE);
    let (bob_token, bob_session) = login(&app, client, BOB);
    let alice_forms = [
        ("Authorization", basic(ALICE.0, ALICE.1)),
        ("Authorization", basic(&alice_token, "")),
        ("Cookie", cookie(&alice_session)),
    ];
    let bob_forms = [
        ("Authorization", basic(BOB.0, BOB.1)),
        ("Authorization", basic(&bob_token, "")),
        ("Cookie", cookie(&bob_session)),
    ];
    for (who, forms) in [("alice", &alice_forms), ("bob", &bob_forms)] {
        for (name, value) in forms.iter() {
            for &(method, path, _) in PROTECTED {
                answers.push((who, call(&app, client, method, path, Some((name, value)))));
            }
            for (method, path) in [("POST", "/login"), ("GET", "/login")] {
                answers.push((who, send(&app, client, method, path, &[(name, value)], b"")));
            }
        }
    }
    for &(method, path, _) in PROTECTED {
        answers.push(("nobody", call(&app, client, method, path, None)));
    }
    // Their own logins are the only answers that carry a token; each its own.
    let alice_login = login_body(
        &app,
        client,
        &json!({"username": ALICE.0, "password": ALICE.1}).to_string(),
    );
    let alice_new: Value = alice_login.json()["_result"][0].clone();
    answers.push(("alice", alice_login));
    answers.push((
        "bob",
        get(
            &app,
            client,
            "/logout",
            &[("Cookie", &cookie(&bob_session))],
        ),
    ));
    answers.push((
        "alice",
        get(
            &app,
            client,
            "/logout",
            &[("Cookie", &cookie(&alice_session))],
        ),
    ));
    for (who, reply) in &answers {
        let others: Vec<&str> = match *who {
            "alice" => vec![
                bob_token.as_str(),
                bob_session.as_str(),
                alice_session.as_str(),
            ],
            "bob" => vec![
                alice_token.as_str(),
                alice_session.as_str(),
                bob_session.as_str(),
            ],
            _ => vec![
                alice_token.as_str(),
                bob_token.as_str(),
                alice_session.as_str(),
                bob_session.as_str(),
            ],
        };
        for secret in others {
            assert!(
                !reply.body.contains(secret),
                "{who} got a secret: {}",
                reply.body
            );
        }
        if let Some(new) = alice_new.as_str() {
            assert!(*who == "alice" || !reply.body.contains(new));
        }
    }
    assert!(answers.len() > 100, "{}", answers.len());
}

/// Replaces the users file as `htpasswd` does (a new file renamed into place).
fn rewrite_users(app: &TestApp, users: &[(&str, &str)]) {
    let path = app.dir().join(USERS_FILE);
    let new = app.dir().join("etc/users.new");
    std::fs::write(&new, htpasswd(users)).unwrap();
    std::fs::rename(&new, &path).unwrap();
}

#[test]
fn authorization_asks_credentials_takes_the_users_password_and_its_token() {
    let app = TestApp::spawn(&[("authorization", "1")]);
    let command = json!({"command": "disable_notifications"});
    let (status, answer) = app.call(Method::POST, "/command", Some(command.clone()), &[]);
    assert_eq!(status, StatusCode::UNAUTHORIZED, "{answer}");
    assert_eq!(answer["_status"], "ERR");

    let wrong = basic(USER.0, "not the password");
    let (status, _) = app.call(
        Method::POST,
        "/command",
        Some(command.clone()),
        &[("authorization", &wrong)],
    );
    assert_eq!(status, StatusCode::UNAUTHORIZED);
    assert!(app.commands().is_empty());

    let right = basic(USER.0, USER.1);
    let (status, answer) = app.call(
        Method::POST,
        "/command",
        Some(command.clone()),
        &[("authorization", &right)],
    );
    assert_eq!(status, StatusCode::OK, "{answer}");

    let (status, login) = app.call(Method::POST, "/login", None, &[("authorization", &right)]);
    assert_eq!(status, StatusCode::OK, "{login}");
    let token = login["_result"][0].as_str().expect("a token").to_string();
    let by_token = basic(&token, "");
    let (status, answer) = app.call(
        Method::POST,
        "/command",
        Some(command),
        &[("authorization", &by_token)],
    );
    assert_eq!(status, StatusCode::OK, "{answer}");
    assert_eq!(app.commands().len(), 2);
}
