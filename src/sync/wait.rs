//! Waits that work across machines: poll a local condition, and while polling, sync the
//! refs it depends on with the remote at backed-off intervals (1 s, doubling to 10 s), so an
//! agent on another clone sees mail and artifacts arrive without a hand-written loop.
//! Traffic: one `git fetch` of the named refs per interval (and a push only when there is
//! something local to push); the local refs are re-read every 100 ms.

use std::time::{Duration, Instant};

use crate::error::Result;
use crate::repo::Repo;

use super::{resolve_remote, sync, Options, Remote};

const LOCAL_POLL: Duration = Duration::from_millis(100);
const FIRST_SYNC_INTERVAL: Duration = Duration::from_secs(1);
const MAX_SYNC_INTERVAL: Duration = Duration::from_secs(10);

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
    /// The last sync failure, if syncing did not work (the wait went on locally).
    pub sync_error: Option<String>,
}

/// Call `check` until it finds something or `timeout` passes, syncing `only` with `remote`
/// in between (first right away).
pub fn until<T>(
    repo: &Repo,
    remote: Option<&Remote>,
    only: &[String],
    timeout: Duration,
    mut check: impl FnMut() -> Result<Option<T>>,
) -> Result<Waited<T>> {
    let deadline = Instant::now() + timeout;
    let mut next_sync = Instant::now();
    let mut interval = FIRST_SYNC_INTERVAL;
    let mut sync_error = None;
    let options = Options {
        only: Some(only.to_vec()),
    };
    loop {
        if let Some(found) = check()? {
            return Ok(Waited {
                found: Some(found),
                sync_error,
            });
        }
        let now = Instant::now();
        if now >= deadline {
            return Ok(Waited {
                found: None,
                sync_error,
            });
        }
        if let Some(remote) = remote.filter(|_| now >= next_sync) {
            sync_error = sync(repo, remote, &options).err().map(|e| e.message);
            next_sync = Instant::now() + interval;
            interval = (interval * 2).min(MAX_SYNC_INTERVAL);
            continue; // check what the sync brought before sleeping
        }
        std::thread::sleep(LOCAL_POLL.min(deadline.saturating_duration_since(now)));
    }
}
