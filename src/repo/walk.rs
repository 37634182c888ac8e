//! Commits reachable from some tips and from none of the hidden ones, newest first, as
//! `git rev-list TIPS --not HIDDEN` lists them.
//!
//! gix's hidden walk (gix-traverse 0.64) can yield a commit that a hidden tip reaches: it
//! paints the overlap of the two histories and stops once every queued commit is stale, so
//! a visible tip that sits below the painted frontier (three clones' mail joined within one
//! second) is never reached by the paint, and the walk yields it. That made sync take a tip
//! it already held for a new head. Here the walk is git's `limit_list`: an uninteresting
//! mark travels down through every parent already seen, the walk goes on while a queued
//! commit is interesting or as new as the one just taken (then a few more, for skewed
//! clocks), and whatever ended up uninteresting is dropped at the end.

use std::cmp::Reverse;
use std::collections::{BinaryHeap, HashMap};

use crate::error::{Context, Result};
use crate::repo::{ObjectId, Repo};

/// One commit of a walk.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Visit {
    pub id: ObjectId,
    pub parents: Vec<ObjectId>,
    pub time: i64,
}

/// How many uninteresting commits past the point where nothing interesting is queued the
/// walk still takes, for commits whose clocks ran behind their parents' (git's SLOP).
const SLOP: u32 = 5;

/// Commits reachable from `tips` and not from `hidden`, newest first. With nothing hidden
/// this is the whole history below `tips`, read lazily by gix's own walk.
pub fn only_from<'r>(
    repo: &'r Repo,
    tips: &[ObjectId],
    hidden: &[ObjectId],
) -> Result<Box<dyn Iterator<Item = Result<Visit>> + 'r>> {
    if hidden.is_empty() {
        let walk = repo
            .gix()
            .rev_walk(tips.iter().copied())
            .all()
            .context("cannot walk history")?;
        return Ok(Box::new(walk.map(|info| {
            let info = info.context("cannot walk history")?;
            Ok(Visit {
                id: info.id,
                parents: info.parent_ids.to_vec(),
                time: info.commit_time.unwrap_or_default(),
            })
        })));
    }
    if tips.iter().all(|tip| hidden.contains(tip)) {
        // Nothing to walk, and no hidden tip need be read: a reader's mail is often one of
        // the remote's tips, asked against all of them on every poll.
        return Ok(Box::new(std::iter::empty()));
    }
    let visits = Limited::new(repo).run(tips, hidden)?;
    Ok(Box::new(visits.into_iter().map(Ok)))
}

struct Node {
    time: i64,
    parents: Vec<ObjectId>,
    uninteresting: bool,
    queued: bool,
    taken: bool,
}

struct Limited<'r> {
    repo: &'r Repo,
    nodes: HashMap<ObjectId, Node>,
    queue: BinaryHeap<(i64, Reverse<u64>, ObjectId)>,
    order: u64,
    interesting_queued: usize,
}

impl<'r> Limited<'r> {
    fn new(repo: &'r Repo) -> Self {
        Limited {
            repo,
            nodes: HashMap::new(),
            queue: BinaryHeap::new(),
            order: 0,
            interesting_queued: 0,
        }
    }

    fn run(mut self, tips: &[ObjectId], hidden: &[ObjectId]) -> Result<Vec<Visit>> {
        for &id in hidden {
            self.add(id, true)?;
        }
        for &id in tips {
            self.add(id, false)?;
        }
        let mut taken = Vec::new();
        let mut slop = SLOP;
        while let Some((time, _, id)) = self.queue.pop() {
            let (uninteresting, parents) = self.take(id);
            for parent in parents {
                self.add(parent, uninteresting)?;
            }
            if !uninteresting {
                taken.push(id);
                continue;
            }
            if self.interesting_queued > 0 || self.queue.peek().is_some_and(|n| n.0 >= time) {
                slop = SLOP;
                continue;
            }
            slop -= 1;
            if slop == 0 {
                break;
            }
        }
        Ok(taken
            .into_iter()
            .filter_map(|id| {
                let node = &self.nodes[&id];
                (!node.uninteresting).then(|| Visit {
                    id,
                    parents: node.parents.clone(),
                    time: node.time,
                })
            })
            .collect())
    }

    /// Mark `id` taken off the queue; returns whether it is uninteresting and its parents.
    fn take(&mut self, id: ObjectId) -> (bool, Vec<ObjectId>) {
        let node = self.nodes.get_mut(&id).expect("queued commits are known");
        node.queued = false;
        node.taken = true;
        if !node.uninteresting {
            self.interesting_queued -= 1;
        }
        (node.uninteresting, node.parents.clone())
    }

    /// Queue `id` if it is new; an uninteresting mark on a known commit travels down.
    fn add(&mut self, id: ObjectId, uninteresting: bool) -> Result<()> {
        if let Some(node) = self.nodes.get(&id) {
            if uninteresting && !node.uninteresting {
                self.mark_uninteresting(id);
            }
            return Ok(());
        }
        let commit = self
            .repo
            .gix()
            .find_commit(id)
            .context("cannot walk history")?;
        let time = commit.time().context("cannot read commit time")?.seconds;
        let parents = commit.parent_ids().map(|p| p.detach()).collect();
        self.nodes.insert(
            id,
            Node {
                time,
                parents,
                uninteresting,
                queued: true,
                taken: false,
            },
        );
        self.order += 1;
        self.queue.push((time, Reverse(self.order), id));
        if !uninteresting {
            self.interesting_queued += 1;
        }
        Ok(())
    }

    /// Mark `id` and every known commit below it uninteresting. A taken commit's parents
    /// were all added when it was taken, so they are known.
    fn mark_uninteresting(&mut self, id: ObjectId) {
        let mut stack = vec![id];
        while let Some(id) = stack.pop() {
            let Some(node) = self.nodes.get_mut(&id) else {
                continue;
            };
            if node.uninteresting {
                continue;
            }
            node.uninteresting = true;
            if node.queued {
                self.interesting_queued -= 1;
            }
            if node.taken {
                stack.extend(node.parents.iter().copied());
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    use crate::repo::scratch::{commit, scratch};

    fn ids(repo: &Repo, tips: &[ObjectId], hidden: &[ObjectId]) -> Vec<ObjectId> {
        only_from(repo, tips, hidden)
            .unwrap()
            .map(|v| v.unwrap().id)
            .collect()
    }

    /// The shape sync met: three clones' mail joined within one second, every commit with
    /// the same time. A visible tip that the hidden tip reaches only through other visible
    /// tips must not be yielded.
    #[test]
    fn a_tip_below_the_hidden_one_is_not_yielded_when_times_tie() {
        let (_dir, repo) = scratch();
        let hello_s = commit(&repo, &[], "hello from s\n");
        let hello_r1 = commit(&repo, &[], "hello from r1\n");
        let hello_r2 = commit(&repo, &[], "hello from r2\n");
        let join_r1 = commit(&repo, &[hello_r1, hello_s], "join\n");
        let join_r2 = commit(&repo, &[hello_r2, join_r1], "join\n");
        let round0 = commit(&repo, &[join_r2], "round 0\n");
        for tips in [
            vec![hello_s, join_r1, join_r2],
            vec![join_r2, join_r1, hello_s],
            vec![join_r1, hello_s, join_r2],
        ] {
            assert_eq!(ids(&repo, &tips, &[round0]), Vec::<ObjectId>::new());
        }
        let got = ids(&repo, &[round0], &[join_r1]);
        assert_eq!(got.len(), 3, "round 0, r2's join and r2's hello");
        assert!(!got.contains(&hello_s) && !got.contains(&join_r1));
    }

    #[test]
    fn it_lists_what_git_rev_list_lists() {
        let (dir, repo) = scratch();
        let mut chain = vec![commit(&repo, &[], "root\n")];
        for i in 0..20 {
            let parents = match i % 5 {
                4 => vec![chain[chain.len() - 1], chain[chain.len() - 3]],
                _ => vec![chain[chain.len() - 1]],
            };
            chain.push(commit(&repo, &parents, &format!("c{i}\n")));
        }
        let side = commit(&repo, &[chain[7]], "side\n");
        let (tip, hidden) = (chain[20], [chain[12], side]);
        let mut got = ids(&repo, &[tip, side], &hidden);
        got.sort();
        let out = std::process::Command::new("git")
            .arg("-C")
            .arg(dir.path())
            .args(["rev-list", &tip.to_string(), &side.to_string(), "--not"])
            .args(hidden.iter().map(|h| h.to_string()))
            .output()
            .unwrap();
        let mut want: Vec<ObjectId> = String::from_utf8_lossy(&out.stdout)
            .lines()
            .map(|l| ObjectId::from_hex(l.as_bytes()).unwrap())
            .collect();
        want.sort();
        assert_eq!(got, want);
        assert_eq!(got.len(), 8);
    }
}
