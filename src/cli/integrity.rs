//! `doctor`'s integrity checks and `doctor --repair`: broken namespace refs, stale locks,
//! quarantined remote values, clock skew and signatures (`identity.signed`), as (name, ok,
//! detail) rows.

use crate::error::Result;
use crate::repo::{health, incoming, Repo};
use crate::sync::{self, Remote};

pub struct Row {
    pub name: &'static str,
    pub ok: bool,
    pub detail: String,
}

fn row(name: &'static str, ok: bool, detail: impl Into<String>) -> Row {
    Row {
        name,
        ok,
        detail: detail.into(),
    }
}

/// Every integrity check, one or more rows each.
pub fn checks(repo: &Repo) -> Result<Vec<Row>> {
    let mut rows = Vec::new();
    rows.extend(broken_refs(repo)?);
    rows.extend(lock_rows(repo));
    rows.extend(quarantine_rows(repo)?);
    rows.extend(clock_rows(repo)?);
    rows.push(signing_row(repo)?);
    Ok(rows)
}

/// The signing setup (mode, key, allowed signers) and, when signatures are checked, the
/// namespace entries not signed by their author's key.
fn signing_row(repo: &Repo) -> Result<Row> {
    use crate::repo::signing::{self, Mode, SigningKey};
    let identity = &repo.policy().identity;
    let key = SigningKey::configured(repo);
    let key_text = match &key {
        Some(k) if k.found() => format!("signing key found ({})", k.spec),
        Some(k) => format!("signing key {} not found", k.spec),
        None => "no signing key (gpg.format=ssh, user.signingkey)".to_string(),
    };
    let mut detail = format!(
        "identity.signed {}; {key_text}; {} allowed signers",
        identity.mode.as_str(),
        identity.signers.len()
    );
    if identity.mode == Mode::Off {
        detail.push_str("; signatures not checked");
        return Ok(row("signing", true, detail));
    }
    let audit = signing::audit(repo)?;
    let key_ok = key.is_some_and(|k| k.found()) || identity.mode != Mode::Required;
    match audit.problems.first() {
        None => detail.push_str(&format!("; all {} namespace entries signed", audit.checked)),
        Some((name, why)) => detail.push_str(&format!(
            "; {} unsigned or badly signed of {} namespace entries (first: {name}: {why})",
            audit.problems.len(),
            audit.checked
        )),
    }
    Ok(row("signing", key_ok && audit.problems.is_empty(), detail))
}

fn broken_refs(repo: &Repo) -> Result<Vec<Row>> {
    let broken = health::broken_refs(repo)?;
    if broken.is_empty() {
        return Ok(vec![row(
            "refs",
            true,
            "every namespace ref holds a valid value",
        )]);
    }
    Ok(broken
        .iter()
        .map(|b| {
            let fix = match &b.restore {
                Some((good, from)) => format!(
                    "`git comm doctor --repair` restores {} from {from}",
                    &good.to_string()[..10]
                ),
                None => format!(
                    "no good value is known: inspect it, then `git update-ref -d {}` to start it over",
                    b.name
                ),
            };
            row("refs", false, format!("{}: {}; {fix}", b.name, b.reason))
        })
        .collect())
}

fn lock_rows(repo: &Repo) -> Vec<Row> {
    health::locks(repo)
        .iter()
        .map(|l| {
            if l.stale {
                row(
                    "locks",
                    false,
                    format!(
                        "stale lock {} ({}s old, no process holds it): `git comm doctor --repair` removes it",
                        l.path.display(),
                        l.age.as_secs()
                    ),
                )
            } else {
                row(
                    "locks",
                    true,
                    format!("{} is held by a running writer", l.path.display()),
                )
            }
        })
        .collect()
}

/// Remotes sync has fetched from, by their incoming area.
fn fetched_remotes(repo: &Repo) -> Result<Vec<Remote>> {
    let mut labels: Vec<String> = incoming::read_all(repo)?
        .into_iter()
        .map(|(label, _, _)| label)
        .collect();
    labels.dedup();
    Ok(labels
        .into_iter()
        .map(|label| Remote {
            name: label.clone(),
            label,
        })
        .collect())
}

fn quarantine_rows(repo: &Repo) -> Result<Vec<Row>> {
    let mut rows = Vec::new();
    for remote in fetched_remotes(repo)? {
        for q in sync::quarantined(repo, &remote)? {
            let name = &q.remote_ref;
            let replace = if repo.read_ref(name)?.is_some() {
                format!("{name}:{name}")
            } else {
                format!(":{name}")
            };
            rows.push(row(
                "quarantine",
                false,
                format!(
                    "{}'s {name} is refused: {}; local state is kept. Have it fixed where it was written, or replace it: git push --force-with-lease={name}:{} {} {replace}",
                    remote.name, q.reason, q.value, remote.name
                ),
            ));
        }
    }
    Ok(rows)
}

fn clock_rows(repo: &Repo) -> Result<Vec<Row>> {
    let leases = crate::lease::ledger::all_leases(repo).unwrap_or_default();
    let future = health::future_entries(repo, &leases)?;
    if future.is_empty() {
        return Ok(vec![row(
            "clock",
            true,
            format!(
                "no entry from the future (tolerance {}s)",
                repo.policy().skew_secs
            ),
        )]);
    }
    Ok(future
        .iter()
        .map(|f| {
            row(
                "clock",
                false,
                format!(
                    "{} by {} is dated {}s in the future: that machine's clock runs ahead or this one's behind (compare `date -u`); skew past the tolerance can double-grant leases",
                    f.what, f.who, f.ahead_secs
                ),
            )
        })
        .collect())
}

/// `doctor --repair`: lines saying what changed.
pub fn repair(repo: &Repo) -> Result<Vec<String>> {
    let done = health::repair(repo)?;
    let mut lines = Vec::new();
    for (name, bad, good, from) in &done.restored {
        lines.push(format!(
            "restored {name}: {} -> {} (from {from})",
            &bad.to_string()[..10],
            &good.to_string()[..10]
        ));
    }
    for lock in &done.cleared_locks {
        lines.push(format!("removed stale lock {}", lock.path.display()));
    }
    for b in &done.unrepairable {
        lines.push(format!(
            "cannot repair {}: no good value known ({})",
            b.name, b.reason
        ));
    }
    if lines.is_empty() {
        lines.push("nothing to repair".to_string());
    }
    Ok(lines)
}
