//! The committed OpenAPI document matches what the server generates, and
//! every operation is documented the way integrators need.

use weigongbao::api_doc;

#[test]
fn committed_openapi_matches_the_code() {
    let generated = api_doc().to_pretty_json().expect("serialise");
    let path = concat!(env!("CARGO_MANIFEST_DIR"), "/openapi/openapi.json");
    if std::env::var("UPDATE_OPENAPI").is_ok() {
        std::fs::write(path, format!("{generated}\n")).expect("write openapi.json");
    }
    let committed = std::fs::read_to_string(path).unwrap_or_default();
    assert!(
        committed.trim_end() == generated.trim_end(),
        "openapi/openapi.json is out of date: run `cargo run -- openapi > openapi/openapi.json` \
         (or `UPDATE_OPENAPI=1 cargo test --test openapi`) and commit it"
    );
}

#[test]
fn every_operation_has_tag_summary_and_error_responses() {
    let doc = serde_json::to_value(api_doc()).unwrap();
    assert_eq!(doc["openapi"], "3.1.0");
    assert_eq!(
        doc["components"]["securitySchemes"]["bearer"]["scheme"],
        "bearer"
    );
    let paths = doc["paths"].as_object().unwrap();
    assert!(paths.len() >= 15);
    for (path, item) in paths {
        for (method, op) in item.as_object().unwrap() {
            let name = format!("{method} {path}");
            assert!(
                op["tags"].as_array().is_some_and(|t| !t.is_empty()),
                "{name}: tag"
            );
            assert!(
                op["summary"].as_str().is_some_and(|s| !s.is_empty()),
                "{name}: summary"
            );
            let responses = op["responses"].as_object().unwrap();
            assert!(
                responses.keys().any(|k| k.starts_with('2')),
                "{name}: success response"
            );
            assert!(responses.contains_key("500"), "{name}: 500");
            let secured = op["security"].as_array().is_some_and(|s| !s.is_empty());
            if secured {
                assert!(responses.contains_key("401"), "{name}: 401 when secured");
            }
            if op.get("requestBody").is_some() {
                for code in ["400", "413", "415", "422"] {
                    assert!(responses.contains_key(code), "{name}: {code}");
                }
            }
        }
    }
    for path in [
        "/api/v1/auth/register",
        "/api/v1/auth/login",
        "/api/v1/auth/refresh",
    ] {
        let rate_limited = &doc["paths"][path]["post"]["responses"]["429"];
        assert!(
            rate_limited["headers"]["Retry-After"].is_object(),
            "{path}: 429 Retry-After"
        );
    }
}

/// Every `$ref` points at a schema the document defines (a generated client
/// fails on a dangling one).
#[test]
fn every_reference_resolves() {
    fn walk(v: &serde_json::Value, out: &mut Vec<String>) {
        match v {
            serde_json::Value::Object(m) => {
                if let Some(serde_json::Value::String(r)) = m.get("$ref") {
                    out.push(r.clone());
                }
                m.values().for_each(|x| walk(x, out));
            }
            serde_json::Value::Array(a) => a.iter().for_each(|x| walk(x, out)),
            _ => {}
        }
    }
    let doc = serde_json::to_value(api_doc()).unwrap();
    let mut refs = Vec::new();
    walk(&doc, &mut refs);
    assert!(refs.len() > 50);
    for r in refs {
        let mut parts = r.trim_start_matches("#/").split('/');
        let target = parts.try_fold(&doc, |node, key| node.get(key));
        assert!(target.is_some(), "dangling reference {r}");
    }
}

#[test]
fn generators_get_an_ascii_title_a_server_and_explicit_public_operations() {
    let doc = serde_json::to_value(api_doc()).unwrap();
    let title = doc["info"]["title"].as_str().unwrap();
    assert!(
        title.is_ascii(),
        "generators make package names from {title}"
    );
    assert_eq!(doc["servers"][0]["url"], "/");
    for (path, item) in doc["paths"].as_object().unwrap() {
        for (method, op) in item.as_object().unwrap() {
            assert!(
                op["security"].is_array(),
                "{method} {path}: security is stated (empty for public operations)"
            );
        }
    }
    assert_eq!(
        doc["paths"]["/api/v1/demands"]["get"]["security"],
        serde_json::json!([])
    );
}
