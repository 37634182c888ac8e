//! `.comm-node/config.yaml`: domains (what paths each owns and may import) and agents
//! bound to domains. Shared by mail (`@domain` recipients), leases, hooks and boundaries,
//! so it lives beside them rather than inside `boundary/`.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use crate::error::{Error, Result};

pub const CONFIG_PATH: &str = ".comm-node/config.yaml";

#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Config {
    pub version: u32,
    #[serde(default)]
    pub domains: BTreeMap<String, Domain>,
    #[serde(default)]
    pub agents: BTreeMap<String, AgentBinding>,
    #[serde(default)]
    pub leases: LeaseSettings,
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
    #[serde(default)]
    pub forbidden_imports: Vec<String>,
    #[serde(default)]
    pub forbidden_packages: Vec<String>,
}

/// `leases: {sync: true}`: a grant counts only once the ledger is pushed to the remote.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct LeaseSettings {
    #[serde(default)]
    pub sync: bool,
}

#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AgentBinding {
    pub domain: Option<String>,
    #[serde(default)]
    pub role: Option<String>,
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

    /// Load the config of the worktree at `root`; a missing file is an empty config.
    pub fn load(root: &Path) -> Result<Config> {
        let path = root.join(CONFIG_PATH);
        match std::fs::read(&path) {
            Ok(bytes) => Config::parse(&bytes, &path),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(Config::empty()),
            Err(e) => Err(Error::config(format!(
                "cannot read {}: {e}",
                path.display()
            ))),
        }
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
        for (agent, binding) in &self.agents {
            if let Some(domain) = &binding.domain {
                if !self.domains.contains_key(domain) {
                    return Err(self.error_at(
                        agent,
                        format!("agent '{agent}' is bound to unknown domain '{domain}'"),
                    ));
                }
            }
        }
        for (name, domain) in &self.domains {
            let patterns = domain
                .scope
                .iter()
                .chain(domain.exports.iter().flatten())
                .chain(domain.allowed_imports.iter().flatten())
                .chain(domain.forbidden_imports.iter());
            for pattern in patterns {
                if let Err(e) = globset::Glob::new(pattern) {
                    return Err(self.error_at(
                        pattern,
                        format!("domain '{name}': bad glob '{pattern}': {e}"),
                    ));
                }
            }
        }
        Ok(())
    }

    /// An error pointing at the first line of the config text that mentions `needle`.
    pub fn error_at(&self, needle: &str, message: String) -> Error {
        let path = self
            .source
            .as_ref()
            .map(|p| p.display().to_string())
            .unwrap_or_else(|| CONFIG_PATH.to_string());
        let line = self.line_of(needle);
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

fn yaml_error(path: &Path, e: &yaml_serde::Error) -> Error {
    let location = e
        .location()
        .map(|l| format!(":{}:{}", l.line(), l.column()))
        .unwrap_or_default();
    Error::config(format!("{}{location}: {e}", path.display()))
        .with_hint(format!("fix {CONFIG_PATH} and run the command again"))
}
