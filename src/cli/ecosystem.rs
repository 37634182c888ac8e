//! Fitting into the user's tools: `man` (pages), `completions` (shell scripts), and the
//! hidden helpers they call: `__man` (git's fallback man viewer) and `__complete`
//! (candidates for dynamic completion).

use std::path::PathBuf;

use clap::{Args, CommandFactory, ValueEnum};
use clap_complete::Shell;

use super::output::{self, outln};
use super::{manual, Cli, Ctx};
use crate::error::{Error, Result};
use crate::setup;

#[derive(Debug, Args)]
pub struct ManArgs {
    /// The command whose page to print (`git comm man task add`); none = the whole manual.
    pub command: Vec<String>,
    /// Write every page under DIR/man1 instead of printing (default DIR: next to the
    /// binary, <prefix>/share/man, where man finds it for programs on PATH).
    #[arg(long, value_name = "DIR", num_args = 0..=1, default_missing_value = "")]
    pub install: Option<PathBuf>,
}

#[derive(Debug, Clone, Copy, ValueEnum)]
pub enum ShellName {
    Bash,
    Zsh,
    Fish,
    Powershell,
    Elvish,
}

#[derive(Debug, Args)]
pub struct CompletionsArgs {
    /// bash, zsh, fish, powershell or elvish.
    #[arg(value_enum)]
    pub shell: ShellName,
}

#[derive(Debug, Args)]
pub struct ManViewerArgs {
    /// The page git asks for (`git-comm`, `git-comm-inbox`, `git-commit`, ...).
    pub page: String,
}

#[derive(Debug, Args)]
pub struct CompleteArgs {
    /// Index of the word being completed in WORDS.
    #[arg(long)]
    pub cword: usize,
    /// The command line so far, starting with the program (`git-comm send bo`).
    #[arg(last = true)]
    pub words: Vec<String>,
}

/// Commands that work outside a repository.
pub fn needs_no_repo(command: &super::Command) -> bool {
    use super::Command::*;
    matches!(
        command,
        Man(_) | Completions(_) | ManViewer(_) | Complete(_) | Turn(_)
    )
}

pub fn man(json: bool, args: ManArgs) -> Result<()> {
    let Some(dir) = args.install else {
        return output::text(&manual::page_for(&args.command)?);
    };
    let root = if dir.as_os_str().is_empty() {
        manual::default_root().ok_or_else(|| {
            Error::usage("cannot tell where the git-comm binary lives")
                .with_hint("name a directory: git comm man --install ~/.local/share/man")
        })?
    } else {
        dir
    };
    let written = manual::install(&root)?;
    if json {
        return output::json(&serde_json::json!({ "written": written }));
    }
    let dir = written[0].parent().expect("pages live in a directory");
    outln!("wrote {} pages to {}", written.len(), dir.display())
}

/// Git's fallback man viewer (`man.git-comm.cmd`): a page man has is shown by man; a
/// git-comm page man lacks (no man, no page) is shown as the long help.
pub fn man_viewer(args: ManViewerArgs) -> Result<()> {
    if man_has_page(&args.page) {
        return exec_man(&args.page);
    }
    match manual::help_for_page(&args.page) {
        Some(help) => output::text(&help),
        None => exec_man(&args.page),
    }
}

fn man_has_page(page: &str) -> bool {
    std::process::Command::new("man")
        .args(["-w", page])
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .status()
        .is_ok_and(|s| s.success())
}

fn exec_man(page: &str) -> Result<()> {
    let status = std::process::Command::new("man")
        .arg(page)
        .status()
        .map_err(|e| Error::usage(format!("cannot run man: {e}")))?;
    if status.success() {
        Ok(())
    } else {
        Err(Error::usage(format!("man {page} failed ({status})")))
    }
}

pub fn completions(args: CompletionsArgs) -> Result<()> {
    let text = match args.shell {
        ShellName::Bash => bash_script(),
        other => generated(shell(other), "git-comm"),
    };
    output::text(&text)
}

fn generated(shell: Shell, bin_name: &str) -> String {
    let mut script = Vec::new();
    // The derive's bin name is `git comm` (for usage lines); scripts complete a program.
    let mut cmd = Cli::command().bin_name(bin_name);
    clap_complete::generate(shell, &mut cmd, bin_name, &mut script);
    String::from_utf8_lossy(&script).into_owned()
}

/// clap's bash script (its own registration dropped) plus the dynamic layer and git's hook.
/// It is generated for a dashless name: clap_complete's bash generator names subcommand
/// branches inconsistently when the program name has a dash.
fn bash_script() -> String {
    let script = generated(Shell::Bash, "gitcomm");
    let registration = script
        .find("\nif [[ \"${BASH_VERSINFO[0]}\"")
        .unwrap_or(script.len());
    let mut text = without_hidden_commands(&script[..registration]);
    text.push_str(BASH_DYNAMIC);
    text
}

/// clap_complete offers hidden commands too; the top-level word list should not.
fn without_hidden_commands(script: &str) -> String {
    let mut out = String::with_capacity(script.len());
    for line in script.split_inclusive('\n') {
        if line.trim_start().starts_with("opts=\"-h -V --as") {
            let mut line = line.to_string();
            for hidden in ["hook", "__man", "__complete"] {
                line = line.replace(&format!(" {hidden} "), " ");
            }
            out.push_str(&line);
        } else {
            out.push_str(line);
        }
    }
    out
}

fn shell(name: ShellName) -> Shell {
    match name {
        ShellName::Bash => Shell::Bash,
        ShellName::Zsh => Shell::Zsh,
        ShellName::Fish => Shell::Fish,
        ShellName::Powershell => Shell::PowerShell,
        ShellName::Elvish => Shell::Elvish,
    }
}

/// Dynamic values first (the binary says whether the word is one: exit 0 with the
/// candidates), else clap's static completion. `_git_comm` is what git's own bash
/// completion calls for `git comm <TAB>`: it re-bases the words on `git-comm`.
const BASH_DYNAMIC: &str = r#"
_git_comm_complete() {
    local cur="${COMP_WORDS[COMP_CWORD]}" values
    if values=$(git-comm __complete --cword "$COMP_CWORD" -- "${COMP_WORDS[@]}" 2>/dev/null); then
        local IFS=$'\n'
        # readline replaces only what follows the `=` of `--to=x` (a word break), as git's
        # own completion assumes too.
        [[ "$cur" == -*=* ]] && cur="${cur#*=}"
        [[ "$cur" == "=" ]] && cur=""
        COMPREPLY=($(compgen -W "$values" -- "$cur"))
        return 0
    fi
    _gitcomm "$@"
}

_git_comm() {
    local COMP_WORDS=(git-comm "${words[@]:__git_cmd_idx+1}")
    local COMP_CWORD=$((cword - __git_cmd_idx))
    local COMP_LINE="${COMP_WORDS[*]}"
    local COMP_POINT=${#COMP_LINE}
    _git_comm_complete git-comm "${COMP_WORDS[COMP_CWORD]}" "${COMP_WORDS[COMP_CWORD-1]}"
}

if [[ "${BASH_VERSINFO[0]}" -eq 4 && "${BASH_VERSINFO[1]}" -ge 4 || "${BASH_VERSINFO[0]}" -gt 4 ]]; then
    complete -F _git_comm_complete -o nosort -o bashdefault -o default git-comm
else
    complete -F _git_comm_complete -o bashdefault -o default git-comm
fi
"#;

/// What a completed word can be, when only the repository knows the values.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Kind {
    Agent,
    Lease,
    Artifact,
    Task,
}

pub fn complete(ctx: Option<&Ctx>, args: CompleteArgs) -> Result<()> {
    let Some(kind) = kind_at(&args.words, args.cword) else {
        return Err(Error::blocked("not a value only the repository knows"));
    };
    let values = ctx.map(|ctx| candidates(ctx, kind)).unwrap_or_default();
    for value in values {
        outln!("{value}")?;
    }
    Ok(())
}

fn candidates(ctx: &Ctx, kind: Kind) -> Vec<String> {
    let repo = &ctx.repo;
    let values = match kind {
        Kind::Agent => crate::agent::known_agents(repo, &ctx.config),
        Kind::Lease => crate::lease::ledger::live_leases(repo)
            .map(|leases| leases.into_iter().map(|l| l.id).collect()),
        Kind::Artifact => crate::artifact::list(repo)
            .map(|versions| versions.into_iter().map(|v| v.meta.key).collect()),
        Kind::Task => crate::task::ledger::all(repo).map(|tasks| {
            tasks
                .into_iter()
                .filter(|t| !t.is_terminal())
                .map(|t| t.id)
                .collect()
        }),
    };
    values.unwrap_or_default()
}

/// Which dynamic kind the word at `cword` is, judged from the clap definitions: the value
/// of an option, or a positional argument of the command the words name.
fn kind_at(words: &[String], cword: usize) -> Option<Kind> {
    let root = {
        let mut cmd = Cli::command();
        cmd.build();
        cmd
    };
    let mut cmd = &root;
    let mut path: Vec<String> = Vec::new();
    let mut positional = 0;
    let mut index = 1;
    while index < cword {
        let word = &words[index];
        index += 1;
        if word == "--" {
            continue;
        }
        if let Some(arg) = option_taking_value(cmd, &root, word) {
            if !word.contains('=') {
                // Its value, after a lone `=` where bash split `--to=x` into three words.
                if words.get(index).is_some_and(|w| w == "=") {
                    index += 1;
                }
                index += 1;
                if index > cword {
                    return kind_of(&path, arg.get_id().as_str());
                }
            }
            continue;
        }
        if word.starts_with('-') {
            continue;
        }
        if positional == 0 {
            if let Some(sub) = cmd.find_subcommand(word) {
                cmd = sub;
                path.push(sub.get_name().to_string());
                continue;
            }
        }
        positional += 1;
    }
    let current = words.get(cword).map(String::as_str).unwrap_or("");
    if let Some((flag, _)) = current.split_once('=') {
        let arg = option_taking_value(cmd, &root, flag)?;
        return kind_of(&path, arg.get_id().as_str());
    }
    if current.starts_with('-') {
        return None;
    }
    let arg = nth_positional(cmd, positional)?;
    kind_of(&path, arg.get_id().as_str())
}

/// The option `word` names (`--to`, `--to=x`, `-m`) if it takes a value; global options
/// are looked up on the top command too.
fn option_taking_value<'a>(
    cmd: &'a clap::Command,
    root: &'a clap::Command,
    word: &str,
) -> Option<&'a clap::Arg> {
    let name = word.split_once('=').map_or(word, |(name, _)| name);
    let matches = |arg: &&clap::Arg| {
        let long = name
            .strip_prefix("--")
            .is_some_and(|l| arg.get_long() == Some(l));
        let short =
            name.len() == 2 && name.starts_with('-') && arg.get_short() == name.chars().nth(1);
        (long || short) && arg.get_action().takes_values()
    };
    cmd.get_arguments()
        .find(matches)
        .or_else(|| root.get_arguments().find(matches))
}

fn nth_positional(cmd: &clap::Command, n: usize) -> Option<&clap::Arg> {
    let positionals: Vec<&clap::Arg> = cmd.get_positionals().collect();
    positionals.get(n).copied().or_else(|| {
        // A last positional taking many values takes every later word too.
        positionals
            .last()
            .copied()
            .filter(|a| a.get_num_args().is_some_and(|n| n.max_values() > 1))
    })
}

fn kind_of(path: &[String], arg: &str) -> Option<Kind> {
    let path: Vec<&str> = path.iter().map(String::as_str).collect();
    match (path.as_slice(), arg) {
        (_, "as_agent" | "to" | "cc" | "from") => Some(Kind::Agent),
        (["prime"] | ["task", "reassign"], "agent") => Some(Kind::Agent),
        (["renew"] | ["release"], "ids") => Some(Kind::Lease),
        (_, "artifact" | "needs") => Some(Kind::Artifact),
        (["task", "add"], "after") => Some(Kind::Task),
        (["task", _], "id") => Some(Kind::Task),
        (_, "task") => Some(Kind::Task),
        _ => None,
    }
}

/// The commands of this file, run before (or without) opening a repository.
pub fn run_outside_repo(cli: Cli) -> Result<()> {
    let json = cli.json || cli.format == Some(super::Format::Json);
    let ctx = matches!(cli.command, super::Command::Complete(_))
        .then(|| Ctx::open(&cli).ok())
        .flatten();
    match cli.command {
        super::Command::Man(args) => man(json, args),
        super::Command::Completions(args) => completions(args),
        super::Command::ManViewer(args) => man_viewer(args),
        super::Command::Complete(args) => complete(ctx.as_ref(), args),
        super::Command::Turn(args) => turn(cli.as_agent.as_deref(), args),
        _ => unreachable!("needs_no_repo admits only these"),
    }
}

#[derive(Debug, Clone, Copy, ValueEnum)]
pub enum TargetName {
    ClaudeCode,
    Codex,
    Cursor,
    Gemini,
    Generic,
}

#[derive(Debug, Args)]
pub struct SetupArgs {
    /// The agent harness: claude-code, codex, cursor, gemini or generic (AGENTS.md).
    #[arg(value_enum)]
    pub target: TargetName,
    /// Show what --write would change (the default).
    #[arg(long, group = "action")]
    pub print: bool,
    /// Write the instruction block (and the per-turn hook where the harness has hooks).
    #[arg(long, group = "action")]
    pub write: bool,
    /// Take out what --write added; the rest of each file stays as it was.
    #[arg(long, group = "action")]
    pub remove: bool,
}

#[derive(Debug, Args)]
pub struct TurnArgs {
    /// The harness whose hook output format to use: gemini.
    pub harness: String,
}

fn target(name: TargetName) -> setup::Target {
    match name {
        TargetName::ClaudeCode => setup::Target::ClaudeCode,
        TargetName::Codex => setup::Target::Codex,
        TargetName::Cursor => setup::Target::Cursor,
        TargetName::Gemini => setup::Target::Gemini,
        TargetName::Generic => setup::Target::Generic,
    }
}

pub fn setup_harness(ctx: &Ctx, args: SetupArgs) -> Result<()> {
    let target = target(args.target);
    let root = ctx.repo.workdir().ok_or_else(|| {
        Error::usage("this repository has no work tree").with_hint("run setup in a clone")
    })?;
    // Only an explicit --as makes the block one agent's contract: the file may be shared.
    let block = setup::instructions(&ctx.repo, &ctx.config, ctx.as_agent.as_deref())?;
    let (action, changes) = if args.remove {
        ("remove", setup::plan_remove(root, target)?)
    } else {
        let action = if args.write { "write" } else { "print" };
        (action, setup::plan_write(root, target, &block)?)
    };
    if action != "print" {
        setup::apply(&changes)?;
    }
    if ctx.json() {
        return output::json(&serde_json::json!({
            "target": target,
            "action": action,
            "files": changes,
            "block": block,
            "hook": target.hook().map(|(file, event, command)| {
                serde_json::json!({"file": file, "event": event, "command": command})
            }),
        }));
    }
    print_setup(root, target, action, &changes, &block)
}

fn print_setup(
    root: &std::path::Path,
    target: setup::Target,
    action: &str,
    changes: &[setup::FileChange],
    block: &str,
) -> Result<()> {
    for change in changes {
        let path = change.path.strip_prefix(root).unwrap_or(&change.path);
        let outcome = match (action, change.outcome) {
            ("print", "created") => "would be created",
            ("print", "updated") => "would be updated",
            ("print", "removed") => "would be removed",
            (_, outcome) => outcome,
        };
        outln!("{}: {outcome}", path.display())?;
    }
    if action != "print" {
        return Ok(());
    }
    outln!("\n{}:", target.instructions_file())?;
    output::text(block)?;
    match target.hook() {
        Some((file, event, command)) => outln!("\n{file}: hooks.{event} runs `{command}`"),
        None => outln!(
            "\n{}: no per-turn hook (the harness has none that adds context)",
            target.name()
        ),
    }
}

/// The per-turn hook for harnesses that want JSON: the compact inbox (halts included) as
/// added context. Always exit 0: a failing hook would block the user's prompt.
pub fn turn(as_agent: Option<&str>, args: TurnArgs) -> Result<()> {
    let context = inbox_for_turn(as_agent);
    let value = match args.harness.as_str() {
        "gemini" => serde_json::json!({
            "hookSpecificOutput": {"hookEventName": "BeforeAgent", "additionalContext": context}
        }),
        _ => serde_json::json!({ "additionalContext": context }),
    };
    output::json(&value)
}

fn inbox_for_turn(as_agent: Option<&str>) -> String {
    let Ok(exe) = std::env::current_exe() else {
        return "git comm: cannot locate the git-comm binary".to_string();
    };
    let mut cmd = std::process::Command::new(exe);
    if let Some(agent) = as_agent {
        cmd.args(["--as", agent]);
    }
    cmd.args(["inbox", "--format", "compact", "--budget", "300"])
        .stdin(std::process::Stdio::null());
    match cmd.output() {
        // The halt line (stderr) first, then the mail.
        Ok(out) => format!(
            "{}{}",
            String::from_utf8_lossy(&out.stderr),
            String::from_utf8_lossy(&out.stdout)
        ),
        Err(e) => format!("git comm: cannot run inbox: {e}"),
    }
}
