//! Three-way merge of the lease ledger (`refs/comm-node/leases`: a commit chain whose flat
//! tree holds one `<lease-id>.json` per live lease). Deletions on either side since the
//! merge base apply; additions from both sides are kept; when a lease added here overlaps
//! an exclusive lease of another holder from the remote (or vice versa), the remote's
//! grant wins and ours is dropped and reported.
//!
//! The lease model lives in `crate::lease` (another branch); until it is merged this file
//! reads the ledger format itself with a minimal overlap rule.

use std::collections::{BTreeMap, BTreeSet};

use serde::Deserialize;

use crate::error::Result;
use crate::repo::{ObjectId, Repo};

/// The fields of a ledger entry the merge needs.
#[derive(Debug, Clone, Deserialize)]
pub struct LeaseView {
    pub id: String,
    pub holder: String,
    #[serde(default)]
    pub resources: Vec<String>,
    #[serde(default)]
    pub exclusive: bool,
    #[serde(default)]
    pub expires: i64,
}

impl LeaseView {
    pub fn parse(bytes: &[u8]) -> Option<LeaseView> {
        serde_json::from_slice(bytes).ok()
    }

    pub fn is_live(&self, now: i64) -> bool {
        self.expires == 0 || self.expires > now
    }

    /// Two leases of different holders conflict when one is exclusive and they overlap.
    pub fn conflicts_with(&self, other: &LeaseView) -> bool {
        self.holder != other.holder
            && (self.exclusive || other.exclusive)
            && self
                .resources
                .iter()
                .any(|a| other.resources.iter().any(|b| overlap(a, b)))
    }
}

/// A local lease dropped because the remote granted a conflicting one first.
#[derive(Debug, Clone)]
pub struct Dropped {
    pub lease: LeaseView,
    pub winner: LeaseView,
}

pub struct Merged {
    pub files: Vec<(String, ObjectId)>,
    pub dropped: Vec<Dropped>,
}

type Files = BTreeMap<String, Vec<u8>>;

fn files_of(repo: &Repo, commit: Option<ObjectId>) -> Result<Files> {
    Ok(match commit {
        Some(c) => repo.tree_files(c)?.into_iter().collect(),
        None => Files::new(),
    })
}

/// Merge `local` and `remote` ledgers given their merge base.
pub fn merge(
    repo: &Repo,
    base: Option<ObjectId>,
    local: ObjectId,
    remote: ObjectId,
    now: i64,
) -> Result<Merged> {
    let base = files_of(repo, base)?;
    let ours = files_of(repo, Some(local))?;
    let theirs = files_of(repo, Some(remote))?;
    let names: BTreeSet<&String> = ours.keys().chain(theirs.keys()).collect();
    let mut result: Files = Files::new();
    let mut added_here = Vec::new();
    for name in names {
        match (ours.get(name), theirs.get(name)) {
            (Some(o), Some(t)) => {
                result.insert(name.clone(), newer(o, t).to_vec());
            }
            (Some(o), None) if !base.contains_key(name) => {
                result.insert(name.clone(), o.clone());
                added_here.push(name.clone());
            }
            (None, Some(t)) if !base.contains_key(name) => {
                result.insert(name.clone(), t.clone());
            }
            _ => {} // deleted on one side since the base: the deletion applies
        }
    }
    let remote_leases: Vec<LeaseView> = theirs
        .values()
        .filter_map(|b| LeaseView::parse(b))
        .filter(|l| l.is_live(now))
        .collect();
    let mut dropped = Vec::new();
    for name in added_here {
        let Some(mine) = LeaseView::parse(&result[&name]) else {
            continue;
        };
        if !mine.is_live(now) {
            continue;
        }
        if let Some(winner) = remote_leases.iter().find(|r| mine.conflicts_with(r)) {
            result.remove(&name);
            dropped.push(Dropped {
                lease: mine,
                winner: winner.clone(),
            });
        }
    }
    let mut files = Vec::new();
    for (name, bytes) in result {
        files.push((name, repo.write_blob(&bytes)?));
    }
    Ok(Merged { files, dropped })
}

/// Of two versions of one lease (e.g. renewed on both sides) keep the later expiry;
/// on a tie the remote's.
fn newer<'a>(ours: &'a [u8], theirs: &'a [u8]) -> &'a [u8] {
    let expiry = |b: &[u8]| LeaseView::parse(b).map_or(0, |l| l.expires);
    if expiry(ours) > expiry(theirs) {
        ours
    } else {
        theirs
    }
}

/// Do two resource patterns (paths, directories, globs) possibly name a common file?
pub fn overlap(a: &str, b: &str) -> bool {
    let a = normalize(a);
    let b = normalize(b);
    if a.is_empty() || b.is_empty() || a == b {
        return true;
    }
    let (la, lb) = (literal_prefix(&a), literal_prefix(&b));
    let glob_a = la.len() < a.len();
    let glob_b = lb.len() < b.len();
    match (glob_a, glob_b) {
        (false, false) => is_dir_prefix(&a, &b) || is_dir_prefix(&b, &a),
        (true, false) => glob_matches(&a, &b) || is_dir_prefix(&b, la),
        (false, true) => glob_matches(&b, &a) || is_dir_prefix(&a, lb),
        (true, true) => la.starts_with(lb) || lb.starts_with(la),
    }
}

fn normalize(p: &str) -> String {
    let p = p.trim().trim_start_matches("./");
    p.trim_end_matches('/').to_string()
}

fn literal_prefix(p: &str) -> &str {
    let end = p.find(['*', '?', '[', '{']).unwrap_or(p.len());
    &p[..end]
}

/// `dir` is a directory containing `path` (or equal to it).
fn is_dir_prefix(dir: &str, path: &str) -> bool {
    let dir = dir.trim_end_matches('/');
    path == dir || path.starts_with(&format!("{dir}/"))
}

fn glob_matches(pattern: &str, path: &str) -> bool {
    globset::GlobBuilder::new(pattern)
        .literal_separator(true)
        .build()
        .map(|g| {
            let m = g.compile_matcher();
            m.is_match(path)
                || path
                    .split('/')
                    .scan(String::new(), |acc, seg| {
                        if !acc.is_empty() {
                            acc.push('/');
                        }
                        acc.push_str(seg);
                        Some(acc.clone())
                    })
                    .any(|prefix| m.is_match(&prefix))
        })
        .unwrap_or(true)
}

#[cfg(test)]
mod tests {
    use super::overlap;

    #[test]
    fn overlap_of_paths_dirs_and_globs() {
        assert!(overlap("src/api/x.ts", "src/api/x.ts"));
        assert!(overlap("src/api", "src/api/x.ts"));
        assert!(overlap("src/api/", "src/api/deep/x.ts"));
        assert!(overlap("src/api/**", "src/api/x.ts"));
        assert!(overlap("src/*.rs", "src/main.rs"));
        assert!(overlap("src/**", "src/api/**"));
        assert!(overlap("src/api/*", "src"));
        assert!(!overlap("src/api/x.ts", "src/api/y.ts"));
        assert!(!overlap("src/api", "src/apix"));
        assert!(!overlap("src/*.rs", "src/a/b.rs"));
        assert!(!overlap("src/ui/**", "src/api/**"));
    }
}
