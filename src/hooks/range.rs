//! `git comm check --range A..B`: vet the commits of a branch the way the hooks would have
//! judged each one when it was made: imports of the files it changed (read from that commit,
//! under the config that commit carries), the domain scope of its agent (its author, when
//! that is a known agent; `common:` files and leased unowned files allowed, as in the hook),
//! and other agents' exclusive leases, all judged with the lease ledger as it stood when
//! the commit was made. A merge commit is judged by the paths that
//! differ from every parent, so merging finished work is not counted against the merger.

use serde::Serialize;

use super::changes;
use super::checks::{domain_blocks, lease_blocks, CheckInput};
use crate::boundary::{self, CheckOptions};
use crate::config::{Config, CONFIG_PATH};
use crate::error::{Context, Error, Result};
use crate::repo::{ObjectId, Repo};

/// One problem a commit of the range has.
#[derive(Debug, Clone, Serialize)]
pub struct RangeFinding {
    #[serde(serialize_with = "hex")]
    pub commit: ObjectId,
    pub subject: String,
    pub author: String,
    pub file: String,
    /// `import:<rule>`, `domain` or `lease`.
    pub rule: String,
    pub message: String,
}

fn hex<S: serde::Serializer>(id: &ObjectId, s: S) -> std::result::Result<S::Ok, S::Error> {
    s.serialize_str(&id.to_string())
}

#[derive(Debug, Default, Serialize)]
pub struct RangeReport {
    pub commits: usize,
    pub findings: Vec<RangeFinding>,
}

fn bad_range(range: &str, why: &str) -> Error {
    Error::usage(format!("bad range '{range}': {why}")).with_hint(
        "write it as BASE..BRANCH, e.g. main..feature or HEAD~3..HEAD (the commits on BRANCH not on BASE)",
    )
}

/// One side of a range in git's revision syntax (`HEAD~1`, `main^`, `@`, `main@{1}`, a
/// tag, an abbreviated id, ...), peeled to a commit.
fn resolve(repo: &Repo, range: &str, spec: &str) -> Result<ObjectId> {
    let not_a_commit = || bad_range(range, &format!("'{spec}' is not a commit, branch or tag"));
    let id = repo
        .gix()
        .rev_parse_single(spec)
        .map_err(|_| not_a_commit())?;
    let commit = id
        .object()
        .map_err(|_| not_a_commit())?
        .peel_to_commit()
        .map_err(|_| not_a_commit())?;
    Ok(commit.id)
}

/// The commits reachable from B and not from A, oldest first.
fn commits_in(repo: &Repo, range: &str) -> Result<Vec<ObjectId>> {
    let (a, b) = range
        .split_once("..")
        .filter(|(a, b)| !a.is_empty() && !b.is_empty() && !b.starts_with('.'))
        .ok_or_else(|| bad_range(range, "expected BASE..BRANCH"))?;
    let (base, tip) = (resolve(repo, range, a)?, resolve(repo, range, b)?);
    let mut ids = Vec::new();
    for visit in crate::repo::walk::only_from(repo, &[tip], &[base])? {
        ids.push(visit?.id);
    }
    ids.reverse();
    Ok(ids)
}

/// Vet every commit of `range` (`A..B`).
pub fn check_range(repo: &Repo, config: &Config, range: &str) -> Result<RangeReport> {
    let commits = commits_in(repo, range)?;
    let known = crate::agent::known_agents(repo, config)?;
    let history = crate::lease::ledger::history(repo)?;
    let mut report = RangeReport {
        commits: commits.len(),
        findings: Vec::new(),
    };
    for id in commits {
        let when = commit_time(repo, id)?;
        // The leases the hooks saw when this commit was made, not today's. Own leases count
        // if held around then (in the committer's favour); others' leases only if held
        // at its second.
        let (before, around) =
            crate::lease::ledger::leases_around(&history, when, &commit_author(repo, id)?);
        let leases = LeaseView {
            own: &around,
            others: &before,
            now: when,
        };
        report
            .findings
            .extend(vet_commit(repo, config, &known, id, &leases)?);
    }
    Ok(report)
}

/// Who made commit `id`: its author's name (the agent).
pub fn commit_author(repo: &Repo, id: ObjectId) -> Result<String> {
    let commit = repo.gix().find_commit(id).context("cannot read commit")?;
    Ok(commit
        .author()
        .map(|a| a.name.to_string())
        .unwrap_or_default())
}

/// When commit `id` was made (committer time, unix seconds).
pub fn commit_time(repo: &Repo, id: ObjectId) -> Result<i64> {
    let commit = repo.gix().find_commit(id).context("cannot read commit")?;
    Ok(commit.time().map(|t| t.seconds).unwrap_or_default())
}

/// The leases a commit is judged against: those that count in its author's favour (`own`)
/// and those that bind it (`others`), at `now`.
pub struct LeaseView<'a> {
    pub own: &'a [crate::lease::Lease],
    pub others: &'a [crate::lease::Lease],
    pub now: i64,
}

/// What the hooks would have refused in commit `id`: its author's domain scope, others'
/// exclusive leases, and the imports of the files it changed under the config it carries
/// (`fallback` when it carries none). `known` are the agent names.
pub fn vet_commit(
    repo: &Repo,
    fallback: &Config,
    known: &[String],
    id: ObjectId,
    leases: &LeaseView,
) -> Result<Vec<RangeFinding>> {
    let commit = repo.gix().find_commit(id).context("cannot read commit")?;
    let author = commit
        .author()
        .map(|a| a.name.to_string())
        .unwrap_or_default();
    let subject = commit
        .message_raw_sloppy()
        .to_string()
        .lines()
        .next()
        .unwrap_or("")
        .to_string();
    let tree = commit.tree_id().context("cannot read tree")?.detach();
    let changes = changes::of_commit(repo, id)?;
    if changes.is_empty() {
        return Ok(Vec::new());
    }
    let commit_config = boundary::config_at(repo, tree, fallback)?;
    let agent = known.iter().find(|k| **k == author).map(String::as_str);
    let own_view = CheckInput {
        repo,
        config: &commit_config,
        agent,
        leases: leases.own,
        now: leases.now,
        changes: &changes,
        staged: false,
        head: None,
    };
    let others_view = CheckInput {
        leases: leases.others,
        ..own_view
    };
    let finding = |file: &str, rule: &str, message: String| RangeFinding {
        commit: id,
        subject: subject.clone(),
        author: author.clone(),
        file: file.to_string(),
        rule: rule.to_string(),
        message,
    };
    let mut findings: Vec<RangeFinding> = domain_blocks(&own_view)?
        .into_iter()
        .chain(lease_blocks(&others_view))
        .map(|block| finding(&block.path, &block.rule, block.message))
        .collect();
    if commit_config.domains.is_empty() {
        return Ok(findings);
    }
    let config_changed = changes.iter().any(|c| c.path == CONFIG_PATH);
    let paths: Vec<String> = changes
        .iter()
        .filter(|c| c.blob.is_some())
        .map(|c| c.path.clone())
        .collect();
    if paths.is_empty() && !config_changed {
        return Ok(findings);
    }
    let options = CheckOptions {
        paths: if config_changed { Vec::new() } else { paths },
        tree: Some(tree),
        ..CheckOptions::default()
    };
    for f in boundary::check(repo, &commit_config, &options)?.findings {
        let message = f.headline();
        findings.push(finding(
            &f.file,
            &format!("import:{}", f.rule.name()),
            message,
        ));
    }
    Ok(findings)
}
