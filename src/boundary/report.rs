//! What a check found: violations (findings), unresolvable imports, skipped files and
//! counters, in a stable JSON shape (documented in README.md, parsed by the benchmarks) and a
//! short human form.

use serde::Serialize;

use super::imports::ImportKind;
use super::rules::Rule;

/// One import that breaks a rule. JSON fields are stable: file, line, col, import, kind,
/// rule, source_domain, target_domain, target, hint.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Finding {
    pub file: String,
    pub line: u32,
    pub col: u32,
    /// The import as written (specifier, dotted module, use path).
    pub import: String,
    pub kind: ImportKind,
    pub rule: Rule,
    pub source_domain: String,
    /// `null` for external packages and files no domain owns.
    pub target_domain: Option<String>,
    /// Resolved repo path, or the external package name.
    pub target: String,
    pub hint: String,
    /// For a rule with `indirect: true` broken through other modules: every import of the
    /// chain, the first being this finding's own (absent for direct imports).
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub chain: Vec<ChainHop>,
}

/// One import of a chain: the importing file, where, the import as written, and the file
/// it resolved to.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ChainHop {
    pub file: String,
    pub line: u32,
    pub col: u32,
    pub import: String,
    pub kind: ImportKind,
    pub target: String,
}

impl ChainHop {
    pub fn location(&self) -> String {
        format!("{}:{}", self.file, self.line)
    }
}

impl Finding {
    pub fn location(&self) -> String {
        format!("{}:{}:{}", self.file, self.line, self.col)
    }

    /// One line saying what is wrong, as the pre-commit hook and `check` print it.
    pub fn headline(&self) -> String {
        let what = match self.target_domain.as_deref() {
            _ if !self.chain.is_empty() => format!(
                "{} reaches {} through {}",
                self.source_domain,
                self.target,
                self.chain_text()
            ),
            Some(target_domain) => format!(
                "{} -> {target_domain} imports '{}' ({})",
                self.source_domain, self.import, self.target
            ),
            None if self.rule.name() == "forbidden_packages" => format!(
                "{} imports package '{}' ('{}')",
                self.source_domain, self.target, self.import
            ),
            None => format!(
                "{} imports '{}' ({}, in no domain)",
                self.source_domain, self.import, self.target
            ),
        };
        format!("{} {}: {what}", self.location(), self.rule.name())
    }

    /// `a.py:3 -> b.py:7 -> c.py`: each importing file at the line of its import, then the
    /// file the chain ends in.
    pub fn chain_text(&self) -> String {
        let mut hops: Vec<String> = self.chain.iter().map(ChainHop::location).collect();
        hops.extend(self.chain.last().map(|h| h.target.clone()));
        hops.join(" -> ")
    }

    /// The message a commit-time check blocks with: the violation and how to resolve it.
    pub fn blocking_message(&self) -> String {
        format!("{}\n  hint: {}", self.headline(), self.hint)
    }
}

/// An import that could not be resolved statically (never silently dropped).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Unresolved {
    pub file: String,
    pub line: u32,
    pub col: u32,
    pub import: String,
    pub kind: ImportKind,
    pub domain: Option<String>,
    pub reason: String,
}

/// A file with a source extension that was not parsed (binary, not UTF-8, too large).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Skipped {
    pub file: String,
    pub reason: String,
}

#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct Stats {
    /// Source files looked at.
    pub files: usize,
    /// Files parsed with tree-sitter in this run.
    pub parsed: usize,
    /// Files whose imports came from the cache.
    pub cached: usize,
    pub imports: usize,
}

/// A resolved import between two domains (or to an external package), for the graph.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Edge {
    pub from: String,
    /// A domain name, or `package:<name>` for a forbidden external package.
    pub to: String,
    pub violation: bool,
}

#[derive(Debug, Clone, Default, Serialize)]
pub struct Report {
    pub findings: Vec<Finding>,
    pub unresolved: Vec<Unresolved>,
    pub skipped: Vec<Skipped>,
    pub stats: Stats,
    #[serde(skip)]
    pub edges: Vec<Edge>,
}

impl Report {
    /// Whether the check passes: no violations (and with `strict`, nothing unresolved).
    pub fn passes(&self, strict: bool) -> bool {
        self.findings.is_empty() && (!strict || self.unresolved.is_empty())
    }

    /// All findings as blocking messages, one block each.
    pub fn blocking_messages(&self) -> String {
        self.findings
            .iter()
            .map(Finding::blocking_message)
            .collect::<Vec<_>>()
            .join("\n")
    }

    pub fn human(&self) -> String {
        let mut out = String::new();
        for finding in &self.findings {
            out.push_str(&finding.blocking_message());
            out.push('\n');
        }
        for u in &self.unresolved {
            out.push_str(&format!(
                "{}:{}:{} unresolved: '{}' ({}): {}\n",
                u.file,
                u.line,
                u.col,
                u.import,
                u.kind.name(),
                u.reason
            ));
        }
        let s = &self.stats;
        out.push_str(&format!(
            "{} violation{}, {} unresolved in {} files ({} parsed, {} cached)\n",
            self.findings.len(),
            if self.findings.len() == 1 { "" } else { "s" },
            self.unresolved.len(),
            s.files,
            s.parsed,
            s.cached
        ));
        out
    }

    /// Notices for skipped files (printed on stderr so stdout stays parseable).
    pub fn skipped_notices(&self) -> String {
        self.skipped
            .iter()
            .map(|s| format!("notice: skipped {}: {}\n", s.file, s.reason))
            .collect()
    }
}
