//! The git CLI for the network: fetch and push honour the user's credentials, ssh config
//! and proxies, which gix cannot push through. Nothing else goes through the CLI.
//!
//! Every git process runs through [`run`]: in its own process group, with a deadline
//! (`git config comm.timeout`, default 60 s). A remote that accepts the connection and
//! never answers would otherwise hang the command forever; on timeout the whole group
//! (git and its helpers: git-remote-http, ssh) is killed and reaped, and the caller gets
//! an error naming the remote, the operation and the limit.

use std::io::Read;
use std::path::Path;
use std::process::{Child, Command, ExitStatus, Output, Stdio};
use std::sync::mpsc;
use std::time::{Duration, Instant};

use crate::error::{Error, Result};
use crate::repo::incoming::Store;
use crate::repo::ObjectId;

/// The git config key bounding every git subprocess.
pub const TIMEOUT_KEY: &str = "comm.timeout";
/// Used when `comm.timeout` is unset, and for reading `comm.timeout` itself.
pub const DEFAULT_TIMEOUT: Duration = Duration::from_secs(60);
/// How long a child that is already finishing may run past the deadline: to exit once
/// it closed its output, or for its pipes to close once its group was killed (a helper
/// that escaped the group may hold them).
const GRACE: Duration = Duration::from_secs(2);
/// The longest pause between two looks at a running child.
const MAX_POLL: Duration = Duration::from_millis(50);

/// One ref update for `push`: set `name` to `new`, only if the remote still holds `expected`.
#[derive(Debug, Clone)]
pub struct Update {
    pub name: String,
    pub new: ObjectId,
    pub expected: Option<ObjectId>,
}

/// How a push ended.
#[derive(Debug)]
pub enum PushOutcome {
    Done,
    /// The remote moved since we fetched (lease or fast-forward check failed): refetch, retry.
    Stale(String),
    /// The connection failed before the remote reported on any ref (a busy server dropped
    /// it): nothing or all of the atomic push landed, and the leases make a retry safe.
    Dropped(String),
    /// The remote refused for another reason (hook, permissions, namespace): do not retry.
    Refused(String),
}

fn git(git_dir: &Path) -> Command {
    crate::repo::git_command(git_dir)
}

/// How a bounded git process ended.
enum Ran {
    Exited(Output),
    /// Still running at the deadline: its process group was killed and it was reaped.
    TimedOut,
}

/// Run `cmd` (stdin closed, stdout and stderr captured) in its own process group; at
/// `limit`, kill the whole group and reap the child. `what` names the operation for
/// spawn errors.
fn run(mut cmd: Command, limit: Duration, what: &str) -> Result<Ran> {
    cmd.stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    #[cfg(unix)]
    {
        use std::os::unix::process::CommandExt;
        cmd.process_group(0);
    }
    let mut child = cmd.spawn().map_err(|e| {
        Error::git(format!("cannot run git to {what}: {e}"))
            .with_hint("install git and make sure it is on PATH")
    })?;
    let deadline = Instant::now() + limit;
    // Both pipes are drained by threads so a chatty child never blocks on a full pipe;
    // they close when git (and whatever it started) is done.
    let (sender, pipes) = mpsc::channel();
    drain(child.stdout.take(), 0, sender.clone());
    drain(child.stderr.take(), 1, sender);
    let mut got = [None, None];
    if let Some((stdout, stderr)) = collect(&pipes, &mut got, deadline) {
        return Ok(
            match wait_until(&mut child, deadline.max(Instant::now() + GRACE))? {
                Some(status) => Ran::Exited(Output {
                    status,
                    stdout,
                    stderr,
                }),
                None => {
                    stop(&mut child)?; // closed its output but would not exit
                    Ran::TimedOut
                }
            },
        );
    }
    // The deadline passed with the output still open. The child is not reaped yet, so its
    // pid still names its process group: kill the group, then reap.
    kill_group(&mut child);
    let status = child.wait()?;
    if status.code().is_some() {
        // git itself had exited by then; only something it started held the pipes.
        if let Some((stdout, stderr)) = collect(&pipes, &mut got, Instant::now() + GRACE) {
            return Ok(Ran::Exited(Output {
                status,
                stdout,
                stderr,
            }));
        }
    }
    Ok(Ran::TimedOut)
}

/// Read `pipe` to the end on a thread; send `(index, bytes)` when it closes.
fn drain(
    pipe: Option<impl Read + Send + 'static>,
    index: usize,
    done: mpsc::Sender<(usize, Vec<u8>)>,
) {
    let Some(mut pipe) = pipe else {
        let _ = done.send((index, Vec::new()));
        return;
    };
    std::thread::spawn(move || {
        let mut bytes = Vec::new();
        let _ = pipe.read_to_end(&mut bytes);
        let _ = done.send((index, bytes));
    });
}

/// Both pipes' contents, once both closed; `None` at `deadline`, keeping in `got` what
/// arrived so far for the next call.
fn collect(
    pipes: &mpsc::Receiver<(usize, Vec<u8>)>,
    got: &mut [Option<Vec<u8>>; 2],
    deadline: Instant,
) -> Option<(Vec<u8>, Vec<u8>)> {
    while got.iter().any(Option::is_none) {
        let left = deadline.saturating_duration_since(Instant::now());
        let (index, bytes) = pipes.recv_timeout(left).ok()?;
        got[index] = Some(bytes);
    }
    Some((got[0].take()?, got[1].take()?))
}

/// The child's exit status, or `None` when it is still running at `deadline`. Polls with
/// pauses growing from 1 ms to 50 ms (only reached when the child closed its output, so
/// it is normally exiting already).
fn wait_until(child: &mut Child, deadline: Instant) -> Result<Option<ExitStatus>> {
    let mut pause = Duration::from_millis(1);
    loop {
        if let Some(status) = child.try_wait()? {
            return Ok(Some(status));
        }
        let left = deadline.saturating_duration_since(Instant::now());
        if left.is_zero() {
            return Ok(None);
        }
        std::thread::sleep(pause.min(left));
        pause = (pause * 2).min(MAX_POLL);
    }
}

/// Kill the child's process group and reap the child (which must not be reaped yet).
fn stop(child: &mut Child) -> Result<()> {
    kill_group(child);
    child.wait()?;
    Ok(())
}

#[cfg(unix)]
fn kill_group(child: &mut Child) {
    if let Ok(group) = libc::pid_t::try_from(child.id()) {
        // SAFETY: killpg takes two integers and touches no memory of ours. The group id is
        // the child's pid (`process_group(0)`), and the child is not reaped yet, so that id
        // still names its group and cannot have been reused.
        unsafe {
            libc::killpg(group, libc::SIGKILL);
        }
    }
    let _ = child.kill();
}

#[cfg(not(unix))]
fn kill_group(child: &mut Child) {
    let _ = child.kill();
}

/// `60s`, `2m`, `1h`, `500ms` or plain seconds (`90`); zero and more than a day are refused.
pub fn parse_timeout(text: &str) -> Option<Duration> {
    let millis = crate::clock::parse_millis(text)?;
    (1..=86_400_000)
        .contains(&millis)
        .then(|| Duration::from_millis(millis))
}

/// `2s`, `90s`, `2m`, `500ms`: how a limit is shown in messages.
pub fn show_timeout(limit: Duration) -> String {
    let millis = limit.as_millis();
    match millis {
        m if m % 3_600_000 == 0 => format!("{}h", m / 3_600_000),
        m if m % 60_000 == 0 => format!("{}m", m / 60_000),
        m if m % 1000 == 0 => format!("{}s", m / 1000),
        m => format!("{m}ms"),
    }
}

/// A sync runs several git commands; the config is read once per process.
static READ_TIMEOUT: std::sync::Mutex<Option<(std::path::PathBuf, Duration)>> =
    std::sync::Mutex::new(None);

/// The limit for each git subprocess: `git config comm.timeout`, default 60 s. An invalid
/// value is a config error (exit 2) naming the key.
pub fn timeout(git_dir: &Path) -> Result<Duration> {
    let mut read = READ_TIMEOUT.lock().unwrap_or_else(|e| e.into_inner());
    if let Some((dir, limit)) = read.as_ref() {
        if dir == git_dir {
            return Ok(*limit);
        }
    }
    let limit = read_timeout(git_dir)?;
    *read = Some((git_dir.to_path_buf(), limit));
    Ok(limit)
}

/// Take `comm.timeout` for `git_dir` from a config already read (`configured`: its value,
/// `None` when unset), so that no `git config` process is started for it.
pub fn remember_timeout(git_dir: &Path, configured: Option<&str>) -> Result<Duration> {
    let limit = match configured {
        Some(text) => parse_configured_timeout(text.trim())?,
        None => DEFAULT_TIMEOUT,
    };
    let mut read = READ_TIMEOUT.lock().unwrap_or_else(|e| e.into_inner());
    *read = Some((git_dir.to_path_buf(), limit));
    Ok(limit)
}

fn read_timeout(git_dir: &Path) -> Result<Duration> {
    let mut cmd = git(git_dir);
    cmd.args(["config", "--get", TIMEOUT_KEY]);
    let out = match run(cmd, DEFAULT_TIMEOUT, "read config")? {
        Ran::Exited(out) => out,
        Ran::TimedOut => {
            return Err(timed_out(
                &format!("reading {TIMEOUT_KEY}"),
                DEFAULT_TIMEOUT,
            ))
        }
    };
    match out.status.code() {
        Some(0) => {}
        Some(1) => return Ok(DEFAULT_TIMEOUT), // unset
        _ => {
            return Err(Error::config(format!(
                "cannot read git config {TIMEOUT_KEY}: {}",
                tail(&out.stderr)
            ))
            .with_hint("fix the git config file git names above"))
        }
    }
    let text = String::from_utf8_lossy(&out.stdout).trim().to_string();
    parse_configured_timeout(&text)
}

fn parse_configured_timeout(text: &str) -> Result<Duration> {
    parse_timeout(text).ok_or_else(|| {
        Error::config(format!("invalid git config {TIMEOUT_KEY} '{text}'")).with_hint(format!(
            "use a duration such as 60s, 2m or plain seconds (at most 24h): git config {TIMEOUT_KEY} 60s"
        ))
    })
}

/// The error for a git process stopped at its deadline (exit 1, like any blocked operation).
fn timed_out(operation: &str, limit: Duration) -> Error {
    Error::blocked(format!(
        "{operation} timed out after {} ({TIMEOUT_KEY}); git was stopped",
        show_timeout(limit)
    ))
}

fn unreachable_hint() -> String {
    format!(
        "check the remote is reachable (`git remote -v`), or raise `git config {TIMEOUT_KEY}`; local state is unchanged"
    )
}

/// Run `cmd` under the configured limit; on timeout, an error for `operation` with `hint`.
fn run_bounded(git_dir: &Path, cmd: Command, operation: &str, hint: String) -> Result<Output> {
    let limit = timeout(git_dir)?;
    match run(cmd, limit, operation)? {
        Ran::Exited(out) => Ok(out),
        Ran::TimedOut => Err(timed_out(operation, limit).with_hint(hint)),
    }
}

/// After a push timed out, the remote may or may not have taken it.
fn push_timeout_hint() -> String {
    format!(
        "check the remote is reachable (`git remote -v`), or raise `git config {TIMEOUT_KEY}`; \
         local refs keep their state, and the next `git comm sync` settles whether the remote took the push"
    )
}

/// Last few lines of git's stderr, for error messages: trimmed (remote lines end in
/// padding), without the "failed to push some refs" line the caller already says.
pub fn tail(bytes: &[u8]) -> String {
    let text = String::from_utf8_lossy(bytes);
    let lines: Vec<&str> = text
        .lines()
        .map(str::trim)
        .filter(|l| !l.is_empty() && !l.starts_with("error: failed to push some refs"))
        .collect();
    lines[lines.len().saturating_sub(4)..].join("; ")
}

/// `!\t<sha>:<ref>\t[remote rejected] (why)` -> `<ref> [remote rejected] (why)`.
fn rejected_detail(line: &str) -> String {
    let fields: Vec<&str> = line.trim_start_matches('!').trim().split('\t').collect();
    match fields.as_slice() {
        [refspec, summary, ..] => {
            let target = refspec.rsplit_once(':').map_or(*refspec, |(_, to)| to);
            format!("{target} {summary}")
        }
        _ => fields.join(" "),
    }
}

/// Whether a fetch may run git's auto maintenance (`git maintenance run --auto`, auto gc)
/// when it is done: an explicit sync may; a poll never does (it would start a maintenance
/// process per poll).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Maintenance {
    Auto,
    Off,
}

/// `git fetch` of one refspec from `remote` into the incoming store: quiet, no tags, no
/// FETCH_HEAD, no submodules, no walk to report forced updates (every incoming ref is
/// forced), and only the refs the refspec names (`--refmap=`: no configured remote-tracking
/// refs updated on the side); `prune` drops incoming refs the remote no longer has. A store
/// in a reftable takes the fetch in one transaction: one table written, not a file per ref.
fn fetch_command(store: &Store, remote: &str, refspec: &str, prune: bool) -> Command {
    let mut cmd = store.git();
    cmd.args([
        "-c",
        "protocol.version=2",
        "fetch",
        "--quiet",
        "--no-tags",
        "--no-write-fetch-head",
        "--no-recurse-submodules",
        "--no-show-forced-updates",
        "--refmap=",
    ]);
    if store.reftable {
        cmd.arg("--atomic");
    }
    if prune {
        cmd.arg("--prune");
    }
    cmd.args([remote, refspec]);
    cmd
}

/// git's auto maintenance in the repository after a fetch, as `git fetch` runs it there
/// (the incoming store never runs its own): `git gc --auto`, which returns at once unless
/// loose objects pile up, and then goes on in the background (`gc.autoDetach`).
fn maintain(git_dir: &Path, maintenance: Maintenance) {
    if maintenance == Maintenance::Off {
        return;
    }
    let _ = git(git_dir)
        .args(["gc", "--auto", "--quiet"])
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status();
}

/// How a whole fetch ended when git ran to its end.
pub enum Fetched {
    Done,
    /// The connection dropped before the remote said anything (a busy server, a network
    /// that went away): fetching ref by ref would only open more connections.
    Dropped(Error),
    /// git refused what it got (a corrupt object behind some ref, a refusal).
    Refused(Error),
}

/// Fetch `source_prefix*` of `remote` into `tracking_prefix*` (forced, pruned). With
/// protocol v2 (git's default since 2.26) the remote is asked only for the refs under
/// `source_prefix` (`ls-refs` with that ref prefix), so when nothing moved this is one
/// short request with no pack: what a poll needs. (`git ls-remote REMOTE 'PREFIX*'` would
/// list every ref of the remote: it matches its patterns on the client.)
pub fn fetch(
    git_dir: &Path,
    store: &Store,
    remote: &str,
    source_prefix: &str,
    tracking_prefix: &str,
    maintenance: Maintenance,
) -> Result<Fetched> {
    let refspec = format!("+{source_prefix}*:{tracking_prefix}*");
    let cmd = fetch_command(store, remote, &refspec, true);
    let out = run_bounded(
        git_dir,
        cmd,
        &format!("git fetch from {remote}"),
        unreachable_hint(),
    )?;
    if out.status.success() {
        maintain(git_dir, maintenance);
        return Ok(Fetched::Done);
    }
    let stderr = String::from_utf8_lossy(&out.stderr);
    let failed = Error::git(format!("cannot fetch from {remote}: {}", tail(&out.stderr)));
    if is_dropped_fetch(&stderr) {
        return Ok(Fetched::Dropped(failed.with_hint(
            "the remote dropped the connection (busy, or the network went away); local state is unchanged: run `git comm sync` again",
        )));
    }
    Ok(Fetched::Refused(failed.with_hint(
        "check the remote (`git remote -v`) and the network; local state is unchanged and every other command works offline",
    )))
}

/// A fetch whose connection dropped, with nothing from the remote side: a remote that
/// failed on a corrupt object says so (`remote: ...`) before the connection ends.
fn is_dropped_fetch(stderr: &str) -> bool {
    is_dropped_connection(stderr) && !stderr.contains("remote:")
}

/// A remote ref that could not be fetched on its own: (name, value, git's reason).
pub type Unfetchable = (String, ObjectId, String);

/// Fetch each of the remote's refs under `source_prefix` on its own, for when the fetch of
/// all of them failed: a remote whose history is corrupt at the object level (a commit
/// naming a blob as parent) makes git refuse the whole pack, and one bad ref must not stop
/// the others. Returns the refs that still could not be fetched.
pub fn fetch_each(
    git_dir: &Path,
    store: &Store,
    remote: &str,
    source_prefix: &str,
    incoming_prefix: &str,
) -> Result<Vec<Unfetchable>> {
    let mut cmd = git(git_dir);
    cmd.args(["ls-remote", "--quiet", remote])
        .arg(format!("{source_prefix}*"));
    let listed = run_bounded(
        git_dir,
        cmd,
        &format!("git ls-remote {remote}"),
        unreachable_hint(),
    )?;
    if !listed.status.success() {
        return Err(Error::git(format!(
            "cannot list the refs of {remote}: {}",
            tail(&listed.stderr)
        )));
    }
    let mut failed = Vec::new();
    for line in String::from_utf8_lossy(&listed.stdout).lines() {
        let Some((hex, name)) = line.split_once('\t') else {
            continue;
        };
        let (Ok(value), Some(suffix)) = (
            ObjectId::from_hex(hex.as_bytes()),
            name.strip_prefix(source_prefix),
        ) else {
            continue;
        };
        let refspec = format!("+{name}:{incoming_prefix}{suffix}");
        let cmd = fetch_command(store, remote, &refspec, false);
        let out = run_bounded(
            git_dir,
            cmd,
            &format!("git fetch {name} from {remote}"),
            unreachable_hint(),
        )?;
        if !out.status.success() {
            failed.push((name.to_string(), value, tail(&out.stderr)));
        }
    }
    Ok(failed)
}

/// Push `updates` atomically with a lease per ref; never a bare force.
pub fn push(git_dir: &Path, remote: &str, updates: &[Update]) -> Result<PushOutcome> {
    let mut cmd = git(git_dir);
    cmd.args(["push", "--porcelain", "--atomic", "--no-verify", "--quiet"]);
    for u in updates {
        let expected = u.expected.map(|e| e.to_string()).unwrap_or_default();
        cmd.arg(format!("--force-with-lease={}:{expected}", u.name));
    }
    cmd.arg(remote);
    for u in updates {
        cmd.arg(format!("{}:{}", u.new, u.name));
    }
    let out = run_bounded(
        git_dir,
        cmd,
        &format!("git push to {remote}"),
        push_timeout_hint(),
    )?;
    let report = String::from_utf8_lossy(&out.stdout).into_owned();
    if out.status.success() {
        return Ok(PushOutcome::Done);
    }
    let rejected: Vec<&str> = report.lines().filter(|l| l.starts_with('!')).collect();
    let stderr = tail(&out.stderr);
    if rejected.is_empty() {
        let full = String::from_utf8_lossy(&out.stderr);
        return Ok(if is_dropped_connection(&full) {
            PushOutcome::Dropped(stderr)
        } else {
            PushOutcome::Refused(stderr)
        });
    }
    let stale = is_stale(&rejected, &stderr);
    let detail = rejected
        .iter()
        .map(|l| rejected_detail(l))
        .collect::<Vec<_>>()
        .join("; ");
    if stale || stderr.is_empty() {
        Ok(if stale {
            PushOutcome::Stale(detail)
        } else {
            PushOutcome::Refused(detail)
        })
    } else {
        Ok(PushOutcome::Refused(format!("{detail} ({stderr})")))
    }
}

/// How a remote's refusal names itself (matched lowercased): a hook, a permission,
/// gitolite's `DENIED`, a repository that is not there. A refused push or fetch is never
/// retried, whatever else its message says.
const REFUSAL_MARKS: [&str; 7] = [
    "denied",
    "permission",
    "hook declined",
    "not exported",
    "not found",
    "does not appear to be a git repository",
    "authentication",
];

fn names_a_refusal(text: &str) -> bool {
    let text = text.to_lowercase();
    REFUSAL_MARKS.iter().any(|m| text.contains(m))
}

/// Did the connection fail rather than the remote refuse? A refusal names itself; a
/// connection that a busy server dropped only says that git could not read from it.
fn is_dropped_connection(stderr: &str) -> bool {
    const DROPPED: [&str; 5] = [
        "could not read from remote repository",
        "connection reset",
        "hung up unexpectedly",
        "early eof",
        "broken pipe",
    ];
    let text = stderr.to_lowercase();
    !names_a_refusal(&text) && DROPPED.iter().any(|m| text.contains(m))
}

/// Did the push lose a race (the remote moved since our fetch), as opposed to being
/// refused by a hook or a permission? Lost races are retried after a fetch.
fn is_stale(rejected: &[&str], stderr: &str) -> bool {
    const RACED: [&str; 6] = [
        "stale info",
        "fetch first",
        "non-fast-forward",
        "cannot lock ref",
        "but expected",
        "atomic transaction failed",
    ];
    let all = format!("{} {stderr}", rejected.join(" "));
    !names_a_refusal(&all) && RACED.iter().any(|m| all.contains(m))
}

/// Is `remote` reachable? Returns git's complaint when it is not, or that it did not answer
/// within `comm.timeout`.
pub fn probe(
    git_dir: &Path,
    remote: &str,
    prefix: &str,
) -> Result<std::result::Result<(), String>> {
    let mut cmd = git(git_dir);
    cmd.args(["ls-remote", "--quiet", remote])
        .arg(format!("{prefix}*"));
    let limit = timeout(git_dir)?;
    let out = match run(cmd, limit, "reach the remote")? {
        Ran::Exited(out) => out,
        Ran::TimedOut => {
            return Ok(Err(format!(
                "no answer within {} ({TIMEOUT_KEY}); git ls-remote was stopped",
                show_timeout(limit)
            )))
        }
    };
    Ok(if out.status.success() {
        Ok(())
    } else {
        Err(tail(&out.stderr))
    })
}

/// Delete `name` on the remote if it still holds `expected` (used by doctor's probe).
pub fn delete_remote_ref(
    git_dir: &Path,
    remote: &str,
    name: &str,
    expected: ObjectId,
) -> Result<bool> {
    let mut cmd = git(git_dir);
    cmd.args(["push", "--porcelain", "--no-verify", "--quiet"])
        .arg(format!("--force-with-lease={name}:{expected}"))
        .arg(remote)
        .arg(format!(":{name}"));
    let out = run_bounded(
        git_dir,
        cmd,
        &format!("git push to {remote}"),
        push_timeout_hint(),
    )?;
    Ok(out.status.success())
}

/// `git config --get-all KEY`, empty when unset.
pub fn config_get_all(git_dir: &Path, key: &str) -> Result<Vec<String>> {
    let mut cmd = git(git_dir);
    cmd.args(["config", "--get-all", key]);
    let out = run_bounded(
        git_dir,
        cmd,
        &format!("git config --get-all {key}"),
        format!("is the git config file locked or on a hung file system? raise `git config {TIMEOUT_KEY}` if it is slow"),
    )?;
    Ok(String::from_utf8_lossy(&out.stdout)
        .lines()
        .map(str::to_string)
        .collect())
}

/// `git config --add KEY VALUE`.
pub fn config_add(git_dir: &Path, key: &str, value: &str) -> Result<()> {
    config_edit(git_dir, &["--add", key, value], key)
}

/// Remove every `key` whose value is exactly `value`.
pub fn config_remove(git_dir: &Path, key: &str, value: &str) -> Result<()> {
    config_edit(git_dir, &["--fixed-value", "--unset-all", key, value], key)
}

fn config_edit(git_dir: &Path, args: &[&str], key: &str) -> Result<()> {
    let mut cmd = git(git_dir);
    cmd.arg("config").args(args);
    let out = run_bounded(
        git_dir,
        cmd,
        &format!("git config {}", args[0]),
        format!("is the git config file locked or on a hung file system? raise `git config {TIMEOUT_KEY}` if it is slow"),
    )?;
    if out.status.success() {
        Ok(())
    } else {
        Err(Error::git(format!(
            "cannot set {key}: {}",
            tail(&out.stderr)
        )))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_dropped_connection_is_told_from_a_refusal() {
        let dropped = [
            "fatal: Could not read from remote repository.\n\nPlease make sure you have the correct access rights\nand the repository exists.",
            "fatal: the remote end hung up unexpectedly",
            "fatal: read error: Connection reset by peer\nfatal: early EOF",
        ];
        for text in dropped {
            assert!(is_dropped_connection(text), "{text}");
        }
        let refused = [
            "git@host: Permission denied (publickey).\r\nfatal: Could not read from remote repository.",
            "FATAL: W any comm alice DENIED by fallthru\n(or you mis-spelled the reponame)\nfatal: Could not read from remote repository.",
            "fatal: remote error: access denied or repository not exported: /r.git",
            "fatal: '/gone.git' does not appear to be a git repository\nfatal: Could not read from remote repository.",
            "remote: error: hook declined to update refs/comm-node/outbox/a",
        ];
        for text in refused {
            assert!(!is_dropped_connection(text), "{text}");
        }
    }

    #[test]
    fn a_rejected_push_that_names_a_refusal_is_never_a_lost_race() {
        let raced = ["! refs/comm-node/tasks:refs/comm-node/tasks [rejected] (stale info)"];
        assert!(is_stale(&raced, ""));
        assert!(is_stale(
            &["! refs/comm-node/tasks:refs/comm-node/tasks [remote rejected] (cannot lock ref 'refs/comm-node/tasks': is at 1 but expected 2)"],
            ""
        ));
        let refusals = [
            "remote: error: hook declined to update refs/comm-node/tasks",
            "FATAL: + refs/comm-node/tasks comm alice DENIED by fallthru",
            "remote: Permission to push refused (fetch first)",
        ];
        for stderr in refusals {
            assert!(!is_stale(&raced, stderr), "{stderr}");
        }
    }

    #[test]
    fn a_fetch_the_remote_broke_off_on_a_corrupt_object_is_not_a_drop() {
        assert!(is_dropped_fetch(
            "fatal: read error: Connection reset by peer\nfatal: early EOF"
        ));
        let corrupt = [
            "remote: fatal: unable to read 45b983be36b73c0788dc9cbcb76cbb80fc7bb057\nerror: git upload-pack: git-pack-objects died with error.\nremote: aborting due to possible repository corruption on the remote side.\nfatal: protocol error: bad pack header",
            "remote: fatal: bad object 45b983be36b73c0788dc9cbcb76cbb80fc7bb057\nfatal: early EOF\nfatal: fetch-pack: invalid index-pack output",
        ];
        for text in corrupt {
            assert!(!is_dropped_fetch(text), "{text}");
        }
    }

    #[test]
    fn timeouts_parse_with_units_or_as_plain_seconds() {
        let secs = Duration::from_secs;
        assert_eq!(parse_timeout("60s"), Some(secs(60)));
        assert_eq!(parse_timeout("2m"), Some(secs(120)));
        assert_eq!(parse_timeout("1h"), Some(secs(3600)));
        assert_eq!(parse_timeout("90"), Some(secs(90)));
        assert_eq!(parse_timeout(" 5s "), Some(secs(5)));
        assert_eq!(parse_timeout("500ms"), Some(Duration::from_millis(500)));
        assert_eq!(parse_timeout("24h"), Some(secs(86_400)));
        for bad in [
            "",
            "s",
            "0",
            "0s",
            "-5s",
            "5x",
            "1.5s",
            "5 minutes",
            "25h",
            "ten",
            "99999999999999999999s",
            "5sm",
        ] {
            assert_eq!(parse_timeout(bad), None, "{bad:?} must be refused");
        }
    }

    #[test]
    fn timeouts_show_in_the_largest_whole_unit() {
        assert_eq!(show_timeout(Duration::from_secs(2)), "2s");
        assert_eq!(show_timeout(Duration::from_secs(90)), "90s");
        assert_eq!(show_timeout(Duration::from_secs(120)), "2m");
        assert_eq!(show_timeout(Duration::from_millis(1500)), "1500ms");
        assert_eq!(show_timeout(Duration::from_secs(7200)), "2h");
    }

    /// Is process `pid` gone (or a zombie: dead, waiting for whoever inherited it)?
    fn dead(pid: &str) -> bool {
        match std::fs::read_to_string(format!("/proc/{pid}/stat")) {
            Err(_) => true,
            Ok(stat) => stat
                .rsplit_once(") ")
                .is_some_and(|(_, rest)| rest.starts_with('Z')),
        }
    }

    #[cfg(target_os = "linux")]
    #[test]
    fn a_hung_child_is_killed_with_its_group_at_the_deadline() {
        // sh starts a grandchild (sleep) in its group and records its pid; both must go.
        let dir = tempfile::tempdir().unwrap();
        let pid_file = dir.path().join("pid");
        let mut cmd = Command::new("sh");
        cmd.arg("-c")
            .arg(format!("sleep 30 & echo $! > {}; wait", pid_file.display()));
        let started = Instant::now();
        let ran = run(cmd, Duration::from_millis(500), "test").unwrap();
        assert!(matches!(ran, Ran::TimedOut));
        assert!(started.elapsed() < Duration::from_secs(10));
        let pid = std::fs::read_to_string(&pid_file).unwrap();
        let deadline = Instant::now() + Duration::from_secs(5);
        while !dead(pid.trim()) {
            assert!(Instant::now() < deadline, "grandchild {pid} survived");
            std::thread::sleep(Duration::from_millis(20));
        }
    }

    #[test]
    fn output_is_captured_without_deadlock_on_full_pipes() {
        // More than a pipe buffer on both streams.
        let mut cmd = Command::new("sh");
        cmd.args([
            "-c",
            "head -c 300000 /dev/zero; head -c 300000 /dev/zero >&2; exit 3",
        ]);
        let Ran::Exited(out) = run(cmd, Duration::from_secs(30), "test").unwrap() else {
            panic!("timed out");
        };
        assert_eq!(out.status.code(), Some(3));
        assert_eq!(out.stdout.len(), 300_000);
        assert_eq!(out.stderr.len(), 300_000);
    }
}
