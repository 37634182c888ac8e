//! One poller per repository. Every wait (and `watch`) in a repository, across all its
//! worktrees, starts a [`Poller`] thread, but only the one holding an exclusive lock on
//! `<common dir>/comm-node/poller/<remote>.lock` talks to the remote; the others only
//! watch local refs, which the holder's syncs move. The lock is a kernel file lock
//! (`flock`), so it goes away with its holder, kill -9 included: the next waiter takes it
//! within one local tick and goes on where the dead one stopped (the schedule lives in a
//! state file next to the lock).
//!
//! A poll fetches the namespace into the raw incoming area: with protocol v2 the remote
//! is asked only for the refs under the namespace (`ls-refs` with that prefix), so when
//! nothing moved it is one short request with no pack. Only when that brought a value the
//! last syncs did not settle, or a local change waits to be pushed (mail, tasks, leases,
//! ...; not presence or cursors, which ride along with the next sync), does it run a full
//! sync of the whole namespace, without fetching again: a wait woken by mail has also
//! fetched the artifacts and tasks the mail points to. Polls never run git maintenance.
//!
//! Interval: `comm.pollInterval` (default 1 s); after a minute without changes it
//! stretches by a quarter, and snaps back at the next change. Wake-up stays within about
//! one interval plus a sync, and the remote sees one request per interval however many
//! agents wait.

use std::collections::BTreeSet;
use std::fs::{File, OpenOptions};
use std::io::Write;
use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{mpsc, Arc, Mutex};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use serde::{Deserialize, Serialize};

use crate::error::{Error, Result};
use crate::repo::Repo;

use super::{git, outbox, refs_below, sync_polled, Remote};

/// The git config key for the base interval between polls.
pub const INTERVAL_KEY: &str = "comm.pollInterval";
pub const DEFAULT_INTERVAL: Duration = Duration::from_secs(1);
/// Below this a poller would hammer the remote.
const MIN_INTERVAL: Duration = Duration::from_millis(100);
/// How often a waiter looks at the lock (and a holder at the clock).
const TICK: Duration = Duration::from_millis(50);
/// Quiet for this long (no tip moved, nothing pushed), the interval stretches.
const QUIET_AFTER: Duration = Duration::from_secs(60);
/// The stretched interval, as a fraction of the base: 5/4. More would break the wake-up
/// target (p50 1.5 s) for agents that waited long.
const STRETCH: (u32, u32) = (5, 4);
/// How long stopping waits for a poll in flight to finish.
const STOP_GRACE: Duration = Duration::from_secs(1);

/// `comm.pollInterval` (e.g. `1s`, `500ms`), default 1 s; invalid or below 100 ms is a
/// config error (exit 2).
pub fn interval(repo: &Repo) -> Result<Duration> {
    let Some(text) = repo.config_string(INTERVAL_KEY) else {
        return Ok(DEFAULT_INTERVAL);
    };
    git::parse_timeout(&text)
        .filter(|d| *d >= MIN_INTERVAL)
        .ok_or_else(|| {
            Error::config(format!("invalid git config {INTERVAL_KEY} '{text}'")).with_hint(
                format!("use a duration of at least 100ms, such as 1s or 500ms: git config {INTERVAL_KEY} 1s"),
            )
        })
}

/// What the holder keeps between polls, in a file, so a successor keeps the pace.
#[derive(Debug, Default, Clone, Serialize, Deserialize)]
struct Schedule {
    /// Unix milliseconds of the end of the last poll.
    last_poll: u64,
    /// Unix milliseconds of the last sync (a tip moved or something was pushed).
    last_change: u64,
    /// What the last sync left unsettled (refused values, a refused push): these do not
    /// trigger another sync on their own.
    settled: BTreeSet<String>,
}

impl Schedule {
    fn next_poll(&self, base: Duration) -> u64 {
        let quiet = self.last_poll.saturating_sub(self.last_change);
        let interval = if quiet >= millis(QUIET_AFTER) {
            base * STRETCH.0 / STRETCH.1
        } else {
            base
        };
        self.last_poll + millis(interval)
    }
}

fn millis(d: Duration) -> u64 {
    d.as_millis() as u64
}

fn now_millis() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(millis)
        .unwrap_or_default()
}

fn poller_dir(repo: &Repo) -> PathBuf {
    repo.cache_dir("poller")
}

fn lock_path(repo: &Repo, remote: &Remote) -> PathBuf {
    poller_dir(repo).join(format!("{}.lock", remote.label))
}

fn schedule_path(repo: &Repo, remote: &Remote) -> PathBuf {
    poller_dir(repo).join(format!("{}.json", remote.label))
}

/// The last holder's schedule; a first poller counts its start as the last change (no
/// quiet minute has been seen yet).
fn load_schedule(repo: &Repo, remote: &Remote) -> Schedule {
    let mut schedule: Schedule = std::fs::read(schedule_path(repo, remote))
        .ok()
        .and_then(|bytes| serde_json::from_slice(&bytes).ok())
        .unwrap_or_default();
    if schedule.last_change == 0 {
        schedule.last_change = now_millis();
    }
    schedule
}

/// Write-then-rename: a holder killed mid-write leaves the old schedule, never half a file.
fn save_schedule(repo: &Repo, remote: &Remote, schedule: &Schedule) {
    let path = schedule_path(repo, remote);
    let temp = path.with_extension(format!("json.{}", std::process::id()));
    let bytes = serde_json::to_vec(schedule).expect("serializes");
    if std::fs::write(&temp, bytes).is_ok() && std::fs::rename(&temp, &path).is_err() {
        let _ = std::fs::remove_file(&temp);
    }
}

/// The poller role, if nobody holds it: an exclusive `flock` on the lock file, released
/// when the file is closed or the process dies. (std opens files close-on-exec, so the git
/// processes a poll starts never inherit it.) The holder writes its pid into the file for
/// people and tests to see; the lock, not the pid, decides who polls.
fn try_lock(repo: &Repo, remote: &Remote) -> Option<File> {
    let path = lock_path(repo, remote);
    std::fs::create_dir_all(path.parent()?).ok()?;
    let mut file = OpenOptions::new()
        .create(true)
        .truncate(false)
        .write(true)
        .open(&path)
        .ok()?;
    file.try_lock().ok()?;
    let _ = file.set_len(0);
    let _ = writeln!(file, "{}", std::process::id());
    Some(file)
}

/// What the poller thread reports to its wait.
#[derive(Debug, Default)]
struct Status {
    /// The last poll's failure.
    error: Option<String>,
}

/// A waiter's share of the repository's poller: a thread that polls while it holds the
/// lock and otherwise just waits for it. Dropping it stops the thread (releasing the lock).
pub struct Poller {
    stop: Arc<AtomicBool>,
    done: mpsc::Receiver<()>,
    status: Arc<Mutex<Status>>,
}

impl Poller {
    /// Join the repository's poller for `remote`, polling every `base` (see [`interval`])
    /// while this process holds the lock.
    pub fn start(repo: &Repo, remote: &Remote, base: Duration) -> Poller {
        let stop = Arc::new(AtomicBool::new(false));
        let status = Arc::new(Mutex::new(Status::default()));
        let (done_tx, done) = mpsc::channel();
        let place = repo.workdir().unwrap_or(repo.git_dir()).to_path_buf();
        let policy = repo.policy().clone();
        let (remote, thread_stop, thread_status) = (remote.clone(), stop.clone(), status.clone());
        std::thread::spawn(move || {
            match Repo::discover(&place) {
                Ok(mut repo) => {
                    repo.set_policy(policy);
                    run(&repo, &remote, base, &thread_stop, &thread_status);
                }
                Err(e) => report(&thread_status, Err(e)),
            }
            let _ = done_tx.send(());
        });
        Poller { stop, done, status }
    }

    /// The last poll's failure, if the last poll (of this process) failed.
    pub fn last_error(&self) -> Option<String> {
        self.status.lock().ok().and_then(|s| s.error.clone())
    }
}

impl Drop for Poller {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::Relaxed);
        // A poll in flight gets a moment to finish its ref writes; past that the process
        // may exit under it, which leaves what a kill -9 would (the next sync copes).
        let _ = self.done.recv_timeout(STOP_GRACE);
    }
}

fn report(status: &Mutex<Status>, outcome: Result<()>) {
    if let Ok(mut s) = status.lock() {
        s.error = outcome.err().map(|e| e.message);
    }
}

/// Until stopped: take the lock when it is free; while holding it, poll when due.
fn run(repo: &Repo, remote: &Remote, base: Duration, stop: &AtomicBool, status: &Mutex<Status>) {
    let presence_every = super::presence_every(repo);
    let mut held: Option<(File, Schedule)> = None;
    while !stop.load(Ordering::Relaxed) {
        if held.is_none() {
            held = try_lock(repo, remote).map(|lock| (lock, load_schedule(repo, remote)));
        }
        if let Some((_, schedule)) = held.as_mut() {
            if now_millis() >= schedule.next_poll(base) {
                report(status, poll(repo, remote, schedule, presence_every));
                schedule.last_poll = now_millis();
                save_schedule(repo, remote, schedule);
                continue; // look at the stop flag before sleeping
            }
        }
        std::thread::sleep(TICK);
    }
}

/// One poll: fetch the namespace's tips into the incoming area (one short request when
/// nothing moved); sync the whole namespace when that brought something the last syncs
/// did not settle, or a local change waits to be pushed.
fn poll(repo: &Repo, remote: &Remote, schedule: &mut Schedule, presence_every: i64) -> Result<()> {
    let store = crate::repo::incoming::ensure(repo)?;
    let fetched = match git::fetch(
        repo.git_dir(),
        &store,
        &remote.name,
        repo.namespace(),
        &remote.incoming_prefix(),
        git::Maintenance::Off,
    )? {
        git::Fetched::Done => true,
        // A busy remote: the next poll asks again, one connection, not a sync's several.
        git::Fetched::Dropped(err) => return Err(err),
        git::Fetched::Refused(_) => false, // the sync's own fetch copes (stale locks, one corrupt ref)
    };
    let unsettled = unsettled(repo, remote, presence_every)?;
    if fetched && unsettled.is_subset(&schedule.settled) {
        return Ok(());
    }
    let synced = sync_polled(repo, remote, fetched, presence_every).map(|_| ());
    schedule.last_change = now_millis();
    // What the sync could not settle (a refused value, a refused push) must not make every
    // later poll sync again.
    schedule.settled = self::unsettled(repo, remote, presence_every)?;
    synced
}

/// What a sync would act on, one line per ref: local refs that differ from the remote's
/// (the local `mail` when it holds news for this clone's outbox), fetched values not admitted, and
/// admitted ones the remote no longer has. Cursors are left out, and so is a presence
/// that only got fresher while the pushed one is younger than `presence_every`: they
/// change with every command and ride along with the next sync. A waiting agent's
/// presence, refreshed by its wait, is pushed once it is due.
fn unsettled(repo: &Repo, remote: &Remote, presence_every: i64) -> Result<BTreeSet<String>> {
    let incoming = crate::repo::incoming::read(repo, &remote.label)?;
    let tracking = crate::repo::tracking::read(repo, &remote.label)?;
    let mut lines = BTreeSet::new();
    for (suffix, value) in refs_below(repo, repo.namespace())? {
        if suffix.starts_with("cursors/") {
            continue;
        }
        if suffix.starts_with("presence/") {
            let pushed = tracking.get(&suffix).copied();
            let waits = pushed.is_some_and(|pushed| {
                crate::presence::can_wait(repo, value, pushed, presence_every)
            });
            if pushed != Some(value) && !waits {
                lines.insert(format!("local {suffix} {value}"));
            }
            continue;
        }
        let unpushed = if suffix == "mail" {
            outbox::mail_waits(repo, value, &tracking)?
        } else {
            tracking.get(&suffix) != Some(&value)
        };
        if unpushed {
            lines.insert(format!("local {suffix} {value}"));
        }
    }
    for (suffix, value) in &incoming {
        if tracking.get(suffix) != Some(value) {
            lines.insert(format!("incoming {suffix} {value}"));
        }
    }
    for suffix in tracking.keys().filter(|s| !incoming.contains_key(*s)) {
        lines.insert(format!("gone {suffix}"));
    }
    Ok(lines)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_interval_stretches_after_a_quiet_minute_only() {
        let base = Duration::from_secs(1);
        let busy = Schedule {
            last_poll: 100_000,
            last_change: 90_000,
            ..Schedule::default()
        };
        assert_eq!(busy.next_poll(base), 101_000);
        let quiet = Schedule {
            last_poll: 200_000,
            last_change: 100_000,
            ..Schedule::default()
        };
        assert_eq!(quiet.next_poll(base), 201_250);
    }
}
