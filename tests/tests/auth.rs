//! Authentication end to end (`authorization 1` without a backend): the three credential
//! forms, what is refused, `/login` and `/logout`, sessions and tokens that expire, the rate
//! limit, the first start's admin user, and secrets that never show in answers or logs.
//!
//! Every answer here goes through `checked`, which fails the test if it shows a password hash.
//! Tests that fail authentications on purpose send them from their own loopback address
//! (127.0.0.x): failures are counted per (address, user) for passwords and per address for
//! tokens.

use std::net::{IpAddr, Ipv4Addr};
use std::os::unix::fs::PermissionsExt;
use std::time::Duration;

use alignak_e2e::{basic, Receiver, Reply, Setup};
use serde_json::{json, Value};

const USERS_FILE: &str = "etc/users.htpasswd";
const ALICE: (&str, &str) = ("alice", "correct horse battery");
const BOB: (&str, &str) = ("bob", "staple 42 Tr0ub4dor");

/// An htpasswd file as `htpasswd -B` writes it (`$2y$`), cost 4 to keep the tests fast.
fn htpasswd(users: &[(&str, &str)]) -> String {
    users
        .iter()
        .map(|(user, password)| {
            let hash = bcrypt::hash_with_result(password, 4)
                .unwrap()
                .format_for_version(bcrypt::Version::TwoY);
            format!("{user}:{hash}\n")
        })
        .collect()
}

fn setup(users: &[(&str, &str)]) -> Setup {
    Setup::new()
        .module_param("authorization", "1")
        .module_param("users_file", USERS_FILE)
        .file(USERS_FILE, &htpasswd(users))
}

fn from(last: u8) -> IpAddr {
    IpAddr::V4(Ipv4Addr::new(127, 0, 0, last))
}

/// Fails the test if an answer shows a password hash.
fn checked(reply: Reply) -> Reply {
    for marker in ["$2y$", "$2b$", "$2a$"] {
        assert!(
            !reply.body.contains(marker),
            "an answer shows a password hash: {}",
            reply.body
        );
    }
    reply
}

fn send(
    receiver: &Receiver,
    source: IpAddr,
    method: &str,
    path: &str,
    headers: &[(&str, &str)],
    body: &[u8],
) -> Reply {
    checked(receiver.request_from(source, method, path, headers, body))
}

fn get(receiver: &Receiver, source: IpAddr, path: &str, headers: &[(&str, &str)]) -> Reply {
    send(receiver, source, "GET", path, headers, b"")
}

fn login_body(receiver: &Receiver, source: IpAddr, body: &str) -> Reply {
    send(
        receiver,
        source,
        "POST",
        "/login",
        &[("Content-Type", "application/json")],
        body.as_bytes(),
    )
}

/// Logs in with a JSON body; returns the token and the session cookie's value.
fn login(receiver: &Receiver, source: IpAddr, (user, password): (&str, &str)) -> (String, String) {
    let body = json!({"username": user, "password": password}).to_string();
    let reply = login_body(receiver, source, &body);
    assert_eq!(reply.status, 200, "{}", reply.body);
    let token = reply.json()["_result"][0].as_str().unwrap().to_string();
    let cookie = reply.cookie("alignak_ws").expect("a session cookie");
    (token, cookie)
}

fn cookie(id: &str) -> String {
    format!("alignak_ws={id}")
}

fn assert_401(reply: &Reply, what: &str) {
    assert_eq!(reply.status, 401, "{what}: {}", reply.body);
    assert_eq!(
        reply.header("www-authenticate"),
        Some("Basic realm=\"Alignak\""),
        "{what}"
    );
    assert_eq!(reply.header("content-type"), Some("application/json"));
    let json = reply.json();
    assert_eq!(json["_status"], "ERR", "{what}");
    assert!(json["_issues"][0].is_string(), "{what}");
}

/// Every protected endpoint, and what it answers once authenticated.
const PROTECTED: &[(&str, &str, u16)] = &[
    ("GET", "/", 200),
    ("GET", "/index", 200),
    ("GET", "/api", 200),
    ("GET", "/api_full", 200),
    ("GET", "/are_you_alive", 200),
    ("GET", "/ws/are_you_alive", 200),
    ("POST", "/command", 200),
    ("GET", "/host", 200),
    ("GET", "/host/h1", 404),
    ("PATCH", "/host/h1", 404),
    ("GET", "/hostgroup", 404),
    ("POST", "/event", 400),
    ("GET", "/alignak_logs", 200),
    ("GET", "/alignak_map", 200),
];

fn call(
    receiver: &Receiver,
    source: IpAddr,
    method: &str,
    path: &str,
    auth: Option<(&str, &str)>,
) -> Reply {
    let mut headers = vec![("Content-Type", "application/json")];
    headers.extend(auth);
    let body: &[u8] = if method == "GET" {
        b""
    } else {
        br#"{"command":"disable_notifications"}"#
    };
    send(receiver, source, method, path, &headers, body)
}

#[test]
fn every_endpoint_needs_credentials_and_takes_each_form() {
    let receiver = setup(&[ALICE]).start();
    let client = from(1);
    let (token, session) = login(&receiver, client, ALICE);
    let password_header = basic(ALICE.0, ALICE.1);
    let token_header = basic(&token, "");
    let cookie_header = cookie(&session);
    for &(method, path, status) in PROTECTED {
        let reply = call(&receiver, client, method, path, None);
        assert_401(&reply, &format!("{method} {path} without credentials"));
        for (form, header) in [
            (
                "Basic user:password",
                ("Authorization", password_header.as_str()),
            ),
            ("Basic token:", ("Authorization", token_header.as_str())),
            ("session cookie", ("Cookie", cookie_header.as_str())),
        ] {
            let reply = call(&receiver, client, method, path, Some(header));
            assert_eq!(
                reply.status, status,
                "{method} {path} with {form}: {}",
                reply.body
            );
        }
    }
    // Once per credential form.
    let lines = receiver.wait_commands(3);
    assert_eq!(lines.len(), 3, "{lines:?}");
    assert!(lines.iter().all(|l| l.ends_with("] DISABLE_NOTIFICATIONS")));
    // /login and /logout are open.
    assert_eq!(get(&receiver, client, "/logout", &[]).status, 200);
}

#[test]
fn wrong_unknown_and_empty_credentials_are_refused() {
    let receiver = setup(&[ALICE, BOB]).start();
    let (alice_token, _) = login(&receiver, from(1), ALICE);
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
        let reply = get(&receiver, from(10 + index as u8), "/api", &headers);
        assert_401(&reply, what);
    }
}

#[test]
fn login_answers_the_originals_messages() {
    let receiver = setup(&[ALICE]).start();
    let client = from(1);
    let reply = get(&receiver, client, "/login", &[]);
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
        let reply = login_body(&receiver, client, body);
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
        &receiver,
        client,
        "POST",
        "/login",
        &[],
        br#"{"username":"alice"}"#,
    );
    assert_eq!(reply.status, 415);

    // Success: the token, and a session cookie.
    let reply = login_body(
        &receiver,
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
    let reply = send(
        &receiver,
        client,
        "POST",
        "/login",
        &[("Authorization", &header)],
        b"",
    );
    assert_eq!(reply.status, 200, "{}", reply.body);
    let second = reply.json()["_result"][0].as_str().unwrap().to_string();
    assert_ne!(second, token, "each password login mints a token");
    // The header wins over the body, as in the original.
    let reply = send(
        &receiver,
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
        &receiver,
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
        let reply = login_body(&receiver, client, &body.to_string());
        assert_eq!(reply.json(), json!({"_status": "OK", "_result": [token]}));
        assert!(reply.cookie("alignak_ws").is_some());
    }
}

#[test]
fn logout_ends_the_session_and_its_token() {
    let receiver = setup(&[ALICE]).start();
    let client = from(1);
    let (token, session) = login(&receiver, client, ALICE);
    let (other_token, other_session) = login(&receiver, client, ALICE);
    let reply = get(
        &receiver,
        client,
        "/logout",
        &[("Cookie", &cookie(&session))],
    );
    assert_eq!(reply.status, 200);
    assert_eq!(
        reply.json(),
        json!({"_status": "OK", "_result": "Logged out"})
    );
    assert_eq!(reply.cookie("alignak_ws").as_deref(), Some(""));
    assert!(reply.set_cookies()[0].contains("Max-Age=0"));
    // Neither the session nor its token work any more...
    assert_401(
        &get(&receiver, client, "/api", &[("Cookie", &cookie(&session))]),
        "a logged-out session",
    );
    assert_401(
        &get(
            &receiver,
            client,
            "/api",
            &[("Authorization", &basic(&token, ""))],
        ),
        "a logged-out token",
    );
    // ... and the token cannot open a new session either.
    let reply = login_body(&receiver, client, &json!({"username": token}).to_string());
    assert_eq!(reply.status, 401);
    // The other session is untouched.
    let reply = get(
        &receiver,
        client,
        "/api",
        &[("Cookie", &cookie(&other_session))],
    );
    assert_eq!(reply.status, 200);
    // Logging out with Basic token: revokes that token, and so ends its session too.
    let header = basic(&other_token, "");
    let reply = send(
        &receiver,
        client,
        "POST",
        "/logout",
        &[("Authorization", &header)],
        b"",
    );
    assert_eq!(
        reply.json(),
        json!({"_status": "OK", "_result": "Logged out"})
    );
    assert_401(
        &get(&receiver, from(2), "/api", &[("Authorization", &header)]),
        "a revoked token",
    );
    assert_401(
        &get(
            &receiver,
            client,
            "/api",
            &[("Cookie", &cookie(&other_session))],
        ),
        "the session of a revoked token",
    );
}

#[test]
fn an_idle_session_expires_but_not_its_token() {
    let receiver = setup(&[ALICE]).module_param("session_timeout", "2").start();
    let client = from(1);
    let (token, session) = login(&receiver, client, ALICE);
    let with_cookie = [("Cookie", cookie(&session))];
    let with_cookie: Vec<(&str, &str)> =
        with_cookie.iter().map(|(k, v)| (*k, v.as_str())).collect();
    assert_eq!(get(&receiver, client, "/api", &with_cookie).status, 200);
    std::thread::sleep(Duration::from_millis(3500));
    assert_401(
        &get(&receiver, client, "/api", &with_cookie),
        "an idle session",
    );
    // token_timeout is 30 days: the token itself is still good.
    let reply = get(
        &receiver,
        client,
        "/api",
        &[("Authorization", &basic(&token, ""))],
    );
    assert_eq!(reply.status, 200);
}

#[test]
fn a_token_expires_and_its_session_with_it() {
    let receiver = setup(&[ALICE]).module_param("token_timeout", "2").start();
    let client = from(1);
    let (token, session) = login(&receiver, client, ALICE);
    let header = basic(&token, "");
    assert_eq!(
        get(&receiver, client, "/api", &[("Authorization", &header)]).status,
        200
    );
    std::thread::sleep(Duration::from_millis(3500));
    assert_401(
        &get(&receiver, client, "/api", &[("Authorization", &header)]),
        "an expired token",
    );
    assert_401(
        &get(&receiver, client, "/api", &[("Cookie", &cookie(&session))]),
        "the session of an expired token",
    );
    // The password still logs in, with a new token.
    let (new_token, _) = login(&receiver, client, ALICE);
    assert_ne!(new_token, token);
}

fn assert_429(reply: &Reply, what: &str) {
    assert_eq!(reply.status, 429, "{what}: {}", reply.body);
    let retry_after: u64 = reply
        .header("retry-after")
        .and_then(|v| v.parse().ok())
        .unwrap_or_else(|| panic!("{what}: no Retry-After: {:?}", reply.headers));
    assert!((1..=10).contains(&retry_after), "{what}: {retry_after}");
    let json = reply.json();
    assert_eq!(json["_status"], "ERR");
    assert!(
        json["_issues"][0]
            .as_str()
            .unwrap()
            .contains("Too many failed authentications"),
        "{json}"
    );
}

#[test]
fn failed_authentications_slow_the_failing_pair_and_no_one_else() {
    let receiver = setup(&[ALICE, BOB]).start();
    let attacker = from(20);
    let (token, session) = login(&receiver, attacker, ALICE);
    let wrong = basic(ALICE.0, "guess");
    for attempt in 1..=5 {
        let reply = get(&receiver, attacker, "/api", &[("Authorization", &wrong)]);
        assert_401(&reply, &format!("failure {attempt}"));
    }
    assert_429(
        &get(&receiver, attacker, "/api", &[("Authorization", &wrong)]),
        "after the burst",
    );
    // The failing pair is slowed: even its right password waits...
    let good = basic(ALICE.0, ALICE.1);
    assert_429(
        &get(&receiver, attacker, "/api", &[("Authorization", &good)]),
        "the failing pair's right password",
    );
    let body = json!({"username": ALICE.0, "password": ALICE.1}).to_string();
    assert_429(&login_body(&receiver, attacker, &body), "/login");
    // ... but from the same address another user's right password, any valid token and an
    // open session still work, and other addresses are not touched.
    assert_eq!(
        get(
            &receiver,
            attacker,
            "/api",
            &[("Authorization", &basic(BOB.0, BOB.1))]
        )
        .status,
        200,
        "another user's right password from the same address"
    );
    assert_eq!(
        get(
            &receiver,
            attacker,
            "/api",
            &[("Authorization", &basic(&token, ""))]
        )
        .status,
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
    assert_eq!(
        get(&receiver, from(21), "/api", &[("Authorization", &good)]).status,
        200
    );

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
        let reply = get(
            &receiver,
            token_guesser,
            "/api",
            &[("Authorization", &basic(&made_up, ""))],
        );
        assert_401(&reply, &format!("token guess {attempt}"));
    }
    assert_429(
        &get(
            &receiver,
            token_guesser,
            "/api",
            &[("Authorization", &basic(&"B".repeat(43), ""))],
        ),
        "token guesses after the burst",
    );
    assert_eq!(
        get(
            &receiver,
            token_guesser,
            "/api",
            &[("Authorization", &basic(&token, ""))]
        )
        .status,
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
    let log = receiver.log();
    assert!(
        log.contains("127.0.0.20: too many failed authentications"),
        "{log}"
    );
    assert!(
        log.contains("127.0.0.24: too many failed authentications"),
        "{log}"
    );
}

/// Replaces the users file as `htpasswd` does (a new file renamed into place).
fn rewrite_users(receiver: &Receiver, users: &[(&str, &str)]) {
    let path = receiver.dir.path().join(USERS_FILE);
    let new = receiver.dir.path().join("etc/users.new");
    std::fs::write(&new, htpasswd(users)).unwrap();
    std::fs::rename(&new, &path).unwrap();
}

#[test]
fn a_cached_password_is_refused_once_changed_or_removed_and_a_wrong_one_never_served() {
    let receiver = setup(&[ALICE, BOB]).start();
    let client = from(30);
    let alice = basic(ALICE.0, ALICE.1);
    let bob = basic(BOB.0, BOB.1);
    for _ in 0..3 {
        assert_eq!(
            get(&receiver, client, "/api", &[("Authorization", &alice)]).status,
            200
        );
        assert_eq!(
            get(&receiver, client, "/api", &[("Authorization", &bob)]).status,
            200
        );
    }
    // While the right password is cached, a wrong one is still refused.
    let near = basic(ALICE.0, &format!("{} ", ALICE.1));
    assert_401(
        &get(&receiver, from(31), "/api", &[("Authorization", &near)]),
        "wrong while cached",
    );
    // alice's password changes: the cached one is refused from the next request.
    rewrite_users(&receiver, &[("alice", "a new one"), BOB]);
    assert_401(
        &get(&receiver, client, "/api", &[("Authorization", &alice)]),
        "old password",
    );
    assert_eq!(
        get(
            &receiver,
            client,
            "/api",
            &[("Authorization", &basic("alice", "a new one"))]
        )
        .status,
        200
    );
    assert_eq!(
        get(&receiver, client, "/api", &[("Authorization", &bob)]).status,
        200
    );
    // bob is removed: refused from the next request.
    rewrite_users(&receiver, &[("alice", "a new one")]);
    assert_401(
        &get(&receiver, client, "/api", &[("Authorization", &bob)]),
        "removed user",
    );
}

#[test]
fn a_wrong_password_is_told_apart_from_no_credentials_but_not_from_an_unknown_user() {
    let receiver = setup(&[ALICE]).start();
    let text = |reply: Reply| reply.json()["_issues"][0].as_str().unwrap().to_string();
    let none = text(get(&receiver, from(40), "/api", &[]));
    let wrong = text(get(
        &receiver,
        from(41),
        "/api",
        &[("Authorization", &basic(ALICE.0, "x"))],
    ));
    let unknown = text(get(
        &receiver,
        from(42),
        "/api",
        &[("Authorization", &basic("carol", "x"))],
    ));
    let token = text(get(
        &receiver,
        from(43),
        "/api",
        &[("Authorization", &basic(&"A".repeat(43), ""))],
    ));
    assert_ne!(none, wrong);
    assert_eq!(wrong, unknown, "the answer must not tell which users exist");
    assert_eq!(wrong, token);
}

#[test]
fn passwords_longer_than_72_bytes_are_refused_with_a_clear_message() {
    let long = "p".repeat(72);
    let longer = format!("{long}x");
    let receiver = setup(&[("alice", long.as_str())]).start();
    let client = from(50);
    assert_eq!(
        get(
            &receiver,
            client,
            "/api",
            &[("Authorization", &basic("alice", &long))]
        )
        .status,
        200
    );
    for reply in [
        get(
            &receiver,
            client,
            "/api",
            &[("Authorization", &basic("alice", &longer))],
        ),
        login_body(
            &receiver,
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

    let reply = get(
        &receiver,
        from(1),
        "/api",
        &[("Authorization", &basic("admin", &password))],
    );
    assert_eq!(reply.status, 200, "{}", reply.body);
    login(&receiver, from(1), ("admin", &password));
    assert_eq!(receiver.log().matches(&password).count(), 1);
}

#[test]
fn no_answer_shows_a_hash_or_another_users_token() {
    let receiver = setup(&[ALICE, BOB]).start();
    let client = from(1);
    let mut answers: Vec<(&str, Reply)> = Vec::new();
    let (alice_token, alice_session) = login(&receiver, client, ALICE);
    let (bob_token, bob_session) = login(&receiver, client, BOB);
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
                answers.push((
                    who,
                    call(&receiver, client, method, path, Some((name, value))),
                ));
            }
            for (method, path) in [("POST", "/login"), ("GET", "/login")] {
                answers.push((
                    who,
                    send(&receiver, client, method, path, &[(name, value)], b""),
                ));
            }
        }
    }
    for &(method, path, _) in PROTECTED {
        answers.push(("nobody", call(&receiver, client, method, path, None)));
    }
    // Their own logins are the only answers that carry a token; each its own.
    let alice_login = login_body(
        &receiver,
        client,
        &json!({"username": ALICE.0, "password": ALICE.1}).to_string(),
    );
    let alice_new: Value = alice_login.json()["_result"][0].clone();
    answers.push(("alice", alice_login));
    answers.push((
        "bob",
        get(
            &receiver,
            client,
            "/logout",
            &[("Cookie", &cookie(&bob_session))],
        ),
    ));
    answers.push((
        "alice",
        get(
            &receiver,
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

#[test]
fn the_debug_log_holds_no_secret() {
    let mut receiver = setup(&[ALICE])
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
    assert!(
        log.contains("user 'alice' logged in from 127.0.0.1"),
        "{log}"
    );
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
            assert!(
                std::env::var_os("CI").is_none(),
                "htpasswd cannot run ({err}): .ci/run must apt-get install apache2-utils"
            );
            eprintln!("SKIPPED: htpasswd is not installed (apt-get install apache2-utils)");
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
        let reply = get(
            &receiver,
            source,
            "/api",
            &[("Authorization", &basic(user, password))],
        );
        let expected = if *user == "crypt" { 401 } else { 200 };
        assert_eq!(reply.status, expected, "{user}: {}", reply.body);
        let wrong = get(
            &receiver,
            source,
            "/api",
            &[("Authorization", &basic(user, "nope"))],
        );
        assert_eq!(wrong.status, 401, "{user}");
    }
    let log = receiver.log();
    assert!(log.contains("user 'md5': weak hash"), "{log}");
    assert!(log.contains("user 'crypt': not a bcrypt"), "{log}");
    for line in text.lines() {
        let hash = line.split_once(':').unwrap().1;
        assert!(!log.contains(hash), "a hash in the log: {log}");
    }
}
