//! The prohibited-content check (ACC-4, also used for demand text, MKT-1).
//!
//! Text is normalised (full-width → half-width and other compatibility
//! forms via NFKC, case-folded, everything but letters and digits removed,
//! so `赌 博`, `赌_博` and `ＣＡＳＩＮＯ` all match) and searched with one
//! Aho-Corasick automaton over the staff-maintained word list, so the cost
//! does not grow with the number of words. The automaton is cached and
//! rebuilt when the list's revision (bumped with every change) moves.

pub mod routes;

use std::sync::Arc;

use diesel::prelude::*;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use crate::platform::changes::{self, Topic};
use crate::platform::db::DbConnection;
use crate::platform::db::schema::{list_revisions, prohibited_words};
use crate::platform::error::{AppError, AppResult};
use crate::platform::state::AppState;
use crate::platform::text::WordMatcher;

pub use crate::platform::text::{fold, normalize};

/// The nine categories of prohibited content in SA §2.1.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum Category {
    /// (1) 违反宪法或法律法规规定的
    Unconstitutional,
    /// (2) 危害国家安全，泄露国家秘密，颠覆国家政权，破坏国家统一的
    StateSecurity,
    /// (3) 损害国家荣誉和利益的，损害公共利益的
    NationalHonour,
    /// (4) 煽动民族仇恨、民族歧视，破坏民族团结的
    EthnicHatred,
    /// (5) 破坏国家宗教政策，宣扬邪教和封建迷信的
    ReligionCult,
    /// (6) 散布谣言，扰乱社会秩序，破坏社会稳定的
    RumourDisorder,
    /// (7) 散布淫秽、色情、赌博、暴力、凶杀、恐怖或者教唆犯罪的
    ObscenityGamblingViolence,
    /// (8) 侮辱或者诽谤他人，侵害他人合法权益的
    InsultDefamation,
    /// (9) 含有法律、行政法规禁止的其他内容的
    OtherProhibited,
}

impl Category {
    pub const ALL: [Category; 9] = [
        Category::Unconstitutional,
        Category::StateSecurity,
        Category::NationalHonour,
        Category::EthnicHatred,
        Category::ReligionCult,
        Category::RumourDisorder,
        Category::ObscenityGamblingViolence,
        Category::InsultDefamation,
        Category::OtherProhibited,
    ];

    pub fn code(self) -> &'static str {
        match self {
            Category::Unconstitutional => "unconstitutional",
            Category::StateSecurity => "state_security",
            Category::NationalHonour => "national_honour",
            Category::EthnicHatred => "ethnic_hatred",
            Category::ReligionCult => "religion_cult",
            Category::RumourDisorder => "rumour_disorder",
            Category::ObscenityGamblingViolence => "obscenity_gambling_violence",
            Category::InsultDefamation => "insult_defamation",
            Category::OtherProhibited => "other_prohibited",
        }
    }

    pub fn parse(code: &str) -> Option<Category> {
        Category::ALL.into_iter().find(|c| c.code() == code)
    }

    /// (Chinese, English) label, as named in refusals.
    pub fn label(self) -> (&'static str, &'static str) {
        match self {
            Category::Unconstitutional => {
                ("违反宪法或法律法规", "violates the Constitution or laws")
            }
            Category::StateSecurity => ("危害国家安全", "endangers state security"),
            Category::NationalHonour => (
                "损害国家荣誉和利益或公共利益",
                "harms national honour or the public interest",
            ),
            Category::EthnicHatred => (
                "煽动民族仇恨、民族歧视",
                "incites ethnic hatred or discrimination",
            ),
            Category::ReligionCult => ("宣扬邪教和封建迷信", "promotes cults or superstition"),
            Category::RumourDisorder => (
                "散布谣言、扰乱社会秩序",
                "spreads rumours or disturbs social order",
            ),
            Category::ObscenityGamblingViolence => (
                "淫秽、色情、赌博、暴力、凶杀、恐怖或教唆犯罪",
                "obscenity, gambling, violence, terror or incitement to crime",
            ),
            Category::InsultDefamation => ("侮辱或诽谤他人", "insults or defames others"),
            Category::OtherProhibited => (
                "法律、行政法规禁止的其他内容",
                "other content prohibited by law",
            ),
        }
    }
}

/// The compiled prohibited-word list.
pub struct WordFilter(Arc<WordMatcher>);

impl WordFilter {
    /// Builds the filter from (normalised word, category) pairs.
    pub fn new(words: Vec<(String, Category)>) -> AppResult<Self> {
        let words = words
            .into_iter()
            .map(|(w, c)| (w, c.code().to_string()))
            .collect();
        Ok(WordFilter(Arc::new(WordMatcher::new(words)?)))
    }

    /// The category of the first listed word found in `text`, if any.
    pub fn find(&self, text: &str) -> Option<Category> {
        self.0.find(text).and_then(Category::parse)
    }
}

pub const WORDS_LIST: &str = "prohibited_words";
/// The revision key of the abuse list (MSG-3).
pub const ABUSE_LIST: &str = "abuse_words";

/// Which list a word is on: the `list` column of `prohibited_words`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum List {
    /// ACC-4: refused wherever it appears.
    Prohibited,
    /// MSG-3: insults and threats, delivered in messages but flagged.
    Abuse,
}

impl List {
    pub fn code(self) -> &'static str {
        match self {
            List::Prohibited => "prohibited",
            List::Abuse => "abuse",
        }
    }

    /// The `list_revisions` key bumped with every change.
    pub fn revision_key(self) -> &'static str {
        match self {
            List::Prohibited => WORDS_LIST,
            List::Abuse => ABUSE_LIST,
        }
    }
}

/// What an abuse-list word is (MSG-3, DR code of conduct ①).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum AbuseCategory {
    /// 辱骂：insulting words.
    Insult,
    /// 威胁：threats.
    Threat,
}

impl AbuseCategory {
    pub fn code(self) -> &'static str {
        match self {
            AbuseCategory::Insult => "insult",
            AbuseCategory::Threat => "threat",
        }
    }

    pub fn parse(code: &str) -> Option<AbuseCategory> {
        [AbuseCategory::Insult, AbuseCategory::Threat]
            .into_iter()
            .find(|c| c.code() == code)
    }
}

/// The compiled abuse list (MSG-3).
pub struct AbuseFilter(Arc<WordMatcher>);

impl AbuseFilter {
    /// The category of the first abuse word found in `text`, if any.
    pub fn find(&self, text: &str) -> Option<AbuseCategory> {
        self.0.find(text).and_then(AbuseCategory::parse)
    }
}

/// The current matcher of `list`, cached like [`filter`].
fn matcher(conn: &mut DbConnection, st: &AppState, list: List) -> AppResult<Arc<WordMatcher>> {
    let cache = match list {
        List::Prohibited => &st.words,
        List::Abuse => &st.abuse_words,
    };
    let generation = changes::generation(Topic::Words);
    if st.watch.complete()
        && let Some(matcher) = cache.at_generation(generation)
    {
        return Ok(matcher);
    }
    let revision: i64 = list_revisions::table
        .find(list.revision_key())
        .select(list_revisions::revision)
        .first(conn)
        .optional()?
        .unwrap_or(0);
    cache.get(revision, generation, || {
        Ok(prohibited_words::table
            .filter(prohibited_words::list.eq(list.code()))
            .select((prohibited_words::word, prohibited_words::category))
            .load::<(String, String)>(conn)?)
    })
}

/// The current abuse list (MSG-3).
pub fn abuse_filter(conn: &mut DbConnection, st: &AppState) -> AppResult<AbuseFilter> {
    Ok(AbuseFilter(matcher(conn, st, List::Abuse)?))
}

/// The current filter, from the server's cache: while no change to the
/// list has been heard since it was built (and this process hears of every
/// change: `AppState::watch`), without a query; else one small query checks
/// the list's revision.
pub fn filter(conn: &mut DbConnection, st: &AppState) -> AppResult<WordFilter> {
    Ok(WordFilter(matcher(conn, st, List::Prohibited)?))
}

/// Bumps a cached list's revision (same transaction as the change).
pub fn bump_revision(conn: &mut DbConnection, list: &str) -> AppResult<()> {
    changes::mark(Topic::Words);
    diesel::update(list_revisions::table.find(list))
        .set(list_revisions::revision.eq(list_revisions::revision + 1))
        .execute(conn)?;
    Ok(())
}

/// The refusal for prohibited content in `field`: names the category,
/// never the word (ACC-4).
pub fn prohibited(field: &str, code: &'static str, category: Category) -> AppError {
    let (zh, en) = category.label();
    let mut err = AppError::invalid_field(
        field,
        code,
        format!("含有违禁内容（类别：{zh}）"),
        format!("Contains prohibited content (category: {en})"),
    );
    err.extensions
        .insert("category".into(), category.code().into());
    err
}

#[cfg(test)]
mod tests {
    use super::*;

    fn filter() -> WordFilter {
        WordFilter::new(vec![
            ("赌博".into(), Category::ObscenityGamblingViolence),
            ("casino".into(), Category::ObscenityGamblingViolence),
            ("邪教".into(), Category::ReligionCult),
        ])
        .unwrap()
    }

    #[test]
    fn acc4_normalisation_folds_width_case_and_separators() {
        assert_eq!(normalize("赌 博"), "赌博");
        assert_eq!(normalize("赌_博"), "赌博");
        assert_eq!(normalize("赌-·.博"), "赌博");
        assert_eq!(normalize("ＣＡＳＩＮＯ"), "casino");
        assert_eq!(normalize("Ca Si_No"), "casino");
        assert_eq!(fold("ＡＢｃ１２"), "abc12");
    }

    #[test]
    fn acc4_matches_name_the_category() {
        let f = filter();
        assert_eq!(
            f.find("我爱赌 博"),
            Some(Category::ObscenityGamblingViolence)
        );
        assert_eq!(
            f.find("ｃａｓｉｎｏ王"),
            Some(Category::ObscenityGamblingViolence)
        );
        assert_eq!(f.find("邪_教徒"), Some(Category::ReligionCult));
        assert_eq!(f.find("地推达人"), None);
        assert_eq!(WordFilter::new(vec![]).unwrap().find("赌博"), None);
    }

    #[test]
    fn acc4_ten_thousand_words_still_match() {
        let mut words: Vec<(String, Category)> = (0..10_000)
            .map(|i| (format!("词{i}x"), Category::OtherProhibited))
            .collect();
        words.push(("赌博".into(), Category::ObscenityGamblingViolence));
        let f = WordFilter::new(words).unwrap();
        assert_eq!(f.find("词9999x"), Some(Category::OtherProhibited));
        assert_eq!(f.find("赌-博"), Some(Category::ObscenityGamblingViolence));
        assert_eq!(f.find("干净的名字"), None);
    }

    #[test]
    fn category_codes_round_trip() {
        for c in Category::ALL {
            assert_eq!(Category::parse(c.code()), Some(c));
        }
    }
}
