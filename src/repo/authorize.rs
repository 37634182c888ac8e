//! The authorization half of the gate: every commit a remote adds to the task ledger, the
//! lease ledger, the halt or an agent card is judged by [`crate::model::authority`] against
//! the records it changes, with the lease ledger and cards of the same state as facts.
//! Sync's admission and the server guard call it through [`super::gate::admit_in`].

use std::cell::OnceCell;
use std::collections::HashMap;

use gix::bstr::ByteSlice;

use super::gate::Kind;
use super::tracking;
use super::{ObjectId, Repo};
use crate::model::authority::{self, Clock, Facts, LeaseFact, LedgerFile, Refusal, Writer};
use crate::model::card::{Card, CARD_FILE};
use crate::model::halt::{Halt, FILE as HALT_FILE};
use crate::model::lease::entry::{Tombstone, END_SUFFIX, JSON_SUFFIX};
use crate::model::lease::Lease;
use crate::model::task::Task;

/// A refused commit: which, by whom, and the rule's verdict.
#[derive(Debug, Clone)]
pub struct Refused {
    pub commit: ObjectId,
    pub agent: String,
    pub refusal: Refusal,
}

/// Values of the same push (suffix below the namespace, new value): the facts a commit is
/// judged with come from them first.
pub type Pending<'a> = &'a [(String, ObjectId)];

/// Judge every commit `incoming` adds over `known` for `kind`.
pub fn new_history(
    repo: &Repo,
    kind: &Kind,
    incoming: ObjectId,
    known: &[ObjectId],
    pending: Pending,
) -> Result<(), Refused> {
    if !matches!(
        kind,
        Kind::Tasks | Kind::Leases | Kind::Halt | Kind::Card(_)
    ) {
        return Ok(());
    }
    let facts = RepoFacts::new(repo, pending);
    let clock = Clock {
        now: crate::clock::now_secs(),
        skew: repo.policy().skew_secs,
    };
    let hidden: Vec<ObjectId> = known
        .iter()
        .copied()
        .filter(|k| repo.gix().find_commit(*k).is_ok())
        .collect();
    let Ok(walk) = super::walk::only_from(repo, &[incoming], &hidden) else {
        return Ok(()); // the gate's history check reports an unwalkable history
    };
    for visit in walk.flatten() {
        let Some(commit) = Commit::read(repo, visit.id) else {
            continue;
        };
        let judged = Judge {
            repo,
            commit: &commit,
            facts: &facts,
            clock,
        };
        judged.kind(kind).map_err(|refusal| Refused {
            commit: visit.id,
            agent: commit.author.clone(),
            refusal,
        })?;
    }
    Ok(())
}

/// A commit's essentials for the rules.
struct Commit {
    tree: ObjectId,
    parents: Vec<ObjectId>,
    author: String,
    committer: String,
    time: i64,
    message: String,
}

impl Commit {
    fn read(repo: &Repo, id: ObjectId) -> Option<Commit> {
        let commit = repo.gix().find_commit(id).ok()?;
        let decoded = commit.decode().ok()?;
        let author = decoded.author().ok()?;
        let committer = decoded.committer().ok()?;
        Some(Commit {
            tree: decoded.tree(),
            parents: decoded.parents().collect(),
            author: author.name.to_str_lossy().into_owned(),
            committer: format!(
                "{} <{}>",
                committer.name.to_str_lossy(),
                committer.email.to_str_lossy()
            ),
            time: author.seconds(),
            message: decoded.message.to_str_lossy().into_owned(),
        })
    }

    fn writer(&self) -> Writer<'_> {
        Writer {
            agent: &self.author,
            committer: &self.committer,
        }
    }

    fn is_merge(&self) -> bool {
        self.parents.len() > 1
    }
}

struct Judge<'a> {
    repo: &'a Repo,
    commit: &'a Commit,
    facts: &'a RepoFacts<'a>,
    clock: Clock,
}

impl Judge<'_> {
    fn kind(&self, kind: &Kind) -> Result<(), Refusal> {
        if self.commit.is_merge() && self.tree_of_a_parent() {
            return Ok(()); // a join that keeps one side as it was adds nothing
        }
        match kind {
            Kind::Tasks => self.tasks(),
            Kind::Leases => self.leases(),
            Kind::Halt => self.halt(),
            Kind::Card(agent) => self.card(agent),
            _ => Ok(()),
        }
    }

    fn tree_of_a_parent(&self) -> bool {
        self.commit
            .parents
            .iter()
            .any(|p| tree_of(self.repo, *p) == Some(self.commit.tree))
    }

    fn first_parent_tree(&self) -> Option<ObjectId> {
        self.commit
            .parents
            .first()
            .and_then(|p| tree_of(self.repo, *p))
    }

    fn other_parent_trees(&self) -> Vec<ObjectId> {
        self.commit
            .parents
            .iter()
            .skip(1)
            .filter_map(|p| tree_of(self.repo, *p))
            .collect()
    }

    fn tasks(&self) -> Result<(), Refusal> {
        let w = self.commit.writer();
        let forced = authority::forced_tasks(&self.commit.message);
        let others = self.other_parent_trees();
        for change in changes(self.repo, self.first_parent_tree(), self.commit.tree) {
            let new = change.new.and_then(|id| parse::<Task>(self.repo, id));
            if self.commit.is_merge() {
                self.task_merged(&change, new.as_ref(), &others)?;
                continue;
            }
            let old = change.old.and_then(|id| parse::<Task>(self.repo, id));
            authority::task_change(
                &w,
                old.as_ref(),
                new.as_ref(),
                &forced,
                self.facts,
                self.clock,
            )?;
        }
        Ok(())
    }

    /// A merge may only recombine what its parents hold: every field of a merged task is
    /// that field in one of the parents.
    fn task_merged(
        &self,
        change: &Change,
        new: Option<&Task>,
        others: &[ObjectId],
    ) -> Result<(), Refusal> {
        let mut versions: Vec<serde_json::Value> = Vec::new();
        for tree in others {
            let found = find_entry(self.repo, *tree, &change.name, task_fan(&change.name));
            if found.is_some() && found == change.new {
                return Ok(());
            }
            versions.extend(found.and_then(|id| parse::<serde_json::Value>(self.repo, id)));
        }
        versions.extend(
            change
                .old
                .and_then(|id| parse::<serde_json::Value>(self.repo, id)),
        );
        let merged = new.and_then(|t| serde_json::to_value(t).ok());
        if merged.as_ref().is_some_and(|m| recombines(m, &versions)) {
            return Ok(());
        }
        Err(merge_refusal(&change.name))
    }

    fn leases(&self) -> Result<(), Refusal> {
        let w = self.commit.writer();
        let merge = self.commit.is_merge();
        let others = self.other_parent_trees();
        let all = changes(self.repo, self.first_parent_tree(), self.commit.tree);
        for change in &all {
            let fan = lease_fan(&change.name);
            let kept = others.iter().any(|t| {
                change.new.is_some() && find_entry(self.repo, *t, &change.name, fan) == change.new
            });
            if kept {
                continue;
            }
            if change.new.is_none() && change.name.ends_with(JSON_SUFFIX) {
                let end = change.name.replace(JSON_SUFFIX, END_SUFFIX);
                if find_entry(self.repo, self.commit.tree, &end, lease_fan(&end)).is_none() {
                    return Err(authority::lease_vanished(&w, &change.name));
                }
                continue;
            }
            let old = change.old.map(|id| blob(self.repo, id));
            let new = change.new.map(|id| blob(self.repo, id));
            let file = LedgerFile {
                name: &change.name,
                old: old.as_deref(),
                new: new.as_deref(),
            };
            authority::lease_change(&w, &file, merge, self.commit.time, self.clock)?;
        }
        Ok(())
    }

    fn halt(&self) -> Result<(), Refusal> {
        let Some(halt) = find_entry(self.repo, self.commit.tree, HALT_FILE, "")
            .and_then(|id| parse::<Halt>(self.repo, id))
        else {
            return Ok(()); // the schema check refuses it
        };
        authority::halt_change(
            &self.commit.writer(),
            &halt,
            &self.repo.policy().overseers,
            self.facts,
            self.clock,
        )
    }

    fn card(&self, agent: &str) -> Result<(), Refusal> {
        let read = |tree: ObjectId| {
            find_entry(self.repo, tree, CARD_FILE, "").and_then(|id| parse::<Card>(self.repo, id))
        };
        let Some(new) = read(self.commit.tree) else {
            return Ok(());
        };
        let old = self.first_parent_tree().and_then(read);
        authority::card_change(&self.commit.writer(), agent, old.as_ref(), &new)
    }
}

fn merge_refusal(name: &str) -> Refusal {
    Refusal {
        rule: "merge-keeps",
        why: format!("a merge wrote {name} with values neither parent holds"),
        fix: "merge with `git comm sync`, which only recombines what each side wrote".into(),
    }
}

/// Is every field of `merged` that field in one of `versions`?
fn recombines(merged: &serde_json::Value, versions: &[serde_json::Value]) -> bool {
    let Some(fields) = merged.as_object() else {
        return false;
    };
    let field_of = |v: &serde_json::Value, key: &str| v.get(key).cloned();
    let mut keys: Vec<&String> = fields.keys().collect();
    let absent: Vec<String> = versions
        .iter()
        .filter_map(|v| v.as_object())
        .flat_map(|o| o.keys().cloned())
        .filter(|k| !fields.contains_key(k))
        .collect();
    keys.extend(absent.iter());
    keys.into_iter().all(|key| {
        let value = fields.get(key).cloned();
        versions.iter().any(|v| field_of(v, key) == value)
    })
}

/// One ledger file that differs between two trees, by its name (either layout).
struct Change {
    name: String,
    old: Option<ObjectId>,
    new: Option<ObjectId>,
}

/// The files that differ between ledger trees `old` and `new` (flat or fanned out, paired by
/// file name, so moving a file between layouts is no change). Only differing subtrees are
/// read.
fn changes(repo: &Repo, old: Option<ObjectId>, new: ObjectId) -> Vec<Change> {
    let mut removed: HashMap<String, ObjectId> = HashMap::new();
    let mut added: HashMap<String, ObjectId> = HashMap::new();
    let old_items = old.map(|t| items(repo, t)).unwrap_or_default();
    let new_items = items(repo, new);
    for (name, (id, is_dir)) in &new_items {
        match old_items.get(name) {
            Some((old_id, _)) if old_id == id => {}
            Some((old_id, true)) if *is_dir => {
                files_into(repo, *old_id, true, name, &mut removed);
                files_into(repo, *id, true, name, &mut added);
            }
            Some((old_id, old_dir)) => {
                files_into(repo, *old_id, *old_dir, name, &mut removed);
                files_into(repo, *id, *is_dir, name, &mut added);
            }
            None => files_into(repo, *id, *is_dir, name, &mut added),
        }
    }
    for (name, (id, is_dir)) in &old_items {
        if !new_items.contains_key(name) {
            files_into(repo, *id, *is_dir, name, &mut removed);
        }
    }
    let mut names: Vec<String> = removed.keys().chain(added.keys()).cloned().collect();
    names.sort();
    names.dedup();
    names
        .into_iter()
        .map(|name| Change {
            old: removed.get(&name).copied(),
            new: added.get(&name).copied(),
            name,
        })
        .filter(|c| c.old != c.new)
        .collect()
}

fn files_into(
    repo: &Repo,
    id: ObjectId,
    is_dir: bool,
    name: &str,
    out: &mut HashMap<String, ObjectId>,
) {
    if !is_dir {
        out.insert(name.to_string(), id);
        return;
    }
    for (file, (file_id, nested)) in items(repo, id) {
        if !nested {
            out.insert(file, file_id);
        }
    }
}

fn items(repo: &Repo, tree: ObjectId) -> HashMap<String, (ObjectId, bool)> {
    let Ok(tree) = repo.gix().find_tree(tree) else {
        return HashMap::new();
    };
    tree.iter()
        .flatten()
        .map(|e| {
            (
                e.filename().to_string(),
                (e.oid().to_owned(), e.mode().is_tree()),
            )
        })
        .collect()
}

fn tree_of(repo: &Repo, commit: ObjectId) -> Option<ObjectId> {
    Some(
        repo.gix()
            .find_commit(commit)
            .ok()?
            .tree_id()
            .ok()?
            .detach(),
    )
}

/// The blob of ledger file `name` in `tree`: under its fan-out directory `fan`, or flat.
fn find_entry(repo: &Repo, tree: ObjectId, name: &str, fan: &str) -> Option<ObjectId> {
    let tree = repo.gix().find_tree(tree).ok()?;
    let fanned = format!("{fan}/{name}");
    let mut paths = vec![name];
    if !fan.is_empty() {
        paths.insert(0, fanned.as_str());
    }
    let found = paths.into_iter().find_map(|p| {
        tree.clone()
            .peel_to_entry_by_path(p)
            .ok()
            .flatten()
            .map(|e| e.object_id())
    });
    found
}

fn task_fan(name: &str) -> &str {
    crate::model::task::fan_dir(name)
}

fn lease_fan(name: &str) -> &str {
    crate::model::lease::entry::fan_dir(name)
}

fn blob(repo: &Repo, id: ObjectId) -> Vec<u8> {
    repo.gix()
        .find_blob(id)
        .map(|b| b.data.clone())
        .unwrap_or_default()
}

fn parse<T: serde::de::DeserializeOwned>(repo: &Repo, id: ObjectId) -> Option<T> {
    serde_json::from_slice(&blob(repo, id)).ok()
}

/// The lease ledgers and cards a commit is judged with: the push's own values first, then
/// this repository's refs, then what was fetched from or admitted for each remote.
struct RepoFacts<'a> {
    repo: &'a Repo,
    pending: Pending<'a>,
    lease_tips: OnceCell<Vec<ObjectId>>,
    /// Incoming refs and tracking copies (suffix, value), listed once per judged value.
    remote_refs: OnceCell<Vec<(String, ObjectId)>>,
}

impl<'a> RepoFacts<'a> {
    fn new(repo: &'a Repo, pending: Pending<'a>) -> RepoFacts<'a> {
        RepoFacts {
            repo,
            pending,
            lease_tips: OnceCell::new(),
            remote_refs: OnceCell::new(),
        }
    }

    /// Every value of `suffix` in sight: pending, local, incoming and tracking.
    fn values_of(&self, suffix: &str) -> Vec<ObjectId> {
        let mut values: Vec<ObjectId> = self
            .pending
            .iter()
            .filter(|(s, _)| s == suffix)
            .map(|(_, id)| *id)
            .collect();
        values.extend(self.repo.read_ref(&self.repo.ns_ref(suffix)).ok().flatten());
        let remote_refs = self.remote_refs.get_or_init(|| remote_values(self.repo));
        values.extend(
            remote_refs
                .iter()
                .filter(|(s, _)| s == suffix)
                .map(|(_, id)| *id),
        );
        values
    }

    fn card(&self, name: &str) -> Option<Card> {
        self.values_of(&format!("agents/{name}"))
            .into_iter()
            .find_map(|commit| {
                let tree = tree_of(self.repo, commit)?;
                parse(self.repo, find_entry(self.repo, tree, CARD_FILE, "")?)
            })
    }
}

/// Every remote's fetched and admitted values: (suffix, value).
fn remote_values(repo: &Repo) -> Vec<(String, ObjectId)> {
    let fetched = super::incoming::read_all(repo)
        .unwrap_or_default()
        .into_iter()
        .map(|(_, suffix, id)| (suffix, id));
    let admitted = tracking::read_all(repo)
        .unwrap_or_default()
        .into_iter()
        .flat_map(|(_, copies)| copies);
    fetched.chain(admitted).collect()
}

impl Facts for RepoFacts<'_> {
    fn lease(&self, id: &str) -> Option<LeaseFact> {
        let tips = self.lease_tips.get_or_init(|| self.values_of("leases"));
        let json = format!("{id}{JSON_SUFFIX}");
        let end = format!("{id}{END_SUFFIX}");
        let trees: Vec<ObjectId> = tips.iter().filter_map(|t| tree_of(self.repo, *t)).collect();
        let live = trees.iter().find_map(|tree| {
            let blob = find_entry(self.repo, *tree, &json, lease_fan(&json))?;
            parse::<Lease>(self.repo, blob)
        });
        if let Some(lease) = live {
            return Some(LeaseFact::Live(lease));
        }
        trees.iter().find_map(|tree| {
            let blob = find_entry(self.repo, *tree, &end, lease_fan(&end))?;
            parse::<Tombstone>(self.repo, blob).map(LeaseFact::Ended)
        })
    }

    fn is_agent(&self, name: &str) -> bool {
        self.repo.policy().agents.iter().any(|a| a == name) || self.card(name).is_some()
    }

    fn role_of(&self, name: &str) -> Option<String> {
        self.card(name)?.role
    }
}
