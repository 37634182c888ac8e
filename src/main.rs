use std::io::Write;

fn main() {
    let _failpoints = git_comm::failpoint::setup();
    let cli = git_comm::cli::parse_args();
    let json = cli.json || cli.format == Some(git_comm::cli::Format::Json);
    if let Err(err) = git_comm::cli::run(cli) {
        // The reader of our output went away (EPIPE, `| head -1`): its choice, not an
        // error. Exit 0 and say nothing.
        if err.is_silent() {
            std::process::exit(err.exit_code());
        }
        // Best effort: if stderr is gone too there is nowhere left to report to.
        let mut stderr = std::io::stderr().lock();
        let _ = if json {
            let value = serde_json::json!({
                "error": err.message,
                "hint": err.hint,
                "kind": err.kind_name(),
            });
            writeln!(stderr, "{value}")
        } else {
            writeln!(stderr, "{} {err}", git_comm::cli::colour::error_label())
        };
        std::process::exit(err.exit_code());
    }
}
