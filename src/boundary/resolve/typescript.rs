//! TS/JS resolution: relative specifiers with extension and index probing (`./x.js` is
//! `x.ts` from TypeScript, `./dir/` is `dir/index.ts`), the nearest tsconfig.json/jsconfig.json
//! (`baseUrl`, `paths`, `extends`), package.json `imports` (`#alias`, with Node's
//! conditions), workspace packages by package.json `name`, and bare names as external
//! packages.

use std::collections::HashMap;

use serde_json::Value;

use super::package_imports::{self, Conditional};
use super::{child, join, jsonc, nearest, parent, Target};
use crate::boundary::imports::ImportKind;
use crate::boundary::snapshot::Snapshot;

const EXTENSIONS: [&str; 10] = [
    ".ts", ".tsx", ".d.ts", ".js", ".jsx", ".mts", ".cts", ".mjs", ".cjs", ".json",
];
const MAX_EXTENDS_DEPTH: usize = 16;

/// The effective module options of one tsconfig (after `extends`).
#[derive(Debug, Clone, Default)]
struct TsConfig {
    /// Repo-relative directory `baseUrl` points at.
    base_url: Option<String>,
    /// `paths` patterns (with at most one `*`) and their targets, resolved to repo paths.
    paths: Vec<(String, Vec<String>)>,
}

#[derive(Default)]
pub struct TsResolver {
    /// tsconfig by the directory it sits in.
    configs: HashMap<String, TsConfig>,
    /// Workspace packages: name -> directory.
    packages: HashMap<String, String>,
    /// Entry file of each workspace package directory.
    entries: HashMap<String, String>,
    /// package.json `imports` of every package directory (empty without the field).
    imports: HashMap<String, Vec<(String, Conditional)>>,
}

impl TsResolver {
    pub fn build(snapshot: &Snapshot, repo: &gix::Repository) -> TsResolver {
        let mut configs = HashMap::new();
        let mut packages = HashMap::new();
        let mut entries = HashMap::new();
        let mut imports = HashMap::new();
        for path in snapshot.files.paths() {
            // Every file of the repository passes here: most are rejected by one compare.
            if !path.ends_with(".json") {
                continue;
            }
            let name = path.rsplit('/').next().unwrap_or(path);
            if path.contains("node_modules/") {
                continue;
            }
            if name == "tsconfig.json" || name == "jsconfig.json" {
                let dir = parent(path).to_string();
                if name == "jsconfig.json" && configs.contains_key(&dir) {
                    continue;
                }
                configs.insert(dir, load_tsconfig(snapshot, repo, path, 0));
            } else if name == "package.json" {
                let Some(text) = snapshot.read_text(repo, path) else {
                    continue;
                };
                let Some(manifest) = jsonc::parse(&text) else {
                    continue;
                };
                let dir = parent(path).to_string();
                imports.insert(dir.clone(), package_imports::parse(&text));
                if let Some(pkg_name) = manifest.get("name").and_then(Value::as_str) {
                    packages.insert(pkg_name.to_string(), dir.clone());
                }
                let entry =
                    package_entry(snapshot, &dir, &manifest).unwrap_or_else(|| path.to_string());
                entries.insert(dir, entry);
            }
        }
        TsResolver {
            configs,
            packages,
            entries,
            imports,
        }
    }

    pub fn resolve(
        &self,
        snapshot: &Snapshot,
        from: &str,
        specifier: &str,
        kind: ImportKind,
    ) -> Target {
        let dir = parent(from);
        let lookup = Lookup::from(from);
        if is_relative(specifier) {
            return match join(dir, specifier).and_then(|p| lookup.module(snapshot, &p, specifier)) {
                Some(file) => Target::File(file),
                None => Target::Unresolved(format!("no file for '{specifier}' from {dir}/")),
            };
        }
        if specifier.starts_with('/') {
            return Target::Unresolved("absolute path imports are not portable".into());
        }
        if specifier.starts_with('#') {
            return self.package_import(snapshot, from, specifier, kind);
        }
        self.bare(snapshot, from, specifier)
    }

    /// A bare specifier: tsconfig paths, a workspace package, else an external package.
    fn bare(&self, snapshot: &Snapshot, from: &str, specifier: &str) -> Target {
        let lookup = Lookup::from(from);
        if let Some(config) = nearest(parent(from), |d| self.configs.get(d)) {
            if let Some(file) = self.via_tsconfig(snapshot, config, specifier, lookup) {
                return Target::File(file);
            }
        }
        let (name, subpath) = package_name(specifier);
        if let Some(pkg_dir) = self.packages.get(name) {
            return self.workspace_target(snapshot, pkg_dir, name, subpath, lookup);
        }
        Target::Package(name.trim_start_matches("node:").to_string())
    }

    /// `#alias` through the `imports` of the importer's package.json (the nearest one).
    fn package_import(
        &self,
        snapshot: &Snapshot,
        from: &str,
        specifier: &str,
        kind: ImportKind,
    ) -> Target {
        let Some((pkg_dir, map)) = nearest_with_key(parent(from), &self.imports) else {
            return Target::Unresolved(format!("no package.json above {from} for '{specifier}'"));
        };
        let manifest = child(pkg_dir, "package.json");
        let conditions = package_imports::conditions(kind);
        let Some(target) = package_imports::resolve(map, specifier, &conditions) else {
            return Target::Unresolved(format!(
                "no \"imports\" entry of {manifest} matches '{specifier}'"
            ));
        };
        if !target.starts_with("./") {
            return self.bare(snapshot, from, &target);
        }
        let lookup = Lookup::from(from);
        match join(pkg_dir, &target).and_then(|p| lookup.module(snapshot, &p, &target)) {
            Some(file) => Target::File(file),
            None => Target::Unresolved(format!(
                "{manifest} maps '{specifier}' to '{target}', which does not exist"
            )),
        }
    }

    fn via_tsconfig(
        &self,
        snapshot: &Snapshot,
        config: &TsConfig,
        specifier: &str,
        lookup: Lookup,
    ) -> Option<String> {
        let mut matches: Vec<&(String, Vec<String>)> = config
            .paths
            .iter()
            .filter(|(pattern, _)| wildcard_match(pattern, specifier).is_some())
            .collect();
        // The pattern with the longest prefix before `*` wins, as in tsc.
        matches.sort_by_key(|(pattern, _)| {
            std::cmp::Reverse(pattern.find('*').unwrap_or(pattern.len()))
        });
        for (pattern, targets) in matches {
            let star = wildcard_match(pattern, specifier).unwrap_or_default();
            for target in targets {
                let candidate = target.replacen('*', &star, 1);
                if let Some(file) = lookup.probe(snapshot, &candidate) {
                    return Some(file);
                }
            }
        }
        let base = config.base_url.as_ref()?;
        join(base, specifier).and_then(|p| lookup.module(snapshot, &p, specifier))
    }

    fn workspace_target(
        &self,
        snapshot: &Snapshot,
        dir: &str,
        name: &str,
        subpath: &str,
        lookup: Lookup,
    ) -> Target {
        if subpath.is_empty() {
            if let Some(entry) = self.entries.get(dir) {
                return Target::File(entry.clone());
            }
        }
        let found = join(dir, subpath)
            .and_then(|p| lookup.module(snapshot, &p, subpath))
            .or_else(|| {
                join(&child(dir, "src"), subpath).and_then(|p| lookup.module(snapshot, &p, subpath))
            });
        match found {
            Some(file) => Target::File(file),
            None => Target::Unresolved(format!("workspace package {name} has no '{subpath}'")),
        }
    }
}

pub fn is_relative(specifier: &str) -> bool {
    specifier == "."
        || specifier == ".."
        || specifier.starts_with("./")
        || specifier.starts_with("../")
}

/// `@scope/pkg/sub/path` -> (`@scope/pkg`, `sub/path`); `pkg/sub` -> (`pkg`, `sub`).
pub fn package_name(specifier: &str) -> (&str, &str) {
    let segments = if specifier.starts_with('@') { 2 } else { 1 };
    let mut end = 0;
    for (count, (i, _)) in specifier.match_indices('/').enumerate() {
        if count + 1 == segments {
            end = i;
            break;
        }
    }
    if end == 0 {
        (specifier, "")
    } else {
        (&specifier[..end], &specifier[end + 1..])
    }
}

/// The part of `text` matched by the `*` of `pattern`, or `""` for an exact pattern.
fn wildcard_match(pattern: &str, text: &str) -> Option<String> {
    match pattern.split_once('*') {
        None => (pattern == text).then(String::new),
        Some((prefix, suffix)) => {
            let long_enough = text.len() >= prefix.len() + suffix.len();
            (long_enough && text.starts_with(prefix) && text.ends_with(suffix))
                .then(|| text[prefix.len()..text.len() - suffix.len()].to_string())
        }
    }
}

/// The nearest directory at or above `dir` that is a key of `map`, with its value.
fn nearest_with_key<'m, V>(dir: &str, map: &'m HashMap<String, V>) -> Option<(&'m str, &'m V)> {
    let key = nearest(dir, |d| map.get_key_value(d).map(|(k, _)| k))?;
    Some((key.as_str(), &map[key]))
}

/// How the importer's language looks files up.
#[derive(Debug, Clone, Copy)]
struct Lookup {
    /// TypeScript reads `./x.js` as its source `x.ts` even where `x.js` exists too.
    prefer_ts: bool,
}

impl Lookup {
    fn from(importer: &str) -> Lookup {
        let ext = importer.rsplit_once('.').map(|(_, e)| e).unwrap_or("");
        Lookup {
            prefer_ts: matches!(ext, "ts" | "tsx" | "mts" | "cts"),
        }
    }

    /// A module path as written: `./dir/`, `./dir/.` and `..` name a directory (its index),
    /// anything else a file first.
    fn module(self, snapshot: &Snapshot, path: &str, written: &str) -> Option<String> {
        let last = written.rsplit('/').next().unwrap_or(written);
        if written.ends_with('/') || last == "." || last == ".." {
            index_file(snapshot, path)
        } else {
            self.probe(snapshot, path)
        }
    }

    /// The file a module path means: a TS source behind a `.js` name (from TypeScript, even
    /// where the `.js` exists), itself, an added extension, or the directory's index.
    fn probe(self, snapshot: &Snapshot, path: &str) -> Option<String> {
        let exact = || snapshot.is_file(path).then(|| path.to_string());
        let source = || ts_source_behind(snapshot, path);
        let found = if self.prefer_ts {
            source().or_else(exact)
        } else {
            exact().or_else(source)
        };
        found
            .or_else(|| with_extension(snapshot, path))
            .or_else(|| index_file(snapshot, path))
    }
}

/// `x.js` -> `x.ts`, `x.tsx`, `x.d.ts` (and the `.mjs`/`.cjs`/`.jsx` equivalents).
fn ts_source_behind(snapshot: &Snapshot, path: &str) -> Option<String> {
    let sources: [(&str, &[&str]); 4] = [
        (".js", &[".ts", ".tsx", ".d.ts"]),
        (".jsx", &[".tsx"]),
        (".mjs", &[".mts", ".d.mts"]),
        (".cjs", &[".cts", ".d.cts"]),
    ];
    let (stem, candidates) = sources
        .iter()
        .find_map(|(js, ts)| Some((path.strip_suffix(js)?, *ts)))?;
    candidates
        .iter()
        .map(|ts| format!("{stem}{ts}"))
        .find(|candidate| snapshot.is_file(candidate))
}

fn with_extension(snapshot: &Snapshot, path: &str) -> Option<String> {
    EXTENSIONS
        .iter()
        .map(|ext| format!("{path}{ext}"))
        .find(|candidate| snapshot.is_file(candidate))
}

fn index_file(snapshot: &Snapshot, dir: &str) -> Option<String> {
    with_extension(snapshot, &child(dir, "index"))
}

/// A module path from a JavaScript importer (package entries, workspace subpaths).
pub fn probe(snapshot: &Snapshot, path: &str) -> Option<String> {
    Lookup { prefer_ts: false }.probe(snapshot, path)
}

/// The source file a workspace package's name stands for.
fn package_entry(snapshot: &Snapshot, dir: &str, manifest: &Value) -> Option<String> {
    let mut fields: Vec<&str> = ["source", "types", "typings", "module", "main"]
        .iter()
        .filter_map(|f| manifest.get(*f).and_then(Value::as_str))
        .collect();
    match manifest.get("exports") {
        Some(Value::String(s)) => fields.push(s),
        Some(Value::Object(map)) => {
            let dot = map.get(".").unwrap_or(&Value::Null);
            let candidates = [
                dot,
                &dot["types"],
                &dot["import"],
                &dot["default"],
                &dot["require"],
            ];
            fields.extend(candidates.iter().filter_map(|v| v.as_str()));
        }
        _ => {}
    }
    for field in fields {
        let Some(path) = join(dir, field) else {
            continue;
        };
        if let Some(file) = probe(snapshot, &path) {
            return Some(file);
        }
        // Built output is usually not committed: `dist/index.js` stands for `src/index.ts`.
        for out_dir in ["dist/", "lib/", "build/", "out/"] {
            if let Some(rest) = field.trim_start_matches("./").strip_prefix(out_dir) {
                let stem = rest.trim_end_matches(".d.ts").trim_end_matches(".js");
                if let Some(file) =
                    join(dir, &format!("src/{stem}")).and_then(|p| probe(snapshot, &p))
                {
                    return Some(file);
                }
            }
        }
    }
    probe(snapshot, &child(dir, "src/index")).or_else(|| probe(snapshot, &child(dir, "index")))
}

/// Load a tsconfig and the chain it extends (relative paths only; package-name bases such
/// as `@tsconfig/node18` live in node_modules and carry no module paths for the repo).
fn load_tsconfig(
    snapshot: &Snapshot,
    repo: &gix::Repository,
    path: &str,
    depth: usize,
) -> TsConfig {
    let Some(value) = snapshot
        .read_text(repo, path)
        .and_then(|t| jsonc::parse(&t))
    else {
        return TsConfig::default();
    };
    let dir = parent(path);
    let mut config = TsConfig::default();
    if depth < MAX_EXTENDS_DEPTH {
        let bases: Vec<&str> = match value.get("extends") {
            Some(Value::String(s)) => vec![s.as_str()],
            Some(Value::Array(list)) => list.iter().filter_map(Value::as_str).collect(),
            _ => Vec::new(),
        };
        for base in bases {
            if !(base.starts_with("./") || base.starts_with("../")) {
                continue;
            }
            let Some(mut base_path) = join(dir, base) else {
                continue;
            };
            if !snapshot.is_file(&base_path) && snapshot.is_file(&format!("{base_path}.json")) {
                base_path.push_str(".json");
            }
            let inherited = load_tsconfig(snapshot, repo, &base_path, depth + 1);
            if inherited.base_url.is_some() {
                config.base_url = inherited.base_url;
            }
            if !inherited.paths.is_empty() {
                config.paths = inherited.paths;
            }
        }
    }
    let options = &value["compilerOptions"];
    if let Some(base_url) = options.get("baseUrl").and_then(Value::as_str) {
        config.base_url = join(dir, base_url);
    }
    if let Some(paths) = options.get("paths").and_then(Value::as_object) {
        // Targets are relative to baseUrl, or to the declaring tsconfig without one.
        let base = config.base_url.clone().unwrap_or_else(|| dir.to_string());
        config.paths = paths
            .iter()
            .map(|(pattern, targets)| {
                let targets = targets
                    .as_array()
                    .into_iter()
                    .flatten()
                    .filter_map(Value::as_str)
                    .filter_map(|t| join(&base, t))
                    .collect();
                (pattern.clone(), targets)
            })
            .collect();
    }
    config
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn package_names() {
        assert_eq!(package_name("react"), ("react", ""));
        assert_eq!(package_name("react-dom/client"), ("react-dom", "client"));
        assert_eq!(package_name("@scope/pkg"), ("@scope/pkg", ""));
        assert_eq!(package_name("@scope/pkg/a/b"), ("@scope/pkg", "a/b"));
    }

    #[test]
    fn wildcards() {
        assert_eq!(
            wildcard_match("@app/*", "@app/ui/x").as_deref(),
            Some("ui/x")
        );
        assert_eq!(wildcard_match("@app/*", "@other/x"), None);
        assert_eq!(wildcard_match("~", "~").as_deref(), Some(""));
    }
}
