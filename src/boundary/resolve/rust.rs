//! Rust resolution: the module tree of each crate (`mod x;` -> `x.rs` / `x/mod.rs` /
//! `#[path]`), `crate::` / `self::` / `super::` paths down to the file of the deepest module
//! they name, workspace crates by name (Cargo.toml `[package] name`, `-` -> `_`), and other
//! crates as external packages.

use std::collections::HashMap;

use super::{child, join, parent, Target};
use crate::boundary::snapshot::Snapshot;

#[derive(Default)]
pub struct RsResolver {
    /// Crate directory -> crate name (`_` form).
    crate_dirs: HashMap<String, String>,
    /// Crate name (`_` form) -> library root file.
    libs: HashMap<String, String>,
}

/// Where a source file sits in its crate's module tree.
struct ModulePos {
    /// Directory the crate root file lives in: `crate::a` is `<root_dir>/a.rs`.
    root_dir: String,
    /// The crate root file (`lib.rs`, `main.rs`, `tests/x.rs`, ...).
    root_file: String,
    /// Module path of the file below the crate root.
    segments: Vec<String>,
}

impl RsResolver {
    pub fn build(snapshot: &Snapshot, repo: &gix::Repository) -> RsResolver {
        let mut crate_dirs = HashMap::new();
        let mut libs = HashMap::new();
        for path in snapshot.files.paths() {
            if path != "Cargo.toml" && !path.ends_with("/Cargo.toml") {
                continue;
            }
            let Some(text) = snapshot.read_text(repo, path) else {
                continue;
            };
            let manifest = Manifest::parse(&text);
            let Some(name) = manifest.package_name else {
                continue;
            };
            let dir = parent(path).to_string();
            let crate_name = manifest.lib_name.unwrap_or(name).replace('-', "_");
            let lib = manifest
                .lib_path
                .and_then(|p| join(&dir, &p))
                .unwrap_or_else(|| child(&dir, "src/lib.rs"));
            if snapshot.is_file(&lib) {
                libs.insert(crate_name.clone(), lib);
            } else if snapshot.is_file(&child(&dir, "src/main.rs")) {
                libs.insert(crate_name.clone(), child(&dir, "src/main.rs"));
            }
            crate_dirs.insert(dir, crate_name);
        }
        RsResolver { crate_dirs, libs }
    }

    pub fn resolve_crate(&self, snapshot: &Snapshot, name: &str) -> Target {
        match self.libs.get(name) {
            Some(lib) if snapshot.is_file(lib) => Target::File(lib.clone()),
            _ => Target::Package(name.to_string()),
        }
    }

    pub fn resolve_mod(
        &self,
        snapshot: &Snapshot,
        from: &str,
        name: &str,
        path: &Option<String>,
    ) -> Target {
        if let Some(p) = path {
            return match join(parent(from), p) {
                Some(file) if snapshot.is_file(&file) => Target::File(file),
                _ => Target::Unresolved(format!("#[path = \"{p}\"] names no file")),
            };
        }
        let dir = self.owned_dir(from);
        for candidate in [
            child(&dir, &format!("{name}.rs")),
            child(&dir, &format!("{name}/mod.rs")),
        ] {
            if snapshot.is_file(&candidate) {
                return Target::File(candidate);
            }
        }
        Target::Unresolved(format!("no {dir}/{name}.rs or {dir}/{name}/mod.rs"))
    }

    pub fn resolve_path(&self, snapshot: &Snapshot, from: &str, segments: &[String]) -> Target {
        let Some(first) = segments.first() else {
            return Target::Unresolved("empty path".into());
        };
        let pos = self.position(from);
        let (start, rest): (Vec<String>, &[String]) = match first.as_str() {
            "crate" => (Vec::new(), &segments[1..]),
            "self" => (pos.segments.clone(), &segments[1..]),
            "super" => {
                let mut base = pos.segments.clone();
                let supers = segments.iter().take_while(|s| *s == "super").count();
                for _ in 0..supers {
                    if base.pop().is_none() {
                        return Target::Unresolved("super:: above the crate root".into());
                    }
                }
                (base, &segments[supers..])
            }
            name => {
                // 2018 uniform paths: a child module of the current module shadows crates.
                let here = module_dir(&pos, &pos.segments);
                if module_file_in(snapshot, &here, name).is_some() {
                    (pos.segments.clone(), segments)
                } else if let Some(lib) = self.libs.get(name) {
                    let other = ModulePos {
                        root_dir: parent(lib).to_string(),
                        root_file: lib.clone(),
                        segments: Vec::new(),
                    };
                    return Target::File(descend(snapshot, &other, &[], &segments[1..]));
                } else {
                    return Target::Package(name.to_string());
                }
            }
        };
        Target::File(descend(snapshot, &pos, &start, rest))
    }

    /// The crate of a file (nearest Cargo.toml with a package) and its module position.
    fn position(&self, from: &str) -> ModulePos {
        let mut crate_dir = parent(from).to_string();
        loop {
            if self.crate_dirs.contains_key(&crate_dir) || crate_dir.is_empty() {
                break;
            }
            crate_dir = parent(&crate_dir).to_string();
        }
        let rel = from
            .strip_prefix(&format!("{crate_dir}/"))
            .unwrap_or(from)
            .to_string();
        let parts: Vec<&str> = rel.split('/').collect();
        // The directory holding the crate root this file belongs to, relative to the crate.
        let root_rel_len = match parts.as_slice() {
            ["src", "bin", _, _, ..] => 3,
            ["examples", _, _, ..] => 2,
            [top, ..]
                if parts.len() > 1 && matches!(*top, "src" | "tests" | "examples" | "benches") =>
            {
                1
            }
            _ => 0,
        };
        let root_dir = join(&crate_dir, &parts[..root_rel_len].join("/")).unwrap_or_default();
        let below: Vec<&str> = parts[root_rel_len..].to_vec();
        if is_root_file(&parts) {
            return ModulePos {
                root_dir: parent(from).to_string(),
                root_file: from.to_string(),
                segments: Vec::new(),
            };
        }
        let mut segments: Vec<String> = below.iter().map(|s| s.to_string()).collect();
        if let Some(last) = segments.last_mut() {
            *last = last.trim_end_matches(".rs").to_string();
        }
        if segments.last().map(String::as_str) == Some("mod") {
            segments.pop();
        }
        ModulePos {
            root_file: child(&root_dir, "lib.rs"),
            root_dir,
            segments,
        }
    }

    /// The directory `mod x;` in `file` looks in: its own dir for crate roots and `mod.rs`,
    /// else a directory named after the file.
    fn owned_dir(&self, file: &str) -> String {
        let dir = parent(file);
        let name = file.rsplit('/').next().unwrap_or(file);
        if name == "mod.rs" || self.position(file).root_file == file {
            dir.to_string()
        } else {
            child(dir, name.trim_end_matches(".rs"))
        }
    }
}

/// Crate roots, by path relative to the crate directory.
fn is_root_file(parts: &[&str]) -> bool {
    matches!(
        parts,
        ["src", "lib.rs" | "main.rs"]
            | ["build.rs"]
            | ["src", "bin", _]
            | ["src", "bin", _, "main.rs"]
            | ["tests" | "examples" | "benches", _]
            | ["examples", _, "main.rs"]
    )
}

fn module_dir(pos: &ModulePos, segments: &[String]) -> String {
    segments
        .iter()
        .fold(pos.root_dir.clone(), |dir, s| child(&dir, s))
}

fn module_file_in(snapshot: &Snapshot, dir: &str, name: &str) -> Option<String> {
    [
        child(dir, &format!("{name}.rs")),
        child(dir, &format!("{name}/mod.rs")),
    ]
    .into_iter()
    .find(|c| snapshot.is_file(c))
}

/// Walk `rest` down from module `start`: the file of the deepest module that exists (the
/// remaining segments are items inside it).
fn descend(snapshot: &Snapshot, pos: &ModulePos, start: &[String], rest: &[String]) -> String {
    let mut segments = start.to_vec();
    let mut file = module_file_of(snapshot, pos, &segments);
    for seg in rest {
        if seg == "*" || seg == "self" {
            break;
        }
        let dir = module_dir(pos, &segments);
        match module_file_in(snapshot, &dir, seg) {
            Some(found) => {
                file = found;
                segments.push(seg.clone());
            }
            None => break,
        }
    }
    file
}

fn module_file_of(snapshot: &Snapshot, pos: &ModulePos, segments: &[String]) -> String {
    if segments.is_empty() {
        if snapshot.is_file(&pos.root_file) {
            return pos.root_file.clone();
        }
        return ["lib.rs", "main.rs"]
            .iter()
            .map(|f| child(&pos.root_dir, f))
            .find(|f| snapshot.is_file(f))
            .unwrap_or_else(|| pos.root_file.clone());
    }
    let (last, init) = segments.split_last().expect("not empty");
    module_file_in(snapshot, &module_dir(pos, init), last)
        .unwrap_or_else(|| module_dir(pos, segments))
}

/// The two facts we need from a Cargo.toml, read line by line (no TOML dependency).
#[derive(Default)]
struct Manifest {
    package_name: Option<String>,
    lib_path: Option<String>,
    lib_name: Option<String>,
}

impl Manifest {
    fn parse(text: &str) -> Manifest {
        let mut manifest = Manifest::default();
        let mut section = String::new();
        for line in text.lines() {
            let line = line.split(" #").next().unwrap_or(line).trim();
            if line.starts_with('[') {
                section = line
                    .trim_matches(|c| c == '[' || c == ']')
                    .trim()
                    .to_string();
                continue;
            }
            let Some((key, value)) = line.split_once('=') else {
                continue;
            };
            let value = value.trim().trim_matches('"').to_string();
            match (section.as_str(), key.trim()) {
                ("package", "name") => manifest.package_name = Some(value),
                ("lib", "path") => manifest.lib_path = Some(value),
                ("lib", "name") => manifest.lib_name = Some(value),
                _ => {}
            }
        }
        manifest
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_manifest() {
        let m = Manifest::parse("[package]\nname = \"my-crate\" # x\n\n[lib]\npath = \"src/root.rs\"\n[dependencies]\nname = \"no\"\n");
        assert_eq!(m.package_name.as_deref(), Some("my-crate"));
        assert_eq!(m.lib_path.as_deref(), Some("src/root.rs"));
    }
}
