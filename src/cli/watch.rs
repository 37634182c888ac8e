//! `watch`: the live view (ratatui over crossterm: plain ANSI, so it works in tmux and over
//! ssh). When stdout is not a terminal, or with `--once`, one plain snapshot is printed
//! instead: the same four sections as text.

use std::io::IsTerminal;
use std::time::{Duration, Instant};

use clap::Args;
use ratatui::crossterm::event::{self, Event, KeyCode, KeyEventKind, KeyModifiers};
use ratatui::layout::{Constraint, Layout};
use ratatui::style::{Color, Modifier, Style};
use ratatui::text::Line;
use ratatui::widgets::{Block, Paragraph};
use ratatui::Frame;
use serde_json::json;

use super::format::{ago, iso_time};
use super::output;
use super::Ctx;
use crate::error::{Error, Result};
use crate::oversight::board::{self, Board, TASK_COLUMNS};
use crate::sync::poller::{self, Poller};
use crate::sync::{self, Remote};

#[derive(Debug, Args)]
pub struct WatchArgs {
    /// Seconds between refreshes of the screen. The remote is polled by the repository's
    /// shared poller (every comm.pollInterval, default 1s), as waits do.
    #[arg(long, default_value_t = 3, value_name = "SECS", value_parser = clap::value_parser!(u64).range(1..=3600))]
    pub interval: u64,
    /// Do not sync with the remote; show this clone's state only.
    #[arg(long)]
    pub local: bool,
    /// Print one plain snapshot and exit (what happens anyway when stdout is not a terminal).
    #[arg(long)]
    pub once: bool,
}

/// Events listed in a snapshot and in the live view.
const EVENTS: usize = 15;
/// Tasks listed per state.
const TASKS_PER_STATE: usize = 5;

pub fn watch(ctx: &Ctx, args: WatchArgs) -> Result<()> {
    let remote = sync::wait::remote_for_wait(&ctx.repo, args.local);
    if args.once || ctx.json() || !std::io::stdout().is_terminal() {
        let sync_error = remote
            .as_ref()
            .and_then(|r| sync::sync(&ctx.repo, r, &sync::Options::for_config(&ctx.config)).err())
            .map(|e| e.message);
        let board = board::read(&ctx.repo, &ctx.config, EVENTS)?;
        return snapshot(ctx, &board, remote.as_ref(), sync_error);
    }
    live(ctx, &args, remote)
}

fn snapshot(
    ctx: &Ctx,
    b: &Board,
    remote: Option<&Remote>,
    sync_error: Option<String>,
) -> Result<()> {
    if ctx.json() {
        return output::json(&board_json(b, remote, sync_error));
    }
    let mut text = format!("{}\n", header(b, remote, sync_error.as_deref()));
    for (title, lines) in sections(b) {
        text.push_str(&format!("{title}\n"));
        for line in lines {
            text.push_str(&format!("  {line}\n"));
        }
    }
    output::text(&text)
}

fn board_json(b: &Board, remote: Option<&Remote>, sync_error: Option<String>) -> serde_json::Value {
    json!({
        "time": iso_time(b.now),
        "remote": remote.map(|r| r.name.clone()),
        "sync_error": sync_error,
        "halt": b.halt,
        "agents": b.agents.iter().map(|a| json!({
            "name": a.standing.card.name,
            "domain": a.standing.card.domain,
            "state": a.standing.presence.as_ref().and_then(|p| p.state.clone()),
            "task": a.standing.presence.as_ref().and_then(|p| p.task.clone()),
            "note": a.standing.presence.as_ref().and_then(|p| p.note.clone()),
            "last_seen": (a.standing.card.last_seen > 0).then(|| iso_time(a.standing.card.last_seen)),
            "stale": a.standing.stale,
            "retired": a.standing.card.retired.is_some(),
            "unread": a.unread.count,
            "unread_more": a.unread.more,
            "leases": a.leases,
        })).collect::<Vec<_>>(),
        "tasks": TASK_COLUMNS.iter().map(|s| (s.to_string(), b.tasks_in(s).len())).collect::<std::collections::BTreeMap<_, _>>(),
        "leases": b.leases.iter().map(|l| super::lease::lease_json(l, b.now)).collect::<Vec<_>>(),
        "events": b.events,
    })
}

fn header(b: &Board, remote: Option<&Remote>, sync_error: Option<&str>) -> String {
    let mut line = format!("git comm watch  {}", super::format::local_time(b.now));
    match (remote, sync_error) {
        (Some(r), None) => line.push_str(&format!("  synced with {}", r.name)),
        (Some(r), Some(e)) => line.push_str(&format!("  sync with {} failed: {e}", r.name)),
        (None, _) => line.push_str("  local only"),
    }
    if let Some(h) = &b.halt {
        let scope = h
            .domain
            .as_deref()
            .map_or("all agents".to_string(), |d| format!("domain {d}"));
        line.push_str(&format!("  HALTED ({scope}) by {}: {}", h.by, h.reason));
    }
    line
}

/// The four sections, as (title, lines).
fn sections(b: &Board) -> Vec<(String, Vec<String>)> {
    vec![
        (format!("AGENTS ({})", b.agents.len()), agent_lines(b)),
        (format!("TASKS ({})", b.tasks.len()), task_lines(b)),
        (format!("LEASES ({})", b.leases.len()), lease_lines(b)),
        ("EVENTS (latest)".to_string(), event_lines(b)),
    ]
}

fn agent_lines(b: &Board) -> Vec<String> {
    if b.agents.is_empty() {
        return vec!["none yet: git comm join NAME".to_string()];
    }
    b.agents
        .iter()
        .map(|a| {
            let s = &a.standing;
            let p = s.presence.clone().unwrap_or_default();
            let seen = if s.card.last_seen > 0 {
                ago(s.card.last_seen, b.now)
            } else {
                "never".to_string()
            };
            let mut line = format!(
                "{} {} seen {seen} unread {} leases {}",
                s.card.name,
                p.state.as_deref().unwrap_or("-"),
                a.unread,
                a.leases
            );
            if let Some(task) = &p.task {
                line.push_str(&format!(" task {task}"));
            }
            if let Some(note) = &p.note {
                line.push_str(&format!(" \"{note}\""));
            }
            if s.card.retired.is_some() {
                line.push_str(" RETIRED");
            }
            if s.stale {
                line.push_str(" STALE");
                if !s.leases_at_risk.is_empty() {
                    line.push_str(&format!(" at risk: {}", s.leases_at_risk.join(" ")));
                }
            }
            line
        })
        .collect()
}

fn task_lines(b: &Board) -> Vec<String> {
    let mut lines = vec![TASK_COLUMNS
        .iter()
        .map(|s| format!("{s} {}", b.tasks_in(s).len()))
        .collect::<Vec<_>>()
        .join("  ")];
    for state in ["in_progress", "claimed", "blocked", "open", "failed"] {
        for t in b.tasks_in(state).into_iter().take(TASKS_PER_STATE) {
            lines.push(format!(
                "{state} {} {} {}",
                t.id,
                t.assignee.as_deref().unwrap_or("-"),
                t.title
            ));
        }
    }
    lines
}

fn lease_lines(b: &Board) -> Vec<String> {
    if b.leases.is_empty() {
        return vec!["none".to_string()];
    }
    b.leases
        .iter()
        .map(|l| super::lease::human_line(l, b.now))
        .collect()
}

fn event_lines(b: &Board) -> Vec<String> {
    if b.events.is_empty() {
        return vec!["none yet".to_string()];
    }
    b.events
        .iter()
        .map(|e| format!("{} {} {}: {}", ago(e.time, b.now), e.kind, e.agent, e.text))
        .collect()
}

/// The live view takes part in the repository's shared poller, like a wait.
fn live(ctx: &Ctx, args: &WatchArgs, remote: Option<Remote>) -> Result<()> {
    let interval = Duration::from_secs(args.interval);
    let poller = remote
        .as_ref()
        .map(|r| Ok::<_, Error>(Poller::start(&ctx.repo, r, poller::interval(&ctx.repo)?)))
        .transpose()?;
    let mut terminal = ratatui::try_init().map_err(|e| {
        Error::usage(format!("cannot open the terminal: {e}"))
            .with_hint("use `git comm watch --once`")
    })?;
    let result = refresh_loop(
        ctx,
        &mut terminal,
        interval,
        remote.as_ref(),
        poller.as_ref(),
    );
    ratatui::restore();
    result
}

fn refresh_loop(
    ctx: &Ctx,
    terminal: &mut ratatui::DefaultTerminal,
    interval: Duration,
    remote: Option<&Remote>,
    poller: Option<&Poller>,
) -> Result<()> {
    loop {
        let board = board::read(&ctx.repo, &ctx.config, EVENTS)?;
        let sync_error = poller.and_then(Poller::last_error);
        let head = header(&board, remote, sync_error.as_deref());
        terminal.draw(|frame| draw(frame, &head, &board))?;
        if quit_requested(interval)? {
            return Ok(());
        }
    }
}

/// Wait up to `interval` for a key; true when it asks to quit (q, Esc, Ctrl-C).
fn quit_requested(interval: Duration) -> Result<bool> {
    let deadline = Instant::now() + interval;
    while let Some(left) = deadline.checked_duration_since(Instant::now()) {
        if !event::poll(left)? {
            break;
        }
        if let Event::Key(key) = event::read()? {
            let ctrl_c =
                key.code == KeyCode::Char('c') && key.modifiers.contains(KeyModifiers::CONTROL);
            if key.kind == KeyEventKind::Press
                && (matches!(key.code, KeyCode::Char('q') | KeyCode::Esc) || ctrl_c)
            {
                return Ok(true);
            }
        }
    }
    Ok(false)
}

fn draw(frame: &mut Frame, head: &str, b: &Board) {
    let [top, body] =
        Layout::vertical([Constraint::Length(1), Constraint::Fill(1)]).areas(frame.area());
    let halted = b.halt.is_some();
    let head_style = if halted {
        Style::new()
            .fg(Color::White)
            .bg(Color::Red)
            .add_modifier(Modifier::BOLD)
    } else {
        Style::new().add_modifier(Modifier::BOLD)
    };
    frame.render_widget(
        Paragraph::new(format!("{head}   (q quits)")).style(head_style),
        top,
    );
    let [upper, lower] =
        Layout::vertical([Constraint::Percentage(50), Constraint::Percentage(50)]).areas(body);
    let [agents, tasks] =
        Layout::horizontal([Constraint::Percentage(55), Constraint::Percentage(45)]).areas(upper);
    let [leases, events] =
        Layout::horizontal([Constraint::Percentage(45), Constraint::Percentage(55)]).areas(lower);
    for ((title, lines), area) in sections(b).into_iter().zip([agents, tasks, leases, events]) {
        let lines: Vec<Line> = lines.into_iter().map(Line::from).collect();
        frame.render_widget(
            Paragraph::new(lines).block(Block::bordered().title(title)),
            area,
        );
    }
}
