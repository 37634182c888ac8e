//! Artifacts: versioned files shared between agents, stored as annotated tags on blobs.
//!
//! `refs/comm-node/artifacts/DOMAIN/NAME` points at the tag of the latest version; each tag
//! names its predecessor (`Previous:`), which is the history chain. Because a tag only
//! references its blob, every version also keeps a ref
//! `refs/comm-node/artifact-versions/DOMAIN/NAME/vN` so fetch and push carry all of history.

pub mod diff;
pub mod seen;
pub mod tag;

use std::time::{Duration, Instant};

use sha2::{Digest, Sha256};

use crate::agent;
use crate::config::Config;
use crate::error::{Context, Error, Result};
use crate::mail::{self, Draft};
pub use crate::model::spec::{self, Spec};
use crate::repo::{backoff, ObjectId, RefUpdate, Repo, Swap};
pub use tag::{Meta, Version};

/// How long `publish` retries a contended artifact ref.
const PUBLISH_DEADLINE: Duration = Duration::from_secs(60);

pub fn latest_ref(repo: &Repo, key: &str) -> String {
    repo.ns_ref(&format!("artifacts/{key}"))
}

pub fn version_ref(repo: &Repo, key: &str, version: u64) -> String {
    repo.ns_ref(&format!("artifact-versions/{key}/v{version}"))
}

/// Options of `publish` beyond the content.
#[derive(Debug, Clone, Default)]
pub struct PublishOptions {
    pub description: String,
    pub media_type: Option<String>,
    /// Post the `artifact` message to `all` (sync's re-publish writes its own).
    pub announce: bool,
}

/// Publish `content` as the next version of `spec`, by `publisher`.
pub fn publish(
    repo: &Repo,
    config: &Config,
    publisher: &str,
    spec: &Spec,
    content: &[u8],
    options: &PublishOptions,
) -> Result<Version> {
    if repo.namespace().starts_with("refs/heads/") {
        return Err(Error::config(format!(
            "artifacts cannot live under the branch namespace {}: git stores only commits in refs/heads/",
            repo.namespace()
        ))
        .with_hint("use a namespace outside refs/heads/ (git config --unset comm.namespace) where the remote allows it"));
    }
    if options.announce {
        let known = agent::known_agents(repo, config)?;
        agent::require_known(&known, publisher)?;
    }
    let key = spec.key();
    let media_type = match &options.media_type {
        Some(t) => validate_media_type(t)?,
        None => guess_media_type(&spec.name, content).to_string(),
    };
    let version = store(
        repo,
        &key,
        publisher,
        content,
        &media_type,
        &options.description,
    )?;
    if options.announce {
        announce(repo, config, publisher, &version)?;
    }
    Ok(version)
}

/// Write the blob and tag for the next version and move both refs (the version's own ref
/// and the latest) in one transaction, compare-and-swap, retried.
pub fn store(
    repo: &Repo,
    key: &str,
    publisher: &str,
    content: &[u8],
    media_type: &str,
    description: &str,
) -> Result<Version> {
    let blob = repo.write_blob(content)?;
    let sha256 = sha256_hex(content);
    let ref_name = latest_ref(repo, key);
    let started = Instant::now();
    let mut attempt = 0u32;
    loop {
        let stored = repo.read_ref(&ref_name)?;
        let tip = effective_tip(repo, key)?;
        let previous = tip.map(|t| tag::read(repo, key, t)).transpose()?;
        let meta = Meta {
            key: key.to_string(),
            version: previous.as_ref().map_or(1, |p| p.meta.version + 1),
            media_type: media_type.to_string(),
            sha256: sha256.clone(),
            size: content.len() as u64,
            previous: tip,
            description: description.to_string(),
        };
        let tag_id = tag::write(repo, blob, publisher, &meta)?;
        let updates = [
            RefUpdate {
                name: version_ref(repo, key, meta.version),
                expected: None,
                new: tag_id,
            },
            RefUpdate {
                name: ref_name.clone(),
                expected: stored,
                new: tag_id,
            },
        ];
        if repo.swap_refs(&updates)? == Swap::Done {
            return tag::read(repo, key, tag_id);
        }
        attempt += 1;
        if started.elapsed() > PUBLISH_DEADLINE {
            return Err(
                Error::git(format!("gave up publishing {key}: ref keeps moving"))
                    .with_hint("another process keeps publishing it; try again"),
            );
        }
        backoff(attempt);
    }
}

/// The latest version's tag: the latest ref, rolled forward along version refs whose tag
/// names it as previous. A writer killed after the version ref moved but before the latest
/// ref did leaves exactly that, and nothing is lost: the next publish moves the latest ref.
pub fn effective_tip(repo: &Repo, key: &str) -> Result<Option<ObjectId>> {
    let mut tip = repo.read_ref(&latest_ref(repo, key))?;
    loop {
        let next = match tip {
            Some(t) => tag::read(repo, key, t)?.meta.version + 1,
            None => 1,
        };
        let Some(candidate) = repo.read_ref(&version_ref(repo, key, next))? else {
            return Ok(tip);
        };
        let follows = tag::read(repo, key, candidate).is_ok_and(|v| v.meta.previous == tip);
        if !follows {
            return Ok(tip);
        }
        tip = Some(candidate);
    }
}

/// Point the per-version ref at `tag_id` (creating or correcting it).
pub fn record_version(repo: &Repo, key: &str, version: u64, tag_id: ObjectId) -> Result<()> {
    let name = version_ref(repo, key, version);
    loop {
        let current = repo.read_ref(&name)?;
        if current == Some(tag_id) || repo.swap_ref(&name, current, tag_id)? == Swap::Done {
            return Ok(());
        }
    }
}

fn announce(repo: &Repo, config: &Config, publisher: &str, version: &Version) -> Result<()> {
    let label = format!("{}@v{}", version.meta.key, version.meta.version);
    let first_line = version.meta.description.lines().next().unwrap_or("").trim();
    let subject = if first_line.is_empty() {
        format!("published {label}")
    } else {
        format!("published {label}: {first_line}")
    };
    let draft = Draft {
        subject,
        body: version.meta.description.clone(),
        to: vec![agent::EVERYONE.to_string()],
        kind: "artifact".to_string(),
        artifact: Some(label),
        ..Draft::default()
    };
    mail::send(repo, config, publisher, &draft)?;
    Ok(())
}

pub fn sha256_hex(content: &[u8]) -> String {
    Sha256::digest(content)
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

fn validate_media_type(text: &str) -> Result<String> {
    let ok = text.split_once('/').is_some_and(|(a, b)| {
        !a.is_empty()
            && !b.is_empty()
            && text
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || "/.+-_;= ".contains(c))
    });
    if ok {
        Ok(text.to_string())
    } else {
        Err(Error::usage(format!("invalid media type '{text}'"))
            .with_hint("use TYPE/SUBTYPE, e.g. application/json or text/plain"))
    }
}

/// A media type from the file extension, else text/plain for UTF-8 text, else binary.
pub fn guess_media_type(name: &str, content: &[u8]) -> &'static str {
    let extension = name.rsplit_once('.').map(|(_, e)| e.to_ascii_lowercase());
    match extension.as_deref() {
        Some("json") => "application/json",
        Some("yaml" | "yml") => "application/yaml",
        Some("md") => "text/markdown",
        Some("html") => "text/html",
        Some("png") => "image/png",
        Some("pdf") => "application/pdf",
        Some("proto") | Some("graphql") | Some("sql") => "text/plain",
        _ if is_text(content) => "text/plain",
        _ => "application/octet-stream",
    }
}

pub fn is_text(content: &[u8]) -> bool {
    !content.contains(&0) && std::str::from_utf8(content).is_ok()
}

/// The latest version of `key`, if published.
pub fn latest(repo: &Repo, key: &str) -> Result<Option<Version>> {
    match effective_tip(repo, key)? {
        Some(id) => tag::read(repo, key, id).map(Some),
        None => Ok(None),
    }
}

/// The latest version of every artifact, sorted by key.
pub fn list(repo: &Repo) -> Result<Vec<Version>> {
    let prefix = repo.ns_ref("artifacts/");
    let mut out = Vec::new();
    let mut keys: Vec<String> = repo
        .list_refs(&prefix)?
        .into_iter()
        .map(|(name, _)| name[prefix.len()..].to_string())
        .collect();
    // A first version whose latest ref was never written still counts.
    let versions = repo.ns_ref("artifact-versions/");
    for (name, _) in repo.list_refs(&versions)? {
        if let Some((key, _)) = name[versions.len()..].rsplit_once('/') {
            keys.push(key.to_string());
        }
    }
    keys.sort();
    keys.dedup();
    for key in keys {
        if let Some(version) = latest(repo, &key)? {
            out.push(version);
        }
    }
    out.sort_by(|a, b| a.meta.key.cmp(&b.meta.key));
    Ok(out)
}

/// All versions of `key` reachable through the `Previous:` chain from `tip`, newest first.
pub fn chain(repo: &Repo, key: &str, tip: ObjectId) -> Result<Vec<Version>> {
    let mut out = Vec::new();
    let mut next = Some(tip);
    while let Some(id) = next {
        let version = tag::read(repo, key, id)?;
        next = version.meta.previous;
        out.push(version);
    }
    Ok(out)
}

/// Resolve `spec` to a stored version (the latest when no version is given).
pub fn resolve(repo: &Repo, spec: &Spec) -> Result<Version> {
    let key = spec.key();
    let not_published = || {
        Error::usage(format!("no artifact {key}"))
            .with_hint("list artifacts with `git comm artifacts`; `git comm sync` fetches others'")
    };
    let latest = latest(repo, &key)?.ok_or_else(not_published)?;
    let Some(wanted) = spec.version else {
        return Ok(latest);
    };
    if wanted > latest.meta.version {
        return Err(Error::usage(format!(
            "{key} has no version {wanted} (latest is v{})",
            latest.meta.version
        ))
        .with_hint(format!(
            "ask for {key}@1 .. {key}@{}; `git comm sync` fetches newer ones",
            latest.meta.version
        )));
    }
    if let Some(id) = repo.read_ref(&version_ref(repo, &key, wanted))? {
        let version = tag::read(repo, &key, id)?;
        if version.meta.version == wanted {
            return Ok(version);
        }
    }
    chain(repo, &key, latest.tag)?
        .into_iter()
        .find(|v| v.meta.version == wanted)
        .ok_or_else(|| Error::usage(format!("{key} has no version {wanted}")))
}

/// The exact bytes of a version.
pub fn content(repo: &Repo, version: &Version) -> Result<Vec<u8>> {
    let blob = repo
        .gix()
        .find_blob(version.blob)
        .context("cannot read artifact content")?;
    Ok(blob.data.clone())
}
