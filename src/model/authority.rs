//! Who may write what: the rules the storage gate applies to every commit a remote adds
//! (sync's admission and the server guard), one commit at a time, against the records it
//! changes. A writer is the commit's author (the agent); the committer is the person or
//! machine that ran git. Without signed identity the author is only a claim: these rules
//! stop writes that are wrong whoever made them (a claim with no lease behind it, a task
//! finished over its holder's head, a halt by a stranger, a record from the future); with
//! signed identity (`identity.signed`) the author is proven as well.
//!
//! - Tasks: a new task is created by its creator. A claim (`claim` set) must name a lease
//!   held by the assignee that the lease ledger of the same state holds (live and naming
//!   `task:ID`, or ended). Clearing a claim is done by its assignee or the creator, or
//!   follows the end of the claim lease. Any other change to a claimed task is made by its
//!   assignee or creator, or carries a `Comm-Forced:` trailer naming the task (who forced
//!   it is the commit's author; the reason is in the trailer). An unclaimed task may be
//!   changed by its creator or any known agent. Tasks are never deleted. Created and
//!   updated times are not in the future beyond the skew tolerance.
//! - Leases: a grant or renewal is written by the lease's holder. An ending is written by
//!   the holder (`release`), by anyone once the lease has expired (`expire`), or by anyone on
//!   record (`break`, `withdraw`, naming who broke it in the commit). A live lease never
//!   vanishes without its tombstone; a tombstone goes only after its lease's expiry plus
//!   twice the skew tolerance. Sync's merges may only keep a parent's entry, or end a lease
//!   (`expire` past expiry, `drop` of a lease a parent held).
//! - Halt: set or lifted by an overseer (`overseers:` in the config names agents, roles
//!   or git identities), or by any known agent or the operator when no overseer is named;
//!   `by` is the writer; `since` is not in the future.
//! - Cards: an agent's card is written by that agent, by whoever retires it (named in
//!   `retired.by`), or seeded (never seen) by a plan.

use std::fmt;

use super::card::Card;
use super::halt::{Halt, OPERATOR};
use super::lease::entry::{Tombstone, END_SUFFIX, JSON_SUFFIX};
use super::lease::Lease;
use super::task::{claim_key, Task};

/// The trailer a task-ledger commit carries for each change it forces over another agent's
/// claim: `Comm-Forced: t-1a2b3c4d REASON`.
pub const FORCED_TRAILER: &str = "Comm-Forced:";

/// Who made a commit, by its own headers.
#[derive(Debug, Clone)]
pub struct Writer<'a> {
    /// The author's name: the acting agent.
    pub agent: &'a str,
    /// The committer as `Name <email>`: the git identity that ran git comm.
    pub committer: &'a str,
}

/// Why a write is refused: the rule, what broke it, and how to go on.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Refusal {
    pub rule: &'static str,
    pub why: String,
    pub fix: String,
}

impl fmt::Display for Refusal {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "rule {}: {} (fix: {})", self.rule, self.why, self.fix)
    }
}

fn refuse(rule: &'static str, why: String, fix: impl Into<String>) -> Refusal {
    Refusal {
        rule,
        why,
        fix: fix.into(),
    }
}

/// A lease as the lease ledger of the same state knows it.
#[derive(Debug, Clone)]
pub enum LeaseFact {
    Live(Lease),
    Ended(Tombstone),
}

/// What the rules look up besides the records a commit changes.
pub trait Facts {
    /// Lease `id` in the lease ledger that goes with the judged state.
    fn lease(&self, id: &str) -> Option<LeaseFact>;
    /// Is `name` an agent of this repository (a card, or bound in the config)?
    fn is_agent(&self, name: &str) -> bool;
    /// The role on `name`'s card.
    fn role_of(&self, name: &str) -> Option<String>;
}

/// The times the gate measures against: now and the skew tolerance, in seconds.
#[derive(Debug, Clone, Copy)]
pub struct Clock {
    pub now: i64,
    pub skew: i64,
}

impl Clock {
    /// The time cap: `what`, dated `at`, is not later than now plus the skew tolerance.
    /// `redo` says what to do once the writer's clock is fixed.
    fn not_ahead(self, what: &str, at: i64, redo: &str) -> Result<(), Refusal> {
        if at <= self.now + self.skew {
            return Ok(());
        }
        Err(refuse(
            "time-cap",
            format!(
                "{what} is dated {at}, {} s in the future (skew tolerance {} s)",
                at - self.now,
                self.skew
            ),
            format!("fix the writer's clock, then {redo}"),
        ))
    }
}

/// Task ids a commit message forces changes of (its `Comm-Forced:` lines).
pub fn forced_tasks(message: &str) -> Vec<String> {
    message
        .lines()
        .filter_map(|line| line.strip_prefix(FORCED_TRAILER))
        .filter_map(|rest| rest.split_whitespace().next().map(str::to_string))
        .collect()
}

/// May `w` change task `old` into `new` (either absent: created or deleted)?
pub fn task_change(
    w: &Writer,
    old: Option<&Task>,
    new: Option<&Task>,
    forced: &[String],
    facts: &dyn Facts,
    clock: Clock,
) -> Result<(), Refusal> {
    let Some(new) = new else {
        let id = old.map(|t| t.id.as_str()).unwrap_or("?");
        return Err(refuse(
            "task-kept",
            format!("{} deleted task {id}; tasks are never deleted", w.agent),
            "finish, fail or reopen the task instead of removing it",
        ));
    };
    task_times(new, clock)?;
    let Some(old) = old else {
        return task_created(w, new, facts);
    };
    if new.claim != old.claim && new.claim.is_some() {
        claim_backed(w, new, facts)?;
    }
    let claim_cleared = old.claim.is_some() && new.claim.is_none();
    if claim_cleared && claim_ended(old, facts) {
        return Ok(());
    }
    let claim_taken = new.claim != old.claim && new.claim.is_some();
    if claim_taken && only_claim_fields_differ(old, new) {
        return Ok(()); // backed by its lease: the lease is the claim, whoever records it
    }
    task_edit_allowed(w, old, new, forced, facts)
}

fn task_times(task: &Task, clock: Clock) -> Result<(), Refusal> {
    let what = format!("task {}", task.id);
    clock.not_ahead(
        &what,
        task.created.max(task.updated),
        "write the task again",
    )
}

fn task_created(w: &Writer, new: &Task, facts: &dyn Facts) -> Result<(), Refusal> {
    if new.creator != w.agent {
        return Err(refuse(
            "task-creator",
            format!(
                "{} created task {} in the name of {}",
                w.agent, new.id, new.creator
            ),
            "create tasks as yourself (--as names you)",
        ));
    }
    if new.claim.is_some() {
        claim_backed(w, new, facts)?;
    }
    Ok(())
}

/// A recorded claim must stand on a lease of the assignee's.
fn claim_backed(w: &Writer, task: &Task, facts: &dyn Facts) -> Result<(), Refusal> {
    let lease_id = task.claim.as_deref().unwrap_or_default();
    let assignee = task.assignee.as_deref().unwrap_or_default();
    let fix = format!("claim with `git comm task claim {} --sync`", task.id);
    let holder = match facts.lease(lease_id) {
        None => {
            return Err(refuse(
                "claim-lease",
                format!(
                    "{} recorded a claim of {} for {assignee} on lease {lease_id}, which the \
                     lease ledger does not hold",
                    w.agent, task.id
                ),
                fix,
            ))
        }
        Some(LeaseFact::Live(lease)) => {
            if !lease.resources.contains(&claim_key(&task.id)) {
                return Err(refuse(
                    "claim-lease",
                    format!(
                        "lease {lease_id} does not hold task:{} (it holds {})",
                        task.id,
                        lease.resources.join(" ")
                    ),
                    fix,
                ));
            }
            lease.holder
        }
        Some(LeaseFact::Ended(tomb)) => tomb.holder,
    };
    if holder != assignee {
        return Err(refuse(
            "claim-lease",
            format!(
                "{} recorded a claim of {} for {assignee} on lease {lease_id}, held by {holder}",
                w.agent, task.id
            ),
            fix,
        ));
    }
    Ok(())
}

fn claim_ended(old: &Task, facts: &dyn Facts) -> bool {
    let lease = old.claim.as_deref().unwrap_or_default();
    !matches!(facts.lease(lease), Some(LeaseFact::Live(_)))
}

fn only_claim_fields_differ(old: &Task, new: &Task) -> bool {
    let claim_fields = |t: &Task| Task {
        state: String::new(),
        assignee: None,
        claim: None,
        updated: 0,
        ..t.clone()
    };
    claim_fields(old) == claim_fields(new)
        && matches!(new.state.as_str(), "claimed" | "in_progress")
}

fn task_edit_allowed(
    w: &Writer,
    old: &Task,
    new: &Task,
    forced: &[String],
    facts: &dyn Facts,
) -> Result<(), Refusal> {
    let own = w.agent == old.creator
        || old.assignee.as_deref() == Some(w.agent)
        || (old.claim.is_none() && new.assignee.as_deref() == Some(w.agent));
    if own || forced.iter().any(|id| id == &old.id) {
        return Ok(());
    }
    match &old.assignee {
        Some(holder) if old.claim.is_some() => Err(refuse(
            "task-owner",
            format!(
                "{} changed task {} ({} -> {}), which {holder} holds and {} created",
                w.agent, old.id, old.state, new.state, old.creator
            ),
            format!(
                "ask {holder}, or force it on record: git comm task done {} --force --reason TEXT",
                old.id
            ),
        )),
        _ if facts.is_agent(w.agent) => Ok(()),
        _ => Err(refuse(
            "task-owner",
            format!(
                "{} changed task {} ({} -> {}) but is not an agent of this repository",
                w.agent, old.id, old.state, new.state
            ),
            format!("join first (git comm join {})", w.agent),
        )),
    }
}

/// One changed file of the lease ledger: its name and the bytes on each side.
pub struct LedgerFile<'a> {
    pub name: &'a str,
    pub old: Option<&'a [u8]>,
    pub new: Option<&'a [u8]>,
}

/// May `w` make this change to the lease ledger? `merge`: the commit joins two ledgers
/// (sync), so it may only keep a parent's entry (checked by the caller) or end a lease;
/// `time` is the commit's own time.
pub fn lease_change(
    w: &Writer,
    file: &LedgerFile,
    merge: bool,
    time: i64,
    clock: Clock,
) -> Result<(), Refusal> {
    if file.name.ends_with(JSON_SUFFIX) {
        return lease_file(w, file, merge);
    }
    if file.name.ends_with(END_SUFFIX) {
        return tombstone_file(w, file, merge, time, clock);
    }
    Ok(()) // not a ledger file: the schema check refuses it
}

fn lease_file(w: &Writer, file: &LedgerFile, merge: bool) -> Result<(), Refusal> {
    let Some(bytes) = file.new else {
        return Ok(()); // its tombstone is checked on its own; a bare removal below
    };
    let Ok(lease) = serde_json::from_slice::<Lease>(bytes) else {
        return Ok(()); // the schema check refuses it
    };
    if merge {
        return Err(refuse(
            "merge-keeps",
            format!("a merge wrote lease {} as neither parent had it", lease.id),
            "merge with `git comm sync`, which keeps each lease as one side wrote it",
        ));
    }
    if lease.holder != w.agent {
        return Err(refuse(
            "lease-holder",
            format!(
                "{} wrote lease {} held by {}",
                w.agent, lease.id, lease.holder
            ),
            "take leases as yourself; break another's on record with `git comm lease break`",
        ));
    }
    Ok(())
}

fn tombstone_file(
    w: &Writer,
    file: &LedgerFile,
    merge: bool,
    time: i64,
    clock: Clock,
) -> Result<(), Refusal> {
    let Some(bytes) = file.new else {
        let Some(tomb) = file
            .old
            .and_then(|b| serde_json::from_slice::<Tombstone>(b).ok())
        else {
            return Ok(());
        };
        return tombstone_forgotten(w, &tomb, time, clock);
    };
    let Ok(tomb) = serde_json::from_slice::<Tombstone>(bytes) else {
        return Ok(());
    };
    if file.old.is_some() {
        return Ok(()); // an ended lease stays ended, however it is recorded
    }
    let allowed = match tomb.how.as_str() {
        "release" => tomb.holder == w.agent,
        "expire" => tomb.ended >= tomb.expires,
        "break" | "withdraw" => !merge,
        "drop" => merge,
        _ => false,
    };
    if allowed {
        return Ok(());
    }
    Err(refuse(
        "lease-ending",
        format!(
            "{} ended lease {} of {} as '{}' (ended {}, expires {})",
            w.agent, tomb.id, tomb.holder, tomb.how, tomb.ended, tomb.expires
        ),
        "release your own leases; end another's with `git comm lease break ID --reason TEXT`",
    ))
}

fn tombstone_forgotten(
    w: &Writer,
    tomb: &Tombstone,
    time: i64,
    clock: Clock,
) -> Result<(), Refusal> {
    if tomb.expires + 2 * clock.skew <= time.min(clock.now) + clock.skew {
        return Ok(());
    }
    Err(refuse(
        "lease-ending",
        format!(
            "{} removed the tombstone of lease {} before its expiry plus twice the skew tolerance",
            w.agent, tomb.id
        ),
        "keep tombstones: `git comm sync` forgets them when they can no longer matter",
    ))
}

/// A live lease removed without its tombstone.
pub fn lease_vanished(w: &Writer, name: &str) -> Refusal {
    refuse(
        "lease-ending",
        format!(
            "{} removed lease {name} without ending it on record",
            w.agent
        ),
        "release or break leases; never delete them",
    )
}

/// May `w` record `halt`? `overseers` are the config's (agents, roles or git identities).
pub fn halt_change(
    w: &Writer,
    halt: &Halt,
    overseers: &[String],
    facts: &dyn Facts,
    clock: Clock,
) -> Result<(), Refusal> {
    let verb = if halt.halted { "halt" } else { "resume" };
    let what = format!("{verb} by {}", halt.by);
    clock.not_ahead(&what, halt.since, "halt or resume again")?;
    if halt.by != w.agent {
        return Err(refuse(
            "halt-by",
            format!("{} recorded a {verb} in the name of {}", w.agent, halt.by),
            "halt and resume as yourself",
        ));
    }
    if may_oversee(w, overseers, facts) {
        return Ok(());
    }
    let who = if overseers.is_empty() {
        "an agent of this repository or the operator".to_string()
    } else {
        format!("an overseer ({})", overseers.join(", "))
    };
    Err(refuse(
        "overseer",
        format!("{verb} by {}, who is not {who}", w.agent),
        "ask an overseer; `overseers:` in .comm-node/config.yaml names them",
    ))
}

fn may_oversee(w: &Writer, overseers: &[String], facts: &dyn Facts) -> bool {
    if overseers.is_empty() {
        return w.agent == OPERATOR || facts.is_agent(w.agent);
    }
    let role = facts.role_of(w.agent);
    let email = w
        .committer
        .split_once('<')
        .map(|(_, e)| e.trim_end_matches('>').trim());
    overseers.iter().any(|o| {
        o == w.agent
            || role.as_deref() == Some(o.as_str())
            || o == w.committer
            || email == Some(o.as_str())
    })
}

/// May `w` write `new` as the card of `agent` (over `old`)?
pub fn card_change(w: &Writer, agent: &str, old: Option<&Card>, new: &Card) -> Result<(), Refusal> {
    if w.agent == agent {
        return Ok(());
    }
    let retired_by_writer = new.retired.as_ref().is_some_and(|r| r.by == w.agent)
        && old.is_none_or(|o| o.retired != new.retired);
    let seeded = new.last_seen == 0 && old.is_none_or(|o| o.last_seen == 0);
    if retired_by_writer || seeded {
        return Ok(());
    }
    Err(refuse(
        "own-card",
        format!("{} wrote the card of {agent}", w.agent),
        format!(
            "only {agent} updates its card (git comm join {agent}); retire with git comm retire"
        ),
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    struct World {
        leases: Vec<LeaseFact>,
        agents: Vec<&'static str>,
    }

    impl Facts for World {
        fn lease(&self, id: &str) -> Option<LeaseFact> {
            self.leases
                .iter()
                .find(|l| match l {
                    LeaseFact::Live(l) => l.id == id,
                    LeaseFact::Ended(t) => t.id == id,
                })
                .cloned()
        }
        fn is_agent(&self, name: &str) -> bool {
            self.agents.contains(&name)
        }
        fn role_of(&self, name: &str) -> Option<String> {
            (name == "lead").then(|| "lead".to_string())
        }
    }

    const CLOCK: Clock = Clock {
        now: 1_000_000,
        skew: 300,
    };

    fn writer(agent: &str) -> Writer<'_> {
        Writer {
            agent,
            committer: "Pat <pat@example.com>",
        }
    }

    fn task(state: &str, assignee: Option<&str>, claim: Option<&str>) -> Task {
        Task::sample(state, assignee, claim)
    }

    fn alice_lease() -> Lease {
        Lease {
            id: "aaaaaaaaaaaa".into(),
            holder: "alice".into(),
            resources: vec!["task:t-0000000a".into()],
            exclusive: true,
            reason: None,
            task: None,
            created: 10,
            expires: 2_000_000,
        }
    }

    fn world() -> World {
        World {
            leases: vec![LeaseFact::Live(alice_lease())],
            agents: vec!["alice", "bob", "lead"],
        }
    }

    #[test]
    fn a_claim_must_stand_on_the_assignees_lease() {
        let open = task("open", None, None);
        let forged = task("claimed", Some("alice"), Some("0123456789ab"));
        let err = task_change(
            &writer("bob"),
            Some(&open),
            Some(&forged),
            &[],
            &world(),
            CLOCK,
        );
        assert_eq!(err.unwrap_err().rule, "claim-lease");
        let real = task("claimed", Some("alice"), Some("aaaaaaaaaaaa"));
        assert!(task_change(
            &writer("bob"),
            Some(&open),
            Some(&real),
            &[],
            &world(),
            CLOCK
        )
        .is_ok());
        let for_bob = task("claimed", Some("bob"), Some("aaaaaaaaaaaa"));
        assert!(task_change(
            &writer("bob"),
            Some(&open),
            Some(&for_bob),
            &[],
            &world(),
            CLOCK
        )
        .is_err());
    }

    #[test]
    fn only_the_holder_or_creator_finishes_a_claimed_task_unless_forced() {
        let held = task("claimed", Some("alice"), Some("aaaaaaaaaaaa"));
        let done = task("done", Some("alice"), Some("aaaaaaaaaaaa"));
        let w = world();
        assert!(task_change(&writer("alice"), Some(&held), Some(&done), &[], &w, CLOCK).is_ok());
        assert!(task_change(&writer("lead"), Some(&held), Some(&done), &[], &w, CLOCK).is_ok());
        let err = task_change(&writer("bob"), Some(&held), Some(&done), &[], &w, CLOCK);
        assert_eq!(err.unwrap_err().rule, "task-owner");
        let forced = vec!["t-0000000a".to_string()];
        assert!(task_change(&writer("bob"), Some(&held), Some(&done), &forced, &w, CLOCK).is_ok());
    }

    #[test]
    fn strangers_may_not_touch_tasks_and_nobody_deletes_or_dates_them_ahead() {
        let open = task("open", None, None);
        let done = task("done", None, None);
        let w = world();
        assert!(task_change(&writer("bob"), Some(&open), Some(&done), &[], &w, CLOCK).is_ok());
        let err = task_change(&writer("mallory"), Some(&open), Some(&done), &[], &w, CLOCK);
        assert_eq!(err.unwrap_err().rule, "task-owner");
        let err = task_change(&writer("lead"), Some(&open), None, &[], &w, CLOCK);
        assert_eq!(err.unwrap_err().rule, "task-kept");
        let mut future = done.clone();
        future.updated = CLOCK.now + 10_000;
        let err = task_change(&writer("lead"), Some(&open), Some(&future), &[], &w, CLOCK);
        assert_eq!(err.unwrap_err().rule, "time-cap");
        let err = task_change(&writer("bob"), None, Some(&open), &[], &w, CLOCK);
        assert_eq!(err.unwrap_err().rule, "task-creator");
    }

    #[test]
    fn a_claim_whose_lease_ended_may_be_cleared_by_anyone() {
        let held = task("claimed", Some("alice"), Some("aaaaaaaaaaaa"));
        let reopened = task("open", None, None);
        assert!(task_change(
            &writer("bob"),
            Some(&held),
            Some(&reopened),
            &[],
            &world(),
            CLOCK
        )
        .is_err());
        let ended = World {
            leases: vec![LeaseFact::Ended(Tombstone {
                id: "aaaaaaaaaaaa".into(),
                holder: "alice".into(),
                expires: 20,
                ended: 15,
                how: "release".into(),
            })],
            agents: vec![],
        };
        assert!(task_change(
            &writer("bob"),
            Some(&held),
            Some(&reopened),
            &[],
            &ended,
            CLOCK
        )
        .is_ok());
    }

    #[test]
    fn halts_need_an_overseer_or_an_agent_and_no_future_date() {
        let halt = |by: &str, since: i64| Halt {
            halted: true,
            reason: "x".into(),
            by: by.into(),
            domain: None,
            since,
        };
        let w = world();
        let err = halt_change(&writer("mallory"), &halt("mallory", 10), &[], &w, CLOCK);
        assert_eq!(err.unwrap_err().rule, "overseer");
        assert!(halt_change(&writer("bob"), &halt("bob", 10), &[], &w, CLOCK).is_ok());
        let leads = vec!["lead".to_string()];
        assert!(halt_change(&writer("bob"), &halt("bob", 10), &leads, &w, CLOCK).is_err());
        assert!(halt_change(&writer("lead"), &halt("lead", 10), &leads, &w, CLOCK).is_ok());
        let people = vec!["pat@example.com".to_string()];
        assert!(halt_change(
            &writer("operator"),
            &halt("operator", 10),
            &people,
            &w,
            CLOCK
        )
        .is_ok());
        let err = halt_change(
            &writer("bob"),
            &halt("bob", 253_402_300_799),
            &[],
            &w,
            CLOCK,
        );
        assert_eq!(err.unwrap_err().rule, "time-cap");
        let err = halt_change(&writer("bob"), &halt("alice", 10), &[], &w, CLOCK);
        assert_eq!(err.unwrap_err().rule, "halt-by");
    }

    #[test]
    fn leases_are_written_by_their_holder_and_ended_on_record() {
        let lease = serde_json::to_vec(&alice_lease()).unwrap();
        let file = |old: Option<&'static [u8]>, new| LedgerFile {
            name: "aaaaaaaaaaaa.json",
            old,
            new,
        };
        assert!(lease_change(
            &writer("alice"),
            &file(None, Some(&lease)),
            false,
            10,
            CLOCK
        )
        .is_ok());
        let err = lease_change(&writer("bob"), &file(None, Some(&lease)), false, 10, CLOCK);
        assert_eq!(err.unwrap_err().rule, "lease-holder");
        let tomb = |how: &str, ended: i64| {
            serde_json::to_vec(&Tombstone {
                id: "aaaaaaaaaaaa".into(),
                holder: "alice".into(),
                expires: 100,
                ended,
                how: how.into(),
            })
            .unwrap()
        };
        let end = |w: &str, bytes: &[u8], merge| {
            let f = LedgerFile {
                name: "aaaaaaaaaaaa.end",
                old: None,
                new: Some(bytes),
            };
            lease_change(&writer(w), &f, merge, 10, CLOCK)
        };
        assert!(end("alice", &tomb("release", 50), false).is_ok());
        assert!(end("bob", &tomb("release", 50), false).is_err());
        assert!(end("bob", &tomb("expire", 50), false).is_err());
        assert!(end("bob", &tomb("expire", 150), false).is_ok());
        assert!(end("bob", &tomb("break", 50), false).is_ok());
        assert!(end("bob", &tomb("drop", 50), false).is_err());
        assert!(end("git-comm", &tomb("drop", 50), true).is_ok());
    }

    #[test]
    fn cards_are_their_agents_own() {
        let card = |name: &str, seen: i64| Card {
            name: name.into(),
            last_seen: seen,
            joined: seen,
            ..Card::default()
        };
        assert!(card_change(&writer("bob"), "bob", None, &card("bob", 5)).is_ok());
        assert!(card_change(&writer("mallory"), "bob", None, &card("bob", 5)).is_err());
        assert!(card_change(&writer("lead"), "bob", None, &card("bob", 0)).is_ok());
        assert!(card_change(
            &writer("lead"),
            "bob",
            Some(&card("bob", 5)),
            &card("bob", 0)
        )
        .is_err());
    }

    #[test]
    fn forced_trailers_name_tasks() {
        let message = "done t-0000000a by bob\n\nComm-Forced: t-0000000a alice vanished\n";
        assert_eq!(forced_tasks(message), vec!["t-0000000a".to_string()]);
    }
}
