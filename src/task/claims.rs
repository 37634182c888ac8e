//! Keeping tasks and their claim leases in agreement. A claim is two writes: the `task:ID`
//! lease (confirmed on the remote with `--sync`), then the task ledger's record. A process
//! killed between them, or a claim lease ended elsewhere, leaves the two disagreeing:
//!
//! - a live `task:ID` lease, and the task open (or recorded for someone else): the lease is
//!   the claim (it is what blocks everyone else), so the ledger records it for its holder;
//! - the task claimed, and its claim lease ended by a release, break or withdrawal (a
//!   tombstone other than an expiry): the task is open again. A claim that merely lapsed
//!   (expired) stays recorded: readiness treats it as open, and whoever claims it next tells
//!   the lost holder.
//!
//! [`agreeing`] is the view every task listing shows; [`repair`] writes the same fixes to
//! the ledger (run by `sync` and before claims), so any clone converges.

use crate::error::Result;
use crate::lease::ledger::{self as leases, Tombstone};
use crate::lease::Lease;
use crate::repo::Repo;

use super::ledger::{self, Change};
use super::{claim_key, Task};

/// How a task's record must change to agree with the leases.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Fix {
    /// Record the claim this live lease stands for.
    Claim(Lease),
    /// The claim lease ended (`how`: release, break, withdraw, drop): open again.
    Reopen { lease: String, how: String },
}

/// The leases a task is judged against: the live ones and the tombstones of ended ones.
pub struct Leases {
    pub live: Vec<Lease>,
    pub ended: Vec<Tombstone>,
}

impl Leases {
    pub fn read(repo: &Repo) -> Result<Leases> {
        let ended = match repo.read_ref(&leases::ledger_ref(repo))? {
            Some(tip) => leases::state_at(repo, tip)?.ended,
            None => Vec::new(),
        };
        Ok(Leases {
            live: leases::live_leases(repo)?,
            ended,
        })
    }
}

/// What `task` lacks to agree with `leases`, if anything.
pub fn disagreement(task: &Task, leases: &Leases) -> Option<Fix> {
    if task.is_terminal() {
        return None;
    }
    let key = claim_key(&task.id);
    let held = matches!(task.state.as_str(), "claimed" | "in_progress");
    if let Some(lease) = leases.live.iter().find(|l| l.resources.contains(&key)) {
        let recorded = held
            && task.assignee.as_deref() == Some(lease.holder.as_str())
            && task.claim.as_deref() == Some(lease.id.as_str());
        let may_record = task.state == "open" || held;
        return (may_record && !recorded).then(|| Fix::Claim(lease.clone()));
    }
    let claim = task.claim.as_deref().filter(|_| held)?;
    let ended = leases.ended.iter().find(|t| t.id == claim)?;
    (ended.how != "expire").then(|| Fix::Reopen {
        lease: ended.id.clone(),
        how: ended.how.clone(),
    })
}

/// `task` with `fix` applied.
pub fn apply(task: &mut Task, fix: &Fix) {
    match fix {
        Fix::Claim(lease) => {
            if task.assignee.as_deref() != Some(lease.holder.as_str()) || task.state == "open" {
                task.state = "claimed".into();
            }
            task.assignee = Some(lease.holder.clone());
            task.claim = Some(lease.id.clone());
        }
        Fix::Reopen { .. } => {
            task.state = "open".into();
            task.assignee = None;
            task.claim = None;
        }
    }
}

/// The tasks as the leases say they are (what listings show, so a task never reads open
/// while `leases` shows its claim).
pub fn agreeing(mut tasks: Vec<Task>, leases: &Leases) -> Vec<Task> {
    for task in &mut tasks {
        if let Some(fix) = disagreement(task, leases) {
            apply(task, &fix);
        }
    }
    tasks
}

/// Write every fix to the task ledger, one commit each, by `me` (else by the claim's
/// holder, whose claim it is). Returns the commit subjects (empty: all agreed).
pub fn repair(repo: &Repo, me: Option<&str>) -> Result<Vec<String>> {
    let tips = ledger_tips(repo)?;
    if agreed_at(repo).as_deref() == Some(tips.as_str()) {
        return Ok(Vec::new());
    }
    let leases = Leases::read(repo)?;
    let fixes: Vec<(String, Fix)> = ledger::all(repo)?
        .iter()
        .filter_map(|t| disagreement(t, &leases).map(|f| (t.id.clone(), f)))
        .collect();
    let Some((_, first)) = fixes.first() else {
        remember_agreed(repo, &tips);
        return Ok(Vec::new());
    };
    let author = me.map(str::to_string).unwrap_or_else(|| match first {
        Fix::Claim(lease) => lease.holder.clone(),
        Fix::Reopen { .. } => crate::halt::OPERATOR.to_string(),
    });
    let now = crate::clock::now_secs();
    let written = ledger::write(repo, &author, |tasks| {
        // Planned again on the tip: only what still disagrees.
        Ok(tasks
            .iter()
            .filter_map(|t| {
                let fix = disagreement(t, &leases)?;
                let mut task = t.clone();
                apply(&mut task, &fix);
                task.updated = now;
                Some(Change {
                    subject: subject(&task, &fix, &author),
                    task,
                })
            })
            .collect())
    })?;
    Ok(written.into_iter().map(|c| c.subject).collect())
}

/// The task and lease ledger tips, as one key. Tasks and leases that agreed at these tips
/// still agree later: time only ends live leases, and a lapsed claim stays recorded, so only
/// a new tip can bring a disagreement.
fn ledger_tips(repo: &Repo) -> Result<String> {
    let tip = |name: String| -> Result<String> {
        Ok(repo
            .read_ref(&name)?
            .map_or_else(|| "-".to_string(), |id| id.to_string()))
    };
    Ok(format!(
        "{} {}",
        tip(ledger::tasks_ref(repo))?,
        tip(leases::ledger_ref(repo))?
    ))
}

fn agreed_file(repo: &Repo) -> std::path::PathBuf {
    repo.cache_dir("claims").join("agreed")
}

/// The tips at which every claim last agreed with its lease (a cache: losing it costs one
/// full check).
fn agreed_at(repo: &Repo) -> Option<String> {
    std::fs::read_to_string(agreed_file(repo)).ok()
}

fn remember_agreed(repo: &Repo, tips: &str) {
    let path = agreed_file(repo);
    let written = path.parent().map(std::fs::create_dir_all);
    if matches!(written, Some(Ok(()))) {
        let temp = path.with_extension(format!("{}.tmp", std::process::id()));
        if std::fs::write(&temp, tips).is_ok() {
            let _ = std::fs::rename(&temp, &path);
        }
    }
}

fn subject(task: &Task, fix: &Fix, by: &str) -> String {
    match fix {
        Fix::Claim(lease) => format!(
            "claim {} by {} (repaired by {by}: lease {} had no claim recorded)",
            task.id, lease.holder, lease.id
        ),
        Fix::Reopen { lease, how } => format!(
            "reopen {} (repaired by {by}: claim lease {lease} ended: {how})",
            task.id
        ),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn task(state: &str, assignee: Option<&str>, claim: Option<&str>) -> Task {
        Task::sample(state, assignee, claim)
    }

    fn lease(id: &str, holder: &str) -> Lease {
        Lease {
            id: id.into(),
            holder: holder.into(),
            resources: vec!["task:t-0000000a".into()],
            exclusive: true,
            reason: None,
            task: Some("t-0000000a".into()),
            created: 0,
            expires: 100,
        }
    }

    fn ended(id: &str, how: &str) -> Tombstone {
        Tombstone {
            id: id.into(),
            holder: "alice".into(),
            expires: 100,
            ended: 50,
            how: how.into(),
        }
    }

    #[test]
    fn a_live_claim_lease_is_the_claim() {
        let leases = Leases {
            live: vec![lease("aaaaaaaaaaaa", "alice")],
            ended: vec![],
        };
        let open = task("open", None, None);
        let fix = disagreement(&open, &leases).unwrap();
        let fixed = agreeing(vec![open], &leases);
        assert_eq!(fix, Fix::Claim(lease("aaaaaaaaaaaa", "alice")));
        assert_eq!(
            (fixed[0].state.as_str(), fixed[0].assignee.as_deref()),
            ("claimed", Some("alice"))
        );
        let recorded = task("in_progress", Some("alice"), Some("aaaaaaaaaaaa"));
        assert_eq!(disagreement(&recorded, &leases), None);
        let blocked = task("blocked", Some("alice"), Some("aaaaaaaaaaaa"));
        assert_eq!(disagreement(&blocked, &leases), None);
        let done = task("done", None, None);
        assert_eq!(disagreement(&done, &leases), None);
    }

    #[test]
    fn an_ended_claim_reopens_but_a_lapsed_one_stays_recorded() {
        let claimed = task("claimed", Some("alice"), Some("aaaaaaaaaaaa"));
        let broken = Leases {
            live: vec![],
            ended: vec![ended("aaaaaaaaaaaa", "break")],
        };
        assert!(matches!(
            disagreement(&claimed, &broken),
            Some(Fix::Reopen { .. })
        ));
        let expired = Leases {
            live: vec![],
            ended: vec![ended("aaaaaaaaaaaa", "expire")],
        };
        assert_eq!(disagreement(&claimed, &expired), None);
    }
}
