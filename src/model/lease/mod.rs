//! Leases: an agent's time-limited reservation of paths (globs) or named keys
//! (`task:123`). Exclusive leases keep other agents out; shared leases coexist with other
//! shared leases. Expired leases never block anyone.
//!
//! This module is pure (no I/O): the model, conflict detection and the new lease set for
//! a request, so sync code can replay requests on merged ledgers. The ledger ref is in
//! `crate::lease::ledger`, overlap rules in [`overlap`].

pub mod entry;
pub mod overlap;

use serde::{Deserialize, Serialize};

use crate::error::{Error, Result};
pub use overlap::Resource;

/// TTL when none is given: 30 minutes.
pub const DEFAULT_TTL_SECS: i64 = 30 * 60;
/// Longest TTL accepted: 30 days.
pub const MAX_TTL_SECS: i64 = 30 * 86_400;
/// Lease ids are this many hex characters.
pub const ID_LEN: usize = 12;
/// Most resources one lease may name.
const MAX_RESOURCES: usize = 256;
/// Longest reason or task text.
const MAX_TEXT: usize = 4096;

/// Is `text` a lease id (12 lowercase hex characters)?
pub fn is_id(text: &str) -> bool {
    text.len() == ID_LEN && text.bytes().all(|b| matches!(b, b'0'..=b'9' | b'a'..=b'f'))
}

/// One lease, exactly as stored in the ledger (`<id>.json`).
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
pub struct Lease {
    pub id: String,
    pub holder: String,
    pub resources: Vec<String>,
    pub exclusive: bool,
    pub reason: Option<String>,
    pub task: Option<String>,
    /// Unix seconds.
    pub created: i64,
    /// Unix seconds; the lease is dead from this second on.
    pub expires: i64,
}

/// What an agent asks for.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Request {
    pub resources: Vec<String>,
    pub exclusive: bool,
    pub ttl_secs: i64,
    pub reason: Option<String>,
    pub task: Option<String>,
}

impl Lease {
    /// Before its expiry (what the holder sees).
    pub fn is_live(&self, now: i64) -> bool {
        self.expires > now
    }

    /// Does it still keep others out at `now`? Until its expiry plus the clock-skew
    /// tolerance, so a competitor whose clock runs up to `skew` ahead never double-grants.
    pub fn blocks_at(&self, now: i64, skew: i64) -> bool {
        self.expires.saturating_add(skew) > now
    }

    /// What makes this stored lease invalid, if anything: bad id or holder, resources that
    /// are not canonical, an expiry not within the TTL cap after its own creation, or
    /// further in the future than any honest clock (within `skew`) could have set.
    pub fn problem(&self, now: i64, skew: i64) -> Option<String> {
        if !is_id(&self.id) {
            return Some(format!("id '{}' is not {ID_LEN} hex characters", self.id));
        }
        if let Err(e) = crate::model::name::validate_name(&self.holder) {
            return Some(e.message);
        }
        if self.resources.is_empty() || self.resources.len() > MAX_RESOURCES {
            return Some(format!(
                "{} resources (1 to {MAX_RESOURCES})",
                self.resources.len()
            ));
        }
        for text in &self.resources {
            match Resource::parse(text) {
                Ok(r) if r.text() == text => {}
                Ok(r) => {
                    return Some(format!(
                        "resource '{text}' is not canonical ('{}')",
                        r.text()
                    ))
                }
                Err(e) => return Some(e.message),
            }
        }
        if self.expires <= self.created || self.expires - self.created > MAX_TTL_SECS {
            return Some(format!(
                "expiry {} is not within 30 days after creation {}",
                self.expires, self.created
            ));
        }
        if self.expires > now.saturating_add(MAX_TTL_SECS + skew) {
            return Some(format!(
                "expires {}s from now, past the 30-day cap (the writer's clock runs ahead?)",
                self.expires - now
            ));
        }
        let too_long = |t: &Option<String>| t.as_ref().is_some_and(|t| t.len() > MAX_TEXT);
        if too_long(&self.reason) || too_long(&self.task) {
            return Some(format!("reason or task longer than {MAX_TEXT} bytes"));
        }
        None
    }

    /// The resources, parsed. Text that no longer parses is kept as an exact key, so it
    /// still conflicts with an identical request.
    pub fn parsed_resources(&self) -> Vec<Resource> {
        self.resources.iter().map(|r| parse_lenient(r)).collect()
    }

    /// The first resource of this lease covering `path`, if any.
    pub fn resource_covering(&self, path: &str) -> Option<&str> {
        self.resources
            .iter()
            .find(|r| parse_lenient(r).covers_path(path))
            .map(String::as_str)
    }

    /// Does any resource of this lease overlap any of `resources`?
    fn overlaps_any(&self, resources: &[Resource]) -> bool {
        self.parsed_resources()
            .iter()
            .any(|mine| resources.iter().any(|r| mine.overlaps(r)))
    }
}

fn parse_lenient(text: &str) -> Resource {
    Resource::parse(text).unwrap_or_else(|_| Resource::Key(text.to_string()))
}

impl Request {
    /// Parse every resource; canonical texts in request order, duplicates removed.
    pub fn validate(&self) -> Result<Vec<Resource>> {
        if self.resources.is_empty() {
            return Err(Error::usage("no resource given")
                .with_hint("git comm lease src/api/** [task:123 ...]"));
        }
        if self.ttl_secs <= 0 || self.ttl_secs > MAX_TTL_SECS {
            return Err(Error::usage(format!("ttl {}s out of range", self.ttl_secs))
                .with_hint("use 1s .. 30d, e.g. --ttl 30m"));
        }
        let mut parsed: Vec<Resource> = Vec::new();
        for text in &self.resources {
            let resource = Resource::parse(text)?;
            if !parsed.iter().any(|p| p.text() == resource.text()) {
                parsed.push(resource);
            }
        }
        Ok(parsed)
    }
}

/// Leases of other agents that block `request` by `me` at `now`: they overlap it, at
/// least one side is exclusive, and they are not past expiry plus the clock-skew
/// tolerance `skew`. Own leases never block.
pub fn conflicts(
    existing: &[Lease],
    request: &Request,
    me: &str,
    now: i64,
    skew: i64,
) -> Vec<Lease> {
    let wanted: Vec<Resource> = request.resources.iter().map(|r| parse_lenient(r)).collect();
    existing
        .iter()
        .filter(|l| l.blocks_at(now, skew) && l.holder != me)
        .filter(|l| l.exclusive || request.exclusive)
        .filter(|l| l.overlaps_any(&wanted))
        .cloned()
        .collect()
}

/// `lease` renewed at `now` for `ttl_secs`, or for its own TTL again when `None`. The term
/// starts now (`created`), so the expiry stays within the TTL cap of its own creation however
/// often it is renewed.
pub fn renewed(lease: &Lease, now: i64, ttl_secs: Option<i64>) -> Lease {
    let ttl = ttl_secs
        .unwrap_or(lease.expires - lease.created)
        .clamp(1, MAX_TTL_SECS);
    Lease {
        created: now,
        expires: now + ttl,
        ..lease.clone()
    }
}

/// A live lease `me` already holds that names one of the requested resources exactly (in
/// canonical form), with that resource: taking it again would be a second grant of the same
/// thing, so the caller refuses and points at `renew`.
pub fn already_held<'a>(
    existing: &'a [Lease],
    request: &Request,
    me: &str,
    now: i64,
) -> Option<(&'a Lease, String)> {
    let wanted: Vec<String> = request
        .resources
        .iter()
        .map(|r| parse_lenient(r).text().to_string())
        .collect();
    existing
        .iter()
        .filter(|l| l.holder == me && l.is_live(now))
        .find_map(|l| {
            l.resources
                .iter()
                .find(|r| wanted.contains(r))
                .map(|r| (l, r.clone()))
        })
}

/// Split leases into (still blocking, prunable) at `now` with tolerance `skew`.
pub fn prune(leases: &[Lease], now: i64, skew: i64) -> (Vec<Lease>, Vec<Lease>) {
    leases.iter().cloned().partition(|l| l.blocks_at(now, skew))
}

/// The lease `request` would create for `me` with id `id`, or the leases blocking it.
/// All-or-nothing: one conflicting resource refuses the whole request.
pub fn grant(
    existing: &[Lease],
    request: &Request,
    me: &str,
    now: i64,
    skew: i64,
    id: String,
) -> std::result::Result<Lease, Vec<Lease>> {
    let blocking = conflicts(existing, request, me, now, skew);
    if !blocking.is_empty() {
        return Err(blocking);
    }
    let resources = match request.validate() {
        Ok(parsed) => parsed.iter().map(|r| r.text().to_string()).collect(),
        Err(_) => request.resources.clone(),
    };
    Ok(Lease {
        id,
        holder: me.to_string(),
        resources,
        exclusive: request.exclusive,
        reason: request.reason.clone(),
        task: request.task.clone(),
        created: now,
        expires: now + request.ttl_secs,
    })
}

/// The lease set after `request`: expired leases pruned and the new lease added, or the
/// leases that block it. Pure, so merged ledgers can be recomputed by sync code.
pub fn apply_request(
    existing: &[Lease],
    request: &Request,
    me: &str,
    now: i64,
    skew: i64,
    id: String,
) -> std::result::Result<Vec<Lease>, Vec<Lease>> {
    let lease = grant(existing, request, me, now, skew, id)?;
    let (mut live, _) = prune(existing, now, skew);
    live.retain(|l| l.id != lease.id);
    live.push(lease);
    Ok(live)
}

/// A fresh lease id: 12 hex chars of a hash of holder, resources, time, pid and a counter.
pub fn new_id(holder: &str, resources: &[String]) -> String {
    let parts: Vec<&str> = std::iter::once(holder)
        .chain(resources.iter().map(String::as_str))
        .collect();
    crate::model::name::unique_hex(&parts, ID_LEN / 2)
}

/// `90s`, `30m`, `2h`, `1d` -> seconds.
pub fn parse_ttl(text: &str) -> Result<i64> {
    let bad = || {
        Error::usage(format!("invalid ttl '{text}'"))
            .with_hint("use a number and a unit: 90s, 30m, 2h, 1d (at most 30d)")
    };
    let text = text.trim();
    let split = text.len().checked_sub(1).ok_or_else(bad)?;
    if !text.is_char_boundary(split) {
        return Err(bad());
    }
    let (number, unit) = text.split_at(split);
    if number.is_empty() || !number.bytes().all(|b| b.is_ascii_digit()) {
        return Err(bad());
    }
    let value: i64 = number.parse().map_err(|_| bad())?;
    let scale = match unit {
        "s" => 1,
        "m" => 60,
        "h" => 3600,
        "d" => 86_400,
        _ => return Err(bad()),
    };
    let secs = value.checked_mul(scale).ok_or_else(bad)?;
    if secs <= 0 || secs > MAX_TTL_SECS {
        return Err(bad());
    }
    Ok(secs)
}

/// The lease whose id is `text` or starts with it (at least 4 characters), among `leases`.
pub fn find<'a>(leases: &'a [Lease], text: &str) -> Result<&'a Lease> {
    let text = text.trim().to_ascii_lowercase();
    if let Some(exact) = leases.iter().find(|l| l.id == text) {
        return Ok(exact);
    }
    if !text.bytes().all(|b| b.is_ascii_hexdigit()) {
        return Err(Error::usage(format!("'{text}' is not a lease id"))
            .with_hint("lease ids are hex, e.g. 1a2b3c4d; list them with `git comm leases`"));
    }
    if text.len() < 4 {
        return Err(Error::usage(format!(
            "lease id '{text}' is too short: give at least 4 characters"
        ))
        .with_hint("list leases with `git comm leases`"));
    }
    crate::display::unique_by_prefix(
        leases,
        |l| &l.id,
        &text,
        "lease",
        "live lease",
        "git comm leases",
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    fn lease(id: &str, holder: &str, resources: &[&str], exclusive: bool, expires: i64) -> Lease {
        Lease {
            id: id.to_string(),
            holder: holder.to_string(),
            resources: resources.iter().map(|s| s.to_string()).collect(),
            exclusive,
            reason: None,
            task: None,
            created: 0,
            expires,
        }
    }

    fn request(resources: &[&str], exclusive: bool) -> Request {
        Request {
            resources: resources.iter().map(|s| s.to_string()).collect(),
            exclusive,
            ttl_secs: 60,
            reason: None,
            task: None,
        }
    }

    #[test]
    fn exclusive_blocks_and_shared_coexist() {
        let held = vec![
            lease("aaaaaaaaaaaa", "alice", &["src/**"], true, 100),
            lease("bbbbbbbbbbbb", "bob", &["docs/**"], false, 100),
        ];
        assert_eq!(
            conflicts(&held, &request(&["src/a.ts"], false), "carol", 10, 0).len(),
            1
        );
        assert_eq!(
            conflicts(&held, &request(&["docs/x"], false), "carol", 10, 0).len(),
            0
        );
        assert_eq!(
            conflicts(&held, &request(&["docs/x"], true), "carol", 10, 0).len(),
            1
        );
        assert!(conflicts(&held, &request(&["src/a.ts"], true), "alice", 10, 0).is_empty());
    }

    #[test]
    fn expired_leases_never_block() {
        let held = vec![lease("aaaaaaaaaaaa", "alice", &["src/**"], true, 100)];
        assert_eq!(
            conflicts(&held, &request(&["src/x"], true), "bob", 99, 0).len(),
            1
        );
        assert!(conflicts(&held, &request(&["src/x"], true), "bob", 100, 0).is_empty());
    }

    #[test]
    fn within_the_skew_tolerance_an_expired_lease_still_blocks() {
        let held = vec![lease("aaaaaaaaaaaa", "alice", &["task:1"], true, 100)];
        let ask = request(&["task:1"], true);
        assert_eq!(conflicts(&held, &ask, "bob", 399, 300).len(), 1);
        assert!(conflicts(&held, &ask, "bob", 400, 300).is_empty());
    }

    #[test]
    fn apply_request_is_all_or_nothing_and_prunes() {
        let held = vec![
            lease("aaaaaaaaaaaa", "alice", &["src/**"], true, 100),
            lease("cccccccccccc", "carol", &["x/**"], true, 5),
        ];
        let refused = apply_request(
            &held,
            &request(&["lib/**", "src/a"], true),
            "bob",
            10,
            0,
            "n".into(),
        );
        assert_eq!(refused.unwrap_err()[0].id, "aaaaaaaaaaaa");
        let granted = apply_request(
            &held,
            &request(&["lib/**", "./lib/**"], true),
            "bob",
            10,
            0,
            "n".into(),
        )
        .unwrap();
        let ids: Vec<&str> = granted.iter().map(|l| l.id.as_str()).collect();
        assert_eq!(ids, ["aaaaaaaaaaaa", "n"]);
        assert_eq!(granted[1].resources, ["lib/**"]);
        assert_eq!(granted[1].expires, 70);
    }

    #[test]
    fn ttl_parsing() {
        assert_eq!(parse_ttl("90s").unwrap(), 90);
        assert_eq!(parse_ttl("30m").unwrap(), 1800);
        assert_eq!(parse_ttl("2h").unwrap(), 7200);
        assert_eq!(parse_ttl("1d").unwrap(), 86_400);
        for bad in [
            "",
            "m",
            "10",
            "-5m",
            "0s",
            "1.5h",
            "5w",
            "31d",
            "99999999999999999999d",
            "é",
        ] {
            assert!(parse_ttl(bad).is_err(), "{bad:?}");
        }
    }

    #[test]
    fn ids_are_unique_hex() {
        let a = new_id("alice", &["src/**".into()]);
        let b = new_id("alice", &["src/**".into()]);
        assert_eq!(a.len(), ID_LEN);
        assert!(a.bytes().all(|c| c.is_ascii_hexdigit()));
        assert_ne!(a, b);
    }

    #[test]
    fn find_by_prefix() {
        let held = vec![
            lease("abcd11111111", "a", &["x"], true, 1),
            lease("abcd22222222", "a", &["y"], true, 1),
        ];
        assert_eq!(find(&held, "abcd1").unwrap().id, "abcd11111111");
        assert!(find(&held, "abcd").is_err());
        assert!(find(&held, "ffff").is_err());
    }
}
