//! Python resolution, as CPython's path finder would from the importer's own source root:
//! roots are searched in order; on each, a package directory (`x/__init__.py`) wins over a
//! module file (`x.py`, `x.pyx`, `x.pyi`, an extension module), and a directory without
//! `__init__` is a namespace-package portion, merged across roots and never preferred to a
//! regular module. Once a top-level package is found its submodules are searched in it only,
//! so `import pkg.missing` is unresolved rather than `pkg/__init__.py`.
//!
//! Roots: the config's `python.roots` if stated; otherwise the importer's own roots (its
//! project's directory — the nearest holding pyproject.toml, setup.py or setup.cfg — or that
//! directory's `src/`, and the parent of its topmost package), then the repository root,
//! `src/`, and every directory holding a top-level package. Standard-library names are
//! looked up on the importer's first root only, and only when that root is one the project
//! really uses (a configured root, a project directory or its `src/`, or the repository root):
//! a directory that merely holds a package under a namespace package cannot shadow them.
//!
//! A module missing below a namespace package (`google/` without `__init__.py`) belongs to
//! another distribution of that namespace: it is the external package named by the
//! namespace prefix and the first missing part (`google.protobuf`, `google.cloud.client`).

use std::collections::HashSet;

use super::python_stdlib::NAMES as STDLIB;
use super::{child, parent, Target};
use crate::boundary::snapshot::Snapshot;

const PROJECT_FILES: [&str; 3] = ["pyproject.toml", "setup.py", "setup.cfg"];

pub struct PyResolver {
    /// `python.roots` from the config, longest first (the importer's own is the longest
    /// holding it); empty when roots are discovered.
    configured: Vec<String>,
    /// Discovered roots, searched after the importer's own.
    discovered: Vec<String>,
    /// Directories holding a project file.
    projects: HashSet<String>,
}

/// A module found on the search path: its file (a namespace package's first directory) and,
/// for a package, the directories its submodules are searched in.
struct Found {
    file: String,
    search: Vec<String>,
}

/// Why a dotted module was not found.
enum Miss {
    /// The top-level name is not in the repository: an installed or standard package.
    External(String),
    /// The top-level package is here, this submodule is not.
    NoModule(String),
}

impl PyResolver {
    pub fn build(snapshot: &Snapshot, configured_roots: &[String]) -> PyResolver {
        let mut configured = configured_roots.to_vec();
        configured.sort_by_key(|r| std::cmp::Reverse(r.len()));
        let projects = snapshot
            .files
            .paths()
            .filter(|p| {
                PROJECT_FILES
                    .iter()
                    .any(|f| p.rsplit('/').next() == Some(f))
            })
            .map(|p| parent(p).to_string())
            .collect();
        PyResolver {
            discovered: discover_roots(snapshot),
            configured,
            projects,
        }
    }

    pub fn resolve(
        &self,
        snapshot: &Snapshot,
        from: &str,
        level: u32,
        module: &str,
        name: Option<&str>,
    ) -> Target {
        let found = if level > 0 {
            self.relative(snapshot, from, level, module)
        } else {
            self.absolute(snapshot, from, module)
        };
        match found {
            Ok(found) if level == 0 && is_namespace(&found) => {
                namespace_member(snapshot, found, module, name)
            }
            Ok(found) => match submodule_or_self(snapshot, found, name) {
                file if file.is_empty() => Target::Unresolved(
                    "relative import outside a package (the repository root is none)".into(),
                ),
                file => Target::File(file),
            },
            Err(Miss::External(top)) => Target::Package(top),
            Err(Miss::NoModule(reason)) => Target::Unresolved(reason),
        }
    }

    fn absolute(&self, snapshot: &Snapshot, from: &str, dotted: &str) -> Result<Found, Miss> {
        let mut parts = dotted.split('.');
        let top = parts.next().unwrap_or_default();
        if top.is_empty() {
            return Err(Miss::NoModule("empty module name".into()));
        }
        let own = self.own_roots(snapshot, from);
        let found = if is_stdlib(top) {
            self.stdlib_shadowing_root(snapshot, from)
                .and_then(|root| find_in(snapshot, [&root], top))
                .filter(|f| !is_namespace(f))
        } else {
            find_in(snapshot, self.search_roots(&own), top)
        };
        let found = found.ok_or_else(|| Miss::External(top.to_string()))?;
        descend(snapshot, found, parts, dotted)
    }

    /// The root whose modules take precedence over the standard library for `from`, as the
    /// script's directory or the working directory does: a configured root, the project's
    /// directory (or its `src/`), or the repository root. `None` when the importer's only
    /// root is a guess (the parent of a package inside a namespace package).
    fn stdlib_shadowing_root(&self, snapshot: &Snapshot, from: &str) -> Option<String> {
        if let Some(root) = self.configured.iter().find(|r| is_within(from, r)) {
            return Some(root.clone());
        }
        if !self.configured.is_empty() {
            return None;
        }
        self.project_root(snapshot, from)
            .or_else(|| Some(package_root(snapshot, from)).filter(|r| r.is_empty()))
    }

    fn relative(
        &self,
        snapshot: &Snapshot,
        from: &str,
        level: u32,
        module: &str,
    ) -> Result<Found, Miss> {
        let climbs = || Miss::NoModule("relative import climbs above the repository".into());
        let mut base = parent(from).to_string();
        for _ in 1..level {
            if base.is_empty() {
                return Err(climbs());
            }
            base = parent(&base).to_string();
        }
        let dots = ".".repeat(level as usize);
        let package = Found {
            file: package_init(snapshot, &base).unwrap_or_else(|| base.clone()),
            search: vec![base.clone()],
        };
        if module.is_empty() {
            return Ok(package);
        }
        descend(
            snapshot,
            package,
            module.split('.'),
            &format!("{dots}{module}"),
        )
        .map_err(|_| Miss::NoModule(format!("no module {dots}{module} from {}", parent(from))))
    }

    /// The importer's own roots, the first of which alone may shadow the standard library.
    fn own_roots(&self, snapshot: &Snapshot, from: &str) -> Vec<String> {
        if let Some(root) = self.configured.iter().find(|r| is_within(from, r)) {
            return vec![root.clone()];
        }
        let mut own: Vec<String> = self.project_root(snapshot, from).into_iter().collect();
        let package_root = package_root(snapshot, from);
        if !own.contains(&package_root) {
            own.push(package_root);
        }
        own
    }

    /// The nearest project directory above `from`, or its `src/` when `from` is inside it.
    fn project_root(&self, snapshot: &Snapshot, from: &str) -> Option<String> {
        let mut dir = parent(from);
        loop {
            if self.projects.contains(dir) {
                let src = child(dir, "src");
                return Some(if is_within(from, &src) && snapshot.is_dir(&src) {
                    src
                } else {
                    dir.to_string()
                });
            }
            if dir.is_empty() {
                return None;
            }
            dir = parent(dir);
        }
    }

    /// The importer's own roots, then the stated or discovered ones not among them.
    fn search_roots<'a>(&'a self, own: &'a [String]) -> impl Iterator<Item = &'a String> {
        let rest = if self.configured.is_empty() {
            &self.discovered
        } else {
            &self.configured
        };
        own.iter().chain(rest.iter().filter(|r| !own.contains(r)))
    }
}

/// The repository root, `src/`, and the parent of every top-level package.
fn discover_roots(snapshot: &Snapshot) -> Vec<String> {
    let mut roots = vec![String::new()];
    if snapshot.is_dir("src") {
        roots.push("src".to_string());
    }
    let mut extra: Vec<String> = snapshot
        .files
        .paths()
        .filter_map(|p| p.strip_suffix("/__init__.py"))
        .filter(|pkg| package_init(snapshot, parent(pkg)).is_none())
        .map(|pkg| parent(pkg).to_string())
        .filter(|r| !r.is_empty() && r != "src" && !r.contains("site-packages"))
        .collect();
    extra.sort();
    extra.dedup();
    roots.extend(extra);
    roots
}

/// The directory above the topmost package holding `from` (its own directory outside one).
fn package_root(snapshot: &Snapshot, from: &str) -> String {
    let mut dir = parent(from);
    while !dir.is_empty() && package_init(snapshot, dir).is_some() {
        dir = parent(dir);
    }
    dir.to_string()
}

fn is_within(path: &str, dir: &str) -> bool {
    dir.is_empty() || path.strip_prefix(dir).is_some_and(|r| r.starts_with('/'))
}

fn is_stdlib(top: &str) -> bool {
    STDLIB.binary_search(&top).is_ok()
}

fn is_namespace(found: &Found) -> bool {
    found.search.first() == Some(&found.file)
}

/// Follow the remaining dotted parts below an already found module. A part missing below a
/// namespace package is another distribution's: the external package `prefix.part`.
fn descend<'a>(
    snapshot: &Snapshot,
    mut found: Found,
    parts: impl Iterator<Item = &'a str>,
    dotted: &str,
) -> Result<Found, Miss> {
    let mut prefix = dotted.split('.').next().unwrap_or_default().to_string();
    for part in parts {
        let next = find_in(snapshot, &found.search, part);
        prefix = format!("{prefix}.{part}");
        found = match next {
            Some(next) => next,
            None if is_namespace(&found) && !dotted.starts_with('.') => {
                return Err(Miss::External(prefix))
            }
            None => {
                return Err(Miss::NoModule(format!(
                    "no module {dotted} (the package is {})",
                    found.file
                )))
            }
        };
    }
    Ok(found)
}

/// `from ns import name` (or `import ns`) where `ns` is a namespace package of the
/// repository: a repository submodule, else another distribution's module `ns.name`.
fn namespace_member(snapshot: &Snapshot, found: Found, module: &str, name: Option<&str>) -> Target {
    match name {
        Some(name) => match find_in(snapshot, &found.search, name) {
            Some(sub) => Target::File(sub.file),
            None => Target::Package(format!("{module}.{name}")),
        },
        None => Target::File(found.file),
    }
}

/// `from M import name`: submodule `name` of package M, else an attribute of M.
fn submodule_or_self(snapshot: &Snapshot, found: Found, name: Option<&str>) -> String {
    name.and_then(|n| find_in(snapshot, &found.search, n))
        .map(|sub| sub.file)
        .unwrap_or(found.file)
}

/// CPython's path-finder step for one name over `dirs`: the first regular package or module
/// wins; namespace portions are collected and used only if nothing regular is found.
fn find_in<'a>(
    snapshot: &Snapshot,
    dirs: impl IntoIterator<Item = &'a String>,
    name: &str,
) -> Option<Found> {
    let mut portions = Vec::new();
    for dir in dirs {
        let base = child(dir, name);
        if let Some(init) = package_init(snapshot, &base) {
            return Some(Found {
                file: init,
                search: vec![base],
            });
        }
        if let Some(file) = module_file(snapshot, &base) {
            return Some(Found {
                file,
                search: Vec::new(),
            });
        }
        if snapshot.is_dir(&base) && !base.is_empty() {
            portions.push(base);
        }
    }
    Some(Found {
        file: portions.first()?.clone(),
        search: portions,
    })
}

fn package_init(snapshot: &Snapshot, dir: &str) -> Option<String> {
    ["__init__.py", "__init__.pyi"]
        .iter()
        .map(|init| child(dir, init))
        .find(|candidate| snapshot.is_file(candidate))
}

/// `x.py`, `x.pyx`, `x.pyi`, or an extension module `x.<tag>.so` / `x.pyd`.
fn module_file(snapshot: &Snapshot, base: &str) -> Option<String> {
    ["py", "pyx", "pyi"]
        .iter()
        .map(|ext| format!("{base}.{ext}"))
        .find(|candidate| snapshot.is_file(candidate))
        .or_else(|| extension_module(snapshot, base))
}

fn extension_module(snapshot: &Snapshot, base: &str) -> Option<String> {
    let prefix = format!("{base}.");
    snapshot
        .files
        .paths_from(&prefix)
        .take_while(|path| path.starts_with(&prefix))
        .find(|path| {
            let rest = &path[prefix.len()..];
            let ext = rest.rsplit('.').next().unwrap_or(rest);
            !rest.contains('/') && (ext == "so" || ext == "pyd")
        })
        .map(str::to_string)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn standard_library_names_are_sorted_for_binary_search() {
        assert!(STDLIB.windows(2).all(|w| w[0] < w[1]));
        assert!(is_stdlib("logging") && is_stdlib("__future__") && !is_stdlib("django"));
    }

    #[test]
    fn paths_within_directories() {
        assert!(is_within("a/b.py", ""));
        assert!(is_within("src/a.py", "src"));
        assert!(!is_within("srcx/a.py", "src"));
    }
}
