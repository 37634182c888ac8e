//! The commit guard's checks. Each check is independent and returns the [`Block`]s it
//! finds; [`collect_blocks`] lists them all. pre-commit refuses on any block, post-commit
//! reports blocks of a commit that bypassed pre-commit, pre-push refuses them too.

use crate::agent;
use crate::boundary::CheckOptions;
use crate::config::{Config, CONFIG_PATH};
use crate::error::{Error, Result};
use crate::lease::overlap::{PathPattern, Resource};
use crate::lease::Lease;
use crate::repo::Repo;

use super::changes::{Change, Head, Staged};

/// One reason a path may not be committed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Block {
    pub path: String,
    /// Short rule name: `lease`, `domain`, `boundary`, ...
    pub rule: String,
    /// One line: what blocks the path and until when.
    pub message: String,
    /// Agents holding what was violated (they are told about a bypass).
    pub holders: Vec<String>,
}

impl Block {
    pub fn new(path: &str, rule: &str, message: impl Into<String>) -> Block {
        Block {
            path: path.to_string(),
            rule: rule.to_string(),
            message: message.into(),
            holders: Vec::new(),
        }
    }

    pub fn with_holder(mut self, holder: &str) -> Block {
        self.holders.push(holder.to_string());
        self
    }
}

/// Everything a check may look at.
pub struct CheckInput<'a> {
    pub repo: &'a Repo,
    pub config: &'a Config,
    /// The committing agent; `None` when it has no identity (then every lease blocks).
    pub agent: Option<&'a str>,
    /// Live leases at `now`.
    pub leases: &'a [Lease],
    pub now: i64,
    pub changes: &'a [Change],
    /// `changes` are the index against HEAD (pre-commit), not a commit's.
    pub staged: bool,
    /// With `staged`: the HEAD `changes` were computed against (`None`: no commit yet).
    pub head: Option<Head>,
}

/// All checks, in order. New checks (e.g. the boundary import check) are appended here.
pub fn collect_blocks(input: &CheckInput) -> Result<Vec<Block>> {
    let mut blocks = Vec::new();
    blocks.extend(halt_blocks(input)?);
    blocks.extend(lease_blocks(input));
    blocks.extend(domain_blocks(input)?);
    blocks.extend(boundary_blocks(input)?);
    Ok(blocks)
}

/// While a halt is in force, an agent's commit is refused (only agents of the halted
/// domain when the halt names one). A committer without an agent identity is a person: not
/// stopped, so they can fix things and resume.
pub fn halt_blocks(input: &CheckInput) -> Result<Vec<Block>> {
    let Some(name) = input.agent else {
        return Ok(Vec::new());
    };
    let Some(halt) = crate::halt::in_force(input.repo)? else {
        return Ok(Vec::new());
    };
    let domain = agent::bound_domain(input.repo, input.config, name)?;
    if !halt.stops(domain.as_deref()) {
        return Ok(Vec::new());
    }
    let message = format!(
        "halted by {} since {}: {}; wait for `git comm resume`",
        halt.by,
        crate::display::local_time(halt.since),
        halt.reason
    );
    Ok(input
        .changes
        .iter()
        .map(|c| Block::new(&c.path, "halt", message.clone()))
        .collect())
}

/// Paths under another agent's live exclusive lease. Own leases never block.
pub fn lease_blocks(input: &CheckInput) -> Vec<Block> {
    // Resources are parsed once per lease, not once per lease and staged path.
    let blocking: Vec<(&Lease, Vec<Resource>)> = input
        .leases
        .iter()
        .filter(|l| {
            l.exclusive
                && l.blocks_at(input.now, input.repo.policy().skew_secs)
                && Some(l.holder.as_str()) != input.agent
        })
        .map(|l| (l, l.parsed_resources()))
        .collect();
    let mut blocks = Vec::new();
    if blocking.is_empty() {
        return blocks;
    }
    for change in input.changes {
        for (lease, parsed) in &blocking {
            if let Some(resource) = first_covering(lease, parsed, &change.path) {
                let reason = lease
                    .reason
                    .as_ref()
                    .map(|r| format!(", reason: {r}"))
                    .unwrap_or_default();
                let message = format!(
                    "leased exclusively by {} until {} ({resource}, lease {}{reason})",
                    lease.holder,
                    crate::display::local_time(lease.expires),
                    lease.id,
                );
                blocks.push(Block::new(&change.path, "lease", message).with_holder(&lease.holder));
            }
        }
    }
    blocks
}

/// The text of the first of `lease`'s resources (parsed in `parsed`) covering `path`.
fn first_covering<'a>(lease: &'a Lease, parsed: &[Resource], path: &str) -> Option<&'a str> {
    let position = parsed.iter().position(|r| r.covers_path(path))?;
    Some(lease.resources[position].as_str())
}

/// Paths outside the scope of the domain the agent is bound to (config or card).
pub fn domain_blocks(input: &CheckInput) -> Result<Vec<Block>> {
    let Some(name) = input.agent else {
        return Ok(Vec::new());
    };
    // Only what the config declares is enforced: a card naming an undeclared domain binds
    // nothing, so with no domains declared there is no card to read.
    if input.config.domains.is_empty() {
        return Ok(Vec::new());
    }
    let Some(domain_name) = agent::bound_domain(input.repo, input.config, name)? else {
        return Ok(Vec::new());
    };
    let Some(domain) = input.config.domains.get(&domain_name) else {
        return Ok(Vec::new());
    };
    let scope = domain
        .scope
        .iter()
        .map(|glob| {
            PathPattern::parse(glob).map_err(|e| {
                input.config.error_at(
                    glob,
                    format!("domain '{domain_name}': bad scope glob: {}", e.message),
                )
            })
        })
        .collect::<Result<Vec<_>, Error>>()?;
    let shown_scope = domain.scope.join(" ");
    let common = crate::config::glob_set(&input.config.common).map_err(|e| {
        input
            .config
            .error_at("common", format!("common: bad glob: {e}"))
    })?;
    let mut blocks = Vec::new();
    for c in input.changes {
        if scope.iter().any(|p| p.matches(&c.path)) || common.is_match(&c.path) {
            continue;
        }
        let owner = owning_domain(input, &domain_name, &c.path);
        let my_lease = input.leases.iter().find(|l| {
            l.holder == name
                && l.exclusive
                && l.blocks_at(input.now, input.repo.policy().skew_secs)
                && l.resource_covering(&c.path).is_some()
        });
        if my_lease.is_some() && owner.is_none() {
            continue; // an explicit, audited claim on a file no domain owns
        }
        let way_forward = match &owner {
            Some(other) => format!(
                "it belongs to domain '{other}': ask one of its agents to commit it, or change the scopes in {}",
                crate::config::CONFIG_PATH
            ),
            None => format!(
                "take a lease on it first (git comm lease {}), or list it under `common:` in {}",
                c.path,
                crate::config::CONFIG_PATH
            ),
        };
        blocks.push(Block::new(
            &c.path,
            "domain",
            format!(
                "outside domain '{domain_name}' of {name} (scope: {shown_scope}); {way_forward}"
            ),
        ));
    }
    Ok(blocks)
}

/// The domain other than `mine` whose scope covers `path`, if any.
fn owning_domain(input: &CheckInput, mine: &str, path: &str) -> Option<String> {
    input
        .config
        .domains
        .iter()
        .filter(|(n, _)| n.as_str() != mine)
        .find(|(_, d)| {
            d.scope
                .iter()
                .filter_map(|g| PathPattern::parse(g).ok())
                .any(|p| p.matches(path))
        })
        .map(|(n, _)| n.clone())
}

/// Boundary violations (forbidden imports) in the indexed content of the changed files.
/// In pre-commit the index is what will be committed; in post-commit it equals HEAD for
/// the committed paths, so both judge the commit, never the worktree. A changed config
/// re-judges every file by the new rules.
pub fn boundary_blocks(input: &CheckInput) -> Result<Vec<Block>> {
    let config = crate::boundary::staged_config(input.repo, input.config)?;
    if config.domains.is_empty() {
        return Ok(Vec::new());
    }
    let config_changed = input.changes.iter().any(|c| c.path == CONFIG_PATH);
    let paths: Vec<String> = input
        .changes
        .iter()
        .filter(|c| c.blob.is_some())
        .map(|c| c.path.clone())
        .collect();
    if paths.is_empty() && !config_changed {
        return Ok(Vec::new());
    }
    let options = CheckOptions {
        staged: true,
        all_staged: true,
        paths: if config_changed { Vec::new() } else { paths },
        tree: None,
        staged_changes: input.staged.then(|| Staged {
            head: input.head,
            changes: input.changes.to_vec(),
        }),
    };
    let report = crate::boundary::check(input.repo, &config, &options)?;
    Ok(report
        .findings
        .iter()
        .map(|f| {
            let headline = f.headline();
            let detail = headline
                .strip_prefix(&format!("{}:", f.file))
                .unwrap_or(&headline);
            Block::new(&f.file, "boundary", detail.to_string())
        })
        .collect())
}
