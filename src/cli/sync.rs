//! `sync`, `status`, `doctor`.

use clap::Args;
use serde_json::json;

use super::artifact::version_json;
use super::format::{ago, iso_time, short, Format};
use super::output::{self, outln};
use super::Ctx;
use crate::agent;
use crate::artifact;
use crate::error::Result;
use crate::lease::{self, Lease, Resource};
use crate::mail::{self, Reader};
use crate::sync::{self, graph, Options, Remote, Report};

#[derive(Debug, Args)]
pub struct SyncArgs {
    /// Remote name, URL or path (default: git config comm.remote, else origin).
    pub remote: Option<String>,
}

#[derive(Debug, Args)]
pub struct DoctorArgs {
    /// Remote name, URL or path (default: git config comm.remote, else origin).
    pub remote: Option<String>,
    /// Restore broken namespace refs to their last good value and remove stale locks,
    /// saying what changed, then check.
    #[arg(long)]
    pub repair: bool,
}

pub fn sync(ctx: &Ctx, args: SyncArgs) -> Result<()> {
    let remote = sync::resolve_remote(&ctx.repo, args.remote.as_deref())?;
    let report = sync::sync(&ctx.repo, &remote, &Options::for_config(&ctx.config))?;
    warn_quarantined(&report);
    let repaired = repair_claims(ctx, &remote)?;
    if ctx.json() {
        let mut json = report_json(&report);
        json["repaired"] = json!(repaired);
        return output::json(&json);
    }
    print_report(&report)?;
    for subject in &repaired {
        outln!("repaired: {subject}")?;
    }
    Ok(())
}

/// Make every task agree with its claim lease (a claim killed between its lease and its
/// ledger record, a claim whose lease was ended elsewhere), and publish the fixes.
fn repair_claims(ctx: &Ctx, remote: &Remote) -> Result<Vec<String>> {
    let me = ctx.me().ok();
    let repaired = crate::task::claims::repair(&ctx.repo, me.as_deref())?;
    if !repaired.is_empty() {
        let tasks = Options::only("tasks");
        sync::sync(&ctx.repo, remote, &tasks)?;
    }
    Ok(repaired)
}

/// One stderr line per remote value the gate refused (also in `--json` output).
pub fn warn_quarantined(r: &Report) {
    for q in &r.quarantined {
        output::notice(&format!(
            "{} skipped {} from {}: {} (local state kept; see `git comm doctor`)\n",
            super::colour::warning_label(),
            q.remote_ref,
            r.remote,
            q.reason
        ));
    }
}

pub fn report_json(r: &Report) -> serde_json::Value {
    json!({
        "remote": r.remote,
        "attempts": r.attempts,
        "retried": r.retried,
        "pushed": r.pushed,
        "adopted": r.adopted,
        "merged": r.merged,
        "republished": r.republished.iter().map(|(was, now)| json!({"was": was, "now": now})).collect::<Vec<_>>(),
        "dropped_leases": r.dropped_leases.iter().map(|d| json!({
            "id": d.lease.id, "holder": d.lease.holder,
            "winner": d.winner.id, "winner_holder": d.winner.holder,
        })).collect::<Vec<_>>(),
        "skipped": r.skipped,
        "moved": r.moved,
        "quarantined": r.quarantined.iter().map(|q| json!({"ref": q.remote_ref, "reason": q.reason})).collect::<Vec<_>>(),
    })
}

/// `mail 2 in, 1 out; acks 1 out; leases 1 granted (ab12cd34ef56); artifacts in
/// api/schema@v2 api/schema@v3`, or `nothing changed`.
fn moved_summary(m: &crate::sync::moved::Moved) -> String {
    let pair = |what: &str, a: usize, a_word: &str, b: usize, b_word: &str| {
        let parts: Vec<String> = [(a, a_word), (b, b_word)]
            .iter()
            .filter(|(n, _)| *n > 0)
            .map(|(n, w)| format!("{n} {w}"))
            .collect();
        (!parts.is_empty()).then(|| format!("{what} {}", parts.join(", ")))
    };
    let ids = |ids: &[String]| ids.join(" ");
    let mut parts: Vec<String> = Vec::new();
    parts.extend(pair("mail", m.mail_in, "in", m.mail_out, "out"));
    parts.extend(pair("acks", m.acks_in, "in", m.acks_out, "out"));
    let mut leases = Vec::new();
    if !m.leases_granted.is_empty() {
        leases.push(format!(
            "{} granted ({})",
            m.leases_granted.len(),
            ids(&m.leases_granted)
        ));
    }
    if !m.leases_ended.is_empty() {
        leases.push(format!(
            "{} ended ({})",
            m.leases_ended.len(),
            ids(&m.leases_ended)
        ));
    }
    if !m.leases_granted_out.is_empty() {
        leases.push(format!(
            "{} out ({})",
            m.leases_granted_out.len(),
            ids(&m.leases_granted_out)
        ));
    }
    if !m.leases_ended_out.is_empty() {
        leases.push(format!(
            "{} endings out ({})",
            m.leases_ended_out.len(),
            ids(&m.leases_ended_out)
        ));
    }
    if !leases.is_empty() {
        parts.push(format!("leases {}", leases.join(", ")));
    }
    parts.extend(pair("tasks", m.tasks_in, "in", m.tasks_out, "out"));
    let halt: Vec<&str> = [(m.halt_in, "in"), (m.halt_out, "out")]
        .iter()
        .filter(|(moved, _)| *moved)
        .map(|(_, w)| *w)
        .collect();
    if !halt.is_empty() {
        parts.push(format!("halt {}", halt.join(", ")));
    }
    let mut artifacts = Vec::new();
    if !m.artifacts_in.is_empty() {
        artifacts.push(format!("in {}", ids(&m.artifacts_in)));
    }
    if !m.artifacts_out.is_empty() {
        artifacts.push(format!("out {}", ids(&m.artifacts_out)));
    }
    if !artifacts.is_empty() {
        parts.push(format!("artifacts {}", artifacts.join(", ")));
    }
    parts.extend(pair("cursors", m.cursors_in, "in", m.cursors_out, "out"));
    parts.extend(pair("agents", m.agents_in, "in", m.agents_out, "out"));
    if parts.is_empty() {
        "nothing changed".to_string()
    } else {
        parts.join("; ")
    }
}

fn print_report(r: &Report) -> Result<()> {
    let mut line = format!("synced {}: {}", r.remote, moved_summary(&r.moved));
    if !r.merged.is_empty() {
        line.push_str(&format!(" (merged {})", r.merged.join(" ")));
    }
    if r.attempts > 1 {
        line.push_str(&format!(" ({} attempts)", r.attempts));
    }
    outln!("{line}")?;
    for (was, now) in &r.republished {
        outln!("republished {was} as {now} (the remote had published concurrently)")?;
    }
    for d in &r.dropped_leases {
        outln!(
            "dropped lease {} of {}: conflicts with {} held by {} on {}",
            d.lease.id,
            d.lease.holder,
            d.winner.id,
            d.winner.holder,
            r.remote
        )?;
    }
    for s in &r.skipped {
        outln!("skipped {s}")?;
    }
    Ok(())
}

fn overlaps(a: &str, b: &str) -> bool {
    match (Resource::parse(a), Resource::parse(b)) {
        (Ok(a), Ok(b)) => a.overlaps(&b),
        _ => a == b,
    }
}

/// Per namespace ref that differs from the remote-tracking copy: (ref, ahead, behind).
fn divergence(ctx: &Ctx, remote: &Remote) -> Result<Vec<(String, String)>> {
    let repo = &ctx.repo;
    let ns = repo.namespace();
    let local: std::collections::BTreeMap<String, _> = repo
        .list_refs(ns)?
        .into_iter()
        .map(|(n, id)| (n[ns.len()..].to_string(), id))
        .collect();
    let theirs = crate::repo::tracking::read(repo, &remote.label)?;
    // Mail leaves through this clone's outbox: compare `mail` with it, and leave the
    // other clones' outboxes out (sync merges them in).
    let mut theirs = theirs;
    let mine = sync::outbox::mine(repo);
    let my_outbox = mine.as_ref().and_then(|m| theirs.get(m).copied());
    let mail_waits = match local.get("mail") {
        Some(&mail) => sync::outbox::mail_waits(repo, mail, &theirs)?,
        None => false,
    };
    theirs.retain(|name, _| !sync::outbox::is_mail_view(name));
    if let Some(id) = my_outbox {
        theirs.insert("mail".to_string(), id);
    }
    let presence_every = Options::for_config(&ctx.config).presence_every;
    let mut out = Vec::new();
    let names: std::collections::BTreeSet<&String> = local.keys().chain(theirs.keys()).collect();
    for name in names {
        if name.starts_with("artifact-versions/") {
            continue;
        }
        let state = match (local.get(name), theirs.get(name)) {
            (Some(l), Some(t)) if l == t => continue,
            // Joins of what the others sent are not pushed: only news makes mail differ.
            (Some(_), _) if name == "mail" && !mail_waits => continue,
            // A mere refresh waits for its turn to be pushed: nothing to report.
            (Some(&l), Some(&t))
                if name.starts_with("presence/")
                    && crate::presence::can_wait(repo, l, t, presence_every) =>
            {
                continue
            }
            (Some(_), None) => "local only".to_string(),
            (None, Some(_)) => "remote only".to_string(),
            (Some(&l), Some(&t)) => {
                let commits =
                    repo.gix().find_commit(l).is_ok() && repo.gix().find_commit(t).is_ok();
                if commits {
                    let (ahead, behind) = graph::ahead_behind(repo, l, t)?;
                    format!("ahead {ahead}, behind {behind}")
                } else {
                    "differs".to_string()
                }
            }
            (None, None) => continue,
        };
        out.push((name.clone(), state));
    }
    Ok(out)
}

pub fn status(ctx: &Ctx) -> Result<()> {
    let repo = &ctx.repo;
    let now = agent::now_secs();
    let me = ctx.me().ok();
    let card = match &me {
        Some(name) => agent::read_card(repo, name)?,
        None => None,
    };
    let domain = me
        .as_deref()
        .and_then(|m| agent::domain_of(&ctx.config, card.as_ref(), m));
    // An agent the config binds to a domain is known before it ever ran `join`.
    let joined = card.is_some()
        || me
            .as_ref()
            .is_some_and(|m| ctx.config.agents.contains_key(m));
    let unread = match &me {
        Some(name) => {
            let reader = Reader::load(repo, &ctx.config, name)?;
            mail::unread_counts(repo, std::slice::from_ref(&reader))?.pop()
        }
        None => None,
    };
    let leases = lease::live_leases(repo)?;
    let mine: Vec<&Lease> = leases
        .iter()
        .filter(|l| Some(&l.holder) == me.as_ref())
        .collect();
    let scope: Vec<String> = domain
        .as_ref()
        .and_then(|d| ctx.config.domains.get(d))
        .map(|d| d.scope.clone())
        .unwrap_or_default();
    let touching: Vec<&Lease> = leases
        .iter()
        .filter(|l| Some(&l.holder) != me.as_ref())
        .filter(|l| {
            l.resources
                .iter()
                .any(|r| scope.iter().any(|s| overlaps(r, s)))
        })
        .collect();
    let mut artifacts = artifact::list(repo)?;
    artifacts.sort_by_key(|v| std::cmp::Reverse(v.time));
    artifacts.truncate(5);
    let standings = crate::oversight::standing::standings(repo, &ctx.config)?;
    let remote = sync::resolve_remote(repo, None).ok();
    let last = remote
        .as_ref()
        .and_then(|r| sync::state::load(repo, &r.label));
    let diverged = match &remote {
        Some(r) => divergence(ctx, r)?,
        None => Vec::new(),
    };
    if let Some(name) = &me {
        super::mail::tell_budget(ctx, name);
    }

    if ctx.json() {
        let lease_json = |l: &&Lease| {
            json!({"id": l.id, "holder": l.holder, "resources": l.resources,
                   "exclusive": l.exclusive, "expires": iso_time(l.expires),
                   "expires_local": super::format::local_time(l.expires)})
        };
        return output::json(&json!({
            "me": me, "domain": domain, "joined": joined, "unread": unread.map(|u| u.count),
            "unread_more": unread.is_some_and(|u| u.more),
            "my_leases": mine.iter().map(lease_json).collect::<Vec<_>>(),
            "leases_touching_my_domain": touching.iter().map(lease_json).collect::<Vec<_>>(),
            "recent_artifacts": artifacts.iter().map(version_json).collect::<Vec<_>>(),
            "agents": standings.iter().map(|s| json!({"name": s.card.name, "domain": s.card.domain,
                "last_seen": (s.card.last_seen > 0).then(|| iso_time(s.card.last_seen)),
                "state": s.presence.as_ref().and_then(|p| p.state.clone()),
                "task": s.presence.as_ref().and_then(|p| p.task.clone()),
                "note": s.presence.as_ref().and_then(|p| p.note.clone()),
                "retired": s.card.retired.is_some(),
                "stale": s.stale, "leases_at_risk": s.leases_at_risk, "tasks_at_risk": s.tasks_at_risk})).collect::<Vec<_>>(),
            "remote": remote.as_ref().map(|r| r.name.clone()),
            "last_sync": last.as_ref().map(|l| iso_time(l.time)),
            "divergence": diverged.iter().map(|(r, s)| json!({"ref": r, "state": s})).collect::<Vec<_>>(),
        }));
    }
    if ctx.format == Format::Compact {
        let mut lines = vec![format!(
            "me {} domain={} unread={}",
            me.as_deref().unwrap_or("-"),
            domain.as_deref().unwrap_or("-"),
            unread.map_or("-".to_string(), |u| u.to_string())
        )];
        let lease_line = |l: &Lease| super::lease::human_line(l, now);
        lines.extend(mine.iter().map(|l| format!("lease {}", lease_line(l))));
        lines.extend(
            touching
                .iter()
                .map(|l| format!("other-lease {}", lease_line(l))),
        );
        lines.extend(
            artifacts
                .iter()
                .map(|v| format!("artifact {}", super::artifact::summary_line(v, now))),
        );
        lines.extend(
            standings
                .iter()
                .map(|s| format!("agent {}", super::agent::standing_line(s, now))),
        );
        if let Some(r) = &remote {
            let when = last
                .as_ref()
                .map_or("never".to_string(), |l| ago(l.time, now));
            lines.push(format!("remote {} synced {when}", r.name));
        }
        lines.extend(
            diverged
                .iter()
                .map(|(name, state)| format!("diverged {name} {state}")),
        );
        return output::text(&(lines.join("\n") + "\n"));
    }
    let who = me
        .clone()
        .unwrap_or_else(|| "- (no identity: --as NAME)".into());
    let joined = if joined || me.is_none() {
        ""
    } else {
        " (not joined)"
    };
    outln!(
        "me: {who}{joined} domain={} unread={}",
        domain.as_deref().unwrap_or("-"),
        unread.map_or("-".to_string(), |u| u.to_string())
    )?;
    let lease_line = |l: &Lease| super::lease::human_line(l, now);
    if mine.is_empty() {
        outln!("my leases: none")?;
    } else {
        outln!("my leases:")?;
    }
    for l in &mine {
        outln!("  {}", lease_line(l))?;
    }
    if !touching.is_empty() {
        outln!("others' leases in my domain:")?;
        for l in &touching {
            outln!("  {}", lease_line(l))?;
        }
    }
    if !artifacts.is_empty() {
        outln!("recent artifacts:")?;
        for v in &artifacts {
            outln!("  {}", super::artifact::summary_line(v, now))?;
        }
    }
    if standings.is_empty() {
        outln!("agents: none")?;
    } else {
        outln!("agents:")?;
        for s in &standings {
            outln!("  {}", super::agent::standing_line(s, now))?;
        }
    }
    match &remote {
        None => outln!("remote: none (git remote add origin URL, then git comm sync)")?,
        Some(r) => {
            let when = last.map_or("never".to_string(), |l| ago(l.time, now));
            outln!("remote: {} last sync {when}", r.name)?;
            if diverged.is_empty() && when != "never" {
                outln!("  in step with the last fetch")?;
            }
            for (name, state) in &diverged {
                outln!("  {name}: {state}")?;
            }
        }
    }
    Ok(())
}

pub use doctor::doctor;

mod doctor {
    use super::*;
    use crate::config::Config;
    use crate::error::Error;
    use crate::repo::Repo;
    use crate::sync::git;

    struct Check {
        name: &'static str,
        ok: bool,
        detail: String,
    }

    fn check(name: &'static str, ok: bool, detail: impl Into<String>) -> Check {
        Check {
            name,
            ok,
            detail: detail.into(),
        }
    }

    /// Runs without a parsed config, so a broken config is reported instead of fatal.
    pub fn doctor(
        mut repo: Repo,
        as_agent: Option<&str>,
        json_out: bool,
        args: &super::DoctorArgs,
    ) -> Result<()> {
        let remote_arg = args.remote.as_deref();
        let mut checks = Vec::new();
        let config = match repo.workdir() {
            Some(root) => Config::load(root),
            None => Ok(Config::empty()),
        };
        if let Ok(config) = &config {
            repo.set_policy(config.policy());
        }
        let repo = &repo;
        let repaired = if args.repair {
            crate::cli::integrity::repair(repo)?
        } else {
            Vec::new()
        };
        checks.push(match &config {
            Ok(_) => check("config", true, "parses"),
            Err(e) => check("config", false, e.to_string()),
        });
        checks.push(hooks_check(repo));
        checks.push(identity_check(repo, as_agent, config.as_ref().ok()));
        checks.push(pending_check(repo));
        checks.extend(remote_checks(repo, remote_arg));
        checks.extend(
            crate::cli::integrity::checks(repo)?
                .into_iter()
                .map(|r| check(r.name, r.ok, r.detail)),
        );
        let failed = checks.iter().filter(|c| !c.ok).count();
        if json_out {
            let rows: Vec<_> = checks
                .iter()
                .map(|c| json!({"check": c.name, "ok": c.ok, "detail": c.detail}))
                .collect();
            output::json(&json!({"ok": failed == 0, "checks": rows, "repaired": repaired}))?;
        } else {
            for line in &repaired {
                outln!("repaired: {line}")?;
            }
            for c in &checks {
                let mark = if c.ok { "ok  " } else { "FAIL" };
                outln!("{mark} {}: {}", c.name, c.detail)?;
            }
        }
        if failed > 0 {
            return Err(
                Error::blocked(format!("{failed} check(s) failed")).with_hint(if json_out {
                    "fix the checks with \"ok\": false, then run `git comm doctor` again"
                } else {
                    "fix the FAIL lines above, then run `git comm doctor` again"
                }),
            );
        }
        Ok(())
    }

    /// The shims as `hooks status` sees them (same directory rules, same recognition).
    fn hooks_check(repo: &Repo) -> Check {
        let states = crate::hooks::status(repo);
        let dir = crate::hooks::hooks_dir(repo);
        let missing: Vec<&str> = states
            .iter()
            .filter(|s| !s.installed)
            .map(|s| s.hook.as_str())
            .collect();
        if !missing.is_empty() {
            return check(
                "hooks",
                false,
                format!(
                    "{} not installed in {}: run `git comm hooks install`",
                    missing.join(", "),
                    dir.display()
                ),
            );
        }
        let lost = states.iter().find(|s| {
            !s.recorded_bin_exists && (s.direct || crate::hooks::shim::first_on_path().is_none())
        });
        match lost.and_then(|s| s.recorded_bin.as_deref()) {
            Some(bin) => check(
                "hooks",
                false,
                lost_binary(bin, lost.is_some_and(|s| s.direct)),
            ),
            None => check("hooks", true, format!("installed in {}", dir.display())),
        }
    }

    fn lost_binary(bin: &str, direct: bool) -> String {
        if direct {
            return format!("the pre-commit hook runs {bin} directly and it is gone: every commit fails; run `git comm hooks install` again");
        }
        format!("git-comm is not on PATH and {bin} is gone: every commit fails; run `git comm hooks install` again")
    }

    fn identity_check(repo: &Repo, as_agent: Option<&str>, config: Option<&Config>) -> Check {
        let name = match agent::resolve_identity(repo, as_agent) {
            Ok(n) => n,
            Err(e) => return check("identity", false, e.to_string().replace('\n', "; ")),
        };
        let card = agent::read_card(repo, &name).ok().flatten();
        let bound = config.is_some_and(|c| c.agents.contains_key(&name));
        if card.is_some() || bound {
            check("identity", true, format!("{name}, joined"))
        } else {
            check(
                "identity",
                false,
                format!("{name} has not joined: run `git comm join {name}`"),
            )
        }
    }

    /// Grants of `lease --sync` awaiting the remote: under way (live) or abandoned (stale).
    fn pending_check(repo: &Repo) -> Check {
        let entries = match sync::pending::list(repo) {
            Ok(entries) => entries,
            Err(e) => return check("pending", false, e.to_string().replace('\n', "; ")),
        };
        if entries.is_empty() {
            return check("pending", true, "no unconfirmed lease --sync grants");
        }
        let describe = |e: &sync::pending::Entry| {
            let who = e
                .info
                .as_ref()
                .map(|i| format!(" of {} (pid {})", i.holder, i.pid))
                .unwrap_or_default();
            if e.live {
                format!("lease {}{who} is being confirmed (live)", e.lease_id)
            } else {
                format!(
                    "lease {}{who}: its lease --sync died unconfirmed (stale)",
                    e.lease_id
                )
            }
        };
        let stale = entries.iter().any(|e| !e.live);
        let mut detail = entries.iter().map(describe).collect::<Vec<_>>().join("; ");
        if stale {
            detail.push_str(
                "; the next `git comm sync` or lease command withdraws stale grants before pushing",
            );
        }
        check("pending", !stale, detail)
    }

    fn remote_checks(repo: &Repo, remote_arg: Option<&str>) -> Vec<Check> {
        let remote = match sync::resolve_remote(repo, remote_arg) {
            Ok(r) => r,
            Err(e) => {
                let ok = remote_arg.is_none();
                let detail = if ok {
                    "none configured; offline use only (git remote add origin URL to share)".into()
                } else {
                    e.to_string().replace('\n', "; ")
                };
                return vec![check("remote", ok, detail)];
            }
        };
        match git::probe(repo.git_dir(), &remote.name, repo.namespace()) {
            Ok(Ok(())) => {}
            Ok(Err(why)) => {
                return vec![check(
                    "remote",
                    false,
                    format!("{} unreachable: {why}", remote.name),
                )]
            }
            Err(e) => return vec![check("remote", false, e.to_string().replace('\n', "; "))],
        }
        vec![
            check("remote", true, format!("{} reachable", remote.name)),
            namespace_check(repo, &remote),
        ]
    }

    /// Did the remote's git comm server guard refuse the probe? Then the namespace reached
    /// it: the host takes the refs, and the guard (rightly) stores no probe. Older guards
    /// refuse it as an unknown ref, in the same words as every refusal of theirs.
    fn answered_by_guard(why: &str) -> bool {
        why.contains(crate::server::PROBE_ANSWER) || why.contains("git-comm server guard")
    }

    /// Push a throwaway ref under the namespace and delete it again.
    fn namespace_check(repo: &Repo, remote: &Remote) -> Check {
        let probe = || -> Result<std::result::Result<(), String>> {
            let tree = repo.empty_tree()?;
            let commit = repo.write_commit(tree, &[], "git-comm", "doctor: namespace probe\n")?;
            let name = repo.ns_ref(&format!(
                "{}{}",
                crate::server::PROBE_PREFIX,
                short(&commit)
            ));
            let update = git::Update {
                name: name.clone(),
                new: commit,
                expected: None,
            };
            Ok(match git::push(repo.git_dir(), &remote.name, &[update])? {
                git::PushOutcome::Done => {
                    git::delete_remote_ref(repo.git_dir(), &remote.name, &name, commit)?;
                    Ok(())
                }
                git::PushOutcome::Stale(why)
                | git::PushOutcome::Dropped(why)
                | git::PushOutcome::Refused(why) => Err(why),
            })
        };
        let ns = repo.namespace();
        match probe() {
            Ok(Ok(())) => check("namespace", true, format!("{} accepts {ns}*", remote.name)),
            Ok(Err(why)) if answered_by_guard(&why) => check(
                "namespace",
                true,
                format!(
                    "{} accepts {ns}* (its git comm server guard checks every push; it answered the probe without storing it)",
                    remote.name
                ),
            ),
            Ok(Err(why)) => check(
                "namespace",
                false,
                format!(
                    "{} refuses refs under {ns} ({why}); if it accepts only branches: git config comm.namespace refs/heads/comm-node/",
                    remote.name
                ),
            ),
            Err(e) => check("namespace", false, e.to_string().replace('\n', "; ")),
        }
    }
}
