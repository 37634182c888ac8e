//! Artifact names: `DOMAIN/NAME` and `DOMAIN/NAME@VERSION`, both segments ref-safe.

use crate::error::{Error, Result};

const MAX_SEGMENT_LEN: usize = 64;

/// A validated `DOMAIN/NAME`, optionally pinned to a version.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub struct Spec {
    pub domain: String,
    pub name: String,
    pub version: Option<u64>,
}

impl Spec {
    /// `DOMAIN/NAME` as shown to users and used inside ref names.
    pub fn key(&self) -> String {
        format!("{}/{}", self.domain, self.name)
    }

    /// Parse `DOMAIN/NAME` (no version allowed).
    pub fn parse_unversioned(text: &str) -> Result<Spec> {
        let spec = Spec::parse(text)?;
        if spec.version.is_some() {
            return Err(Error::usage(format!(
                "invalid artifact '{text}': a version is not allowed here"
            ))
            .with_hint("give DOMAIN/NAME without @VERSION"));
        }
        Ok(spec)
    }

    /// Parse `DOMAIN/NAME` or `DOMAIN/NAME@VERSION` (`@v3` and `@3` both accepted).
    pub fn parse(text: &str) -> Result<Spec> {
        let (path, version) = match text.split_once('@') {
            Some((path, v)) => (path, Some(parse_version(v)?)),
            None => (text, None),
        };
        let Some((domain, name)) = path.split_once('/') else {
            return Err(Error::usage(format!("invalid artifact '{text}'"))
                .with_hint("name artifacts DOMAIN/NAME, e.g. api/openapi.json"));
        };
        check_segment(text, "domain", domain)?;
        check_segment(text, "name", name)?;
        Ok(Spec {
            domain: domain.to_string(),
            name: name.to_string(),
            version,
        })
    }
}

pub fn parse_version(text: &str) -> Result<u64> {
    let digits = text.strip_prefix('v').unwrap_or(text);
    match digits.parse::<u64>() {
        Ok(v) if v > 0 => Ok(v),
        _ => Err(Error::usage(format!("invalid version '{text}'"))
            .with_hint("versions are positive numbers: 3 or v3")),
    }
}

fn check_segment(text: &str, what: &str, segment: &str) -> Result<()> {
    let problem = if segment.is_empty() {
        Some("is empty")
    } else if segment.len() > MAX_SEGMENT_LEN {
        Some("is longer than 64 characters")
    } else if !segment.starts_with(|c: char| c.is_ascii_alphanumeric()) {
        Some("must start with a letter or digit")
    } else if !segment
        .chars()
        .all(|c| c.is_ascii_alphanumeric() || matches!(c, '.' | '_' | '-'))
    {
        Some("may only contain letters, digits, '.', '_' and '-'")
    } else if segment.contains("..") || segment.ends_with(".lock") || segment.ends_with('.') {
        Some("must not contain '..' or end in '.' or '.lock'")
    } else {
        None
    };
    match problem {
        None => Ok(()),
        Some(why) => Err(
            Error::usage(format!("invalid artifact '{text}': {what} {why}"))
                .with_hint("name artifacts DOMAIN/NAME, e.g. api/openapi.json"),
        ),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_versions_and_rejects_unsafe_names() {
        let s = Spec::parse("api/schema.json@v3").unwrap();
        assert_eq!((s.key(), s.version), ("api/schema.json".into(), Some(3)));
        assert_eq!(Spec::parse("api/x@2").unwrap().version, Some(2));
        for bad in [
            "api", "api/", "/x", "a/b/c", "a/..x", "a/x.lock", "a/x y", "a/x@0", "a/x@v",
        ] {
            assert!(Spec::parse(bad).is_err(), "{bad} should be rejected");
        }
        assert!(Spec::parse_unversioned("a/b@1").is_err());
    }
}
