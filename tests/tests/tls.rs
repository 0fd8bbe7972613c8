//! TLS end to end (`use_ssl 1`), with certificates made here: HTTPS works and its cookies are
//! `Secure`, plain HTTP on the TLS port gets no HTTP answer, `ca_cert` requires client
//! certificates signed by that CA, and a missing or unusable file stops the start.

use std::io::{Read, Write};
use std::net::TcpStream;
use std::sync::Arc;
use std::time::Duration;

use alignak_e2e::{https_request, tls_client, Client, Receiver, Request, Setup};
use rcgen::{
    BasicConstraints, Certificate, CertificateParams, DnType, ExtendedKeyUsagePurpose, IsCa,
    Issuer, KeyPair, KeyUsagePurpose,
};
use serde_json::json;

struct Ca {
    certificate: Certificate,
    issuer: Issuer<'static, KeyPair>,
}

fn ca(name: &str) -> Ca {
    let mut params = CertificateParams::new(Vec::<String>::new()).unwrap();
    params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
    params.distinguished_name.push(DnType::CommonName, name);
    params.key_usages = vec![KeyUsagePurpose::KeyCertSign, KeyUsagePurpose::CrlSign];
    let key = KeyPair::generate().unwrap();
    let certificate = params.self_signed(&key).unwrap();
    Ca {
        certificate,
        issuer: Issuer::new(params, key),
    }
}

/// A certificate signed by `ca`, and its key.
fn leaf(ca: &Ca, names: &[&str], purpose: ExtendedKeyUsagePurpose) -> (Certificate, KeyPair) {
    let names: Vec<String> = names.iter().map(|n| n.to_string()).collect();
    let mut params = CertificateParams::new(names).unwrap();
    params
        .distinguished_name
        .push(DnType::CommonName, "alignak-ws test");
    params.extended_key_usages = vec![purpose];
    let key = KeyPair::generate().unwrap();
    let certificate = params.signed_by(&key, &ca.issuer).unwrap();
    (certificate, key)
}

fn server(ca: &Ca) -> (String, String) {
    let (certificate, key) = leaf(
        ca,
        &["localhost", "127.0.0.1"],
        ExtendedKeyUsagePurpose::ServerAuth,
    );
    // The chain, as admins usually install it: the server's certificate, then its CA's.
    let chain = format!("{}{}", certificate.pem(), ca.certificate.pem());
    (chain, key.serialize_pem())
}

fn client_identity(ca: &Ca) -> (Vec<Vec<u8>>, Vec<u8>) {
    let (certificate, key) = leaf(ca, &["client"], ExtendedKeyUsagePurpose::ClientAuth);
    (vec![certificate.der().to_vec()], key.serialize_der())
}

fn tls_setup(ca: &Ca) -> Setup {
    let (chain, key) = server(ca);
    Setup::new()
        .module_param("use_ssl", "1")
        .module_param("server_cert", "certs/server.crt")
        .module_param("server_key", "certs/server.key")
        .file("certs/server.crt", &chain)
        .file("certs/server.key", &key)
}

#[test]
fn https_serves_the_api_and_its_cookies_are_secure() {
    let ca = ca("server CA");
    let users = format!("alice:{}\n", bcrypt::hash("wonderland", 4).unwrap());
    let receiver = tls_setup(&ca)
        .module_param("authorization", "1")
        .module_param("users_file", "etc/users")
        .file("etc/users", &users)
        .start();
    assert!(receiver.is_tls(), "{}", receiver.log());
    assert!(receiver.log().contains("listening on: https://127.0.0.1:"));
    let receiver = receiver.with_tls_client(tls_client(ca.certificate.der(), None));
    let reply = receiver.get_with_basic("/are_you_alive", "alice", "wonderland");
    assert_eq!(reply.status, 200, "{}", reply.body);
    assert_eq!(reply.body, "\"Yes I am :)\"");
    let reply = receiver.post_json("/login", r#"{"username":"alice","password":"wonderland"}"#);
    assert_eq!(reply.status, 200, "{}", reply.body);
    let set_cookie = reply.set_cookies()[0].to_string();
    assert!(set_cookie.ends_with("; Secure"), "{set_cookie}");
    let session = reply.cookie("alignak_ws").unwrap();
    let reply = receiver.request(
        "GET",
        "/api",
        &[("Cookie", &format!("alignak_ws={session}"))],
        b"",
    );
    assert_eq!(reply.status, 200);
}

#[test]
fn plain_http_on_the_tls_port_gets_no_http_answer_and_serving_goes_on() {
    let ca = ca("server CA");
    let receiver = tls_setup(&ca).start();
    for _ in 0..3 {
        let mut stream = TcpStream::connect(receiver.address()).unwrap();
        stream
            .set_read_timeout(Some(Duration::from_secs(20)))
            .unwrap();
        stream
            .write_all(b"GET /are_you_alive HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
            .unwrap();
        let mut answer = Vec::new();
        // Closed (possibly with a TLS alert, record type 21) rather than answered.
        let _ = stream.read_to_end(&mut answer);
        assert!(
            answer.is_empty() || answer[0] == 21,
            "not a refusal: {:?}",
            String::from_utf8_lossy(&answer)
        );
    }
    let reply = https_request(
        receiver.address(),
        tls_client(ca.certificate.der(), None),
        &Request::get("/are_you_alive"),
    )
    .expect("HTTPS still works");
    assert_eq!(reply.status, 200);
}

#[test]
fn with_ca_cert_a_client_certificate_signed_by_it_is_required() {
    let server_ca = ca("server CA");
    let client_ca = ca("client CA");
    let stranger_ca = ca("another CA");
    let receiver = tls_setup(&server_ca)
        .module_param("ca_cert", "certs/clients-ca.pem")
        .file("certs/clients-ca.pem", &client_ca.certificate.pem())
        .start();
    assert!(receiver
        .log()
        .contains("SSL client certificates are required"));
    let trust = server_ca.certificate.der();
    let try_with = |identity| {
        https_request(
            receiver.address(),
            tls_client(trust, identity),
            &Request::get("/are_you_alive"),
        )
    };
    let refused = try_with(None);
    assert!(refused.is_err(), "no client certificate: {refused:?}");
    let refused = try_with(Some(client_identity(&stranger_ca)));
    assert!(refused.is_err(), "a certificate of another CA: {refused:?}");
    let reply = try_with(Some(client_identity(&client_ca))).expect("a certificate of the CA");
    assert_eq!(reply.status, 200);
}

#[test]
fn missing_or_unusable_tls_files_stop_the_start_naming_them() {
    let ca = ca("server CA");
    let (chain, key) = server(&ca);
    let other_key = KeyPair::generate().unwrap().serialize_pem();
    let cases: Vec<(Setup, &str)> = vec![
        (
            tls_setup(&ca).module_param("server_key", "certs/none.key"),
            "server_key {dir}/certs/none.key: cannot read it: No such file or directory",
        ),
        (
            tls_setup(&ca).module_param("ca_cert", "certs/none.pem"),
            "ca_cert {dir}/certs/none.pem: cannot read it: No such file or directory",
        ),
        (
            tls_setup(&ca).file("certs/server.crt", &key),
            "server_cert {dir}/certs/server.crt: no certificate in it",
        ),
        (
            tls_setup(&ca).file("certs/server.key", &chain),
            "server_key {dir}/certs/server.key: no usable private key in it",
        ),
        (
            tls_setup(&ca).file("certs/server.key", &other_key),
            "server_cert {dir}/certs/server.crt and server_key {dir}/certs/server.key: ",
        ),
    ];
    let mut receivers: Vec<_> = cases
        .into_iter()
        .map(|(setup, expected)| (setup.spawn(), expected))
        .collect();
    for (receiver, expected) in &mut receivers {
        assert_eq!(
            receiver.wait_exit(Duration::from_secs(20)).code(),
            Some(1),
            "{expected}"
        );
        let log = receiver.log();
        let dir = receiver.dir.path().canonicalize().unwrap();
        let expected = expected.replace("{dir}", &dir.display().to_string());
        assert!(log.contains(&expected), "expected '{expected}' in:\n{log}");
        assert!(!log.contains("listening on"), "{log}");
    }
}

/// POSTs `disable_host_check` of `host` through `client` and asserts the 200.
fn disable_host_check_over(receiver: &Receiver, client: &Arc<rustls::ClientConfig>, host: &str) {
    let body = json!({"command": "disable_host_check", "host": host}).to_string();
    let reply = https_request(
        receiver.address(),
        Arc::clone(client),
        &Request::new(
            "POST",
            "/command",
            &[("Content-Type", "application/json")],
            body.as_bytes(),
        ),
    )
    .unwrap();
    assert_eq!(reply.status, 200, "{}", reply.body);
}

#[test]
fn sighup_loads_a_renewed_certificate_for_new_connections() {
    let old_ca = ca("old CA");
    let receiver = tls_setup(&old_ca).start();
    let old_client = tls_client(old_ca.certificate.der(), None);
    disable_host_check_over(&receiver, &old_client, "before");

    // The certificate is renewed by another CA, in place; then SIGHUP.
    let new_ca = ca("new CA");
    let (chain, key) = server(&new_ca);
    std::fs::write(receiver.dir.path().join("certs/server.crt"), chain).unwrap();
    std::fs::write(receiver.dir.path().join("certs/server.key"), key).unwrap();
    receiver.signal(libc::SIGHUP);
    let deadline = std::time::Instant::now() + Duration::from_secs(20);
    while !receiver.log().contains("new connections use them") {
        assert!(std::time::Instant::now() < deadline, "{}", receiver.log());
        std::thread::sleep(Duration::from_millis(50));
    }
    let new_client = tls_client(new_ca.certificate.der(), None);
    disable_host_check_over(&receiver, &new_client, "after");
    // A client that trusts only the old CA no longer gets through: the new one is served.
    assert!(https_request(
        receiver.address(),
        old_client,
        &Request::get("/are_you_alive")
    )
    .is_err());
    receiver.wait_commands_ending_with(&["DISABLE_HOST_CHECK;before", "DISABLE_HOST_CHECK;after"]);
}
