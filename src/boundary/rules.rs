//! The boundary rules of DESIGN.md, compiled from the config. An import from a file of
//! domain D to target T (outside D) is a violation when T matches D.forbidden_imports, or D
//! has allowed_imports and T matches none, or T belongs to domain E whose exports do not match
//! T, or T is an external package in D.forbidden_packages.

use std::collections::HashMap;

use globset::{GlobSet, GlobSetBuilder};
use serde::Serialize;

use super::imports::ImportKind;
use super::resolve::Target;
use crate::config::{tagged_glob_set, Config};
use crate::error::{Error, Result};

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Rule {
    ForbiddenImports,
    AllowedImports,
    Exports,
    ForbiddenPackages,
}

impl Rule {
    pub fn name(self) -> &'static str {
        match self {
            Rule::ForbiddenImports => "forbidden_imports",
            Rule::AllowedImports => "allowed_imports",
            Rule::Exports => "exports",
            Rule::ForbiddenPackages => "forbidden_packages",
        }
    }
}

/// What a domain's pattern says about the paths it matches.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Role {
    Scope,
    Exports,
    Allowed,
    Forbidden,
    /// The domain's n-th `forbidden_imports` rule with `indirect: true`: not reachable by
    /// any chain either.
    Unreachable(usize),
}

/// A domain's settings that are not path patterns (those live in [`Rules::paths`]).
struct CompiledDomain {
    name: String,
    has_exports: bool,
    has_allowed: bool,
    has_indirect: bool,
    ignore_kinds: Vec<ImportKind>,
}

/// A rule broken by one import, before it is turned into a reported finding.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Verdict {
    pub rule: Rule,
    pub source_domain: String,
    pub target_domain: Option<String>,
    pub hint: String,
}

/// Every domain's rules compiled once into two glob sets (paths and package names), so that
/// finding a path's domain and judging an import cost the same with 10 domains or 10,000.
pub struct Rules {
    domains: Vec<CompiledDomain>,
    by_name: HashMap<String, usize>,
    /// Scope, exports, allowed and forbidden patterns of all domains.
    paths: GlobSet,
    /// `(domain, role)` of each glob of `paths`.
    path_tags: Vec<(usize, Role)>,
    /// forbidden_packages of all domains (normalized), matching whole names.
    packages: GlobSet,
    package_domains: Vec<usize>,
}

impl Rules {
    pub fn compile(config: &Config) -> Result<Rules> {
        let bad = |e: globset::Error| {
            Error::config(format!("bad glob: {e}")).with_hint("fix .comm-node/config.yaml")
        };
        let mut path_patterns: Vec<(usize, &str)> = Vec::new();
        let mut path_tags: Vec<(usize, Role)> = Vec::new();
        let mut packages = GlobSetBuilder::new();
        let mut package_domains = Vec::new();
        let mut domains = Vec::new();
        for (i, (name, d)) in config.domains.iter().enumerate() {
            let forbidden = d.forbidden_imports.iter().map(|f| f.path());
            let unreachable = d
                .forbidden_imports
                .iter()
                .filter(|f| f.indirect())
                .enumerate()
                .map(|(n, f)| (Role::Unreachable(n), vec![f.path()]));
            let exports = d.exports.iter().flatten().map(String::as_str);
            let allowed = d.allowed_imports.iter().flatten().map(String::as_str);
            let roles: Vec<(Role, Vec<&str>)> = [
                (Role::Scope, d.scope.iter().map(String::as_str).collect()),
                (Role::Exports, exports.collect()),
                (Role::Allowed, allowed.collect()),
                (Role::Forbidden, forbidden.collect()),
            ]
            .into_iter()
            .chain(unreachable)
            .collect();
            for (role, patterns) in roles {
                for pattern in patterns {
                    path_patterns.push((path_tags.len(), pattern));
                    path_tags.push((i, role));
                }
            }
            for package in &d.forbidden_packages {
                packages.add(package_glob(&normalize(package), name)?);
                package_domains.push(i);
            }
            domains.push(CompiledDomain {
                name: name.clone(),
                has_exports: d.exports.is_some(),
                has_allowed: d.allowed_imports.is_some(),
                has_indirect: d.forbidden_imports.iter().any(|f| f.indirect()),
                ignore_kinds: d.ignore_kinds.clone(),
            });
        }
        let (paths, glob_patterns) = tagged_glob_set(path_patterns).map_err(bad)?;
        Ok(Rules {
            by_name: domains
                .iter()
                .enumerate()
                .map(|(i, d)| (d.name.clone(), i))
                .collect(),
            domains,
            path_tags: glob_patterns.into_iter().map(|p| path_tags[p]).collect(),
            paths,
            packages: packages.build().map_err(bad)?,
            package_domains,
        })
    }

    /// Whether some domain has an `indirect` forbidden_imports rule.
    pub fn has_indirect(&self) -> bool {
        self.domains.iter().any(|d| d.has_indirect)
    }

    /// Every domain's say about `path`, for judging many chains through it.
    pub fn path_roles(&self, path: &str) -> PathRoles {
        PathRoles(self.roles(path))
    }

    pub fn has_indirect_rules(&self, domain: usize) -> bool {
        self.domains[domain].has_indirect
    }

    /// Whether `domain`'s rules skip imports of this kind.
    pub fn ignores(&self, domain: usize, kind: ImportKind) -> bool {
        self.domains[domain].ignore_kinds.contains(&kind)
    }

    pub fn domain_name(&self, domain: usize) -> &str {
        &self.domains[domain].name
    }

    /// The domain owning `path` (scopes are disjoint; the first by name wins otherwise).
    pub fn domain_of(&self, path: &str) -> Option<&str> {
        let roles = self.roles(path);
        owner(&roles).map(|i| self.domains[i].name.as_str())
    }

    /// Every `(domain, role)` whose patterns match `path`, from one glob-set lookup.
    fn roles(&self, path: &str) -> Vec<(usize, Role)> {
        self.paths
            .matches(path)
            .into_iter()
            .map(|g| self.path_tags[g])
            .collect()
    }

    /// Judge one resolved import of a file in `source_domain`. `dotted`: package names are
    /// dotted module paths (Python), so a rule naming a package also covers its submodules.
    pub fn judge(
        &self,
        source_domain: &str,
        kind: ImportKind,
        target: &Target,
        dotted: bool,
    ) -> Option<Verdict> {
        let source = *self.by_name.get(source_domain)?;
        let d = &self.domains[source];
        if d.ignore_kinds.contains(&kind) {
            return None;
        }
        let verdict = |rule: Rule, target_domain: Option<usize>, hint: String| Verdict {
            rule,
            source_domain: d.name.clone(),
            target_domain: target_domain.map(|t| self.domains[t].name.clone()),
            hint,
        };
        match target {
            Target::File(path) => {
                let roles = self.roles(path);
                let has = |domain: usize, role: Role| roles.contains(&(domain, role));
                let target_domain = owner(&roles);
                if target_domain == Some(source) {
                    return None;
                }
                if has(source, Role::Forbidden) {
                    return Some(verdict(
                        Rule::ForbiddenImports,
                        target_domain,
                        format!("domain '{}' must not import {path}; move the shared code to a domain it may import, or depend on an interface", d.name),
                    ));
                }
                if d.has_allowed && !has(source, Role::Allowed) {
                    return Some(verdict(
                        Rule::AllowedImports,
                        target_domain,
                        format!("domain '{}' may import only its allowed_imports; {path} is not one of them", d.name),
                    ));
                }
                let owner = target_domain?;
                let exported = !self.domains[owner].has_exports || has(owner, Role::Exports);
                (!exported).then(|| {
                    verdict(
                        Rule::Exports,
                        target_domain,
                        format!(
                            "import domain '{}' through its exports instead of {path}",
                            self.domains[owner].name
                        ),
                    )
                })
            }
            Target::Package(name) => {
                let forbidden = package_names(name, dotted)
                    .flat_map(|candidate| self.packages.matches(normalize(candidate)))
                    .any(|g| self.package_domains[g] == source);
                forbidden.then(|| {
                    verdict(
                        Rule::ForbiddenPackages,
                        None,
                        format!("domain '{}' must not use package {name}", d.name),
                    )
                })
            }
            Target::Unresolved(_) => None,
        }
    }
}

/// What the domains' patterns say about one path, looked up once per path.
pub struct PathRoles(Vec<(usize, Role)>);

impl PathRoles {
    /// The owning domain's index.
    pub fn owner(&self) -> Option<usize> {
        owner(&self.0)
    }

    /// Whether `domain` forbids reaching this path through any chain of imports.
    pub fn unreachable_for(&self, domain: usize) -> bool {
        self.indirect_rules(domain).next().is_some()
    }

    /// Which of `domain`'s indirect rules (numbered among them) forbid reaching this path.
    pub fn indirect_rules(&self, domain: usize) -> impl Iterator<Item = usize> + '_ {
        self.0.iter().filter_map(move |&(d, role)| match role {
            Role::Unreachable(n) if d == domain => Some(n),
            _ => None,
        })
    }
}

/// The domain whose scope matches, the first by name if several do.
fn owner(roles: &[(usize, Role)]) -> Option<usize> {
    roles
        .iter()
        .filter(|(_, role)| *role == Role::Scope)
        .map(|(domain, _)| *domain)
        .min()
}

/// The name, and with `dotted` each of its dotted prefixes (`google.protobuf.x`,
/// `google.protobuf`, `google`): `forbidden_packages: [google.protobuf]` covers submodules.
fn package_names(name: &str, dotted: bool) -> impl Iterator<Item = &str> {
    let prefixes = dotted
        .then(|| name.match_indices('.').map(|(i, _)| &name[..i]))
        .into_iter()
        .flatten();
    std::iter::once(name).chain(prefixes)
}

/// Rust crate names use `_` where the package name has `-`: compare in one form.
fn normalize(package: &str) -> String {
    package.replace('-', "_")
}

/// Package patterns match whole names (`react`, `@scope/*`), not paths.
fn package_glob(pattern: &str, domain: &str) -> Result<globset::Glob> {
    globset::Glob::new(pattern).map_err(|e| {
        Error::config(format!(
            "domain '{domain}': bad package pattern '{pattern}': {e}"
        ))
        .with_hint("fix .comm-node/config.yaml")
    })
}
