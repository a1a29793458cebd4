//! The last pass over the OpenAPI document, on its JSON form: what utoipa
//! cannot say itself but generated clients and linters need.
//!
//! - list responses as named schemas (`DemandPage`, items by reference)
//!   instead of utoipa's `Page_DemandView` with the item inlined;
//! - tagged unions as titled, referenced variants with a discriminator;
//! - the response headers the server sends (`X-Request-Id`,
//!   `Idempotent-Replayed`, `Retry-After`, `RateLimit`, `ETag`) as shared
//!   header components;
//! - an example per error response, for its own status and code;
//! - a description on every operation saying who may call it.

use serde_json::{Map, Value, json};

use crate::platform::error::{Lang, status_title};

const SCHEMAS: &str = "#/components/schemas/";

/// Applies every pass, in order.
pub fn finish(doc: &mut Value) {
    name_pages(doc);
    name_variants(doc);
    add_headers(doc);
    add_error_examples(doc);
    describe_operations(doc);
    headers_are_never_null(doc);
}

/// A header is absent or a string, never JSON `null`: an optional header
/// parameter (`Option<String>`) is published as a plain optional string
/// (clients and the contract test otherwise send the text `null`).
fn headers_are_never_null(doc: &mut Value) {
    let Some(paths) = doc["paths"].as_object_mut() else {
        return;
    };
    for item in paths.values_mut() {
        let Some(ops) = item.as_object_mut() else {
            continue;
        };
        for op in ops.values_mut() {
            let Some(params) = op.get_mut("parameters").and_then(Value::as_array_mut) else {
                continue;
            };
            for p in params.iter_mut().filter(|p| p["in"] == "header") {
                let nullable = p["schema"]["type"]
                    .as_array()
                    .is_some_and(|t| t.iter().any(|x| x == "null"));
                if nullable {
                    p["schema"]["type"] = json!("string");
                }
            }
        }
    }
}

fn schemas(doc: &mut Value) -> &mut Map<String, Value> {
    if doc["components"]["schemas"].as_object().is_none() {
        doc["components"]["schemas"] = json!({});
    }
    match doc["components"]["schemas"].as_object_mut() {
        Some(map) => map,
        None => unreachable!("set above"),
    }
}

/// Every `$ref` equal to `from` becomes `to`, anywhere in the document.
fn rewrite_refs(v: &mut Value, from: &str, to: &str) {
    match v {
        Value::Object(map) => {
            for (k, x) in map.iter_mut() {
                if k == "$ref" && x.as_str() == Some(from) {
                    *x = Value::String(to.to_string());
                } else {
                    rewrite_refs(x, from, to);
                }
            }
        }
        Value::Array(items) => items.iter_mut().for_each(|x| rewrite_refs(x, from, to)),
        _ => {}
    }
}

/// `Page_DemandView` → `DemandPage`, its `items` a reference to the item
/// schema (one item class per resource in generated clients).
fn name_pages(doc: &mut Value) {
    let generic: Vec<String> = schemas(doc)
        .keys()
        .filter(|k| k.starts_with("Page_"))
        .cloned()
        .collect();
    for old in generic {
        let item = old.trim_start_matches("Page_").to_string();
        let new = format!("{}Page", item.trim_end_matches("View"));
        let map = schemas(doc);
        let Some(mut page) = map.remove(&old) else {
            continue;
        };
        if map.contains_key(&item) {
            page["properties"]["items"]["items"] = json!({ "$ref": format!("{SCHEMAS}{item}") });
        }
        page["title"] = Value::String(new.clone());
        page["description"] = Value::String(format!(
            "A page of `{item}`, newest first unless the operation says otherwise; \
             pass `next_cursor` as `cursor` for the next page (absent on the last)."
        ));
        map.insert(new.clone(), page);
        rewrite_refs(doc, &format!("{SCHEMAS}{old}"), &format!("{SCHEMAS}{new}"));
    }
}

/// The property every variant fixes to one string (`kind`), if any.
fn discriminator_of(variants: &[Value]) -> Option<String> {
    let first = variants.first()?["properties"].as_object()?;
    first
        .keys()
        .find(|name| {
            variants.iter().all(|v| {
                let fixed = v["properties"][name.as_str()]["enum"]
                    .as_array()
                    .is_some_and(|e| e.len() == 1 && e[0].is_string());
                let required = v["required"]
                    .as_array()
                    .is_some_and(|r| r.iter().any(|x| x.as_str() == Some(name.as_str())));
                fixed && required
            })
        })
        .cloned()
}

fn camel(snake: &str) -> String {
    snake
        .split('_')
        .map(|part| {
            let mut chars = part.chars();
            chars.next().map_or_else(String::new, |c| {
                c.to_ascii_uppercase().to_string() + chars.as_str()
            })
        })
        .collect()
}

/// A `oneOf` of inline objects told apart by one fixed property becomes a
/// `oneOf` of named, titled variant schemas with a discriminator mapping.
fn name_variants(doc: &mut Value) {
    let unions: Vec<(String, String)> = schemas(doc)
        .iter()
        .filter_map(|(name, s)| {
            let variants = s["oneOf"].as_array()?;
            if variants.len() < 2 || variants.iter().any(|v| v.get("$ref").is_some()) {
                return None;
            }
            Some((name.clone(), discriminator_of(variants)?))
        })
        .collect();
    for (name, property) in unions {
        let map = schemas(doc);
        let variants = match map[&name]["oneOf"].as_array() {
            Some(v) => v.clone(),
            None => continue,
        };
        let mut refs = Vec::new();
        let mut mapping = Map::new();
        for mut variant in variants {
            let value = variant["properties"][&property]["enum"][0]
                .as_str()
                .unwrap_or_default()
                .to_string();
            let variant_name = format!("{name}{}", camel(&value));
            variant["title"] = Value::String(variant_name.clone());
            let reference = format!("{SCHEMAS}{variant_name}");
            refs.push(json!({ "$ref": reference }));
            mapping.insert(value, Value::String(reference));
            map.insert(variant_name, variant);
        }
        map[&name]["oneOf"] = Value::Array(refs);
        map[&name]["discriminator"] = json!({ "propertyName": property, "mapping": mapping });
    }
}

fn header_components() -> Value {
    json!({
        "X-Request-Id": {
            "description": "The request id: the client's own (`X-Request-Id`, 1 to 128 letters, digits, \
                `-`, `_` or `.`) or a generated UUID; it is in the logs and in every problem body.",
            "schema": { "type": "string" }
        },
        "Idempotent-Replayed": {
            "description": "`true` when this answer replays the first result of a request with the \
                same `Idempotency-Key`; nothing was done again.",
            "schema": { "type": "string", "enum": ["true"] }
        },
        "Retry-After": {
            "description": "Seconds to wait before retrying.",
            "schema": { "type": "integer", "minimum": 0 }
        },
        "RateLimit-Policy": {
            "description": "The limit this operation counts against (IETF RateLimit headers draft): \
                `\"<name>\";q=<requests>;w=<seconds>`.",
            "schema": { "type": "string" }
        },
        "RateLimit": {
            "description": "What is left of that limit: `\"<name>\";r=<remaining>;t=<seconds until \
                the quota is whole again>`.",
            "schema": { "type": "string" }
        },
        "Cache-Control": {
            "description": "`no-store` on answers to signed-in and token calls; `no-cache` (store, \
                but revalidate with the ETag) on public reads.",
            "schema": { "type": "string" }
        },
        "ETag": {
            "description": "The representation's strong validator: send it back in `If-None-Match` \
                (304 when unchanged) or, on `PATCH`, in `If-Match` (412 when someone changed it first).",
            "schema": { "type": "string" }
        }
    })
}

fn header_ref(name: &str) -> Value {
    json!({ "$ref": format!("#/components/headers/{name}") })
}

fn set_headers(response: &mut Value, names: &[&str]) {
    if response.get("$ref").is_some() {
        return;
    }
    if response["headers"].as_object().is_none() {
        response["headers"] = json!({});
    }
    if let Some(headers) = response["headers"].as_object_mut() {
        for name in names {
            headers.insert((*name).to_string(), header_ref(name));
        }
    }
}

/// Calls `f(method, path, operation)` for every operation.
fn each_operation(doc: &mut Value, mut f: impl FnMut(&str, &str, &mut Value)) {
    let Some(paths) = doc["paths"].as_object_mut() else {
        return;
    };
    for (path, item) in paths.iter_mut() {
        let Some(item) = item.as_object_mut() else {
            continue;
        };
        for (method, op) in item.iter_mut() {
            if matches!(method.as_str(), "get" | "post" | "put" | "patch" | "delete") {
                f(method, path, op);
            }
        }
    }
}

fn has_header_param(op: &Value, name: &str) -> bool {
    op["parameters"]
        .as_array()
        .is_some_and(|ps| ps.iter().any(|p| p["in"] == "header" && p["name"] == name))
}

fn add_headers(doc: &mut Value) {
    doc["components"]["headers"] = header_components();
    if let Some(responses) = doc["components"]["responses"].as_object_mut() {
        for (name, response) in responses.iter_mut() {
            let mut names = vec!["X-Request-Id"];
            if name == "Unavailable" || name == "TooManyRequests" {
                names.push("Retry-After");
            }
            if name == "TooManyRequests" {
                names.extend(["RateLimit-Policy", "RateLimit"]);
            }
            set_headers(response, &names);
        }
    }
    each_operation(doc, |method, _, op| {
        let idempotent = has_header_param(op, "Idempotency-Key");
        let limited = op["responses"].get("429").is_some();
        let conditional = method == "get";
        let Some(responses) = op["responses"].as_object_mut() else {
            return;
        };
        if conditional {
            // The caching middleware tags every successful GET.
            responses.insert(
                "304".to_string(),
                json!({ "description": "Not modified: the `If-None-Match` tag is still current (no body)" }),
            );
        }
        for (status, response) in responses.iter_mut() {
            let mut names = vec!["X-Request-Id"];
            if status.starts_with('2') && idempotent {
                names.push("Idempotent-Replayed");
            }
            if status == "429" || status == "503" {
                names.push("Retry-After");
            }
            if limited && (status.starts_with('2') || status == "429") {
                names.extend(["RateLimit-Policy", "RateLimit"]);
            }
            if conditional && (status == "200" || status == "304") {
                names.extend(["ETag", "Cache-Control"]);
            }
            set_headers(response, &names);
        }
    });
}

/// The code an error response names first in its description, or the
/// one code its status always has; `None` when that is not known (no
/// example is better than a wrong one).
fn example_code(status: u16, description: &str) -> Option<String> {
    let named = description.split('`').skip(1).step_by(2).find(|s| {
        s.contains('.')
            && s.chars()
                .all(|c| c.is_ascii_lowercase() || c == '.' || c == '_')
    });
    if let Some(code) = named {
        return Some(code.to_string());
    }
    let code = match status {
        400 => "request.malformed",
        401 => "auth.invalid_token",
        403 => "auth.forbidden",
        412 => "precondition.failed",
        413 => "request.too_large",
        415 => "request.unsupported_media_type",
        422 => "validation.failed",
        428 => "agreement.acceptance_required",
        429 => "rate_limited",
        500 => "internal",
        503 => "service.unavailable",
        _ => return None,
    };
    Some(code.to_string())
}

/// The description without its code list: "Not open for bids (`a.b`)" →
/// "Not open for bids".
fn example_detail(description: &str) -> String {
    let mut out = String::new();
    let mut depth = 0usize;
    for c in description.chars() {
        match c {
            '(' => depth += 1,
            ')' => depth = depth.saturating_sub(1),
            _ if depth == 0 => out.push(c),
            _ => {}
        }
    }
    let text = out
        .replace('`', "")
        .split_whitespace()
        .collect::<Vec<_>>()
        .join(" ")
        .replace(" ,", ",");
    let text = text.trim_end_matches([';', ',', '.', ' ']);
    format!("{text}.")
}

fn problem_example(status: u16, description: &str) -> Option<Value> {
    let code = example_code(status, description)?;
    let title = actix_web::http::StatusCode::from_u16(status)
        .map(|s| status_title(s, Lang::En))
        .unwrap_or("Error");
    let mut example = json!({
        "type": format!("urn:weigongbao:problem:{code}"),
        "title": title,
        "status": status,
        "detail": example_detail(description),
        "code": code,
        "request_id": "3f1c8a52-6a0e-4c55-9d55-0e2b8f9f4d1a"
    });
    if status == 422 {
        example["errors"] = json!([{
            "field": "title",
            "code": "text.invalid",
            "message": "title must be 1–100 characters, not blank, without control characters"
        }]);
    }
    Some(example)
}

/// `shared`: one of the common responses, whose status alone tells the
/// code; an operation's own response shows an example only when its
/// description names the code (no example is better than a wrong one).
fn set_example(status: &str, response: &mut Value, shared: bool) {
    let Ok(code) = status.parse::<u16>() else {
        return;
    };
    if code < 400 || response.get("$ref").is_some() {
        return;
    }
    let description = response["description"]
        .as_str()
        .unwrap_or_default()
        .to_string();
    // Status 0 has no usual code: only a code the description names.
    let named = example_code(0, &description).is_some();
    let Some(example) = problem_example(code, &description).filter(|_| shared || named) else {
        return;
    };
    if let Some(content) = response["content"]
        .get_mut("application/problem+json")
        .and_then(Value::as_object_mut)
    {
        content.insert("example".into(), example);
    }
}

/// An example per error response, instead of one example on `Problem`.
fn add_error_examples(doc: &mut Value) {
    if let Some(problem) = schemas(doc)
        .get_mut("Problem")
        .and_then(Value::as_object_mut)
    {
        problem.remove("example");
    }
    let statuses: Vec<(String, String)> = super::COMMON
        .iter()
        .map(|(name, status, _)| ((*name).to_string(), (*status).to_string()))
        .collect();
    if let Some(responses) = doc["components"]["responses"].as_object_mut() {
        for (name, status) in &statuses {
            if let Some(response) = responses.get_mut(name) {
                set_example(status, response, true);
            }
        }
    }
    each_operation(doc, |_, _, op| {
        if let Some(responses) = op["responses"].as_object_mut() {
            for (status, response) in responses.iter_mut() {
                set_example(status, response, false);
            }
        }
    });
}

/// Who may call an operation, and how it behaves on retries and limits, as
/// its description (after the handler's own, if it has one).
fn describe_operations(doc: &mut Value) {
    each_operation(doc, |_, path, op| {
        let secured = op["security"].as_array().is_some_and(|s| {
            s.iter()
                .any(|r| r.as_object().is_some_and(|o| !o.is_empty()))
        });
        let mut lines = Vec::new();
        if let Some(own) = op["description"].as_str().filter(|d| !d.is_empty()) {
            lines.push(own.to_string());
        }
        lines.push(
            if !secured {
                "Public: no token needed."
            } else if path.starts_with("/api/v1/admin/") {
                "Staff only: a bearer token of a staff role (403 otherwise)."
            } else {
                "Signed in: a bearer token (401 without one)."
            }
            .to_string(),
        );
        if has_header_param(op, "Idempotency-Key") {
            lines.push(
                "Retry-safe with `Idempotency-Key`: a repeat answers the first result with \
                 `Idempotent-Replayed: true`."
                    .to_string(),
            );
        }
        if op["responses"].get("429").is_some() {
            lines.push(
                "Rate limited: `RateLimit-Policy` and `RateLimit` tell the quota and what is \
                 left; 429 carries `Retry-After`."
                    .to_string(),
            );
        }
        op["description"] = Value::String(lines.join("\n\n"));
    });
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn codes_and_details_come_from_the_description() {
        let d = "Not open for bids (`demand.not_open`) or a live bid exists (`bid.duplicate`)";
        assert_eq!(example_code(409, d).as_deref(), Some("demand.not_open"));
        assert_eq!(example_detail(d), "Not open for bids or a live bid exists.");
        assert_eq!(example_code(404, "No such demand"), None);
        assert_eq!(
            example_code(429, "Too many").as_deref(),
            Some("rate_limited")
        );
    }

    #[test]
    fn unions_get_named_variants_and_a_discriminator() {
        let mut doc = json!({"components": {"schemas": {"U": {"oneOf": [
            {"type": "object", "required": ["kind"], "properties": {"kind": {"type": "string", "enum": ["a_b"]}}},
            {"type": "object", "required": ["kind", "x"], "properties": {"kind": {"type": "string", "enum": ["c"]}, "x": {"type": "integer"}}}
        ]}}}});
        name_variants(&mut doc);
        let s = &doc["components"]["schemas"];
        assert_eq!(s["U"]["discriminator"]["propertyName"], "kind");
        assert_eq!(
            s["U"]["discriminator"]["mapping"]["a_b"],
            "#/components/schemas/UAB"
        );
        assert_eq!(s["UC"]["title"], "UC");
        assert_eq!(s["U"]["oneOf"][1]["$ref"], "#/components/schemas/UC");
    }
}
