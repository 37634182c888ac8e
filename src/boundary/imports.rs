//! Import extraction with tree-sitter. Each language has a query in `grammars/<lang>.scm`
//! (embedded in the binary, compiled lazily once per process) that captures import
//! statements and calls; a small walker per language turns the captures into [`Import`]s.

mod python;
mod python_scan;
mod rust;
mod typescript;

use std::cell::RefCell;
use std::sync::OnceLock;

use serde::{Deserialize, Serialize};
use tree_sitter::{Language, Node, Parser, Query, QueryCursor, StreamingIterator, Tree};

/// Languages whose imports we extract, chosen by file extension.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Lang {
    TypeScript,
    Tsx,
    JavaScript,
    Python,
    Rust,
}

impl Lang {
    pub const ALL: [Lang; 5] = [
        Lang::TypeScript,
        Lang::Tsx,
        Lang::JavaScript,
        Lang::Python,
        Lang::Rust,
    ];

    pub fn from_path(path: &str) -> Option<Lang> {
        let ext = path.rsplit_once('.')?.1;
        Some(match ext {
            "ts" | "mts" | "cts" => Lang::TypeScript,
            "tsx" => Lang::Tsx,
            "js" | "jsx" | "mjs" | "cjs" => Lang::JavaScript,
            "py" | "pyi" => Lang::Python,
            "rs" => Lang::Rust,
            _ => return None,
        })
    }

    pub fn name(self) -> &'static str {
        match self {
            Lang::TypeScript => "typescript",
            Lang::Tsx => "tsx",
            Lang::JavaScript => "javascript",
            Lang::Python => "python",
            Lang::Rust => "rust",
        }
    }

    /// TypeScript, TSX and JavaScript share one resolver.
    pub fn is_js_family(self) -> bool {
        matches!(self, Lang::TypeScript | Lang::Tsx | Lang::JavaScript)
    }

    fn grammar(self) -> Language {
        match self {
            Lang::TypeScript => tree_sitter_typescript::LANGUAGE_TYPESCRIPT.into(),
            Lang::Tsx => tree_sitter_typescript::LANGUAGE_TSX.into(),
            Lang::JavaScript => tree_sitter_javascript::LANGUAGE.into(),
            Lang::Python => tree_sitter_python::LANGUAGE.into(),
            Lang::Rust => tree_sitter_rust::LANGUAGE.into(),
        }
    }

    fn query_source(self) -> &'static str {
        match self {
            Lang::TypeScript => include_str!("../../grammars/typescript.scm"),
            Lang::Tsx => include_str!("../../grammars/tsx.scm"),
            Lang::JavaScript => include_str!("../../grammars/javascript.scm"),
            Lang::Python => include_str!("../../grammars/python.scm"),
            Lang::Rust => include_str!("../../grammars/rust.scm"),
        }
    }

    fn index(self) -> usize {
        self as usize
    }
}

pub use crate::config::ImportKind;

/// What an import names, in the terms its language resolves.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case", tag = "form")]
pub enum Spec {
    /// A JS/TS module specifier: `./x`, `@scope/pkg/sub`, `react`.
    Module { specifier: String },
    /// Python: `level` leading dots, the dotted module, and for `from M import n` the name.
    Python {
        level: u32,
        module: String,
        name: Option<String>,
    },
    /// Rust use path, one segment per element (`crate`, `a`, `b`; `*` for globs).
    RustPath { segments: Vec<String> },
    /// Rust `mod x;`, with its `#[path = "..."]` if any.
    RustMod { name: String, path: Option<String> },
    /// Rust `extern crate x;`.
    RustCrate { name: String },
    /// `import(x)`, `require(x)`, `importlib.import_module(x)`: not resolvable statically.
    NonLiteral,
}

/// One import found in a source file. `line` and `col` are 1-based (col in bytes).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Import {
    pub line: u32,
    pub col: u32,
    /// The import as written (specifier, dotted path, use path), for reports.
    pub text: String,
    pub kind: ImportKind,
    pub spec: Spec,
}

impl Import {
    fn at(node: Node, text: String, kind: ImportKind, spec: Spec) -> Import {
        let pos = node.start_position();
        Import {
            line: pos.row as u32 + 1,
            col: pos.column as u32 + 1,
            text,
            kind,
            spec,
        }
    }
}

/// A language's compiled query, and what lets extraction skip most of the tree.
struct Compiled {
    query: Query,
    /// Node kinds that start a pattern (`(import_statement) @import` -> `import_statement`);
    /// `None` when a pattern does not start with a plain node kind.
    roots: Option<Vec<String>>,
}

/// The compiled query of `lang`, built on first use (compiling costs 5-35 ms).
fn compiled(lang: Lang) -> &'static Compiled {
    static QUERIES: [OnceLock<Compiled>; 5] = [const { OnceLock::new() }; 5];
    QUERIES[lang.index()].get_or_init(|| {
        let query = Query::new(&lang.grammar(), lang.query_source())
            .unwrap_or_else(|e| panic!("embedded query grammars/{}.scm: {e}", lang.name()));
        let roots = pattern_roots(&query, lang.query_source(), &lang.grammar());
        Compiled { query, roots }
    })
}

/// The node kind each pattern starts with, read from the query source.
fn pattern_roots(query: &Query, source: &str, grammar: &Language) -> Option<Vec<String>> {
    let mut roots = Vec::new();
    for i in 0..query.pattern_count() {
        let rest = source
            .get(query.start_byte_for_pattern(i)..)?
            .strip_prefix('(')?;
        let end = rest.find(|c: char| !(c.is_ascii_alphanumeric() || c == '_'))?;
        let kind = &rest[..end];
        if grammar.id_for_node_kind(kind, true) == 0 {
            return None;
        }
        if !roots.iter().any(|r| r == kind) {
            roots.push(kind.to_string());
        }
    }
    Some(roots)
}

/// Words the source text of every match that yields an import contains: the import
/// keywords, and for Rust the `crate`/`self`/`super` roots of inline paths. A subtree whose
/// text holds none of them yields nothing, so it is neither queried nor (if the whole file
/// holds none) parsed.
fn keywords(lang: Lang) -> &'static [&'static str] {
    match lang {
        Lang::TypeScript | Lang::Tsx | Lang::JavaScript => {
            &["import", "export", "require", "<reference"]
        }
        Lang::Python => &["import", "TYPE_CHECKING"],
        Lang::Rust => &["use", "mod", "extern", "crate", "self", "super"],
    }
}

/// Where the keywords occur in a source: byte offsets, sorted, per keyword.
struct Hits {
    found: Vec<(usize, Vec<usize>)>,
}

impl Hits {
    fn find(lang: Lang, source: &str) -> Hits {
        let found = keywords(lang)
            .iter()
            .map(|k| (k.len(), source.match_indices(k).map(|(at, _)| at).collect()))
            .filter(|(_, at): &(usize, Vec<usize>)| !at.is_empty())
            .collect();
        Hits { found }
    }

    fn is_empty(&self) -> bool {
        self.found.is_empty()
    }

    /// Whether some keyword lies wholly inside `range`.
    fn within(&self, range: std::ops::Range<usize>) -> bool {
        self.found.iter().any(|(len, at)| {
            let first = at.partition_point(|&o| o < range.start);
            at.get(first).is_some_and(|&o| o + len <= range.end)
        })
    }
}

/// The nodes worth querying: those whose kind starts a pattern and whose text holds a
/// keyword. Every match that yields an import is rooted at one of them: its root holds a
/// keyword, so do all its ancestors, and the walk descends only into nodes holding one.
fn query_roots<'t>(tree: &'t Tree, hits: &Hits, roots: &[String]) -> Vec<Node<'t>> {
    let mut found = Vec::new();
    let mut cursor = tree.walk();
    loop {
        let node = cursor.node();
        if hits.within(node.byte_range()) {
            if roots.iter().any(|r| r == node.kind()) {
                found.push(node);
            }
            if cursor.goto_first_child() {
                continue;
            }
        }
        while !cursor.goto_next_sibling() {
            if !cursor.goto_parent() {
                return found;
            }
        }
    }
}

thread_local! {
    static PARSER: RefCell<(Option<Lang>, Parser)> = RefCell::new((None, Parser::new()));
}

/// The captures of one query match, by capture name.
pub(crate) struct Captures<'t> {
    pub names: Vec<(&'static str, Node<'t>)>,
}

impl<'t> Captures<'t> {
    pub fn get(&self, name: &str) -> Option<Node<'t>> {
        self.names.iter().find(|(n, _)| *n == name).map(|(_, n)| *n)
    }
}

/// Extract every import of a source file. Unparseable regions are skipped by tree-sitter's
/// error recovery; what parses is still reported.
pub fn extract(lang: Lang, source: &str) -> Vec<Import> {
    extract_with(lang, source, true)
}

/// `prune`: look only where an import can be: for Python, parse only the pieces a lexical
/// prescan finds (see [`python_scan`]); for every language, query only the nodes that can
/// start a match yielding an import (see [`query_roots`]). Without it the whole file is parsed
/// and queried, which gives the same imports, slower.
fn extract_with(lang: Lang, source: &str, prune: bool) -> Vec<Import> {
    let pieces = match (prune, lang) {
        (true, Lang::Python) => match python_scan::plan(source) {
            python_scan::Plan::Nothing => return Vec::new(),
            python_scan::Plan::Whole => None,
            python_scan::Plan::Pieces { statements, calls } => Some((statements, calls)),
        },
        _ => None,
    };
    let hits = match pieces {
        Some(_) => Hits { found: Vec::new() },
        None => Hits::find(lang, source),
    };
    if prune && pieces.is_none() && hits.is_empty() {
        return Vec::new();
    }
    PARSER.with(|cell| {
        let mut guard = cell.borrow_mut();
        let (current, parser) = &mut *guard;
        if *current != Some(lang) {
            parser
                .set_language(&lang.grammar())
                .expect("grammar version matches tree-sitter");
            *current = Some(lang);
        }
        let trees: Vec<Tree> = match &pieces {
            Some((statements, calls)) => parse_pieces(parser, source, statements, calls),
            None => parser.parse(source, None).into_iter().collect(),
        };
        if lang == Lang::Python && prune {
            // Statement pieces hold an import each; a whole file is walked where keywords are.
            let keyword_hits = pieces.is_none().then_some(&hits);
            let mut all = Vec::new();
            for tree in &trees {
                visit(tree, keyword_hits, |node| {
                    all.extend(python::captures_at(node, source.as_bytes()))
                });
            }
            return collect(lang, &all, source);
        }
        if let Some(kinds) = single_node_patterns(lang) {
            let all: Vec<Captures> = trees
                .iter()
                .flat_map(|tree| nodes_of_kinds(tree, kinds, prune.then_some(&hits)))
                .collect();
            return collect(lang, &all, source);
        }
        let compiled = compiled(lang);
        let mut cursor = QueryCursor::new();
        let subtrees: Vec<Node> = match (&pieces, &compiled.roots, prune) {
            (None, Some(roots), true) => {
                // Only matches rooted at each node: the walk already visits the nodes below.
                cursor.set_max_start_depth(Some(0));
                trees
                    .iter()
                    .flat_map(|tree| query_roots(tree, &hits, roots))
                    .collect()
            }
            _ => trees.iter().map(Tree::root_node).collect(),
        };
        let query = &compiled.query;
        let names = query.capture_names();
        let mut all = Vec::new();
        for subtree in subtrees {
            let mut matches = cursor.matches(query, subtree, source.as_bytes());
            while let Some(m) = matches.next() {
                all.push(Captures {
                    names: m
                        .captures()
                        .iter()
                        .map(|c| (names[c.index as usize], c.node))
                        .collect(),
                });
            }
        }
        collect(lang, &all, source)
    })
}

/// The imports of a file's captures, in source order.
fn collect(lang: Lang, all: &[Captures], source: &str) -> Vec<Import> {
    let src = source.as_bytes();
    let mut imports = match lang {
        Lang::TypeScript | Lang::Tsx | Lang::JavaScript => typescript::collect(all, src),
        Lang::Python => python::collect(all, src),
        Lang::Rust => rust::collect(all, src),
    };
    imports.sort_by(|a, b| (a.line, a.col, &a.text).cmp(&(b.line, b.col, &b.text)));
    imports.dedup();
    imports
}

/// `(kind, capture)` of each pattern when the language's query is single-node patterns only
/// (`(import_statement) @import`, ...): their matches are those nodes, found by walking the
/// tree, and the query is never compiled (compiling walks the grammar's parse states: for
/// TypeScript it cost more than checking a few staged files).
fn single_node_patterns(lang: Lang) -> Option<&'static [NodePattern]> {
    static PATTERNS: [OnceLock<Option<Vec<NodePattern>>>; 5] = [const { OnceLock::new() }; 5];
    PATTERNS[lang.index()]
        .get_or_init(|| parse_single_node_patterns(lang.query_source()))
        .as_deref()
}

/// A single-node pattern: the node kind and its capture name.
type NodePattern = (String, &'static str);

fn parse_single_node_patterns(query: &'static str) -> Option<Vec<NodePattern>> {
    query
        .lines()
        .map(str::trim)
        .filter(|line| !line.is_empty() && !line.starts_with(';'))
        .map(|line| {
            let (node, capture) = line.split_once(") @")?;
            let kind = node.strip_prefix('(')?;
            let plain = |s: &str| s.chars().all(|c| c.is_ascii_alphanumeric() || c == '_');
            (plain(kind) && plain(capture)).then(|| (kind.to_string(), capture))
        })
        .collect()
}

/// The nodes of `kinds`, as captures of their pattern, in source order. With `hits`, only
/// nodes holding a keyword (and the walk descends only into those), like [`query_roots`].
fn nodes_of_kinds<'t>(
    tree: &'t Tree,
    kinds: &[NodePattern],
    hits: Option<&Hits>,
) -> Vec<Captures<'t>> {
    let mut found = Vec::new();
    visit(tree, hits, |node| {
        if let Some((_, capture)) = kinds.iter().find(|(k, _)| k == node.kind()) {
            found.push(Captures {
                names: vec![(*capture, node)],
            });
        }
    });
    found
}

/// Every node of `tree` in source order; with `hits`, only nodes holding a keyword (the walk
/// descends only into those: a node yielding an import holds one, so do its ancestors).
fn visit<'t>(tree: &'t Tree, hits: Option<&Hits>, mut each: impl FnMut(Node<'t>)) {
    let mut cursor = tree.walk();
    loop {
        let node = cursor.node();
        if hits.is_none_or(|h| h.within(node.byte_range())) {
            each(node);
            if cursor.goto_first_child() {
                continue;
            }
        }
        while !cursor.goto_next_sibling() {
            if !cursor.goto_parent() {
                return;
            }
        }
    }
}

/// The import statements in one parse (each piece ends in a newline or `;`), each call in a
/// parse of its own (two calls on one line have no separator between them).
fn parse_pieces(
    parser: &mut Parser,
    source: &str,
    statements: &[tree_sitter::Range],
    calls: &[tree_sitter::Range],
) -> Vec<Tree> {
    let groups = (!statements.is_empty())
        .then_some(statements)
        .into_iter()
        .chain(calls.iter().map(std::slice::from_ref));
    let trees = groups
        .filter_map(|ranges| {
            parser
                .set_included_ranges(ranges)
                .expect("the prescan gives sorted, disjoint ranges");
            parser.parse(source, None)
        })
        .collect();
    parser
        .set_included_ranges(&[])
        .expect("no ranges means the whole document");
    trees
}

pub(crate) fn text<'a>(node: Node, src: &'a [u8]) -> &'a str {
    node.utf8_text(src).unwrap_or("")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn languages_by_extension() {
        for (path, lang) in [
            ("a.ts", Lang::TypeScript),
            ("a.mts", Lang::TypeScript),
            ("a.cts", Lang::TypeScript),
            ("a.tsx", Lang::Tsx),
            ("a.js", Lang::JavaScript),
            ("a.jsx", Lang::JavaScript),
            ("a.mjs", Lang::JavaScript),
            ("a.cjs", Lang::JavaScript),
            ("a.py", Lang::Python),
            ("a.rs", Lang::Rust),
        ] {
            assert_eq!(Lang::from_path(path), Some(lang), "{path}");
        }
        assert_eq!(Lang::from_path("a.md"), None);
        assert_eq!(Lang::from_path("Makefile"), None);
    }

    #[test]
    fn every_query_compiles() {
        for lang in Lang::ALL {
            assert!(compiled(lang).query.pattern_count() > 0, "{}", lang.name());
        }
    }

    #[test]
    fn single_node_queries_are_walked_for_the_same_kinds_and_captures() {
        for lang in [Lang::TypeScript, Lang::Tsx, Lang::JavaScript] {
            let patterns = single_node_patterns(lang).expect("single-node patterns");
            let query = &compiled(lang).query;
            assert_eq!(patterns.len(), query.pattern_count(), "{}", lang.name());
            let captures: Vec<&str> = patterns.iter().map(|p| p.1).collect();
            assert_eq!(captures, query.capture_names(), "{}", lang.name());
        }
        assert!(single_node_patterns(Lang::Python).is_none());
        assert!(single_node_patterns(Lang::Rust).is_none());
    }

    #[test]
    fn every_pattern_starts_with_a_node_kind() {
        let expected: [(Lang, &[&str]); 3] = [
            (
                Lang::Python,
                &[
                    "import_statement",
                    "import_from_statement",
                    "if_statement",
                    "call",
                ],
            ),
            (
                Lang::TypeScript,
                &[
                    "import_statement",
                    "export_statement",
                    "call_expression",
                    "comment",
                ],
            ),
            (
                Lang::Rust,
                &[
                    "use_declaration",
                    "mod_item",
                    "extern_crate_declaration",
                    "scoped_identifier",
                    "scoped_type_identifier",
                    "token_tree",
                ],
            ),
        ];
        for (lang, roots) in expected {
            assert_eq!(
                compiled(lang).roots.as_deref(),
                Some(
                    roots
                        .iter()
                        .map(|r| r.to_string())
                        .collect::<Vec<_>>()
                        .as_slice()
                ),
                "{}",
                lang.name()
            );
        }
        for lang in [Lang::Tsx, Lang::JavaScript] {
            assert!(compiled(lang).roots.is_some(), "{}", lang.name());
        }
    }

    /// Pruned extraction must give exactly what querying the whole tree gives.
    fn assert_pruning_is_exact(lang: Lang, source: &str, what: &str) {
        assert_eq!(
            extract_with(lang, source, true),
            extract_with(lang, source, false),
            "{what}"
        );
    }

    #[test]
    fn pruning_gives_the_same_imports_on_tricky_sources() {
        let cases: [(Lang, &str); 10] = [
            (
                Lang::Python,
                "if not TYPE_CHECKING:\n    import a\nelif x:\n    import b\nelse:\n    from c import d\nif t.TYPE_CHECKING:\n    import e\nelif TYPE_CHECKING:\n    import f\n",
            ),
            (
                Lang::Python,
                "import importlib as il\nfrom importlib import import_module\nil.import_module('a')\nx.y.import_module('b')\nimport_module(*names)\n__import__(n for n in m)\nlib.__import__('c')\n",
            ),
            (
                Lang::Python,
                "import a\nif TYPE_CHECKING:\n    from b import c\nif x:\n    if typing.TYPE_CHECKING:\n        import d\n",
            ),
            (
                Lang::Python,
                "class A:\n    def f(self):\n        m = importlib.import_module(name)\n        return __import__('e').x(g(import_module('h')))\n",
            ),
            (Lang::Python, "def f(:\n  import broken\nfrom . import (x,\n"),
            (Lang::Python, "x = 1  # no imports here, only important words\n"),
            (
                Lang::JavaScript,
                "!function(){var r=require('a');export default 1}();import('b');const c=require(d);",
            ),
            (
                Lang::TypeScript,
                "export type { A } from './a';\nimport x = require('y');\nfunction f() { return import('./z'); }\nexport const q = 1;\n",
            ),
            (
                Lang::Tsx,
                "import React from 'react';\nexport * from './b';\nconst C = () => <div>{require('./c')}</div>;\n",
            ),
            (
                Lang::Rust,
                "use a::b;\nmod m;\nfn f(&self) { format!(\"{}\", crate::x::y(super::z)); let _ = std::mem::size_of::<u8>(); }\nextern crate alloc;\n",
            ),
        ];
        for (lang, source) in cases {
            assert_pruning_is_exact(lang, source, source);
        }
    }

    fn parses_cleanly(lang: Lang, source: &str) -> bool {
        let mut parser = Parser::new();
        parser.set_language(&lang.grammar()).unwrap();
        parser
            .parse(source, None)
            .is_some_and(|tree| !tree.root_node().has_error())
    }

    /// How the prescan did on the Python files under a directory.
    #[derive(Debug, Default)]
    struct PrescanTally {
        compared: usize,
        with_imports: usize,
        in_pieces: usize,
        type_checking_in_pieces: usize,
        broken: usize,
    }

    /// Pruned against unpruned extraction for every Python file under `dir`. Files the full
    /// parser itself cannot parse are left out: what error recovery makes of them differs
    /// with what is parsed, and the prescan's pieces are the more faithful reading there.
    fn compare_python_files_under(dir: &std::path::Path) -> PrescanTally {
        let within_site_packages = dir.components().any(|c| c.as_os_str() == "site-packages");
        let mut tally = PrescanTally::default();
        for entry in ignore::WalkBuilder::new(dir)
            .standard_filters(false)
            .build()
            .flatten()
        {
            let path = entry.path();
            let installed = path.components().any(|c| c.as_os_str() == "site-packages");
            if path.extension().is_none_or(|e| e != "py") || (installed && !within_site_packages) {
                continue;
            }
            let Ok(source) = std::fs::read_to_string(path) else {
                continue;
            };
            if !parses_cleanly(Lang::Python, &source) {
                tally.broken += 1;
                continue;
            }
            assert_pruning_is_exact(Lang::Python, &source, &path.display().to_string());
            tally.compared += 1;
            match python_scan::plan(&source) {
                python_scan::Plan::Nothing => continue,
                python_scan::Plan::Whole => {}
                python_scan::Plan::Pieces { .. } => {
                    tally.in_pieces += 1;
                    if source.contains("if TYPE_CHECKING:") {
                        tally.type_checking_in_pieces += 1;
                    }
                }
            }
            tally.with_imports += 1;
        }
        tally
    }

    fn python3(script: &str) -> String {
        let output = std::process::Command::new("python3")
            .args(["-c", script])
            .output()
            .expect("python3 runs (CI installs it)");
        assert!(output.status.success(), "python3 -c {script}: {output:?}");
        String::from_utf8(output.stdout).unwrap().trim().to_string()
    }

    /// Python's own standard library: some 1,800 files of every style since Python 2.
    #[test]
    fn the_python_prescan_gives_the_same_imports_on_the_standard_library() {
        let stdlib = python3("import sysconfig; print(sysconfig.get_paths()['stdlib'])");
        let tally = compare_python_files_under(std::path::Path::new(&stdlib));
        eprintln!("{tally:?}");
        assert!(tally.compared > 1000, "{tally:?} under {stdlib}");
        assert!(tally.in_pieces * 100 > tally.with_imports * 98, "{tally:?}");
    }

    /// pip, fresh from a venv: typed code, `if TYPE_CHECKING:` in many files, vendored
    /// libraries (rich, urllib3) of other styles.
    #[test]
    fn the_python_prescan_gives_the_same_imports_on_pip() {
        let venv = tempfile::tempdir().unwrap();
        let purelib = python3(&format!(
            "import subprocess, sys, sysconfig; \
             subprocess.run([sys.executable, '-m', 'venv', {:?}], check=True); \
             print(sysconfig.get_paths(vars={{'base': {:?}, 'platbase': {:?}}})['purelib'])",
            venv.path(),
            venv.path(),
            venv.path()
        ));
        let pip = std::path::Path::new(&purelib).join("pip");
        let tally = compare_python_files_under(&pip);
        eprintln!("{tally:?}");
        assert!(tally.compared > 300, "{tally:?} under {}", pip.display());
        assert!(tally.type_checking_in_pieces > 20, "{tally:?}");
        assert!(tally.in_pieces * 100 > tally.with_imports * 98, "{tally:?}");
    }

    /// Every source file of this repository and its fixtures, pruned against unpruned.
    #[test]
    fn pruning_gives_the_same_imports_on_this_repository() {
        let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR"));
        let mut checked = std::collections::BTreeSet::new();
        for dir in ["src", "tests", "benches", "fixtures"] {
            for entry in ignore::WalkBuilder::new(root.join(dir)).build().flatten() {
                let path = entry.path();
                let Some(lang) = path.to_str().and_then(Lang::from_path) else {
                    continue;
                };
                let Ok(source) = std::fs::read_to_string(path) else {
                    continue;
                };
                assert_pruning_is_exact(lang, &source, &path.display().to_string());
                checked.insert(lang.name());
            }
        }
        assert!(
            checked.contains("rust")
                && checked.contains("python")
                && checked.contains("typescript"),
            "{checked:?}"
        );
    }
}
