//! `publish`, `artifacts`, `get`, `diff`, `wait`.

use std::path::PathBuf;
use std::time::Duration;

use clap::Args;
use serde_json::json;

use super::format::{ago, iso_time, short};
use super::output::{self, outln};
use super::Ctx;
use crate::agent;
use crate::artifact::{self, diff::Outcome, spec::parse_version, PublishOptions, Spec, Version};
use crate::error::{Error, Result};
use crate::sync;

#[derive(Debug, Args)]
pub struct PublishArgs {
    /// DOMAIN/NAME, e.g. api/openapi.json.
    pub artifact: String,
    /// The file to publish (`-` for stdin).
    pub file: String,
    /// Description of this version.
    #[arg(short = 'm', long = "message", value_name = "DESC")]
    pub message: Option<String>,
    /// Media type (default: guessed from the name and content).
    #[arg(long = "type", value_name = "MEDIA")]
    pub media_type: Option<String>,
}

#[derive(Debug, Args)]
pub struct GetArgs {
    /// DOMAIN/NAME or DOMAIN/NAME@VERSION.
    pub artifact: String,
    /// Write to PATH instead of stdout.
    #[arg(short = 'o', long = "output", value_name = "PATH")]
    pub output: Option<PathBuf>,
    /// Overwrite PATH if it exists.
    #[arg(long)]
    pub force: bool,
}

#[derive(Debug, Args)]
pub struct DiffArgs {
    /// DOMAIN/NAME.
    pub artifact: String,
    /// Old version (default: the one before NEW).
    pub old: Option<String>,
    /// New version (default: latest).
    pub new: Option<String>,
}

#[derive(Debug, Args)]
pub struct WaitArgs {
    /// DOMAIN/NAME: return when a version newer than the one you last saw (`get`/`wait`)
    /// exists, or any version when you saw none.
    #[arg(required_unless_present_any = ["ack", "task"], conflicts_with_all = ["ack", "task"])]
    pub artifact: Option<String>,
    /// Wait for a version newer than this one instead.
    #[arg(long, value_name = "VERSION", requires = "artifact")]
    pub after: Option<u64>,
    /// Wait until every recipient of message ID has acknowledged it.
    #[arg(long, value_name = "ID", conflicts_with = "task")]
    pub ack: Option<String>,
    /// Wait until task ID is done (exit 1 if it fails).
    #[arg(long, value_name = "ID")]
    pub task: Option<String>,
    /// Give up after S seconds (exit 1).
    #[arg(long, default_value_t = 300, value_name = "S")]
    pub timeout: u64,
    /// Only watch local refs. By default the wait shares the repository's one poller of
    /// comm.remote (else origin): every comm.pollInterval (default 1s) it asks for the
    /// remote's tips and syncs the whole namespace when one moved.
    #[arg(long)]
    pub local: bool,
}

pub fn publish(ctx: &Ctx, args: PublishArgs) -> Result<()> {
    let me = ctx.me()?;
    let spec = Spec::parse_unversioned(&args.artifact)?;
    // Once the config declares domains, a typo must not create a stray artifact domain.
    if !ctx.config.domains.is_empty() && !ctx.config.domains.contains_key(&spec.domain) {
        return Err(agent::unknown_domain(&ctx.config, &spec.domain));
    }
    let description = args.message.unwrap_or_default();
    // The description is also the body of the announcement: refuse it before publishing.
    crate::mail::check_body_len(&ctx.config, description.len() as u64, false)?;
    let content = read_input(&args.file)?;
    let options = PublishOptions {
        description,
        media_type: args.media_type,
        announce: true,
    };
    let version = artifact::publish(&ctx.repo, &ctx.config, &me, &spec, &content, &options)?;
    if ctx.json() {
        output::json(&version_json(&version))
    } else {
        outln!(
            "published {}@v{} {} bytes sha256 {}",
            version.meta.key,
            version.meta.version,
            version.meta.size,
            &version.meta.sha256[..12]
        )
    }
    .map_err(|e| {
        let what = format!(
            "{}@v{} was published",
            version.meta.key, version.meta.version
        );
        output::explain(e, &what)
    })
}

fn read_input(file: &str) -> Result<Vec<u8>> {
    if file == "-" {
        let mut bytes = Vec::new();
        std::io::Read::read_to_end(&mut std::io::stdin(), &mut bytes)?;
        return Ok(bytes);
    }
    std::fs::read(file).map_err(|e| {
        Error::usage(format!("cannot read {file}: {e}"))
            .with_hint("give an existing file, or - for stdin")
    })
}

pub fn list(ctx: &Ctx) -> Result<()> {
    let versions = artifact::list(&ctx.repo)?;
    if ctx.json() {
        let rows: Vec<_> = versions.iter().map(version_json).collect();
        return output::json(&rows);
    }
    if versions.is_empty() {
        outln!("no artifacts: git comm publish DOMAIN/NAME FILE")?;
    }
    let now = agent::now_secs();
    for v in &versions {
        outln!("{}", summary_line(v, now))?;
    }
    Ok(())
}

pub fn summary_line(v: &Version, now: i64) -> String {
    let mut line = format!(
        "{}@v{} {} {}B by {} {}",
        v.meta.key,
        v.meta.version,
        v.meta.media_type,
        v.meta.size,
        v.publisher,
        ago(v.time, now)
    );
    if let Some(first) = v.meta.description.lines().next() {
        line.push_str(&format!(": {first}"));
    }
    line
}

pub fn version_json(v: &Version) -> serde_json::Value {
    json!({
        "artifact": v.meta.key,
        "version": v.meta.version,
        "media_type": v.meta.media_type,
        "size": v.meta.size,
        "sha256": v.meta.sha256,
        "description": v.meta.description,
        "publisher": v.publisher,
        "time": iso_time(v.time),
        "tag": v.tag.to_string(),
        "blob": v.blob.to_string(),
        "previous": v.meta.previous.map(|p| p.to_string()),
    })
}

pub fn get(ctx: &Ctx, args: GetArgs) -> Result<()> {
    let spec = Spec::parse(&args.artifact)?;
    let version = artifact::resolve(&ctx.repo, &spec)?;
    let bytes = artifact::content(&ctx.repo, &version)?;
    if let Ok(me) = ctx.me() {
        artifact::seen::record(&ctx.repo, &me, &version.meta.key, version.meta.version);
    }
    let Some(path) = args.output else {
        return output::bytes(&bytes);
    };
    if path.exists() && !args.force {
        return Err(Error::usage(format!("{} exists", path.display()))
            .with_hint("pass --force to overwrite it, or choose another -o PATH"));
    }
    std::fs::write(&path, &bytes)
        .map_err(|e| Error::usage(format!("cannot write {}: {e}", path.display())))?;
    if ctx.json() {
        output::json(&json!({"path": path, "version": version_json(&version)}))
    } else {
        outln!(
            "wrote {} ({}@v{}, {} bytes)",
            path.display(),
            version.meta.key,
            version.meta.version,
            bytes.len()
        )
    }
}

pub fn diff(ctx: &Ctx, args: DiffArgs) -> Result<()> {
    let spec = Spec::parse_unversioned(&args.artifact)?;
    let key = spec.key();
    let at = |v: Option<u64>| {
        artifact::resolve(
            &ctx.repo,
            &Spec {
                version: v,
                ..spec.clone()
            },
        )
    };
    let new = at(args.new.as_deref().map(parse_version).transpose()?)?;
    let old = match args.old.as_deref() {
        Some(v) => at(Some(parse_version(v)?))?,
        None if new.meta.version > 1 => at(Some(new.meta.version - 1))?,
        None => {
            return Err(Error::usage(format!("{key} has only one version"))
                .with_hint("nothing to compare yet; `git comm get` shows it"))
        }
    };
    let old_bytes = artifact::content(&ctx.repo, &old)?;
    let new_bytes = artifact::content(&ctx.repo, &new)?;
    let outcome = artifact::diff::diff(&old, &old_bytes, &new, &new_bytes);
    let (kind, text) = match &outcome {
        Outcome::Same => ("same", String::new()),
        Outcome::Binary => ("binary", String::new()),
        Outcome::Text(t) => ("text", t.clone()),
    };
    if ctx.json() {
        return output::json(&json!({
            "artifact": key, "old": old.meta.version, "new": new.meta.version,
            "kind": kind, "diff": text,
        }));
    }
    let (o, n) = (old.meta.version, new.meta.version);
    match outcome {
        Outcome::Same => outln!("{key}: v{o} and v{n} are identical"),
        Outcome::Binary => outln!(
            "{key}: binary content differs (v{o} {}B sha256 {}, v{n} {}B sha256 {})",
            old.meta.size,
            &old.meta.sha256[..12],
            new.meta.size,
            &new.meta.sha256[..12]
        ),
        Outcome::Text(t) => output::text(&t),
    }
}

pub fn wait(ctx: &Ctx, args: WaitArgs) -> Result<()> {
    if let Some(id) = &args.ack {
        return super::mail::wait_for_acks(ctx, id, args.timeout, args.local);
    }
    if let Some(id) = &args.task {
        return super::task::wait_for_task(ctx, id, args.timeout, args.local);
    }
    let spec = Spec::parse_unversioned(args.artifact.as_deref().unwrap_or_default())?;
    let key = spec.key();
    let me = ctx.me().ok();
    let baseline = args.after.or_else(|| {
        me.as_deref()
            .and_then(|m| artifact::seen::last_seen(&ctx.repo, m, &key))
    });
    let remote = sync::wait::remote_for_wait(&ctx.repo, args.local);
    let present = ctx.known_agent();
    let waited = sync::wait::until(
        &ctx.repo,
        remote.as_ref(),
        Duration::from_secs(args.timeout),
        present.as_deref(),
        || {
            Ok(artifact::latest(&ctx.repo, &key)?
                .filter(|v| baseline.is_none_or(|b| v.meta.version > b)))
        },
    )?;
    let Some(version) = waited.found else {
        let what = match baseline {
            Some(v) => format!("no version of {key} newer than v{v}"),
            None => format!("{key} was not published"),
        };
        let hint = match (&remote, &waited.sync_error) {
            (_, Some(e)) => {
                format!("syncing failed ({e}); check the remote, or wait longer with --timeout")
            }
            (Some(r), None) => format!(
                "nothing arrived from {} either; wait longer with --timeout",
                r.name
            ),
            (None, None) => "no remote to sync with: this waited on local refs only".to_string(),
        };
        return Err(Error::blocked(format!("{what} within {}s", args.timeout)).with_hint(hint));
    };
    if let Some(m) = &me {
        artifact::seen::record(&ctx.repo, m, &key, version.meta.version);
    }
    if ctx.json() {
        output::json(&version_json(&version))
    } else {
        outln!(
            "{}@v{} {} by {}",
            version.meta.key,
            version.meta.version,
            short(&version.tag),
            version.publisher
        )
    }
}
