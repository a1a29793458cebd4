//! The crate's layering, enforced by reading the source text of `src/`.
//!
//! `src/` has three layers: `platform` at the bottom, the features above it
//! (themselves ordered), and `flows` on top. The order is declared once, in
//! [`LAYERS`] below, and mirrors the "Shape" section of `../shared/STYLE.md`.
//! A file may import its own top-level module or any module below it, never
//! one above; no files and no top-level modules may import each other in a
//! cycle; and every top-level module must be declared in [`LAYERS`].
//! `lib.rs` and `main.rs` are the root: they may import anything, and paths
//! to root items (`crate::AppState`) are not imports of a module.
//!
//! Imports are read with comments, strings and char literals skipped:
//! every `use crate::…`/`super::…`/`self::…` item (brace trees expanded, and
//! `use child::…` of a child module), and every inline `crate::…`/`super::…`
//! path. Each resolves to the file defining the longest matching module.
//! Set `ARCH_SRC` to check another source tree.

use std::collections::{BTreeMap, HashMap, HashSet};
use std::fs;
use std::path::{Path, PathBuf};

/// The top-level modules of `src/`, bottom to top: `platform`, then the
/// features from the lowest to the highest, then `flows`. A file may import
/// its own top-level module and any listed before it, none listed after it.
const LAYERS: &[&str] = &[
    "platform",
    "auth",
    "audit",
    "notifications",
    "content",
    "agreements",
    "verification",
    "users",
    "funds",
    "files",
    "works",
    "conversations",
    "conduct",
    "marketplace",
    "disputes",
    "lifecycle",
    "flows",
];

/// A `.rs` file under the source root, other than `lib.rs` and `main.rs`.
struct SourceFile {
    /// `src/funds/ledger.rs`
    name: String,
    /// `["funds", "ledger"]`; `src/funds/mod.rs` is `["funds"]`.
    module: Vec<String>,
    /// The source text.
    text: String,
}

/// An import of file `to` by file `from`; `text` says where and what, and
/// `down` whether it points down the layers (so cannot close a cycle alone).
struct Edge {
    from: usize,
    to: usize,
    text: String,
    down: bool,
}

struct Tok {
    text: String,
    line: usize,
}

fn rank(module: &str) -> Option<usize> {
    LAYERS.iter().position(|&layer| layer == module)
}

fn is_ident(c: char) -> bool {
    c.is_alphanumeric() || c == '_'
}

fn is_word(token: &str) -> bool {
    token.chars().next().is_some_and(is_ident)
}

fn read_tree(root: &Path) -> Vec<SourceFile> {
    fn collect(dir: &Path, out: &mut Vec<PathBuf>) {
        let entries = fs::read_dir(dir).unwrap_or_else(|e| panic!("{}: {e}", dir.display()));
        for path in entries.map(|entry| entry.unwrap().path()) {
            if path.is_dir() {
                collect(&path, out);
            } else if path.extension().is_some_and(|ext| ext == "rs") {
                out.push(path);
            }
        }
    }
    let mut paths = Vec::new();
    collect(root, &mut paths);
    paths.sort();
    let mut files = Vec::new();
    for path in paths {
        let rel = path.strip_prefix(root).unwrap();
        let mut module: Vec<String> = rel.iter().map(|c| c.to_string_lossy().into()).collect();
        let name = format!("src/{}", module.join("/"));
        let last = module.pop().unwrap();
        if module.is_empty() && (last == "lib.rs" || last == "main.rs") {
            continue;
        }
        if last != "mod.rs" {
            module.push(last.trim_end_matches(".rs").to_owned());
        }
        let text = fs::read_to_string(&path).unwrap();
        files.push(SourceFile { name, module, text });
    }
    files
}

/// The tokens of a source file (identifiers, `::` and single punctuation
/// characters, each with its line), skipping comments, strings and chars.
fn tokens(src: &str) -> Vec<Tok> {
    let c: Vec<char> = src.chars().collect();
    let (mut i, mut line, mut out) = (0, 1, Vec::new());
    while i < c.len() {
        let start = i;
        while i < c.len() && is_ident(c[i]) {
            i += 1;
        }
        let word: String = c[start..i].iter().collect();
        let skip = match (word.as_str(), c.get(i)) {
            ("r" | "br" | "cr", Some('#' | '"')) => raw_end(&c, i),
            ("", _) => skipped_end(&c, i),
            _ => None,
        };
        if let Some(end) = skip {
            line += c[start..end].iter().filter(|&&ch| ch == '\n').count();
            i = end;
            continue;
        }
        if word.is_empty() {
            i += 1 + usize::from(c[i..].starts_with(&[':', ':']));
        }
        let text = c[start..i].iter().collect();
        out.push(Tok { text, line });
    }
    out
}

/// The end of the whitespace, comment, string or char literal at `i`, if any.
fn skipped_end(c: &[char], i: usize) -> Option<usize> {
    match (c[i], c.get(i + 1), c.get(i + 2)) {
        (ch, _, _) if ch.is_whitespace() => Some(i + 1),
        ('/', Some('/'), _) => Some((i..c.len()).find(|&j| c[j] == '\n').unwrap_or(c.len())),
        ('/', Some('*'), _) => {
            let (mut j, mut depth) = (i + 2, 1);
            while j < c.len() && depth > 0 {
                match (c[j], c.get(j + 1)) {
                    ('/', Some('*')) => (depth, j) = (depth + 1, j + 2),
                    ('*', Some('/')) => (depth, j) = (depth - 1, j + 2),
                    _ => j += 1,
                }
            }
            Some(j.min(c.len()))
        }
        ('"', _, _) => Some(quoted_end(c, i + 1, '"')),
        ('\'', Some('\\'), _) => Some(quoted_end(c, i + 1, '\'')),
        ('\'', Some(_), Some('\'')) => Some(i + 3),
        _ => None, // a lifetime or label, or plain code
    }
}

/// The end of a quoted literal whose body starts at `i`.
fn quoted_end(c: &[char], mut i: usize, quote: char) -> usize {
    while i < c.len() && c[i] != quote {
        i += if c[i] == '\\' { 2 } else { 1 };
    }
    (i + 1).min(c.len())
}

/// The end of a raw string whose `#…"` starts at `i` (`None`: `r#ident`).
fn raw_end(c: &[char], i: usize) -> Option<usize> {
    let hashes = c[i..].iter().take_while(|&&ch| ch == '#').count();
    if c.get(i + hashes) != Some(&'"') {
        return None;
    }
    let closing =
        |j: usize| c[j] == '"' && c[j + 1..].iter().take_while(|&&ch| ch == '#').count() >= hashes;
    let end = (i + hashes + 1..c.len()).find(|&j| closing(j));
    Some(end.map_or(c.len(), |j| j + 1 + hashes))
}

/// Expands the use tree at `i` (just after `use`) into `(path, line)`s.
fn use_tree(toks: &[Tok], i: &mut usize, prefix: &[String], out: &mut Vec<(Vec<String>, usize)>) {
    let (mut path, mut line, mut named) = (prefix.to_vec(), 0, false);
    while let Some(tok) = toks.get(*i) {
        match tok.text.as_str() {
            ";" | "," | "}" => break,
            "{" => {
                *i += 1;
                while toks.get(*i).is_some_and(|t| t.text != "}" && t.text != ";") {
                    use_tree(toks, i, &path, out);
                    *i += usize::from(toks.get(*i).is_some_and(|t| t.text == ","));
                }
                *i += 1;
                return;
            }
            "as" => *i += 2,
            "::" => *i += 1,
            segment => {
                // `a::{self}` names module `a`.
                if segment != "self" || path.is_empty() {
                    path.push(segment.to_owned());
                }
                (line, named, *i) = (tok.line, true, *i + 1);
            }
        }
    }
    if named {
        out.push((path, line));
    }
}

/// `path` as written in module `scope`, made absolute: `crate::` from the
/// root, anything else (`self::`, `super::`, `use child::…`) from `scope`.
/// (`use std::…` thus lands in `scope` itself, i.e. in the same file.)
fn absolute(scope: &[String], path: &[String]) -> Option<Vec<String>> {
    let (mut full, segments) = match path.split_first()? {
        (first, rest) if first == "crate" => (Vec::new(), rest),
        _ => (scope.to_vec(), path),
    };
    for segment in segments {
        match segment.as_str() {
            "self" => {}
            "super" => _ = full.pop()?,
            _ => full.push(segment.clone()),
        }
    }
    Some(full)
}

/// Every module path a file names, made absolute, with its text and line.
fn named_paths(file: &SourceFile) -> Vec<(Vec<String>, String, usize)> {
    let toks = tokens(&file.text);
    let text = |j: usize| toks.get(j).map_or("", |t| t.text.as_str());
    // The module at the cursor, following inline `mod x { … }` blocks.
    let (mut scope, mut mods, mut depth) = (file.module.clone(), Vec::new(), 0);
    let (mut i, mut out) = (0, Vec::new());
    while i < toks.len() {
        let mut found = Vec::new();
        match text(i) {
            "{" => depth += 1,
            "}" => {
                depth -= 1;
                if mods.last() == Some(&depth) {
                    mods.pop();
                    scope.pop();
                }
            }
            "mod" if text(i + 2) == "{" => {
                scope.push(text(i + 1).to_owned());
                mods.push(depth);
            }
            "use" if text(i + 1) == "{" || is_word(text(i + 1)) => {
                i += 1;
                use_tree(&toks, &mut i, &[], &mut found);
            }
            "crate" | "super" | "self"
                if text(i + 1) == "::" && !matches!(text(i.wrapping_sub(1)), "::" | "$") =>
            {
                let mut path = vec![text(i).to_owned()];
                let line = toks[i].line;
                while text(i + 1) == "::" && is_word(text(i + 2)) {
                    path.push(text(i + 2).to_owned());
                    i += 2;
                }
                found.push((path, line));
            }
            _ => {}
        }
        for (path, line) in found {
            if let Some(full) = absolute(&scope, &path) {
                out.push((full, path.join("::"), line));
            }
        }
        i += 1;
    }
    out
}

fn load(root: &Path) -> (Vec<SourceFile>, Vec<Edge>) {
    let files = read_tree(root);
    let modules: HashMap<&[String], usize> = files
        .iter()
        .enumerate()
        .map(|(i, f)| (&f.module[..], i))
        .collect();
    let (mut edges, mut seen) = (Vec::new(), HashSet::new());
    for (from, file) in files.iter().enumerate() {
        for (full, path, line) in named_paths(file) {
            // The file of the longest prefix that is a module; none for root items.
            let Some(to) = (1..=full.len())
                .rev()
                .find_map(|k| modules.get(&full[..k]).copied())
            else {
                continue;
            };
            let text = format!("{}:{line} imports {path}", file.name);
            let ranks = rank(&files[to].module[0]).zip(rank(&file.module[0]));
            let down = ranks.is_some_and(|(to, from)| to < from);
            if to != from && seen.insert(text.clone()) {
                edges.push(Edge {
                    from,
                    to,
                    text,
                    down,
                });
            }
        }
    }
    (files, edges)
}

/// Imports of a module of a higher layer than the importing file's.
fn upward_imports(root: &Path) -> Vec<String> {
    let (files, edges) = load(root);
    let upward = |edge: &Edge| {
        let (from, to) = (&files[edge.from].module[0], &files[edge.to].module[0]);
        let above = rank(to)? > rank(from)?;
        above.then(|| format!("{} ({to} is above {from})", edge.text))
    };
    edges.iter().filter_map(upward).collect()
}

/// Cycles between files, then between top-level modules, each listed with
/// its imports that do not point down the layers: the ones to move.
fn import_cycles(root: &Path) -> Vec<String> {
    let (files, edges) = load(root);
    let names: Vec<&str> = files.iter().map(|f| f.name.as_str()).collect();
    let mut tops: Vec<&str> = files.iter().map(|f| f.module[0].as_str()).collect();
    tops.sort_unstable();
    tops.dedup();
    let top = |file: usize| tops.binary_search(&files[file].module[0].as_str()).unwrap();
    let mut found = cycle_reports("files", &names, |file| file, &edges);
    found.extend(cycle_reports("modules", &tops, top, &edges));
    found
}

/// The cycles of the graph of `names`, whose edges are the imports between
/// different nodes (`node` maps a file to its node), with their imports.
fn cycle_reports(
    kind: &str,
    names: &[&str],
    node: impl Fn(usize) -> usize,
    edges: &[Edge],
) -> Vec<String> {
    let between = |e: &&Edge| node(e.from) != node(e.to);
    let mut adj = vec![Vec::new(); names.len()];
    for edge in edges.iter().filter(between) {
        adj[node(edge.from)].push(node(edge.to));
    }
    let report = |cycle: Vec<usize>| {
        let members: Vec<&str> = cycle.iter().map(|&n| names[n]).collect();
        let members = members.join(", ");
        let mut report = format!("cycle between {kind} {members}; its imports not pointing down:");
        for edge in edges.iter().filter(|e| between(e) && !e.down) {
            if cycle.contains(&node(edge.from)) && cycle.contains(&node(edge.to)) {
                report = format!("{report}\n    {}", edge.text);
            }
        }
        report
    };
    cycles(&adj).into_iter().map(report).collect()
}

/// Tarjan's algorithm: the strongly connected components of `adj` with more
/// than one node, i.e. its cycles.
fn cycles(adj: &[Vec<usize>]) -> Vec<Vec<usize>> {
    #[derive(Default)]
    struct Tarjan<'a> {
        adj: &'a [Vec<usize>],
        index: HashMap<usize, usize>,
        low: HashMap<usize, usize>,
        stack: Vec<usize>,
        found: Vec<Vec<usize>>,
    }
    impl Tarjan<'_> {
        fn visit(&mut self, v: usize) {
            let index = self.index.len();
            self.index.insert(v, index);
            self.low.insert(v, index);
            self.stack.push(v);
            for &w in &self.adj[v] {
                let low = match self.index.get(&w) {
                    None => {
                        self.visit(w);
                        self.low[&w]
                    }
                    Some(&index) if self.stack.contains(&w) => index,
                    Some(_) => continue,
                };
                let low = low.min(self.low[&v]);
                self.low.insert(v, low);
            }
            if self.low[&v] == index {
                let mut component = self
                    .stack
                    .split_off(self.stack.iter().rposition(|&w| w == v).unwrap());
                if component.len() > 1 {
                    component.sort_unstable();
                    self.found.push(component);
                }
            }
        }
    }
    let mut tarjan = Tarjan {
        adj,
        ..Tarjan::default()
    };
    for v in 0..adj.len() {
        if !tarjan.index.contains_key(&v) {
            tarjan.visit(v);
        }
    }
    tarjan.found.sort();
    tarjan.found
}

/// Top-level modules that are not in [`LAYERS`], each with its first file.
fn undeclared_modules(root: &Path) -> Vec<String> {
    let mut first_file = BTreeMap::new();
    for file in read_tree(root) {
        if rank(&file.module[0]).is_none() {
            first_file
                .entry(file.module[0].clone())
                .or_insert(file.name);
        }
    }
    let describe = |(module, file)| format!("module {module} is not declared in LAYERS ({file})");
    first_file.into_iter().map(describe).collect()
}

fn src_root() -> PathBuf {
    let default = || PathBuf::from(concat!(env!("CARGO_MANIFEST_DIR"), "/src"));
    std::env::var_os("ARCH_SRC").map_or_else(default, PathBuf::from)
}

fn assert_none(found: &[String], what: &str) {
    let list = found.join("\n");
    assert!(
        found.is_empty(),
        "{} {what} (see LAYERS in tests/architecture.rs):\n{list}",
        found.len()
    );
}

#[test]
fn no_upward_imports() {
    assert_none(&upward_imports(&src_root()), "import(s) of a higher layer");
}

#[test]
fn no_import_cycles() {
    assert_none(&import_cycles(&src_root()), "import cycle(s)");
}

#[test]
fn layers_cover_every_module() {
    assert_none(
        &undeclared_modules(&src_root()),
        "module(s) missing from LAYERS",
    );
}

/// A synthetic tree for the self-test: `//- path` starts each file. The
/// `crate::funds::c` in comments and literals must not count as imports.
const FIXTURE: &str = r###"
//- lib.rs
pub mod platform;
use crate::flows::Root;
//- platform/mod.rs
use crate::{funds::{a::{self}, b::B as _}}; // crate::funds::c
/* /* crate::funds::c */ crate::funds::c */
const Q: [char; 2] = ['"', '\"'];
const S: (u8, &str) = (b'\'', "\" crate::funds::c");
const R: &str = r##"a " crate::funds::c "# "##;
fn f<'a>(x: &'a str) -> &'a str { x }
//- funds/mod.rs
pub use d::D;
pub(crate) use crate::platform::Clock;
//- funds/a.rs
use super::b::B;
//- funds/b.rs
/* a comment
*/ fn f() { super::a::f() }
//- funds/c.rs
pub struct C;
//- funds/d.rs
mod tests {
    use super::*;
}
//- extra.rs
pub struct Extra;
"###;

#[test]
fn checker_reports_an_upward_import_and_a_cycle() {
    let dir = tempfile::tempdir().unwrap();
    for file in FIXTURE.split("//- ").skip(1) {
        let (path, text) = file.split_once('\n').unwrap();
        let path = dir.path().join(path);
        fs::create_dir_all(path.parent().unwrap()).unwrap();
        fs::write(path, text).unwrap();
    }
    let found = upward_imports(dir.path());
    assert_eq!(
        found,
        [
            "src/platform/mod.rs:1 imports crate::funds::a (funds is above platform)",
            "src/platform/mod.rs:1 imports crate::funds::b::B (funds is above platform)",
        ]
    );
    let found = import_cycles(dir.path());
    assert_eq!(
        found,
        [
            "cycle between files src/funds/a.rs, src/funds/b.rs; its imports not pointing down:\n    src/funds/a.rs:1 imports super::b::B\n    src/funds/b.rs:2 imports super::a::f",
            "cycle between modules funds, platform; its imports not pointing down:\n    src/platform/mod.rs:1 imports crate::funds::a\n    src/platform/mod.rs:1 imports crate::funds::b::B",
        ]
    );
    let found = undeclared_modules(dir.path());
    assert_eq!(
        found,
        ["module extra is not declared in LAYERS (src/extra.rs)"]
    );
}
