//! Indirect rules (`forbidden_imports: [{path: GLOB, indirect: true}]`): a file of domain D
//! must not reach a file matching GLOB through any chain of imports, as import-linter's
//! forbidden contracts and dependency-cruiser's `reachable` judge.
//!
//! The graph holds every file of the repository (imports from the cache, resolved here), so
//! a partial check (the pre-commit hook's staged files, `check --range`'s changed files) still
//! sees whole chains. A chain starts at a file of D, leaves D at its first hop and ends at the
//! first forbidden file it meets: chains through other files of D are reported from those
//! files, and a chain of one hop is the direct rule's finding. Each (start, rule) pair is
//! reported once, with a shortest chain to a file the rule forbids. A partial check reports the chains in which
//! one of its files imports something.

use std::borrow::Cow;
use std::collections::{BTreeSet, HashMap, HashSet, VecDeque};

use rayon::prelude::*;

use super::graph_cache::GraphCache;
use super::imports::{Import, ImportKind, Lang, Spec};
use super::report::{ChainHop, Finding};
use super::resolve::{Resolver, Target};
use super::rules::{PathRoles, Rule, Rules};
use super::snapshot::Snapshot;

/// Files are numbered: searches index vectors instead of hashing paths at every step.
type Node = u32;

/// One resolved import between two files of the repository.
struct Hop<'a> {
    to: Node,
    /// The import's index in its file's list (what the graph cache stores).
    at: u32,
    import: &'a Import,
}

/// Every file's imports that lead to another file of the repository.
pub struct ImportGraph<'a> {
    paths: Vec<String>,
    out: Vec<Vec<Hop<'a>>>,
    roles: Vec<PathRoles>,
    owners: Vec<Option<usize>>,
}

/// A file's hops before files are numbered: (import index, target path).
type FileHops<'c> = Vec<(usize, Cow<'c, str>)>;

impl<'a> ImportGraph<'a> {
    /// Resolve every import of `files` (all the repository's source files). A file whose
    /// blob `known` holds keeps the hops resolved then instead of being resolved again.
    pub fn build(
        snapshot: &Snapshot,
        resolver: &Resolver,
        rules: &Rules,
        files: &[(&'a str, Lang, &'a [Import])],
        known: Option<&GraphCache>,
    ) -> ImportGraph<'a> {
        let resolved: Vec<FileHops> = files
            .par_iter()
            .map(|&(path, lang, imports)| {
                let id = snapshot.files.get(path).copied().flatten();
                let cached = known.zip(id).and_then(|(k, id)| k.hops(path, lang, &id));
                match cached {
                    Some(hops) if hops.iter().all(|&(i, _)| i < imports.len()) => hops
                        .into_iter()
                        .map(|(i, to)| (i, Cow::Borrowed(to)))
                        .collect(),
                    _ => file_hops(snapshot, resolver, path, lang, imports),
                }
            })
            .collect();
        let mut ids: HashMap<&str, Node> = HashMap::with_capacity(files.len());
        let mut paths: Vec<String> = Vec::with_capacity(files.len());
        for &(path, _, _) in files {
            ids.insert(path, paths.len() as Node);
            paths.push(path.to_string());
        }
        let mut extra: HashMap<String, Node> = HashMap::new();
        let mut out: Vec<Vec<Hop>> = Vec::with_capacity(files.len());
        for (&(_, _, imports), hops) in files.iter().zip(resolved) {
            let hops = hops
                .into_iter()
                .map(|(at, to)| {
                    let to = match ids.get(to.as_ref()) {
                        Some(&n) => n,
                        None => *extra.entry(to.into_owned()).or_insert_with_key(|to| {
                            paths.push(to.clone());
                            (paths.len() - 1) as Node
                        }),
                    };
                    Hop {
                        to,
                        at: at as u32,
                        import: &imports[at],
                    }
                })
                .collect();
            out.push(hops);
        }
        out.resize_with(paths.len(), Vec::new);
        let roles: Vec<PathRoles> = paths.par_iter().map(|p| rules.path_roles(p)).collect();
        let owners = roles.iter().map(PathRoles::owner).collect();
        ImportGraph {
            paths,
            out,
            roles,
            owners,
        }
    }

    /// Every file of the graph: the built-from files first, in their order, then the files
    /// only imported.
    pub fn paths(&self) -> &[String] {
        &self.paths
    }

    /// The hops of the `n`th file as the graph cache stores them: (import index, target
    /// index in [`ImportGraph::paths`]).
    pub fn stored_hops(&self, n: usize) -> Vec<(u32, u32)> {
        self.out[n].iter().map(|h| (h.at, h.to)).collect()
    }

    fn len(&self) -> usize {
        self.paths.len()
    }

    /// Each file's importers, with the kind of each import.
    fn reverse(&self) -> Vec<Vec<(Node, ImportKind)>> {
        let mut reverse = vec![Vec::new(); self.len()];
        for (from, hops) in self.out.iter().enumerate() {
            for hop in hops {
                reverse[hop.to as usize].push((from as Node, hop.import.kind));
            }
        }
        reverse
    }

    /// Whether `domain` forbids reaching `file` (a file outside it).
    fn forbidden(&self, domain: usize, file: Node) -> bool {
        let f = file as usize;
        self.owners[f] != Some(domain) && self.roles[f].unreachable_for(domain)
    }

    /// The files a chain from `domain` may pass through: outside the domain, and reaching a
    /// file it forbids (those included) without passing through the domain or another
    /// forbidden file. Chains are searched within them only.
    fn live(&self, reverse: &[Vec<(Node, ImportKind)>], rules: &Rules, domain: usize) -> Vec<bool> {
        let seeds = (0..self.len() as Node).filter(|&f| self.forbidden(domain, f));
        walk_back(reverse, seeds, |from, kind| {
            !rules.ignores(domain, kind)
                && self.owners[from as usize] != Some(domain)
                && !self.forbidden(domain, from)
        })
    }
}

/// `seeds` and every file importing one of them through imports `follow` accepts.
fn walk_back(
    reverse: &[Vec<(Node, ImportKind)>],
    seeds: impl Iterator<Item = Node>,
    follow: impl Fn(Node, ImportKind) -> bool,
) -> Vec<bool> {
    let mut seen = vec![false; reverse.len()];
    let mut queue = VecDeque::new();
    for seed in seeds {
        seen[seed as usize] = true;
        queue.push_back(seed);
    }
    while let Some(file) = queue.pop_front() {
        for &(from, kind) in &reverse[file as usize] {
            if !seen[from as usize] && follow(from, kind) {
                seen[from as usize] = true;
                queue.push_back(from);
            }
        }
    }
    seen
}

/// A file's imports that resolve to another file (`mod x;` declarations are structure, not
/// dependencies, and are left out).
fn file_hops(
    snapshot: &Snapshot,
    resolver: &Resolver,
    path: &str,
    lang: Lang,
    imports: &[Import],
) -> FileHops<'static> {
    imports
        .iter()
        .enumerate()
        .filter(|(_, import)| !matches!(import.spec, Spec::RustMod { .. }))
        .filter_map(
            |(i, import)| match resolver.resolve(snapshot, path, lang, import) {
                Target::File(to) if to != path => Some((i, Cow::Owned(to))),
                _ => None,
            },
        )
        .collect()
}

/// The chains breaking an indirect rule. `focus`: only chains in which one of these files
/// imports something (a partial check); `None`: all of them.
pub fn findings(graph: &ImportGraph, rules: &Rules, focus: Option<&HashSet<&str>>) -> Vec<Finding> {
    let reverse = graph.reverse();
    let focused: Option<Vec<bool>> =
        focus.map(|f| graph.paths.iter().map(|p| f.contains(p.as_str())).collect());
    let reaching_focus = focused.as_ref().map(|f| {
        let seeds = (0..graph.len() as Node).filter(|&n| f[n as usize]);
        walk_back(&reverse, seeds, |_, _| true)
    });
    let domains: BTreeSet<usize> = graph
        .owners
        .iter()
        .flatten()
        .copied()
        .filter(|&d| rules.has_indirect_rules(d))
        .collect();
    let mut findings = Vec::new();
    for domain in domains {
        let live = graph.live(&reverse, rules, domain);
        let starts: Vec<Node> = (0..graph.len() as Node)
            .filter(|&f| graph.owners[f as usize] == Some(domain))
            .filter(|&f| reaching_focus.as_ref().is_none_or(|r| r[f as usize]))
            .filter(|&f| graph.out[f as usize].iter().any(|h| live[h.to as usize]))
            .collect();
        findings.par_extend(
            starts
                .par_iter()
                .flat_map_iter(|&start| chains_from(graph, rules, start, domain, &live)),
        );
    }
    findings.retain(|f| {
        focus.is_none_or(|focus| f.chain.iter().any(|h| focus.contains(h.file.as_str())))
    });
    findings.sort_by(|a, b| {
        (&a.file, a.line, a.col, &a.target).cmp(&(&b.file, b.line, b.col, &b.target))
    });
    findings
}

/// Breadth-first from `start` through `live` files: for each indirect rule, a shortest
/// chain to a file it forbids.
fn chains_from(
    graph: &ImportGraph,
    rules: &Rules,
    start: Node,
    domain: usize,
    live: &[bool],
) -> Vec<Finding> {
    // The file each visited file was first reached from, and by which of its hops.
    let mut parent: Vec<Option<(Node, usize)>> = vec![None; graph.len()];
    let mut queue = VecDeque::from([start]);
    let mut findings = Vec::new();
    let mut reported: HashSet<usize> = HashSet::new();
    while let Some(file) = queue.pop_front() {
        for (i, hop) in graph.out[file as usize].iter().enumerate() {
            let to = hop.to;
            let t = to as usize;
            if !live[t]
                || to == start
                || parent[t].is_some()
                || rules.ignores(domain, hop.import.kind)
            {
                continue;
            }
            parent[t] = Some((file, i));
            let roles = &graph.roles[t];
            if roles.unreachable_for(domain) {
                let new_rule = roles.indirect_rules(domain).any(|n| !reported.contains(&n));
                reported.extend(roles.indirect_rules(domain));
                if file != start && new_rule {
                    findings.push(finding(rules, domain, roles, chain(graph, &parent, to)));
                }
                continue;
            }
            queue.push_back(to);
        }
    }
    findings
}

/// The hops from the start to `end`, following the breadth-first parents back.
fn chain(graph: &ImportGraph, parent: &[Option<(Node, usize)>], end: Node) -> Vec<ChainHop> {
    let mut hops = Vec::new();
    let mut at = end;
    while let Some((from, i)) = parent[at as usize] {
        let hop = &graph.out[from as usize][i];
        hops.push(ChainHop {
            file: graph.paths[from as usize].clone(),
            line: hop.import.line,
            col: hop.import.col,
            import: hop.import.text.clone(),
            kind: hop.import.kind,
            target: graph.paths[hop.to as usize].clone(),
        });
        at = from;
    }
    hops.reverse();
    hops
}

fn finding(rules: &Rules, domain: usize, roles: &PathRoles, chain: Vec<ChainHop>) -> Finding {
    let first = &chain[0];
    let target = chain.last().map(|h| h.target.clone()).unwrap_or_default();
    let source_domain = rules.domain_name(domain).to_string();
    let hint = format!(
        "domain '{source_domain}' must not reach {target}, not even through other modules; remove one import of the chain or move the code it needs"
    );
    Finding {
        file: first.file.clone(),
        line: first.line,
        col: first.col,
        import: first.import.clone(),
        kind: first.kind,
        rule: Rule::ForbiddenImports,
        source_domain,
        target_domain: roles.owner().map(|d| rules.domain_name(d).to_string()),
        target,
        hint,
        chain,
    }
}
