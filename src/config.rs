//! `.comm-node/config.yaml`: domains (what paths each owns and may import) and agents
//! bound to domains. Shared by mail (`@domain` recipients), leases, hooks and boundaries,
//! so it lives beside them rather than inside `boundary/`.

use std::collections::BTreeMap;
use std::fmt;
use std::path::{Path, PathBuf};

use std::sync::Arc;

use serde::{Deserialize, Serialize};

use crate::error::{Error, Result};
use crate::repo::signing::{AllowedSigners, Mode as SignedMode};

pub const CONFIG_PATH: &str = ".comm-node/config.yaml";
/// Largest clock-skew tolerance accepted: one day.
const MAX_SKEW_SECS: i64 = 86_400;

#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Config {
    pub version: u32,
    #[serde(default, deserialize_with = "unique_keys")]
    pub domains: BTreeMap<String, Domain>,
    #[serde(default, deserialize_with = "unique_keys")]
    pub agents: BTreeMap<String, AgentBinding>,
    #[serde(default)]
    pub leases: LeaseSettings,
    #[serde(default)]
    pub mail: MailSettings,
    /// Files `git comm check` never reads (vendored, generated, minified code); they still
    /// count as existing when imports are resolved. Gitignore-style globs.
    #[serde(default)]
    pub exclude: Vec<String>,
    /// `presence: {stale: 10m}`: agents unseen for longer are flagged as stale.
    #[serde(default)]
    pub presence: PresenceSettings,
    /// Files any agent may commit whatever its domain (CHANGELOG, lockfiles, root configs).
    /// Leases on them still apply. Gitignore-style globs.
    #[serde(default)]
    pub common: Vec<String>,
    /// Tolerated clock skew between machines (`5m` by default): a lease keeps others out
    /// until its expiry plus this much.
    #[serde(default)]
    pub clock_skew: Option<String>,
    /// `python: {roots: [src, libs/core]}`: the Python source roots, instead of discovering them.
    #[serde(default)]
    pub python: PythonSettings,
    /// Who may halt and resume the swarm: agent names, roles on agent cards, or git
    /// identities (`Name <email>` or the email). Empty: any agent, or the operator.
    #[serde(default)]
    pub overseers: Vec<String>,
    /// `identity: {signed: off|warn|required, allowed_signers: PATH}`: verified identity.
    #[serde(default)]
    pub identity: IdentitySettings,
    /// Where the config was read from (for error messages); empty when defaulted.
    #[serde(skip)]
    pub source: Option<PathBuf>,
    /// The raw text, kept to point errors found after parsing at a line.
    #[serde(skip)]
    pub text: String,
}

#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Domain {
    #[serde(default)]
    pub scope: Vec<String>,
    #[serde(default)]
    pub exports: Option<Vec<String>>,
    #[serde(default)]
    pub allowed_imports: Option<Vec<String>>,
    /// Paths the domain must not import: a glob, or `{path: GLOB, indirect: true}` to
    /// forbid reaching them through any chain of imports as well.
    #[serde(default)]
    pub forbidden_imports: Vec<ForbiddenImport>,
    #[serde(default)]
    pub forbidden_packages: Vec<String>,
    /// Import kinds the boundary rules skip for this domain (e.g. `[type-only]`).
    #[serde(default)]
    pub ignore_kinds: Vec<ImportKind>,
}

/// One `forbidden_imports` entry: a plain glob (direct imports only) or a rule with options.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(untagged)]
pub enum ForbiddenImport {
    Path(String),
    Rule(ForbiddenRule),
}

/// By hand rather than `untagged`, so a mistyped rule is named (`unknown field
/// 'indirectly', expected 'path' or 'indirect'`) instead of "did not match any variant".
impl<'de> Deserialize<'de> for ForbiddenImport {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> std::result::Result<Self, D::Error> {
        struct Visitor;
        impl<'de> serde::de::Visitor<'de> for Visitor {
            type Value = ForbiddenImport;
            fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
                f.write_str("a glob or {path: GLOB, indirect: true}")
            }
            fn visit_str<E: serde::de::Error>(
                self,
                v: &str,
            ) -> std::result::Result<Self::Value, E> {
                Ok(ForbiddenImport::Path(v.to_string()))
            }
            fn visit_map<A: serde::de::MapAccess<'de>>(
                self,
                map: A,
            ) -> std::result::Result<Self::Value, A::Error> {
                ForbiddenRule::deserialize(serde::de::value::MapAccessDeserializer::new(map))
                    .map(ForbiddenImport::Rule)
            }
        }
        d.deserialize_any(Visitor)
    }
}

/// `{path: "src/database/**", indirect: true}`: with `indirect`, a chain of imports through
/// allowed modules that ends in `path` breaks the rule too.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ForbiddenRule {
    pub path: String,
    #[serde(default)]
    pub indirect: bool,
}

impl ForbiddenImport {
    pub fn path(&self) -> &str {
        match self {
            ForbiddenImport::Path(path) | ForbiddenImport::Rule(ForbiddenRule { path, .. }) => path,
        }
    }

    pub fn indirect(&self) -> bool {
        matches!(self, ForbiddenImport::Rule(rule) if rule.indirect)
    }
}

/// `leases: {sync: true}`: a grant counts only once the ledger is pushed to the remote.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct LeaseSettings {
    #[serde(default)]
    pub sync: bool,
}

/// `mail: {max_body: 1MiB}`: the largest message body accepted (see `mail::max_body`).
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct MailSettings {
    #[serde(default)]
    pub max_body: Option<ByteSize>,
}

/// A size in bytes, written `65536`, `64K`, `64KiB`, `1M` or `1MiB` (K = KiB = 1024 bytes,
/// M = MiB = 1024 KiB). Invalid values fail while the YAML is parsed, so the error names
/// the file and line.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(transparent)]
pub struct ByteSize(pub u64);

impl ByteSize {
    /// Larger sizes are refused: a body is held in memory and stored in a commit message.
    pub const MAX: u64 = 1 << 30;

    pub fn parse(text: &str) -> std::result::Result<ByteSize, String> {
        let text = text.trim();
        let digits = text
            .find(|c: char| !c.is_ascii_digit())
            .unwrap_or(text.len());
        let (number, unit) = text.split_at(digits);
        let multiplier = match unit.trim() {
            "" | "B" => 1,
            "K" | "k" | "KiB" => 1 << 10,
            "M" | "m" | "MiB" => 1 << 20,
            other => {
                return Err(format!(
                    "unknown size unit '{other}' in '{text}' (use bytes, K/KiB or M/MiB, e.g. 1MiB)"
                ))
            }
        };
        let number: u64 = number
            .parse()
            .map_err(|_| format!("'{text}' is not a size (e.g. 65536, 64KiB, 1MiB)"))?;
        Self::bytes(number.saturating_mul(multiplier))
    }

    fn bytes(n: u64) -> std::result::Result<ByteSize, String> {
        if n > Self::MAX {
            return Err(format!("size {n} is over the maximum of 1024MiB"));
        }
        Ok(ByteSize(n))
    }
}

impl fmt::Display for ByteSize {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.0 {
            n if n >= 1 << 20 && n % (1 << 20) == 0 => write!(f, "{} MiB", n >> 20),
            n if n >= 1 << 10 && n % (1 << 10) == 0 => write!(f, "{} KiB", n >> 10),
            n => write!(f, "{n} bytes"),
        }
    }
}

impl<'de> Deserialize<'de> for ByteSize {
    fn deserialize<D: serde::Deserializer<'de>>(de: D) -> std::result::Result<Self, D::Error> {
        struct Visitor;
        impl serde::de::Visitor<'_> for Visitor {
            type Value = ByteSize;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("a size such as 65536, 64KiB or 1MiB")
            }
            fn visit_u64<E: serde::de::Error>(self, n: u64) -> std::result::Result<ByteSize, E> {
                ByteSize::bytes(n).map_err(E::custom)
            }
            fn visit_i64<E: serde::de::Error>(self, n: i64) -> std::result::Result<ByteSize, E> {
                let n = u64::try_from(n).map_err(|_| E::custom("a size cannot be negative"))?;
                ByteSize::bytes(n).map_err(E::custom)
            }
            fn visit_str<E: serde::de::Error>(self, s: &str) -> std::result::Result<ByteSize, E> {
                ByteSize::parse(s).map_err(E::custom)
            }
        }
        de.deserialize_any(Visitor)
    }
}

/// `identity: {signed: required, allowed_signers: .comm-node/allowed_signers}`: whether
/// namespace commits and artifact tags must carry an SSH signature by their author's key.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct IdentitySettings {
    #[serde(default)]
    pub signed: SignedMode,
    /// git's allowed-signers format, principal = agent name; repo-relative.
    #[serde(default)]
    pub allowed_signers: Option<String>,
    /// The keys read from `allowed_signers` (by [`Config::load_signers`]).
    #[serde(skip)]
    pub signers: Arc<AllowedSigners>,
}

/// Where the allowed signers are read from when `identity.allowed_signers` is not given.
pub const DEFAULT_ALLOWED_SIGNERS: &str = ".comm-node/allowed_signers";

impl IdentitySettings {
    /// The allowed-signers path, if one is given or signing is checked.
    pub fn signers_path(&self) -> Option<&str> {
        match (&self.allowed_signers, self.signed) {
            (Some(path), _) => Some(path),
            (None, SignedMode::Off) => None,
            (None, _) => Some(DEFAULT_ALLOWED_SIGNERS),
        }
    }
}

/// `python: {roots: [...]}`: repo-relative directories absolute imports start from (`.` is
/// the repository root). Without it, roots are discovered (see `boundary::resolve::python`).
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PythonSettings {
    #[serde(default)]
    pub roots: Vec<String>,
}

impl PythonSettings {
    /// The roots as repo-relative paths without `./` or a trailing `/` (`""` = the root).
    pub fn normalized_roots(&self) -> Vec<String> {
        self.roots.iter().map(|r| normalize_root(r)).collect()
    }
}

fn normalize_root(root: &str) -> String {
    root.split('/')
        .filter(|s| !s.is_empty() && *s != ".")
        .collect::<Vec<_>>()
        .join("/")
}

#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PresenceSettings {
    /// How long an agent may go unseen before it is flagged (default 10m).
    #[serde(default)]
    pub stale: Option<String>,
}

/// Default `presence.stale`: 10 minutes.
pub const DEFAULT_STALE_SECS: i64 = 600;

#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AgentBinding {
    pub domain: Option<String>,
    #[serde(default)]
    pub role: Option<String>,
    /// Estimated tokens of mail per day (sent plus read) before the agent is told once.
    #[serde(default)]
    pub budget: Option<u64>,
}

pub const SKELETON: &str = r#"# git-comm configuration: see `git comm --help`.
version: 1

# Domains own paths (gitignore-style globs) and declare what they may import.
domains: {}
#  api:
#    scope: ["src/api/**"]
#    exports: ["src/api/index.ts"]
#    allowed_imports: ["src/shared/**"]
#    forbidden_imports: ["src/ui/**"]
#    forbidden_packages: ["react"]

# Agents bound to a domain may only commit inside its scope.
agents: {}
#  backend-1: { domain: api }
"#;

impl Config {
    /// The config of a repository that declares nothing.
    pub fn empty() -> Config {
        Config {
            version: 1,
            ..Config::default()
        }
    }

    /// Load the config of the worktree at `root` (and the allowed signers it names); a
    /// missing file is an empty config.
    pub fn load(root: &Path) -> Result<Config> {
        let path = root.join(CONFIG_PATH);
        let mut config = match std::fs::read(&path) {
            Ok(bytes) => Config::parse(&bytes, &path)?,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(Config::empty()),
            Err(e) => {
                return Err(Error::config(format!(
                    "cannot read {}: {e}",
                    path.display()
                )))
            }
        };
        config.load_signers(&format!("{}/", root.display()), |rel| {
            match std::fs::read(root.join(rel)) {
                Ok(bytes) => Ok(Some(bytes)),
                Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
                Err(e) => Err(e.to_string()),
            }
        })?;
        Ok(config)
    }

    /// Read and parse `identity.allowed_signers` through `read` (repo-relative path to
    /// content, `None` when absent); `place` prefixes the path in errors (`/repo/`, `HEAD:`).
    pub fn load_signers(
        &mut self,
        place: &str,
        read: impl Fn(&str) -> std::result::Result<Option<Vec<u8>>, String>,
    ) -> Result<()> {
        let Some(rel) = self.identity.signers_path().map(str::to_string) else {
            return Ok(());
        };
        if rel.starts_with('/') || rel.split('/').any(|s| s == "..") {
            return Err(self.error_at(
                "allowed_signers",
                format!("identity.allowed_signers: '{rel}' must be a file inside the repository"),
            ));
        }
        let shown = format!("{place}{rel}");
        let bytes =
            match read(&rel) {
                Ok(Some(bytes)) => bytes,
                Ok(None) => return Err(self
                    .error_at(
                        "allowed_signers",
                        format!("identity.allowed_signers: {shown} does not exist"),
                    )
                    .with_hint(
                        "list each agent's public key there, one `agent-name ssh-ed25519 AAAA…` \
                         line per key (git's allowed-signers format), and commit it",
                    )),
                Err(e) => return Err(Error::config(format!("cannot read {shown}: {e}"))),
            };
        let text = String::from_utf8_lossy(&bytes);
        let signers = AllowedSigners::parse(&text).map_err(|(line, why)| {
            Error::config(format!("{shown}:{line}: {why}")).with_hint(
                "fix that line (git's allowed-signers format: `principals [options] keytype \
                 base64`) and run the command again",
            )
        })?;
        self.identity.signers = Arc::new(signers);
        Ok(())
    }

    pub fn parse(bytes: &[u8], path: &Path) -> Result<Config> {
        let text = std::str::from_utf8(bytes).map_err(|_| {
            Error::config(format!("{}: not valid UTF-8", path.display()))
                .with_hint("save the config as UTF-8 text")
        })?;
        let mut config: Config = if text.trim().is_empty() {
            Config::default()
        } else {
            yaml_serde::from_str(text).map_err(|e| yaml_error(path, &e))?
        };
        config.source = Some(path.to_path_buf());
        config.text = text.to_string();
        config.validate()?;
        Ok(config)
    }

    fn validate(&self) -> Result<()> {
        if self.version != 1 {
            return Err(self.error_at(
                "version",
                format!("unsupported version {} (expected 1)", self.version),
            ));
        }
        for name in self.domains.keys() {
            if let Err(e) = crate::model::name::validate_name(name) {
                let why = e.message.replacen("agent name", "domain name", 1);
                return Err(self.error_at(&format!("{name}:"), why));
            }
        }
        for (agent, binding) in &self.agents {
            if let Err(e) = crate::model::name::validate_name(agent) {
                return Err(self.error_at(&format!("{agent}:"), e.message));
            }
            if let Some(domain) = &binding.domain {
                if !self.domains.contains_key(domain) {
                    return Err(self.error_at(
                        agent,
                        format!("agent '{agent}' is bound to unknown domain '{domain}'"),
                    ));
                }
            }
        }
        for pattern in &self.common {
            if let Err(e) = check_glob(pattern) {
                return Err(self.error_at(pattern, format!("common: bad glob '{pattern}': {e}")));
            }
        }
        for pattern in &self.exclude {
            if let Err(e) = check_glob(pattern) {
                return Err(self.error_at(pattern, format!("exclude: bad glob '{pattern}': {e}")));
            }
        }
        for (name, domain) in &self.domains {
            let patterns = domain
                .scope
                .iter()
                .chain(domain.exports.iter().flatten())
                .chain(domain.allowed_imports.iter().flatten())
                .map(String::as_str)
                .chain(domain.forbidden_imports.iter().map(ForbiddenImport::path))
                .chain(domain.forbidden_packages.iter().map(String::as_str));
            for pattern in patterns {
                if let Err(e) = check_glob(pattern) {
                    return Err(self.error_at(
                        pattern,
                        format!("domain '{name}': bad glob '{pattern}': {e}"),
                    ));
                }
            }
        }
        for root in &self.python.roots {
            if root.starts_with('/') || root.split('/').any(|s| s == "..") {
                return Err(self.error_at(
                    root,
                    format!("python.roots: '{root}' must be a directory inside the repository"),
                ));
            }
        }
        if let Some(text) = &self.presence.stale {
            if let Err(e) = crate::clock::parse_duration(text, 30 * 86_400) {
                return Err(
                    self.error_at("stale", format!("presence.stale: {} (e.g. 10m)", e.message))
                );
            }
        }
        if let Some(text) = &self.clock_skew {
            if let Err(e) = crate::clock::parse_duration(text, MAX_SKEW_SECS) {
                return Err(self.error_at(
                    "clock_skew",
                    format!("clock_skew: {} (0s to 1d, e.g. 5m)", e.message),
                ));
            }
        }
        self.check_overlapping_scopes()
    }

    /// The daily token budget of `agent`, if the config sets one.
    pub fn budget_of(&self, agent: &str) -> Option<u64> {
        self.agents.get(agent).and_then(|b| b.budget)
    }

    /// Seconds an agent may go unseen before it is flagged as stale.
    pub fn stale_secs(&self) -> i64 {
        self.presence
            .stale
            .as_deref()
            .and_then(|t| crate::clock::parse_duration(t, 30 * 86_400).ok())
            .unwrap_or(DEFAULT_STALE_SECS)
    }

    /// The tolerated clock skew in seconds (validated when the config was loaded).
    pub fn skew_secs(&self) -> i64 {
        self.clock_skew
            .as_deref()
            .and_then(|t| crate::clock::parse_duration(t, MAX_SKEW_SECS).ok())
            .unwrap_or(crate::clock::DEFAULT_SKEW_SECS)
    }

    /// Two domains must not own the same path: every file belongs to at most one domain.
    /// All scope patterns go in one glob set; each pattern's sample path is matched once,
    /// so the cost grows with the number of patterns, not with pairs of domains.
    fn check_overlapping_scopes(&self) -> Result<()> {
        if self.domains.len() < 2 {
            return Ok(()); // an overlap takes two domains; the glob set costs every hook
        }
        let domains: Vec<(&String, &Domain)> = self.domains.iter().collect();
        let patterns: Vec<(usize, &str)> = domains
            .iter()
            .enumerate()
            .flat_map(|(i, (_, d))| d.scope.iter().map(move |p| (i, p.as_str())))
            .collect();
        let Ok((set, tags)) = tagged_glob_set(patterns.iter().copied()) else {
            return Ok(()); // bad globs are reported by `validate` first
        };
        let mut first: Option<(usize, usize)> = None;
        for (p, (_, pattern)) in patterns.iter().enumerate() {
            let hits: Vec<usize> = set
                .matches(sample_path(pattern))
                .into_iter()
                .map(|g| tags[g])
                .collect();
            if !hits.contains(&p) {
                continue;
            }
            for &q in &hits {
                if patterns[q].0 != patterns[p].0 {
                    let pair = (p.min(q), p.max(q));
                    let key = |(a, b): (usize, usize)| (patterns[a].0, a, patterns[b].0, b);
                    if first.is_none_or(|f| key(pair) < key(f)) {
                        first = Some(pair);
                    }
                }
            }
        }
        let Some((a, b)) = first else {
            return Ok(());
        };
        let ((a_domain, a_pat), (b_domain, b_pat)) = (patterns[a], patterns[b]);
        let (a_name, b_name) = (domains[a_domain].0, domains[b_domain].0);
        let path = scopes_overlap(a_pat, b_pat).unwrap_or_else(|| sample_path(a_pat));
        Err(self
            .error_at(
                &format!("\"{b_pat}\""),
                format!(
                    "domains '{a_name}' and '{b_name}' overlap: '{a_pat}' and '{b_pat}' both match {path}"
                ),
            )
            .with_hint(format!(
                "make the scopes disjoint (each file belongs to one domain), then fix {CONFIG_PATH}"
            )))
    }

    /// An error pointing at the first line of the config text that mentions `needle`.
    pub fn error_at(&self, needle: &str, message: String) -> Error {
        let path = self
            .source
            .as_ref()
            .map(|p| p.display().to_string())
            .unwrap_or_else(|| CONFIG_PATH.to_string());
        let line = self
            .line_of(needle)
            .or_else(|| self.line_of(needle.trim_matches('"')));
        let location = line.map(|l| format!(":{l}")).unwrap_or_default();
        Error::config(format!("{path}{location}: {message}"))
            .with_hint(format!("fix {CONFIG_PATH} and run the command again"))
    }

    pub fn line_of(&self, needle: &str) -> Option<usize> {
        self.text
            .lines()
            .position(|line| line.contains(needle))
            .map(|i| i + 1)
    }

    /// The domain an agent is bound to in the config, if any.
    pub fn agent_domain(&self, agent: &str) -> Option<&str> {
        self.agents.get(agent)?.domain.as_deref()
    }
}

/// A mapping whose keys must be unique: YAML allows a repeated key and keeps the last,
/// which silently drops a domain or agent binding.
fn unique_keys<'de, D, V>(deserializer: D) -> std::result::Result<BTreeMap<String, V>, D::Error>
where
    D: serde::Deserializer<'de>,
    V: Deserialize<'de>,
{
    struct Unique<V>(std::marker::PhantomData<V>);
    impl<'de, V: Deserialize<'de>> serde::de::Visitor<'de> for Unique<V> {
        type Value = BTreeMap<String, V>;
        fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
            f.write_str("a mapping with unique keys")
        }
        fn visit_map<A: serde::de::MapAccess<'de>>(
            self,
            mut map: A,
        ) -> std::result::Result<Self::Value, A::Error> {
            let mut out = BTreeMap::new();
            while let Some(key) = map.next_key::<String>()? {
                if out.contains_key(&key) {
                    return Err(serde::de::Error::custom(format!("duplicate key `{key}`")));
                }
                let value = map.next_value()?;
                out.insert(key, value);
            }
            Ok(out)
        }
    }
    deserializer.deserialize_map(Unique(std::marker::PhantomData))
}

fn yaml_error(path: &Path, e: &yaml_serde::Error) -> Error {
    let location = e
        .location()
        .map(|l| format!(":{}:{}", l.line(), l.column()))
        .unwrap_or_default();
    Error::config(format!("{}{location}: {e}", path.display()))
        .with_hint(format!("fix {CONFIG_PATH} and run the command again"))
}

/// Whether a gitignore-style pattern is valid, without compiling a matcher for it.
pub fn check_glob(pattern: &str) -> std::result::Result<(), globset::Error> {
    for variant in glob_variants(pattern) {
        globset::GlobBuilder::new(&variant)
            .literal_separator(true)
            .build()?;
    }
    Ok(())
}

/// One glob set for many tagged patterns; `tags[i]` is the tag of the set's glob `i`, so
/// `set.matches(path)` maps back to the patterns (and whatever they belong to) at once.
pub fn tagged_glob_set<'a>(
    patterns: impl IntoIterator<Item = (usize, &'a str)>,
) -> std::result::Result<(globset::GlobSet, Vec<usize>), globset::Error> {
    let mut builder = globset::GlobSetBuilder::new();
    let mut tags = Vec::new();
    for (tag, pattern) in patterns {
        for variant in glob_variants(pattern) {
            builder.add(
                globset::GlobBuilder::new(&variant)
                    .literal_separator(true)
                    .build()?,
            );
            tags.push(tag);
        }
    }
    Ok((builder.build()?, tags))
}

/// Compile gitignore-style patterns: `*` stays inside one path segment, `**` crosses
/// segments, a pattern also covers what is below it (`src/api` = `src/api/**`), and a pattern
/// without `/` matches at any depth (`*.test.ts`).
pub fn glob_set(patterns: &[String]) -> std::result::Result<globset::GlobSet, globset::Error> {
    let mut builder = globset::GlobSetBuilder::new();
    for pattern in patterns {
        for variant in glob_variants(pattern) {
            builder.add(
                globset::GlobBuilder::new(&variant)
                    .literal_separator(true)
                    .build()?,
            );
        }
    }
    builder.build()
}

/// The globs a pattern stands for: itself, what is below it, and (without a `/`) the same
/// at any depth.
pub fn glob_variants(pattern: &str) -> Vec<String> {
    let trimmed = pattern.trim_start_matches('/').trim_end_matches('/');
    let mut variants = vec![trimmed.to_string(), format!("{trimmed}/**")];
    if !pattern.trim_end_matches('/').contains('/') {
        variants.push(format!("**/{trimmed}"));
        variants.push(format!("**/{trimmed}/**"));
    }
    variants
}

/// A path both scope patterns match, if we can find one: each pattern's sample path (glob
/// syntax replaced by a plain segment) is tried against the other.
fn scopes_overlap(a: &str, b: &str) -> Option<String> {
    let (set_a, set_b) = (
        glob_set(&[a.to_string()]).ok()?,
        glob_set(&[b.to_string()]).ok()?,
    );
    [sample_path(a), sample_path(b)]
        .into_iter()
        .find(|path| set_a.is_match(path) && set_b.is_match(path))
}

fn sample_path(pattern: &str) -> String {
    let mut out = String::new();
    let mut chars = pattern.trim_start_matches('/').chars().peekable();
    while let Some(c) = chars.next() {
        match c {
            '*' | '?' => {
                while chars.peek() == Some(&'*') {
                    chars.next();
                }
                out.push('x');
            }
            '[' => {
                let first = chars
                    .next()
                    .filter(|c| *c != '!' && *c != '^')
                    .unwrap_or('x');
                for c in chars.by_ref() {
                    if c == ']' {
                        break;
                    }
                }
                out.push(first);
            }
            '{' => {
                let mut first = String::new();
                let mut in_first = true;
                for c in chars.by_ref() {
                    match c {
                        '}' => break,
                        ',' => in_first = false,
                        c if in_first => first.push(c),
                        _ => {}
                    }
                }
                out.push_str(&first);
            }
            c => out.push(c),
        }
    }
    out
}

/// How an import brings in its target; rules may ignore some kinds (`ignore_kinds`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum ImportKind {
    Static,
    TypeOnly,
    ReExport,
    Dynamic,
    Require,
}

impl ImportKind {
    pub fn name(self) -> &'static str {
        match self {
            ImportKind::Static => "static",
            ImportKind::TypeOnly => "type-only",
            ImportKind::ReExport => "re-export",
            ImportKind::Dynamic => "dynamic",
            ImportKind::Require => "require",
        }
    }
}

impl Config {
    /// The rules the storage gate applies for this config: skew, body limit, overseers and
    /// the agents it binds.
    pub fn policy(&self) -> crate::repo::Policy {
        crate::repo::Policy {
            skew_secs: self.skew_secs(),
            max_body: self
                .mail
                .max_body
                .map_or(crate::repo::DEFAULT_MAX_BODY, |size| size.0),
            overseers: self.overseers.clone(),
            agents: self.agents.keys().cloned().collect(),
            identity: crate::repo::signing::Identity {
                mode: self.identity.signed,
                signers: self.identity.signers.clone(),
            },
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(text: &str) -> Result<Config> {
        Config::parse(text.as_bytes(), Path::new(".comm-node/config.yaml"))
    }

    #[test]
    fn gitignore_style_globs() {
        let set = glob_set(&[
            "src/api/**".into(),
            "src/main.rs".into(),
            "*.test.ts".into(),
        ])
        .unwrap();
        assert!(set.is_match("src/api/a/b.ts"));
        assert!(set.is_match("src/main.rs"));
        assert!(set.is_match("deep/x/y.test.ts"));
        assert!(!set.is_match("src/apiary/x.ts"));
        assert!(!set.is_match("src/main.rsx"));
        let star = glob_set(&["src/*.rs".into()]).unwrap();
        assert!(star.is_match("src/a.rs"));
        assert!(!star.is_match("src/a/b.rs"));
        let dir = glob_set(&["packages/ui".into()]).unwrap();
        assert!(dir.is_match("packages/ui/src/x.ts"));
    }

    #[test]
    fn overlapping_scopes_are_reported_with_their_line() {
        let err = parse("version: 1\ndomains:\n  app:\n    scope: [\"src/**\"]\n  api:\n    scope: [\"src/api/**\"]\n")
            .unwrap_err();
        assert!(err.message.contains(":4:"), "{}", err.message);
        assert!(
            err.message.contains("'api' and 'app' overlap"),
            "{}",
            err.message
        );
        let err = parse("version: 1\ndomains:\n  a:\n    scope: [\"src/*.rs\"]\n  b:\n    scope: [\"src/main.rs\"]\n")
            .unwrap_err();
        assert!(err.message.contains(":6:"), "{}", err.message);
        parse("version: 1\ndomains:\n  a:\n    scope: [\"src/a/**\"]\n  b:\n    scope: [\"src/ab/**\", \"src/main.rs\"]\n")
            .expect("disjoint scopes");
    }

    #[test]
    fn overlaps_among_thousands_of_domains_are_found() {
        let mut text = "version: 1\ndomains:\n".to_string();
        for i in 0..2000 {
            text.push_str(&format!("  d{i:04}:\n    scope: [\"src/m{i}/**\"]\n"));
        }
        parse(&text).expect("2,000 disjoint domains");
        text.push_str("  late:\n    scope: [\"src/m1500/deep/*.py\"]\n");
        let err = parse(&text).unwrap_err();
        assert!(
            err.message.contains("domains 'd1500' and 'late' overlap")
                && err.message.contains(":4004:"),
            "{}",
            err.message
        );
    }

    #[test]
    fn unknown_keys_and_bad_globs_point_at_a_line() {
        let err =
            parse("version: 1\ndomains:\n  a:\n    scope: [\"x/**\"]\n    forbiden_imports: []\n")
                .unwrap_err();
        assert!(err.message.contains("config.yaml:5"), "{}", err.message);
        assert!(err.message.contains("forbiden_imports"), "{}", err.message);
        let err = parse("version: 1\ndomains:\n  a:\n    scope: [\"x/**\"]\n    forbidden_imports: [\"src/[a\"]\n").unwrap_err();
        assert!(err.message.contains("config.yaml:5"), "{}", err.message);
        assert!(err.message.contains("bad glob"), "{}", err.message);
        let err = parse(
            "version: 1\ndomains:\n  a:\n    scope: [\"x/**\"]\n    ignore_kinds: [typeonly]\n",
        )
        .unwrap_err();
        assert!(err.message.contains("config.yaml:5"), "{}", err.message);
        let ok = parse("version: 1\ndomains:\n  a:\n    scope: [\"x/**\"]\n    ignore_kinds: [type-only, dynamic]\n").unwrap();
        assert_eq!(ok.domains["a"].ignore_kinds.len(), 2);
    }

    #[test]
    fn python_roots_are_repo_relative_directories() {
        let roots = parse("version: 1\npython:\n  roots: [\".\", \"./src/\", \"libs/core\"]\n")
            .unwrap()
            .python
            .normalized_roots();
        assert_eq!(roots, ["", "src", "libs/core"]);
        for bad in ["../elsewhere", "/abs", "a/../../b"] {
            let err = parse(&format!("version: 1\npython:\n  roots: [\"{bad}\"]\n")).unwrap_err();
            assert!(
                err.message.contains("config.yaml:3"),
                "{bad}: {}",
                err.message
            );
        }
        let err = parse("version: 1\npython:\n  root: [src]\n").unwrap_err();
        assert!(err.message.contains("config.yaml:3"), "{}", err.message);
    }

    #[test]
    fn mail_max_body_sizes() {
        let size = |v: &str| {
            parse(&format!("version: 1\nmail:\n  max_body: {v}\n"))
                .map(|c| c.mail.max_body.expect("set").0)
        };
        assert_eq!(size("65536").unwrap(), 65536);
        assert_eq!(size("64K").unwrap(), 65536);
        assert_eq!(size("64KiB").unwrap(), 65536);
        assert_eq!(size("1M").unwrap(), 1 << 20);
        assert_eq!(size("2MiB").unwrap(), 2 << 20);
        assert_eq!(size("\"512 KiB\"").unwrap(), 512 << 10);
        for bad in ["1GB", "lots", "-5", "1.5MiB", "2048MiB", "[]"] {
            let err = size(bad).unwrap_err();
            assert!(
                err.message.contains("config.yaml:3"),
                "{bad}: {}",
                err.message
            );
        }
        assert!(parse("version: 1\n").unwrap().mail.max_body.is_none());
        assert_eq!(ByteSize(1 << 20).to_string(), "1 MiB");
        assert_eq!(ByteSize(1536).to_string(), "1536 bytes");
        assert_eq!(ByteSize(3 << 10).to_string(), "3 KiB");
    }
}
