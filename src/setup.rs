//! Fitting git-comm into the tools around it: git's help (a fallback man viewer) and agent
//! harnesses (an instruction block in their instructions file, and where the harness has
//! hooks, one that brings new mail and halts into every turn).
//!
//! Edits never clobber what the user wrote: the instruction block sits between begin/end
//! markers and only that span is replaced or removed; hooks are merged into the harness's
//! JSON settings and removed by their exact command. Writing twice changes nothing.

use std::path::{Path, PathBuf};

use serde::Serialize;
use serde_json::{json, Map, Value};

use crate::config::Config;
use crate::error::{Error, Result};
use crate::repo::Repo;
use crate::sync::git;
use crate::task::plan;

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

pub const BLOCK_BEGIN: &str =
    "<!-- git-comm:begin (written by `git comm setup`; replaced on each write) -->";
pub const BLOCK_END: &str = "<!-- git-comm:end -->";

/// The per-turn context: new mail in at most ~300 tokens, halts included (stderr). Never
/// fails the turn: harnesses treat some exit codes as "block this prompt".
pub const TURN_COMMAND: &str = "git comm inbox --format compact --budget 300 2>&1 || true";
/// Gemini CLI wants JSON on stdout, so its hook goes through a wrapper.
pub const GEMINI_TURN_COMMAND: &str = "git comm __turn gemini";

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Target {
    ClaudeCode,
    Codex,
    Cursor,
    Gemini,
    Generic,
}

impl Target {
    pub fn name(self) -> &'static str {
        match self {
            Target::ClaudeCode => "claude-code",
            Target::Codex => "codex",
            Target::Cursor => "cursor",
            Target::Gemini => "gemini",
            Target::Generic => "generic",
        }
    }

    /// The instructions file, relative to the work tree top.
    pub fn instructions_file(self) -> &'static str {
        match self {
            Target::ClaudeCode => "CLAUDE.md",
            Target::Codex | Target::Generic => "AGENTS.md",
            Target::Cursor => ".cursor/rules/git-comm.mdc",
            Target::Gemini => "GEMINI.md",
        }
    }

    /// The hook: (settings file, event, command), where the harness runs one per turn.
    pub fn hook(self) -> Option<(&'static str, &'static str, &'static str)> {
        match self {
            Target::ClaudeCode => Some((".claude/settings.json", "UserPromptSubmit", TURN_COMMAND)),
            Target::Codex => Some((".codex/hooks.json", "UserPromptSubmit", TURN_COMMAND)),
            Target::Gemini => Some((".gemini/settings.json", "BeforeAgent", GEMINI_TURN_COMMAND)),
            Target::Cursor | Target::Generic => None,
        }
    }

    /// Text a new instructions file starts with (Cursor rules need front matter).
    fn file_preamble(self) -> &'static str {
        match self {
            Target::Cursor => {
                "---\ndescription: Coordinate with other agents through git comm\nalwaysApply: true\n---\n"
            }
            _ => "",
        }
    }
}

/// What one file edit did (or, printed, would do).
#[derive(Debug, Clone, Serialize)]
pub struct FileChange {
    pub path: PathBuf,
    /// created, updated, unchanged, removed, absent
    pub outcome: &'static str,
    /// The file's content after the change (None when removed or absent).
    #[serde(skip)]
    pub content: Option<String>,
}

/// The instruction block: the named agent's contract (`prime`), else the protocol alone.
pub fn instructions(repo: &Repo, config: &Config, agent: Option<&str>) -> Result<String> {
    let body = match agent {
        Some(name) => plan::prime(repo, config, name)?,
        None => generic_instructions(repo, config),
    };
    Ok(format!("{BLOCK_BEGIN}\n{}{BLOCK_END}\n", body))
}

fn generic_instructions(repo: &Repo, config: &Config) -> String {
    let mut lines = vec![
        "# git comm: coordinating with other agents".to_string(),
        "Several agents work on this repository; coordinate only through `git comm` (git refs; no server).".to_string(),
        "Your own contract (role, domain, peers, ready tasks): `git comm prime`.".to_string(),
        plan::GUIDE_POINTER.to_string(),
    ];
    lines.extend(plan::protocol(repo, config, None, None));
    lines.join("\n") + "\n"
}

/// `existing` with `block` in place of the marked span, or appended after a blank line.
pub fn with_block(existing: &str, block: &str) -> String {
    if let Some((before, after)) = split_around_block(existing) {
        return format!("{before}{block}{after}");
    }
    let separator = match existing {
        "" => "",
        text if text.ends_with('\n') => "\n",
        _ => "\n\n",
    };
    format!("{existing}{separator}{block}")
}

/// `existing` without the marked span and the blank line `with_block` put before it (a
/// file that did not end in a newline gets one).
pub fn without_block(existing: &str) -> Option<String> {
    let (before, after) = split_around_block(existing)?;
    let before = before
        .strip_suffix('\n')
        .filter(|b| b.ends_with('\n'))
        .unwrap_or(before);
    Some(format!("{before}{after}"))
}

/// The text before the begin marker and after the end marker (and its newline).
fn split_around_block(text: &str) -> Option<(&str, &str)> {
    let start = text.find(BLOCK_BEGIN)?;
    let end_marker = start + text[start..].find(BLOCK_END)?;
    let mut end = end_marker + BLOCK_END.len();
    if text[end..].starts_with('\n') {
        end += 1;
    }
    Some((&text[..start], &text[end..]))
}

/// `settings` with our hook in `event` (added once; everything else kept).
pub fn with_hook(settings: &Value, event: &str, command: &str) -> Result<Value> {
    let mut settings = settings.clone();
    let root = settings
        .as_object_mut()
        .ok_or_else(|| Error::config("the settings file is not a JSON object"))?;
    let hooks = root
        .entry("hooks")
        .or_insert_with(|| Value::Object(Map::new()))
        .as_object_mut()
        .ok_or_else(|| Error::config("\"hooks\" in the settings file is not an object"))?;
    let groups = hooks
        .entry(event)
        .or_insert_with(|| Value::Array(Vec::new()))
        .as_array_mut()
        .ok_or_else(|| Error::config(format!("\"hooks.{event}\" is not an array")))?;
    if !groups.iter().any(|g| group_runs(g, command)) {
        groups.push(json!({"hooks": [{"type": "command", "command": command}]}));
    }
    Ok(settings)
}

/// `settings` without our hook; emptied containers we may have created go too.
pub fn without_hook(settings: &Value, event: &str, command: &str) -> Value {
    let mut settings = settings.clone();
    let Some(hooks) = settings.get_mut("hooks").and_then(Value::as_object_mut) else {
        return settings;
    };
    if let Some(groups) = hooks.get_mut(event).and_then(Value::as_array_mut) {
        for group in groups.iter_mut() {
            remove_command(group, command);
        }
        groups.retain(|g| !is_empty_group(g));
        if groups.is_empty() {
            hooks.remove(event);
        }
    }
    if hooks.is_empty() {
        settings.as_object_mut().expect("had hooks").remove("hooks");
    }
    settings
}

fn group_runs(group: &Value, command: &str) -> bool {
    group["hooks"]
        .as_array()
        .is_some_and(|hs| hs.iter().any(|h| h["command"] == command))
}

fn remove_command(group: &mut Value, command: &str) {
    if let Some(hooks) = group.get_mut("hooks").and_then(Value::as_array_mut) {
        hooks.retain(|h| h["command"] != command);
    }
}

fn is_empty_group(group: &Value) -> bool {
    group["hooks"].as_array().is_some_and(Vec::is_empty)
}

/// The changes `write` makes for `target` in the work tree `root`, without making them.
pub fn plan_write(root: &Path, target: Target, block: &str) -> Result<Vec<FileChange>> {
    let mut changes = vec![instructions_write(root, target, block)?];
    if let Some((file, event, command)) = target.hook() {
        changes.push(hook_write(root, file, event, command)?);
    }
    Ok(changes)
}

/// The changes `remove` makes for `target`, without making them.
pub fn plan_remove(root: &Path, target: Target) -> Result<Vec<FileChange>> {
    let mut changes = vec![instructions_remove(root, target)?];
    if let Some((file, event, command)) = target.hook() {
        changes.push(hook_remove(root, file, event, command)?);
    }
    Ok(changes)
}

fn instructions_write(root: &Path, target: Target, block: &str) -> Result<FileChange> {
    let path = root.join(target.instructions_file());
    let existing = read_optional(&path)?;
    let base = existing.as_deref().unwrap_or(target.file_preamble());
    let content = with_block(base, block);
    Ok(change(path, existing.as_deref(), Some(content)))
}

fn instructions_remove(root: &Path, target: Target) -> Result<FileChange> {
    let path = root.join(target.instructions_file());
    let existing = read_optional(&path)?;
    let content = match existing.as_deref() {
        None => None,
        Some(text) => match without_block(text) {
            None => Some(text.to_string()),
            // Nothing of the user's left: the file was ours alone.
            Some(rest) if rest.trim().is_empty() || rest == target.file_preamble() => None,
            Some(rest) => Some(rest),
        },
    };
    Ok(change(path, existing.as_deref(), content))
}

fn hook_write(root: &Path, file: &str, event: &str, command: &str) -> Result<FileChange> {
    let path = root.join(file);
    let existing = read_optional(&path)?;
    let settings = parse_settings(&path, existing.as_deref())?;
    let updated = with_hook(&settings, event, command)
        .map_err(|e| Error::config(format!("{}: {}", path.display(), e.message)))?;
    let content = if updated == settings {
        existing.clone()
    } else {
        Some(pretty(&updated))
    };
    Ok(change(path, existing.as_deref(), content))
}

fn hook_remove(root: &Path, file: &str, event: &str, command: &str) -> Result<FileChange> {
    let path = root.join(file);
    let existing = read_optional(&path)?;
    let settings = parse_settings(&path, existing.as_deref())?;
    let updated = without_hook(&settings, event, command);
    let content = if updated == settings {
        existing.clone()
    } else if updated.as_object().is_some_and(Map::is_empty) {
        None
    } else {
        Some(pretty(&updated))
    };
    Ok(change(path, existing.as_deref(), content))
}

fn parse_settings(path: &Path, text: Option<&str>) -> Result<Value> {
    match text {
        None => Ok(Value::Object(Map::new())),
        Some(text) if text.trim().is_empty() => Ok(Value::Object(Map::new())),
        Some(text) => serde_json::from_str(text).map_err(|e| {
            Error::config(format!("{} is not valid JSON: {e}", path.display())).with_hint(
                "fix the file, or add the hook by hand (`git comm setup TARGET --print` shows it)",
            )
        }),
    }
}

fn pretty(value: &Value) -> String {
    serde_json::to_string_pretty(value).expect("JSON values serialize") + "\n"
}

fn change(path: PathBuf, before: Option<&str>, after: Option<String>) -> FileChange {
    let outcome = match (before, after.as_deref()) {
        (None, None) => "absent",
        (None, Some(_)) => "created",
        (Some(_), None) => "removed",
        (Some(old), Some(new)) if old == new => "unchanged",
        (Some(_), Some(_)) => "updated",
    };
    FileChange {
        path,
        outcome,
        content: after,
    }
}

fn read_optional(path: &Path) -> Result<Option<String>> {
    match std::fs::read_to_string(path) {
        Ok(text) => Ok(Some(text)),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
        Err(e) => Err(Error::usage(format!("cannot read {}: {e}", path.display()))),
    }
}

/// Carry out planned changes.
pub fn apply(changes: &[FileChange]) -> Result<()> {
    for change in changes {
        let failed = |e: std::io::Error| {
            Error::usage(format!("cannot write {}: {e}", change.path.display()))
        };
        match (change.outcome, &change.content) {
            ("created" | "updated", Some(content)) => {
                if let Some(dir) = change.path.parent() {
                    std::fs::create_dir_all(dir).map_err(failed)?;
                }
                std::fs::write(&change.path, content).map_err(failed)?;
            }
            ("removed", _) => std::fs::remove_file(&change.path).map_err(failed)?,
            _ => {}
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    const BLOCK: &str = "<!-- git-comm:begin (written by `git comm setup`; replaced on each write) -->\nhello\n<!-- git-comm:end -->\n";

    #[test]
    fn a_block_is_appended_once_and_removed_back_to_the_original() {
        for original in ["", "# Notes\n", "# Notes\n\n", "# Notes\n\nkeep me\n", "\n"] {
            let once = with_block(original, BLOCK);
            assert_eq!(with_block(&once, BLOCK), once, "{original:?}");
            assert!(once.contains(BLOCK));
            assert_eq!(without_block(&once).unwrap(), original, "{original:?}");
        }
    }

    #[test]
    fn a_block_in_the_middle_is_replaced_in_place() {
        assert_eq!(
            without_block(&with_block("no newline", BLOCK)).unwrap(),
            "no newline\n"
        );
        let text = format!("top\n\n{BLOCK}\nbottom\n");
        let replaced = with_block(&text, &BLOCK.replace("hello", "bye"));
        assert_eq!(
            replaced,
            format!("top\n\n{}\nbottom\n", BLOCK.replace("hello", "bye"))
        );
        assert_eq!(without_block(&text).unwrap(), "top\n\nbottom\n");
    }

    #[test]
    fn hooks_merge_into_settings_and_come_out_again() {
        let settings = json!({
            "model": "x",
            "hooks": {"UserPromptSubmit": [{"hooks": [{"type": "command", "command": "mine"}]}],
                      "Stop": [{"hooks": [{"type": "command", "command": "other"}]}]}
        });
        let with = with_hook(&settings, "UserPromptSubmit", "ours").unwrap();
        assert_eq!(with_hook(&with, "UserPromptSubmit", "ours").unwrap(), with);
        assert_eq!(
            with["hooks"]["UserPromptSubmit"].as_array().unwrap().len(),
            2
        );
        assert_eq!(without_hook(&with, "UserPromptSubmit", "ours"), settings);
        let fresh = with_hook(&json!({}), "BeforeAgent", "ours").unwrap();
        assert_eq!(without_hook(&fresh, "BeforeAgent", "ours"), json!({}));
    }
}
