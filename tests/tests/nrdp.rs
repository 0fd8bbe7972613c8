// Over 400 lines, earned: NRDP's protocol as its agents speak it (XML and JSON check results, tokens, answers) against the daemon and a real Nagios.
//! `/nrdp` end to end: NRDP 2.0's answers and errors, the store effects of its results, and
//! real NRDP clients (nrdpy from PyPI; the request shapes of send_nrdp.sh, send_nrdp.py and
//! NCPA, sent as they send them) reaching a real Nagios 4 through the daemon.

use std::path::PathBuf;
use std::process::Command;
use std::time::Duration;

use alignak_e2e::nagios::{find, Nagios};
use alignak_e2e::{Client, CommandSink, Receiver, Request, Setup};
use serde_json::Value;

const TOKEN: &str = "s3cret-nrdp";

fn with_nrdp(setup: Setup) -> Setup {
    setup
        .module_param("nrdp", "1")
        .module_param("nrdp_tokens", &format!("other-token, {TOKEN}"))
}

fn form(receiver: &Receiver, body: &str) -> alignak_e2e::Reply {
    receiver.request(
        "POST",
        "/nrdp/",
        &[("Content-Type", "application/x-www-form-urlencoded")],
        body.as_bytes(),
    )
}

fn encoded(pairs: &[(&str, &str)]) -> String {
    pairs
        .iter()
        .map(|(k, v)| format!("{k}={}", urlencode(v)))
        .collect::<Vec<_>>()
        .join("&")
}

fn urlencode(text: &str) -> String {
    text.bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' => {
                (b as char).to_string()
            }
            _ => format!("%{b:02X}"),
        })
        .collect()
}

/// An XML answer's `<status>` and `<message>`.
fn xml_status(body: &str) -> (String, String) {
    let field = |tag: &str| {
        body.split(&format!("<{tag}>"))
            .nth(1)
            .and_then(|rest| rest.split(&format!("</{tag}>")).next())
            .unwrap_or_else(|| panic!("no <{tag}> in {body}"))
            .to_string()
    };
    (field("status"), field("message"))
}

/// Asserts an XML answer of status 0, message OK (the whole body in the failure message).
fn assert_nrdp_ok(reply: &alignak_e2e::Reply) {
    assert_eq!(
        xml_status(&reply.body),
        ("0".into(), "OK".into()),
        "{}",
        reply.body
    );
}

fn service_xml(host: &str, service: &str, state: &str, output: &str) -> String {
    format!(
        "<?xml version='1.0'?>\n<checkresults>\n<checkresult type='service'><hostname>{host}</hostname><servicename>{service}</servicename><state>{state}</state><output>{output}</output></checkresult>\n</checkresults>"
    )
}

#[test]
fn nrdp_is_off_by_default() {
    let receiver = Setup::new().start();
    assert_eq!(receiver.get("/nrdp/?cmd=hello").status, 404);
}

#[test]
fn nrdps_answers_errors_and_store_effects() {
    let receiver = with_nrdp(Setup::new())
        .module_param("allow_host_creation", "1")
        .module_param("allow_service_creation", "1")
        .start();

    let hello = receiver.get("/nrdp?cmd=hello");
    assert_eq!(hello.status, 200);
    assert!(hello.body.starts_with("<?xml"), "{}", hello.body);
    assert!(
        hello.body.contains("<product>nrdp</product>"),
        "{}",
        hello.body
    );
    let hello = receiver.get("/ws/nrdp/?cmd=hello&output_type=json").json();
    assert_eq!(hello["response"]["status"], 0);
    assert_eq!(hello["response"]["message"], "OK");
    assert_eq!(hello["response"]["product"], "nrdp");

    // NRDP's errors, with HTTP 200 as NRDP sends them; none reaches the command file.
    let xml = service_xml("web", "load", "0", "fine");
    for (body, message) in [
        (
            encoded(&[("cmd", "submitcheck"), ("XMLDATA", &xml)]),
            "NO TOKEN",
        ),
        (
            encoded(&[
                ("token", "guess"),
                ("cmd", "submitcheck"),
                ("XMLDATA", &xml),
            ]),
            "BAD TOKEN",
        ),
        (
            encoded(&[("token", TOKEN), ("cmd", "submitcheck")]),
            "NO DATA",
        ),
        (
            encoded(&[
                ("token", TOKEN),
                ("cmd", "submitcheck"),
                ("xml", "<checkresults><checkresult>"),
            ]),
            "BAD XML",
        ),
        (
            encoded(&[
                ("token", TOKEN),
                ("cmd", "submitcheck"),
                (
                    "xml",
                    &service_xml("web;SHUTDOWN_PROGRAM", "load", "0", "x"),
                ),
            ]),
            "BAD XML",
        ),
        (
            encoded(&[
                ("token", TOKEN),
                ("cmd", "submitcheck"),
                ("XMLDATA", &format!("<!DOCTYPE a [<!ENTITY e \"x\">]>{xml}")),
            ]),
            "BAD XML",
        ),
        (
            encoded(&[
                ("token", TOKEN),
                ("cmd", "submitcheck"),
                ("output_type", "json"),
                ("JSONDATA", "{"),
            ]),
            "BAD JSON",
        ),
        (
            encoded(&[("token", TOKEN), ("cmd", "nope")]),
            "NO REQUEST HANDLER",
        ),
        (
            encoded(&[
                ("token", TOKEN),
                ("cmd", "submitcmd"),
                ("command", "DISABLE_NOTIFICATIONS"),
            ]),
            "COMMANDS DISABLED",
        ),
    ] {
        let reply = form(&receiver, &body);
        assert_eq!(reply.status, 200, "{body}: {}", reply.body);
        let got = if reply.body.starts_with('{') {
            let answer = reply.json();
            (
                answer["result"]["status"].to_string(),
                answer["result"]["message"]
                    .as_str()
                    .unwrap_or_default()
                    .to_string(),
            )
        } else {
            xml_status(&reply.body)
        };
        assert_eq!(got, ("-1".to_string(), message.to_string()), "{body}");
    }
    assert!(receiver.commands().is_empty(), "{:?}", receiver.commands());

    // A host the store knows gets its last state; one it does not know still reaches the
    // core and the history, and is not created.
    let created = receiver.post_json(
        "/host",
        r#"{"name": "web", "services": [{"name": "load"}]}"#,
    );
    assert_eq!(created.status, 200, "{}", created.body);
    let json = r#"{"checkresults":[
        {"checkresult":{"type":"service"},"hostname":"web","servicename":"load","state":"2","output":"load high|load=9"},
        {"checkresult":{"type":"host"},"hostname":"web","state":1,"output":"web down"},
        {"hostname":"elsewhere","state":0,"output":"unknown to the store"}]}"#;
    let reply = form(
        &receiver,
        &encoded(&[("token", TOKEN), ("cmd", "submitcheck"), ("JSONDATA", json)]),
    );
    assert_eq!(reply.status, 200, "{}", reply.body);
    assert_eq!(
        reply.json(),
        serde_json::json!({"result": {"status": 0, "message": "OK",
                                      "meta": {"output": "3 checks processed."}}})
    );
    let lines = receiver.wait_commands(3);
    let strip = |line: &str| {
        line.split_once("] ")
            .map_or(line.to_string(), |(_, l)| l.to_string())
    };
    assert_eq!(
        lines.iter().map(|l| strip(l)).collect::<Vec<_>>(),
        vec![
            "PROCESS_SERVICE_CHECK_RESULT;web;load;2;load high|load=9",
            "PROCESS_HOST_CHECK_RESULT;web;1;web down",
            "PROCESS_HOST_CHECK_RESULT;elsewhere;0;unknown to the store",
        ]
    );
    let host = receiver.get("/host/web");
    assert_eq!(host.status, 200, "{}", host.body);
    assert!(host.body.contains("web down"), "{}", host.body);
    assert!(host.body.contains("load high"), "{}", host.body);
    assert_eq!(
        receiver.get("/host/elsewhere").status,
        404,
        "NRDP creates nothing"
    );
    let logs: Value = receiver.get("/alignak_logs").json();
    let messages: Vec<String> = logs["items"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|i| i["type"] == "check.result")
        .map(|i| {
            format!(
                "{} {}",
                i["host_name"].as_str().unwrap_or_default(),
                i["message"].as_str().unwrap_or_default()
            )
        })
        .collect();
    for expected in [
        "web CRITICAL[HARD] (False/False): load high|load=9",
        "web DOWN[HARD] (False/False): web down",
        "elsewhere UP[HARD] (False/False): unknown to the store",
    ] {
        assert!(
            messages.iter().any(|m| m == expected),
            "{expected}: {messages:?}"
        );
    }

    // A hostile output stays one command line: its line breaks are written as \n.
    let reply = form(
        &receiver,
        &encoded(&[
            ("token", TOKEN),
            ("cmd", "submitcheck"),
            (
                "xml",
                &service_xml(
                    "web",
                    "load",
                    "1",
                    "a;b\nSHUTDOWN_PROGRAM\r\n[1] RESTART_PROGRAM",
                ),
            ),
        ]),
    );
    assert_nrdp_ok(&reply);
    let lines = receiver.wait_commands(4);
    assert_eq!(lines.len(), 4, "{lines:?}");
    assert_eq!(
        strip(&lines[3]),
        "PROCESS_SERVICE_CHECK_RESULT;web;load;1;a;b\\nSHUTDOWN_PROGRAM\\n[1] RESTART_PROGRAM"
    );

    // The token is never logged.
    assert!(!receiver.log().contains(TOKEN), "{}", receiver.log());
}

#[test]
fn bad_tokens_are_rate_limited_per_address() {
    let receiver = with_nrdp(Setup::new()).start();
    let source = "127.0.0.9".parse().unwrap();
    let body = encoded(&[
        ("token", "wrong"),
        ("cmd", "submitcheck"),
        ("xml", "<checkresults/>"),
    ]);
    let mut statuses = Vec::new();
    for _ in 0..30 {
        let reply = receiver.request_from(
            source,
            &Request::new(
                "POST",
                "/nrdp",
                &[("Content-Type", "application/x-www-form-urlencoded")],
                body.as_bytes(),
            ),
        );
        statuses.push(reply.status);
        if reply.status == 429 {
            assert!(reply.header("retry-after").is_some());
            break;
        }
    }
    assert_eq!(statuses.last(), Some(&429), "{statuses:?}");
    // Another address is not blocked.
    let good = encoded(&[
        ("token", TOKEN),
        ("cmd", "submitcheck"),
        ("xml", "<checkresults/>"),
    ]);
    let reply = form(&receiver, &good);
    assert_nrdp_ok(&reply);
}

/// A venv with nrdpy from PyPI, made once under ~/.cache. `None` (the test skips) when it
/// cannot be made outside CI; under CI that is a failure.
fn nrdpy_python() -> Option<PathBuf> {
    let home = std::env::var_os("HOME").map(PathBuf::from)?;
    let venv = home.join(".cache/alignak-ws-tests/nrdpy-venv");
    let python = venv.join("bin/python");
    let ready = |p: &PathBuf| {
        Command::new(p)
            .args(["-c", "import nrdpy"])
            .status()
            .is_ok_and(|s| s.success())
    };
    if !ready(&python) {
        let _ = Command::new("python3")
            .arg("-m")
            .arg("venv")
            .arg(&venv)
            .status();
        let _ = Command::new(venv.join("bin/pip"))
            .args(["install", "-q", "nrdpy==0.9.1"])
            .status();
    }
    if ready(&python) {
        return Some(python);
    }
    alignak_e2e::skip_or_fail_under_ci(
        &format!("nrdpy could not be installed into {}", venv.display()),
        "nrdpy could not be installed (python3 -m venv, pip install nrdpy)",
    );
    None
}

#[test]
fn real_clients_reach_nagios() {
    let Some(nagios) = Nagios::start() else {
        return;
    };
    let Some(python) = nrdpy_python() else {
        return;
    };
    let receiver = with_nrdp(Setup::new())
        .sink(CommandSink::ExistingFile(nagios.command_fifo.clone()))
        .start();
    let url = format!("http://{}/nrdp/", receiver.address());

    // nrdpy, unchanged: a form POST of XMLDATA built by minidom. (Its constructor refuses
    // an int state and its setter anything else: the state is set after.)
    let script = format!(
        "import sys, nrdpy\n\
         api = nrdpy.NRDP({url:?}, {TOKEN:?})\n\
         result = nrdpy.ServiceResult('test_host', 'svc1', output='nrdpy says crit')\n\
         result.state = 2\n\
         ok = api.submit([result])\n\
         sys.exit(0 if ok else 1)\n"
    );
    let status = Command::new(&python)
        .arg("-c")
        .arg(&script)
        .status()
        .unwrap();
    assert!(status.success(), "nrdpy's submit failed");

    // send_nrdp.sh: curl -d with the raw XML in `xml` (not URL-encoded).
    let raw = format!(
        "token={TOKEN}&cmd=submitcheck&xml={}",
        service_xml("test_host", "svc2", "1", "send_nrdp.sh says warn")
    );
    let reply = form(&receiver, &raw);
    assert_eq!(reply.status, 200);
    assert_nrdp_ok(&reply);

    // send_nrdp.py: a GET with XMLDATA in the query.
    let xml = "<?xml version='1.0'?><checkresults><checkresult type='host'><hostname>test_host</hostname><state>1</state><output>send_nrdp.py says down</output></checkresult></checkresults>";
    let reply = receiver.get(&format!(
        "/nrdp/?{}",
        encoded(&[("token", TOKEN), ("cmd", "submitcheck"), ("XMLDATA", xml)])
    ));
    assert_nrdp_ok(&reply);

    // NCPA: a form POST of cmd, token and XMLDATA; a host's own result is __HOST__.
    let xml = "<?xml version=\"1.0\" ?><checkresults><checkresult checktype=\"1\" type=\"service\"><hostname>host2</hostname><servicename>__HOST__</servicename><state>1</state><output>NCPA says down</output></checkresult></checkresults>";
    let reply = form(
        &receiver,
        &encoded(&[("token", TOKEN), ("cmd", "submitcheck"), ("XMLDATA", xml)]),
    );
    assert_nrdp_ok(&reply);

    let expected = [
        ("servicestatus", "svc1", "2", "CRITICAL: nrdpy says crit"),
        ("servicestatus", "svc2", "1", "send_nrdp.sh says warn"),
        ("hoststatus", "test_host", "1", "send_nrdp.py says down"),
        ("hoststatus", "host2", "1", "NCPA says down"),
    ];
    let matches = |status: &[alignak_e2e::nagios::StatusBlock]| {
        expected.iter().all(|(block, name, state, output)| {
            let key = if *block == "servicestatus" {
                "service_description"
            } else {
                "host_name"
            };
            find(
                status,
                block,
                &[
                    (key, name),
                    ("current_state", state),
                    ("plugin_output", output),
                ],
            )
            .is_some()
        })
    };
    nagios.wait_status(Duration::from_secs(30), matches);

    // Refused requests reach nothing; a hostile output arrives as one result.
    for body in [
        encoded(&[
            ("token", "guess"),
            ("cmd", "submitcheck"),
            (
                "XMLDATA",
                &service_xml("test_host", "svc1", "0", "bad token"),
            ),
        ]),
        encoded(&[
            ("token", TOKEN),
            ("cmd", "submitcheck"),
            ("XMLDATA", "<checkresults><checkresult><hostname>test_host"),
        ]),
        encoded(&[
            ("token", TOKEN),
            ("cmd", "submitcheck"),
            (
                "JSONDATA",
                "{\"checkresults\":[{\"hostname\":\"test_host\",",
            ),
        ]),
        encoded(&[
            ("token", TOKEN),
            ("cmd", "submitcheck"),
            (
                "XMLDATA",
                &service_xml("test_host\nDISABLE_NOTIFICATIONS", "svc1", "0", "x"),
            ),
        ]),
    ] {
        let reply = form(&receiver, &body);
        assert!(reply.body.contains("-1"), "{body}: {}", reply.body);
    }
    let reply = form(
        &receiver,
        &encoded(&[
            ("token", TOKEN),
            ("cmd", "submitcheck"),
            (
                "XMLDATA",
                &service_xml(
                    "test_host",
                    "svc2",
                    "2",
                    "hostile; part\n[1] DISABLE_NOTIFICATIONS",
                ),
            ),
        ]),
    );
    assert_nrdp_ok(&reply);
    let status = nagios.wait_status(Duration::from_secs(30), |status| {
        find(
            status,
            "servicestatus",
            &[("service_description", "svc2"), ("current_state", "2")],
        )
        .is_some()
    });
    let svc2 = find(&status, "servicestatus", &[("service_description", "svc2")]).unwrap();
    // The line carried "hostile; part" (see the command file in the test above); Nagios
    // itself shows a ';' of an output as ':' in status.dat.
    assert_eq!(svc2.get("plugin_output"), Some("hostile: part"));
    assert_eq!(
        svc2.get("long_plugin_output"),
        Some("[1] DISABLE_NOTIFICATIONS")
    );
    assert!(
        find(&status, "programstatus", &[("enable_notifications", "1")]).is_some(),
        "the hostile line ran nothing"
    );
    let svc1 = find(&status, "servicestatus", &[("service_description", "svc1")]).unwrap();
    assert_eq!(
        svc1.get("plugin_output"),
        Some("CRITICAL: nrdpy says crit"),
        "the bad token changed nothing"
    );
}

#[test]
fn submitcmd_when_allowed_is_checked_as_command() {
    let receiver = with_nrdp(Setup::new())
        .module_param("nrdp_commands", "1")
        .start();
    for (body, message) in [
        (
            encoded(&[("token", TOKEN), ("cmd", "submitcmd")]),
            "NO COMMAND",
        ),
        (
            encoded(&[
                ("token", TOKEN),
                ("cmd", "submitcmd"),
                ("command", "NOT_A_COMMAND;x"),
            ]),
            "BAD COMMAND",
        ),
        (
            encoded(&[
                ("token", TOKEN),
                ("cmd", "submitcmd"),
                ("command", "DISABLE_HOST_CHECK;h\nSHUTDOWN_PROGRAM"),
            ]),
            "BAD COMMAND",
        ),
        (
            encoded(&[
                ("token", "guess"),
                ("cmd", "submitcmd"),
                ("command", "DISABLE_NOTIFICATIONS"),
            ]),
            "BAD TOKEN",
        ),
    ] {
        let reply = form(&receiver, &body);
        assert_eq!(
            xml_status(&reply.body),
            ("-1".into(), message.into()),
            "{body}"
        );
    }
    assert!(receiver.commands().is_empty(), "{:?}", receiver.commands());
    let reply = form(
        &receiver,
        &encoded(&[
            ("token", TOKEN),
            ("cmd", "submitcmd"),
            ("command", "DISABLE_HOST_CHECK;web"),
            ("command", "[42] ENABLE_HOST_CHECK;web"),
        ]),
    );
    assert_nrdp_ok(&reply);
    let lines = receiver.wait_commands(2);
    assert!(lines[0].ends_with("] DISABLE_HOST_CHECK;web"), "{lines:?}");
    assert_eq!(lines[1], "[42] ENABLE_HOST_CHECK;web");
}
