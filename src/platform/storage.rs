//! Where uploaded files' bytes live (FIL-2): a local directory by default
//! (`cargo run` needs nothing), any S3-compatible object store in
//! production (`STORAGE=s3`). Blocking calls: run them off the actix
//! workers (`web::block`), like the database.
//!
//! The S3 store signs requests with `rusty-s3` (AWS Signature V4, no HTTP
//! client of its own) and sends them with `ureq`; downloads are handed out
//! as presigned links that expire ([`Storage::signed_url`]).

use std::io::Read;

use rusty_s3::S3Action;
use std::path::{Path, PathBuf};
use std::time::Duration;

use crate::platform::error::{AppError, AppResult};

/// S3 settings (`S3_*`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct S3Settings {
    /// `https://s3.cn-north-1.amazonaws.com.cn`, `http://127.0.0.1:9000`…
    pub endpoint: String,
    pub bucket: String,
    pub region: String,
    pub access_key: String,
    pub secret_key: String,
    /// Path-style URLs (`endpoint/bucket/key`), as most S3-compatible
    /// servers want; else virtual-host style (`bucket.endpoint/key`).
    pub path_style: bool,
}

/// Which store (`STORAGE`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum StorageSettings {
    Local(PathBuf),
    S3(S3Settings),
}

/// The store in use.
pub enum Storage {
    Local(PathBuf),
    S3(Box<S3>),
    /// Settings that could not be used (checked at start, so only when a
    /// state is built by hand): every call answers 503.
    Unusable(String),
}

pub struct S3 {
    bucket: rusty_s3::Bucket,
    credentials: rusty_s3::Credentials,
    agent: ureq::Agent,
}

/// How long a signed request to S3 stays valid when the server sends it.
const REQUEST_SIGNATURE: Duration = Duration::from_secs(60);

fn storage_error(what: &str, cause: impl std::fmt::Display) -> AppError {
    AppError::unavailable(format!("file storage: {what}: {cause}"))
}

impl Storage {
    /// The store the settings name, or [`Storage::Unusable`].
    pub fn from_settings(settings: &StorageSettings) -> Storage {
        Storage::new(settings).unwrap_or_else(Storage::Unusable)
    }

    pub fn new(settings: &StorageSettings) -> Result<Storage, String> {
        match settings {
            StorageSettings::Local(dir) => Ok(Storage::Local(dir.clone())),
            StorageSettings::S3(s3) => {
                let endpoint = s3
                    .endpoint
                    .parse()
                    .map_err(|e| format!("S3_ENDPOINT: {e}"))?;
                let style = if s3.path_style {
                    rusty_s3::UrlStyle::Path
                } else {
                    rusty_s3::UrlStyle::VirtualHost
                };
                let bucket =
                    rusty_s3::Bucket::new(endpoint, style, s3.bucket.clone(), s3.region.clone())
                        .map_err(|e| format!("S3 bucket: {e}"))?;
                let agent = ureq::Agent::config_builder()
                    .timeout_global(Some(Duration::from_secs(30)))
                    .http_status_as_error(false)
                    .build()
                    .new_agent();
                Ok(Storage::S3(Box::new(S3 {
                    bucket,
                    credentials: rusty_s3::Credentials::new(
                        s3.access_key.clone(),
                        s3.secret_key.clone(),
                    ),
                    agent,
                })))
            }
        }
    }

    /// Whether downloads go out as links to the store (S3) rather than
    /// through the server.
    pub fn links_out(&self) -> bool {
        matches!(self, Storage::S3(_))
    }

    fn local_path(dir: &Path, key: &str) -> AppResult<PathBuf> {
        // Keys are made by the server (`files/…`), never by clients; refuse
        // anything that could leave the directory all the same.
        if key
            .split('/')
            .any(|part| part.is_empty() || part == "." || part == "..")
        {
            return Err(AppError::internal(
                "a storage key with an empty or dot segment",
            ));
        }
        Ok(dir.join(key))
    }

    /// Stores `bytes` under `key` (replacing what was there).
    pub fn put(&self, key: &str, bytes: &[u8], content_type: &str) -> AppResult<()> {
        match self {
            Storage::Local(dir) => {
                let path = Self::local_path(dir, key)?;
                if let Some(parent) = path.parent() {
                    std::fs::create_dir_all(parent).map_err(|e| storage_error("mkdir", e))?;
                }
                // Write then rename: a crash leaves no half file under the key.
                let partial = path.with_extension("partial");
                std::fs::write(&partial, bytes).map_err(|e| storage_error("write", e))?;
                std::fs::rename(&partial, &path).map_err(|e| storage_error("rename", e))
            }
            Storage::Unusable(why) => Err(storage_error("settings", why)),
            Storage::S3(s3) => {
                let mut action = s3.bucket.put_object(Some(&s3.credentials), key);
                action.headers_mut().insert("content-type", content_type);
                let url = rusty_s3::S3Action::sign(&action, REQUEST_SIGNATURE);
                let res = s3
                    .agent
                    .put(url.as_str())
                    .header("content-type", content_type)
                    .send(bytes)
                    .map_err(|e| storage_error("put", e))?;
                s3.ok(res.status().as_u16(), "put")
            }
        }
    }

    /// The bytes under `key`.
    pub fn get(&self, key: &str) -> AppResult<Vec<u8>> {
        match self {
            Storage::Local(dir) => {
                std::fs::read(Self::local_path(dir, key)?).map_err(|e| storage_error("read", e))
            }
            Storage::S3(s3) => {
                let action = s3.bucket.get_object(Some(&s3.credentials), key);
                let url = rusty_s3::S3Action::sign(&action, REQUEST_SIGNATURE);
                let res = s3
                    .agent
                    .get(url.as_str())
                    .call()
                    .map_err(|e| storage_error("get", e))?;
                s3.ok(res.status().as_u16(), "get")?;
                let mut bytes = Vec::new();
                res.into_body()
                    .into_reader()
                    .read_to_end(&mut bytes)
                    .map_err(|e| storage_error("get", e))?;
                Ok(bytes)
            }
            Storage::Unusable(why) => Err(storage_error("settings", why)),
        }
    }

    /// Removes `key` (nothing there is fine).
    pub fn delete(&self, key: &str) -> AppResult<()> {
        match self {
            Storage::Local(dir) => match std::fs::remove_file(Self::local_path(dir, key)?) {
                Ok(()) => Ok(()),
                Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(()),
                Err(e) => Err(storage_error("delete", e)),
            },
            Storage::S3(s3) => {
                let action = s3.bucket.delete_object(Some(&s3.credentials), key);
                let url = rusty_s3::S3Action::sign(&action, REQUEST_SIGNATURE);
                let res = s3
                    .agent
                    .delete(url.as_str())
                    .call()
                    .map_err(|e| storage_error("delete", e))?;
                match res.status().as_u16() {
                    404 => Ok(()),
                    code => s3.ok(code, "delete"),
                }
            }
            Storage::Unusable(why) => Err(storage_error("settings", why)),
        }
    }

    /// A link that downloads `key` for `valid_for`, naming `content_type`
    /// and a download file name (S3 only; the local store serves the bytes
    /// itself).
    pub fn signed_url(
        &self,
        key: &str,
        valid_for: Duration,
        content_type: &str,
        file_name: &str,
    ) -> Option<String> {
        let Storage::S3(s3) = self else {
            return None;
        };
        let mut action = s3.bucket.get_object(Some(&s3.credentials), key);
        action
            .query_mut()
            .insert("response-content-type", content_type.to_string());
        action.query_mut().insert(
            "response-content-disposition",
            format!("inline; filename=\"{file_name}\""),
        );
        Some(rusty_s3::S3Action::sign(&action, valid_for).to_string())
    }

    /// Creates the bucket if it is missing (development and tests; in
    /// production it is provisioned).
    pub fn ensure_bucket(&self) -> AppResult<()> {
        let s3 = match self {
            Storage::S3(s3) => s3,
            Storage::Local(_) => return Ok(()),
            Storage::Unusable(why) => return Err(storage_error("settings", why)),
        };
        let action = s3.bucket.create_bucket(&s3.credentials);
        let url = rusty_s3::S3Action::sign(&action, REQUEST_SIGNATURE);
        let res = s3
            .agent
            .put(url.as_str())
            .send_empty()
            .map_err(|e| storage_error("create bucket", e))?;
        match res.status().as_u16() {
            // Already there (owned by us or not: the put will tell).
            409 => Ok(()),
            code => s3.ok(code, "create bucket"),
        }
    }
}

impl S3 {
    fn ok(&self, status: u16, what: &str) -> AppResult<()> {
        if (200..300).contains(&status) {
            Ok(())
        } else {
            Err(storage_error(what, format!("HTTP {status}")))
        }
    }
}
