//! Agents: ref-safe names, who "I" am (`--as`, `GIT_COMM_AGENT`, `comm.agent`), and the
//! agent card at `refs/comm-node/agents/<name>` (a commit chain whose tree holds `card.json`).

use crate::config::Config;
use crate::error::{Error, Result};
use crate::repo::{NewCommit, ObjectId, Repo};

pub const ENV_AGENT: &str = "GIT_COMM_AGENT";
const CARD_FILE: &str = "card.json";
pub use crate::model::card::{Card, Retired};
pub use crate::model::name::{validate_name, EVERYONE};

/// Who is acting: `--as`, else `GIT_COMM_AGENT`, else git config `comm.agent`.
pub fn resolve_identity(repo: &Repo, flag: Option<&str>) -> Result<String> {
    let env_value = std::env::var(ENV_AGENT).ok().filter(|v| !v.is_empty());
    let name = flag
        .map(str::to_string)
        .or(env_value)
        .or_else(|| repo.config_string("comm.agent"))
        .ok_or_else(|| {
            Error::usage("no agent identity").with_hint(
                "pass --as NAME, set GIT_COMM_AGENT=NAME, or run `git config comm.agent NAME`",
            )
        })?;
    validate_name(&name)?;
    Ok(name)
}

pub fn card_ref(repo: &Repo, name: &str) -> String {
    repo.ns_ref(&format!("agents/{name}"))
}

pub fn read_card(repo: &Repo, name: &str) -> Result<Option<Card>> {
    let Some(tip) = repo.read_ref(&card_ref(repo, name))? else {
        return Ok(None);
    };
    card_at(repo, tip).map(Some)
}

/// The card at `commit`, with `last_seen` from the agent's presence when that is newer.
fn card_at(repo: &Repo, commit: ObjectId) -> Result<Card> {
    let mut card = stored_card_at(repo, commit)?;
    see_presence(repo, &mut card);
    Ok(card)
}

fn see_presence(repo: &Repo, card: &mut Card) {
    if let Some(seen) = crate::presence::last_seen(repo, &card.name) {
        card.last_seen = card.last_seen.max(seen);
    }
}

fn stored_card_at(repo: &Repo, commit: ObjectId) -> Result<Card> {
    let bytes = repo
        .read_tree_file(commit, CARD_FILE)?
        .ok_or_else(|| Error::git(format!("agent card {commit} has no {CARD_FILE}")))?;
    serde_json::from_slice(&bytes)
        .map_err(|e| Error::git(format!("agent card {commit} is not valid JSON: {e}")))
}

/// All agent cards, sorted by name, each with `last_seen` from its presence when newer.
pub fn list_cards(repo: &Repo) -> Result<Vec<Card>> {
    let mut cards = stored_cards(repo)?;
    for card in &mut cards {
        see_presence(repo, card);
    }
    Ok(cards)
}

/// All agent cards as stored, sorted by name: `last_seen` is the card's own, without a
/// look at each agent's presence (for who is in which domain).
pub fn stored_cards(repo: &Repo) -> Result<Vec<Card>> {
    let prefix = repo.ns_ref("agents/");
    let mut cards = Vec::new();
    for (_, tip) in repo.list_refs(&prefix)? {
        cards.push(stored_card_at(repo, tip)?);
    }
    cards.sort_by(|a, b| a.name.cmp(&b.name));
    Ok(cards)
}

/// Write `card` as the new tip of its card ref (compare-and-swap, retried).
pub fn write_card(repo: &Repo, card: &Card, summary: &str) -> Result<()> {
    let json = serde_json::to_vec_pretty(card).expect("card serializes");
    let blob = repo.write_blob(&json)?;
    let tree = repo.write_flat_tree(&[(CARD_FILE.to_string(), blob)])?;
    repo.append(&card_ref(repo, &card.name), |_| {
        Ok(NewCommit {
            tree,
            extra_parents: Vec::new(),
            author: card.name.clone(),
            message: format!("{summary}\n"),
        })
    })?;
    Ok(())
}

/// Options of `git comm join`.
#[derive(Debug, Default, Clone)]
pub struct JoinOptions {
    pub domain: Option<String>,
    /// Remove the card's domain binding.
    pub clear_domain: bool,
    pub role: Option<String>,
    pub program: Option<String>,
    pub model: Option<String>,
    /// The agent itself is acting (it joins or updates its own card): mark it seen now.
    /// Cards others create for it (`plan`, `join NAME --as lead`) say it was never seen.
    pub seen: bool,
}

/// Create or update the card of `name`; fields not given keep their old values.
pub fn join(repo: &Repo, config: &Config, name: &str, options: JoinOptions) -> Result<Card> {
    validate_name(name)?;
    if let Some(domain) = &options.domain {
        require_domain(config, domain)?;
    }
    let now = now_secs();
    let previous = read_card(repo, name)?;
    let base = previous.clone().unwrap_or(Card {
        name: name.to_string(),
        joined: now,
        ..Card::default()
    });
    let card = Card {
        domain: if options.clear_domain {
            None
        } else {
            options.domain.or(base.domain)
        },
        role: options.role.or(base.role),
        program: options.program.or(base.program),
        model: options.model.or(base.model),
        last_seen: if options.seen { now } else { base.last_seen },
        retired: None,
        ..base
    };
    let summary = if previous.is_some() { "update" } else { "join" };
    write_card(repo, &card, &format!("{summary} {name}"))?;
    Ok(card)
}

/// Refuse (exit 2) a domain `.comm-node/config.yaml` does not declare: the one check of
/// `join`, `halt`, `task add` (and what `plan` can reuse), so a typo is never stored.
pub fn require_domain(config: &Config, domain: &str) -> Result<()> {
    if config.domains.contains_key(domain) {
        Ok(())
    } else {
        Err(unknown_domain(config, domain))
    }
}

pub fn unknown_domain(config: &Config, domain: &str) -> Error {
    let known: Vec<&str> = config.domains.keys().map(String::as_str).collect();
    Error::usage(format!("unknown domain '{domain}'")).with_hint(if known.is_empty() {
        "declare domains in .comm-node/config.yaml".to_string()
    } else {
        format!("known domains: {}", known.join(", "))
    })
}

/// Record that `name` is active now (its presence ref; no commit).
pub fn touch(repo: &Repo, name: &str) -> Result<()> {
    crate::presence::touch(repo, name)
}

/// The domain `name` is bound to, as [`domain_of`] finds it, reading the stored card only
/// when the config does not decide (and never the presence: a card's `last_seen` has no
/// say in its domain). A hook's question, so it costs no object read when it need not.
pub fn bound_domain(repo: &Repo, config: &Config, name: &str) -> Result<Option<String>> {
    if let Some(domain) = config.agent_domain(name) {
        return Ok(Some(domain.to_string()));
    }
    let Some(tip) = repo.read_ref(&card_ref(repo, name))? else {
        return Ok(None);
    };
    Ok(stored_card_at(repo, tip)?.domain)
}

/// The domain of an agent: the config binding wins over the card.
pub fn domain_of(config: &Config, card: Option<&Card>, name: &str) -> Option<String> {
    config
        .agent_domain(name)
        .map(str::to_string)
        .or_else(|| card.and_then(|c| c.domain.clone()))
}

/// Cards plus agents that exist only in the config, each with its effective domain.
pub fn roster(repo: &Repo, config: &Config) -> Result<Vec<Card>> {
    let mut cards = list_cards(repo)?;
    for card in &mut cards {
        card.domain = domain_of(config, Some(card), &card.name);
    }
    for (name, binding) in &config.agents {
        if !cards.iter().any(|c| &c.name == name) {
            cards.push(Card {
                name: name.clone(),
                domain: binding.domain.clone(),
                role: binding.role.clone(),
                last_seen: crate::presence::last_seen(repo, name).unwrap_or(0),
                ..Card::default()
            });
        }
    }
    cards.sort_by(|a, b| a.name.cmp(&b.name));
    Ok(cards)
}

/// Names of all agents known from cards or from the config. A card's ref is named after
/// its agent (the gate refuses a card stored under another name), so no card is read.
pub fn known_agents(repo: &Repo, config: &Config) -> Result<Vec<String>> {
    let prefix = repo.ns_ref("agents/");
    let mut names: Vec<String> = repo
        .list_refs(&prefix)?
        .into_iter()
        .map(|(name, _)| name[prefix.len()..].to_string())
        .collect();
    names.extend(config.agents.keys().cloned());
    names.sort();
    names.dedup();
    Ok(names)
}

/// Fail with a clear message unless `name` is a known agent.
pub fn require_known(known: &[String], name: &str) -> Result<()> {
    if known.iter().any(|k| k == name) {
        return Ok(());
    }
    let hint = if known.is_empty() {
        format!("no agents have joined yet: run `git comm join {name}`")
    } else {
        format!(
            "known agents: {}; an agent joins with `git comm join NAME`",
            known.join(", ")
        )
    };
    Err(Error::usage(format!("unknown agent '{name}'")).with_hint(hint))
}

pub fn now_secs() -> i64 {
    crate::clock::now_secs()
}
