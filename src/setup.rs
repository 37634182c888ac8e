//! Fitting git-comm into the tools around it: git's help (a fallback man viewer) and agent
//! harnesses (instruction blocks and per-turn hooks in their files).

use crate::error::Result;
use crate::repo::Repo;
use crate::sync::git;

/// The man viewer name git-comm registers in a repository's config.
pub const HELP_VIEWER: &str = "git-comm";
/// What git runs for it (`sh -c "git comm __man PAGE"`).
pub const HELP_VIEWER_CMD: &str = "git comm __man";

/// Register git-comm's fallback man viewer in the repository config, unless the user
/// chose viewers of their own (any scope). Returns whether it registered it now.
pub fn register_help_viewer(repo: &Repo) -> Result<bool> {
    let git_dir = repo.common_dir();
    if !git::config_get_all(git_dir, "man.viewer")?.is_empty() {
        return Ok(false);
    }
    git::config_add(git_dir, "man.viewer", HELP_VIEWER)?;
    let cmd_key = format!("man.{HELP_VIEWER}.cmd");
    if git::config_get_all(git_dir, &cmd_key)?.is_empty() {
        git::config_add(git_dir, &cmd_key, HELP_VIEWER_CMD)?;
    }
    Ok(true)
}
