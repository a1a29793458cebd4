//! One error type for the whole API, answered as RFC 9457 problem+json.
//!
//! Handlers and services return [`AppError`]; its `code` is stable and
//! machine-readable, its texts come in Chinese (default) and English. The
//! response is rendered finally by [`crate::platform::http::edge`], which knows the
//! request id and the caller's `Accept-Language`. Unexpected causes are logged
//! there with the request id and answered as an opaque 500 or 503.

use std::borrow::Cow;
use std::fmt;

use actix_web::http::StatusCode;
use actix_web::http::header::{self, HeaderValue};
use actix_web::{HttpResponse, ResponseError};
use serde::Serialize;
use serde_json::{Map, Value};
use utoipa::ToSchema;

/// A text in both languages the API speaks.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Text {
    pub zh: Cow<'static, str>,
    pub en: Cow<'static, str>,
}

impl Text {
    pub fn new(zh: impl Into<Cow<'static, str>>, en: impl Into<Cow<'static, str>>) -> Self {
        Text {
            zh: zh.into(),
            en: en.into(),
        }
    }

    pub fn get(&self, lang: Lang) -> &str {
        match lang {
            Lang::Zh => &self.zh,
            Lang::En => &self.en,
        }
    }
}

/// The language of human texts in a response.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Lang {
    #[default]
    Zh,
    En,
}

impl Lang {
    /// Picks the preferred supported language from an `Accept-Language`
    /// value (highest q wins, Chinese when nothing supported is named).
    pub fn from_accept_language(value: Option<&str>) -> Lang {
        let Some(value) = value else {
            return Lang::Zh;
        };
        let mut best: Option<(f32, Lang)> = None;
        for part in value.split(',') {
            let mut pieces = part.trim().split(';');
            let tag = pieces.next().unwrap_or("").trim().to_ascii_lowercase();
            let q = pieces
                .find_map(|p| p.trim().strip_prefix("q="))
                .and_then(|q| q.parse::<f32>().ok())
                .unwrap_or(1.0);
            let lang = if tag == "en" || tag.starts_with("en-") {
                Lang::En
            } else if tag == "zh" || tag.starts_with("zh-") {
                Lang::Zh
            } else {
                continue;
            };
            if q > 0.0 && best.is_none_or(|(bq, _)| q > bq) {
                best = Some((q, lang));
            }
        }
        best.map_or(Lang::Zh, |(_, lang)| lang)
    }
}

/// One failed field of a request.
#[derive(Debug, Clone)]
pub struct FieldError {
    pub field: String,
    pub code: String,
    pub message: Text,
}

/// An error answered to the client as problem+json (boxed: errors travel
/// through every `Result` and should stay one pointer wide).
#[derive(Debug, Clone)]
pub struct AppError(Box<ErrorData>);

/// What an [`AppError`] carries.
#[derive(Debug, Clone)]
pub struct ErrorData {
    pub status: StatusCode,
    pub code: Cow<'static, str>,
    pub detail: Text,
    pub errors: Vec<FieldError>,
    /// Extra members of the problem object (e.g. `category`, `blocking`).
    pub extensions: Map<String, Value>,
    /// Seconds for a `Retry-After` header (429, some 503).
    pub retry_after: Option<u64>,
    /// Internal cause: logged with the request id, never sent.
    pub cause: Option<String>,
}

impl std::ops::Deref for AppError {
    type Target = ErrorData;
    fn deref(&self) -> &ErrorData {
        &self.0
    }
}

impl std::ops::DerefMut for AppError {
    fn deref_mut(&mut self) -> &mut ErrorData {
        &mut self.0
    }
}

impl fmt::Display for AppError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} {}", self.status.as_u16(), self.code)
    }
}

pub type AppResult<T> = Result<T, AppError>;

impl AppError {
    pub fn new(
        status: StatusCode,
        code: impl Into<Cow<'static, str>>,
        zh: impl Into<Cow<'static, str>>,
        en: impl Into<Cow<'static, str>>,
    ) -> Self {
        AppError(Box::new(ErrorData {
            status,
            code: code.into(),
            detail: Text::new(zh, en),
            errors: Vec::new(),
            extensions: Map::new(),
            retry_after: None,
            cause: None,
        }))
    }

    pub fn bad_request(
        code: &'static str,
        zh: impl Into<Cow<'static, str>>,
        en: impl Into<Cow<'static, str>>,
    ) -> Self {
        Self::new(StatusCode::BAD_REQUEST, code, zh, en)
    }
    pub fn unauthorized(
        code: &'static str,
        zh: impl Into<Cow<'static, str>>,
        en: impl Into<Cow<'static, str>>,
    ) -> Self {
        Self::new(StatusCode::UNAUTHORIZED, code, zh, en)
    }
    pub fn forbidden(
        code: &'static str,
        zh: impl Into<Cow<'static, str>>,
        en: impl Into<Cow<'static, str>>,
    ) -> Self {
        Self::new(StatusCode::FORBIDDEN, code, zh, en)
    }
    pub fn not_found(
        code: &'static str,
        zh: impl Into<Cow<'static, str>>,
        en: impl Into<Cow<'static, str>>,
    ) -> Self {
        Self::new(StatusCode::NOT_FOUND, code, zh, en)
    }
    pub fn conflict(
        code: &'static str,
        zh: impl Into<Cow<'static, str>>,
        en: impl Into<Cow<'static, str>>,
    ) -> Self {
        Self::new(StatusCode::CONFLICT, code, zh, en)
    }

    /// A 422 for one field, with the field error carrying the same code.
    /// A query parameter that cannot be used: 400 naming it.
    pub fn invalid_query(
        field: &str,
        code: &'static str,
        zh: impl Into<Cow<'static, str>>,
        en: impl Into<Cow<'static, str>>,
    ) -> Self {
        let mut err = Self::invalid_field(field, code, zh, en);
        err.status = StatusCode::BAD_REQUEST;
        err
    }

    pub fn invalid_field(
        field: &str,
        code: &'static str,
        zh: impl Into<Cow<'static, str>>,
        en: impl Into<Cow<'static, str>>,
    ) -> Self {
        let message = Text::new(zh, en);
        let mut err = Self::new(StatusCode::UNPROCESSABLE_ENTITY, code, "", "");
        err.errors = vec![FieldError {
            field: field.to_string(),
            code: code.to_string(),
            message: message.clone(),
        }];
        err.detail = message;
        err
    }

    /// A 422 listing every failed field.
    pub fn validation(errors: Vec<FieldError>) -> Self {
        let mut err = Self::new(
            StatusCode::UNPROCESSABLE_ENTITY,
            "validation.failed",
            "请求数据未通过校验，请检查 errors 中列出的字段",
            "The request failed validation; see the fields listed in errors",
        );
        err.errors = errors;
        err
    }

    /// Something that should not happen; the cause is logged, not shown.
    pub fn internal(cause: impl fmt::Display) -> Self {
        let mut err = Self::new(
            StatusCode::INTERNAL_SERVER_ERROR,
            "internal",
            "服务器内部错误，请稍后重试",
            "Internal server error; please try again later",
        );
        err.cause = Some(cause.to_string());
        err
    }

    /// The database cannot be reached or is busy.
    pub fn unavailable(cause: impl fmt::Display) -> Self {
        let mut err = Self::new(
            StatusCode::SERVICE_UNAVAILABLE,
            "service.unavailable",
            "数据库暂时不可用，请稍后重试",
            "The database is temporarily unavailable; please try again later",
        );
        err.cause = Some(cause.to_string());
        err.retry_after = Some(1);
        err
    }

    pub fn rate_limited(retry_after_secs: u64) -> Self {
        let mut err = Self::new(
            StatusCode::TOO_MANY_REQUESTS,
            "rate_limited",
            "请求过于频繁，请稍后再试",
            "Too many requests; please retry later",
        );
        err.retry_after = Some(retry_after_secs.max(1));
        err
    }

    /// A 429 of its own code (a limit that is a rule, not a flood guard).
    pub fn too_many(
        code: &'static str,
        zh: &'static str,
        en: &'static str,
        retry_after_secs: u64,
    ) -> Self {
        let mut err = Self::new(StatusCode::TOO_MANY_REQUESTS, code, zh, en);
        err.retry_after = Some(retry_after_secs.max(1));
        err
    }

    pub fn with_extension(mut self, key: &str, value: impl Into<Value>) -> Self {
        self.extensions.insert(key.to_string(), value.into());
        self
    }

    /// Renders the problem object in `lang`.
    pub fn to_problem(&self, lang: Lang, request_id: Option<&str>) -> Value {
        let mut body = Map::new();
        body.insert(
            "type".into(),
            format!("urn:weigongbao:problem:{}", self.code).into(),
        );
        body.insert("title".into(), status_title(self.status, lang).into());
        body.insert("status".into(), self.status.as_u16().into());
        body.insert("detail".into(), self.detail.get(lang).into());
        body.insert("code".into(), self.code.as_ref().into());
        if !self.errors.is_empty() {
            let errors: Vec<Value> = self
                .errors
                .iter()
                .map(|e| {
                    serde_json::json!({
                        "field": e.field,
                        "code": e.code,
                        "message": e.message.get(lang),
                    })
                })
                .collect();
            body.insert("errors".into(), errors.into());
        }
        if let Some(id) = request_id {
            body.insert("request_id".into(), id.into());
        }
        for (k, v) in &self.extensions {
            body.entry(k.clone()).or_insert_with(|| v.clone());
        }
        Value::Object(body)
    }
}

pub fn status_title(status: StatusCode, lang: Lang) -> &'static str {
    let (zh, en) = match status.as_u16() {
        400 => ("请求格式错误", "Bad Request"),
        401 => ("未认证", "Unauthorized"),
        403 => ("无权操作", "Forbidden"),
        404 => ("未找到", "Not Found"),
        405 => ("方法不允许", "Method Not Allowed"),
        409 => ("状态冲突", "Conflict"),
        413 => ("请求体过大", "Content Too Large"),
        415 => ("不支持的内容类型", "Unsupported Media Type"),
        422 => ("校验失败", "Unprocessable Content"),
        412 => ("前提条件不满足", "Precondition Failed"),
        428 => ("需要接受协议", "Precondition Required"),
        429 => ("请求过多", "Too Many Requests"),
        503 => ("服务不可用", "Service Unavailable"),
        _ => ("服务器错误", "Internal Server Error"),
    };
    match lang {
        Lang::Zh => zh,
        Lang::En => en,
    }
}

pub const PROBLEM_CONTENT_TYPE: &str = "application/problem+json";

impl ResponseError for AppError {
    fn status_code(&self) -> StatusCode {
        self.status
    }

    /// A Chinese rendering without request id; the edge middleware renders
    /// it again with both, using the copy left in the response extensions.
    fn error_response(&self) -> HttpResponse {
        let mut res = HttpResponse::build(self.status);
        res.insert_header((header::CONTENT_TYPE, PROBLEM_CONTENT_TYPE));
        if let Some(secs) = self.retry_after {
            res.insert_header((header::RETRY_AFTER, HeaderValue::from(secs)));
        }
        let mut res = res.body(self.to_problem(Lang::Zh, None).to_string());
        res.extensions_mut().insert(self.clone());
        res
    }
}

impl From<diesel::result::Error> for AppError {
    fn from(err: diesel::result::Error) -> Self {
        use diesel::result::{DatabaseErrorKind as K, Error as E};
        match err {
            E::NotFound => AppError::not_found("not_found", "资源不存在", "Resource not found"),
            E::DatabaseError(K::UniqueViolation, _) => AppError::conflict(
                "conflict",
                "与现有数据冲突",
                "The request conflicts with existing data",
            ),
            E::DatabaseError(K::SerializationFailure, _) => AppError::unavailable(err),
            E::DatabaseError(K::ClosedConnection | K::UnableToSendCommand, _) => {
                AppError::unavailable(err)
            }
            // Transient contention: the client may retry.
            E::DatabaseError(_, ref info)
                if info.message().contains("database is locked")
                    || info.message().contains("deadlock detected") =>
            {
                AppError::unavailable(err)
            }
            other => AppError::internal(other),
        }
    }
}

impl From<diesel::r2d2::PoolError> for AppError {
    fn from(err: diesel::r2d2::PoolError) -> Self {
        AppError::unavailable(err)
    }
}

impl From<actix_web::error::BlockingError> for AppError {
    fn from(err: actix_web::error::BlockingError) -> Self {
        AppError::internal(err)
    }
}

/// The problem+json object as documented in OpenAPI.
#[derive(Debug, Serialize, ToSchema)]
#[schema(example = json!({
    "type": "urn:weigongbao:problem:member_name.taken",
    "title": "状态冲突",
    "status": 409,
    "detail": "会员名已被占用",
    "code": "member_name.taken",
    "request_id": "3f1c8a52-6a0e-4c55-9d55-0e2b8f9f4d1a"
}))]
pub struct Problem {
    /// URI reference naming the problem type (`urn:weigongbao:problem:<code>`).
    #[serde(rename = "type")]
    pub type_: String,
    /// Short summary of the status.
    pub title: String,
    /// The HTTP status code.
    pub status: u16,
    /// Human-readable explanation (Chinese by default, English with `Accept-Language: en`).
    pub detail: String,
    /// Stable machine-readable error code.
    pub code: String,
    /// The failed fields, for validation errors.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub errors: Option<Vec<ProblemFieldError>>,
    /// The request id (also in the `X-Request-Id` header).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub request_id: Option<String>,
}

/// One failed field.
#[derive(Debug, Serialize, ToSchema)]
pub struct ProblemFieldError {
    /// The request field (JSON member, path or query parameter name).
    pub field: String,
    /// Stable machine-readable code.
    pub code: String,
    /// Human-readable message.
    pub message: String,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn accept_language_picks_highest_supported() {
        assert_eq!(Lang::from_accept_language(None), Lang::Zh);
        assert_eq!(Lang::from_accept_language(Some("en")), Lang::En);
        assert_eq!(Lang::from_accept_language(Some("en-US,en;q=0.9")), Lang::En);
        assert_eq!(Lang::from_accept_language(Some("zh-CN,en;q=0.5")), Lang::Zh);
        assert_eq!(Lang::from_accept_language(Some("fr, en;q=0.8")), Lang::En);
        assert_eq!(Lang::from_accept_language(Some("fr")), Lang::Zh);
        assert_eq!(Lang::from_accept_language(Some("en;q=0")), Lang::Zh);
    }

    #[test]
    fn internal_errors_never_show_their_cause() {
        let err = AppError::internal("SELECT secret FROM users");
        let body = err.to_problem(Lang::En, Some("rid")).to_string();
        assert!(!body.contains("SELECT"));
        assert!(body.contains("\"request_id\":\"rid\""));
    }
}
