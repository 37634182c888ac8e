fn main() {
    let cli = git_comm::cli::parse_args();
    let json = cli.json || cli.format == Some(git_comm::cli::Format::Json);
    if let Err(err) = git_comm::cli::run(cli) {
        if json {
            let value = serde_json::json!({
                "error": err.message,
                "hint": err.hint,
                "kind": err.kind_name(),
            });
            eprintln!("{value}");
        } else {
            eprintln!("error: {err}");
        }
        std::process::exit(err.exit_code());
    }
}
