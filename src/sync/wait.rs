//! Waits that work across machines: poll a local condition every 100 ms while the
//! repository's shared [`Poller`] keeps the local refs in step with the remote, so an agent
//! on another clone sees mail, tasks and artifacts arrive without a hand-written loop, and
//! the remote sees one poller per repository however many agents wait.

use std::time::{Duration, Instant};

use crate::error::Result;
use crate::repo::Repo;

use super::poller::Poller;
use super::{resolve_remote, Remote};

const LOCAL_POLL: Duration = Duration::from_millis(100);

/// The remote a wait syncs with: `comm.remote`, else `origin`, when it exists; none with
/// `local_only` or when the repository has no such remote.
pub fn remote_for_wait(repo: &Repo, local_only: bool) -> Option<Remote> {
    if local_only {
        return None;
    }
    resolve_remote(repo, None).ok()
}

/// How a wait ended.
pub struct Waited<T> {
    pub found: Option<T>,
    /// The last poll's failure, if polling the remote did not work (the wait went on
    /// locally).
    pub sync_error: Option<String>,
}

/// How often a waiting agent's presence is refreshed while it waits.
const HEARTBEAT: Duration = Duration::from_secs(10);

/// Call `check` until it finds something or `timeout` passes, sharing the repository's
/// poller of `remote` meanwhile. Fails early (nothing waited) on a bad `comm.pollInterval`.
/// The waiting agent `present`, if any, stays present: its presence is refreshed as the
/// wait starts and every [`HEARTBEAT`], and the poller pushes it when due, so a long wait
/// does not look like a dead agent to the others.
pub fn until<T>(
    repo: &Repo,
    remote: Option<&Remote>,
    timeout: Duration,
    present: Option<&str>,
    mut check: impl FnMut() -> Result<Option<T>>,
) -> Result<Waited<T>> {
    let deadline = Instant::now() + timeout;
    let interval = remote.map(|_| super::poller::interval(repo)).transpose()?;
    if let Some(found) = check()? {
        // Already there: no poller thread to start and stop.
        return Ok(Waited {
            found: Some(found),
            sync_error: None,
        });
    }
    let mut beat = Heartbeat::new(repo, present);
    let poller = remote
        .zip(interval)
        .map(|(r, interval)| Poller::start(repo, r, interval));
    let found = loop {
        if let Some(found) = check()? {
            break Some(found);
        }
        beat.tick();
        let left = deadline.saturating_duration_since(Instant::now());
        if left.is_zero() {
            break None;
        }
        std::thread::sleep(LOCAL_POLL.min(left));
    };
    let sync_error = poller.as_ref().and_then(Poller::last_error);
    Ok(Waited { found, sync_error })
}

/// Keeps a waiting agent's presence fresh (best effort: a read-only repository still
/// waits).
struct Heartbeat<'a> {
    repo: &'a Repo,
    agent: Option<&'a str>,
    last: Instant,
}

impl<'a> Heartbeat<'a> {
    fn new(repo: &'a Repo, agent: Option<&'a str>) -> Heartbeat<'a> {
        if let Some(agent) = agent {
            let _ = crate::presence::touch(repo, agent);
        }
        Heartbeat {
            repo,
            agent,
            last: Instant::now(),
        }
    }

    fn tick(&mut self) {
        let Some(agent) = self.agent else { return };
        if self.last.elapsed() >= HEARTBEAT {
            let _ = crate::presence::touch(self.repo, agent);
            self.last = Instant::now();
        }
    }
}
