//! `git comm check` (boundary rules on the worktree, paths, or the staged index) and
//! `git comm graph` (the domain dependency graph).

use std::path::PathBuf;

use clap::Args;

use super::format::{short, Format};
use super::output;
use super::Ctx;
use crate::boundary::{self, graph::Graph, CheckOptions};
use crate::config::Config;
use crate::error::{Error, Result};

#[derive(Debug, Args)]
pub struct CheckArgs {
    /// Files or directories to check (default: the whole repository).
    pub paths: Vec<PathBuf>,
    /// Check staged content (the index), not the worktree: what a commit would contain.
    #[arg(long)]
    pub staged: bool,
    /// With --staged: check every staged file, not only those changed against HEAD.
    #[arg(long, requires = "staged")]
    pub all: bool,
    /// Also fail on imports that cannot be resolved statically.
    #[arg(long)]
    pub strict: bool,
    /// Vet the commits of BASE..BRANCH as the hooks would have: imports of changed files,
    /// each commit's agent's domain scope, leases as the ledger's history held them then.
    /// Each side takes git's revision syntax (HEAD~1..HEAD, main@{1}..main, @^..@).
    #[arg(long, value_name = "BASE..BRANCH", conflicts_with_all = ["staged", "paths", "strict"])]
    pub range: Option<String>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum GraphFormat {
    Dot,
    Mermaid,
    Json,
}

#[derive(Debug, Args)]
pub struct GraphArgs {
    /// Graph output: dot (Graphviz), mermaid, or json. Default: dot. Chains breaking an
    /// indirect rule (`forbidden_imports: [{path: GLOB, indirect: true}]`) are dashed edges.
    #[arg(long = "graph-format", value_enum, value_name = "FORMAT")]
    pub graph_format: Option<GraphFormat>,
}

pub fn check(ctx: &Ctx, args: CheckArgs) -> Result<()> {
    if let Some(range) = &args.range {
        return check_range(ctx, range);
    }
    let config = if args.staged {
        staged_config(ctx)?
    } else {
        ctx.config.clone()
    };
    let options = CheckOptions {
        staged: args.staged,
        all_staged: args.all,
        paths: repo_paths(ctx, &args.paths)?,
        tree: None,
        staged_changes: None,
    };
    let report = boundary::check(&ctx.repo, &config, &options)?;
    output::notice(&report.skipped_notices());
    match ctx.format {
        Format::Json => output::json(&report)?,
        Format::Human | Format::Compact => output::text(&report.human())?,
    }
    if report.passes(args.strict) {
        return Ok(());
    }
    let what = if report.findings.is_empty() {
        format!("{} unresolved imports (--strict)", report.unresolved.len())
    } else {
        let n = report.findings.len();
        format!("{n} boundary violation{}", if n == 1 { "" } else { "s" })
    };
    Err(Error::blocked(what)
        .with_hint("fix the imports listed above, or change the rules in .comm-node/config.yaml"))
}

fn check_range(ctx: &Ctx, range: &str) -> Result<()> {
    let report = crate::hooks::range::check_range(&ctx.repo, &ctx.config, range)?;
    match ctx.format {
        Format::Json => output::json(&report)?,
        Format::Compact => {
            let lines: String = report
                .findings
                .iter()
                .map(|f| {
                    format!(
                        "{} {} [{}] {}: {}\n",
                        short(&f.commit),
                        f.file,
                        f.rule,
                        f.author,
                        f.message
                    )
                })
                .collect();
            output::text(&lines)?
        }
        Format::Human => {
            let mut text = String::new();
            let mut last = None;
            for f in &report.findings {
                if last != Some(f.commit) {
                    text.push_str(&format!(
                        "{} {} ({})\n",
                        short(&f.commit),
                        f.subject,
                        f.author
                    ));
                    last = Some(f.commit);
                }
                text.push_str(&format!("  {} [{}] {}\n", f.file, f.rule, f.message));
            }
            let n = report.findings.len();
            text.push_str(&format!(
                "{n} finding{} in {} commit{} of {range}\n",
                if n == 1 { "" } else { "s" },
                report.commits,
                if report.commits == 1 { "" } else { "s" }
            ));
            output::text(&text)?
        }
    }
    if report.findings.is_empty() {
        return Ok(());
    }
    Err(
        Error::blocked(format!("{} finding(s) in {range}", report.findings.len())).with_hint(
            "fix them on the branch (new commits, or rewrite the offending ones) before merging",
        ),
    )
}

pub fn graph(ctx: &Ctx, args: GraphArgs) -> Result<()> {
    let report = boundary::check(&ctx.repo, &ctx.config, &CheckOptions::default())?;
    let graph = Graph::build(&ctx.config, &report);
    let format = match (args.graph_format, ctx.format) {
        (Some(f), _) => f,
        (None, Format::Json) => GraphFormat::Json,
        (None, _) => GraphFormat::Dot,
    };
    match format {
        GraphFormat::Dot => output::text(&graph.dot()),
        GraphFormat::Mermaid => output::text(&graph.mermaid()),
        GraphFormat::Json => output::json(&graph),
    }
}

fn staged_config(ctx: &Ctx) -> Result<Config> {
    boundary::staged_config(&ctx.repo, &ctx.config)
}

/// Command-line paths (relative to the current directory) as repo-relative prefixes.
fn repo_paths(ctx: &Ctx, paths: &[PathBuf]) -> Result<Vec<String>> {
    let Some(root) = ctx.repo.workdir() else {
        return Ok(Vec::new());
    };
    let root = root.canonicalize()?;
    let cwd = std::env::current_dir()?;
    paths
        .iter()
        .map(|p| {
            let absolute = cwd.join(p);
            let absolute = absolute.canonicalize().map_err(|_| {
                Error::usage(format!("no such path: {}", p.display()))
                    .with_hint("pass files or directories inside the repository")
            })?;
            let rel = absolute
                .strip_prefix(&root)
                .map_err(|_| Error::usage(format!("{} is outside the repository", p.display())))?;
            Ok(rel.to_string_lossy().replace('\\', "/"))
        })
        .collect()
}

/// Rewrite `graph --format dot|mermaid` (and `--format=dot`) to `--graph-format`.
pub fn graph_format_args(args: Vec<std::ffi::OsString>) -> Vec<std::ffi::OsString> {
    let is_graph = args.iter().skip(1).any(|a| a == "graph");
    if !is_graph {
        return args;
    }
    let graph_only = |v: &str| v == "dot" || v == "mermaid";
    let mut out = Vec::with_capacity(args.len());
    let mut i = 0;
    while i < args.len() {
        let arg = args[i].to_string_lossy().into_owned();
        let next = args.get(i + 1).map(|a| a.to_string_lossy().into_owned());
        if arg == "--format" && next.as_deref().is_some_and(graph_only) {
            out.push("--graph-format".into());
            out.push(args[i + 1].clone());
            i += 2;
            continue;
        }
        if let Some(value) = arg.strip_prefix("--format=").filter(|v| graph_only(v)) {
            out.push(format!("--graph-format={value}").into());
        } else {
            out.push(args[i].clone());
        }
        i += 1;
    }
    out
}
