//! Python resolution: source roots (the repo root, `src/`, and every directory holding a
//! top-level package), `from M import n` (submodule n, else attribute of M), relative imports
//! from a module's package (incl. `__init__.py`), and the rest as external packages.

use super::{child, join, parent, Target};
use crate::boundary::snapshot::Snapshot;

pub struct PyResolver {
    roots: Vec<String>,
}

impl PyResolver {
    pub fn build(snapshot: &Snapshot) -> PyResolver {
        let mut roots = vec![String::new()];
        if snapshot.is_dir("src") {
            roots.push("src".to_string());
        }
        let mut extra: Vec<String> = snapshot
            .files
            .keys()
            .filter_map(|p| p.strip_suffix("/__init__.py"))
            .filter(|pkg| !is_package(snapshot, parent(pkg)) || parent(pkg).is_empty())
            .map(|pkg| parent(pkg).to_string())
            .filter(|r| !r.is_empty() && r != "src" && !r.contains("site-packages"))
            .collect();
        extra.sort();
        extra.dedup();
        roots.extend(extra);
        PyResolver { roots }
    }

    pub fn resolve(
        &self,
        snapshot: &Snapshot,
        from: &str,
        level: u32,
        module: &str,
        name: Option<&str>,
    ) -> Target {
        if level > 0 {
            return self.relative(snapshot, from, level, module, name);
        }
        let dotted = |n: &str| {
            if module.is_empty() {
                n.to_string()
            } else {
                format!("{module}.{n}")
            }
        };
        if let Some(n) = name {
            if let Some(file) = self.absolute(snapshot, &dotted(n)) {
                return Target::File(file);
            }
        }
        if let Some(file) = self.absolute(snapshot, module) {
            return Target::File(file);
        }
        let top = module.split('.').next().unwrap_or(module);
        if let Some(file) = self.absolute(snapshot, top) {
            // A local package without that submodule: the edge still goes to the package.
            return Target::File(self.deepest(snapshot, module).unwrap_or(file));
        }
        Target::Package(top.to_string())
    }

    fn relative(
        &self,
        snapshot: &Snapshot,
        from: &str,
        level: u32,
        module: &str,
        name: Option<&str>,
    ) -> Target {
        let mut base = parent(from).to_string();
        for _ in 1..level {
            if base.is_empty() {
                return Target::Unresolved("relative import climbs above the repository".into());
            }
            base = parent(&base).to_string();
        }
        let package_dir = match join(&base, &module.replace('.', "/")) {
            Some(dir) => dir,
            None => {
                return Target::Unresolved("relative import climbs above the repository".into())
            }
        };
        if let Some(n) = name {
            if let Some(file) = module_file(snapshot, &child(&package_dir, n)) {
                return Target::File(file);
            }
        }
        match module_file(snapshot, &package_dir) {
            Some(file) => Target::File(file),
            None => {
                let dots = ".".repeat(level as usize);
                Target::Unresolved(format!("no module {dots}{module} from {}", parent(from)))
            }
        }
    }

    /// The file of an absolute dotted module under the first root that has it.
    fn absolute(&self, snapshot: &Snapshot, dotted: &str) -> Option<String> {
        if dotted.is_empty() {
            return None;
        }
        let rel = dotted.replace('.', "/");
        self.roots
            .iter()
            .find_map(|root| module_file(snapshot, &child(root, &rel)))
    }

    /// The deepest existing module along `a.b.c`.
    fn deepest(&self, snapshot: &Snapshot, dotted: &str) -> Option<String> {
        let parts: Vec<&str> = dotted.split('.').collect();
        (1..=parts.len())
            .rev()
            .find_map(|n| self.absolute(snapshot, &parts[..n].join(".")))
    }
}

fn is_package(snapshot: &Snapshot, dir: &str) -> bool {
    snapshot.is_file(&child(dir, "__init__.py"))
}

/// `x.py`, `x.pyi`, `x/__init__.py`, or a namespace package directory `x/`.
fn module_file(snapshot: &Snapshot, path: &str) -> Option<String> {
    if path.is_empty() {
        return None;
    }
    for candidate in [
        format!("{path}.py"),
        format!("{path}.pyi"),
        format!("{path}/__init__.py"),
        format!("{path}/__init__.pyi"),
    ] {
        if snapshot.is_file(&candidate) {
            return Some(candidate);
        }
    }
    snapshot.is_dir(path).then(|| path.to_string())
}
