//! `git comm sync`: fetch the namespace into a raw incoming area outside it
//! (`refs/comm-node-incoming/<remote>/...`), admit each fetched value through the storage
//! gate into the remote-tracking copies (one file, `.git/comm-node/tracking/<remote>`),
//! merge each admitted ref by its kind's policy, then push every changed ref atomically with
//! a lease on the value just fetched (never a bare force). A value the gate refuses is
//! quarantined: reported, never merged, adopted or pushed over, and the rest of the sync
//! goes on. A rejected push means someone else pushed first: fetch, merge again, retry
//! (bounded).

pub mod git;
pub mod graph;
pub mod lease;
pub mod ledger;
pub mod merge;
pub mod moved;
pub mod outbox;
pub mod pending;
pub mod poller;
pub mod state;
pub mod wait;

use std::collections::{BTreeMap, BTreeSet};
use std::time::Duration;

use crate::artifact;
use crate::error::{Error, Result};
use crate::repo::{incoming, tracking, ObjectId, Repo, Swap};
use merge::{Notes, Resolution};

pub use crate::repo::gate::{INCOMING_ROOT, TRACKING_ROOT};
const MAX_ATTEMPTS: u32 = 8;
const LOCAL_CAS_ATTEMPTS: u32 = 50;

/// The remote to sync with: what git is told (`name`) and the tracking directory (`label`).
#[derive(Debug, Clone)]
pub struct Remote {
    pub name: String,
    pub label: String,
}

impl Remote {
    pub fn tracking_prefix(&self) -> String {
        format!("{TRACKING_ROOT}{}/", self.label)
    }

    /// Where fetch puts the remote's raw values, before the gate.
    pub fn incoming_prefix(&self) -> String {
        format!("{INCOMING_ROOT}{}/", self.label)
    }
}

/// A remote value the storage gate refused: never merged, adopted or pushed over.
#[derive(Debug, Clone)]
pub struct Quarantined {
    /// The remote's ref name, e.g. `refs/comm-node/mail`.
    pub remote_ref: String,
    /// The refused value.
    pub value: ObjectId,
    pub reason: String,
}

/// `arg`, else git config `comm.remote`, else `origin`; a configured remote or a URL/path.
pub fn resolve_remote(repo: &Repo, arg: Option<&str>) -> Result<Remote> {
    let name = arg
        .map(str::to_string)
        .or_else(|| repo.config_string("comm.remote"))
        .unwrap_or_else(|| "origin".to_string());
    if repo.config_string(&format!("remote.{name}.url")).is_some() {
        let label = sanitize(&name);
        return Ok(Remote { name, label });
    }
    let looks_like_url = name.contains([':', '/']) || std::path::Path::new(&name).exists();
    if looks_like_url {
        let digest = artifact::sha256_hex(name.as_bytes());
        return Ok(Remote {
            label: format!("url-{}", &digest[..12]),
            name,
        });
    }
    Err(Error::usage(format!("no remote '{name}'")).with_hint(
        "add it with `git remote add NAME URL`, pass a URL or path, or `git config comm.remote NAME`",
    ))
}

fn sanitize(name: &str) -> String {
    name.chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.') {
                c
            } else {
                '_'
            }
        })
        .collect::<String>()
        .trim_matches('.')
        .to_string()
}

/// Which refs a sync handles: all, or only those under the given suffixes (e.g. `leases`).
#[derive(Debug, Clone)]
pub struct Options {
    pub only: Option<Vec<String>>,
    /// Seconds a pushed presence may stay behind the local one when only its last-seen
    /// time and counters moved (`presence.stale` / 4).
    pub presence_every: i64,
}

impl Default for Options {
    fn default() -> Self {
        Options {
            only: None,
            presence_every: crate::config::DEFAULT_STALE_SECS / 4,
        }
    }
}

impl Options {
    /// Every ref, presence pushed as often as `config`'s staleness needs.
    pub fn for_config(config: &crate::config::Config) -> Options {
        Options {
            only: None,
            presence_every: config.stale_secs() / 4,
        }
    }

    /// Only the refs under `suffix` (e.g. `leases`).
    pub fn only(suffix: &str) -> Options {
        Options {
            only: Some(vec![suffix.to_string()]),
            ..Options::default()
        }
    }

    fn wants(&self, suffix: &str) -> bool {
        // Every clone's outbox is a view of the mail.
        let suffix = outbox::local_suffix(suffix);
        self.only.as_ref().is_none_or(|only| {
            only.iter()
                .any(|p| suffix == p || suffix.starts_with(&format!("{p}/")))
        })
    }
}

/// What a sync did.
#[derive(Debug, Default)]
pub struct Report {
    pub remote: String,
    pub attempts: u32,
    /// Refs moved to the remote's value (new or fast-forwarded).
    pub adopted: Vec<String>,
    /// Refs joined with a merge commit.
    pub merged: Vec<String>,
    /// Why each attempt before the last was retried (the remote moved under our push).
    pub retried: Vec<String>,
    /// Local artifact versions renumbered on top of the remote's: (was, now).
    pub republished: Vec<(String, String)>,
    pub dropped_leases: Vec<ledger::Dropped>,
    pub pushed: Vec<String>,
    pub skipped: Vec<String>,
    pub quarantined: Vec<Quarantined>,
    /// What moved, per kind of state.
    pub moved: moved::Moved,
}

/// Fetch, merge, push, retrying when the remote moves in between.
pub fn sync(repo: &Repo, remote: &Remote, options: &Options) -> Result<Report> {
    sync_with(repo, remote, options, git::Maintenance::Auto, false)
}

/// The poller's sync: the whole namespace, git's auto maintenance never runs, and the
/// first fetch is skipped when the poll just `fetched` the namespace into the incoming area.
pub fn sync_polled(
    repo: &Repo,
    remote: &Remote,
    fetched: bool,
    presence_every: i64,
) -> Result<Report> {
    let options = Options {
        presence_every,
        ..Options::default()
    };
    sync_with(repo, remote, &options, git::Maintenance::Off, fetched)
}

/// Seconds a merely refreshed presence may stay local: a quarter of the configured
/// `presence.stale` (the default's when the config cannot be read). For the poller, whose
/// thread has no config of its own.
pub fn presence_every(repo: &Repo) -> i64 {
    repo.workdir()
        .and_then(|root| crate::config::Config::load(root).ok())
        .map_or_else(
            || Options::default().presence_every,
            |config| Options::for_config(&config).presence_every,
        )
}

fn sync_with(
    repo: &Repo,
    remote: &Remote,
    options: &Options,
    maintenance: git::Maintenance,
    fetched: bool,
) -> Result<Report> {
    let mut report = Report {
        remote: remote.name.clone(),
        ..Report::default()
    };
    git::remember_timeout(
        repo.git_dir(),
        repo.config_string(git::TIMEOUT_KEY).as_deref(),
    )?;
    clear_stale_locks(repo, remote);
    drop_tracking_journal(repo, remote);
    incoming::drop_legacy(repo)?;
    let local_before = refs_below(repo, repo.namespace())?;
    let mut last_reason = String::new();
    // Grants of dead `lease --sync` processes must not be pushed.
    let swept = !pending::sweep(repo)?.is_empty();
    for attempt in 1..=MAX_ATTEMPTS {
        report.attempts = attempt;
        let unfetchable = if attempt == 1 && fetched {
            Vec::new()
        } else {
            fetch(repo, remote, maintenance)?
        };
        // The namespace as listed above, unless something may have written it since.
        let local = if attempt == 1 && !swept {
            local_before.clone()
        } else {
            refs_below(repo, repo.namespace())?
        };
        let admitted = admit_fetched(repo, remote, options, local)?;
        report.quarantined = admitted.refused;
        report.quarantined.extend(
            unfetchable
                .into_iter()
                .map(|(name, value, why)| Quarantined {
                    remote_ref: name,
                    value,
                    reason: format!("cannot be fetched: {why}"),
                }),
        );
        // What the remote held before our push: the values just fetched and admitted.
        let remote_before = admitted.tracked;
        let (updates, local_after) = reconcile(
            repo,
            &remote_before,
            &admitted.local,
            &remote.label,
            options,
            &mut report,
        )?;
        if updates.is_empty() {
            report.moved = moved::summarize(
                repo,
                &local_before,
                &local_after,
                &remote_before,
                &remote_before,
            )?;
            finish(repo, remote, &report);
            return Ok(report);
        }
        match git::push(repo.git_dir(), &remote.name, &updates)? {
            git::PushOutcome::Done => {
                let remote_after = record_pushed(repo, &remote.label, &remote_before, &updates)?;
                report.pushed = updates.iter().map(|u| suffix(repo, &u.name)).collect();
                report.moved = moved::summarize(
                    repo,
                    &local_before,
                    &local_after,
                    &remote_before,
                    &remote_after,
                )?;
                finish(repo, remote, &report);
                return Ok(report);
            }
            git::PushOutcome::Stale(reason) | git::PushOutcome::Dropped(reason) => {
                report.retried.push(reason.clone());
                last_reason = reason;
                std::thread::sleep(retry_delay(attempt));
            }
            git::PushOutcome::Refused(reason) => {
                return Err(Error::blocked(format!(
                    "{} refused the push: {reason}",
                    remote.name
                ))
                .with_hint(
                    "nothing was lost: local refs keep the merged state; check the remote's hooks and permissions, or run `git comm doctor`",
                ));
            }
        }
    }
    Err(Error::blocked(format!(
        "gave up after {MAX_ATTEMPTS} attempts: {} kept moving ({last_reason})",
        remote.name
    ))
    .with_hint("others are pushing right now; run `git comm sync` again"))
}

/// How many times the whole fetch is tried before fetching ref by ref.
const WHOLE_FETCH_ATTEMPTS: u32 = 3;

/// Fetch the namespace into the incoming area; when git refuses the whole fetch again and
/// again (a corrupt object behind one ref), fetch ref by ref and return the refs that
/// cannot be fetched. A failed fetch is retried whole first: a busy remote drops
/// connections (git daemon serves 32 at once). When the last try only lost its
/// connection, the sync ends there: a fetch per ref would open hundreds more against a
/// remote that cannot take one. A timeout or an unreachable remote stays an error.
fn fetch(
    repo: &Repo,
    remote: &Remote,
    maintenance: git::Maintenance,
) -> Result<Vec<git::Unfetchable>> {
    let (ns, prefix) = (repo.namespace(), remote.incoming_prefix());
    let mut store = incoming::ensure(repo)?;
    let (mut attempt, mut remade) = (1, false);
    loop {
        match git::fetch(
            repo.git_dir(),
            &store,
            &remote.name,
            ns,
            &prefix,
            maintenance,
        )? {
            git::Fetched::Done => return Ok(Vec::new()),
            git::Fetched::Dropped(_) | git::Fetched::Refused(_)
                if attempt < WHOLE_FETCH_ATTEMPTS =>
            {
                std::thread::sleep(retry_delay(attempt));
                attempt += 1;
            }
            git::Fetched::Dropped(err) => return Err(err),
            git::Fetched::Refused(err) => {
                // A damaged store refuses every fetch: make it again and try once more.
                if !remade {
                    (store, remade) = (incoming::remake(repo)?, true);
                    continue;
                }
                return git::fetch_each(repo.git_dir(), &store, &remote.name, ns, &prefix)
                    .map_err(|_| err);
            }
        }
    }
}

/// Locks left by a killed writer (a killed sync leaves `packed-refs.lock`) would fail the
/// fetch: clear the stale ones first, with a notice each.
fn clear_stale_locks(repo: &Repo, remote: &Remote) {
    let prefixes = [
        repo.namespace().to_string(),
        tracking::DIR.to_string(),
        remote.tracking_prefix(),
        incoming::DIR.to_string(),
    ];
    let prefixes: Vec<&str> = prefixes.iter().map(String::as_str).collect();
    crate::repo::locks::clear(&crate::repo::locks::scan(repo, &prefixes));
}

/// Tracking copies keep no reflog (they mirror the remote, and a sync moves one per clone
/// that moved); drop the journals earlier versions wrote, which git would keep appending.
fn drop_tracking_journal(repo: &Repo, remote: &Remote) {
    let journal = repo
        .common_dir()
        .join("logs")
        .join(remote.tracking_prefix().trim_end_matches('/'));
    let written = std::fs::read_dir(&journal).is_ok_and(|mut entries| entries.next().is_some());
    if written {
        let _ = std::fs::remove_dir_all(journal);
    }
}

/// Move every fetched value the gate admits into the tracking copy; drop tracking copies
/// of refs the remote no longer has. Returns the values refused.
///
/// A sync's cost must follow what moved, not the number of clones: a value equal to the
/// local ref's is not read again (it passed the gate when written here), every clone's
/// outbox is admitted in one walk, and the tracking copies are written once (one file).
fn admit_fetched(
    repo: &Repo,
    remote: &Remote,
    options: &Options,
    local: BTreeMap<String, ObjectId>,
) -> Result<Admitted> {
    let incoming = incoming::read(repo, &remote.label)?;
    let mut tracked = tracking::read(repo, &remote.label)?;
    let wanted: Vec<(&str, ObjectId)> = incoming
        .iter()
        .filter(|(suffix, _)| options.wants(suffix))
        .map(|(suffix, &value)| (suffix.as_str(), value))
        .collect();
    let verdicts = admit_all(repo, &wanted, &local);
    let mut refused = Vec::new();
    let mut moves = Vec::new();
    for ((suffix, value), verdict) in wanted.into_iter().zip(verdicts) {
        match verdict {
            Ok(()) if tracked.get(suffix) == Some(&value) => {}
            Ok(()) => moves.push(tracking::Move {
                suffix: suffix.to_string(),
                expected: tracked.get(suffix).copied(),
                new: Some(value),
            }),
            Err(reason) => refused.push(Quarantined {
                remote_ref: repo.ns_ref(suffix),
                value,
                reason,
            }),
        }
    }
    moves.extend(
        tracked
            .iter()
            .filter(|(suffix, _)| options.wants(suffix) && !incoming.contains_key(*suffix))
            .map(|(suffix, &value)| tracking::Move {
                suffix: suffix.clone(),
                expected: Some(value),
                new: None,
            }),
    );
    if tracking::swap(repo, &remote.label, &moves)? {
        apply(&mut tracked, &moves);
    } else {
        tracked = tracking::read(repo, &remote.label)?;
    }
    Ok(Admitted {
        refused,
        tracked,
        local,
    })
}

fn apply(copies: &mut tracking::Copies, moves: &[tracking::Move]) {
    for m in moves {
        match m.new {
            Some(new) => copies.insert(m.suffix.clone(), new),
            None => copies.remove(&m.suffix),
        };
    }
}

/// What admission leaves: the values refused, the tracking copies (the remote as fetched
/// and admitted) and the local namespace it judged against, listed once for the whole sync.
struct Admitted {
    refused: Vec<Quarantined>,
    tracked: BTreeMap<String, ObjectId>,
    local: BTreeMap<String, ObjectId>,
}

/// The gate's verdict on each fetched `(suffix, value)`. Only values this repository wrote
/// or admitted itself count as checked (`local`, the namespace): a tracking copy may have
/// been written raw by a plain `git fetch` with an older refspec.
fn admit_all(
    repo: &Repo,
    fetched: &[(&str, ObjectId)],
    local: &BTreeMap<String, ObjectId>,
) -> Vec<std::result::Result<(), String>> {
    let local_of = |suffix: &str| local.get(outbox::local_suffix(suffix)).copied();
    let mut verdicts: Vec<std::result::Result<(), String>> = vec![Ok(()); fetched.len()];
    let mut views = Vec::new();
    for (i, &(suffix, value)) in fetched.iter().enumerate() {
        if local_of(suffix) == Some(value) {
            continue; // the local value: checked when it was written here
        }
        if outbox::is_mail_view(suffix) {
            views.push(i);
            continue;
        }
        let known: Vec<ObjectId> = local_of(suffix).into_iter().collect();
        verdicts[i] = crate::repo::gate::admit(repo, suffix, value, &known);
    }
    let mail: Vec<(&str, ObjectId)> = views.iter().map(|&i| fetched[i]).collect();
    let known: Vec<ObjectId> = local_of("mail").into_iter().collect();
    let mail_verdicts = crate::repo::gate::admit_mail_views(repo, &mail, &known);
    for (i, verdict) in views.into_iter().zip(mail_verdicts) {
        verdicts[i] = verdict;
    }
    verdicts
}

/// Values fetched from `remote` that the gate refuses now (what `doctor` reports).
pub fn quarantined(repo: &Repo, remote: &Remote) -> Result<Vec<Quarantined>> {
    let incoming = incoming::read(repo, &remote.label)?;
    let mut refused = Vec::new();
    for (suffix, &value) in &incoming {
        let local = repo.read_ref(&repo.ns_ref(outbox::local_suffix(suffix)))?;
        let known: Vec<ObjectId> = local.into_iter().collect();
        if let Err(reason) = crate::repo::gate::admit(repo, suffix, value, &known) {
            refused.push(Quarantined {
                remote_ref: repo.ns_ref(suffix),
                value,
                reason,
            });
        }
    }
    Ok(refused)
}

fn retry_delay(attempt: u32) -> Duration {
    let base = 50u64 << attempt.min(5);
    let jitter = (std::process::id() as u64 * 7919 + attempt as u64 * 104_729) % base;
    Duration::from_millis(base / 2 + jitter)
}

fn finish(repo: &Repo, remote: &Remote, report: &Report) {
    let last = state::LastSync {
        remote: remote.name.clone(),
        time: crate::agent::now_secs(),
        pushed: report.pushed.len(),
        adopted: report.adopted.len(),
    };
    state::save(repo, &remote.label, &last);
}

fn suffix(repo: &Repo, name: &str) -> String {
    name.strip_prefix(repo.namespace())
        .unwrap_or(name)
        .to_string()
}

fn refs_below(repo: &Repo, prefix: &str) -> Result<BTreeMap<String, ObjectId>> {
    Ok(repo
        .list_refs(prefix)?
        .into_iter()
        .map(|(name, id)| (name[prefix.len()..].to_string(), id))
        .collect())
}

/// After a successful push the remote holds our values: record them as tracked, and
/// return the tracking copies as they are now (`before` plus what was pushed).
fn record_pushed(
    repo: &Repo,
    label: &str,
    before: &BTreeMap<String, ObjectId>,
    updates: &[git::Update],
) -> Result<BTreeMap<String, ObjectId>> {
    let moves: Vec<tracking::Move> = updates
        .iter()
        .map(|u| {
            let pushed = suffix(repo, &u.name);
            tracking::Move {
                expected: before.get(&pushed).copied(),
                suffix: pushed,
                new: Some(u.new),
            }
        })
        .collect();
    let mut after = before.clone();
    apply(&mut after, &moves);
    if !tracking::swap(repo, label, &moves)? {
        // Another sync recorded meanwhile: record ours over whatever it wrote.
        let now = tracking::read(repo, label)?;
        let again: Vec<tracking::Move> = moves
            .into_iter()
            .map(|m| tracking::Move {
                expected: now.get(&m.suffix).copied(),
                ..m
            })
            .collect();
        tracking::swap(repo, label, &again)?;
    }
    Ok(after)
}

/// Merge every fetched ref (`remote_refs`, the tracking copies) into its local counterpart
/// (`local_before`, the namespace as admission listed it); return the pushes needed and
/// the namespace after.
fn reconcile(
    repo: &Repo,
    remote_refs: &BTreeMap<String, ObjectId>,
    local_before: &BTreeMap<String, ObjectId>,
    label: &str,
    options: &Options,
    report: &mut Report,
) -> Result<(Vec<git::Update>, BTreeMap<String, ObjectId>)> {
    let mut all: BTreeSet<String> = remote_refs.keys().cloned().collect();
    all.extend(local_before.keys().cloned());
    all.retain(|s| options.wants(s));
    let mut skipped: BTreeSet<String> = report
        .quarantined
        .iter()
        .map(|q| suffix(repo, &q.remote_ref))
        .collect();
    let mut notes = Notes::default();

    for s in all.iter().filter(|s| s.starts_with("artifacts/")) {
        if let Some(&remote) = remote_refs.get(s) {
            reconcile_artifact(repo, s, remote, report)?;
        }
    }
    let fetched: Vec<(&str, ObjectId)> = all
        .iter()
        .filter(|s| !s.starts_with("artifacts/") && !outbox::is_mail_view(s))
        .filter_map(|s| remote_refs.get(s).map(|&id| (s.as_str(), id)))
        .collect();
    for (s, outcome) in settle_all(repo, &fetched, local_before, label, &mut notes)? {
        match outcome {
            Settled::Adopted => report.adopted.push(s.to_string()),
            Settled::Skipped(why) => {
                report.skipped.push(why);
                skipped.insert(s.to_string());
            }
            Settled::Kept | Settled::Merged => {}
        }
    }
    // Mail last: re-published artifacts announce themselves in the mail. Every clone's
    // outbox (and a legacy shared `mail`) joins the local `mail` at once.
    let mail_tips: Vec<(String, ObjectId)> = all
        .iter()
        .filter(|s| outbox::is_mail_view(s) && !skipped.contains(*s))
        .filter_map(|s| remote_refs.get(s).map(|&id| (s.clone(), id)))
        .collect();
    if !mail_tips.is_empty() {
        settle_mail(repo, &mail_tips, label, &mut notes, report)?;
    }
    report.merged.extend(notes.merged);
    report.dropped_leases.extend(notes.dropped_leases);

    let local_after = refs_below(repo, repo.namespace())?;
    let mut outgoing = local_after.clone();
    // Mail goes out through this clone's own outbox, which nobody else writes, and only
    // when it holds news: a join of what the others sent stays here.
    if let Some(mail) = outgoing.remove("mail") {
        let views: Vec<ObjectId> = mail_tips.iter().map(|(_, id)| *id).collect();
        if outbox::has_news(repo, mail, &views)? {
            outgoing.insert(outbox::ensure_mine(repo)?, mail);
        }
    }
    let updates = outgoing
        .into_iter()
        .filter(|(s, _)| options.wants(s) && !skipped.contains(s))
        .filter(|(s, id)| remote_refs.get(s) != Some(id))
        .filter(|(s, id)| !presence_can_wait(repo, s, *id, remote_refs.get(s), options))
        .map(|(s, id)| git::Update {
            name: repo.ns_ref(&s),
            new: id,
            expected: remote_refs.get(&s).copied(),
        })
        .collect();
    Ok((updates, local_after))
}

/// A presence whose pushed value is recent and says the same but for time and counters
/// waits: see [`crate::presence::can_wait`].
fn presence_can_wait(
    repo: &Repo,
    suffix: &str,
    local: ObjectId,
    pushed: Option<&ObjectId>,
    options: &Options,
) -> bool {
    suffix.starts_with("presence/")
        && pushed.is_some_and(|&pushed| {
            crate::presence::can_wait(repo, local, pushed, options.presence_every)
        })
}

fn resolve(
    repo: &Repo,
    suffix: &str,
    local: ObjectId,
    remote: ObjectId,
    label: &str,
    notes: &mut Notes,
) -> Result<Resolution> {
    if suffix == "leases" {
        merge::ledger(repo, local, remote, label, notes)
    } else if let Some(name) = suffix.strip_prefix("agents/") {
        merge::card(repo, name, local, remote, label, notes)
    } else if suffix == "tasks" {
        merge::tasks(repo, local, remote, label, notes)
    } else if suffix == "halt" {
        merge::halt(repo, local, remote, label, notes)
    } else if suffix.starts_with("presence/") {
        merge::presence(repo, local, remote)
    } else if suffix.starts_with("cursors/") {
        merge::cursor(repo, local, remote)
    } else if suffix.starts_with("artifact-versions/") {
        Ok(Resolution::Keep) // rewritten from the merged chain; local-only ones are pushed
    } else {
        merge::other(repo, suffix, local, remote)
    }
}

enum Settled {
    Kept,
    Adopted,
    Merged,
    Skipped(String),
}

/// Settle every fetched `(suffix, remote value)` against `local` (the namespace as listed
/// just before): decide each, then move all the refs that change in one ref transaction
/// (a sync's cost follows what moved, not one transaction per clone's presence). When a
/// local writer moved one of them meanwhile, each is settled on its own instead.
fn settle_all<'a>(
    repo: &Repo,
    fetched: &[(&'a str, ObjectId)],
    local: &BTreeMap<String, ObjectId>,
    label: &str,
    notes: &mut Notes,
) -> Result<Vec<(&'a str, Settled)>> {
    let mut batch_notes = Notes::default();
    let mut outcomes = Vec::new();
    let mut moves = Vec::new();
    for &(s, remote) in fetched {
        let local_suffix = outbox::local_suffix(s);
        let current = local.get(local_suffix).copied();
        let resolution = match current {
            None => Resolution::Set(remote),
            Some(l) if l == remote => Resolution::Keep,
            Some(l) => resolve(repo, local_suffix, l, remote, label, &mut batch_notes)?,
        };
        let outcome = match resolution {
            Resolution::Keep => Settled::Kept,
            Resolution::Skip(why) => Settled::Skipped(why),
            Resolution::Set(new) => {
                moves.push(crate::repo::RefUpdate {
                    name: repo.ns_ref(local_suffix),
                    expected: current,
                    new,
                });
                if new == remote {
                    Settled::Adopted
                } else {
                    Settled::Merged
                }
            }
        };
        outcomes.push((s, outcome));
    }
    if moves.is_empty() || repo.swap_refs(&moves)? == Swap::Done {
        notes.append(batch_notes);
        return Ok(outcomes);
    }
    let mut settled = Vec::new();
    for &(s, remote) in fetched {
        let local_suffix = outbox::local_suffix(s);
        let outcome = settle(repo, &repo.ns_ref(local_suffix), remote, |l| {
            resolve(repo, local_suffix, l, remote, label, notes)
        })?;
        settled.push((s, outcome));
    }
    Ok(settled)
}

/// Apply a resolution to the local ref with compare-and-swap, recomputing when a local
/// writer moved the ref meanwhile.
fn settle(
    repo: &Repo,
    name: &str,
    remote: ObjectId,
    mut decide: impl FnMut(ObjectId) -> Result<Resolution>,
) -> Result<Settled> {
    for _ in 0..LOCAL_CAS_ATTEMPTS {
        let local = repo.read_ref(name)?;
        let resolution = match local {
            None => Resolution::Set(remote),
            Some(l) => decide(l)?,
        };
        match resolution {
            Resolution::Keep => return Ok(Settled::Kept),
            Resolution::Skip(why) => return Ok(Settled::Skipped(why)),
            Resolution::Set(new) => {
                if repo.swap_ref(name, local, new)? == Swap::Done {
                    return Ok(if new == remote {
                        Settled::Adopted
                    } else {
                        Settled::Merged
                    });
                }
            }
        }
    }
    Err(
        Error::git(format!("cannot merge {name}: it keeps changing locally"))
            .with_hint("another local process keeps writing it; run `git comm sync` again"),
    )
}

/// Join every remote view of the mail (`tips`: suffix and value) into the local `mail`
/// with at most one merge commit, compare-and-swap, recomputed when a local writer moved it.
fn settle_mail(
    repo: &Repo,
    tips: &[(String, ObjectId)],
    label: &str,
    notes: &mut Notes,
    report: &mut Report,
) -> Result<()> {
    let name = repo.ns_ref("mail");
    let ids: Vec<ObjectId> = tips.iter().map(|(_, id)| *id).collect();
    let mine = outbox::mine(repo);
    let published = tips
        .iter()
        .find(|(suffix, _)| Some(suffix) == mine.as_ref())
        .map(|(_, id)| *id);
    for _ in 0..LOCAL_CAS_ATTEMPTS {
        let local = repo.read_ref(&name)?;
        let (resolution, merged) = merge::mail(repo, local, &ids, published, label)?;
        let Resolution::Set(new) = resolution else {
            return Ok(());
        };
        if repo.swap_ref(&name, local, new)? != Swap::Done {
            continue;
        }
        if merged {
            notes.merged.push("mail".to_string());
        } else if let Some((suffix, _)) = tips.iter().find(|(_, id)| *id == new) {
            report.adopted.push(suffix.clone());
        }
        return Ok(());
    }
    Err(
        Error::git(format!("cannot merge {name}: it keeps changing locally"))
            .with_hint("another local process keeps writing it; run `git comm sync` again"),
    )
}

fn reconcile_artifact(
    repo: &Repo,
    suffix: &str,
    remote: ObjectId,
    report: &mut Report,
) -> Result<()> {
    let key = &suffix["artifacts/".len()..];
    let name = repo.ns_ref(suffix);
    for _ in 0..LOCAL_CAS_ATTEMPTS {
        let local = repo.read_ref(&name)?;
        let (resolution, republished) = match local {
            None => (Resolution::Set(remote), Vec::new()),
            Some(l) => merge::artifact(repo, key, l, remote)?,
        };
        let Resolution::Set(new) = resolution else {
            return Ok(());
        };
        // Version refs first: a kill before the latest ref moves loses nothing (the
        // versions are referenced, and readers roll the latest forward along them).
        for version in artifact::chain(repo, key, new)? {
            artifact::record_version(repo, key, version.meta.version, version.tag)?;
        }
        if repo.swap_ref(&name, local, new)? != Swap::Done {
            continue;
        }
        if republished.is_empty() {
            report.adopted.push(suffix.to_string());
        }
        for (old, new) in republished {
            merge::announce_republish(repo, &old, &new)?;
            report.republished.push((
                format!("{key}@v{}", old.meta.version),
                format!("{key}@v{}", new.meta.version),
            ));
        }
        return Ok(());
    }
    Err(Error::git(format!(
        "cannot merge artifact {key}: it keeps changing locally"
    )))
}

/// Configure `remote.R.push` so plain `git push` carries the namespace too. Returns the
/// changes made (none when already configured).
///
/// Plain `git fetch` no longer fetches the namespace: the raw values go to the incoming
/// store, which only `sync` and the poller fetch into ([`incoming`]). The fetch refspec
/// earlier versions added (into `refs/comm-node-incoming/` in the repository, where every
/// git process would read them) is removed.
pub fn configure_remote(repo: &Repo, remote_name: &str) -> Result<Vec<String>> {
    if repo
        .config_string(&format!("remote.{remote_name}.url"))
        .is_none()
    {
        return Err(Error::usage(format!("no remote '{remote_name}'"))
            .with_hint("add it first: git remote add NAME URL"));
    }
    let remote = resolve_remote(repo, Some(remote_name))?;
    let ns = repo.namespace();
    let legacy_fetch_spec = format!("+{ns}*:{}*", remote.incoming_prefix());
    let push_spec = format!("{ns}*:{ns}*");
    let git_dir = repo.git_dir();
    let mut added = Vec::new();
    let fetch_key = format!("remote.{remote_name}.fetch");
    if git::config_get_all(git_dir, &fetch_key)?.contains(&legacy_fetch_spec) {
        git::config_remove(git_dir, &fetch_key, &legacy_fetch_spec)?;
        added.push(format!("removed {fetch_key} {legacy_fetch_spec}"));
    }
    let push_key = format!("remote.{remote_name}.push");
    let pushes = git::config_get_all(git_dir, &push_key)?;
    if !pushes.contains(&push_spec) {
        // A push refspec replaces push.default; keep plain `git push` pushing the branch.
        if pushes.is_empty() {
            git::config_add(git_dir, &push_key, "HEAD")?;
            added.push(format!("{push_key} HEAD"));
        }
        git::config_add(git_dir, &push_key, &push_spec)?;
        added.push(format!("{push_key} {push_spec}"));
    }
    Ok(added)
}
