//! Boundaries: which domain may import what. Extraction (tree-sitter), resolution to repo
//! files or external packages, rules from `.comm-node/config.yaml`, reports and the graph.
//!
//! Entry points: [`check`] (whole worktree, paths, or the index) and [`check_staged`] (what
//! the pre-commit hook runs: staged blobs only, never the worktree).

pub mod cache;
pub mod files;
pub mod graph;
pub mod graph_cache;
pub mod imports;
pub mod indirect;
pub mod report;
pub mod resolve;
pub mod rules;
pub mod snapshot;
pub mod verified;

use std::collections::{HashMap, HashSet};

use rayon::prelude::*;

use crate::config::Config;
use crate::error::{Error, Result};
use crate::repo::changes::{Change, Head, Staged};
use crate::repo::{ObjectId, Repo};
use cache::ImportCache;
use graph_cache::GraphCache;
use imports::{Import, Lang};
pub use report::{Finding, Report, Skipped, Stats, Unresolved};
use resolve::{Resolver, Target};
use rules::Rules;
use snapshot::{Snapshot, MAX_FILE_BYTES};

/// Up to this many staged files are parsed without reading the import cache.
const FEW_FILES: usize = 64;

#[derive(Debug, Clone, Default)]
pub struct CheckOptions {
    /// Read staged blobs from the index instead of the worktree.
    pub staged: bool,
    /// With `staged`: check every staged file, not only those changed against HEAD.
    pub all_staged: bool,
    /// Repo-relative paths (files or directories) to limit the checked files to; empty = all.
    pub paths: Vec<String>,
    /// Check the files of this tree (a commit's) instead of the worktree or the index.
    pub tree: Option<ObjectId>,
    /// With `staged`: the index's changes against HEAD, and that HEAD, when the caller
    /// already has them (the pre-commit hook), so they are not computed a second time.
    pub staged_changes: Option<Staged>,
}

/// The staged check for the pre-commit hook: files whose staged blob differs from HEAD (all
/// staged files when the config itself is staged or there is no HEAD), read from the index.
pub fn check_staged(repo: &Repo, config: &Config) -> Result<Report> {
    check(
        repo,
        config,
        &CheckOptions {
            staged: true,
            ..CheckOptions::default()
        },
    )
}

/// The config a commit will contain: the staged `.comm-node/config.yaml` if there is one,
/// else `fallback`. Staged checks judge a commit by the rules it carries.
pub fn staged_config(repo: &Repo, fallback: &Config) -> Result<Config> {
    match snapshot::read_indexed(repo, crate::config::CONFIG_PATH)? {
        Some(bytes) => {
            let root = repo.workdir().unwrap_or_else(|| std::path::Path::new("."));
            let path = root.join(crate::config::CONFIG_PATH);
            // The usual commit stages what the worktree holds: the config loaded from there
            // is the same, so it is not parsed (and its scopes compiled) a second time.
            if fallback.text.as_bytes() == bytes && fallback.source.as_deref() == Some(&path) {
                return Ok(fallback.clone());
            }
            Config::parse(&bytes, &path)
        }
        None => Ok(fallback.clone()),
    }
}

/// The config a commit carries (its tree's `.comm-node/config.yaml`), else `fallback`.
pub fn config_at(repo: &Repo, tree: ObjectId, fallback: &Config) -> Result<Config> {
    let snapshot = Snapshot::tree(repo, tree)?;
    match snapshot.read(repo.gix(), crate::config::CONFIG_PATH) {
        Some(bytes) => {
            let root = repo.workdir().unwrap_or_else(|| std::path::Path::new("."));
            Config::parse(&bytes, &root.join(crate::config::CONFIG_PATH))
        }
        None => Ok(fallback.clone()),
    }
}

/// Check imports against the config's boundary rules.
pub fn check(repo: &Repo, config: &Config, options: &CheckOptions) -> Result<Report> {
    check_in(repo, config, options, true)
}

/// `try_verified`: with indirect rules, a staged check of edits only may judge them against
/// the verified state instead of the whole graph (falling back to the whole graph when that
/// cannot vouch for them).
fn check_in(
    repo: &Repo,
    config: &Config,
    options: &CheckOptions,
    try_verified: bool,
) -> Result<Report> {
    let rules = Rules::compile(config)?;
    let snapshot = if let Some(tree) = options.tree {
        Snapshot::tree(repo, tree)?
    } else if options.staged {
        Snapshot::index(repo)?
    } else {
        Snapshot::worktree(repo)?
    };
    let indirect = rules.has_indirect();
    // The pre-commit hook names the staged paths itself (with `all_staged`); with indirect
    // rules the change set against HEAD still keys the verified state.
    let hook_style = options.all_staged && indirect && !options.paths.is_empty();
    let changes = if options.tree.is_none() && options.staged && (!options.all_staged || hook_style)
    {
        snapshot::staged_changes(repo, options.staged_changes.as_ref())?
    } else {
        None
    };
    let changed = match options.all_staged {
        true => None,
        false => changes.as_deref().map(snapshot::staged_paths),
    };
    let excluded = crate::config::glob_set(&config.exclude)
        .map_err(|e| Error::config(format!("exclude: {e}")))?;
    let hook = match &changes {
        Some(changes) if indirect && judges_exactly(options, changes) => {
            let head = options.staged_changes.as_ref().and_then(|s| s.head);
            HookState::of(repo, config, changes, head)
        }
        _ => None,
    };
    let state = hook
        .as_ref()
        .filter(|_| try_verified)
        .and_then(|hook| hook.verified_state(repo, changes.as_deref().unwrap_or_default()));
    // Judged on the verified state, the staged files are all the check reads: the other
    // paths are not even listed.
    let candidates: Vec<&str> = match (&state, &changes) {
        (Some(_), Some(changes)) => changes
            .iter()
            .filter_map(|c| snapshot.files.key(&c.path))
            .collect(),
        _ => snapshot.files.paths().collect(),
    };
    let sources: Vec<(&str, Lang)> = candidates
        .into_iter()
        .filter(|p| !p.contains("node_modules/") && !excluded.is_match(p))
        .filter_map(|p| Some((p, Lang::from_path(p)?)))
        .collect();
    let partial = !options.paths.is_empty() || changed.is_some();
    let selected: HashSet<&str> = sources
        .iter()
        .map(|&(p, _)| p)
        .filter(|p| within(p, &options.paths))
        .filter(|p| changed.as_ref().is_none_or(|c| c.contains(*p)))
        .collect();
    // Indirect rules need every file's imports, whatever the check is limited to, unless the
    // verified state can judge the staged edits.
    let whole_graph = indirect && state.is_none();
    let wanted: Vec<(&str, Lang, Option<ObjectId>)> = sources
        .into_iter()
        .filter(|(p, _)| whole_graph || selected.contains(p))
        .map(|(p, lang)| (p, lang, snapshot.files.blob(p)))
        .collect();

    // With a warm graph cache the JSON import cache is not even read: unchanged files that
    // are not judged directly come from it as resolved, the others' imports too, and only
    // changed files are parsed.
    let graph_key = whole_graph
        .then(|| graph_cache::key(&snapshot, config))
        .flatten();
    let known = graph_key.and_then(|key| GraphCache::load(repo, &key));
    let matches = match &known {
        Some(known) => known.matches(&wanted),
        None => vec![None; wanted.len()],
    };
    let (unchanged, to_load): (Vec<_>, Vec<_>) = wanted
        .iter()
        .zip(matches)
        .map(|(&(path, lang, _), entry)| (path, lang, entry))
        .partition(|&(path, _, entry)| entry.is_some() && !selected.contains(path));
    // A few staged files are mostly new blobs: the JSON import cache (every file's imports,
    // rewritten when an entry is added) would cost more to read than they cost to parse.
    let few_staged = options.staged
        && options.tree.is_none()
        && (changed.is_some() || !options.paths.is_empty())
        && to_load.len() <= FEW_FILES;
    let cache = if known.is_some() || state.is_some() || few_staged {
        ImportCache::unused()
    } else {
        ImportCache::load(repo)
    };
    let loaded = load(repo, &snapshot, &cache, known.as_ref(), &to_load);
    let outcomes: Vec<Outcome> = map_few_here(loaded, |(path, lang, content)| {
        read_imports(&snapshot, &cache, path, lang, content)
    });
    cache.save();

    let resolver = Resolver::build(&snapshot, repo.gix(), config, &resolver_langs(&outcomes));
    let mut report = Report::default();
    report.stats.files = selected.len();
    let to_judge: Vec<(&String, Lang, &Vec<Import>)> = outcomes
        .iter()
        .filter_map(|o| match o {
            Outcome::Parsed {
                path,
                lang,
                imports,
                ..
            } if selected.contains(path.as_str()) => Some((path, *lang, imports)),
            _ => None,
        })
        .collect();
    let mut judged: Vec<Judged> = map_few_here(to_judge, |(path, lang, imports)| {
        judge_file(&snapshot, &resolver, &rules, path, lang, imports)
    });
    if let (Some(state), Some(hook)) = (state, &hook) {
        match verified_edits(&state, &rules, &judged, &outcomes) {
            Some(edited) if edited.len() == changes.as_ref().map_or(0, Vec::len) => {
                if state.basis() != hook.basis {
                    state.append(repo, hook.basis, edited)
                }
            }
            _ => return check_in(repo, config, options, false),
        }
    }
    if whole_graph {
        // The judged files' imports are resolved already: the graph takes their hops.
        let mut resolved: HashMap<&str, Vec<graph_cache::HopSpec>> = judged
            .iter_mut()
            .map(|j| (j.path, std::mem::take(&mut j.hops)))
            .collect();
        let mut files: Vec<indirect::GraphFile> = outcomes
            .iter()
            .filter_map(|o| match o {
                Outcome::Parsed {
                    path,
                    lang,
                    imports,
                    ..
                } => Some(indirect::GraphFile {
                    path,
                    lang: *lang,
                    imports: graph_cache::Imports::Parsed(imports),
                    hops: resolved.remove(path.as_str()),
                }),
                Outcome::Skipped(_) => None,
            })
            .collect();
        if let Some(known) = &known {
            files.extend(unchanged.iter().filter_map(|&(path, lang, entry)| {
                let entry = entry?;
                Some(indirect::GraphFile {
                    path,
                    lang,
                    imports: known.encoded_imports(entry),
                    hops: Some(known.hops(entry)),
                })
            }));
        }
        let graph = indirect::ImportGraph::build(&snapshot, &resolver, &rules, files);
        if let Some(key) = graph_key {
            save_graph(repo, &snapshot, &key, &graph, known.is_some(), &outcomes);
        }
        if let Some(hook) = &hook {
            let reach = graph.reach_sets(&rules);
            let paths = graph.paths();
            verified::save(
                repo,
                &hook.config,
                &hook.basis,
                &paths,
                &graph.edges(),
                reach,
            );
        }
        let focus = partial.then_some(&selected);
        report
            .findings
            .extend(indirect::findings(&graph, &rules, focus));
    }
    for j in judged {
        report.findings.extend(j.findings);
        report.unresolved.extend(j.unresolved);
        report.edges.extend(j.edges);
    }
    for outcome in outcomes {
        match outcome {
            Outcome::Parsed {
                path,
                imports,
                cached,
                ..
            } if selected.contains(path.as_str()) => {
                report.stats.imports += imports.len();
                if cached {
                    report.stats.cached += 1;
                } else {
                    report.stats.parsed += 1;
                }
            }
            Outcome::Skipped(skipped) if selected.contains(skipped.file.as_str()) => {
                report.skipped.push(skipped)
            }
            _ => {}
        }
    }
    report.findings.sort_by(|a, b| {
        (&a.file, a.line, a.col, !a.chain.is_empty(), &a.target).cmp(&(
            &b.file,
            b.line,
            b.col,
            !b.chain.is_empty(),
            &b.target,
        ))
    });
    report
        .unresolved
        .sort_by(|a, b| (&a.file, a.line, a.col).cmp(&(&b.file, b.line, b.col)));
    report.skipped.sort_by(|a, b| a.file.cmp(&b.file));
    Ok(report)
}

/// Store the resolved graph for the next check, unless it was read from the graph cache and
/// no file was parsed again (then the cache already holds exactly this).
fn save_graph(
    repo: &Repo,
    snapshot: &Snapshot,
    key: &graph_cache::Key,
    graph: &indirect::ImportGraph,
    warm: bool,
    outcomes: &[Outcome],
) {
    let parsed = outcomes
        .iter()
        .any(|o| matches!(o, Outcome::Parsed { cached: false, .. }));
    if warm && !parsed {
        return;
    }
    let saved = graph.files_to_save(|path| snapshot.files.blob(path));
    graph_cache::save(repo, key, &graph.paths(), &saved);
}

/// A staged check of a commit in the making (HEAD exists, not concluding a merge, the whole
/// index): what the verified state of indirect rules is keyed by.
struct HookState {
    config: verified::Digest32,
    /// HEAD's tree and the staged changes: what the index holds.
    basis: verified::Basis,
    head: Head,
}

impl HookState {
    /// `head`: HEAD as the caller computed the change set against it, if it did.
    fn of(
        repo: &Repo,
        config: &Config,
        changes: &[Change],
        head: Option<Head>,
    ) -> Option<HookState> {
        let head = match head {
            Some(head) => head,
            None => crate::repo::changes::head(repo).ok()??,
        };
        if head.merging {
            return None;
        }
        Some(HookState {
            config: verified::config_digest(config),
            basis: verified::Basis {
                tree: head.tree,
                changes: verified::changes_digest(changes),
                made: verified::index_tree(repo),
            },
            head,
        })
    }

    /// The stored state, when it describes HEAD's tree and `changes` only edit source files
    /// it holds.
    fn verified_state(&self, repo: &Repo, changes: &[Change]) -> Option<verified::State> {
        let state = verified::State::load(repo, &self.config)?;
        // Either it describes this very index (checked before, the commit not made yet), or
        // HEAD's tree is what it describes.
        let current = state.basis() == self.basis
            || verified::head_is_made_from(repo, &state.basis(), &self.head);
        (current && verified::only_edits_of_sources(&state, changes)).then_some(state)
    }
}

/// Whether the check judges exactly the staged changes: `--staged` without paths, or the
/// hook's `--staged --all` limited to the staged paths.
fn judges_exactly(options: &CheckOptions, changes: &[Change]) -> bool {
    if !options.all_staged {
        return options.paths.is_empty();
    }
    let named: HashSet<&str> = options.paths.iter().map(String::as_str).collect();
    let staged = snapshot::staged_paths(changes);
    named.len() == staged.len() && staged.iter().all(|p| named.contains(p.as_str()))
}

/// The edited files' new hops, if no new hop can start a chain or widen the state's reach
/// sets (else `None`: the whole graph must judge).
fn verified_edits(
    state: &verified::State,
    rules: &Rules,
    judged: &[Judged],
    outcomes: &[Outcome],
) -> Option<Vec<(u32, Vec<verified::Edge>)>> {
    if outcomes.iter().any(|o| matches!(o, Outcome::Skipped(_))) {
        return None;
    }
    judged
        .iter()
        .map(|j| {
            let node = state.index_of(j.path)?;
            let hops = j.hops.iter().map(|h| (h.to.as_ref(), h.kind));
            let new = verified::edges(state, hops)?;
            let old = state.hops(node);
            let safe = new
                .iter()
                .filter(|e| old.binary_search(e).is_err())
                .all(|&(to, kind)| !state.matters(rules, node, to, kind));
            safe.then_some((node, new))
        })
        .collect()
}

fn within(path: &str, prefixes: &[String]) -> bool {
    prefixes.is_empty()
        || prefixes.iter().any(|p| {
            p.is_empty()
                || path == p
                || path
                    .strip_prefix(p.as_str())
                    .is_some_and(|r| r.starts_with('/'))
        })
}

/// The languages whose resolver this check may ask: those of the files parsed here (the
/// graph cache's files come with their hops resolved). A JS-family file whose imports are
/// all relative needs none of the TypeScript resolver's manifests (tsconfig, package.json,
/// listed from every path of the repository): relative specifiers resolve by probing paths.
fn resolver_langs(outcomes: &[Outcome]) -> HashSet<Lang> {
    outcomes
        .iter()
        .filter_map(|outcome| match outcome {
            Outcome::Parsed { lang, imports, .. } if lang.is_js_family() => imports
                .iter()
                .any(|import| resolve::needs_ts_manifests(&import.spec))
                .then_some(*lang),
            Outcome::Parsed { lang, .. } => Some(*lang),
            Outcome::Skipped(_) => None,
        })
        .collect()
}

enum Outcome {
    Parsed {
        path: String,
        lang: Lang,
        imports: Vec<Import>,
        cached: bool,
    },
    Skipped(Skipped),
}

enum Content {
    Cached(Vec<Import>),
    Bytes(Vec<u8>),
    Unreadable,
}

/// Staged blobs whose imports are cached are not even read; the rest is read here, from the
/// object database one by one (a gix repository is not shared across threads) or from the
/// worktree in parallel.
fn load<'a>(
    repo: &Repo,
    snapshot: &Snapshot,
    cache: &ImportCache,
    known: Option<&GraphCache>,
    selected: &[(&'a str, Lang, Option<usize>)],
) -> Vec<(&'a str, Lang, Content)> {
    match snapshot.origin {
        snapshot::Origin::Index => selected
            .iter()
            .map(|&(path, lang, entry)| {
                let id = snapshot.files.blob(path);
                let cached = known
                    .zip(entry)
                    .and_then(|(known, entry)| known.imports(entry))
                    .or_else(|| id.and_then(|id| cache.get(lang, &id)));
                let content = match cached {
                    Some(imports) => Content::Cached(imports),
                    None => snapshot
                        .read(repo.gix(), path)
                        .map_or(Content::Unreadable, Content::Bytes),
                };
                (path, lang, content)
            })
            .collect(),
        snapshot::Origin::Worktree(_) => selected
            .par_iter()
            .map(|&(path, lang, _)| {
                let content = snapshot
                    .read_worktree(path)
                    .map_or(Content::Unreadable, Content::Bytes);
                (path, lang, content)
            })
            .collect(),
    }
}

/// `f` over `items`, on all threads unless they are few: for the handful of files a commit
/// stages, starting rayon's pool (whose idle workers spin before they sleep) costs more CPU
/// than the work.
fn map_few_here<T: Send, R: Send>(items: Vec<T>, f: impl Fn(T) -> R + Sync + Send) -> Vec<R> {
    if items.len() <= FEW_FILES {
        items.into_iter().map(f).collect()
    } else {
        items.into_par_iter().map(f).collect()
    }
}

fn read_imports(
    snapshot: &Snapshot,
    cache: &ImportCache,
    path: &str,
    lang: Lang,
    content: Content,
) -> Outcome {
    let skip = |reason: &str| {
        Outcome::Skipped(Skipped {
            file: path.to_string(),
            reason: reason.to_string(),
        })
    };
    let bytes = match content {
        Content::Cached(imports) => {
            return Outcome::Parsed {
                path: path.to_string(),
                lang,
                imports,
                cached: true,
            }
        }
        Content::Unreadable => return skip("cannot be read"),
        Content::Bytes(bytes) => bytes,
    };
    if bytes.len() > MAX_FILE_BYTES {
        return skip("larger than 1 MiB");
    }
    if bytes[..bytes.len().min(8000)].contains(&0) {
        return skip("binary");
    }
    let id = snapshot.blob_id(path, &bytes);
    if let Some(imports) = cache.get(lang, &id) {
        return Outcome::Parsed {
            path: path.to_string(),
            lang,
            imports,
            cached: true,
        };
    }
    let Ok(source) = std::str::from_utf8(&bytes) else {
        return skip("not UTF-8");
    };
    let imports = imports::extract(lang, source);
    cache.put(lang, &id, &imports);
    Outcome::Parsed {
        path: path.to_string(),
        lang,
        imports,
        cached: false,
    }
}

#[derive(Default)]
struct Judged<'a> {
    path: &'a str,
    /// The imports leading to another file (for the indirect rules' graph).
    hops: Vec<graph_cache::HopSpec<'a>>,
    findings: Vec<Finding>,
    unresolved: Vec<Unresolved>,
    edges: Vec<report::Edge>,
}

fn judge_file<'a>(
    snapshot: &Snapshot,
    resolver: &Resolver,
    rules: &Rules,
    path: &'a str,
    lang: Lang,
    imports: &'a [Import],
) -> Judged<'a> {
    let mut out = Judged {
        path,
        ..Judged::default()
    };
    let source_domain = rules.domain_of(path);
    for (i, import) in imports.iter().enumerate() {
        let target = resolver.resolve(snapshot, path, lang, import);
        if let Target::File(to) = &target {
            out.hops.extend(indirect::hop(path, i, import, to.clone()));
        }
        let target = match target {
            Target::File(file) if file == path && own_name(import).is_some() => {
                Target::Unresolved(format!(
                    "imports itself: on its own root ({}) this file is module '{}', which shadows any installed package of that name; rename the file or import the package from another root",
                    display_dir(resolve::parent(path)),
                    own_name(import).unwrap_or_default()
                ))
            }
            other => other,
        };
        let target_text = match &target {
            Target::Unresolved(reason) => {
                out.unresolved.push(Unresolved {
                    file: path.to_string(),
                    line: import.line,
                    col: import.col,
                    import: import.text.clone(),
                    kind: import.kind,
                    domain: source_domain.map(str::to_string),
                    reason: reason.clone(),
                });
                continue;
            }
            Target::File(file) if file == path => continue,
            Target::File(file) => file.clone(),
            Target::Package(name) => name.clone(),
        };
        let Some(domain) = source_domain else {
            continue;
        };
        let verdict = rules.judge(domain, import.kind, &target, lang == Lang::Python);
        let target_domain = match &target {
            Target::File(file) => rules.domain_of(file).map(str::to_string),
            _ => None,
        };
        let edge_to = match (&target, &target_domain) {
            (Target::File(_), Some(t)) if t != domain => Some(t.clone()),
            (Target::Package(name), _) if verdict.is_some() => Some(format!("package:{name}")),
            _ => None,
        };
        if let Some(to) = edge_to {
            out.edges.push(report::Edge {
                from: domain.to_string(),
                to,
                violation: verdict.is_some(),
            });
        }
        if let Some(v) = verdict {
            out.findings.push(Finding {
                file: path.to_string(),
                line: import.line,
                col: import.col,
                import: import.text.clone(),
                kind: import.kind,
                rule: v.rule,
                source_domain: v.source_domain,
                target_domain: v.target_domain,
                target: target_text,
                hint: v.hint,
                chain: Vec::new(),
            });
        }
    }
    out
}

/// `import x` / `from x import y` (absolute, one part): from inside module `x` itself this
/// is no in-module reference but a name clash Python resolves to the importing file.
fn own_name(import: &Import) -> Option<&str> {
    match &import.spec {
        imports::Spec::Python {
            level: 0, module, ..
        } if !module.contains('.') => Some(module),
        _ => None,
    }
}

fn display_dir(dir: &str) -> &str {
    if dir.is_empty() {
        "the repository root"
    } else {
        dir
    }
}
