//! `/openapi.json`: served as the module ships it, and a valid OpenAPI 3.1 document for the
//! reference validator (`openapi-spec-validator` from PyPI). That every answer of the suite
//! matches it is checked by the harness on each request (`alignak_e2e::openapi`).

use alignak_e2e::{openapi, Client, Setup};
use serde_json::Value;

#[test]
fn the_document_is_served_without_credentials_under_both_prefixes() {
    let shipped: Value = serde_json::from_str(openapi::DOCUMENT).unwrap();
    // With nrdp on, the document as shipped; with nrdp off (the default) the same without
    // /nrdp, which is then no route.
    let mut without_nrdp = shipped.clone();
    without_nrdp["paths"]
        .as_object_mut()
        .unwrap()
        .remove("/nrdp");
    assert_ne!(without_nrdp, shipped);
    let nrdp_on = Setup::new()
        .module_param("authorization", "1")
        .module_param("nrdp", "1")
        .module_param("nrdp_tokens", "t0ken")
        .start();
    let nrdp_off = Setup::new().module_param("authorization", "1").start();
    for (receiver, expected) in [(&nrdp_on, &shipped), (&nrdp_off, &without_nrdp)] {
        for path in ["/openapi.json", "/ws/openapi.json"] {
            let reply = receiver.get(path);
            assert_eq!(reply.status, 200, "{path}: {}", reply.body);
            assert_eq!(reply.header("content-type"), Some("application/json"));
            assert_eq!(&reply.json(), expected, "{path}");
        }
    }
    assert_eq!(nrdp_off.get("/nrdp").status, 404);
    // Every endpoint the index lists has a path in the document.
    let index = Setup::new().start().get("/api").json();
    for name in index.as_array().unwrap() {
        let path = format!("/{}", name.as_str().unwrap());
        assert!(
            shipped["paths"].get(&path).is_some(),
            "{path} is not in openapi.json"
        );
    }
}

#[test]
fn the_document_passes_the_reference_validator() {
    let Some(python) = alignak_e2e::pytools::python_or_skip(
        "openapi-spec-validator",
        &["openapi-spec-validator"],
        "openapi_spec_validator",
    ) else {
        return;
    };
    let out = alignak_e2e::pytools::check_file(
        &python,
        &["-m", "openapi_spec_validator"],
        "openapi.json",
        openapi::DOCUMENT,
        "openapi-spec-validator refused the document",
    );
    assert!(String::from_utf8_lossy(&out.stdout).contains("OK"));
}
