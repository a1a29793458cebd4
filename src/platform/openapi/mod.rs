//! The OpenAPI document: base info, the bearer scheme, and the error
//! responses every operation can give, added from what each operation takes
//! (a body, parameters, a token, a staff role).

pub mod shape;

use utoipa::openapi::path::Operation;
use utoipa::openapi::schema::{ArrayItems, Schema, SchemaType, Type};
use utoipa::openapi::security::{HttpAuthScheme, HttpBuilder, SecurityScheme};
use utoipa::openapi::{ContentBuilder, OpenApi as Doc, Ref, RefOr, ResponseBuilder};
use utoipa::{Modify, OpenApi};

use crate::platform::error::{PROBLEM_CONTENT_TYPE, Problem, ProblemFieldError};

#[derive(OpenApi)]
#[openapi(
    info(
        title = "Weigongbao platform API",
        contact(name = "Weigongbao platform team"),
        description = "Weigongbao (微工宝) marketplace backend: employers publish demands (需求), service providers bid.\n\n\
            Errors are RFC 9457 `application/problem+json` with a stable `code`; `detail` is Chinese by default, \
            English with `Accept-Language: en`. Money is a decimal string in CNY. Times are RFC 3339 UTC. \
            Lists take `limit` and `cursor` and return `{items, next_cursor}`.\n\n\
            Authenticate with `Authorization: Bearer <access_token>` from register, login or refresh."
    ),
    modifiers(&BearerScheme),
    components(schemas(Problem, ProblemFieldError)),
    tags(
        (name = "auth", description = "Registration, login, token refresh, logout"),
        (name = "me", description = "The caller's own account and sessions"),
        (name = "users", description = "Public profiles and member names"),
        (name = "verification", description = "Real-name verification (实名认证)"),
        (name = "funds", description = "Balances, ledger entries, top-ups and withdrawals"),
        (name = "payments", description = "Payment channel callbacks and the sandbox"),
        (name = "marketplace", description = "Demands (需求), bids, awards, reviews and discovery"),
        (name = "files", description = "Uploads (FIL): evidence, check-in photos, works"),
        (name = "conversations", description = "Messages between an award's parties (MSG): delivery, reading, blocking"),
        (name = "conduct", description = "Complaints, reports, violations and appeals"),
        (name = "deposit", description = "The security deposit (保证金): payment, balance, refund"),
        (name = "disputes", description = "Platform mediation of awards"),
        (name = "agreements", description = "The platform service agreement"),
        (name = "admin", description = "Staff operations (roles admin, moderator, finance)"),
        (name = "ops", description = "Liveness and readiness"),
        (name = "sandbox", description = "What the development SMS, email and push senders recorded (only where the sandbox is enabled)"),
    )
)]
pub struct ApiDoc;

struct BearerScheme;

impl Modify for BearerScheme {
    fn modify(&self, doc: &mut Doc) {
        let components = doc.components.get_or_insert_with(Default::default);
        components.add_security_scheme(
            "bearer",
            SecurityScheme::Http(
                HttpBuilder::new()
                    .scheme(HttpAuthScheme::Bearer)
                    .bearer_format("JWT")
                    .description(Some("The access token from register, login or refresh"))
                    .build(),
            ),
        );
    }
}

const COMMON: &[(&str, &str, &str)] = &[
    (
        "BadRequest",
        "400",
        "Malformed body, path or query, or control characters in the URL (`request.malformed`, `request.malformed_json`, `request.invalid_path`, `request.invalid_query`)",
    ),
    (
        "Unauthorized",
        "401",
        "Missing, invalid or expired token, or ended session (`auth.missing_token`, `auth.invalid_token`, `auth.session_ended`)",
    ),
    (
        "Forbidden",
        "403",
        "The caller's role may not do this (`auth.forbidden`)",
    ),
    (
        "TooLarge",
        "413",
        "Body over the size limit (`request.too_large`)",
    ),
    (
        "UnsupportedMediaType",
        "415",
        "Body is not `application/json` (`request.unsupported_media_type`)",
    ),
    (
        "Unprocessable",
        "422",
        "Validation failed; `errors` lists the fields",
    ),
    (
        "AgreementRequired",
        "428",
        "A new version of the service agreement awaits acceptance (`agreement.acceptance_required`): read `GET /api/v1/agreements/current` and accept it (AGR-1)",
    ),
    (
        "TooManyRequests",
        "429",
        "Too many anonymous reads from this address (`rate_limited`; SA §3.9, setting `RATE_LIMIT_ANONYMOUS_PER_MINUTE`); sign in or wait `Retry-After` seconds",
    ),
    (
        "Internal",
        "500",
        "Unexpected error (`internal`); the request id is logged",
    ),
    (
        "Unavailable",
        "503",
        "Database unavailable (`service.unavailable`); retry later",
    ),
];

/// Adds the shared problem responses and their uses to every operation.
pub fn add_error_responses(doc: &mut Doc) {
    // Generated clients resolve paths against this: the server serving the
    // document.
    doc.servers = Some(vec![
        utoipa::openapi::server::ServerBuilder::new()
            .url("/")
            .description(Some("The server serving this document"))
            .build(),
    ]);
    let components = doc.components.get_or_insert_with(Default::default);
    for (name, _, description) in COMMON {
        components.responses.insert(
            (*name).to_string(),
            RefOr::T(
                ResponseBuilder::new()
                    .description(*description)
                    .content(
                        PROBLEM_CONTENT_TYPE,
                        ContentBuilder::new()
                            .schema(Some(Ref::from_schema_name("Problem")))
                            .build(),
                    )
                    .build(),
            ),
        );
    }
    for (path, item) in doc.paths.paths.iter_mut() {
        let is_admin = path.starts_with("/api/v1/admin/");
        // Answered without the database, even while it is unreachable.
        let is_liveness = path == "/healthz" || path == "/";
        for (method, op) in [
            ("get", &mut item.get),
            ("post", &mut item.post),
            ("put", &mut item.put),
            ("patch", &mut item.patch),
            ("delete", &mut item.delete),
        ] {
            if let Some(op) = op {
                let gated = !is_admin && !AGREEMENT_EXEMPT.contains(&(method, path.as_str()));
                let api_read = method == "get" && path.starts_with("/api/");
                add_to_operation(op, is_admin, is_liveness, gated, api_read);
            }
        }
    }
}

/// Operations a user may call while a new agreement waits for acceptance
/// (AGR-1); they take `AuthUserAnyAgreement`. Everything else secured and
/// not staff-only can answer 428.
const AGREEMENT_EXEMPT: &[(&str, &str)] = &[
    ("get", "/api/v1/me"),
    ("post", "/api/v1/auth/logout"),
    ("post", "/api/v1/agreements/{version}/accept"),
    ("post", "/api/v1/me/closure-request"),
    ("get", "/api/v1/me/closure-request"),
];

fn add_to_operation(
    op: &mut Operation,
    is_admin: bool,
    is_liveness: bool,
    gated: bool,
    api_read: bool,
) {
    let has_body = op.request_body.is_some();
    let has_params = op.parameters.as_ref().is_some_and(|p| !p.is_empty());
    let secured = op.security.as_ref().is_some_and(|s| !s.is_empty());
    if !secured {
        // Public: say so, rather than leave clients to guess.
        op.security = Some(Vec::new());
    }
    for (name, status, _) in COMMON {
        let applies = match *status {
            // The URL's text is checked on every request (SVC-4).
            "400" => true,
            "422" => has_body || has_params,
            "401" => secured,
            "403" => is_admin,
            "413" | "415" => has_body,
            "428" => secured && gated,
            // Anonymous discovery is counted per IP (platform::ratelimit).
            "429" => api_read && !secured,
            "503" => !is_liveness,
            _ => true,
        };
        if applies {
            op.responses
                .responses
                .entry((*status).to_string())
                .or_insert_with(|| RefOr::Ref(Ref::from_response_name(*name)));
        }
    }
}

/// SVC-4 in the contract: every string schema without a stricter pattern,
/// an enum or a format states the text policy, so clients (and contract
/// tests) know control and bidirectional-override characters are refused.
pub fn constrain_strings(doc: &mut Doc) {
    if let Some(components) = doc.components.as_mut() {
        components.schemas.values_mut().for_each(constrain);
    }
    for item in doc.paths.paths.values_mut() {
        for op in [
            &mut item.get,
            &mut item.post,
            &mut item.put,
            &mut item.patch,
            &mut item.delete,
        ]
        .into_iter()
        .flatten()
        {
            for p in op.parameters.iter_mut().flatten() {
                p.schema.iter_mut().for_each(constrain);
            }
            if let Some(body) = op.request_body.as_mut() {
                for content in body.content.values_mut() {
                    content.schema.iter_mut().for_each(constrain);
                }
            }
        }
    }
}

fn constrain(schema: &mut RefOr<Schema>) {
    let RefOr::T(schema) = schema else {
        return;
    };
    match schema {
        Schema::Object(o) => {
            let is_string = match &o.schema_type {
                SchemaType::Type(t) => *t == Type::String,
                SchemaType::Array(ts) => ts.contains(&Type::String),
                SchemaType::AnyValue => false,
            };
            if is_string && o.pattern.is_none() && o.format.is_none() && o.enum_values.is_none() {
                o.pattern = Some(crate::platform::text::ANY_TEXT_PATTERN.to_string());
            }
            o.properties.values_mut().for_each(constrain);
        }
        Schema::Array(a) => {
            if let ArrayItems::RefOrSchema(items) = &mut a.items {
                constrain(items);
            }
        }
        Schema::OneOf(x) => x.items.iter_mut().for_each(constrain),
        Schema::AllOf(x) => x.items.iter_mut().for_each(constrain),
        Schema::AnyOf(x) => x.items.iter_mut().for_each(constrain),
        _ => {}
    }
}
