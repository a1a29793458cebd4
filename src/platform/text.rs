//! The one text policy: how free text is checked, folded and matched.
//!
//! Every string a feature stores goes through one of these checks, so two
//! fields with the same kind of content follow the same rule:
//! [`plain_text`] for one-line fields (no control characters at all),
//! [`long_text`] for multi-line text (newline, carriage return and tab
//! allowed), [`check_len`] where only the length is ruled. [`fold`] and
//! [`normalize`] are the forms under which two texts count as the same,
//! and [`WordMatcher`] finds listed words in normalised text.

use std::sync::{Arc, RwLock};

use aho_corasick::AhoCorasick;
use unicode_normalization::UnicodeNormalization;

use crate::platform::error::{AppError, AppResult};

/// The JSON Schema pattern stating [`plain_text`]'s rule: no control
/// characters and at least one character that is not white space.
pub const PLAIN_TEXT_PATTERN: &str = r"^[^\x00-\x1f\x7f-\x9f\u061c\u200e\u200f\u202a-\u202e\u2066-\u2069]*[^\x00-\x1f\x7f-\x9f\u061c\u200e\u200f\u202a-\u202e\u2066-\u2069\s][^\x00-\x1f\x7f-\x9f\u061c\u200e\u200f\u202a-\u202e\u2066-\u2069]*$";

/// The JSON Schema pattern stating [`long_text`]'s rule: like
/// [`PLAIN_TEXT_PATTERN`] but newline, carriage return and tab allowed.
pub const LONG_TEXT_PATTERN: &str = r"^[^\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f\u061c\u200e\u200f\u202a-\u202e\u2066-\u2069]*[^\x00-\x1f\x7f-\x9f\u061c\u200e\u200f\u202a-\u202e\u2066-\u2069\s][^\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f\u061c\u200e\u200f\u202a-\u202e\u2066-\u2069]*$";

/// NFKC + lower case: the form under which two names count as the same.
pub fn fold(text: &str) -> String {
    text.nfkc().flat_map(char::to_lowercase).collect()
}

/// The stored form of a listed word (ACC-4), shown to staff: [`fold`],
/// traditional Chinese folded to simplified (`賭博` → `赌博`, the `fast2s`
/// table), separators, spaces and punctuation removed.
pub fn normalize(text: &str) -> String {
    fast2s::convert(&fold(text))
        .chars()
        .filter(|c| c.is_alphanumeric())
        .collect()
}

/// The form words and text are compared in: [`normalize`], then every
/// character folded to its Unicode confusable prototype (UTS #39 skeleton:
/// Cyrillic `с` and Greek `ο` match Latin `c` and `o`). Prototypes need not
/// be readable (`m` becomes `rn`), so this form is never shown.
fn match_key(text: &str) -> String {
    unicode_security::skeleton(&normalize(text))
        .flat_map(char::to_lowercase)
        .filter(|c| c.is_alphanumeric())
        .collect()
}

/// Characters no string the API reads may hold (SVC-4): NUL and the other
/// C0 controls but tab, line feed and carriage return; DEL and the C1
/// controls; and the bidirectional controls that make text display other
/// than it reads (U+202E …). PostgreSQL refuses NUL outright.
pub fn is_forbidden(c: char) -> bool {
    matches!(c,
        '\u{0}'..='\u{8}' | '\u{b}' | '\u{c}' | '\u{e}'..='\u{1f}' | '\u{7f}'..='\u{9f}'
        | '\u{61c}' | '\u{200e}' | '\u{200f}' | '\u{202a}'..='\u{202e}' | '\u{2066}'..='\u{2069}')
}

/// The characters of [`is_forbidden`] as a JSON Schema character class body.
pub const FORBIDDEN_CLASS: &str =
    r"\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f\u061c\u200e\u200f\u202a-\u202e\u2066-\u2069";

/// The JSON Schema pattern every string without a stricter one carries.
pub const ANY_TEXT_PATTERN: &str =
    r"^[^\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f\u061c\u200e\u200f\u202a-\u202e\u2066-\u2069]*$";

/// The first forbidden character's position in `value`, if any.
pub fn find_forbidden(value: &str) -> Option<usize> {
    value.chars().position(is_forbidden)
}

/// The refusal for a string holding a forbidden character.
pub fn forbidden_text(field: &str) -> AppError {
    AppError::invalid_field(
        field,
        "text.forbidden_character",
        format!("{field} 含有不允许的控制字符或双向文本控制字符"),
        format!("{field} contains a control or bidirectional-override character"),
    )
}

fn is_control(c: char) -> bool {
    c <= '\u{1f}' || ('\u{7f}'..='\u{9f}').contains(&c) || is_forbidden(c)
}

fn is_line_break_or_tab(c: char) -> bool {
    matches!(c, '\n' | '\r' | '\t')
}

/// Checks that a field has `min..=max` characters (as its schema says).
pub fn check_len(field: &str, value: &str, min: usize, max: usize) -> AppResult<()> {
    let len = value.chars().count();
    if (min..=max).contains(&len) {
        return Ok(());
    }
    Err(AppError::invalid_field(
        field,
        "text.length",
        format!("{field} 须为 {min}–{max} 个字符"),
        format!("{field} must be {min}–{max} characters"),
    ))
}

fn invalid_text(field: &str, max: usize) -> AppError {
    AppError::invalid_field(
        field,
        "text.invalid",
        format!("{field} 须为 1–{max} 个字符、不能为空白且不含控制字符"),
        format!("{field} must be 1–{max} characters, not blank, without control characters"),
    )
}

/// A one-line free-text field: at most `max` characters, no control
/// characters, not blank; returns it trimmed.
pub fn plain_text(field: &str, value: &str, max: usize) -> AppResult<String> {
    let trimmed = value.trim();
    if value.chars().count() > max || trimmed.is_empty() || value.chars().any(is_control) {
        return Err(invalid_text(field, max));
    }
    Ok(trimmed.to_string())
}

/// Multi-line free text of 1–`max` characters: newlines and tabs allowed,
/// other control characters not; returns it trimmed.
pub fn long_text(field: &str, value: &str, max: usize) -> AppResult<String> {
    let bad = value.trim().is_empty()
        || value.chars().count() > max
        || value
            .chars()
            .any(|c| (is_control(c) && !is_line_break_or_tab(c)) || is_forbidden(c));
    if bad {
        return Err(invalid_text(field, max));
    }
    Ok(value.trim().to_string())
}

/// A compiled list of words, each with a tag (what the list says about it),
/// matched against [`normalize`]d text with one Aho-Corasick automaton, so
/// the cost does not grow with the number of words.
pub struct WordMatcher {
    automaton: Option<AhoCorasick>,
    tags: Vec<String>,
}

impl WordMatcher {
    /// Builds the automaton from (word, tag) pairs; words are keyed here, so
    /// a word stored in an older normal form still matches.
    pub fn new(words: Vec<(String, String)>) -> AppResult<Self> {
        let (patterns, tags): (Vec<String>, Vec<String>) = words
            .into_iter()
            .map(|(w, tag)| (match_key(&w), tag))
            .filter(|(w, _)| !w.is_empty())
            .unzip();
        let automaton = if patterns.is_empty() {
            None
        } else {
            Some(
                AhoCorasick::new(&patterns)
                    .map_err(|e| AppError::internal(format!("word matcher: {e}")))?,
            )
        };
        Ok(WordMatcher { automaton, tags })
    }

    /// The tag of the first listed word found in `text`, if any.
    pub fn find(&self, text: &str) -> Option<&str> {
        let key = match_key(text);
        let found = self.automaton.as_ref()?.find(&key)?;
        self.tags
            .get(found.pattern().as_usize())
            .map(String::as_str)
    }
}

/// A compiled word list shared by all requests of one server, kept until
/// the list's revision moves. It also remembers the change generation it
/// was built at ([`crate::platform::changes`]), so while that has not moved
/// the revision need not even be read.
#[derive(Default)]
pub struct WordMatcherCache {
    cached: RwLock<Option<Cached>>,
}

struct Cached {
    revision: i64,
    generation: u64,
    matcher: Arc<WordMatcher>,
}

impl WordMatcherCache {
    /// The matcher built at change `generation`, if that is the one kept.
    pub fn at_generation(&self, generation: u64) -> Option<Arc<WordMatcher>> {
        let guard = self.cached.read().ok()?;
        let cached = guard.as_ref()?;
        (cached.generation == generation).then(|| cached.matcher.clone())
    }

    /// The matcher for `revision`, built by `load` when the cached one is
    /// older; `generation` is the change generation read before `revision`.
    pub fn get(
        &self,
        revision: i64,
        generation: u64,
        load: impl FnOnce() -> AppResult<Vec<(String, String)>>,
    ) -> AppResult<Arc<WordMatcher>> {
        if let Ok(mut guard) = self.cached.write()
            && let Some(cached) = guard.as_mut()
            && cached.revision == revision
        {
            cached.generation = cached.generation.max(generation);
            return Ok(cached.matcher.clone());
        }
        let matcher = Arc::new(WordMatcher::new(load()?)?);
        if let Ok(mut guard) = self.cached.write() {
            *guard = Some(Cached {
                revision,
                generation,
                matcher: matcher.clone(),
            });
        }
        Ok(matcher)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn plain_text_rules() {
        assert_eq!(plain_text("address", "  北京市 ", 200).unwrap(), "北京市");
        assert!(plain_text("address", "   ", 200).is_err());
        assert!(plain_text("address", "a\u{0}b", 200).is_err());
        assert!(plain_text("address", "a\nb", 200).is_err());
        assert!(plain_text("contact_name", &"x".repeat(51), 50).is_err());
    }

    #[test]
    fn svc4_forbidden_characters() {
        for bad in [
            '\u{0}', '\u{7}', '\u{1b}', '\u{7f}', '\u{85}', '\u{202e}', '\u{2066}', '\u{200f}',
        ] {
            assert!(is_forbidden(bad), "{:?}", bad);
            assert!(plain_text("title", &format!("a{bad}b"), 10).is_err());
            assert!(long_text("text", &format!("a{bad}b"), 10).is_err());
        }
        for ok in ['\n', '\t', '\r', 'a', '中', '\u{200d}', '€'] {
            assert!(!is_forbidden(ok), "{:?}", ok);
        }
        assert_eq!(find_forbidden("ab\u{202e}c"), Some(2));
    }

    #[test]
    fn long_text_allows_line_breaks_only() {
        assert_eq!(long_text("text", " a\nb\tc ", 10).unwrap(), "a\nb\tc");
        assert!(long_text("text", "a\u{0}b", 10).is_err());
        assert!(long_text("text", "a\u{7f}b", 10).is_err());
        assert!(long_text("text", " \n ", 10).is_err());
        assert!(long_text("text", &"x".repeat(11), 10).is_err());
    }

    #[test]
    fn acc4_normalize_folds_traditional_and_look_alikes() {
        assert_eq!(normalize("賭博"), "赌博");
        assert_eq!(normalize("賭 博"), "赌博");
        assert_eq!(normalize("ＳＰＡＭ Word"), "spamword");
        // Cyrillic с/а/о and Latin c/a/o look the same: they match.
        assert_eq!(match_key("\u{441}\u{430}sin\u{43e}"), match_key("casino"));
        assert_eq!(match_key("ＣＡＳＩＮＯ"), match_key("casino"));
        assert_ne!(match_key("casino"), match_key("cousin"));
    }

    #[test]
    fn acc4_matcher_finds_words_in_normalised_text() {
        let m = WordMatcher::new(vec![("赌博".into(), "gambling".into())]).unwrap();
        assert_eq!(m.find("网上赌 博"), Some("gambling"));
        assert_eq!(m.find("網上賭博"), Some("gambling"));
        assert_eq!(m.find("正常文字"), None);
    }
}
