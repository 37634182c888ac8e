//! The repository: opening it (worktrees, GIT_DIR, GIT_INDEX_FILE), the comm-node ref
//! namespace, object writing, and the compare-and-swap ref update every writer builds on.
//!
//! Every ref write in the namespace (and in the remote-tracking area sync keeps) passes
//! [`gate`] before it happens, keeps a reflog so `git comm doctor --repair` can restore
//! the last good value, and clears locks left by killed writers ([`locks`]). Objects that
//! sync brings in from a remote are admitted only through [`gate::admit`].

pub mod authorize;
pub mod changes;
mod exact_ref;
pub mod gate;
pub mod health;
pub mod incoming;
pub mod index;
pub mod locks;
pub mod mapped;
pub mod signing;
pub mod tracking;
pub mod tree;
pub mod walk;

use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use gix::bstr::{BString, ByteSlice};
use gix::refs::transaction::{Change, LogChange, PreviousValue, RefEdit, RefLog};
use gix::refs::Target;
pub use gix::ObjectId;

use crate::error::{Context, Error, Result};

pub const DEFAULT_NAMESPACE: &str = "refs/comm-node/";
/// Email domain for agent signatures: `backend-1 <backend-1@comm-node>`.
const AGENT_EMAIL_DOMAIN: &str = "comm-node";
/// How long a writer keeps retrying a contended ref before giving up.
const CAS_DEADLINE: Duration = Duration::from_secs(60);

/// One commit as `git log --format='%H %at %an %s'` shows it.
#[derive(Debug, Clone)]
pub struct LogEntry {
    pub id: ObjectId,
    /// Author time, unix seconds.
    pub time: i64,
    pub author: String,
    pub subject: String,
    pub merge: bool,
}

/// The private object directory of [`Repo::see_quarantine`]; removed on drop.
pub struct QuarantineView {
    dir: PathBuf,
}

impl Drop for QuarantineView {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

pub struct Repo {
    inner: gix::Repository,
    namespace: String,
    policy: Policy,
    /// The decoded index and the file's (mtime, size) it was read at (see [`Repo::index`]).
    index: std::cell::RefCell<Option<(IndexStamp, std::sync::Arc<index::Index>)>>,
}

type IndexStamp = (Option<std::time::SystemTime>, u64);

/// Limits the swarm agrees on (from `.comm-node/config.yaml`), applied by the gate.
#[derive(Debug, Clone)]
pub struct Policy {
    /// Tolerated clock skew between machines, in seconds.
    pub skew_secs: i64,
    /// Largest message body, in bytes.
    pub max_body: u64,
    /// Who may halt and resume (`overseers:`): agents, roles or git identities.
    pub overseers: Vec<String>,
    /// Agents the config binds to a domain: agents even before they write a card.
    pub agents: Vec<String>,
    /// Whether namespace commits and tags must be signed, and by which keys.
    pub identity: signing::Identity,
}

impl Default for Policy {
    fn default() -> Self {
        Policy {
            skew_secs: crate::clock::DEFAULT_SKEW_SECS,
            max_body: DEFAULT_MAX_BODY,
            overseers: Vec::new(),
            agents: Vec::new(),
            identity: signing::Identity::default(),
        }
    }
}

/// Default largest message body: 1 MiB (the same as `mail::DEFAULT_MAX_BODY`).
pub const DEFAULT_MAX_BODY: u64 = 1 << 20;

/// One ref of a multi-ref transaction: set `name` to `new` if it holds `expected`.
#[derive(Debug, Clone)]
pub struct RefUpdate {
    pub name: String,
    pub expected: Option<ObjectId>,
    pub new: ObjectId,
}

/// Outcome of one compare-and-swap attempt.
#[derive(Debug, PartialEq, Eq)]
pub enum Swap {
    Done,
    /// The ref no longer holds the expected value (someone else wrote first).
    Moved,
}

/// A commit to be written by [`Repo::append`]; `parents` get the current tip prepended.
pub struct NewCommit {
    pub tree: ObjectId,
    pub extra_parents: Vec<ObjectId>,
    pub author: String,
    pub message: String,
}

/// Reads of the index skip verifying its trailing SHA-1, as git does outside `git fsck`
/// (hashing the whole index was most of the commit hooks' time). Only in memory: we never
/// write the index.
fn without_index_checksum(mut repo: gix::Repository) -> gix::Repository {
    let mut config = repo.config_snapshot_mut();
    let _ = config.set_value(&gix::config::tree::Index::SKIP_HASH, "true");
    drop(config);
    repo
}

impl Repo {
    /// Open the repository containing `dir`, honouring GIT_DIR, GIT_INDEX_FILE and worktrees.
    pub fn discover(dir: &Path) -> Result<Repo> {
        let inner = gix::ThreadSafeRepository::discover_with_environment_overrides(dir)
            .map_err(|_| {
                Error::usage(format!(
                    "not a git repository (or any parent): {}",
                    dir.display()
                ))
                .with_hint("run git comm inside a git repository, or `git init` one first")
            })?
            .to_thread_local();
        let inner = without_index_checksum(inner);
        let namespace = read_namespace(&inner)?;
        Ok(Repo {
            inner,
            namespace,
            policy: Policy::default(),
            index: std::cell::RefCell::new(None),
        })
    }

    /// The index (`GIT_INDEX_FILE` honoured), `None` when there is none. Decoded once while
    /// the file is unchanged (same mtime and size, as gix checks its own copy) and shared
    /// across threads, so the staged change set, the staged config and the boundary check's
    /// file list all read the one copy instead of each building their own.
    pub fn index(&self) -> Result<Option<std::sync::Arc<index::Index>>> {
        let path = self.inner.index_path();
        let stamp = match std::fs::metadata(&path) {
            Ok(meta) => (meta.modified().ok(), meta.len()),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
            Err(e) => return Err(Error::git(format!("cannot read the index: {e}"))),
        };
        if let Some((read_at, index)) = self.index.borrow().as_ref() {
            if *read_at == stamp {
                return Ok(Some(index.clone()));
            }
        }
        let index = std::sync::Arc::new(
            index::Index::open(&path, &self.inner)
                .map_err(|e| Error::git(format!("cannot read the index: {e}")))?,
        );
        *self.index.borrow_mut() = Some((stamp, index.clone()));
        Ok(Some(index))
    }

    /// Apply the swarm's limits (from the config) to every later write and import.
    pub fn set_policy(&mut self, policy: Policy) {
        self.policy = policy;
    }

    pub fn policy(&self) -> &Policy {
        &self.policy
    }

    pub fn gix(&self) -> &gix::Repository {
        &self.inner
    }

    /// The ref prefix all shared state lives under, ending in `/`.
    pub fn namespace(&self) -> &str {
        &self.namespace
    }

    /// Full ref name for `suffix` inside the namespace, e.g. `mail` -> `refs/comm-node/mail`.
    pub fn ns_ref(&self, suffix: &str) -> String {
        format!("{}{}", self.namespace, suffix)
    }

    /// Keep up to `bytes` of decoded objects in memory: for commands that walk the same
    /// history several times (a sync's admission, join, push decision and summary), so
    /// each commit is inflated from its pack once.
    pub fn cache_objects(&mut self, bytes: usize) {
        self.inner.object_cache_size_if_unset(bytes);
    }

    pub fn workdir(&self) -> Option<&Path> {
        self.inner.workdir()
    }

    /// The per-worktree git dir (`.git` or `.git/worktrees/<name>`).
    pub fn git_dir(&self) -> &Path {
        self.inner.git_dir()
    }

    /// The git dir shared by all worktrees.
    pub fn common_dir(&self) -> &Path {
        self.inner.common_dir()
    }

    /// A directory under the common git dir for rebuildable caches.
    pub fn cache_dir(&self, what: &str) -> PathBuf {
        self.common_dir().join("comm-node").join(what)
    }

    pub fn config_string(&self, key: &str) -> Option<String> {
        self.inner
            .config_snapshot()
            .string(key)
            .map(|v| v.to_str_lossy().into_owned())
    }

    /// The object `name` points at. A full name (`refs/...`) is that ref and no other
    /// ([`exact_ref`]); a short one is looked up as git does (`main`, `tags/v1`).
    pub fn read_ref(&self, name: &str) -> Result<Option<ObjectId>> {
        if let Some(exact) = exact_ref::read(&self.inner, name) {
            return exact;
        }
        let found = self
            .inner
            .try_find_reference(name)
            .context(&format!("cannot read ref {name}"))?;
        Ok(found.and_then(|r| r.try_id().map(|id| id.detach())))
    }

    /// All refs below `prefix` (which must end in `/`), as (full name, target).
    pub fn list_refs(&self, prefix: &str) -> Result<Vec<(String, ObjectId)>> {
        let platform = self.inner.references().context("cannot list refs")?;
        let mut out = Vec::new();
        for reference in platform.prefixed(prefix).context("cannot list refs")? {
            let reference = reference.map_err(|e| Error::git(format!("cannot read ref: {e}")))?;
            if let Some(id) = reference.try_id() {
                out.push((reference.name().as_bstr().to_string(), id.detach()));
            }
        }
        Ok(out)
    }

    /// Set `name` to `new` only if it currently holds `expected` (`None`: must not exist).
    /// The gate checks `new` first; a value it refuses is never written.
    pub fn swap_ref(&self, name: &str, expected: Option<ObjectId>, new: ObjectId) -> Result<Swap> {
        self.swap_refs(&[RefUpdate {
            name: name.to_string(),
            expected,
            new,
        }])
    }

    /// Update several refs in one transaction: all move, or none (`Moved` when any of them
    /// no longer holds its expected value). Each new value passes the gate first.
    pub fn swap_refs(&self, updates: &[RefUpdate]) -> Result<Swap> {
        for u in updates {
            gate::check_write(self, &u.name, u.new, u.expected)?;
        }
        let edits = updates
            .iter()
            .map(|u| {
                let previous = match u.expected {
                    Some(old) => PreviousValue::MustExistAndMatch(Target::Object(old)),
                    None => PreviousValue::MustNotExist,
                };
                // Presence is replaced on every refresh: a journal of it is noise. Tracking
                // copies mirror the remote (a fetch restores them), and a sync moves one per
                // clone that moved: a journal each would be a file append per clone.
                let mut log = reflog("git-comm: update");
                log.force_create_reflog =
                    u.name.starts_with(self.namespace()) && !u.name.contains("/presence/");
                edit(
                    &u.name,
                    Change::Update {
                        log,
                        expected: previous,
                        new: Target::Object(u.new),
                    },
                )
            })
            .collect::<Result<Vec<_>>>()?;
        let expected: Vec<(&str, Option<ObjectId>)> = updates
            .iter()
            .map(|u| (u.name.as_str(), u.expected))
            .collect();
        self.apply_edits(edits, &expected)
    }

    /// Delete every `(name, expected)` in one transaction (`Moved` when any of them no
    /// longer holds its expected value).
    pub fn delete_refs(&self, doomed: &[(String, ObjectId)]) -> Result<Swap> {
        let mut edits = Vec::with_capacity(doomed.len());
        for (name, expected) in doomed {
            gate::check_delete(self, name)?;
            edits.push(edit(
                name,
                Change::Delete {
                    expected: PreviousValue::MustExistAndMatch(Target::Object(*expected)),
                    log: RefLog::AndReference,
                },
            )?);
        }
        let expected: Vec<(&str, Option<ObjectId>)> = doomed
            .iter()
            .map(|(name, id)| (name.as_str(), Some(*id)))
            .collect();
        self.apply_edits(edits, &expected)
    }

    /// Run a ref transaction. A lock left by a killed writer is cleared (with a notice on
    /// stderr) and the transaction retried once; a live writer's lock means contention.
    fn apply_edits(
        &self,
        edits: Vec<RefEdit>,
        expected: &[(&str, Option<ObjectId>)],
    ) -> Result<Swap> {
        let mut cleared_stale = false;
        loop {
            let committer = self.committer();
            let mut time_buf = gix::date::parse::TimeBuf::default();
            let committer = committer.to_ref(&mut time_buf);
            let err = match self
                .inner
                .edit_references_as(edits.clone(), Some(committer))
            {
                Ok(_) => return Ok(Swap::Done),
                Err(err) => err,
            };
            let names: Vec<&str> = expected.iter().map(|(n, _)| *n).collect();
            if !cleared_stale && locks::clear_stale(self, &names) {
                cleared_stale = true;
                continue;
            }
            // A mismatch and a lost lock race both mean "someone else is writing":
            // report Moved only when a value really differs, otherwise it is contention.
            let mut moved = false;
            for (name, want) in expected {
                moved |= self.read_ref(name)? != *want;
            }
            let locked = locks::any_present(self, &names);
            if moved || locked || is_lock_contention(&err.to_string()) {
                return Ok(Swap::Moved);
            }
            return Err(
                Error::git(format!("cannot update {}: {err}", names.join(", "))).with_hint(
                    "run `git comm doctor` to check the namespace for broken refs and locks",
                ),
            );
        }
    }

    /// The real person or program running git-comm (git's committer identity, so
    /// `git log --format='%an via %cn'` shows who acted as which agent); falls back to
    /// the agent-neutral `git-comm` signature when git has no identity configured.
    pub fn committer(&self) -> gix::actor::Signature {
        let configured = self.inner.committer().and_then(|r| r.ok()).and_then(|sig| {
            let name = sig.name.to_str_lossy().trim().to_string();
            let email = sig.email.to_str_lossy().trim().to_string();
            (!name.is_empty()).then_some((name, email))
        });
        match configured {
            Some((name, email)) => gix::actor::Signature {
                name: BString::from(name),
                email: BString::from(email),
                time: crate::clock::now_time(),
            },
            None => agent_signature("git-comm"),
        }
    }

    /// Append a commit on top of `ref_name` with compare-and-swap, rebuilding and retrying
    /// when another writer got there first. `build` sees the current tip each attempt and
    /// may refuse (return an error) after looking at it.
    pub fn append(
        &self,
        ref_name: &str,
        mut build: impl FnMut(Option<ObjectId>) -> Result<NewCommit>,
    ) -> Result<ObjectId> {
        let started = Instant::now();
        let mut attempt = 0u32;
        loop {
            let tip = self.read_ref(ref_name)?;
            let new_commit = build(tip)?;
            let mut parents: Vec<ObjectId> = tip.into_iter().collect();
            parents.extend(new_commit.extra_parents.iter().copied());
            let id = self.write_commit(
                new_commit.tree,
                &parents,
                &new_commit.author,
                &new_commit.message,
            )?;
            if self.swap_ref(ref_name, tip, id)? == Swap::Done {
                return Ok(id);
            }
            attempt += 1;
            if started.elapsed() > CAS_DEADLINE {
                return Err(Error::git(format!(
                    "gave up updating {ref_name} after {attempt} contended attempts"
                ))
                .with_hint("another process keeps writing this ref; try again"));
            }
            backoff(attempt);
        }
    }

    pub fn write_blob(&self, bytes: &[u8]) -> Result<ObjectId> {
        Ok(self
            .inner
            .write_blob(bytes)
            .context("cannot write blob")?
            .detach())
    }

    /// Write a flat tree of regular files (name -> blob), sorted as git requires.
    pub fn write_flat_tree(&self, files: &[(String, ObjectId)]) -> Result<ObjectId> {
        let mut entries: Vec<gix::objs::tree::Entry> = files
            .iter()
            .map(|(name, oid)| gix::objs::tree::Entry {
                mode: gix::objs::tree::EntryKind::Blob.into(),
                filename: BString::from(name.as_str()),
                oid: *oid,
            })
            .collect();
        entries.sort();
        let tree = gix::objs::Tree { entries };
        Ok(self
            .inner
            .write_object(&tree)
            .context("cannot write tree")?
            .detach())
    }

    pub fn empty_tree(&self) -> Result<ObjectId> {
        self.write_flat_tree(&[])
    }

    pub fn write_commit(
        &self,
        tree: ObjectId,
        parents: &[ObjectId],
        author: &str,
        message: &str,
    ) -> Result<ObjectId> {
        let mut commit = gix::objs::Commit {
            tree,
            parents: parents.iter().copied().collect(),
            author: agent_signature(author),
            committer: self.committer(),
            encoding: None,
            message: BString::from(message),
            extra_headers: Vec::new(),
        };
        if let Some(key) = signing::key_for_write(self)? {
            let signature = key.sign(&object_bytes(&commit)?)?;
            let header = BString::from(signature.trim_end_matches('\n'));
            commit.extra_headers.push(("gpgsig".into(), header));
        }
        Ok(self
            .inner
            .write_object(&commit)
            .context("cannot write commit")?
            .detach())
    }

    /// Read the blob at `path` (flat name) in the tree of `commit`.
    pub fn read_tree_file(&self, commit: ObjectId, name: &str) -> Result<Option<Vec<u8>>> {
        Ok(self
            .tree_files(commit)?
            .into_iter()
            .find(|(n, _)| n == name)
            .map(|(_, data)| data))
    }

    /// Visit every blob directly in the tree of `commit` as (name, content), without
    /// copying the content.
    pub fn for_each_tree_file(
        &self,
        commit: ObjectId,
        mut visit: impl FnMut(&str, &[u8]) -> Result<()>,
    ) -> Result<()> {
        let tree = self
            .inner
            .find_commit(commit)
            .context("cannot read commit")?
            .tree()
            .context("cannot read tree")?;
        for entry in tree.iter() {
            let entry = entry.context("cannot read tree entry")?;
            if entry.mode().is_blob() {
                let blob = self
                    .inner
                    .find_blob(entry.oid())
                    .context("cannot read blob")?;
                visit(&entry.filename().to_str_lossy(), &blob.data)?;
            }
        }
        Ok(())
    }

    /// All blobs directly in the tree of `commit`, as (name, content).
    pub fn tree_files(&self, commit: ObjectId) -> Result<Vec<(String, Vec<u8>)>> {
        let tree = self
            .inner
            .find_commit(commit)
            .context("cannot read commit")?
            .tree()
            .context("cannot read tree")?;
        let mut out = Vec::new();
        for entry in tree.iter() {
            let entry = entry.context("cannot read tree entry")?;
            if entry.mode().is_blob() {
                let blob = self
                    .inner
                    .find_blob(entry.oid())
                    .context("cannot read blob")?;
                out.push((entry.filename().to_string(), blob.data.clone()));
            }
        }
        Ok(out)
    }

    /// Inside a `pre-receive` hook git keeps the pushed objects in a quarantine directory
    /// (`$GIT_QUARANTINE_PATH`) that only git's own environment points at, which gix does not
    /// read. When it is set, read objects through a private object directory whose
    /// alternates are the quarantine and the repository's own objects, so the checks see what
    /// is being pushed. Nothing is written into git's directories; the returned guard removes
    /// the private directory.
    pub fn see_quarantine(&mut self) -> Result<Option<QuarantineView>> {
        let Some(quarantine) = std::env::var_os("GIT_QUARANTINE_PATH") else {
            return Ok(None);
        };
        let nanos = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map(|d| d.as_nanos())
            .unwrap_or_default();
        let dir = std::env::temp_dir().join(format!(
            "git-comm-quarantine-{}-{nanos}",
            std::process::id()
        ));
        let view = QuarantineView { dir };
        let objects = view.dir.join("objects");
        std::fs::create_dir_all(objects.join("info"))?;
        let own = std::fs::canonicalize(self.common_dir().join("objects"))?;
        let alternates = format!(
            "{}\n{}\n",
            std::path::Path::new(&quarantine).display(),
            own.display()
        );
        std::fs::write(objects.join("info").join("alternates"), alternates)?;
        let hash = self.inner.object_hash();
        let store = gix::odb::at(&objects, hash)
            .map_err(|e| Error::git(format!("cannot read the pushed objects: {e}")))?;
        self.inner.objects = gix::odb::memory::Proxy::new(store, hash);
        Ok(Some(view))
    }

    /// Commits reachable from `tips` (all parents), newest first, at most `limit`, none
    /// committed before `since` (unix seconds) when given: the summary `git log` would show,
    /// for timelines and statistics.
    pub fn log(
        &self,
        tips: &[ObjectId],
        since: Option<i64>,
        limit: usize,
    ) -> Result<Vec<LogEntry>> {
        use gix::revision::walk::Sorting;
        if tips.is_empty() {
            return Ok(Vec::new());
        }
        let sorting = match since {
            Some(seconds) => Sorting::ByCommitTimeCutoff {
                order: Default::default(),
                seconds,
            },
            None => Sorting::ByCommitTime(Default::default()),
        };
        let walk = self
            .inner
            .rev_walk(tips.iter().copied())
            .sorting(sorting)
            .all()
            .context("cannot walk history")?;
        let mut out = Vec::new();
        for info in walk.take(limit) {
            let id = info.context("cannot walk history")?.id;
            let commit = self.inner.find_commit(id).context("cannot read commit")?;
            let decoded = commit.decode().context("cannot decode commit")?;
            let author = decoded.author().context("cannot read author")?;
            let message = decoded.message.to_str_lossy();
            out.push(LogEntry {
                id,
                time: author.seconds(),
                author: author.name.to_str_lossy().into_owned(),
                subject: message.lines().next().unwrap_or("").to_string(),
                merge: decoded.parents.len() > 1,
            });
        }
        Ok(out)
    }

    /// Resolve a full or abbreviated hex id to an object id.
    pub fn resolve_prefix(&self, hex: &str) -> Result<Option<ObjectId>> {
        if !hex.bytes().all(|b| b.is_ascii_hexdigit()) {
            return Err(Error::usage(format!("'{hex}' is not an id"))
                .with_hint("ids are hex, as printed by the command that made them"));
        }
        if hex.len() < 4 {
            return Err(Error::usage(format!(
                "id '{hex}' is too short: give at least 4 characters"
            )));
        }
        if let Ok(full) = ObjectId::from_hex(hex.as_bytes()) {
            return Ok(self.inner.has_object(full).then_some(full));
        }
        let prefix = gix::hash::Prefix::from_hex(hex)
            .map_err(|e| Error::usage(format!("invalid id {hex}: {e}")))?;
        match self.inner.objects.lookup_prefix(prefix, None) {
            Ok(Some(Ok(id))) => Ok(Some(id)),
            Ok(Some(Err(()))) => Err(Error::usage(format!("id {hex} is ambiguous"))
                .with_hint("use more characters of the id")),
            Ok(None) => Ok(None),
            Err(e) => Err(Error::git(format!("cannot look up {hex}: {e}"))),
        }
    }
}

/// An object's bytes as stored (what a signature covers).
/// A `git` command on `git_dir` for sync's fetches and pushes and the incoming store: never
/// prompting for credentials (a waiting agent cannot answer), and not pointed at a hook's
/// index or work tree by the variables git passes its hooks.
pub fn git_command(git_dir: &Path) -> std::process::Command {
    let mut cmd = std::process::Command::new("git");
    cmd.arg("--git-dir")
        .arg(git_dir)
        .env("GIT_TERMINAL_PROMPT", "0")
        .env_remove("GIT_INDEX_FILE")
        .env_remove("GIT_WORK_TREE");
    cmd
}

pub fn object_bytes(object: &impl gix::objs::WriteTo) -> Result<Vec<u8>> {
    let mut bytes = Vec::new();
    object
        .write_to(&mut bytes)
        .map_err(|e| Error::git(format!("cannot encode {}: {e}", object.kind())))?;
    Ok(bytes)
}

fn read_namespace(repo: &gix::Repository) -> Result<String> {
    let configured = repo
        .config_snapshot()
        .string("comm.namespace")
        .map(|v| v.to_str_lossy().into_owned());
    let Some(mut ns) = configured else {
        return Ok(DEFAULT_NAMESPACE.to_string());
    };
    if !ns.ends_with('/') {
        ns.push('/');
    }
    let valid = ns.starts_with("refs/")
        && ns.len() > "refs/".len()
        && gix::refs::FullName::try_from(format!("{ns}x")).is_ok();
    if !valid {
        return Err(Error::config(format!("invalid comm.namespace '{ns}'"))
            .with_hint("use a ref prefix such as refs/comm-node/ or refs/heads/comm-node/"));
    }
    Ok(ns)
}

/// Every namespace ref keeps a reflog: the journal `doctor --repair` restores from.
fn reflog(message: &str) -> LogChange {
    LogChange {
        mode: RefLog::AndReference,
        force_create_reflog: true,
        message: BString::from(message),
    }
}

fn edit(name: &str, change: Change) -> Result<RefEdit> {
    let full_name: gix::refs::FullName = name
        .try_into()
        .map_err(|_| Error::usage(format!("invalid ref name {name}")))?;
    Ok(RefEdit {
        change,
        name: full_name,
        deref: false,
    })
}

fn is_lock_contention(message: &str) -> bool {
    let lower = message.to_lowercase();
    lower.contains("lock") || lower.contains("exists")
}

pub fn agent_signature(agent: &str) -> gix::actor::Signature {
    gix::actor::Signature {
        name: BString::from(agent),
        email: BString::from(format!("{agent}@{AGENT_EMAIL_DOMAIN}")),
        time: crate::clock::now_time(),
    }
}

/// Sleep a little longer each attempt, with jitter so racing processes spread out.
pub fn backoff(attempt: u32) {
    let base_ms = (1u64 << attempt.min(6)).min(50);
    let jitter = jitter_below(base_ms.max(2));
    std::thread::sleep(Duration::from_millis(base_ms / 2 + jitter));
}

fn jitter_below(bound: u64) -> u64 {
    use std::hash::{BuildHasher, Hasher};
    let mut hasher = std::collections::hash_map::RandomState::new().build_hasher();
    hasher.write_u32(std::process::id());
    hasher.finish() % bound
}

/// Test-only: a repository in a temporary directory and commits made in it.
#[cfg(test)]
pub(crate) mod scratch {
    use super::{ObjectId, Repo};

    /// A new repository (`git init`); the directory lives as long as the `TempDir`.
    pub fn scratch() -> (tempfile::TempDir, Repo) {
        let dir = tempfile::tempdir().unwrap();
        let init = std::process::Command::new("git")
            .args(["init", "-q"])
            .arg(dir.path())
            .status()
            .unwrap();
        assert!(init.success());
        let repo = Repo::discover(dir.path()).unwrap();
        (dir, repo)
    }

    /// A commit with an empty tree on `parents`.
    pub fn commit(repo: &Repo, parents: &[ObjectId], message: &str) -> ObjectId {
        let tree = repo.empty_tree().unwrap();
        repo.write_commit(tree, parents, "test", message).unwrap()
    }
}
