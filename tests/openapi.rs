//! The committed OpenAPI document matches what the server generates, and
//! every operation is documented the way integrators need.

use weigongbao::api_doc;

#[test]
fn committed_openapi_matches_the_code() {
    let generated = serde_json::to_string_pretty(&api_doc()).expect("serialise");
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

fn operations(doc: &serde_json::Value) -> Vec<(String, &serde_json::Value)> {
    let mut out = Vec::new();
    for (path, item) in doc["paths"].as_object().unwrap() {
        for (method, op) in item.as_object().unwrap() {
            out.push((format!("{} {path}", method.to_uppercase()), op));
        }
    }
    out
}

/// SDK method names come from operationIds: one per operation, read as
/// `resource_verb` (a duplicate made openapi-typescript type `POST /demands`
/// with the agreement body).
#[test]
fn operation_ids_are_unique_resource_verb_names() {
    let doc = api_doc();
    let mut seen = std::collections::HashMap::new();
    for (name, op) in operations(&doc) {
        let id = op["operationId"].as_str().unwrap_or_default().to_string();
        let words: Vec<&str> = id.split('_').collect();
        assert!(
            words.len() >= 2
                && words
                    .iter()
                    .all(|w| !w.is_empty() && w.chars().all(|c| c.is_ascii_lowercase())),
            "{name}: operationId {id:?} is not resource_verb"
        );
        if let Some(other) = seen.insert(id.clone(), name.clone()) {
            panic!("operationId {id} is used by {other} and {name}");
        }
    }
    assert!(seen.len() > 90);
}

/// Generated clients get one named class per list and per item: no
/// generic `Page_X` names, and every page's items are a reference.
#[test]
fn list_responses_are_named_pages_of_referenced_items() {
    let doc = api_doc();
    let schemas = doc["components"]["schemas"].as_object().unwrap();
    for (name, schema) in schemas {
        assert!(!name.contains('_'), "schema {name}: a generic name");
        if name.ends_with("Page") {
            let item = schema["properties"]["items"]["items"]["$ref"]
                .as_str()
                .unwrap_or_default();
            assert!(
                item.starts_with("#/components/schemas/"),
                "{name}: items by reference"
            );
        }
    }
    let list = &doc["paths"]["/api/v1/demands"]["get"]["responses"]["200"];
    assert_eq!(
        list["content"]["application/json"]["schema"]["$ref"],
        "#/components/schemas/DemandPage"
    );
}

/// A tagged union (`kind`) is a oneOf of named, titled variants with a
/// discriminator mapping each tag value to its variant.
#[test]
fn unions_have_titled_variants_and_a_discriminator() {
    let doc = api_doc();
    let schemas = doc["components"]["schemas"].as_object().unwrap();
    let mut unions = 0;
    for (name, schema) in schemas {
        let Some(variants) = schema["oneOf"].as_array() else {
            continue;
        };
        unions += 1;
        let mapping = schema["discriminator"]["mapping"]
            .as_object()
            .unwrap_or_else(|| panic!("{name}: no discriminator"));
        assert_eq!(
            mapping.len(),
            variants.len(),
            "{name}: every variant mapped"
        );
        for v in variants {
            let r = v["$ref"].as_str().expect("variant by reference");
            let target = r.trim_start_matches("#/components/schemas/");
            assert_eq!(schemas[target]["title"], target, "{name}: titled variant");
        }
    }
    assert!(unions >= 2, "NewMeasure and VerificationRequest are unions");
}

/// Each error response shows an example of its own status, with a code the
/// server really uses (not one 409 example under every error).
#[test]
fn error_examples_match_their_status_and_real_codes() {
    fn sources(dir: &std::path::Path, out: &mut String) {
        for entry in std::fs::read_dir(dir).unwrap() {
            let path = entry.unwrap().path();
            if path.is_dir() {
                sources(&path, out);
            } else if path.extension().is_some_and(|e| e == "rs") {
                out.push_str(&std::fs::read_to_string(&path).unwrap());
            }
        }
    }
    let mut src = String::new();
    sources(
        std::path::Path::new(concat!(env!("CARGO_MANIFEST_DIR"), "/src")),
        &mut src,
    );
    let doc = api_doc();
    assert!(
        doc["components"]["schemas"]["Problem"]
            .get("example")
            .is_none()
    );
    let mut examples = 0;
    let mut check = |at: &str, status: &str, response: &serde_json::Value| {
        let example = &response["content"]["application/problem+json"]["example"];
        if example.is_null() {
            return;
        }
        examples += 1;
        assert_eq!(example["status"].to_string(), status, "{at} {status}");
        let code = example["code"].as_str().unwrap();
        assert!(
            src.contains(&format!("\"{code}\"")),
            "{at} {status}: example code {code} is not one the server uses"
        );
    };
    for (name, response) in doc["components"]["responses"].as_object().unwrap() {
        let status = match name.as_str() {
            "BadRequest" => "400",
            "Unauthorized" => "401",
            "Forbidden" => "403",
            "TooLarge" => "413",
            "UnsupportedMediaType" => "415",
            "Unprocessable" => "422",
            "AgreementRequired" => "428",
            "TooManyRequests" => "429",
            "Internal" => "500",
            "Unavailable" => "503",
            other => panic!("unknown shared response {other}"),
        };
        check(name, status, response);
    }
    for (name, op) in operations(&doc) {
        for (status, response) in op["responses"].as_object().unwrap() {
            check(&name, status, response);
        }
    }
    assert!(examples > 50, "{examples} examples");
}

/// The headers the server sends are documented where it sends them.
#[test]
fn response_headers_are_documented() {
    let doc = api_doc();
    for (name, op) in operations(&doc) {
        for (status, response) in op["responses"].as_object().unwrap() {
            if response.get("$ref").is_some() {
                continue;
            }
            assert!(
                response["headers"]["X-Request-Id"].is_object(),
                "{name} {status}: X-Request-Id"
            );
            if status == "429" {
                for h in ["Retry-After", "RateLimit", "RateLimit-Policy"] {
                    assert!(response["headers"][h].is_object(), "{name} 429: {h}");
                }
            }
        }
        if name.starts_with("GET ") {
            assert!(
                op["responses"]["200"]["headers"]["ETag"].is_object(),
                "{name}: ETag"
            );
            assert!(op["responses"]["304"].is_object(), "{name}: 304");
        }
    }
    let publish = &doc["paths"]["/api/v1/demands"]["post"]["responses"]["201"]["headers"];
    assert!(publish["Idempotent-Replayed"].is_object());
    assert!(publish["RateLimit"].is_object());
    assert!(doc["components"]["responses"]["Unavailable"]["headers"]["Retry-After"].is_object());
}
