//! package.json `imports` (`"#internal/*": "./src/internal/*.js"`), resolved as Node does:
//! an exact key, else the pattern with the longest prefix before its `*`; conditions are
//! tried in the order the file lists them (so the map is read keeping that order, which
//! `serde_json::Value` does not), `default` always applies, `null` blocks.

use std::fmt;

use serde::de::{Deserializer, MapAccess, SeqAccess, Visitor};
use serde::Deserialize;

use super::jsonc;
use crate::boundary::imports::ImportKind;

/// One value of the `imports` map.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Conditional {
    Target(String),
    /// Alternatives: the first that resolves.
    List(Vec<Conditional>),
    /// Condition name -> value, in file order.
    Conditions(Vec<(String, Conditional)>),
    Blocked,
}

/// The conditions a static analysis of source code takes as active: TypeScript's `types`,
/// `node`, and `import` or `require` by how the module is loaded.
pub fn conditions(kind: ImportKind) -> [&'static str; 3] {
    let loader = if kind == ImportKind::Require {
        "require"
    } else {
        "import"
    };
    ["types", "node", loader]
}

/// The `imports` field of a package.json text (empty when absent or malformed).
pub fn parse(text: &str) -> Vec<(String, Conditional)> {
    #[derive(Deserialize)]
    struct Manifest {
        #[serde(default)]
        imports: Option<Conditional>,
    }
    match serde_json::from_str::<Manifest>(&jsonc::strip(text)) {
        Ok(Manifest {
            imports: Some(Conditional::Conditions(map)),
        }) => map,
        _ => Vec::new(),
    }
}

/// The target `specifier` maps to, with `*` substituted: `./path` or a bare package name.
pub fn resolve(
    map: &[(String, Conditional)],
    specifier: &str,
    conditions: &[&str],
) -> Option<String> {
    if let Some((_, value)) = map.iter().find(|(k, _)| k == specifier && !k.contains('*')) {
        return pick(value, "", conditions);
    }
    let (_, value, star) = map
        .iter()
        .filter_map(|(key, value)| Some((key, value, star_match(key, specifier)?)))
        .max_by_key(|(key, _, _)| (key.find('*'), key.len()))?;
    pick(value, &star, conditions)
}

fn star_match(pattern: &str, specifier: &str) -> Option<String> {
    let (prefix, suffix) = pattern.split_once('*')?;
    let fits = specifier.len() >= prefix.len() + suffix.len()
        && specifier.starts_with(prefix)
        && specifier.ends_with(suffix);
    fits.then(|| specifier[prefix.len()..specifier.len() - suffix.len()].to_string())
}

fn pick(value: &Conditional, star: &str, conditions: &[&str]) -> Option<String> {
    match value {
        Conditional::Target(target) => Some(target.replace('*', star)),
        Conditional::List(list) => list.iter().find_map(|v| pick(v, star, conditions)),
        Conditional::Conditions(entries) => entries
            .iter()
            .filter(|(name, _)| name == "default" || conditions.contains(&name.as_str()))
            .find_map(|(_, v)| pick(v, star, conditions)),
        Conditional::Blocked => None,
    }
}

impl<'de> Deserialize<'de> for Conditional {
    fn deserialize<D: Deserializer<'de>>(de: D) -> Result<Self, D::Error> {
        de.deserialize_any(ConditionalVisitor)
    }
}

struct ConditionalVisitor;

impl<'de> Visitor<'de> for ConditionalVisitor {
    type Value = Conditional;

    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("a path, a list, a map of conditions or null")
    }

    fn visit_str<E: serde::de::Error>(self, s: &str) -> Result<Conditional, E> {
        Ok(Conditional::Target(s.to_string()))
    }

    fn visit_unit<E: serde::de::Error>(self) -> Result<Conditional, E> {
        Ok(Conditional::Blocked)
    }

    fn visit_bool<E: serde::de::Error>(self, _: bool) -> Result<Conditional, E> {
        Ok(Conditional::Blocked)
    }

    fn visit_u64<E: serde::de::Error>(self, _: u64) -> Result<Conditional, E> {
        Ok(Conditional::Blocked)
    }

    fn visit_i64<E: serde::de::Error>(self, _: i64) -> Result<Conditional, E> {
        Ok(Conditional::Blocked)
    }

    fn visit_f64<E: serde::de::Error>(self, _: f64) -> Result<Conditional, E> {
        Ok(Conditional::Blocked)
    }

    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Conditional, A::Error> {
        let mut list = Vec::new();
        while let Some(value) = seq.next_element()? {
            list.push(value);
        }
        Ok(Conditional::List(list))
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Conditional, A::Error> {
        let mut entries = Vec::new();
        while let Some((key, value)) = map.next_entry::<String, Conditional>()? {
            entries.push((key, value));
        }
        Ok(Conditional::Conditions(entries))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn conditions_in_file_order_and_longest_pattern_prefix() {
        let map = parse(
            r##"{"imports": {
                "#a/*": "./a/*.js",
                "#a/deep/*": "./deep/*.js",
                "#c": {"browser": "./b.js", "default": "./d.js", "node": "./n.js"},
                "#blocked": null
            }}"##,
        );
        let import = conditions(ImportKind::Static);
        assert_eq!(resolve(&map, "#a/x", &import).as_deref(), Some("./a/x.js"));
        assert_eq!(
            resolve(&map, "#a/deep/y", &import).as_deref(),
            Some("./deep/y.js")
        );
        // `default` comes before `node` in the file: it wins, as in Node.
        assert_eq!(resolve(&map, "#c", &import).as_deref(), Some("./d.js"));
        assert_eq!(resolve(&map, "#blocked", &import), None);
        assert_eq!(resolve(&map, "#none", &import), None);
        assert!(parse("{\"name\": \"x\"}").is_empty());
    }
}
