//! Resolution: from an import to a file of the repository or an external package. Each
//! language family has its resolver, built once per check from the snapshot's files and
//! their project files (tsconfig.json, package.json, Cargo.toml, `__init__.py`).

mod jsonc;
mod package_imports;
pub mod python;
mod python_stdlib;
pub mod rust;
pub mod typescript;

use std::collections::HashSet;
use std::sync::OnceLock;

use serde::Serialize;

use super::imports::{Import, Lang, Spec};
use super::snapshot::Snapshot;
use crate::config::Config;

/// Where an import leads.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case", tag = "type", content = "value")]
pub enum Target {
    /// A repo-relative path (a file, or a namespace-package directory).
    File(String),
    /// An external package: `react`, `@scope/pkg`, `numpy`, `serde`.
    Package(String),
    /// Cannot be resolved statically; the reason says why.
    Unresolved(String),
}

pub struct Resolver {
    ts: typescript::TsResolver,
    /// Built at the first Python import: finding the source roots lists every path, which a
    /// commit of TypeScript files in a large repository would pay for nothing.
    py: OnceLock<python::PyResolver>,
    py_roots: Vec<String>,
    rs: rust::RsResolver,
}

impl Resolver {
    /// `langs`: the languages of the files the check may resolve imports of. A language's
    /// resolver lists every path of the snapshot for its manifests (tsconfig, package.json,
    /// Cargo.toml), so one no file needs is not built: it would never be asked.
    pub fn build(
        snapshot: &Snapshot,
        repo: &gix::Repository,
        config: &Config,
        langs: &HashSet<Lang>,
    ) -> Resolver {
        let js = langs.iter().any(|l| l.is_js_family());
        Resolver {
            ts: match js {
                true => typescript::TsResolver::build(snapshot, repo),
                false => typescript::TsResolver::default(),
            },
            py: OnceLock::new(),
            py_roots: config.python.normalized_roots(),
            rs: match langs.contains(&Lang::Rust) {
                true => rust::RsResolver::build(snapshot, repo),
                false => rust::RsResolver::default(),
            },
        }
    }

    /// `snapshot`: the one the resolver was built from.
    pub fn resolve(&self, snapshot: &Snapshot, from: &str, lang: Lang, import: &Import) -> Target {
        match &import.spec {
            Spec::NonLiteral => {
                Target::Unresolved("computed module name: not resolvable statically".into())
            }
            Spec::Module { specifier } if lang.is_js_family() => {
                self.ts.resolve(snapshot, from, specifier, import.kind)
            }
            Spec::Python {
                level,
                module,
                name,
            } => self
                .py
                .get_or_init(|| python::PyResolver::build(snapshot, &self.py_roots))
                .resolve(snapshot, from, *level, module, name.as_deref()),
            Spec::RustPath { segments } => self.rs.resolve_path(snapshot, from, segments),
            Spec::RustMod { name, path } => self.rs.resolve_mod(snapshot, from, name, path),
            Spec::RustCrate { name } => self.rs.resolve_crate(snapshot, name),
            Spec::Module { .. } => Target::Unresolved("unsupported import form".into()),
        }
    }
}

/// Whether resolving `spec` from a JS-family file may read the TypeScript resolver's
/// manifests: a literal specifier that is not relative (a bare name, `#alias`, a path).
pub fn needs_ts_manifests(spec: &Spec) -> bool {
    matches!(spec, Spec::Module { specifier } if !typescript::is_relative(specifier))
}

/// The directory part of a repo-relative path (`""` for top-level files).
pub fn parent(path: &str) -> &str {
    path.rsplit_once('/').map(|(dir, _)| dir).unwrap_or("")
}

/// Join `rel` (which may contain `.` and `..`) onto `base`; `None` if it climbs above the root.
pub fn join(base: &str, rel: &str) -> Option<String> {
    let mut parts: Vec<&str> = base.split('/').filter(|s| !s.is_empty()).collect();
    for seg in rel.split('/') {
        match seg {
            "" | "." => {}
            ".." => {
                parts.pop()?;
            }
            s => parts.push(s),
        }
    }
    Some(parts.join("/"))
}

/// `dir/name`, or just `name` at the root.
pub fn child(dir: &str, name: &str) -> String {
    if dir.is_empty() {
        name.to_string()
    } else {
        format!("{dir}/{name}")
    }
}

/// The nearest directory at or above `dir` for which `pick` returns something.
pub fn nearest<'a, T>(dir: &str, mut pick: impl FnMut(&str) -> Option<&'a T>) -> Option<&'a T> {
    let mut current = dir.to_string();
    loop {
        if let Some(found) = pick(&current) {
            return Some(found);
        }
        if current.is_empty() {
            return None;
        }
        current = parent(&current).to_string();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn joins_relative_paths() {
        assert_eq!(join("a/b", "../c").as_deref(), Some("a/c"));
        assert_eq!(join("a/b", "./c/d").as_deref(), Some("a/b/c/d"));
        assert_eq!(join("", "x").as_deref(), Some("x"));
        assert_eq!(join("a", "../../x"), None);
        assert_eq!(parent("a/b/c.ts"), "a/b");
        assert_eq!(parent("c.ts"), "");
    }
}
