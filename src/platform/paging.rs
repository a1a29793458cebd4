//! Cursor pagination shared by every list: `?limit=&cursor=` in,
//! `{items, next_cursor}` out. Cursors are opaque to clients and encode the
//! last key seen, so pages stay stable while rows are inserted.
//!
//! A cursor is the unpadded base64url of the last row's keys as big-endian
//! 64-bit integers. Any string of the documented length and alphabet decodes
//! to some position, so a cursor is valid exactly when it matches its
//! documented pattern (an integrator's generated client can check it).

use base64::Engine;
use base64::engine::{GeneralPurpose, GeneralPurposeConfig};
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};

use crate::platform::enums::TextEnum;
use crate::platform::error::{AppError, AppResult};

pub const DEFAULT_LIMIT: i64 = 20;
pub const MAX_LIMIT: i64 = 100;

/// `?limit=&cursor=`.
#[derive(Debug, Default, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct PageQuery {
    /// Items per page (1–100, default 20).
    #[param(minimum = 1, maximum = 100)]
    pub limit: Option<i64>,
    /// The `next_cursor` of the previous page.
    #[param(pattern = r"^[A-Za-z0-9_-]{11}$")]
    pub cursor: Option<String>,
}

/// A page of items, newest first unless the endpoint says otherwise.
#[derive(Debug, Serialize, ToSchema)]
pub struct Page<T: ToSchema> {
    pub items: Vec<T>,
    /// Pass as `cursor` for the next page; `null` on the last page.
    pub next_cursor: Option<String>,
}

fn invalid_cursor() -> AppError {
    AppError::invalid_field(
        "cursor",
        "cursor.invalid",
        "分页游标无效",
        "The cursor is invalid",
    )
}

impl PageQuery {
    /// The validated page size.
    pub fn limit(&self) -> AppResult<i64> {
        match self.limit {
            None => Ok(DEFAULT_LIMIT),
            Some(n) if (1..=MAX_LIMIT).contains(&n) => Ok(n),
            Some(_) => Err(AppError::invalid_field(
                "limit",
                "limit.out_of_range",
                "limit 须在 1–100 之间",
                "limit must be between 1 and 100",
            )),
        }
    }

    /// The id after which the page starts (descending id order).
    pub fn before_id(&self) -> AppResult<Option<i64>> {
        match &self.cursor {
            None => Ok(None),
            Some(cursor) => decode_keys::<1>(cursor).map(|[id]| Some(id)),
        }
    }
}

const CURSOR: GeneralPurpose = GeneralPurpose::new(
    &base64::alphabet::URL_SAFE,
    GeneralPurposeConfig::new()
        .with_encode_padding(false)
        .with_decode_allow_trailing_bits(true)
        .with_decode_padding_mode(base64::engine::DecodePaddingMode::RequireNone),
);

/// Encodes `N` keys as a cursor (11 characters per key).
pub fn encode_keys<const N: usize>(keys: [i64; N]) -> String {
    let bytes: Vec<u8> = keys.iter().flat_map(|k| k.to_be_bytes()).collect();
    CURSOR.encode(bytes)
}

/// Decodes a cursor of `N` keys; anything else is a 422 on `cursor`.
pub fn decode_keys<const N: usize>(cursor: &str) -> AppResult<[i64; N]> {
    let bytes = CURSOR.decode(cursor).map_err(|_| invalid_cursor())?;
    if bytes.len() != N * 8 {
        return Err(invalid_cursor());
    }
    let mut keys = [0i64; N];
    for (key, chunk) in keys.iter_mut().zip(bytes.chunks_exact(8)) {
        *key = i64::from_be_bytes(chunk.try_into().map_err(|_| invalid_cursor())?);
    }
    Ok(keys)
}

impl PageQuery {
    /// For queues read oldest first: the id after which the page starts.
    pub fn after_id(&self) -> AppResult<Option<i64>> {
        self.before_id()
    }
}

/// A `status` filter of a staff queue: `default` when absent, else one of `allowed`.
pub fn queue_status<T: TextEnum>(given: Option<String>, default: T, allowed: &[T]) -> AppResult<T> {
    let wanted = match given {
        None => Some(default),
        Some(text) => T::from_text(&text).filter(|s| allowed.contains(s)),
    };
    wanted.ok_or_else(|| {
        let names: Vec<&str> = allowed.iter().map(|s| s.text()).collect();
        AppError::invalid_field(
            "status",
            "status.invalid",
            format!("status 须为 {}", names.join("、")),
            format!("status must be one of {}", names.join(", ")),
        )
    })
}

/// Makes a page from `limit + 1` rows already turned into views, keyed by `id_of`.
pub fn page_of<T: ToSchema>(mut items: Vec<T>, limit: i64, id_of: impl Fn(&T) -> i64) -> Page<T> {
    let more = items.len() as i64 > limit;
    items.truncate(limit as usize);
    let next_cursor = if more {
        items.last().map(|v| encode_keys([id_of(v)]))
    } else {
        None
    };
    Page { items, next_cursor }
}

/// Makes a page from `limit + 1` fetched rows in descending id order.
pub fn page_by_id<R, T: ToSchema>(
    rows: Vec<R>,
    limit: i64,
    id_of: impl Fn(&R) -> i64,
    view: impl FnMut(R) -> T,
) -> Page<T> {
    let (rows, next_cursor) = split_page(rows, limit, id_of);
    Page {
        items: rows.into_iter().map(view).collect(),
        next_cursor,
    }
}

/// [`page_by_id`] with a view that can fail (a corrupt stored value).
pub fn try_page_by_id<R, T: ToSchema>(
    rows: Vec<R>,
    limit: i64,
    id_of: impl Fn(&R) -> i64,
    view: impl FnMut(R) -> AppResult<T>,
) -> AppResult<Page<T>> {
    let (rows, next_cursor) = split_page(rows, limit, id_of);
    Ok(Page {
        items: rows.into_iter().map(view).collect::<AppResult<_>>()?,
        next_cursor,
    })
}

/// The first `limit` of `limit + 1` rows and the cursor after them, if more.
fn split_page<R>(
    mut rows: Vec<R>,
    limit: i64,
    id_of: impl Fn(&R) -> i64,
) -> (Vec<R>, Option<String>) {
    let more = rows.len() as i64 > limit;
    rows.truncate(limit as usize);
    let next_cursor = rows
        .last()
        .filter(|_| more)
        .map(|r| encode_keys([id_of(r)]));
    (rows, next_cursor)
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    proptest! {
        #[test]
        fn cursor_keys_round_trip(a in any::<i64>(), b in any::<i64>()) {
            let c = encode_keys([a, b]);
            prop_assert_eq!(c.len(), 22);
            prop_assert_eq!(decode_keys::<2>(&c).unwrap(), [a, b]);
        }
    }

    #[test]
    fn cursor_round_trip_and_rejection() {
        let page = page_by_id(vec![9_i64, 8, 7], 2, |r| *r, |r| r.to_string());
        assert_eq!(page.items, vec!["9", "8"]);
        let q = PageQuery {
            limit: None,
            cursor: page.next_cursor,
        };
        assert_eq!(q.before_id().unwrap(), Some(8));
        let bad = PageQuery {
            limit: Some(0),
            cursor: Some("!!".into()),
        };
        assert!(bad.before_id().is_err());
        assert!(bad.limit().is_err());
        // Any string of the documented shape is a position.
        let any = PageQuery {
            limit: None,
            cursor: Some("zzzzzzzzzzz".into()),
        };
        assert!(any.before_id().unwrap().is_some());
        assert!(decode_keys::<1>("short").is_err());
        let last = page_by_id(vec![1_i64], 2, |r| *r, |r| r.to_string());
        assert!(last.next_cursor.is_none());
    }
}
