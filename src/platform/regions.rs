//! GB/T 2260 administrative divisions (WRK-2): the province → city →
//! district tree shipped inside the binary (`regions/pca-code.json`; its
//! source, date and licence in `regions/SOURCE.md`). Codes are six digits
//! everywhere: a province `310000`, a city `310100`, a district `310104`.

use std::collections::HashMap;
use std::sync::LazyLock;

use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use crate::platform::enums::text_enum;

text_enum! {
    /// The level of a region.
    pub enum Level {
        Province = "province",
        City = "city",
        District = "district",
    }
}

/// One region.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct Region {
    /// Six digits (GB/T 2260).
    pub code: String,
    pub name: String,
    pub level: Level,
    /// The enclosing region's code (none for a province).
    pub parent_code: Option<String>,
}

#[derive(Deserialize)]
struct Node {
    code: String,
    name: String,
    #[serde(default)]
    children: Vec<Node>,
}

struct Tree {
    by_code: HashMap<String, Region>,
    children: HashMap<Option<String>, Vec<String>>,
}

fn six(code: &str) -> String {
    format!("{code:0<6}")
}

static TREE: LazyLock<Tree> = LazyLock::new(|| {
    let nodes: Vec<Node> =
        serde_json::from_str(include_str!("regions/pca-code.json")).unwrap_or_default();
    let mut tree = Tree {
        by_code: HashMap::new(),
        children: HashMap::new(),
    };
    fn add(tree: &mut Tree, node: &Node, level: Level, parent: Option<String>) {
        let code = six(&node.code);
        tree.children
            .entry(parent.clone())
            .or_default()
            .push(code.clone());
        tree.by_code.insert(
            code.clone(),
            Region {
                code: code.clone(),
                name: node.name.clone(),
                level,
                parent_code: parent,
            },
        );
        let next = match level {
            Level::Province => Some(Level::City),
            Level::City => Some(Level::District),
            Level::District => None,
        };
        if let Some(next) = next {
            for child in &node.children {
                add(tree, child, next, Some(code.clone()));
            }
        }
    }
    for node in &nodes {
        add(&mut tree, node, Level::Province, None);
    }
    tree
});

/// The region with this six-digit code.
pub fn get(code: &str) -> Option<&'static Region> {
    TREE.by_code.get(code)
}

/// The provinces (`parent` none), or the children of `parent`; `None` when
/// `parent` is not a known region.
pub fn children(parent: Option<&str>) -> Option<Vec<&'static Region>> {
    if let Some(p) = parent {
        get(p)?;
    }
    let codes = TREE
        .children
        .get(&parent.map(str::to_string))
        .map(Vec::as_slice)
        .unwrap_or_default();
    Some(codes.iter().filter_map(|c| get(c)).collect())
}

/// The district codes a region covers, as a half-open range of codes:
/// `310000` → `["31", "32")`, `310100` → `["3101", "3102")`, a district
/// itself → `[code, code + "\0")`. `None` for an unknown code.
pub fn code_range(code: &str) -> Option<(String, String)> {
    let region = get(code)?;
    let prefix = match region.level {
        Level::Province => &code[..2],
        Level::City => &code[..4],
        Level::District => return Some((code.to_string(), format!("{code}\0"))),
    };
    let next: u32 = prefix.parse::<u32>().ok()? + 1;
    Some((
        prefix.to_string(),
        format!("{next:0width$}", width = prefix.len()),
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn wrk2_the_tree_has_every_level_with_six_digit_codes() {
        let provinces = children(None).unwrap();
        assert_eq!(provinces.len(), 31);
        let shanghai = get("310000").unwrap();
        assert_eq!(shanghai.name, "上海市");
        assert_eq!(shanghai.level, Level::Province);
        let cities = children(Some("310000")).unwrap();
        assert_eq!(cities[0].code, "310100");
        let xuhui = get("310104").unwrap();
        assert_eq!(
            (xuhui.name.as_str(), xuhui.level),
            ("徐汇区", Level::District)
        );
        assert_eq!(xuhui.parent_code.as_deref(), Some("310100"));
        assert!(children(Some("999999")).is_none());
        assert_eq!(code_range("310000"), Some(("31".into(), "32".into())));
        assert_eq!(code_range("310100"), Some(("3101".into(), "3102".into())));
        assert_eq!(code_range("310104").map(|r| r.0), Some("310104".into()));
        assert!(code_range("123456").is_none());
        // Every district code falls in its city's and province's ranges.
        let (lo, hi) = code_range("310100").unwrap();
        assert!(lo.as_str() <= "310104" && "310104" < hi.as_str());
    }
}
