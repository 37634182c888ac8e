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

use std::collections::{BTreeSet, HashMap, HashSet, VecDeque};

use rayon::prelude::*;

use super::imports::{Import, ImportKind, Lang, Spec};
use super::report::{ChainHop, Finding};
use super::resolve::{Resolver, Target};
use super::rules::{PathRoles, Rule, Rules};
use super::snapshot::Snapshot;

/// One resolved import between two files of the repository.
struct Hop<'a> {
    to: String,
    import: &'a Import,
}

/// Every file's imports that lead to another file of the repository.
pub struct ImportGraph<'a> {
    out: HashMap<&'a str, Vec<Hop<'a>>>,
    roles: HashMap<String, PathRoles>,
}

impl<'a> ImportGraph<'a> {
    /// Resolve every import of `files` (all the repository's source files).
    pub fn build(
        snapshot: &Snapshot,
        resolver: &Resolver,
        rules: &Rules,
        files: &[(&'a str, Lang, &'a [Import])],
    ) -> ImportGraph<'a> {
        let out: HashMap<&str, Vec<Hop>> = files
            .par_iter()
            .map(|&(path, lang, imports)| {
                (path, file_hops(snapshot, resolver, path, lang, imports))
            })
            .collect();
        let mut nodes: HashSet<&str> = out.keys().copied().collect();
        nodes.extend(out.values().flatten().map(|h| h.to.as_str()));
        let roles = nodes
            .into_par_iter()
            .map(|p| (p.to_string(), rules.path_roles(p)))
            .collect();
        ImportGraph { out, roles }
    }

    fn hops(&self, file: &str) -> &[Hop<'a>] {
        self.out.get(file).map_or(&[], Vec::as_slice)
    }

    fn owner(&self, file: &str) -> Option<usize> {
        self.roles.get(file).and_then(PathRoles::owner)
    }

    /// Each file's importers, with the kind of each import.
    fn reverse<'g>(&'g self) -> Reverse<'g> {
        let mut reverse: Reverse<'g> = HashMap::new();
        for (&from, hops) in &self.out {
            for hop in hops {
                reverse
                    .entry(hop.to.as_str())
                    .or_default()
                    .push((from, hop.import.kind));
            }
        }
        reverse
    }

    /// Files that import, directly or not, one of `files` (`files` included).
    fn importers_of<'g>(
        &'g self,
        reverse: &Reverse<'g>,
        files: &HashSet<&str>,
    ) -> HashSet<&'g str> {
        let seeds = self.out.keys().copied().filter(|f| files.contains(f));
        walk_back(reverse, seeds, |_, _| true)
    }

    /// The files a chain from `domain` may pass through: outside the domain, and reaching a
    /// file it forbids (those included) without passing through the domain or another
    /// forbidden file. Chains are searched within them only.
    fn live<'g>(&'g self, reverse: &Reverse<'g>, rules: &Rules, domain: usize) -> HashSet<&'g str> {
        let forbidden = |file: &str| {
            self.roles
                .get(file)
                .is_some_and(|r| r.unreachable_for(domain) && r.owner() != Some(domain))
        };
        let seeds = reverse.keys().copied().filter(|f| forbidden(f));
        walk_back(reverse, seeds, |from, kind| {
            !rules.ignores(domain, kind) && self.owner(from) != Some(domain) && !forbidden(from)
        })
    }
}

type Reverse<'g> = HashMap<&'g str, Vec<(&'g str, ImportKind)>>;

/// `seeds` and every file importing one of them through imports `follow` accepts.
fn walk_back<'g>(
    reverse: &Reverse<'g>,
    seeds: impl Iterator<Item = &'g str>,
    follow: impl Fn(&str, ImportKind) -> bool,
) -> HashSet<&'g str> {
    let mut seen: HashSet<&'g str> = seeds.collect();
    let mut queue: VecDeque<&'g str> = seen.iter().copied().collect();
    while let Some(file) = queue.pop_front() {
        for &(from, kind) in reverse.get(file).into_iter().flatten() {
            if follow(from, kind) && seen.insert(from) {
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
) -> Vec<Hop<'a>> {
    imports
        .iter()
        .filter(|import| !matches!(import.spec, Spec::RustMod { .. }))
        .filter_map(
            |import| match resolver.resolve(snapshot, path, lang, import) {
                Target::File(to) if to != path => Some(Hop { to, import }),
                _ => None,
            },
        )
        .collect()
}

/// The chains breaking an indirect rule. `focus`: only chains in which one of these files
/// imports something (a partial check); `None`: all of them.
pub fn findings(graph: &ImportGraph, rules: &Rules, focus: Option<&HashSet<&str>>) -> Vec<Finding> {
    let reverse = graph.reverse();
    let reaching_focus = focus.map(|f| graph.importers_of(&reverse, f));
    let domains: BTreeSet<usize> = graph
        .roles
        .values()
        .filter_map(PathRoles::owner)
        .filter(|&d| rules.has_indirect_rules(d))
        .collect();
    let mut findings = Vec::new();
    for domain in domains {
        let live = graph.live(&reverse, rules, domain);
        let starts: Vec<&str> = graph
            .out
            .keys()
            .copied()
            .filter(|f| graph.owner(f) == Some(domain))
            .filter(|f| reaching_focus.as_ref().is_none_or(|r| r.contains(f)))
            .filter(|f| graph.hops(f).iter().any(|h| live.contains(h.to.as_str())))
            .collect();
        findings.par_extend(
            starts
                .par_iter()
                .flat_map_iter(|start| chains_from(graph, rules, start, domain, &live)),
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
    start: &str,
    domain: usize,
    live: &HashSet<&str>,
) -> Vec<Finding> {
    let mut parent: HashMap<&str, (&str, &Hop)> = HashMap::new();
    let mut queue = VecDeque::from([start]);
    let mut findings = Vec::new();
    let mut reported: HashSet<usize> = HashSet::new();
    while let Some(file) = queue.pop_front() {
        for hop in graph.hops(file) {
            let to = hop.to.as_str();
            if !live.contains(to)
                || parent.contains_key(to)
                || rules.ignores(domain, hop.import.kind)
            {
                continue;
            }
            parent.insert(to, (file, hop));
            let Some(roles) = graph.roles.get(to) else {
                continue;
            };
            if roles.unreachable_for(domain) {
                let new_rule = roles.indirect_rules(domain).any(|n| !reported.contains(&n));
                reported.extend(roles.indirect_rules(domain));
                if file != start && new_rule {
                    findings.push(finding(rules, domain, roles, chain(&parent, to)));
                }
                continue;
            }
            queue.push_back(to);
        }
    }
    findings
}

/// The hops from the start to `end`, following the breadth-first parents back.
fn chain(parent: &HashMap<&str, (&str, &Hop)>, end: &str) -> Vec<ChainHop> {
    let mut hops = Vec::new();
    let mut at = end;
    while let Some(&(from, hop)) = parent.get(at) {
        hops.push(ChainHop {
            file: from.to_string(),
            line: hop.import.line,
            col: hop.import.col,
            import: hop.import.text.clone(),
            kind: hop.import.kind,
            target: hop.to.clone(),
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
