//! Subtle colour for people reading a terminal: message ids, agent names, warnings and
//! errors. Never in compact or JSON output, never when the stream is not a terminal, and
//! off with `NO_COLOR` (any value) or `CLICOLOR=0`; `CLICOLOR_FORCE=1` turns it on for a
//! stream that is not a terminal (e.g. `less -R`).

use std::io::IsTerminal;
use std::sync::OnceLock;

const RESET: &str = "\x1b[0m";
const YELLOW: &str = "\x1b[33m";
const CYAN: &str = "\x1b[36m";
const BOLD_YELLOW: &str = "\x1b[1;33m";
const BOLD_RED: &str = "\x1b[1;31m";

/// Whether a stream that `is_terminal` gets colour, by the environment's conventions.
fn wanted(is_terminal: bool) -> bool {
    let set = |name: &str| std::env::var_os(name).is_some_and(|v| !v.is_empty());
    if set("NO_COLOR") {
        return false;
    }
    if std::env::var("CLICOLOR").is_ok_and(|v| v == "0") {
        return false;
    }
    if std::env::var("CLICOLOR_FORCE").is_ok_and(|v| !v.is_empty() && v != "0") {
        return true;
    }
    is_terminal
}

fn stdout_on() -> bool {
    static ON: OnceLock<bool> = OnceLock::new();
    *ON.get_or_init(|| wanted(std::io::stdout().is_terminal()))
}

fn stderr_on() -> bool {
    static ON: OnceLock<bool> = OnceLock::new();
    *ON.get_or_init(|| wanted(std::io::stderr().is_terminal()))
}

fn paint(on: bool, code: &str, text: &str) -> String {
    if on {
        format!("{code}{text}{RESET}")
    } else {
        text.to_string()
    }
}

/// A message or lease id on stdout.
pub fn id(text: &str) -> String {
    paint(stdout_on(), YELLOW, text)
}

/// An agent name on stdout.
pub fn agent(text: &str) -> String {
    paint(stdout_on(), CYAN, text)
}

/// The `warning:` label on stderr.
pub fn warning_label() -> String {
    paint(stderr_on(), BOLD_YELLOW, "warning:")
}

/// The `error:` label on stderr.
pub fn error_label() -> String {
    paint(stderr_on(), BOLD_RED, "error:")
}

/// A halt notice on stderr.
pub fn alarm(text: &str) -> String {
    paint(stderr_on(), BOLD_RED, text)
}
