//! Git hooks: installing the shims (`hooks install|uninstall|status`) and what they run
//! (`git comm hook pre-commit|post-commit|pre-push`).
//!
//! Shims go into the real hooks directory: `core.hooksPath` when set (relative to the
//! work tree top, like git), else the common git dir's `hooks/` (shared by worktrees).
//! An existing hook is renamed to `<hook>.pre-comm` and still runs first; its failure
//! still blocks. Uninstall renames it back, so it is restored byte for byte.

pub use crate::repo::changes;
pub mod checks;
pub mod range;
mod receipt;
pub mod shim;

use std::io::BufRead;
use std::path::{Path, PathBuf};

use serde::Serialize;

use crate::agent;
use crate::config::Config;
use crate::error::{Error, Result};
use crate::lease;
use crate::mail::{self, Draft};
use crate::repo::{ObjectId, Repo};
pub use checks::{collect_blocks, Block, CheckInput};

pub const HOOKS: [&str; 3] = ["pre-commit", "post-commit", "pre-push"];
const SHIM_TEMPLATE: &str = include_str!("../hooks/shim.sh");
/// Every shim contains this line; it is how we recognise our own files.
const SHIM_MARKER: &str = "# git-comm hook shim";
const BACKUP_SUFFIX: &str = ".pre-comm";

/// The state of one hook in the hooks directory.
#[derive(Debug, Clone, Serialize)]
pub struct HookState {
    pub hook: String,
    pub path: PathBuf,
    /// Our shim is in place.
    pub installed: bool,
    /// A hook that is not ours sits there (install will chain it).
    pub foreign: bool,
    /// The previous hook our shim runs first.
    pub chained: Option<PathBuf>,
    /// The binary path recorded in the shim, and whether it still exists.
    pub recorded_bin: Option<String>,
    pub recorded_bin_exists: bool,
    /// The shim is a `#!` line naming the recorded binary (no shell): it cannot fall back
    /// to PATH when that binary is gone.
    pub direct: bool,
    /// The shim is the small static post-commit program (no shell; it falls back to PATH
    /// like the `sh` shim).
    pub program: bool,
}

/// The directory git runs hooks from.
pub fn hooks_dir(repo: &Repo) -> PathBuf {
    if let Some(configured) = repo.config_string("core.hooksPath") {
        let path = expand_home(&configured);
        if path.is_absolute() {
            return path;
        }
        let base = repo.workdir().unwrap_or_else(|| repo.git_dir());
        return base.join(path);
    }
    // A linked worktree's common dir reads `.git/worktrees/NAME/../..`: show the real path.
    let common = repo.common_dir();
    std::fs::canonicalize(common)
        .unwrap_or_else(|_| common.to_path_buf())
        .join("hooks")
}

fn expand_home(path: &str) -> PathBuf {
    match (path.strip_prefix("~/"), std::env::var_os("HOME")) {
        (Some(rest), Some(home)) => PathBuf::from(home).join(rest),
        _ => PathBuf::from(path),
    }
}

fn backup_path(path: &Path) -> PathBuf {
    let mut name = path
        .file_name()
        .expect("hook path has a name")
        .to_os_string();
    name.push(BACKUP_SUFFIX);
    path.with_file_name(name)
}

fn is_shim(path: &Path) -> bool {
    std::fs::read(path).is_ok_and(|bytes| is_shim_text(&bytes))
}

fn is_shim_text(bytes: &[u8]) -> bool {
    String::from_utf8_lossy(bytes).contains(SHIM_MARKER)
}

fn exists(path: &Path) -> bool {
    path.symlink_metadata().is_ok()
}

/// The shim for `hook`, recording `bin`: the direct `#!` form or the post-commit program
/// where they apply (see [`shim`]), else the `sh` shim with `bin` as the fallback binary.
pub fn render_shim(hook: &str, bin: &Path) -> Vec<u8> {
    if let Some(direct) = shim::render_direct(hook, bin, SHIM_MARKER) {
        return direct.into_bytes();
    }
    if let Some(program) = shim::render_program(hook, bin) {
        return program;
    }
    let quoted = bin.display().to_string().replace('\'', "'\\''");
    SHIM_TEMPLATE
        .replace("@HOOK@", hook)
        .replace("@BIN@", &quoted)
        .into_bytes()
}

/// The binary a shim's text records: the `#!` line of a direct shim, else the `sh` shim's
/// `recorded='...'` line.
fn recorded_bin(text: &str) -> Option<String> {
    if let Some(bin) = shim::recorded_in_direct(text) {
        return Some(bin);
    }
    let line = text.lines().find(|l| l.starts_with("recorded='"))?;
    let value = line.strip_prefix("recorded='")?.strip_suffix('\'')?;
    Some(value.replace("'\\''", "'"))
}

pub fn status(repo: &Repo) -> Vec<HookState> {
    status_of(repo, &HOOKS)
}

/// The state of each of `hooks`.
pub fn status_of(repo: &Repo, hooks: &[&str]) -> Vec<HookState> {
    let dir = hooks_dir(repo);
    hooks.iter().map(|hook| state_of(&dir, hook)).collect()
}

fn state_of(dir: &Path, hook: &str) -> HookState {
    let path = dir.join(hook);
    let bytes = std::fs::read(&path).unwrap_or_default();
    let installed = is_shim_text(&bytes);
    // What the shim records is read only from a shim whose text is UTF-8.
    let ours = std::str::from_utf8(&bytes).ok().filter(|_| installed);
    let backup = backup_path(&path);
    let program = installed
        .then(|| shim::recorded_in_program(&bytes))
        .flatten();
    let is_program = program.is_some();
    let recorded = ours.and_then(recorded_bin).or(program);
    HookState {
        hook: hook.to_string(),
        installed,
        foreign: exists(&path) && !installed,
        chained: (installed && exists(&backup)).then_some(backup),
        recorded_bin_exists: recorded.as_ref().is_some_and(|b| Path::new(b).exists()),
        direct: ours.is_some_and(|text| shim::recorded_in_direct(text).is_some()),
        program: is_program,
        recorded_bin: recorded,
        path,
    }
}

/// Write the shims (idempotent), chaining hooks that are already there.
pub fn install(repo: &Repo, bin: &Path) -> Result<Vec<HookState>> {
    install_hooks(repo, bin, &HOOKS)
}

/// Write the shims of `hooks` (idempotent), chaining hooks that are already there.
pub fn install_hooks(repo: &Repo, bin: &Path, hooks: &[&str]) -> Result<Vec<HookState>> {
    let dir = hooks_dir(repo);
    std::fs::create_dir_all(&dir)
        .map_err(|e| Error::git(format!("cannot create {}: {e}", dir.display())))?;
    for hook in hooks {
        let path = dir.join(hook);
        let backup = backup_path(&path);
        if exists(&path) && !is_shim(&path) {
            if exists(&backup) {
                return Err(Error::usage(format!(
                    "both {} and {} exist; cannot chain a second hook",
                    path.display(),
                    backup.display()
                ))
                .with_hint("merge them into one hook (or remove one), then install again"));
            }
            std::fs::rename(&path, &backup)
                .map_err(|e| Error::git(format!("cannot move {}: {e}", path.display())))?;
        }
        write_executable(&path, &render_shim(hook, bin))?;
    }
    Ok(status_of(repo, hooks))
}

fn write_executable(path: &Path, bytes: &[u8]) -> Result<()> {
    let tmp = path.with_extension("comm-tmp");
    std::fs::write(&tmp, bytes)
        .map_err(|e| Error::git(format!("cannot write {}: {e}", tmp.display())))?;
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(&tmp, std::fs::Permissions::from_mode(0o755))?;
    }
    std::fs::rename(&tmp, path)
        .map_err(|e| Error::git(format!("cannot write {}: {e}", path.display())))
}

/// Remove our shims and put back the hooks they chained.
pub fn uninstall(repo: &Repo) -> Result<Vec<HookState>> {
    uninstall_hooks(repo, &HOOKS)
}

/// Remove the shims of `hooks` and put back the hooks they chained.
pub fn uninstall_hooks(repo: &Repo, hooks: &[&str]) -> Result<Vec<HookState>> {
    let dir = hooks_dir(repo);
    for hook in hooks {
        let path = dir.join(hook);
        let backup = backup_path(&path);
        let ours = is_shim(&path);
        if ours {
            std::fs::remove_file(&path)
                .map_err(|e| Error::git(format!("cannot remove {}: {e}", path.display())))?;
        }
        if (ours || !exists(&path)) && exists(&backup) {
            std::fs::rename(&backup, &path)
                .map_err(|e| Error::git(format!("cannot restore {}: {e}", path.display())))?;
        }
    }
    Ok(status_of(repo, hooks))
}

/// Who is committing: `--as`, `GIT_COMM_AGENT` or `comm.agent`; none (or an invalid
/// name) means an anonymous committer, whom every lease blocks.
fn committer(repo: &Repo, flag: Option<&str>) -> Option<String> {
    agent::resolve_identity(repo, flag).ok()
}

/// The blocks of `changes`: the index's against `staged`'s HEAD when `staged` is given
/// (pre-commit), else a commit's.
fn blocks_for(
    repo: &Repo,
    config: &Config,
    who: Option<&str>,
    changes: &[changes::Change],
    staged: Option<Option<changes::Head>>,
) -> Result<Vec<Block>> {
    if changes.is_empty() {
        return Ok(Vec::new());
    }
    let leases = lease::live_leases(repo)?;
    let input = CheckInput {
        repo,
        config,
        agent: who,
        leases: &leases,
        now: agent::now_secs(),
        changes,
        staged: staged.is_some(),
        head: staged.flatten(),
    };
    collect_blocks(&input)
}

/// `file: message [rule]` lines.
fn describe(blocks: &[Block]) -> String {
    blocks
        .iter()
        .map(|b| format!("  {}: {} [{}]", b.path, b.message, b.rule))
        .collect::<Vec<_>>()
        .join("\n")
}

fn how_to_proceed(blocks: &[Block], bypass: &str) -> String {
    let mut holders: Vec<&str> = blocks
        .iter()
        .flat_map(|b| b.holders.iter().map(String::as_str))
        .collect();
    holders.sort();
    holders.dedup();
    let has_rule = |rule: &str| blocks.iter().any(|b| b.rule == rule);
    let mut steps = Vec::new();
    if let Some(holder) = holders.first() {
        let leased = blocks
            .iter()
            .find(|b| b.rule == "lease")
            .unwrap_or(&blocks[0]);
        steps.push(format!(
            "ask the holder (git comm send {holder} -s \"please release {}\"), wait until the lease expires",
            leased.path
        ));
    }
    if has_rule("domain") {
        steps.push("unstage the files outside your domain (git restore --staged FILE)".to_string());
    }
    if has_rule("boundary") {
        steps.push("fix the imports (git comm check --staged explains each rule)".to_string());
    }
    // post-commit records a bypassed commit; nothing runs after `git push --no-verify`.
    let trace = if bypass == "git commit" {
        "recorded as a violation"
    } else {
        "not recorded: tell the holder"
    };
    steps.push(format!("or bypass with `{bypass} --no-verify` ({trace})"));
    steps.join(", ")
}

/// pre-commit: refuse staged paths that a check blocks.
pub fn pre_commit(repo: &Repo, config: &Config, flag: Option<&str>) -> Result<()> {
    let who = committer(repo, flag);
    let staged = changes::staged_against_head(repo)?;
    let blocks = blocks_for(
        repo,
        config,
        who.as_deref(),
        &staged.changes,
        Some(staged.head),
    )?;
    if blocks.is_empty() {
        receipt::record(repo, &staged.changes, agent::now_secs());
        return Ok(());
    }
    Err(Error::blocked(format!(
        "commit blocked for {}:\n{}",
        who.as_deref().unwrap_or("an agent with no identity"),
        describe(&blocks)
    ))
    .with_hint(how_to_proceed(&blocks, "git commit")))
}

/// post-commit: a commit that contains what pre-commit blocks bypassed it; report it as
/// a `violation` message. Never fails the commit: problems are printed as warnings.
pub fn post_commit(repo: &Repo, config: &Config, flag: Option<&str>) -> Result<()> {
    if let Err(err) = record_violation(repo, config, flag) {
        eprintln!("git-comm: warning: could not check the new commit: {err}");
    }
    Ok(())
}

fn record_violation(repo: &Repo, config: &Config, flag: Option<&str>) -> Result<()> {
    let Some(head) = changes::head_commit(repo)? else {
        return Ok(());
    };
    let who = committer(repo, flag);
    let touched = changes::of_commit(repo, head)?;
    if receipt::take_matching(repo, &touched, agent::now_secs()) {
        return Ok(());
    }
    let blocks = blocks_for(repo, config, who.as_deref(), &touched, None)?;
    if blocks.is_empty() {
        return Ok(());
    }
    let id = send_violation(repo, config, who.as_deref(), head, &blocks)?;
    eprintln!(
        "git-comm: commit {} bypassed the commit checks; recorded as violation message {}",
        short(head),
        short(id)
    );
    Ok(())
}

fn short(id: ObjectId) -> String {
    crate::display::short(&id)
}

fn send_violation(
    repo: &Repo,
    config: &Config,
    who: Option<&str>,
    commit: ObjectId,
    blocks: &[Block],
) -> Result<ObjectId> {
    let mut to: Vec<String> = blocks.iter().flat_map(|b| b.holders.clone()).collect();
    to.sort();
    to.dedup();
    if to.is_empty() || blocks.iter().any(|b| b.holders.is_empty()) {
        to.push(agent::EVERYONE.to_string());
    }
    let mut rules: Vec<&str> = blocks.iter().map(|b| b.rule.as_str()).collect();
    rules.dedup();
    let author = who.unwrap_or("unidentified");
    let draft = Draft {
        subject: format!(
            "violation: commit {} by {author} bypassed {} checks ({} file{})",
            short(commit),
            rules.join("+"),
            blocks.len(),
            if blocks.len() == 1 { "" } else { "s" }
        ),
        body: format!(
            "commit: {commit}\nagent: {author}\nfiles:\n{}\n",
            describe(blocks)
        ),
        to,
        kind: "violation".to_string(),
        ..Draft::default()
    };
    // An unknown or anonymous committer cannot send mail; record the violation anyway.
    match mail::send(repo, config, author, &draft) {
        Ok(id) => Ok(id),
        Err(_) => mail::mailbox::append(repo, author, &draft),
    }
}

/// pre-push: refuse pushing commits that touch paths under another agent's exclusive
/// lease. `stdin` carries `<local ref> <local sha> <remote ref> <remote sha>` lines.
pub fn pre_push(
    repo: &Repo,
    config: &Config,
    flag: Option<&str>,
    remote: Option<&str>,
    stdin: impl BufRead,
) -> Result<()> {
    let who = committer(repo, flag);
    let leases = lease::live_leases(repo)?;
    let now = agent::now_secs();
    let mut blocks = Vec::new();
    for line in stdin.lines() {
        let line = line?;
        let fields: Vec<&str> = line.split_whitespace().collect();
        let [local_ref, local_sha, _remote_ref, remote_sha] = fields[..] else {
            continue;
        };
        if local_ref.starts_with(repo.namespace()) {
            continue;
        }
        let Some(tip) = parse_sha(repo, local_sha) else {
            continue;
        };
        for commit in pushed_commits(repo, tip, parse_sha(repo, remote_sha), remote)? {
            let touched = changes::of_commit(repo, commit)?;
            let input = CheckInput {
                repo,
                config,
                agent: who.as_deref(),
                leases: &leases,
                now,
                changes: &touched,
                staged: false,
                head: None,
            };
            for mut block in checks::lease_blocks(&input) {
                block.message = format!("commit {}: {}", short(commit), block.message);
                blocks.push(block);
            }
        }
    }
    if blocks.is_empty() {
        return Ok(());
    }
    Err(Error::blocked(format!(
        "push refused for {}:\n{}",
        who.as_deref().unwrap_or("an agent with no identity"),
        describe(&blocks)
    ))
    .with_hint(how_to_proceed(&blocks, "git push")))
}

/// A non-zero sha that exists locally.
fn parse_sha(repo: &Repo, hex: &str) -> Option<ObjectId> {
    let id = ObjectId::from_hex(hex.as_bytes()).ok()?;
    (!id.is_null() && repo.gix().has_object(id)).then_some(id)
}

/// Commits reachable from `tip` that the remote does not have yet: not reachable from the
/// remote's old value nor from any remote-tracking branch of `remote`.
fn pushed_commits(
    repo: &Repo,
    tip: ObjectId,
    remote_old: Option<ObjectId>,
    remote: Option<&str>,
) -> Result<Vec<ObjectId>> {
    let mut hidden: Vec<ObjectId> = remote_old.into_iter().collect();
    if let Some(name) = remote.filter(|r| !r.contains('/') && !r.contains(':')) {
        hidden.extend(
            repo.list_refs(&format!("refs/remotes/{name}/"))?
                .into_iter()
                .map(|(_, id)| id)
                .filter(|id| repo.gix().find_commit(*id).is_ok()),
        );
    }
    let hidden: Vec<ObjectId> = hidden.into_iter().collect();
    let mut commits = Vec::new();
    for visit in crate::repo::walk::only_from(repo, &[tip], &hidden)? {
        commits.push(visit?.id);
    }
    Ok(commits)
}
