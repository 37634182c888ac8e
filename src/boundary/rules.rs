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
use crate::model::lease::overlap::{segments_match, star_segments};

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
    paths: PathGlobs,
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
        let (paths, glob_patterns) = PathGlobs::build(path_patterns).map_err(bad)?;
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

/// Up to this many globs (patterns times their variants) that use no glob syntax but `*`
/// and `**` are matched one by one instead of through a glob set (see [`PathGlobs`]).
const FEW_GLOBS: usize = 64;

/// The path patterns of all domains: one glob set, or, when they are few and use no glob
/// syntax but `*` and `**`, their segments matched one glob after the other. Building the
/// set compiles a regex, and regex-automata sizes its pool by the CPU count, which reads
/// three cgroup files: more than a commit's few lookups cost.
enum PathGlobs {
    Set(GlobSet),
    Stars(Vec<Vec<String>>),
}

impl PathGlobs {
    /// Like [`tagged_glob_set`]: the globs, and the tag of each.
    fn build(
        patterns: Vec<(usize, &str)>,
    ) -> std::result::Result<(PathGlobs, Vec<usize>), globset::Error> {
        let variants: Vec<(usize, String)> = patterns
            .iter()
            .flat_map(|&(tag, pattern)| {
                crate::config::glob_variants(pattern)
                    .into_iter()
                    .map(move |v| (tag, v))
            })
            .collect();
        let stars: Option<Vec<Vec<String>>> = variants
            .iter()
            .map(|(_, v)| Some(star_segments(v)?.into_iter().map(String::from).collect()))
            .collect();
        match stars {
            Some(stars) if stars.len() <= FEW_GLOBS => {
                // Checked as the set would: a bad glob is refused either way.
                for &(_, pattern) in &patterns {
                    crate::config::check_glob(pattern)?;
                }
                let tags = variants.into_iter().map(|(tag, _)| tag).collect();
                Ok((PathGlobs::Stars(stars), tags))
            }
            _ => {
                let (set, tags) = tagged_glob_set(patterns)?;
                Ok((PathGlobs::Set(set), tags))
            }
        }
    }

    /// The indices of the globs matching `path`, ascending (as `GlobSet::matches`).
    fn matches(&self, path: &str) -> Vec<usize> {
        match self {
            PathGlobs::Set(set) => set.matches(path),
            PathGlobs::Stars(globs) => {
                let path: Vec<&str> = path.split('/').collect();
                globs
                    .iter()
                    .enumerate()
                    .filter(|(_, glob)| {
                        let glob: Vec<&str> = glob.iter().map(String::as_str).collect();
                        segments_match(&glob, &path)
                    })
                    .map(|(i, _)| i)
                    .collect()
            }
        }
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

#[cfg(test)]
mod tests {
    use super::*;

    /// The few-globs matcher answers as the glob set would, glob by glob.
    #[test]
    fn few_star_globs_match_as_the_glob_set() {
        let patterns = [
            "src/mod4*/**",
            "src/mod0*",
            "src/api",
            "src/api/",
            "*.test.ts",
            "tests",
            "**/gen/**",
            "src/**/index.ts",
            "a*b*c/x",
            "**",
            "docs/*.md",
        ];
        let paths = [
            "src/mod40/file0040.ts",
            "src/mod4/a.ts",
            "src/mod01",
            "src/mod01/deep/x.ts",
            "src/mod1/x.ts",
            "src/api",
            "src/api/x/y.ts",
            "src/apix/y.ts",
            "a.test.ts",
            "src/deep/b.test.ts",
            "src/test.ts",
            "tests/x.py",
            "pkg/tests/x.py",
            "gen/x.rs",
            "src/gen/x/y.rs",
            "src/index.ts",
            "src/a/b/index.ts",
            "abxc/x",
            "aXbYc/x/z",
            "ab/x",
            "docs/a.md",
            "docs/sub/a.md",
            ".hidden/a.md",
        ];
        let tagged: Vec<(usize, &str)> = patterns.iter().copied().enumerate().collect();
        let (stars, star_tags) = PathGlobs::build(tagged.clone()).unwrap();
        assert!(matches!(stars, PathGlobs::Stars(_)));
        let (set, set_tags) = tagged_glob_set(tagged).unwrap();
        assert_eq!(star_tags, set_tags);
        for path in paths {
            assert_eq!(stars.matches(path), set.matches(path), "{path}");
        }
    }

    #[test]
    fn other_glob_syntax_or_many_globs_use_the_glob_set() {
        let (globs, _) = PathGlobs::build(vec![(0, "src/*.{ts,tsx}")]).unwrap();
        assert!(matches!(globs, PathGlobs::Set(_)));
        let many: Vec<String> = (0..FEW_GLOBS).map(|n| format!("src/m{n}/**")).collect();
        let tagged = many.iter().map(|p| (0, p.as_str())).collect();
        let (globs, _) = PathGlobs::build(tagged).unwrap();
        assert!(matches!(globs, PathGlobs::Set(_)));
        assert!(PathGlobs::build(vec![(0, "src/[a")]).is_err());
    }
}
