//! The command line: argument parsing (clap) and output. One file per command group.

pub mod agent;
pub mod artifact;
pub mod check;
pub mod colour;
pub mod ecosystem;
pub mod format;
pub mod hooks;
pub mod integrity;
pub mod lease;
pub mod mail;
pub mod manual;
#[cfg(feature = "mcp")]
pub mod mcp;
pub mod output;
pub mod oversight;
pub mod server;
pub mod sync;
pub mod task;
pub mod watch;

use clap::{Parser, Subcommand};

use crate::config::Config;
use crate::error::Result;
use crate::repo::Repo;
pub use format::Format;

const ABOUT: &str =
    "Coordinate coding agents through git alone: mail, leases, artifacts, boundaries.";
const AFTER_HELP: &str = "\
Identity: --as NAME, or GIT_COMM_AGENT, or `git config comm.agent NAME`.
Start:    git comm init; git comm join NAME; git comm hooks install; git comm inbox
Agents:   git comm prime (your contract), git comm prime --guide (the agents' guide)
Exit codes: 0 ok (also when the reader of the output goes away, e.g. `| head`),
            1 check failed / blocked / conflict, 2 usage, config or output error.";

#[derive(Debug, Parser)]
#[command(name = "git-comm", bin_name = "git comm", version, about = ABOUT, after_help = AFTER_HELP)]
pub struct Cli {
    /// Act as this agent (overrides GIT_COMM_AGENT and comm.agent).
    #[arg(long = "as", global = true, value_name = "NAME")]
    pub as_agent: Option<String>,
    /// Output JSON (same as --format json).
    #[arg(long, global = true)]
    pub json: bool,
    /// human (default), compact (one line per item, for context windows), json.
    #[arg(long, global = true, value_enum, value_name = "FORMAT")]
    pub format: Option<Format>,
    #[command(subcommand)]
    pub command: Command,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Create .comm-node/config.yaml if missing and print next steps.
    Init(agent::InitArgs),
    /// Register or update an agent card.
    Join(agent::JoinArgs),
    /// List agents with domain and last seen.
    Who,
    /// Show who you are acting as.
    Whoami,
    /// Say what you are doing: busy|idle|blocked|done [--task ID] [--note TEXT].
    State(agent::StateArgs),
    /// Tasks: add, list, show, claim, start, block, unblock, done, fail, reopen, reassign.
    Task(task::TaskArgs),
    /// The best ready task for me (my domain first, then priority, then age).
    Next(task::NextArgs),
    /// Seed agents, tasks and a kickoff message from a YAML plan (idempotent).
    Plan(task::PlanArgs),
    /// Print an agent's contract (role, scope, peers, protocol, ready tasks) for its instructions file.
    Prime(task::PrimeArgs),
    /// Emergency stop: agents' commits are refused until `resume` (optionally one domain).
    Halt(oversight::HaltArgs),
    /// Lift a halt.
    Resume,
    /// Take an agent out: break its leases, reopen its tasks, mark it retired, tell everyone.
    Retire(oversight::RetireArgs),
    /// Live view of agents, tasks, leases and events (a plain snapshot when not a terminal).
    Watch(watch::WatchArgs),
    /// Write the swarm's history as one self-contained HTML page.
    Report(oversight::ReportArgs),
    /// Per agent: messages, estimated tokens sent and read, leases, violations, tasks done.
    ///
    /// Tokens read are split into mail (tokens_read: what inbox, show and thread showed)
    /// and other output (tokens_other: everything else the agent's commands printed, help
    /// included), so the two add up to what the agent read of git comm. Budgets count both.
    Stats(oversight::StatsArgs),
    /// Send a message to agents, @domain, or all.
    Send(mail::SendArgs),
    /// Reply to a message (in its thread).
    Reply(mail::ReplyArgs),
    /// Show one message, with its acks.
    Show(mail::IdArg),
    /// Show the whole thread a message belongs to.
    Thread(mail::IdArg),
    /// Acknowledge a message.
    Ack(mail::AckArgs),
    /// Unread mail for you; reading advances your cursor.
    Inbox(mail::InboxArgs),
    /// Search all mail.
    Search(mail::SearchArgs),
    /// Check imports against the domain boundaries (exit 1 on violations).
    Check(check::CheckArgs),
    /// Domain dependency graph with import counts; violating edges and indirect chains marked.
    Graph(check::GraphArgs),
    /// Publish a file as the next version of artifact DOMAIN/NAME.
    Publish(artifact::PublishArgs),
    /// List artifacts (latest versions).
    Artifacts,
    /// Print or save an artifact version (byte-identical).
    Get(artifact::GetArgs),
    /// Text diff between two versions of an artifact.
    Diff(artifact::DiffArgs),
    /// Wait until an artifact exists or a newer version appears.
    Wait(artifact::WaitArgs),
    /// Fetch, merge and push the shared state through a remote.
    ///
    /// Prints what moved, counted as records, not refs: messages and acks in and out,
    /// leases granted and ended, tasks, every artifact version (api/x@v2 api/x@v3),
    /// cursors and agents; `nothing changed` when nothing did.
    /// Tasks are made to agree with their claim leases (a claim killed midway), printed as
    /// `repaired: ...`.
    Sync(sync::SyncArgs),
    /// Me, my domain, unread, leases, artifacts, agents, last sync and divergence.
    Status,
    /// Check hooks, config, identity, remote, namespace refs, locks, quarantine, clocks, signatures.
    Doctor(sync::DoctorArgs),
    /// Reserve paths or keys (exclusive unless --shared); conflicts exit 1.
    Lease(lease::LeaseArgs),
    /// Extend your leases (default: all of them).
    Renew(lease::RenewArgs),
    /// Give leases back; --force ID --reason TEXT breaks another agent's lease.
    Release(lease::ReleaseArgs),
    /// List live leases.
    Leases(lease::LeasesArgs),
    /// Install, remove or inspect the commit guard hooks.
    Hooks(hooks::HooksArgs),
    /// The guard on the shared remote: install|uninstall|status BARE_REPO [--protect BRANCH].
    Server(server::ServerArgs),
    /// Serve send, inbox, ack, lease, release, publish, get, next, done and status as MCP
    /// tools over stdio (needs a build with the `mcp` cargo feature).
    Mcp,
    /// Run one hook's checks (called by the installed shims).
    #[command(hide = true)]
    Hook(hooks::HookArgs),
    /// Print the man page (of one command), or --install every page.
    Man(ecosystem::ManArgs),
    /// Print a shell completion script: bash, zsh, fish, powershell or elvish.
    Completions(ecosystem::CompletionsArgs),
    /// git's fallback man viewer (set up by init): long help when man has no page.
    #[command(name = "__man", hide = true)]
    ManViewer(ecosystem::ManViewerArgs),
    /// Candidates for dynamic shell completion (agents, leases, artifacts, tasks).
    #[command(name = "__complete", hide = true)]
    Complete(ecosystem::CompleteArgs),
    /// Wire an agent harness to git comm: instruction block, per-turn mail hook.
    Setup(ecosystem::SetupArgs),
    /// The per-turn hook of harnesses that want JSON (setup gemini).
    #[command(name = "__turn", hide = true)]
    Turn(ecosystem::TurnArgs),
}

/// What every command gets: the repository, its config, identity and output format.
pub struct Ctx {
    pub repo: Repo,
    pub config: Config,
    pub as_agent: Option<String>,
    pub format: Format,
}

/// Decoded objects a command keeps in memory (see [`Repo::cache_objects`]).
const OBJECT_CACHE_BYTES: usize = 8 << 20;

impl Ctx {
    pub fn open(cli: &Cli) -> Result<Ctx> {
        let cwd = std::env::current_dir()?;
        let mut repo = Repo::discover(&cwd)?;
        let config = match repo.workdir() {
            Some(root) => Config::load(root)?,
            None => Config::empty(),
        };
        repo.set_policy(config.policy());
        // A hook reads a few objects once each; the commands behind it walk histories.
        if !matches!(cli.command, Command::Hook(_)) {
            repo.cache_objects(OBJECT_CACHE_BYTES);
        }
        let format = if cli.json {
            Format::Json
        } else {
            cli.format.unwrap_or(Format::Human)
        };
        Ok(Ctx {
            repo,
            config,
            as_agent: cli.as_agent.clone(),
            format,
        })
    }

    /// The acting agent (`--as`, `GIT_COMM_AGENT`, `comm.agent`), validated.
    pub fn me(&self) -> Result<String> {
        crate::agent::resolve_identity(&self.repo, self.as_agent.as_deref())
    }

    pub fn json(&self) -> bool {
        self.format == Format::Json
    }

    /// The acting agent when it is known (joined, or bound by the config): the one whose
    /// presence a command refreshes.
    pub fn known_agent(&self) -> Option<String> {
        known_agent(&self.repo, &self.config, self.as_agent.as_deref())
    }
}

/// Parse the command line. `graph --format dot|mermaid` is accepted although the global
/// `--format` only knows human|compact|json: it is passed on as `graph --graph-format`.
pub fn parse_args() -> Cli {
    let args: Vec<std::ffi::OsString> = std::env::args_os().collect();
    if let Some(cli) = hook_invocation(&args) {
        crate::hooks::shim::keep_freed_memory();
        return cli;
    }
    if let Some(cli) = direct_shim_invocation(&args) {
        crate::hooks::shim::keep_freed_memory();
        return cli;
    }
    let args = check::graph_format_args(args);
    let parsed = Cli::try_parse_from(&args);
    // Before clap may exit (`-h`, `-V`, an unknown command, a usage error): those are a new
    // user's first runs, and git's `--help` needs the pages. Hook calls stay fast.
    if !matches!(&parsed, Ok(cli) if matches!(cli.command, Command::Hook(_))) {
        manual::ensure_installed();
    }
    match parsed {
        Ok(cli) => cli,
        Err(err) => exit_on_parse_error(&args, err),
    }
}

/// What clap does with a parse error, except that help (and the version) printed for an
/// agent counts as output it read.
fn exit_on_parse_error(args: &[std::ffi::OsString], err: clap::Error) -> ! {
    use clap::error::ErrorKind;
    if !matches!(
        err.kind(),
        ErrorKind::DisplayHelp | ErrorKind::DisplayVersion
    ) {
        err.exit()
    }
    let printed = err.render().to_string().len() as u64;
    if err.print().is_ok() {
        if let Ok(repo) = Repo::discover(&std::env::current_dir().unwrap_or_default()) {
            let config = repo
                .workdir()
                .and_then(|root| Config::load(root).ok())
                .unwrap_or_else(Config::empty);
            record_output(&repo, &config, as_flag(args).as_deref(), printed);
        }
    }
    std::process::exit(0)
}

/// The value of `--as NAME` / `--as=NAME` among raw arguments.
fn as_flag(args: &[std::ffi::OsString]) -> Option<String> {
    let args: Vec<&str> = args.iter().filter_map(|a| a.to_str()).collect();
    args.iter()
        .enumerate()
        .find_map(|(i, a)| match a.strip_prefix("--as") {
            Some("") => args.get(i + 1).map(|v| v.to_string()),
            Some(rest) => rest.strip_prefix('=').map(str::to_string),
            None => None,
        })
}

/// `git-comm hook NAME ARGS...` as the hook shims call it on every commit, read without
/// building clap's whole command tree (a measurable part of the hook's start). Anything
/// else, a flag among the arguments included, goes through clap.
fn hook_invocation(args: &[std::ffi::OsString]) -> Option<Cli> {
    let [_, hook, name, rest @ ..] = args else {
        return None;
    };
    let name = name.to_str().filter(|n| !n.starts_with('-'))?;
    let rest = rest
        .iter()
        .map(|a| {
            a.to_str()
                .filter(|a| !a.starts_with('-'))
                .map(str::to_string)
        })
        .collect::<Option<Vec<_>>>()?;
    (hook == "hook").then(|| Cli {
        as_agent: None,
        json: false,
        format: None,
        command: Command::Hook(hooks::HookArgs {
            name: name.to_string(),
            args: rest,
        }),
    })
}

/// `git-comm hook-shim <hook path> ARGS...`: the kernel running a direct shim (its `#!`
/// line names this binary). Runs the chained hook and lets a git-comm first on PATH take
/// over, as the `sh` shim does; exits when either decides the outcome.
fn direct_shim_invocation(args: &[std::ffi::OsString]) -> Option<Cli> {
    let [_, arg, hook_path, rest @ ..] = args else {
        return None;
    };
    if arg != crate::hooks::shim::SHIM_ARG {
        return None;
    }
    let name = crate::hooks::shim::hand_over(std::path::Path::new(hook_path), rest)
        .unwrap_or_else(|code| std::process::exit(code));
    Some(Cli {
        as_agent: None,
        json: false,
        format: None,
        command: Command::Hook(hooks::HookArgs {
            name,
            args: rest
                .iter()
                .map(|a| a.to_string_lossy().into_owned())
                .collect(),
        }),
    })
}

pub fn run(cli: Cli) -> Result<()> {
    if ecosystem::needs_no_repo(&cli.command) {
        return ecosystem::run_outside_repo(cli);
    }
    if let Command::Doctor(args) = &cli.command {
        // Before loading the config: doctor reports a broken config instead of failing on it.
        let repo = Repo::discover(&std::env::current_dir()?)?;
        let json = cli.json || cli.format == Some(Format::Json);
        sync::doctor(repo, cli.as_agent.as_deref(), json, args)?;
        let repo = Repo::discover(&std::env::current_dir()?)?;
        let config = repo
            .workdir()
            .and_then(|root| Config::load(root).ok())
            .unwrap_or_else(Config::empty);
        record_output(&repo, &config, cli.as_agent.as_deref(), output::printed());
        return Ok(());
    }
    if let Command::Mcp = cli.command {
        return mcp(cli.as_agent);
    }
    if let Command::Server(args) = cli.command {
        // Works from anywhere: the bare repository is named on the command line.
        let json = cli.json || cli.format == Some(Format::Json);
        return server::server(args, json);
    }
    if matches!(&cli.command, Command::Hook(h) if h.name == crate::server::HOOK) {
        // In the bare repository, before anything reads objects the push has not yet brought.
        return server::pre_receive();
    }
    let ctx = Ctx::open(&cli)?;
    let acts_as_agent = !matches!(cli.command, Command::Hook(_));
    if acts_as_agent && !matches!(cli.command, Command::Halt(_) | Command::Resume) {
        if let Some(line) = oversight::halt_line(&ctx) {
            output::notice(&colour::alarm(&line));
        }
    }
    let result = dispatch(&ctx, cli.command);
    if result.is_ok() && acts_as_agent {
        record_output(
            &ctx.repo,
            &ctx.config,
            ctx.as_agent.as_deref(),
            output::printed(),
        );
    }
    result
}

/// The acting agent, when it is known (it joined, or the config binds it to a domain).
pub fn known_agent(repo: &Repo, config: &Config, as_agent: Option<&str>) -> Option<String> {
    let me = crate::agent::resolve_identity(repo, as_agent).ok()?;
    let joined = crate::agent::read_card(repo, &me).is_ok_and(|c| c.is_some());
    (joined || config.agents.contains_key(&me)).then_some(me)
}

/// Every command acting as a known agent, reads included, marks it present and counts the
/// `printed` bytes it read, less the mail already counted (a blob ref, no commit). Best
/// effort: a read-only repository still answers reads.
fn record_output(repo: &Repo, config: &Config, as_agent: Option<&str>, printed: u64) {
    let Some(me) = known_agent(repo, config, as_agent) else {
        return;
    };
    let tokens = crate::mail::message::estimate_tokens(printed as usize)
        .saturating_sub(crate::presence::mail_counted());
    let _ = crate::presence::add_output(repo, &me, tokens);
}

fn dispatch(ctx: &Ctx, command: Command) -> Result<()> {
    match command {
        Command::Init(args) => agent::init(ctx, args),
        Command::Join(args) => agent::join(ctx, args),
        Command::Who => agent::who(ctx),
        Command::Whoami => agent::whoami(ctx),
        Command::State(args) => agent::state(ctx, args),
        Command::Task(args) => task::task(ctx, args),
        Command::Next(args) => task::next(ctx, args),
        Command::Plan(args) => task::plan(ctx, args),
        Command::Prime(args) => task::prime(ctx, args),
        Command::Halt(args) => oversight::halt(ctx, args),
        Command::Resume => oversight::resume(ctx),
        Command::Retire(args) => oversight::retire(ctx, args),
        Command::Watch(args) => watch::watch(ctx, args),
        Command::Report(args) => oversight::report(ctx, args),
        Command::Stats(args) => oversight::stats(ctx, args),
        Command::Send(args) => mail::send(ctx, args),
        Command::Reply(args) => mail::reply(ctx, args),
        Command::Show(args) => mail::show(ctx, args),
        Command::Thread(args) => mail::thread(ctx, args),
        Command::Ack(args) => mail::ack(ctx, args),
        Command::Inbox(args) => mail::inbox(ctx, args),
        Command::Search(args) => mail::search(ctx, args),
        Command::Check(args) => check::check(ctx, args),
        Command::Graph(args) => check::graph(ctx, args),
        Command::Publish(args) => artifact::publish(ctx, args),
        Command::Artifacts => artifact::list(ctx),
        Command::Get(args) => artifact::get(ctx, args),
        Command::Diff(args) => artifact::diff(ctx, args),
        Command::Wait(args) => artifact::wait(ctx, args),
        Command::Sync(args) => sync::sync(ctx, args),
        Command::Status => sync::status(ctx),
        Command::Doctor(_) => unreachable!("handled before the config is loaded"),
        Command::Server(_) => unreachable!("handled before the repository is opened"),
        Command::Mcp => unreachable!("handled before the repository is opened"),
        Command::Lease(args) => lease::lease(ctx, args),
        Command::Renew(args) => lease::renew(ctx, args),
        Command::Release(args) => lease::release(ctx, args),
        Command::Leases(args) => lease::leases(ctx, args),
        Command::Hooks(args) => hooks::hooks(ctx, args),
        Command::Hook(args) => hooks::hook(ctx, args),
        Command::Setup(args) => ecosystem::setup_harness(ctx, args),
        Command::Man(_)
        | Command::Completions(_)
        | Command::ManViewer(_)
        | Command::Complete(_)
        | Command::Turn(_) => unreachable!("handled before the repository is opened"),
    }
}

#[cfg(feature = "mcp")]
fn mcp(as_agent: Option<String>) -> Result<()> {
    mcp::serve(as_agent)
}

#[cfg(not(feature = "mcp"))]
fn mcp(_as_agent: Option<String>) -> Result<()> {
    Err(
        crate::error::Error::usage("this git-comm was built without MCP support")
            .with_hint("cargo install --path . --features mcp (or cargo build --features mcp)"),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The shims' calls read the same without clap as with it; other calls go to clap.
    #[test]
    fn hook_calls_read_as_clap_reads_them() {
        let os =
            |args: &[&str]| -> Vec<std::ffi::OsString> { args.iter().map(Into::into).collect() };
        for args in [
            &["git-comm", "hook", "pre-commit"][..],
            &[
                "git-comm",
                "hook",
                "pre-push",
                "origin",
                "https://example.com/r.git",
            ][..],
        ] {
            let fast = hook_invocation(&os(args)).expect("a shim call");
            let clap = Cli::parse_from(os(args));
            assert_eq!(format!("{fast:?}"), format!("{clap:?}"), "{args:?}");
        }
        for args in [
            &["git-comm", "hook"][..],
            &["git-comm", "hooks", "status"][..],
            &["git-comm", "hook", "pre-commit", "--as", "bob"][..],
            &["git-comm", "--as", "bob", "hook", "pre-commit"][..],
        ] {
            assert!(hook_invocation(&os(args)).is_none(), "{args:?}");
        }
    }
}
