//! The boundary rules of DESIGN.md, compiled from the config. An import from a file of
//! domain D to target T (outside D) is a violation when T matches D.forbidden_imports, or D
//! has allowed_imports and T matches none, or T belongs to domain E whose exports do not match
//! T, or T is an external package in D.forbidden_packages.

use globset::GlobSet;
use serde::Serialize;

use super::imports::ImportKind;
use super::resolve::Target;
use crate::config::{glob_set, Config};
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

struct CompiledDomain {
    name: String,
    scope: GlobSet,
    exports: Option<GlobSet>,
    allowed: Option<GlobSet>,
    forbidden: GlobSet,
    forbidden_packages: Vec<String>,
    package_globs: GlobSet,
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

pub struct Rules {
    domains: Vec<CompiledDomain>,
}

impl Rules {
    pub fn compile(config: &Config) -> Result<Rules> {
        let compile = |patterns: &[String], domain: &str| {
            glob_set(patterns).map_err(|e| {
                Error::config(format!("domain '{domain}': bad glob: {e}"))
                    .with_hint("fix .comm-node/config.yaml")
            })
        };
        let mut domains = Vec::new();
        for (name, d) in &config.domains {
            let packages: Vec<String> = d.forbidden_packages.iter().map(|p| normalize(p)).collect();
            domains.push(CompiledDomain {
                name: name.clone(),
                scope: compile(&d.scope, name)?,
                exports: d.exports.as_deref().map(|p| compile(p, name)).transpose()?,
                allowed: d
                    .allowed_imports
                    .as_deref()
                    .map(|p| compile(p, name))
                    .transpose()?,
                forbidden: compile(&d.forbidden_imports, name)?,
                package_globs: package_globs(&packages, name)?,
                forbidden_packages: packages,
                ignore_kinds: d.ignore_kinds.clone(),
            });
        }
        Ok(Rules { domains })
    }

    /// The domain owning `path` (scopes are disjoint; the first by name wins otherwise).
    pub fn domain_of(&self, path: &str) -> Option<&str> {
        self.domains
            .iter()
            .find(|d| d.scope.is_match(path))
            .map(|d| d.name.as_str())
    }

    /// Judge one resolved import of a file in `source_domain`.
    pub fn judge(&self, source_domain: &str, kind: ImportKind, target: &Target) -> Option<Verdict> {
        let d = self.domains.iter().find(|d| d.name == source_domain)?;
        if d.ignore_kinds.contains(&kind) {
            return None;
        }
        let verdict = |rule: Rule, target_domain: Option<&str>, hint: String| Verdict {
            rule,
            source_domain: d.name.clone(),
            target_domain: target_domain.map(str::to_string),
            hint,
        };
        match target {
            Target::File(path) => {
                let target_domain = self.domain_of(path);
                if target_domain == Some(d.name.as_str()) {
                    return None;
                }
                if d.forbidden.is_match(path) {
                    return Some(verdict(
                        Rule::ForbiddenImports,
                        target_domain,
                        format!("domain '{}' must not import {path}; move the shared code to a domain it may import, or depend on an interface", d.name),
                    ));
                }
                if let Some(allowed) = &d.allowed {
                    if !allowed.is_match(path) {
                        return Some(verdict(
                            Rule::AllowedImports,
                            target_domain,
                            format!("domain '{}' may import only its allowed_imports; {path} is not one of them", d.name),
                        ));
                    }
                }
                let owner =
                    target_domain.and_then(|t| self.domains.iter().find(|e| e.name == t))?;
                match &owner.exports {
                    Some(exports) if !exports.is_match(path) => Some(verdict(
                        Rule::Exports,
                        target_domain,
                        format!(
                            "import domain '{}' through its exports instead of {path}",
                            owner.name
                        ),
                    )),
                    _ => None,
                }
            }
            Target::Package(name) => {
                let normalized = normalize(name);
                let forbidden = d.forbidden_packages.contains(&normalized)
                    || d.package_globs.is_match(&normalized);
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

/// Rust crate names use `_` where the package name has `-`: compare in one form.
fn normalize(package: &str) -> String {
    package.replace('-', "_")
}

/// Package patterns match whole names (`react`, `@scope/*`), not paths.
fn package_globs(patterns: &[String], domain: &str) -> Result<GlobSet> {
    let mut builder = globset::GlobSetBuilder::new();
    for p in patterns {
        let glob = globset::Glob::new(p).map_err(|e| {
            Error::config(format!("domain '{domain}': bad package pattern '{p}': {e}"))
                .with_hint("fix .comm-node/config.yaml")
        })?;
        builder.add(glob);
    }
    builder
        .build()
        .map_err(|e| Error::config(format!("domain '{domain}': {e}")))
}
