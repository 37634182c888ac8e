//! TS/JS resolution: relative specifiers with extension and index probing (`./x.js` may be
//! `x.ts`), the nearest tsconfig.json/jsconfig.json (`baseUrl`, `paths`, `extends`), workspace
//! packages by package.json `name`, and bare names as external packages.

use std::collections::HashMap;

use serde_json::Value;

use super::{child, join, jsonc, nearest, parent, Target};
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

pub struct TsResolver {
    /// tsconfig by the directory it sits in.
    configs: HashMap<String, TsConfig>,
    /// Workspace packages: name -> directory.
    packages: HashMap<String, String>,
    /// Entry file of each workspace package directory.
    entries: HashMap<String, String>,
}

impl TsResolver {
    pub fn build(snapshot: &Snapshot, repo: &gix::Repository) -> TsResolver {
        let mut configs = HashMap::new();
        let mut packages = HashMap::new();
        let mut entries = HashMap::new();
        for path in snapshot.files.keys() {
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
                let Some(manifest) = snapshot
                    .read_text(repo, path)
                    .and_then(|t| jsonc::parse(&t))
                else {
                    continue;
                };
                let dir = parent(path).to_string();
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
        }
    }

    pub fn resolve(&self, snapshot: &Snapshot, from: &str, specifier: &str) -> Target {
        let dir = parent(from);
        if is_relative(specifier) {
            return match join(dir, specifier).and_then(|p| probe(snapshot, &p)) {
                Some(file) => Target::File(file),
                None => Target::Unresolved(format!("no file for '{specifier}' from {dir}/")),
            };
        }
        if specifier.starts_with('/') {
            return Target::Unresolved("absolute path imports are not portable".into());
        }
        if let Some(config) = nearest(dir, |d| self.configs.get(d)) {
            if let Some(file) = self.via_tsconfig(snapshot, config, specifier) {
                return Target::File(file);
            }
        }
        let (name, subpath) = package_name(specifier);
        if let Some(pkg_dir) = self.packages.get(name) {
            return self.workspace_target(snapshot, pkg_dir, name, subpath);
        }
        Target::Package(name.trim_start_matches("node:").to_string())
    }

    fn via_tsconfig(
        &self,
        snapshot: &Snapshot,
        config: &TsConfig,
        specifier: &str,
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
                if let Some(file) = probe(snapshot, &candidate) {
                    return Some(file);
                }
            }
        }
        let base = config.base_url.as_ref()?;
        join(base, specifier).and_then(|p| probe(snapshot, &p))
    }

    fn workspace_target(
        &self,
        snapshot: &Snapshot,
        dir: &str,
        name: &str,
        subpath: &str,
    ) -> Target {
        if subpath.is_empty() {
            if let Some(entry) = self.entries.get(dir) {
                return Target::File(entry.clone());
            }
        }
        let found = join(dir, subpath)
            .and_then(|p| probe(snapshot, &p))
            .or_else(|| join(&child(dir, "src"), subpath).and_then(|p| probe(snapshot, &p)));
        match found {
            Some(file) => Target::File(file),
            None => Target::Unresolved(format!("workspace package {name} has no '{subpath}'")),
        }
    }
}

fn is_relative(specifier: &str) -> bool {
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

/// The file a module path means: itself, a TS source behind a `.js` name, an added
/// extension, or an index file in the directory.
pub fn probe(snapshot: &Snapshot, path: &str) -> Option<String> {
    if snapshot.is_file(path) {
        return Some(path.to_string());
    }
    for (js, ts_list) in [
        (".js", &[".ts", ".tsx"][..]),
        (".jsx", &[".tsx"][..]),
        (".mjs", &[".mts"][..]),
        (".cjs", &[".cts"][..]),
    ] {
        if let Some(stem) = path.strip_suffix(js) {
            for ts in ts_list {
                let candidate = format!("{stem}{ts}");
                if snapshot.is_file(&candidate) {
                    return Some(candidate);
                }
            }
        }
    }
    let index = child(path, "index");
    for base in [path, index.as_str()] {
        for ext in EXTENSIONS {
            let candidate = format!("{base}{ext}");
            if snapshot.is_file(&candidate) {
                return Some(candidate);
            }
        }
    }
    None
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
