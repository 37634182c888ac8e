//! Leases across machines: a local grant counts only once the ledger carrying it has been
//! pushed to the remote. The remote's ref update is the compare-and-swap: when two clones
//! race, the loser's push is rejected, its next fetch brings the winner's grant, the ledger
//! merge drops the local grant (remote wins) and the caller reports a conflict.

use crate::config::Config;
use crate::error::{Error, Result};
use crate::lease::{ledger, Event};
use crate::repo::Repo;

use super::{sync, Options, Remote, Report};

/// `leases: {sync: true}` in the config, or git config `comm.leaseSync=true`.
pub fn enabled(repo: &Repo, config: &Config) -> bool {
    config.leases.sync
        || repo
            .config_string("comm.leaseSync")
            .is_some_and(|v| matches!(v.to_lowercase().as_str(), "true" | "yes" | "on" | "1"))
}

/// Publish the ledger holding `lease_id` (just granted locally to `holder`). On success
/// the lease is granted cluster-wide; otherwise it is withdrawn locally and an error
/// (exit 1 for a conflict) says why.
pub fn confirm_grant(repo: &Repo, remote: &Remote, holder: &str, lease_id: &str) -> Result<Report> {
    let options = Options {
        only: Some(vec!["leases".to_string()]),
    };
    match sync(repo, remote, &options) {
        Ok(report) => {
            if let Some(lost) = report
                .dropped_leases
                .iter()
                .find(|d| d.lease.id == lease_id)
            {
                let w = &lost.winner;
                return Err(Error::blocked(format!(
                    "lease refused (nothing granted): {} holds {} [{}] on {} (granted there first)",
                    w.holder,
                    w.id,
                    w.resources.join(", "),
                    remote.name
                ))
                .with_hint(format!(
                    "wait for {} to release it, or ask them: git comm send {} -s ...",
                    w.holder, w.holder
                )));
            }
            let still_there = ledger::all_leases(repo)?.iter().any(|l| l.id == lease_id);
            if !still_there {
                return Err(Error::blocked(format!(
                    "lease {lease_id} was released or broken on {} meanwhile",
                    remote.name
                ))
                .with_hint("check `git comm leases` and request it again"));
            }
            Ok(report)
        }
        Err(err) => {
            withdraw(repo, holder, lease_id)?;
            Err(Error::new(
                err.kind,
                format!("lease {lease_id} not granted: {}", err.message),
            )
            .with_hint(
                "the local grant was withdrawn (grant and release are in the ledger log); \
                 check the remote (`git remote -v`) and try again, or lease without --sync",
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
