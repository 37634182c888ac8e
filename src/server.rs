//! The server-side guard: a `pre-receive` hook in the shared bare repository, the last line
//! of defence against a client with a bug, an old version or `--no-verify`.
//!
//! - Every pushed ref in the namespace passes the same storage gate as sync's imports
//!   ([`gate::admit`]): object types, schemas, names, sizes, time caps, and every commit the
//!   push adds to mail. Deleting shared state is refused (presence, a blob with no history,
//!   excepted), and so is a non-fast-forward update of an append-only ref (mail, cards, the
//!   lease and task ledgers, halt, artifacts): clients merge with `git comm sync` instead.
//! - On protected branches (`git config comm.protect BRANCH-OR-GLOB`, set by `server install
//!   --protect`), every commit the push adds is vetted as `check --range` vets it: its
//!   author's domain scope, the imports of the files it changes under the config it carries,
//!   and the exclusive leases: those the ledger's history shows around the commit's time
//!   (entries' own grant and end times, as `check --range` judges) and those live now.
//!
//! git runs the hook with the pushed objects in a quarantine directory ([`Repo::see_quarantine`]).
//! pre-receive is all or nothing: one refusal rejects the whole push, and every reason is listed.

use std::io::BufRead;
use std::path::Path;

use globset::Glob;
use serde::Serialize;

use crate::config::{Config, CONFIG_PATH};
use crate::error::{Error, Result};
use crate::hooks::range::{vet_commit, LeaseView};
use crate::hooks::HookState;
use crate::repo::gate::{self, Kind};
use crate::repo::{ObjectId, Repo};

pub const HOOK: &str = "pre-receive";
/// Git config key (multi-valued) of the protected branches: names or globs.
pub const PROTECT_KEY: &str = "comm.protect";
/// Refs `git comm doctor` pushes to learn whether the remote takes the namespace.
pub const PROBE_PREFIX: &str = "doctor-probe/";
/// The guard's answer to a probe, which doctor reads as "the namespace reaches the guard".
pub const PROBE_ANSWER: &str = "doctor probe received by the git-comm server guard";

/// One line of pre-receive's input: `<old> <new> <ref>`; all-zero ids mean none.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Update {
    pub old: Option<ObjectId>,
    pub new: Option<ObjectId>,
    pub name: String,
}

/// Why a ref update is refused, and how to fix it.
#[derive(Debug, Clone, Serialize, PartialEq, Eq)]
pub struct Rejection {
    #[serde(rename = "ref")]
    pub ref_name: String,
    pub reason: String,
    pub commit: Option<String>,
    pub file: Option<String>,
    pub rule: Option<String>,
    pub fix: String,
}

/// The config the guard applies: `.comm-node/config.yaml` and the allowed signers it names,
/// as the default branch (HEAD) holds them before this push, so a push cannot loosen the
/// rules it is judged by. `None` when the default branch has no config.
pub fn head_config(repo: &Repo) -> Result<Option<Config>> {
    let Some(head) = crate::repo::changes::head_commit(repo)? else {
        return Ok(None);
    };
    let read = |path: &str| file_at(repo, head, path);
    let Some(bytes) = read(CONFIG_PATH).map_err(Error::git)? else {
        return Ok(None);
    };
    let mut config = Config::parse(&bytes, Path::new(&format!("HEAD:{CONFIG_PATH}")))?;
    config.load_signers("HEAD:", read)?;
    Ok(Some(config))
}

fn file_at(
    repo: &Repo,
    commit: ObjectId,
    path: &str,
) -> std::result::Result<Option<Vec<u8>>, String> {
    let unreadable = |e: &dyn std::fmt::Display| format!("cannot read {path} at {commit}: {e}");
    let tree = repo
        .gix()
        .find_commit(commit)
        .map_err(|e| unreadable(&e))?
        .tree()
        .map_err(|e| unreadable(&e))?;
    let Some(entry) = tree
        .lookup_entry_by_path(path)
        .map_err(|e| unreadable(&e))?
    else {
        return Ok(None);
    };
    let object = entry.object().map_err(|e| unreadable(&e))?;
    Ok(Some(object.data.clone()))
}

/// Parse pre-receive's stdin.
pub fn parse_updates(input: impl BufRead) -> Result<Vec<Update>> {
    let mut updates = Vec::new();
    for line in input.lines() {
        let line = line?;
        let fields: Vec<&str> = line.split_whitespace().collect();
        let [old, new, name] = fields[..] else {
            return Err(
                Error::usage(format!("unexpected pre-receive line '{line}'"))
                    .with_hint("git passes '<old> <new> <ref>' lines on stdin"),
            );
        };
        updates.push(Update {
            old: parse_id(old)?,
            new: parse_id(new)?,
            name: name.to_string(),
        });
    }
    Ok(updates)
}

fn parse_id(hex: &str) -> Result<Option<ObjectId>> {
    let id = ObjectId::from_hex(hex.as_bytes())
        .map_err(|_| Error::usage(format!("'{hex}' is not an object id")))?;
    Ok((!id.is_null()).then_some(id))
}

/// Judge a whole push: every reason to refuse it (none: accept).
pub fn check_push(repo: &Repo, updates: &[Update]) -> Result<Vec<Rejection>> {
    let protected = protected_patterns(repo)?;
    let pending: Vec<(String, ObjectId)> = updates
        .iter()
        .filter_map(|u| {
            let suffix = u.name.strip_prefix(repo.namespace())?;
            Some((suffix.to_string(), u.new?))
        })
        .collect();
    let mut rejections = Vec::new();
    for update in updates {
        if let Some(suffix) = update.name.strip_prefix(repo.namespace()) {
            rejections.extend(check_namespace(repo, suffix, update, &pending)?);
        } else if protected.iter().any(|p| p.is_match(&update.name)) {
            rejections.extend(check_protected(repo, update, updates)?);
        }
    }
    Ok(rejections)
}

fn protected_patterns(repo: &Repo) -> Result<Vec<globset::GlobMatcher>> {
    protected_branches(repo)
        .iter()
        .map(|b| {
            let full = if b.starts_with("refs/") {
                b.clone()
            } else {
                format!("refs/heads/{b}")
            };
            Glob::new(&full)
                .map(|g| g.compile_matcher())
                .map_err(|e| Error::config(format!("{PROTECT_KEY} '{b}': {e}")))
        })
        .collect()
}

/// The protected branches as configured (`comm.protect`, one value per branch or glob).
pub fn protected_branches(repo: &Repo) -> Vec<String> {
    repo.gix()
        .config_snapshot()
        .strings(PROTECT_KEY)
        .unwrap_or_default()
        .into_iter()
        .map(|v| v.to_string())
        .collect()
}

fn reject(update: &Update, reason: impl Into<String>, fix: impl Into<String>) -> Rejection {
    Rejection {
        ref_name: update.name.clone(),
        reason: reason.into(),
        commit: None,
        file: None,
        rule: None,
        fix: fix.into(),
    }
}

fn append_only(kind: &Kind) -> bool {
    !matches!(kind, Kind::Presence(_) | Kind::Cursor(_))
}

fn check_namespace(
    repo: &Repo,
    suffix: &str,
    update: &Update,
    pending: &[(String, ObjectId)],
) -> Result<Option<Rejection>> {
    if suffix.starts_with(PROBE_PREFIX) {
        // Never stored, but answered: the namespace reaches this guard, which is what
        // doctor asks. Without this answer doctor blamed the host for the guard's refusal.
        return Ok(Some(reject(
            update,
            format!("{PROBE_ANSWER}: the namespace is accepted, probes are not stored"),
            "nothing to fix: git comm doctor reads this answer",
        )));
    }
    let kind = match gate::kind_of(suffix) {
        Ok(kind) => kind,
        Err(why) => {
            return Ok(Some(reject(
                update,
                format!("not a git-comm ref: {why}"),
                "push only what git comm writes (git comm sync)",
            )))
        }
    };
    let Some(new) = update.new else {
        if matches!(kind, Kind::Presence(_)) {
            return Ok(None);
        }
        return Ok(Some(reject(
            update,
            "deleting shared state is refused (the namespace is append-only)",
            "release leases, finish tasks or retire agents instead; restore the ref with git push",
        )));
    };
    let known: Vec<ObjectId> = update.old.into_iter().collect();
    match gate::admit_in(repo, suffix, new, &known, pending) {
        Ok(()) => {}
        Err(gate::Rejected::Invalid(why)) => {
            return Ok(Some(reject(
                update,
                format!("refused by the storage gate: {why}"),
                "fix or drop the local value (`git comm doctor --repair`), then `git comm sync`",
            )))
        }
        Err(gate::Rejected::Unauthorized(r)) => {
            return Ok(Some(Rejection {
                commit: Some(r.commit.to_string()),
                rule: Some(r.refusal.rule.to_string()),
                ..reject(
                    update,
                    format!(
                        "commit {} by {} breaks rule {}: {}",
                        r.commit.to_hex_with_len(10),
                        r.agent,
                        r.refusal.rule,
                        r.refusal.why
                    ),
                    r.refusal.fix,
                )
            }))
        }
    }
    if let Some(old) = update.old.filter(|_| append_only(&kind)) {
        if !moves_forward(repo, &kind, old, new)? {
            return Ok(Some(reject(
                update,
                "not a fast-forward: this ref is append-only, the push would rewrite its history",
                "run `git comm sync`: it merges the remote's history instead of replacing it",
            )));
        }
    }
    Ok(None)
}

fn moves_forward(repo: &Repo, kind: &Kind, old: ObjectId, new: ObjectId) -> Result<bool> {
    match kind {
        Kind::ArtifactVersion(..) => Ok(old == new),
        Kind::Artifact(key) => Ok(gate::artifact_descends(repo, key, new, old).unwrap_or(false)),
        _ => crate::sync::graph::is_ancestor(repo, old, new),
    }
}

/// The commits a push adds to a protected branch: reachable from the new tip and from no
/// ref the repository had before the push.
fn new_commits(repo: &Repo, new: ObjectId) -> Result<Vec<ObjectId>> {
    let existing: Vec<ObjectId> = ["refs/heads/", "refs/tags/"]
        .iter()
        .map(|p| repo.list_refs(p))
        .collect::<Result<Vec<_>>>()?
        .into_iter()
        .flatten()
        .map(|(_, id)| id)
        .collect();
    let existing: Vec<ObjectId> = existing.into_iter().collect();
    let mut ids = Vec::new();
    for visit in crate::repo::walk::only_from(repo, &[new], &existing)? {
        ids.push(visit?.id);
    }
    ids.reverse();
    Ok(ids)
}

fn check_protected(repo: &Repo, update: &Update, all: &[Update]) -> Result<Vec<Rejection>> {
    let Some(new) = update.new else {
        return Ok(vec![reject(
            update,
            "deleting a protected branch is refused",
            "ask the repository's owner; protected branches are set with `git comm server install --protect`",
        )]);
    };
    let config = Config::empty();
    let known = crate::agent::known_agents(repo, &config)?;
    let live = crate::lease::ledger::live_leases(repo)?;
    let history = crate::lease::ledger::history(repo)?;
    let pushes_leases = all.iter().any(|u| u.name.ends_with("/leases"));
    let mut rejections = Vec::new();
    for id in new_commits(repo, new)? {
        let when = crate::hooks::range::commit_time(repo, id)?;
        let author = crate::hooks::range::commit_author(repo, id)?;
        let (others, own) = leases_at_and_now(&history, &live, when, &author);
        let view = LeaseView {
            own: &own,
            others: &others,
            now: when,
        };
        for f in vet_commit(repo, &config, &known, id, &view)? {
            let short = crate::display::short(&f.commit);
            rejections.push(Rejection {
                ref_name: update.name.clone(),
                reason: format!(
                    "commit {short} (\"{}\") by {}: {}: {}",
                    f.subject, f.author, f.file, f.message
                ),
                commit: Some(f.commit.to_string()),
                file: Some(f.file.clone()),
                rule: Some(f.rule.clone()),
                fix: fix_for(&f.rule, pushes_leases),
            });
        }
    }
    Ok(rejections)
}

/// The leases a pushed commit made at `when` is judged against, as `check --range` judges
/// it (the ledger's history around then), plus the leases live now on this server:
/// `(binding others, counting for its author)`.
fn leases_at_and_now(
    history: &[crate::lease::ledger::Span],
    live: &[crate::lease::Lease],
    when: i64,
    author: &str,
) -> (Vec<crate::lease::Lease>, Vec<crate::lease::Lease>) {
    let (mut others, mut own) = crate::lease::ledger::leases_around(history, when, author);
    for lease in live {
        for set in [&mut others, &mut own] {
            if !set.iter().any(|l| l.id == lease.id) {
                set.push(lease.clone());
            }
        }
    }
    (others, own)
}

fn fix_for(rule: &str, pushes_leases: bool) -> String {
    match rule {
        "lease" if pushes_leases => "the lease ledger in this push is not judged yet: push it first (`git comm sync`), then the branch".to_string(),
        "lease" => "wait for the lease to end, or ask its holder to release it (`git comm release`), then push again".to_string(),
        "domain" => "move the change to an agent of the owning domain, or list the file under `common:` in the config".to_string(),
        _ => "fix the import (`git comm check` shows the rule), amend the commit and push again".to_string(),
    }
}

/// Install the pre-receive guard into bare repository `repo` and set its protected
/// branches (replacing those set before when `protect` is not empty).
pub fn install(repo: &Repo, bin: &Path, protect: &[String]) -> Result<Vec<HookState>> {
    require_bare(repo)?;
    for pattern in protect {
        Glob::new(pattern).map_err(|e| {
            Error::usage(format!("--protect '{pattern}': {e}"))
                .with_hint("a branch name or a glob such as release/*")
        })?;
    }
    if !protect.is_empty() {
        set_protected(repo, protect)?;
    }
    crate::hooks::install_hooks(repo, bin, &[HOOK])
}

/// Remove the guard (restoring a chained pre-receive) and the protected-branch setting.
pub fn uninstall(repo: &Repo) -> Result<Vec<HookState>> {
    require_bare(repo)?;
    set_protected(repo, &[])?;
    crate::hooks::uninstall_hooks(repo, &[HOOK])
}

pub fn status(repo: &Repo) -> Result<Vec<HookState>> {
    require_bare(repo)?;
    Ok(crate::hooks::status_of(repo, &[HOOK]))
}

fn require_bare(repo: &Repo) -> Result<()> {
    if repo.workdir().is_some() {
        return Err(Error::usage(format!(
            "{} is not a bare repository",
            repo.git_dir().display()
        ))
        .with_hint("the server guard goes into the shared bare repository agents push to; clients use `git comm hooks install`"));
    }
    Ok(())
}

fn set_protected(repo: &Repo, branches: &[String]) -> Result<()> {
    let git = |args: &[&str]| {
        std::process::Command::new("git")
            .arg("--git-dir")
            .arg(repo.git_dir())
            .args(args)
            .output()
            .map_err(|e| Error::git(format!("cannot run git config: {e}")))
    };
    // Exit 5: the key was not set; nothing to remove.
    let cleared = git(&["config", "--unset-all", PROTECT_KEY])?;
    if !cleared.status.success() && cleared.status.code() != Some(5) {
        return Err(Error::git(format!(
            "cannot clear {PROTECT_KEY}: {}",
            String::from_utf8_lossy(&cleared.stderr).trim()
        )));
    }
    for branch in branches {
        let out = git(&["config", "--add", PROTECT_KEY, branch])?;
        if !out.status.success() {
            return Err(Error::git(format!(
                "cannot set {PROTECT_KEY}: {}",
                String::from_utf8_lossy(&out.stderr).trim()
            )));
        }
    }
    Ok(())
}
