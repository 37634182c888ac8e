//! `git comm --help` is rewritten by git into `git help comm`, which opens the man page
//! `git-comm(1)`. We render that page from the clap definitions and place it where man
//! finds it for the installed binary (`<prefix>/bin/git-comm` -> `<prefix>/share/man/man1`).

use std::path::PathBuf;

use clap::CommandFactory;

use super::Cli;

/// The whole manual: top-level help followed by every command's help.
pub fn render() -> String {
    let mut cmd = Cli::command();
    let mut text = cmd.render_long_help().to_string();
    for sub in cmd.get_subcommands_mut() {
        if sub.is_hide_set() || sub.get_name() == "help" {
            continue;
        }
        let name = sub.get_name().to_string();
        text.push_str(&format!("\n\ngit comm {name}\n"));
        text.push_str(&sub.render_long_help().to_string());
    }
    format!(
        ".TH GIT-COMM 1\n.SH NAME\ngit-comm \\- coordinate coding agents through git\n.SH DESCRIPTION\n.nf\n{}\n.fi\n",
        escape(&text)
    )
}

fn escape(text: &str) -> String {
    text.lines()
        .map(|line| {
            let line = line.replace('\\', "\\\\");
            if line.starts_with('.') || line.starts_with('\'') {
                format!("\\&{line}")
            } else {
                line
            }
        })
        .collect::<Vec<_>>()
        .join("\n")
}

/// Where man looks for the page of the running binary.
pub fn install_path() -> Option<PathBuf> {
    let exe = std::env::current_exe().ok()?;
    let prefix = exe.parent()?.parent()?;
    Some(prefix.join("share/man/man1/git-comm.1"))
}

/// Write the man page next to the binary's prefix; best effort (returns where, if written).
pub fn install() -> Option<PathBuf> {
    let path = install_path()?;
    let page = render();
    if std::fs::read_to_string(&path).ok().as_deref() == Some(page.as_str()) {
        return Some(path);
    }
    std::fs::create_dir_all(path.parent()?).ok()?;
    std::fs::write(&path, page).ok()?;
    Some(path)
}
