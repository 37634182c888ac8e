//! Kickoff and the agent contract.
//!
//! `plan FILE.yaml` seeds agents (cards with domain and role), tasks (with dependencies by
//! plan key, and artifact needs) and one kickoff message; re-running it changes nothing
//! already there (agents by name, tasks by title and domain, the kickoff by subject).
//! `prime AGENT` writes the agent's contract from the config and the current state.

use std::collections::{BTreeMap, HashMap};
use std::path::Path;

use serde::Deserialize;

use crate::agent::{self, JoinOptions};
use crate::config::Config;
use crate::error::{Error, Result};
use crate::mail::{mailbox, Draft, Priority};
use crate::repo::Repo;

use super::ledger::{self, Change};
use super::work::{self, NewTask};
use super::Task;

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Plan {
    /// Sent once to all as the kickoff message (first line is the subject).
    #[serde(default)]
    pub kickoff: Option<String>,
    #[serde(default)]
    pub agents: BTreeMap<String, PlanAgent>,
    #[serde(default)]
    pub tasks: Vec<PlanTask>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PlanAgent {
    #[serde(default)]
    pub domain: Option<String>,
    #[serde(default)]
    pub role: Option<String>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PlanTask {
    /// How other tasks of the plan refer to this one in `after`.
    pub key: String,
    pub title: String,
    #[serde(default)]
    pub body: String,
    #[serde(default)]
    pub domain: Option<String>,
    #[serde(default)]
    pub priority: Option<String>,
    #[serde(default)]
    pub after: Vec<String>,
    #[serde(default)]
    pub needs: Vec<String>,
}

/// What `plan` did.
#[derive(Debug, Default, serde::Serialize)]
pub struct Planned {
    pub agents_added: Vec<String>,
    pub tasks_added: Vec<String>,
    pub tasks_kept: Vec<String>,
    pub kickoff: Option<String>,
}

pub fn load(path: &Path) -> Result<Plan> {
    let text = std::fs::read_to_string(path)
        .map_err(|e| Error::usage(format!("cannot read {}: {e}", path.display())))?;
    yaml_serde::from_str(&text).map_err(|e| {
        let at = e
            .location()
            .map(|l| format!(":{}:{}", l.line(), l.column()))
            .unwrap_or_default();
        Error::config(format!("{}{at}: {e}", path.display()))
            .with_hint("a plan has kickoff, agents {NAME: {domain, role}}, tasks [{key, title, domain, priority, after, needs, body}]")
    })
}

/// Apply `plan` as `me`. Idempotent, and all or nothing: every entry is checked before
/// anything is written, and the tasks are one ledger commit (one compare-and-swap).
pub fn apply(repo: &Repo, config: &Config, me: &str, plan: &Plan) -> Result<Planned> {
    let checked = check(config, plan)?;
    let mut done = Planned::default();
    for (name, a) in &plan.agents {
        if agent::read_card(repo, name)?.is_none() {
            agent::join(
                repo,
                config,
                name,
                JoinOptions {
                    domain: a.domain.clone(),
                    role: a.role.clone(),
                    ..JoinOptions::default()
                },
            )?;
            done.agents_added.push(name.clone());
        }
    }
    let (added, kept) = write_tasks(repo, me, &checked)?;
    done.tasks_added = added;
    done.tasks_kept = kept;
    if let Some(text) = &plan.kickoff {
        done.kickoff = send_kickoff(repo, me, text)?;
    }
    Ok(done)
}

/// A plan task, checked: its fields parsed and its `after` keys resolved to plan indexes.
struct Checked {
    key: String,
    new: NewTask,
    after: Vec<usize>,
}

/// Every problem of the plan, before anything is written: agent names and domains, task
/// keys (unique, `after` only earlier ones), titles, priorities, needs and domains.
fn check(config: &Config, plan: &Plan) -> Result<Vec<Checked>> {
    for (name, a) in &plan.agents {
        agent::validate_name(name)
            .map_err(|e| Error::usage(format!("plan: agent '{name}': {}", e.message)))?;
        check_domain(config, a.domain.as_deref(), &format!("agent '{name}'"))?;
    }
    let mut index: BTreeMap<&str, usize> = BTreeMap::new();
    let mut out = Vec::with_capacity(plan.tasks.len());
    for (i, t) in plan.tasks.iter().enumerate() {
        let at = format!("task '{}'", t.key);
        if index.insert(t.key.as_str(), i).is_some() {
            return Err(Error::usage(format!(
                "plan: task key '{}' is used twice",
                t.key
            )));
        }
        let title = t.title.trim();
        if title.is_empty() || title.len() > super::MAX_TITLE || title.contains('\n') {
            return Err(Error::usage(format!(
                "plan: {at}: the title must be one line of 1..{} bytes",
                super::MAX_TITLE
            )));
        }
        if t.body.len() > super::MAX_BODY {
            return Err(Error::usage(format!(
                "plan: {at}: the body is longer than {} bytes",
                super::MAX_BODY
            )));
        }
        let priority = match &t.priority {
            Some(p) => Priority::parse(p).map_err(|e| in_plan(&at, e))?,
            None => Priority::Normal,
        };
        for need in &t.needs {
            super::parse_need(need).map_err(|e| in_plan(&at, e))?;
        }
        check_domain(config, t.domain.as_deref(), &at)?;
        let after = t
            .after
            .iter()
            .map(|k| {
                index
                    .get(k.as_str())
                    .copied()
                    .filter(|&j| j < i)
                    .ok_or_else(|| {
                        Error::usage(format!("plan: {at} comes after unknown or later key '{k}'"))
                            .with_hint("list a task before the tasks that come after it")
                    })
            })
            .collect::<Result<Vec<_>>>()?;
        out.push(Checked {
            key: t.key.clone(),
            new: NewTask {
                title: title.to_string(),
                body: t.body.clone(),
                domain: t.domain.clone(),
                after: Vec::new(),
                needs: t.needs.clone(),
                priority,
            },
            after,
        });
    }
    Ok(out)
}

fn in_plan(at: &str, e: Error) -> Error {
    let hint = e.hint.clone();
    let error = Error::usage(format!("plan: {at}: {}", e.message));
    match hint {
        Some(h) => error.with_hint(h),
        None => error,
    }
}

fn check_domain(config: &Config, domain: Option<&str>, at: &str) -> Result<()> {
    match domain {
        Some(d) if !config.domains.contains_key(d) => {
            let e = agent::unknown_domain(config, d);
            Err(in_plan(at, e))
        }
        _ => Ok(()),
    }
}

/// Write the plan's tasks that are not there yet (same title and domain) in one ledger
/// commit. Returns the ids (added, kept).
fn write_tasks(repo: &Repo, me: &str, checked: &[Checked]) -> Result<(Vec<String>, Vec<String>)> {
    let now = crate::clock::now_secs();
    let fresh_ids: Vec<String> = checked
        .iter()
        .map(|c| super::new_id(me, &c.new.title))
        .collect();
    let (mut added, mut kept) = (Vec::new(), Vec::new());
    let summary = format!("plan: {} tasks by {me}", checked.len());
    ledger::write_batch(repo, me, Some(&summary), |tasks| {
        let existing: HashMap<(&str, Option<&str>), &str> = tasks
            .iter()
            .map(|t| ((t.title.as_str(), t.domain.as_deref()), t.id.as_str()))
            .collect();
        let mut ids: Vec<String> = Vec::with_capacity(checked.len());
        let mut changes = Vec::new();
        (added, kept) = (Vec::new(), Vec::new());
        for (c, fresh) in checked.iter().zip(&fresh_ids) {
            let found = existing.get(&(c.new.title.as_str(), c.new.domain.as_deref()));
            if let Some(id) = found {
                kept.push(id.to_string());
                ids.push(id.to_string());
                continue;
            }
            let after = c.after.iter().map(|&j| ids[j].clone()).collect();
            let task = c.new.to_task(fresh, me, after, now);
            changes.push(Change {
                subject: format!("add {} {} (plan key {})", task.id, task.title, c.key),
                task,
            });
            added.push(fresh.clone());
            ids.push(fresh.clone());
        }
        Ok(changes)
    })?;
    Ok((added, kept))
}

/// Send the kickoff once (by subject); returns its subject when sent now.
fn send_kickoff(repo: &Repo, me: &str, text: &str) -> Result<Option<String>> {
    let mut lines = text.lines();
    let subject = format!("kickoff: {}", lines.next().unwrap_or("").trim());
    let sent = mailbox::all(repo)?
        .iter()
        .any(|m| m.subject == subject && m.from == me);
    if sent {
        return Ok(None);
    }
    let draft = Draft {
        subject: subject.clone(),
        body: lines.collect::<Vec<_>>().join("\n").trim().to_string(),
        to: vec![agent::EVERYONE.to_string()],
        kind: "kickoff".to_string(),
        priority: Priority::High,
        ..Draft::default()
    };
    mailbox::append(repo, me, &draft)?;
    Ok(Some(subject))
}

/// The agents' guide (docs/agents.md), printed by `prime --guide`: an agent in another
/// repository has no copy of this one's docs.
pub const GUIDE: &str = include_str!("../../docs/agents.md");

/// Where the contract sends an agent for more than the protocol says.
pub const GUIDE_POINTER: &str =
    "Guide (every step explained): `git comm prime --guide`. All commands: `git comm -h`.";

/// How an agent works with git comm in this repository: the middle of `prime`, and the
/// instruction block `setup` writes when no agent is named. It names only what exists here:
/// `--sync` and `sync` only with a remote (they exit 2 without one), artifact names only
/// with the config's domains. `agent`/`domain` fill in the identity and the own domain.
pub fn protocol(
    repo: &Repo,
    config: &Config,
    agent: Option<&str>,
    domain: Option<&str>,
) -> Vec<String> {
    let remote = crate::sync::resolve_remote(repo, None).is_ok();
    let sync_flag = if remote { " --sync" } else { "" };
    let mut lines = vec![
        String::new(),
        format!(
            "## Protocol (identity: export GIT_COMM_AGENT={})",
            agent.unwrap_or("NAME")
        ),
        "- Each turn: `git comm inbox --format compact --budget 300`; answer with `git comm reply ID -m ...`; a message marked `ack?` wants `git comm ack ID`.".into(),
        format!("- Get work: `git comm next --claim{sync_flag}`; details: `git comm task show ID`; then `git comm task start ID`."),
        "- Say what you do: `git comm state busy --task ID --note \"...\"`.".into(),
        format!(
            "- {}: `git comm lease PATH{sync_flag}`, commit, `git comm release --all`.",
            if config.domains.is_empty() {
                "Before committing a file others may edit"
            } else {
                "A file outside your domain (CHANGELOG, lockfiles)"
            }
        ),
    ];
    lines.extend(artifact_line(config, domain));
    lines.extend([
        "- Stuck: `git comm task block ID --reason \"...\"` and `git comm send AGENT -s \"...\" --type question`.".into(),
        "- Finished: `git comm task done ID -m \"summary\"`, then `git comm state idle` and `git comm next --claim`.".into(),
    ]);
    if remote {
        lines.push(
            "- Share state with other machines: `git comm sync` (waits sync by themselves).".into(),
        );
    }
    lines.extend([
        "- Never `git commit --no-verify`: when the hook refuses, its message says how to proceed."
            .into(),
        "- If a HALTED line appears: stop and wait for `git comm resume`.".into(),
    ]);
    lines
}

/// Artifacts are named `DOMAIN/NAME`: spelled with the domains this config has, or left
/// out where it has none.
fn artifact_line(config: &Config, domain: Option<&str>) -> Option<String> {
    let first = config.domains.keys().next()?;
    let own = domain.filter(|d| config.domains.contains_key(*d));
    let publish = own.unwrap_or(first);
    let wanted = config
        .domains
        .keys()
        .find(|d| Some(d.as_str()) != own)
        .unwrap_or(first);
    let known: Vec<&str> = config.domains.keys().map(String::as_str).take(8).collect();
    Some(format!(
        "- Hand over a contract: `git comm publish {publish}/NAME FILE -m \"what changed\"`; need one: `git comm wait {wanted}/NAME` (domains: {}).",
        known.join(", ")
    ))
}

/// The agent's contract, for its instructions file: who it is, what it may touch, its
/// peers, the protocol, and its ready tasks. At most 60 lines.
pub fn prime(repo: &Repo, config: &Config, name: &str) -> Result<String> {
    let card = agent::read_card(repo, name)?;
    let domain = agent::domain_of(config, card.as_ref(), name);
    let role = card.as_ref().and_then(|c| c.role.clone());
    let mut out = vec![format!("# git comm: contract for {name}")];
    out.push(format!(
        "You are {name}{}. Coordinate only through `git comm` (git refs; no server).",
        role.map(|r| format!(", the {r}")).unwrap_or_default()
    ));
    match domain
        .as_ref()
        .and_then(|d| config.domains.get(d).map(|s| (d, s)))
    {
        Some((d, spec)) => out.push(format!(
            "Domain {d}: commit only under {}{}.",
            spec.scope.join(", "),
            if config.common.is_empty() {
                String::new()
            } else {
                format!(" (and shared files: {})", config.common.join(", "))
            }
        )),
        None => out.push("No domain binding: any path, but respect others' leases.".into()),
    }
    let peers: Vec<String> = agent::roster(repo, config)?
        .into_iter()
        .filter(|c| c.name != name)
        .take(12)
        .map(|c| match &c.domain {
            Some(d) => format!("{} ({d})", c.name),
            None => c.name,
        })
        .collect();
    if !peers.is_empty() {
        out.push(format!("Peers: {}.", peers.join(", ")));
    }
    out.push(GUIDE_POINTER.to_string());
    out.extend(protocol(repo, config, Some(name), domain.as_deref()));
    let ready = work::ready_for(repo, domain.as_deref())?;
    let mine: Vec<&Task> = ready
        .iter()
        .filter(|t| t.domain.is_none() || t.domain == domain)
        .take(10)
        .collect();
    out.push(String::new());
    out.push("## Ready tasks".into());
    if mine.is_empty() {
        out.push("none right now: check `git comm task list`".into());
    }
    for t in mine {
        out.push(format!("- {} {} [{}]", t.id, t.title, t.priority.as_str()));
    }
    out.truncate(60);
    Ok(out.join("\n") + "\n")
}
