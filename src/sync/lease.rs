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
use crate::lease::{ledger, Event};
use crate::repo::Repo;

use super::pending::Marker;
use super::{git, pending, sync, Options, Remote, Report};

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
    let options = Options {
        only: Some(vec!["leases".to_string()]),
    };
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
