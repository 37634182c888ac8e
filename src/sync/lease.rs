//! Leases across machines: a local grant counts only once the ledger carrying it has been
//! pushed to the remote. The remote's ref update is the compare-and-swap: when two clones
//! race, the loser's push is rejected, its next fetch brings the winner's grant, the ledger
//! merge drops the local grant (remote wins) and the caller reports a conflict.
//!
//! While the confirmation runs, a locked marker (see [`super::pending`]) stands for the
//! unconfirmed grant, so a process killed meanwhile leaves a grant the next sync or lease
//! command withdraws instead of publishing.

use crate::config::Config;
use crate::error::{Error, Result};
use crate::lease::{self, ledger, Event, Lease, Request};
use crate::repo::Repo;

use super::pending::Marker;
use super::{git, pending, sync, Options, Remote, Report};

/// A lease request that was refused: the leases that block it (empty when it failed for
/// another reason) and the error to report.
pub struct Refused {
    pub blocking: Vec<Lease>,
    pub error: Error,
}

impl From<Error> for Refused {
    fn from(error: Error) -> Self {
        Refused {
            blocking: Vec::new(),
            error,
        }
    }
}

/// Grant `request` to `me`: atomically against the local ledger, and with `remote`,
/// confirmed across machines (see [`confirm_grant`]). `conflict` words the refusal when
/// other leases block it. Asking again for a resource `me` already holds is refused.
pub fn acquire(
    repo: &Repo,
    me: &str,
    request: &Request,
    remote: Option<&Remote>,
    conflict: impl Fn(&[Lease]) -> Error,
) -> std::result::Result<Lease, Refused> {
    let mut id = lease::new_id(me, &request.resources);
    // With a remote, a locked marker stands for the grant until the remote confirms it.
    let mut marker = match remote {
        Some(_) => Some(prepare(repo, me, &id)?),
        None => {
            pending::sweep(repo)?;
            None
        }
    };
    let mut blocking: Vec<Lease> = Vec::new();
    let result = ledger::write(repo, me, |snap| {
        while snap.live.iter().any(|l| l.id == id) {
            id = lease::new_id(me, &request.resources);
            if let Some(marker) = marker.as_mut() {
                marker.rename(&id, me)?;
            }
        }
        if let Some((held, resource)) = lease::already_held(&snap.live, request, me, snap.now) {
            return Err(
                Error::usage(format!("{me} already holds {resource} (lease {})", held.id))
                    .with_hint(format!(
                        "extend it with `git comm renew {}`; nothing was granted",
                        held.id
                    )),
            );
        }
        match lease::grant(&snap.live, request, me, snap.now, snap.skew, id.clone()) {
            Ok(granted) => Ok(vec![Event::Grant(granted)]),
            Err(found) => {
                let error = conflict(&found);
                blocking = found;
                Err(error)
            }
        }
    });
    let events = match result {
        Ok(events) => events,
        Err(error) => {
            if let Some(marker) = marker {
                marker.finish()?; // nothing was granted
            }
            return Err(Refused { blocking, error });
        }
    };
    let granted = events.last().expect("a grant was written").lease().clone();
    crate::failpoint::hit("lease-after-local-grant");
    if let (Some(remote), Some(marker)) = (remote, marker) {
        confirm_grant(repo, remote, me, &granted.id, marker)?;
    }
    Ok(granted)
}

/// `leases: {sync: true}` in the config, or git config `comm.leaseSync=true`.
pub fn enabled(repo: &Repo, config: &Config) -> bool {
    config.leases.sync
        || repo
            .config_string("comm.leaseSync")
            .is_some_and(|v| matches!(v.to_lowercase().as_str(), "true" | "yes" | "on" | "1"))
}

/// Before a grant that `--sync` will confirm is written: check `comm.timeout` (a bad
/// value must leave the ledger untouched), withdraw grants of dead `lease --sync`
/// processes, and create the marker for `lease_id`.
pub fn prepare(repo: &Repo, holder: &str, lease_id: &str) -> Result<Marker> {
    git::timeout(repo.git_dir())?;
    pending::sweep(repo)?;
    Marker::create(repo, lease_id, holder)
}

/// Publish the ledger holding `lease_id` (just granted locally to `holder`, under
/// `marker`). On success the lease is granted cluster-wide; otherwise (conflict, failure,
/// timeout) it is withdrawn locally and an error (exit 1 for a conflict or a timeout) says
/// why. The marker is deleted once the grant is confirmed or withdrawn.
pub fn confirm_grant(
    repo: &Repo,
    remote: &Remote,
    holder: &str,
    lease_id: &str,
    marker: Marker,
) -> Result<Report> {
    let outcome = confirm(repo, remote, holder, lease_id);
    // Kept when the withdrawal itself failed: the next sweep retries it.
    if !matches!(&outcome, Err(Unconfirmed::Kept(_))) {
        marker.finish()?;
    }
    outcome.map_err(Unconfirmed::into_error)
}

/// Why a grant was not confirmed.
enum Unconfirmed {
    /// Not granted, and nothing of it is left locally.
    Gone(Error),
    /// Not granted, and withdrawing the local grant failed too.
    Kept(Error),
}

impl Unconfirmed {
    fn into_error(self) -> Error {
        match self {
            Unconfirmed::Gone(e) | Unconfirmed::Kept(e) => e,
        }
    }
}

fn confirm(
    repo: &Repo,
    remote: &Remote,
    holder: &str,
    lease_id: &str,
) -> std::result::Result<Report, Unconfirmed> {
    let options = Options::only("leases");
    let gone = Unconfirmed::Gone;
    match sync(repo, remote, &options) {
        Ok(report) => {
            if let Some(lost) = report
                .dropped_leases
                .iter()
                .find(|d| d.lease.id == lease_id)
            {
                let w = &lost.winner;
                return Err(gone(
                    Error::blocked(format!(
                    "lease refused (nothing granted): {} holds {} [{}] on {} (granted there first)",
                    w.holder,
                    w.id,
                    w.resources.join(", "),
                    remote.name
                ))
                    .with_hint(format!(
                        "wait for {} to release it, or ask them: git comm send {} -s ...",
                        w.holder, w.holder
                    )),
                ));
            }
            let still_there = ledger::all_leases(repo)
                .map_err(Unconfirmed::Kept)?
                .iter()
                .any(|l| l.id == lease_id);
            if !still_there {
                return Err(gone(
                    Error::blocked(format!(
                        "lease {lease_id} was released or broken on {} meanwhile",
                        remote.name
                    ))
                    .with_hint("check `git comm leases` and request it again"),
                ));
            }
            Ok(report)
        }
        Err(err) => {
            if let Err(failed) = withdraw(repo, holder, lease_id) {
                return Err(Unconfirmed::Kept(Error::new(
                    err.kind,
                    format!(
                        "lease {lease_id} not granted: {}; withdrawing the local grant failed too: {}",
                        err.message, failed.message
                    ),
                )
                .with_hint(
                    "the next `git comm sync` or lease command withdraws it before anything is pushed",
                )));
            }
            let hint = format!(
                "grant and release are both in the ledger log (`git log {}`); check the remote \
                 is reachable (`git remote -v`) or raise `git config {}`, then try again, or \
                 lease without --sync",
                ledger::ledger_ref(repo),
                git::TIMEOUT_KEY
            );
            Err(gone(
                Error::new(
                    err.kind,
                    format!(
                        "lease {lease_id} not granted, the local grant was withdrawn: {}",
                        err.message
                    ),
                )
                .with_hint(hint),
            ))
        }
    }
}

/// Release `lease_id` locally (it was never confirmed by the remote).
fn withdraw(repo: &Repo, holder: &str, lease_id: &str) -> Result<()> {
    ledger::write(repo, holder, |snap| {
        Ok(snap
            .live
            .iter()
            .filter(|l| l.id == lease_id)
            .cloned()
            .map(Event::Release)
            .collect())
    })?;
    Ok(())
}
