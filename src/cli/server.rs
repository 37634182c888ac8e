//! `server install|uninstall|status BARE_REPO`, and the `pre-receive` check its hook runs.

use std::path::PathBuf;

use clap::{Args, Subcommand};
use serde_json::json;

use super::output::{self, outln};
use crate::error::{Error, Result};
use crate::repo::Repo;
use crate::server;

#[derive(Debug, Args)]
pub struct ServerArgs {
    #[command(subcommand)]
    pub action: ServerAction,
}

#[derive(Debug, Subcommand)]
pub enum ServerAction {
    /// Install the pre-receive guard into a bare repository (an existing hook is chained).
    ///
    /// The guard applies `.comm-node/config.yaml` and the allowed signers it names as the
    /// repository's default branch (HEAD) holds them before each push: with
    /// `identity.signed: required` there, every namespace commit and artifact tag a push adds
    /// must be signed by a key listed for its author.
    Install {
        /// The shared bare repository agents push to.
        repo: PathBuf,
        /// Vet the commits pushed to this branch (name or glob; repeat for more).
        #[arg(long, value_name = "BRANCH")]
        protect: Vec<String>,
    },
    /// Remove the guard and restore the hook it replaced.
    Uninstall { repo: PathBuf },
    /// Show whether the guard is installed and which branches it protects.
    Status { repo: PathBuf },
}

fn open(path: &std::path::Path) -> Result<Repo> {
    if !path.exists() {
        return Err(Error::usage(format!("{} does not exist", path.display()))
            .with_hint("give the path of the shared bare repository (e.g. /srv/git/project.git)"));
    }
    Repo::discover(path)
}

pub fn server(args: ServerArgs, json: bool) -> Result<()> {
    let (verb, repo, states) = match args.action {
        ServerAction::Install { repo, protect } => {
            let bin = std::env::current_exe()
                .and_then(|p| p.canonicalize())
                .map_err(|e| Error::git(format!("cannot locate the git-comm binary: {e}")))?;
            let repo = open(&repo)?;
            let states = server::install(&repo, &bin, &protect)?;
            ("installed", repo, states)
        }
        ServerAction::Uninstall { repo } => {
            let repo = open(&repo)?;
            let states = server::uninstall(&repo)?;
            ("uninstalled", repo, states)
        }
        ServerAction::Status { repo } => {
            let repo = open(&repo)?;
            let states = server::status(&repo)?;
            ("status", repo, states)
        }
    };
    // Re-read: install and uninstall changed the repository's config on disk.
    let repo = Repo::discover(repo.git_dir())?;
    let protected = server::protected_branches(&repo);
    let state = &states[0];
    if json {
        return output::json(&json!({
            "repo": repo.git_dir(), "hook": state, "protected": protected,
        }));
    }
    let how = if state.installed {
        match &state.chained {
            Some(c) => format!("installed (chains {})", c.display()),
            None => "installed".to_string(),
        }
    } else {
        "not installed".to_string()
    };
    if verb != "status" {
        outln!("{verb} in {}", repo.git_dir().display())?;
    }
    outln!("pre-receive  {how}")?;
    if protected.is_empty() {
        outln!("protected branches: none (namespace refs are still checked)")
    } else {
        outln!("protected branches: {}", protected.join(" "))
    }
}

/// What the installed hook runs: read the updates, judge the push, explain every refusal.
pub fn pre_receive() -> Result<()> {
    let mut repo = Repo::discover(&std::env::current_dir()?)?;
    let updates = server::parse_updates(std::io::stdin().lock())?;
    match server::head_config(&repo) {
        Ok(Some(config)) => repo.set_policy(config.policy()),
        Ok(None) => {}
        // A broken config on the default branch must not lock out the push that fixes it:
        // branches still pass (protected ones judged as without a config); the namespace,
        // whose rules the config sets, waits for the fix.
        Err(e)
            if updates
                .iter()
                .all(|u| !u.name.starts_with(repo.namespace())) =>
        {
            output::notice(&format!(
                "git-comm: the default branch's config does not load ({}); \
                 namespace pushes are refused until it is fixed\n",
                e.message
            ));
        }
        Err(e) => return Err(e),
    }
    let _quarantine = repo.see_quarantine()?;
    let rejections = server::check_push(&repo, &updates)?;
    if rejections.is_empty() {
        return Ok(());
    }
    let mut text = format!(
        "git-comm: push refused ({} problem{}):\n",
        rejections.len(),
        if rejections.len() == 1 { "" } else { "s" }
    );
    for r in &rejections {
        text.push_str(&format!(
            "  {}: {}\n    fix: {}\n",
            r.ref_name, r.reason, r.fix
        ));
    }
    output::notice(&text);
    Err(Error::blocked("push refused by the git-comm server guard")
        .with_hint("nothing was updated: fix what is listed above and push again"))
}
