//! Cursor pagination shared by every list: `?limit=&cursor=` in,
//! `{items, next_cursor}` out. Cursors are opaque to clients and encode the
//! last key seen, so pages stay stable while rows are inserted.

use base64::Engine;
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};

use crate::error::{AppError, AppResult};

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
    #[param(max_length = 200)]
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
        let Some(cursor) = &self.cursor else {
            return Ok(None);
        };
        let raw = base64::engine::general_purpose::URL_SAFE_NO_PAD
            .decode(cursor)
            .map_err(|_| invalid_cursor())?;
        let text = String::from_utf8(raw).map_err(|_| invalid_cursor())?;
        text.strip_prefix("id:")
            .and_then(|n| n.parse::<i64>().ok())
            .map(Some)
            .ok_or_else(invalid_cursor)
    }
}

/// Makes a page from `limit + 1` fetched rows in descending id order.
pub fn page_by_id<R, T: ToSchema>(
    mut rows: Vec<R>,
    limit: i64,
    id_of: impl Fn(&R) -> i64,
    view: impl FnMut(R) -> T,
) -> Page<T> {
    let more = rows.len() as i64 > limit;
    rows.truncate(limit as usize);
    let next_cursor = if more {
        rows.last().map(|r| {
            base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(format!("id:{}", id_of(r)))
        })
    } else {
        None
    };
    Page {
        items: rows.into_iter().map(view).collect(),
        next_cursor,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

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
        let last = page_by_id(vec![1_i64], 2, |r| *r, |r| r.to_string());
        assert!(last.next_cursor.is_none());
    }
}
