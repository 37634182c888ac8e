//! `hooks install|uninstall|status`, and the hidden `hook NAME` the shims call.

use clap::{Args, Subcommand};

use super::output::{self, outln};
use super::Ctx;
use crate::error::{Error, Result};
use crate::hooks::{self, HookState};

#[derive(Debug, Args)]
pub struct HooksArgs {
    #[command(subcommand)]
    pub action: HooksAction,
}

#[derive(Debug, Subcommand)]
pub enum HooksAction {
    /// Write pre-commit, post-commit and pre-push shims (existing hooks are chained).
    Install,
    /// Remove the shims and restore the hooks they replaced.
    Uninstall,
    /// Show which shims are installed and where.
    Status,
}

#[derive(Debug, Args)]
pub struct HookArgs {
    /// pre-commit, post-commit or pre-push.
    pub name: String,
    /// Arguments git passed to the hook.
    #[arg(trailing_var_arg = true, allow_hyphen_values = true)]
    pub args: Vec<String>,
}

pub fn hooks(ctx: &Ctx, args: HooksArgs) -> Result<()> {
    let (verb, states) = match args.action {
        HooksAction::Install => {
            let bin = std::env::current_exe()
                .and_then(|p| p.canonicalize())
                .map_err(|e| Error::git(format!("cannot locate the git-comm binary: {e}")))?;
            ("installed", hooks::install(&ctx.repo, &bin)?)
        }
        HooksAction::Uninstall => ("uninstalled", hooks::uninstall(&ctx.repo)?),
        HooksAction::Status => ("status", hooks::status(&ctx.repo)),
    };
    if ctx.json() {
        return output::json(&serde_json::json!({
            "dir": hooks::hooks_dir(&ctx.repo),
            "hooks": states,
        }));
    }
    if verb != "status" {
        outln!("{verb} in {}", hooks::hooks_dir(&ctx.repo).display())?;
    }
    if verb == "installed" && relative_hooks_path(ctx) {
        // git resolves a relative core.hooksPath in each worktree's own top directory.
        outln!("note: core.hooksPath is relative: other worktrees need their own install")?;
    }
    for state in &states {
        outln!("{}", describe(state))?;
    }
    Ok(())
}

fn relative_hooks_path(ctx: &Ctx) -> bool {
    ctx.repo
        .config_string("core.hooksPath")
        .is_some_and(|p| !p.starts_with('/') && !p.starts_with("~/"))
}

fn describe(state: &HookState) -> String {
    let mut line = format!("{:<12}", state.hook);
    if state.installed {
        line.push_str("installed");
        if state.direct {
            line.push_str(" (runs git-comm directly)");
        }
        if state.program {
            line.push_str(" (a small program: no shell, git-comm only on a bypass)");
        }
        if let Some(chained) = &state.chained {
            line.push_str(&format!(", chains {}", chained.display()));
        }
        if let Some(bin) = &state.recorded_bin {
            if !state.recorded_bin_exists {
                line.push_str(&format!(", recorded binary {bin} is missing"));
            }
        }
    } else if state.foreign {
        line.push_str("not installed (another hook is there; install chains it)");
    } else {
        line.push_str("not installed");
    }
    line
}

pub fn hook(ctx: &Ctx, args: HookArgs) -> Result<()> {
    let flag = ctx.as_agent.as_deref();
    match args.name.as_str() {
        "pre-commit" => hooks::pre_commit(&ctx.repo, &ctx.config, flag),
        "post-commit" => hooks::post_commit(&ctx.repo, &ctx.config, flag),
        "pre-push" => {
            let stdin = std::io::stdin();
            let remote = args.args.first().map(String::as_str);
            hooks::pre_push(&ctx.repo, &ctx.config, flag, remote, stdin.lock())
        }
        other => Err(Error::usage(format!("unknown hook '{other}'"))
            .with_hint("git comm hook pre-commit|post-commit|pre-push")),
    }
}
