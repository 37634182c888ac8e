//! Import extraction with tree-sitter. Each language has a query in `grammars/<lang>.scm`
//! (embedded in the binary, compiled lazily once per process) that captures import
//! statements and calls; a small walker per language turns the captures into [`Import`]s.

mod python;
mod rust;
mod typescript;

use std::cell::RefCell;
use std::sync::OnceLock;

use serde::{Deserialize, Serialize};
use tree_sitter::{Language, Node, Parser, Query, QueryCursor, StreamingIterator};

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

/// How an import brings in its target; rules may ignore some kinds (`ignore_kinds`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum ImportKind {
    Static,
    TypeOnly,
    ReExport,
    Dynamic,
    Require,
}

impl ImportKind {
    pub fn name(self) -> &'static str {
        match self {
            ImportKind::Static => "static",
            ImportKind::TypeOnly => "type-only",
            ImportKind::ReExport => "re-export",
            ImportKind::Dynamic => "dynamic",
            ImportKind::Require => "require",
        }
    }
}

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

/// The compiled query of `lang`, built on first use (compiling costs 5-35 ms).
fn query(lang: Lang) -> &'static Query {
    static QUERIES: [OnceLock<Query>; 5] = [const { OnceLock::new() }; 5];
    QUERIES[lang.index()].get_or_init(|| {
        Query::new(&lang.grammar(), lang.query_source())
            .unwrap_or_else(|e| panic!("embedded query grammars/{}.scm: {e}", lang.name()))
    })
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
    PARSER.with(|cell| {
        let mut guard = cell.borrow_mut();
        let (current, parser) = &mut *guard;
        if *current != Some(lang) {
            parser
                .set_language(&lang.grammar())
                .expect("grammar version matches tree-sitter");
            *current = Some(lang);
        }
        let Some(tree) = parser.parse(source, None) else {
            return Vec::new();
        };
        let query = query(lang);
        let names = query.capture_names();
        let mut cursor = QueryCursor::new();
        let mut matches = cursor.matches(query, tree.root_node(), source.as_bytes());
        let mut all = Vec::new();
        while let Some(m) = matches.next() {
            all.push(Captures {
                names: m
                    .captures()
                    .iter()
                    .map(|c| (names[c.index as usize], c.node))
                    .collect(),
            });
        }
        let src = source.as_bytes();
        let mut imports = match lang {
            Lang::TypeScript | Lang::Tsx | Lang::JavaScript => typescript::collect(&all, src),
            Lang::Python => python::collect(&all, src),
            Lang::Rust => rust::collect(&all, src),
        };
        imports.sort_by(|a, b| (a.line, a.col, &a.text).cmp(&(b.line, b.col, &b.text)));
        imports.dedup();
        imports
    })
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
            assert!(query(lang).pattern_count() > 0, "{}", lang.name());
        }
    }
}
