//! Colour for people only: on a terminal (here forced with CLICOLOR_FORCE, the convention
//! for "colour even though this is not a terminal"), never in compact or JSON output, never
//! with NO_COLOR or CLICOLOR=0, never when piped by default.

mod common;

use std::process::{Command, Output};

use common::{stderr, stdout, TestRepo, BIN};

const ESC: &str = "\x1b[";

fn run(t: &TestRepo, env: &[(&str, &str)], args: &[&str]) -> Output {
    let mut cmd = Command::new(BIN);
    cmd.args(args)
        .current_dir(t.path())
        .env_remove("GIT_COMM_AGENT")
        .env_remove("NO_COLOR")
        .env_remove("CLICOLOR")
        .env_remove("CLICOLOR_FORCE");
    for (k, v) in env {
        cmd.env(k, v);
    }
    cmd.output().unwrap()
}

fn repo_with_mail() -> TestRepo {
    let t = TestRepo::new();
    t.ok_as("alice", &["join"]);
    t.ok_as("bob", &["join"]);
    t.ok_as("alice", &["send", "bob", "-s", "hello", "-m", "body"]);
    t
}

#[test]
fn human_output_is_coloured_only_when_asked_for_a_terminal() {
    let t = repo_with_mail();
    let force = [("CLICOLOR_FORCE", "1")];
    let peek = ["--as", "bob", "inbox", "--peek"];
    let coloured = stdout(&run(&t, &force, &peek));
    assert!(
        coloured.contains(&format!("{ESC}36malice{ESC}0m")),
        "{coloured:?}"
    );
    assert!(
        coloured.contains(&format!("{ESC}33m")),
        "the id is coloured: {coloured:?}"
    );
    assert!(stdout(&run(&t, &force, &["who"])).contains(&format!("{ESC}36mbob{ESC}0m")));
    // Piped by default: plain.
    assert!(!stdout(&run(&t, &[], &peek)).contains(ESC));
    // NO_COLOR and CLICOLOR=0 win over the force.
    for off in [("NO_COLOR", "1"), ("CLICOLOR", "0")] {
        let plain = stdout(&run(&t, &[force[0], off], &peek));
        assert!(!plain.contains(ESC), "{off:?}: {plain:?}");
    }
    // Never in compact or JSON output.
    for format in ["compact", "json"] {
        let out = stdout(&run(
            &t,
            &force,
            &["--as", "bob", "--format", format, "inbox", "--peek"],
        ));
        assert!(!out.contains(ESC), "{format}: {out:?}");
        assert!(out.contains("hello"), "{format}: {out:?}");
    }
}

#[test]
fn errors_are_labelled_in_colour_on_a_terminal_only() {
    let t = repo_with_mail();
    let forced = run(
        &t,
        &[("CLICOLOR_FORCE", "1")],
        &["--as", "bob", "show", "zzzz"],
    );
    assert_eq!(forced.status.code(), Some(2));
    assert!(
        stderr(&forced).starts_with(&format!("{ESC}1;31merror:{ESC}0m ")),
        "{:?}",
        stderr(&forced)
    );
    let plain = run(&t, &[], &["--as", "bob", "show", "zzzz"]);
    assert!(
        stderr(&plain).starts_with("error: "),
        "{:?}",
        stderr(&plain)
    );
    let json = run(
        &t,
        &[("CLICOLOR_FORCE", "1")],
        &["--json", "--as", "bob", "show", "zzzz"],
    );
    assert!(!stderr(&json).contains(ESC), "{:?}", stderr(&json));
}
