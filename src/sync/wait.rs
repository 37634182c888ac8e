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

/// Call `check` until it finds something or `timeout` passes, sharing the repository's
/// poller of `remote` meanwhile. Fails early (nothing waited) on a bad `comm.pollInterval`.
pub fn until<T>(
    repo: &Repo,
    remote: Option<&Remote>,
    timeout: Duration,
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
    let poller = remote
        .zip(interval)
        .map(|(r, interval)| Poller::start(repo, r, interval));
    let found = loop {
        if let Some(found) = check()? {
            break Some(found);
        }
        let left = deadline.saturating_duration_since(Instant::now());
        if left.is_zero() {
            break None;
        }
        std::thread::sleep(LOCAL_POLL.min(left));
    };
    let sync_error = poller.as_ref().and_then(Poller::last_error);
    Ok(Waited { found, sync_error })
}
