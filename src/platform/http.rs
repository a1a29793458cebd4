//! The HTTP edge: request ids, problem+json for every error (ours and
//! actix's), 404/405 for unknown routes, extractor configs, client metadata.

use std::future::{Ready, ready};
use std::net::IpAddr;

use actix_web::body::{EitherBody, MessageBody};
use actix_web::dev::{Payload, ServiceRequest, ServiceResponse};
use actix_web::error::{JsonPayloadError, PathError, QueryPayloadError};
use actix_web::http::header::{self, HeaderName, HeaderValue};
use actix_web::http::{Method, StatusCode};
use actix_web::{FromRequest, HttpMessage, HttpRequest, HttpResponse, web};

use crate::platform::error::AppResult;
use crate::platform::error::{AppError, Lang, PROBLEM_CONTENT_TYPE};
use crate::platform::state::AppState;

pub const REQUEST_ID: HeaderName = HeaderName::from_static("x-request-id");

/// The id of the current request (the client's `X-Request-Id` when sane).
#[derive(Debug, Clone)]
pub struct RequestId(pub String);

fn acceptable_request_id(v: &str) -> bool {
    (1..=128).contains(&v.len())
        && v.bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.'))
}

/// The path as actix routes it (percent-encodings of ordinary characters
/// decoded): what every middleware must match on, so `/%61pi/v1/demands`
/// is treated as the `/api/v1/demands` it reaches.
pub fn routing_path(req: &HttpRequest) -> &str {
    req.match_info().as_str()
}

/// The method as a metrics label: the standard ones, or `other` (a client
/// may send any token).
fn method_label(method: &Method) -> &'static str {
    match *method {
        Method::GET => "GET",
        Method::HEAD => "HEAD",
        Method::POST => "POST",
        Method::PUT => "PUT",
        Method::PATCH => "PATCH",
        Method::DELETE => "DELETE",
        Method::OPTIONS => "OPTIONS",
        _ => "other",
    }
}

/// The signed-in caller of this request, for the access log (set by the
/// authentication gate).
#[derive(Debug, Clone, Copy)]
pub struct CallerId(pub i64);

/// After the response: the request counted in the metrics and written to
/// the access log (request id, method, route template, status, latency,
/// user id; never the URL, query, body or client address).
pub fn observe<B>(res: &ServiceResponse<B>, rid: &str, started: std::time::Instant) {
    let req = res.request();
    let elapsed = started.elapsed();
    let route = match routing_path(req) {
        "/metrics" => "/metrics".to_string(),
        p if p.starts_with("/swagger-ui") || p.starts_with("/api-docs") => "/docs".to_string(),
        p => req
            .app_data::<web::Data<RouteTable>>()
            .and_then(|routes| routes.template(p))
            .unwrap_or_else(|| "unmatched".to_string()),
    };
    let method = method_label(req.method());
    let status = res.status().as_u16();
    if let Some(state) = req.app_data::<web::Data<AppState>>() {
        state
            .metrics
            .observe_request(method, &route, status, elapsed.as_secs_f64());
    }
    let user_id = req.extensions().get::<CallerId>().map(|c| c.0);
    let latency_ms = u64::try_from(elapsed.as_millis()).unwrap_or(u64::MAX);
    let message = format_args!("{method} {route} {status} {latency_ms}ms");
    let route = route.as_str();
    match user_id {
        Some(user_id) => log::info!(
            target: "access",
            request_id = rid, method, route, status, latency_ms, user_id;
            "{message}"
        ),
        None => log::info!(
            target: "access",
            request_id = rid, method, route, status, latency_ms;
            "{message}"
        ),
    }
}

/// Middleware: until the database has been reached and migrated, requests
/// that need it (the API and `/readyz`) answer 503 with `Retry-After`;
/// liveness, the index, the docs and metrics still answer.
pub async fn readiness(
    req: ServiceRequest,
    next: actix_web::middleware::Next<impl MessageBody + 'static>,
) -> Result<ServiceResponse<EitherBody<impl MessageBody>>, actix_web::Error> {
    let waiting = req
        .app_data::<web::Data<AppState>>()
        .is_some_and(|state| !state.is_ready());
    let path = routing_path(req.request());
    if waiting && (path == "/readyz" || path.starts_with("/api/")) {
        let err = AppError::unavailable("the database has not been reached yet");
        return Ok(req.error_response(err).map_into_right_body());
    }
    Ok(next.call(req).await?.map_into_left_body())
}

/// First half of the edge: assigns the request id and reads the language.
pub fn begin(req: &ServiceRequest) -> (String, Lang) {
    let rid = req
        .headers()
        .get(&REQUEST_ID)
        .and_then(|v| v.to_str().ok())
        .filter(|v| acceptable_request_id(v))
        .map(str::to_string)
        .unwrap_or_else(|| uuid::Uuid::new_v4().to_string());
    req.extensions_mut().insert(RequestId(rid.clone()));
    let lang = Lang::from_accept_language(
        req.headers()
            .get(header::ACCEPT_LANGUAGE)
            .and_then(|v| v.to_str().ok()),
    );
    (rid, lang)
}

/// Second half of the edge: renders any error as problem+json in the
/// caller's language with the request id, logs internal causes, and sets
/// `X-Request-Id` on every response.
pub fn finish<B: MessageBody>(
    res: ServiceResponse<B>,
    rid: &str,
    lang: Lang,
) -> ServiceResponse<EitherBody<B>> {
    let problem = res.response().error().map(|err| {
        err.as_error::<AppError>()
            .cloned()
            .unwrap_or_else(|| from_foreign(res.status(), err))
    });
    let mut res = match problem {
        Some(problem) => {
            if let Some(cause) = &problem.cause {
                if problem.status.is_server_error()
                    && problem.status != StatusCode::SERVICE_UNAVAILABLE
                {
                    log::error!("request_id={rid} code={} cause={cause}", problem.code);
                } else {
                    log::warn!("request_id={rid} code={} cause={cause}", problem.code);
                }
            }
            let body = problem.to_problem(lang, Some(rid)).to_string();
            let mut builder = HttpResponse::build(problem.status);
            builder.insert_header((header::CONTENT_TYPE, PROBLEM_CONTENT_TYPE));
            if let Some(secs) = problem.retry_after {
                builder.insert_header((header::RETRY_AFTER, HeaderValue::from(secs)));
            }
            // Keep what the middlewares said (Allow, Cache-Control, the
            // RateLimit headers); the body's own headers are replaced.
            for (name, value) in res.response().headers() {
                if name != header::CONTENT_TYPE
                    && name != header::CONTENT_LENGTH
                    && name != header::RETRY_AFTER
                {
                    builder.append_header((name.clone(), value.clone()));
                }
            }
            // A problem is about this request only: never stored.
            if !res.response().headers().contains_key(header::CACHE_CONTROL) {
                builder.insert_header((header::CACHE_CONTROL, "no-store"));
            }
            let (req, _) = res.into_parts();
            ServiceResponse::new(req, builder.body(body)).map_into_right_body()
        }
        None => res.map_into_left_body(),
    };
    if let Ok(value) = HeaderValue::from_str(rid) {
        res.headers_mut().insert(REQUEST_ID, value);
    }
    res
}

/// Errors raised by actix or other crates, mapped by status.
fn from_foreign(status: StatusCode, err: &actix_web::Error) -> AppError {
    match status.as_u16() {
        400 => malformed(),
        404 => route_not_found(),
        413 => too_large(),
        415 => unsupported_media_type(),
        s if s >= 500 => AppError::internal(err),
        _ => AppError::new(
            status,
            "request.rejected",
            "请求被拒绝",
            "The request was rejected",
        ),
    }
}

/// The problem an extractor refused a request with, when the handler took
/// the extraction's `Result` to look at it later (after authentication):
/// this module's extractors refuse with an [`AppError`].
pub fn refusal(err: actix_web::Error) -> AppError {
    err.as_error::<AppError>()
        .cloned()
        .unwrap_or_else(malformed)
}

fn malformed() -> AppError {
    AppError::bad_request(
        "request.malformed",
        "请求格式错误",
        "The request is malformed",
    )
}

fn too_large() -> AppError {
    AppError::new(
        StatusCode::PAYLOAD_TOO_LARGE,
        "request.too_large",
        "请求体超过大小限制",
        "The request body is larger than allowed",
    )
}

fn unsupported_media_type() -> AppError {
    AppError::new(
        StatusCode::UNSUPPORTED_MEDIA_TYPE,
        "request.unsupported_media_type",
        "请求体须为 application/json",
        "The request body must be application/json",
    )
}

pub fn route_not_found() -> AppError {
    AppError::not_found("route.not_found", "接口不存在", "No such endpoint")
}

/// JSON bodies: size limit and problem+json errors.
pub fn json_config(limit: usize) -> web::JsonConfig {
    web::JsonConfig::default()
        .limit(limit)
        .error_handler(|err, _req| json_error(&err).into())
}

fn json_error(err: &JsonPayloadError) -> AppError {
    match err {
        JsonPayloadError::ContentType => unsupported_media_type(),
        JsonPayloadError::Overflow { .. } | JsonPayloadError::OverflowKnownLength { .. } => {
            too_large()
        }
        JsonPayloadError::Deserialize(e) if e.is_data() => {
            // serde's own text names fields for missing/unknown members; for
            // wrong types it may quote the value, which could be a secret,
            // so those get a neutral message.
            let text = e.to_string();
            let (zh, en, field) = if let Some(field) = backticked(&text, "missing field `") {
                ("缺少必填字段", "A required field is missing", field)
            } else if let Some(field) = backticked(&text, "unknown field `") {
                ("包含未知字段", "The body has an unknown field", field)
            } else {
                (
                    "字段类型或取值不正确（金额等须为字符串）",
                    "A field has the wrong type or value (amounts must be strings)",
                    String::new(),
                )
            };
            let mut err = AppError::invalid_field(&field, "request.invalid_body", zh, en);
            err.detail.en = format!("{en} (line {}, column {})", e.line(), e.column()).into();
            err.detail.zh = format!("{zh}（第 {} 行第 {} 列）", e.line(), e.column()).into();
            err
        }
        JsonPayloadError::Deserialize(_) => AppError::bad_request(
            "request.malformed_json",
            "请求体不是合法的 JSON",
            "The request body is not valid JSON",
        ),
        _ => malformed(),
    }
}

/// SVC-4 for what the URL carries: a query parameter or path segment
/// holding a forbidden character is refused with 400 naming it, before any
/// handler (or database) sees it.
pub fn check_url(req: &ServiceRequest) -> AppResult<()> {
    use crate::platform::text::find_forbidden;
    let pairs: Vec<(String, String)> =
        serde_urlencoded::from_str(req.query_string()).unwrap_or_default();
    for (name, value) in &pairs {
        // A name that itself holds such a character is never echoed back.
        let shown = if find_forbidden(name).is_some() {
            "query"
        } else if find_forbidden(value).is_some() {
            name.as_str()
        } else {
            continue;
        };
        return Err(AppError::invalid_query(
            shown,
            "text.forbidden_character",
            format!("查询参数 {shown} 含有不允许的控制字符或双向文本控制字符"),
            format!(
                "Query parameter {shown} contains a control or bidirectional-override character"
            ),
        ));
    }
    let path = percent_encoding::percent_decode_str(req.path()).decode_utf8_lossy();
    if find_forbidden(&path).is_some() {
        return Err(AppError::bad_request(
            "request.invalid_path",
            "路径含有不允许的控制字符或双向文本控制字符",
            "The path contains a control or bidirectional-override character",
        ));
    }
    Ok(())
}

pub use crate::platform::cache::etag_of;

/// Whether an `If-None-Match` / `If-Match` header value names `tag`.
pub fn tag_matches(header_value: &str, tag: &str) -> bool {
    header_value
        .split(',')
        .map(str::trim)
        .any(|t| t == "*" || t == tag || t.strip_prefix("W/") == Some(tag))
}

/// An `If-Match` precondition (optional): a PATCH carrying one applies
/// only to the representation it names, so two clients editing at once do
/// not silently overwrite each other (the second gets 412).
pub struct IfMatch(Option<Result<String, ()>>);

impl FromRequest for IfMatch {
    type Error = actix_web::Error;
    type Future = Ready<Result<Self, Self::Error>>;

    fn from_request(req: &HttpRequest, _: &mut Payload) -> Self::Future {
        // Read as text under the text policy (SVC-4), as the OpenAPI
        // document describes every string: UTF-8 when the bytes are UTF-8,
        // otherwise ISO-8859-1 (what HTTP clients send for non-ASCII
        // header text, RFC 9110 §5.5 obs-text). A UTF-8 reading that finds
        // a forbidden character has a byte in C1/C0 range, so the Latin-1
        // reading would refuse it too.
        let value = req.headers().get(header::IF_MATCH).map(|v| {
            let bytes = v.as_bytes();
            let text = match std::str::from_utf8(bytes) {
                Ok(t) => t.to_string(),
                Err(_) => bytes.iter().map(|&b| char::from(b)).collect(),
            };
            if text.chars().any(crate::platform::text::is_forbidden) {
                Err(())
            } else {
                Ok(text)
            }
        });
        ready(Ok(IfMatch(value)))
    }
}

impl IfMatch {
    /// 412 `precondition.failed` unless `current` (what GET answers now)
    /// has the tag the request names; no header, no condition.
    pub fn check<T: serde::Serialize>(&self, current: &T) -> AppResult<()> {
        let wanted = match &self.0 {
            None => return Ok(()),
            Some(Ok(wanted)) => wanted,
            Some(Err(())) => {
                return Err(AppError::bad_request(
                    "request.invalid_header",
                    "If-Match 须为 ETag 列表",
                    "If-Match must be a list of entity tags",
                ));
            }
        };
        let bytes = serde_json::to_vec(current).map_err(AppError::internal)?;
        // RFC 9110 §13.1.1: If-Match compares strongly; a weak tag never
        // matches.
        let tag = etag_of(&bytes);
        if wanted
            .split(',')
            .map(str::trim)
            .any(|t| t == "*" || t == tag)
        {
            return Ok(());
        }
        Err(AppError::new(
            StatusCode::PRECONDITION_FAILED,
            "precondition.failed",
            "资源已被修改：请重新读取（GET）后再提交",
            "The resource changed since you read it: GET it again and retry",
        ))
    }
}

/// The body of a `HEAD` answer: the size of the `GET` body (so the
/// `Content-Length` is the one `GET` would send, RFC 9110 §9.3.2) and no
/// bytes (the HTTP/1 encoder writes none for `HEAD` anyway).
struct HeadBody(u64);

impl MessageBody for HeadBody {
    type Error = std::convert::Infallible;

    fn size(&self) -> actix_web::body::BodySize {
        actix_web::body::BodySize::Sized(self.0)
    }

    fn poll_next(
        self: std::pin::Pin<&mut Self>,
        _: &mut std::task::Context<'_>,
    ) -> std::task::Poll<Option<Result<actix_web::web::Bytes, Self::Error>>> {
        std::task::Poll::Ready(None)
    }
}

/// Middleware for caches: every successful GET carries an `ETag` and
/// answers `304 Not Modified` to a matching `If-None-Match`; responses to
/// authenticated or token calls are `Cache-Control: no-store`, public
/// reads `no-cache` (store, but revalidate). `HEAD` is answered wherever
/// `GET` is: the same status and headers, no body.
pub async fn caching(
    mut req: ServiceRequest,
    next: actix_web::middleware::Next<impl MessageBody + 'static>,
) -> Result<ServiceResponse<actix_web::body::BoxBody>, actix_web::Error> {
    let personal = req.headers().contains_key(header::AUTHORIZATION)
        || routing_path(req.request()).starts_with("/api/v1/auth/");
    let head_only = req.method() == Method::HEAD;
    if head_only {
        req.head_mut().method = Method::GET;
    }
    let is_get = req.method() == Method::GET;
    let if_none_match = req
        .headers()
        .get(header::IF_NONE_MATCH)
        .and_then(|v| v.to_str().ok())
        .map(str::to_string);
    let res = next.call(req).await?;
    let cache = if personal { "no-store" } else { "no-cache" };
    // A stream (the live event stream) has no tag: it is never read whole.
    let streaming = matches!(
        res.response().body().size(),
        actix_web::body::BodySize::Stream
    );
    if !is_get || streaming || res.status() != StatusCode::OK || res.response().error().is_some() {
        let mut res = res.map_into_boxed_body();
        if personal && !res.headers().contains_key(header::CACHE_CONTROL) {
            res.headers_mut()
                .insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
        }
        if head_only {
            return Ok(res.map_body(|_, _| actix_web::body::BoxBody::new(())));
        }
        return Ok(res);
    }
    let (req, res) = res.into_parts();
    let (mut head, body) = res.into_parts();
    let bytes = actix_web::body::to_bytes(body)
        .await
        .map_err(|_| AppError::internal("response body could not be read"))?;
    // A handler that serves a cached body set its tag already.
    let tag = match head
        .headers()
        .get(header::ETAG)
        .and_then(|v| v.to_str().ok())
    {
        Some(tag) => tag.to_string(),
        None => {
            let tag = etag_of(&bytes);
            if let Ok(value) = HeaderValue::from_str(&tag) {
                head.headers_mut().insert(header::ETAG, value);
            }
            tag
        }
    };
    if !head.headers().contains_key(header::CACHE_CONTROL) {
        head.headers_mut()
            .insert(header::CACHE_CONTROL, HeaderValue::from_static(cache));
    }
    // RFC 9110 §13.1.2: a matching If-None-Match is 304 for GET and HEAD.
    let res = if if_none_match.is_some_and(|v| tag_matches(&v, &tag)) {
        *head.status_mut() = StatusCode::NOT_MODIFIED;
        head.headers_mut().remove(header::CONTENT_LENGTH);
        head.set_body(actix_web::body::BoxBody::new(()))
    } else if head_only {
        head.set_body(actix_web::body::BoxBody::new(HeadBody(bytes.len() as u64)))
    } else {
        head.set_body(actix_web::body::BoxBody::new(bytes))
    };
    Ok(ServiceResponse::new(req, res))
}

/// A path with its integer segments written as JSON Schema integers may be
/// (`/users/2.0`, the integer 2) in their plain form, if there are any.
fn integer_segments(path: &str) -> Option<String> {
    let mut changed = false;
    let out: Vec<&str> = path
        .split('/')
        .map(|seg| match seg.split_once('.') {
            Some((int, zeros))
                if !int.is_empty()
                    && int.bytes().all(|b| b.is_ascii_digit())
                    && !zeros.is_empty()
                    && zeros.bytes().all(|b| b == b'0') =>
            {
                changed = true;
                int
            }
            _ => seg,
        })
        .collect();
    changed.then(|| out.join("/"))
}

/// An integer query parameter as JSON Schema integers may be written
/// (`?user_id=2.0`, the integer 2): `#[serde(deserialize_with = "int_query")]`
/// on an `Option<i64>` query field.
pub fn int_query<'de, D: serde::Deserializer<'de>>(d: D) -> Result<Option<i64>, D::Error> {
    let raw: Option<String> = serde::Deserialize::deserialize(d)?;
    let Some(raw) = raw else { return Ok(None) };
    let int = match raw.split_once('.') {
        Some((int, zeros)) if !zeros.is_empty() && zeros.bytes().all(|b| b == b'0') => int,
        _ => raw.as_str(),
    };
    int.parse()
        .map(Some)
        .map_err(|_| serde::de::Error::custom("not an integer"))
}

/// Rewrites `/api/v1/users/2.0` to `/api/v1/users/2` before routing: an id
/// the document types as an integer is the same id in either form.
fn normalise_integer_segments(req: &mut ServiceRequest) {
    if !req.path().starts_with("/api/") {
        return;
    }
    let Some(path) = integer_segments(req.path()) else {
        return;
    };
    let with_query = match req.uri().query() {
        Some(q) => format!("{path}?{q}"),
        None => path,
    };
    let mut parts = req.uri().clone().into_parts();
    let Ok(pq) = with_query.parse() else { return };
    parts.path_and_query = Some(pq);
    if let Ok(uri) = actix_web::http::Uri::from_parts(parts) {
        req.match_info_mut().get_mut().update(&uri);
        req.head_mut().uri = uri;
    }
}

/// Middleware applying [`check_url`].
pub async fn url_policy(
    mut req: ServiceRequest,
    next: actix_web::middleware::Next<impl MessageBody + 'static>,
) -> Result<ServiceResponse<EitherBody<impl MessageBody>>, actix_web::Error> {
    if let Err(err) = check_url(&req) {
        return Ok(req.error_response(err).map_into_right_body());
    }
    normalise_integer_segments(&mut req);
    Ok(next.call(req).await?.map_into_left_body())
}

#[cfg(test)]
mod integer_segment_tests {
    use super::integer_segments;

    #[test]
    fn integer_ids_written_with_a_zero_fraction_are_the_integer() {
        assert_eq!(
            integer_segments("/api/v1/users/2.0").as_deref(),
            Some("/api/v1/users/2")
        );
        assert_eq!(
            integer_segments("/api/v1/users/12.000/account").as_deref(),
            Some("/api/v1/users/12/account")
        );
        assert_eq!(integer_segments("/api/v1/users/2.5"), None);
        assert_eq!(integer_segments("/api/v1/files/a.0"), None);
        assert_eq!(integer_segments("/api/v1/users/2"), None);
    }
}

/// Middleware: gives each request a [`RateNote`], counts anonymous reads of
/// public API resources per IP (SA §3.9: no bulk scraping), and writes the
/// `RateLimit-Policy` / `RateLimit` headers for whatever limit the request
/// was counted against.
pub async fn rate_limit(
    req: ServiceRequest,
    next: actix_web::middleware::Next<impl MessageBody + 'static>,
) -> Result<ServiceResponse<EitherBody<impl MessageBody>>, actix_web::Error> {
    let note = crate::platform::ratelimit::RateNote::default();
    req.extensions_mut().insert(note.clone());
    if let Some(state) = req.app_data::<web::Data<AppState>>()
        && anonymous_discovery(&req, state)
    {
        let ip = client_ip(req.request(), state.settings.trust_forwarded_for);
        let key = format!("ip:{}", rate_key(&ip));
        // SVC-3: from this process's lease of the shared count when it
        // holds one; else one shared step takes a new lease.
        let limiter = &state.limits.discovery;
        let counted = match limiter.check_local(&key, &note) {
            Some(counted) => counted,
            None => {
                let _turn = limiter.lease_turn(&key).await;
                match limiter.check_local(&key, &note) {
                    Some(counted) => counted,
                    None => {
                        let lease_note = note.clone();
                        state
                            .count_shared(limiter, move |conn, st| {
                                let now = st.clock.now().timestamp_micros();
                                st.limits.discovery.lease(conn, now, &key, &lease_note)
                            })
                            .await
                    }
                }
            }
        };
        if let Err(err) = counted {
            let mut res = req.error_response(err);
            note.write_headers(res.headers_mut());
            return Ok(res.map_into_right_body());
        }
    }
    let mut res = next.call(req).await?;
    note.write_headers(res.headers_mut());
    Ok(res.map_into_left_body())
}

/// A read of a public API operation by a caller without a valid token.
fn anonymous_discovery(req: &ServiceRequest, state: &AppState) -> bool {
    let path = routing_path(req.request());
    if !matches!(*req.method(), Method::GET | Method::HEAD) || !path.starts_with("/api/") {
        return false;
    }
    let public = req
        .app_data::<web::Data<RouteTable>>()
        .is_some_and(|routes| routes.is_public(&Method::GET, path));
    if !public {
        return false;
    }
    let token = req
        .headers()
        .get(actix_web::http::header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.split_once(' '))
        .filter(|(scheme, _)| scheme.eq_ignore_ascii_case("bearer"))
        .map(|(_, token)| token.trim());
    // A signed-in caller is accountable and not counted here; only the
    // signature is checked (no database), an ended session still counts as
    // signed in until its token expires.
    token.is_none_or(|t| state.jwt.verify(t, state.clock.now()).is_err())
}

/// A JSON request body: every string in it (keys too) is checked against
/// the text policy (SVC-4, [`crate::platform::text::is_forbidden`]) before
/// it is read into `T`, and a value that does not fit names its field and
/// the reason. Use it instead of `web::Json` for request bodies.
pub struct Json<T> {
    value: T,
    raw: serde_json::Value,
}

impl<T> Json<T> {
    pub fn into_inner(self) -> T {
        self.value
    }

    /// The value and the body as sent (for an idempotency fingerprint).
    pub fn into_parts(self) -> (T, serde_json::Value) {
        (self.value, self.raw)
    }
}

impl<T> std::ops::Deref for Json<T> {
    type Target = T;
    fn deref(&self) -> &T {
        &self.value
    }
}

impl<T: serde::de::DeserializeOwned + 'static> actix_web::FromRequest for Json<T> {
    type Error = actix_web::Error;
    type Future = std::pin::Pin<Box<dyn std::future::Future<Output = Result<Self, Self::Error>>>>;

    fn from_request(req: &HttpRequest, payload: &mut actix_web::dev::Payload) -> Self::Future {
        let body = web::Json::<serde_json::Value>::from_request(req, payload);
        Box::pin(async move {
            let value = body.await?.into_inner();
            check_strings(&value, "")?;
            let parsed =
                serde_path_to_error::deserialize(value.clone()).map_err(|e| field_error(&e))?;
            Ok(Json {
                value: parsed,
                raw: value,
            })
        })
    }
}

fn child_path(parent: &str, key: &str) -> String {
    if parent.is_empty() {
        key.to_string()
    } else {
        format!("{parent}.{key}")
    }
}

/// SVC-4: refuses the first string (or key) holding a forbidden character,
/// naming its field.
fn check_strings(value: &serde_json::Value, path: &str) -> AppResult<()> {
    use crate::platform::text::{find_forbidden, forbidden_text};
    let field = |p: &str| {
        if p.is_empty() {
            "body".to_string()
        } else {
            p.to_string()
        }
    };
    match value {
        serde_json::Value::String(s) if find_forbidden(s).is_some() => {
            Err(forbidden_text(&field(path)))
        }
        serde_json::Value::Array(items) => items
            .iter()
            .enumerate()
            .try_for_each(|(i, v)| check_strings(v, &format!("{}[{i}]", field(path)))),
        serde_json::Value::Object(map) => map.iter().try_for_each(|(k, v)| {
            if find_forbidden(k).is_some() {
                return Err(forbidden_text(&field(path)));
            }
            check_strings(v, &child_path(path, k))
        }),
        _ => Ok(()),
    }
}

/// A body value that does not fit its type: the field by its path, and the
/// reason without the value (a value may be a secret).
fn field_error(err: &serde_path_to_error::Error<serde_json::Error>) -> AppError {
    let text = err.inner().to_string();
    let path = err.path().to_string();
    let path = if path == "." { String::new() } else { path };
    let (field, zh, en) = if let Some(name) = backticked(&text, "missing field `") {
        let field = child_path(&path, &name);
        (
            field,
            "缺少必填字段".to_string(),
            "A required field is missing".to_string(),
        )
    } else if let Some(name) = backticked(&text, "unknown field `") {
        // The path already ends at the unknown member.
        let field = if path.ends_with(&name) {
            path
        } else {
            child_path(&path, &name)
        };
        (
            field,
            "包含未知字段".to_string(),
            "The body has an unknown field".to_string(),
        )
    } else if let Some((_, expected)) = text.rsplit_once(", expected ") {
        (
            path,
            format!("字段类型或取值不正确，应为：{expected}"),
            format!("Wrong type or value: expected {expected}"),
        )
    } else {
        (
            path,
            "字段取值不正确".to_string(),
            "The value is not valid for this field".to_string(),
        )
    };
    let field = if field.is_empty() {
        "body".to_string()
    } else {
        field
    };
    AppError::invalid_field(&field, "request.invalid_body", zh, en)
}

fn backticked(text: &str, prefix: &str) -> Option<String> {
    let rest = &text[text.find(prefix)? + prefix.len()..];
    Some(rest[..rest.find('`')?].to_string())
}

pub fn query_config() -> web::QueryConfig {
    web::QueryConfig::default().error_handler(|err, _req| {
        let detail = match &err {
            QueryPayloadError::Deserialize(e) => e.to_string(),
            _ => String::new(),
        };
        let mut e = AppError::bad_request(
            "request.invalid_query",
            "查询参数格式错误",
            "A query parameter is malformed",
        );
        if !detail.is_empty() && detail.len() < 200 {
            e.detail.en = format!("A query parameter is malformed: {detail}").into();
        }
        e.into()
    })
}

pub fn path_config() -> web::PathConfig {
    web::PathConfig::default().error_handler(|_err: PathError, _req| {
        AppError::bad_request(
            "request.invalid_path",
            "路径参数格式错误",
            "A path parameter is malformed",
        )
        .into()
    })
}

/// One documented operation: its method and whether it requires a bearer
/// token (every security requirement of the operation names a scheme).
#[derive(Debug, Clone)]
struct Operation {
    method: Method,
    requires_bearer: bool,
}

/// The routes the API serves, read from the OpenAPI document: for telling
/// 404 from 405, and for deciding authentication before a handler runs.
#[derive(Debug, Default, Clone)]
pub struct RouteTable(Vec<(Vec<String>, Vec<Operation>)>);

fn requires_bearer(op: &serde_json::Value) -> bool {
    op["security"].as_array().is_some_and(|reqs| {
        !reqs.is_empty()
            && reqs
                .iter()
                .all(|r| r.as_object().is_some_and(|o| !o.is_empty()))
    })
}

impl RouteTable {
    pub fn from_openapi(doc: &serde_json::Value) -> Self {
        let empty = serde_json::Map::new();
        let routes = doc["paths"]
            .as_object()
            .unwrap_or(&empty)
            .iter()
            .map(|(path, item)| {
                let segments = path
                    .trim_matches('/')
                    .split('/')
                    .map(str::to_string)
                    .collect();
                let mut ops = Vec::new();
                for (method, name) in [
                    (Method::GET, "get"),
                    (Method::POST, "post"),
                    (Method::PUT, "put"),
                    (Method::PATCH, "patch"),
                    (Method::DELETE, "delete"),
                ] {
                    if let Some(op) = item.get(name) {
                        ops.push(Operation {
                            method,
                            requires_bearer: requires_bearer(op),
                        });
                    }
                }
                (segments, ops)
            })
            .collect();
        RouteTable(routes)
    }

    /// The template of the route serving `path` (`/api/v1/demands/{id}`),
    /// for metrics and logs: never the raw path, which carries user input.
    pub fn template(&self, path: &str) -> Option<String> {
        self.matching(path)
            .first()
            .map(|(segments, _)| format!("/{}", segments.join("/")).replace("//", "/"))
    }

    /// The routes whose template matches `path`, most literal segments first
    /// (`/demands/mine` before `/demands/{id}`, as actix routes them).
    fn matching(&self, path: &str) -> Vec<&(Vec<String>, Vec<Operation>)> {
        let parts: Vec<&str> = path.trim_matches('/').split('/').collect();
        let mut found: Vec<&(Vec<String>, Vec<Operation>)> = self
            .0
            .iter()
            .filter(|(segments, _)| {
                segments.len() == parts.len()
                    && segments
                        .iter()
                        .zip(&parts)
                        .all(|(s, p)| s.starts_with('{') || s == p)
            })
            .collect();
        found.sort_by_key(|(segments, _)| {
            std::cmp::Reverse(segments.iter().filter(|s| !s.starts_with('{')).count())
        });
        found
    }

    fn allowed(&self, path: &str) -> Option<Vec<Method>> {
        let allowed: Vec<Method> = self
            .matching(path)
            .into_iter()
            .flat_map(|(_, ops)| ops.iter().map(|o| o.method.clone()))
            .collect();
        (!allowed.is_empty()).then_some(allowed)
    }

    /// Whether an operation serves `method path` without a bearer token.
    pub fn is_public(&self, method: &Method, path: &str) -> bool {
        self.matching(path)
            .into_iter()
            .find_map(|(_, ops)| ops.iter().find(|o| o.method == *method))
            .is_some_and(|o| !o.requires_bearer)
    }

    /// Whether the operation serving `method path` requires a bearer token.
    pub fn requires_bearer(&self, method: &Method, path: &str) -> bool {
        self.matching(path)
            .into_iter()
            .find_map(|(_, ops)| ops.iter().find(|o| o.method == *method))
            .is_some_and(|o| o.requires_bearer)
    }
}

/// Answers requests no route took: 405 with `Allow` when the path exists
/// with other methods, else 404.
pub async fn fallback(req: HttpRequest, routes: web::Data<RouteTable>) -> HttpResponse {
    let err = match routes.allowed(routing_path(&req)) {
        Some(methods) => {
            let mut names: Vec<&str> = methods.iter().map(Method::as_str).collect();
            // HEAD is answered wherever GET is.
            if methods.contains(&Method::GET) {
                names.push("HEAD");
            }
            let allow = names.join(", ");
            let err = AppError::new(
                StatusCode::METHOD_NOT_ALLOWED,
                "method.not_allowed",
                "该接口不支持此请求方法",
                "This endpoint does not support the request method",
            );
            let mut res = HttpResponse::from_error(err);
            if let Ok(v) = HeaderValue::from_str(&allow) {
                res.headers_mut().insert(header::ALLOW, v);
            }
            return res;
        }
        None => route_not_found(),
    };
    HttpResponse::from_error(err)
}

/// The client IP: the peer's, or with `trust_forwarded_for` (behind a
/// trusted proxy) the one `X-Forwarded-For` names; `unknown` if neither.
pub fn client_ip(req: &HttpRequest, trust_forwarded_for: bool) -> String {
    let forwarded = || {
        // The hop our proxy appended is the last; anything before it is
        // what the client claimed. `Forwarded` is not read.
        req.headers()
            .get_all("x-forwarded-for")
            .filter_map(|v| v.to_str().ok())
            .flat_map(|v| v.split(','))
            .next_back()
            .and_then(|hop| hop.trim().parse::<IpAddr>().ok())
    };
    let ip = if trust_forwarded_for {
        forwarded()
    } else {
        None
    }
    .or_else(|| req.peer_addr().map(|a| a.ip()));
    ip.map_or_else(|| "unknown".into(), |ip| ip.to_string())
}

/// The key a per-address limit counts: the IPv4 address, or the /64 of an
/// IPv6 one (a single subscriber holds a whole /64).
pub fn rate_key(ip: &str) -> String {
    match ip.parse::<IpAddr>() {
        Ok(IpAddr::V6(v6)) if v6.to_ipv4_mapped().is_none() => {
            let s = v6.segments();
            format!("{:x}:{:x}:{:x}:{:x}::/64", s[0], s[1], s[2], s[3])
        }
        Ok(IpAddr::V6(v6)) => v6
            .to_ipv4_mapped()
            .map_or_else(|| ip.to_string(), |v4| v4.to_string()),
        _ => ip.to_string(),
    }
}

/// Who is calling from where, for sessions, rate limits and audit entries.
#[derive(Debug, Clone)]
pub struct ClientMeta {
    /// The client IP (from `X-Forwarded-For` only when configured).
    pub ip: String,
    pub user_agent: Option<String>,
}

impl FromRequest for ClientMeta {
    type Error = AppError;
    type Future = Ready<Result<Self, AppError>>;

    fn from_request(req: &HttpRequest, _: &mut Payload) -> Self::Future {
        let trust = req
            .app_data::<web::Data<AppState>>()
            .is_some_and(|s| s.settings.trust_forwarded_for);
        let ip = client_ip(req, trust);
        let user_agent = req
            .headers()
            .get(header::USER_AGENT)
            .and_then(|v| v.to_str().ok())
            .map(|s| s.chars().take(200).collect());
        ready(Ok(ClientMeta { ip, user_agent }))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn request_ids_from_clients_are_bounded() {
        assert!(acceptable_request_id("abc-123_x.y"));
        assert!(!acceptable_request_id(""));
        assert!(!acceptable_request_id("has space"));
        assert!(!acceptable_request_id(&"a".repeat(129)));
    }

    #[test]
    fn route_table_tells_405_from_404() {
        let table = RouteTable(vec![(
            vec!["api".into(), "v1".into(), "users".into(), "{id}".into()],
            vec![Operation {
                method: Method::GET,
                requires_bearer: false,
            }],
        )]);
        assert_eq!(table.allowed("/api/v1/users/5"), Some(vec![Method::GET]));
        assert_eq!(table.allowed("/api/v1/users"), None);
        assert_eq!(table.allowed("/api/v1/users/5/x"), None);
    }

    #[test]
    fn route_table_prefers_literal_segments_for_authentication() {
        let route = |segments: &[&str], requires_bearer| {
            (
                segments.iter().map(|s| s.to_string()).collect(),
                vec![Operation {
                    method: Method::GET,
                    requires_bearer,
                }],
            )
        };
        let table = RouteTable(vec![
            route(&["demands", "{id}"], false),
            route(&["demands", "mine"], true),
        ]);
        assert!(table.requires_bearer(&Method::GET, "/demands/mine"));
        assert!(!table.requires_bearer(&Method::GET, "/demands/7"));
        assert!(!table.requires_bearer(&Method::POST, "/demands/7"));
    }
}

/// JSON Schema counts `3.0` as an integer; serde does not. These read an
/// integer field from either form (a fraction is still refused), so the
/// server accepts exactly what the documented `integer` type allows.
pub mod integer {
    use serde::Deserialize;
    use serde::de::{Deserializer, Error};

    fn to_i64<E: Error>(n: serde_json::Number) -> Result<i64, E> {
        if let Some(i) = n.as_i64() {
            return Ok(i);
        }
        match n.as_f64() {
            Some(f) if f.fract() == 0.0 && f >= i64::MIN as f64 && f < i64::MAX as f64 => {
                Ok(f as i64)
            }
            _ => Err(E::custom("expected an integer")),
        }
    }

    pub fn i32<'de, D: Deserializer<'de>>(d: D) -> Result<i32, D::Error> {
        let n = serde_json::Number::deserialize(d)?;
        i32::try_from(to_i64::<D::Error>(n)?).map_err(|_| D::Error::custom("integer out of range"))
    }

    pub fn opt_i32<'de, D: Deserializer<'de>>(d: D) -> Result<Option<i32>, D::Error> {
        match Option::<serde_json::Number>::deserialize(d)? {
            None => Ok(None),
            Some(n) => i32::try_from(to_i64::<D::Error>(n)?)
                .map(Some)
                .map_err(|_| D::Error::custom("integer out of range")),
        }
    }

    pub fn i64<'de, D: Deserializer<'de>>(d: D) -> Result<i64, D::Error> {
        to_i64::<D::Error>(serde_json::Number::deserialize(d)?)
    }

    pub fn opt_i64<'de, D: Deserializer<'de>>(d: D) -> Result<Option<i64>, D::Error> {
        match Option::<serde_json::Number>::deserialize(d)? {
            None => Ok(None),
            Some(n) => to_i64::<D::Error>(n).map(Some),
        }
    }

    pub fn vec_i64<'de, D: Deserializer<'de>>(d: D) -> Result<Vec<i64>, D::Error> {
        Vec::<serde_json::Number>::deserialize(d)?
            .into_iter()
            .map(to_i64::<D::Error>)
            .collect()
    }
}

/// A 201 answer with a JSON body.
pub fn created<T: serde::Serialize>(body: &T) -> actix_web::HttpResponse {
    actix_web::HttpResponse::Created().json(body)
}

/// CORS for the configured origins: the methods and headers the API
/// uses, and the response headers a browser client needs to read.
pub fn cors(origins: &[String]) -> actix_cors::Cors {
    let mut cors = actix_cors::Cors::default()
        .allowed_methods(["GET", "HEAD", "POST", "PUT", "PATCH", "DELETE"])
        .allowed_headers([
            header::AUTHORIZATION,
            header::CONTENT_TYPE,
            header::ACCEPT,
            header::ACCEPT_LANGUAGE,
            header::IF_MATCH,
            header::IF_NONE_MATCH,
            HeaderName::from_static("idempotency-key"),
            REQUEST_ID,
        ])
        .expose_headers([
            header::ETAG,
            header::RETRY_AFTER,
            HeaderName::from_static("idempotent-replayed"),
            HeaderName::from_static("ratelimit"),
            HeaderName::from_static("ratelimit-policy"),
            REQUEST_ID,
        ])
        .max_age(3600);
    for origin in origins {
        cors = cors.allowed_origin(origin);
    }
    cors
}
