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

use super::graph_cache::{kind_tag, FileToSave, HopSpec, Imports};
use super::imports::{Import, ImportKind, Lang, Spec};
use super::report::{ChainHop, Finding};
use super::resolve::{Resolver, Target};
use super::rules::{PathRoles, Rule, Rules};
use super::snapshot::Snapshot;
use super::verified;
use crate::repo::ObjectId;

/// Files are numbered: searches index vectors instead of hashing paths at every step.
type Node = u32;

/// One resolved import between two files of the repository.
struct Hop<'a> {
    to: Node,
    spec: HopSpec<'a>,
}

/// Every file's imports that lead to another file of the repository.
pub struct ImportGraph<'a> {
    paths: Vec<Cow<'a, str>>,
    /// Language and imports of the first files (those the graph was built from).
    sources: Vec<(Lang, Imports<'a>)>,
    out: Vec<Vec<Hop<'a>>>,
    roles: Vec<PathRoles>,
    owners: Vec<Option<usize>>,
}

/// A source file for the graph, with its hops if they are resolved already (by the direct
/// check, or in the graph cache).
pub struct GraphFile<'a> {
    pub path: &'a str,
    pub lang: Lang,
    pub imports: Imports<'a>,
    pub hops: Option<Vec<HopSpec<'a>>>,
}

impl<'a> ImportGraph<'a> {
    /// Every file of the repository with its hops, resolving those not resolved yet.
    pub fn build(
        snapshot: &Snapshot,
        resolver: &Resolver,
        rules: &Rules,
        mut files: Vec<GraphFile<'a>>,
    ) -> ImportGraph<'a> {
        let resolved: Vec<Vec<HopSpec<'a>>> = files
            .par_iter_mut()
            .map(|file| match (file.hops.take(), file.imports) {
                (Some(hops), _) => hops,
                (None, Imports::Parsed(imports)) => {
                    file_hops(snapshot, resolver, file.path, file.lang, imports)
                }
                (None, Imports::Encoded { .. }) => Vec::new(),
            })
            .collect();
        let mut ids: HashMap<&str, Node> = HashMap::with_capacity(files.len());
        let mut paths: Vec<Cow<'a, str>> = Vec::with_capacity(files.len());
        for file in &files {
            ids.insert(file.path, paths.len() as Node);
            paths.push(Cow::Borrowed(file.path));
        }
        let mut extra: HashMap<String, Node> = HashMap::new();
        let mut out: Vec<Vec<Hop>> = Vec::with_capacity(files.len());
        for hops in resolved {
            let hops = hops
                .into_iter()
                .map(|spec| {
                    let to = match ids.get(spec.to.as_ref()) {
                        Some(&n) => n,
                        None => *extra.entry(spec.to.to_string()).or_insert_with(|| {
                            paths.push(spec.to.clone());
                            (paths.len() - 1) as Node
                        }),
                    };
                    Hop { to, spec }
                })
                .collect();
            out.push(hops);
        }
        out.resize_with(paths.len(), Vec::new);
        let roles: Vec<PathRoles> = paths.par_iter().map(|p| rules.path_roles(p)).collect();
        let owners = roles.iter().map(PathRoles::owner).collect();
        let sources = files.iter().map(|f| (f.lang, f.imports)).collect();
        ImportGraph {
            paths,
            sources,
            out,
            roles,
            owners,
        }
    }

    /// Every file of the graph: the built-from files first, in their order, then the files
    /// only imported.
    pub fn paths(&self) -> Vec<&str> {
        self.paths.iter().map(|p| p.as_ref()).collect()
    }

    /// The files the graph was built from, as the graph cache stores them (`id`: a file's
    /// blob, `None` to leave the file out).
    pub fn files_to_save(&self, id: impl Fn(&str) -> Option<ObjectId>) -> Vec<FileToSave<'_>> {
        self.sources
            .iter()
            .enumerate()
            .filter_map(|(n, &(lang, imports))| {
                let path = self.paths[n].as_ref();
                Some(FileToSave {
                    node: n as u32,
                    path,
                    lang,
                    id: id(path)?,
                    imports,
                    hops: self.out[n].iter().map(|h| (&h.spec, h.to)).collect(),
                })
            })
            .collect()
    }

    fn len(&self) -> usize {
        self.paths.len()
    }

    /// Each file's hops as (target, kind tag) for the verified state; `None` for files only
    /// imported (their imports were not read).
    pub fn edges(&self) -> Vec<Option<Vec<verified::Edge>>> {
        (0..self.len())
            .map(|n| {
                (n < self.sources.len()).then(|| {
                    self.out[n]
                        .iter()
                        .map(|h| (h.to, kind_tag(h.spec.kind)))
                        .collect()
                })
            })
            .collect()
    }

    /// Per domain with indirect rules, the files its files reach and the files reaching a
    /// file it forbids (through any files, over the kinds it does not ignore); `None` when a
    /// file of such a domain reaches a forbidden file (a chain or a direct import exists).
    pub fn reach_sets(&self, rules: &Rules) -> Option<Vec<verified::Reach>> {
        let reverse = self.reverse();
        let mut sets = Vec::new();
        for domain in self.indirect_domains(rules) {
            let seeds = (0..self.len() as Node).filter(|&f| self.forbidden(domain, f));
            let to = walk_back(&reverse, seeds, |_, kind| !rules.ignores(domain, kind));
            let own = |f: &Node| self.owners[*f as usize] == Some(domain);
            if (0..self.len() as Node).filter(own).any(|f| to[f as usize]) {
                return None;
            }
            let from = self.walk_forward((0..self.len() as Node).filter(own), |kind| {
                !rules.ignores(domain, kind)
            });
            sets.push(verified::Reach { domain, from, to });
        }
        Some(sets)
    }

    fn indirect_domains(&self, rules: &Rules) -> BTreeSet<usize> {
        self.owners
            .iter()
            .flatten()
            .copied()
            .filter(|&d| rules.has_indirect_rules(d))
            .collect()
    }

    /// `seeds` and every file they import, directly or not, through imports `follow` accepts.
    fn walk_forward(
        &self,
        seeds: impl Iterator<Item = Node>,
        follow: impl Fn(ImportKind) -> bool,
    ) -> Vec<bool> {
        let mut seen = vec![false; self.len()];
        let mut queue = VecDeque::new();
        for seed in seeds {
            seen[seed as usize] = true;
            queue.push_back(seed);
        }
        while let Some(file) = queue.pop_front() {
            for hop in &self.out[file as usize] {
                if !seen[hop.to as usize] && follow(hop.spec.kind) {
                    seen[hop.to as usize] = true;
                    queue.push_back(hop.to);
                }
            }
        }
        seen
    }

    /// Each file's importers, with the kind of each import.
    fn reverse(&self) -> Vec<Vec<(Node, ImportKind)>> {
        let mut reverse = vec![Vec::new(); self.len()];
        for (from, hops) in self.out.iter().enumerate() {
            for hop in hops {
                reverse[hop.to as usize].push((from as Node, hop.spec.kind));
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
fn file_hops<'a>(
    snapshot: &Snapshot,
    resolver: &Resolver,
    path: &str,
    lang: Lang,
    imports: &'a [Import],
) -> Vec<HopSpec<'a>> {
    imports
        .iter()
        .enumerate()
        .filter_map(
            |(i, import)| match resolver.resolve(snapshot, path, lang, import) {
                Target::File(to) => hop(path, i, import, to),
                _ => None,
            },
        )
        .collect()
}

/// The hop of `import` (the `i`th of `path`) to `to`: none to the file itself, nor for
/// `mod x;` declarations (structure, not dependencies).
pub fn hop<'a>(path: &str, i: usize, import: &'a Import, to: String) -> Option<HopSpec<'a>> {
    if to == path || matches!(import.spec, Spec::RustMod { .. }) {
        return None;
    }
    Some(HopSpec {
        at: i as u32,
        to: Cow::Owned(to),
        line: import.line,
        col: import.col,
        kind: import.kind,
        text: &import.text,
    })
}

/// The chains breaking an indirect rule. `focus`: only chains in which one of these files
/// imports something (a partial check); `None`: all of them.
pub fn findings(graph: &ImportGraph, rules: &Rules, focus: Option<&HashSet<&str>>) -> Vec<Finding> {
    let reverse = graph.reverse();
    let focused: Option<Vec<bool>> =
        focus.map(|f| graph.paths.iter().map(|p| f.contains(p.as_ref())).collect());
    let reaching_focus = focused.as_ref().map(|f| {
        let seeds = (0..graph.len() as Node).filter(|&n| f[n as usize]);
        walk_back(&reverse, seeds, |_, _| true)
    });
    let domains = graph.indirect_domains(rules);
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
                || rules.ignores(domain, hop.spec.kind)
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
            file: graph.paths[from as usize].to_string(),
            line: hop.spec.line,
            col: hop.spec.col,
            import: hop.spec.text.to_string(),
            kind: hop.spec.kind,
            target: graph.paths[hop.to as usize].to_string(),
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
