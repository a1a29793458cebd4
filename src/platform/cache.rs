//! A cache of serialised responses (issue 13): anonymous discovery pages
//! are the same bytes for every caller until a demand changes, so the
//! server keeps them, with their entity tag, instead of asking the database
//! and encoding the page again.
//!
//! An entry is good while the generation of its topic
//! ([`crate::platform::changes`]) is the one it was built at, and until its
//! own expiry (a page of open demands changes when one of them passes its
//! deadline, with no write to announce it).

use std::collections::HashMap;
use std::sync::RwLock;

use actix_web::HttpResponse;
use actix_web::http::header;
use actix_web::web::Bytes;

/// The entity tag of a JSON representation: a strong tag from its bytes,
/// so the same resource in the same state always has the same tag.
pub fn etag_of(body: &[u8]) -> String {
    use sha2::{Digest, Sha256};
    use std::fmt::Write;
    let digest = Sha256::digest(body);
    let mut tag = String::with_capacity(34);
    tag.push('"');
    for b in &digest[..16] {
        let _ = write!(tag, "{b:02x}");
    }
    tag.push('"');
    tag
}

/// One cached response body.
#[derive(Clone)]
pub struct CachedBody {
    pub body: Bytes,
    pub etag: String,
}

impl CachedBody {
    pub fn new(body: Vec<u8>) -> Self {
        let etag = etag_of(&body);
        CachedBody {
            body: Bytes::from(body),
            etag,
        }
    }

    /// A 200 JSON response with the body and its `ETag` (the caching
    /// middleware answers `If-None-Match` from it without hashing again).
    pub fn response(&self) -> HttpResponse {
        HttpResponse::Ok()
            .content_type("application/json")
            .insert_header((header::ETAG, self.etag.as_str()))
            .body(self.body.clone())
    }
}

struct Entry {
    generation: u64,
    /// Microseconds since the epoch (the clock of `AppState`).
    expires_at: i64,
    cached: CachedBody,
}

/// Keyed cached bodies, at most `capacity` of them.
pub struct PageCache {
    capacity: usize,
    entries: RwLock<HashMap<String, Entry>>,
}

impl PageCache {
    /// A cache of `capacity` entries (0: nothing is cached).
    pub fn new(capacity: usize) -> Self {
        PageCache {
            capacity,
            entries: RwLock::new(HashMap::new()),
        }
    }

    pub fn enabled(&self) -> bool {
        self.capacity > 0
    }

    /// The entry for `key` if it was built at `generation` and has not
    /// expired at `now` (microseconds).
    pub fn get(&self, key: &str, generation: u64, now: i64) -> Option<CachedBody> {
        let entries = self.entries.read().ok()?;
        let entry = entries.get(key)?;
        (entry.generation == generation && now < entry.expires_at).then(|| entry.cached.clone())
    }

    /// Keeps `cached` for `key`, built at `generation`, until `expires_at`,
    /// unless the generation has moved on to `current` meanwhile (a slow
    /// request must not replace a fresher entry). When full, entries of
    /// older generations or past their time go first, then all of them.
    pub fn put(
        &self,
        key: String,
        (generation, current): (u64, u64),
        (expires_at, now): (i64, i64),
        cached: CachedBody,
    ) {
        if self.capacity == 0 || generation != current {
            return;
        }
        let Ok(mut entries) = self.entries.write() else {
            return;
        };
        if entries.len() >= self.capacity && !entries.contains_key(&key) {
            entries.retain(|_, e| e.generation == current && e.expires_at > now);
            if entries.len() >= self.capacity {
                entries.clear();
            }
        }
        entries.insert(
            key,
            Entry {
                generation,
                expires_at,
                cached,
            },
        );
    }

    pub fn len(&self) -> usize {
        self.entries.read().map(|e| e.len()).unwrap_or(0)
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn entries_hold_for_their_generation_and_time_only() {
        let cache = PageCache::new(2);
        let body = |b: &[u8]| CachedBody::new(b.to_vec());
        cache.put("a".into(), (1, 1), (100, 0), body(b"[1]"));
        assert_eq!(
            cache.get("a", 1, 99).unwrap().body,
            Bytes::from_static(b"[1]")
        );
        assert!(cache.get("a", 2, 99).is_none(), "a newer generation");
        assert!(cache.get("a", 1, 100).is_none(), "expired");
        cache.put("b".into(), (2, 2), (100, 0), body(b"[2]"));
        cache.put("c".into(), (2, 2), (100, 0), body(b"[3]"));
        assert!(cache.len() <= 2);
        assert!(
            cache.get("a", 1, 0).is_none(),
            "older generation evicted first"
        );
        assert!(cache.get("c", 2, 0).is_some());
        // Built before a change that landed meanwhile: not kept.
        cache.put("c".into(), (2, 3), (100, 0), body(b"[old]"));
        assert_eq!(
            cache.get("c", 2, 0).unwrap().body,
            Bytes::from_static(b"[3]")
        );
        let off = PageCache::new(0);
        off.put("a".into(), (1, 1), (100, 0), body(b"[]"));
        assert!(off.get("a", 1, 0).is_none());
    }
}
