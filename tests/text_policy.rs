//! SVC-4: every string the API reads follows one text policy. This walks
//! every operation of the OpenAPI document and sends NUL and U+202E (right-
//! to-left override) in each query parameter, each path parameter and each
//! top-level body field: never a 5xx, and nothing that writes succeeds.

mod common;

use actix_web::http::Method;
use common::TestApp;
use serde_json::{Map, Value, json};
use weigongbao::users::models::Role;

const EVIL: [(&str, &str); 2] = [("a\u{0}b", "a%00b"), ("a\u{202e}b", "a%E2%80%AEb")];

fn resolve<'a>(doc: &'a Value, schema: &'a Value) -> &'a Value {
    match schema["$ref"].as_str() {
        Some(r) => {
            let name = r.rsplit('/').next().unwrap_or_default();
            &doc["components"]["schemas"][name]
        }
        None => schema,
    }
}

fn evil_body(doc: &Value, op: &Value, evil: &str) -> Option<Value> {
    let schema = op["requestBody"]["content"]["application/json"]["schema"].clone();
    if schema.is_null() {
        return None;
    }
    let schema = resolve(doc, &schema);
    let mut body = Map::new();
    for (name, _) in schema["properties"].as_object()? {
        body.insert(name.clone(), json!(evil));
    }
    Some(Value::Object(body))
}

#[actix_web::test]
async fn svc4_nul_and_bidi_controls_are_refused_everywhere() {
    let app = TestApp::new().await;
    let user = app.verified_user().await;
    let admin = app.staff(Role::Admin).await;
    let doc = serde_json::to_value(weigongbao::api_doc()).unwrap();
    let mut checked = 0;
    for (path, item) in doc["paths"].as_object().unwrap() {
        for (method, op) in item.as_object().unwrap() {
            let token = if path.starts_with("/api/v1/admin") {
                &admin.access
            } else {
                &user.access
            };
            let method = Method::from_bytes(method.to_uppercase().as_bytes()).unwrap();
            let writes = method != Method::GET;
            let params = op["parameters"].as_array().cloned().unwrap_or_default();
            for (raw, encoded) in EVIL {
                // Path parameters.
                if path.contains('{') {
                    let target = path
                        .split('/')
                        .map(|s| if s.starts_with('{') { encoded } else { s })
                        .collect::<Vec<_>>()
                        .join("/");
                    let res = app.req(method.clone(), &target).bearer(token).send().await;
                    assert!(
                        res.status.is_client_error(),
                        "{method} {target}: {}",
                        res.text
                    );
                    checked += 1;
                }
                // Query parameters.
                for p in params.iter().filter(|p| p["in"] == "query") {
                    let name = p["name"].as_str().unwrap();
                    let target = format!("{}?{name}={encoded}", path.replace(['{', '}'], ""));
                    let target = target.replace("/id/", "/1/").replace("/id?", "/1?");
                    let res = app.req(method.clone(), &target).bearer(token).send().await;
                    assert!(
                        !res.status.is_server_error(),
                        "{method} {target}: {}",
                        res.text
                    );
                    if res.status.as_u16() != 404 {
                        assert_eq!(res.status.as_u16(), 400, "{method} {target}: {}", res.text);
                        assert_eq!(res.json["errors"][0]["field"], name, "{}", res.text);
                    }
                    checked += 1;
                }
                // Every top-level body field at once.
                if let Some(body) = evil_body(&doc, op, raw) {
                    let target = path
                        .split('/')
                        .map(|s| if s.starts_with('{') { "1" } else { s })
                        .collect::<Vec<_>>()
                        .join("/");
                    let res = app
                        .req(method.clone(), &target)
                        .bearer(token)
                        .header("idempotency-key", &format!("sweep-{checked}"))
                        .json(body)
                        .send()
                        .await;
                    assert!(
                        !res.status.is_server_error(),
                        "{method} {target}: {}",
                        res.text
                    );
                    if writes {
                        assert!(
                            res.status.is_client_error(),
                            "{method} {target} stored: {}",
                            res.text
                        );
                    }
                    checked += 1;
                }
            }
        }
    }
    assert!(checked > 150, "the sweep covered {checked} requests");
    // A NUL in a text field names the field.
    let res = app
        .post("/api/v1/demands")
        .bearer(&user.access)
        .json(json!({"title": "周末\u{0}地推"}))
        .send()
        .await;
    res.assert_problem(422, "text.forbidden_character");
    assert_eq!(res.json["errors"][0]["field"], "title");
    let res = app.get("/api/v1/demands?q=a%00b").send().await;
    res.assert_problem(400, "text.forbidden_character");
    assert_eq!(res.json["errors"][0]["field"], "q");
    app.post("/api/v1/auth/login")
        .json(json!({"login": "a\u{0}b", "password": "x"}))
        .send()
        .await
        .assert_problem(422, "text.forbidden_character");
}
