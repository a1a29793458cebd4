//! The process log: env_logger (`RUST_LOG` filters), as text or, with
//! `LOG_FORMAT=json`, one JSON object per line with the record's fields
//! (`ts`, `level`, `target`, `message` and its key-values: the access log
//! adds `request_id`, `method`, `route`, `status`, `latency_ms`, `user_id`).
//! Nothing logged carries secrets or personal data: the access log names the
//! route template, never the URL, body or client address.

use std::io::Write;

use log::kv::{Error, Key, Value, VisitSource};
use serde_json::{Map, Value as Json};

use crate::platform::config::LogFormat;

struct Fields<'a>(&'a mut Map<String, Json>);

impl<'kvs> VisitSource<'kvs> for Fields<'_> {
    fn visit_pair(&mut self, key: Key<'kvs>, value: Value<'kvs>) -> Result<(), Error> {
        let json = if let Some(n) = value.to_i64() {
            Json::from(n)
        } else if let Some(n) = value.to_u64() {
            Json::from(n)
        } else if let Some(b) = value.to_bool() {
            Json::from(b)
        } else {
            Json::from(value.to_string())
        };
        self.0.insert(key.to_string(), json);
        Ok(())
    }
}

/// One record as a JSON line.
pub fn json_line(record: &log::Record<'_>, ts: &str) -> String {
    let mut line = Map::new();
    line.insert("ts".into(), Json::from(ts));
    line.insert("level".into(), Json::from(record.level().as_str()));
    line.insert("target".into(), Json::from(record.target()));
    line.insert("message".into(), Json::from(record.args().to_string()));
    // A field that cannot be read is left out rather than losing the line.
    let _ = record.key_values().visit(&mut Fields(&mut line));
    Json::Object(line).to_string()
}

/// Starts the logger (once, at process start).
pub fn init(format: LogFormat) {
    let mut builder =
        env_logger::Builder::from_env(env_logger::Env::default().default_filter_or("info"));
    if format == LogFormat::Json {
        builder.format(|buf, record| {
            let ts = chrono::Utc::now().to_rfc3339_opts(chrono::SecondsFormat::Millis, true);
            writeln!(buf, "{}", json_line(record, &ts))
        });
    }
    builder.init();
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn access_records_become_json_objects_with_their_fields() {
        let kvs: [(&str, Value<'_>); 4] = [
            ("request_id", Value::from("r-1")),
            ("status", Value::from(201u16)),
            ("latency_ms", Value::from(3u64)),
            ("user_id", Value::from(7i64)),
        ];
        let record = log::Record::builder()
            .level(log::Level::Info)
            .target("access")
            .args(format_args!("POST /api/v1/demands 201 3ms"))
            .key_values(&kvs)
            .build();
        let line: Json = serde_json::from_str(&json_line(&record, "t")).unwrap();
        assert_eq!(line["target"], "access");
        assert_eq!(line["request_id"], "r-1");
        assert_eq!(line["status"], 201);
        assert_eq!(line["latency_ms"], 3);
        assert_eq!(line["user_id"], 7);
        assert_eq!(line["message"], "POST /api/v1/demands 201 3ms");
    }
}
