//! `report`: the swarm's history as one self-contained HTML page (inline CSS and SVG, one
//! small inline script, a Content-Security-Policy that forbids any network request). It
//! holds a timeline per agent (events and lease spans), message volume and estimated tokens
//! per agent over time, per-agent statistics, the task board and graph, and the lease map.
//! Large histories are summarised, not dumped: the timeline plots the newest
//! [`TIMELINE_EVENTS`] events, the board lists [`BOARD_CARDS`] tasks per state, the graph
//! draws the [`GRAPH_NODES`] most relevant tasks; the charts and statistics count everything.

use std::collections::BTreeMap;
use std::fmt::Write;

use crate::agent::Card;
use crate::config::Config;
use crate::display::{ago, iso_time};
use crate::error::Result;
use crate::halt::Halt;
use crate::lease::Lease;
use crate::mail::{mailbox, Message};
use crate::repo::Repo;
use crate::task::Task;

use super::board::TASK_COLUMNS;
use super::events::{self, Event};
use super::stats::{self, AgentStats, Inputs, LeaseSpan};

/// Newest events plotted on the timeline and listed per agent.
pub const TIMELINE_EVENTS: usize = 2_000;
/// Task cards shown per board column.
pub const BOARD_CARDS: usize = 40;
/// Tasks drawn in the graph.
pub const GRAPH_NODES: usize = 120;
/// Commits read from each ledger and from the branches for the timeline.
const LOG_LIMIT: usize = 5_000;
/// Bars in the volume charts.
const BUCKETS: i64 = 36;

/// Everything the page shows, gathered once.
pub struct Report {
    pub title: String,
    pub generated: i64,
    pub agents: Vec<Card>,
    pub stats: Vec<AgentStats>,
    /// Newest first, at most [`TIMELINE_EVENTS`].
    pub events: Vec<Event>,
    pub message_count: usize,
    pub spans: Vec<LeaseSpan>,
    pub live: Vec<Lease>,
    pub tasks: Vec<Task>,
    /// Per bucket start: per agent (messages, tokens).
    pub volume: Volume,
    pub bucket_secs: i64,
    pub halt: Option<Halt>,
}

/// Read the whole history of the repository's coordination state.
pub fn gather(repo: &Repo, config: &Config, title: &str) -> Result<Report> {
    let agents = crate::agent::roster(repo, config)?;
    let names: Vec<String> = agents.iter().map(|c| c.name.clone()).collect();
    let messages = mailbox::all(repo)?;
    let spans = stats::lease_spans(repo)?;
    let tasks = crate::task::ledger::all(repo)?;
    let inputs = Inputs {
        messages: &messages,
        spans: &spans,
        tasks: &tasks,
        since: i64::MIN,
    };
    let stats = agents
        .iter()
        .map(|c| inputs.of(c, stats::burn(repo, &c.name, None)))
        .collect();
    let newest: Vec<Message> = messages.iter().take(TIMELINE_EVENTS).cloned().collect();
    let mut timeline = events::collect(repo, &newest, &names, LOG_LIMIT)?;
    timeline.truncate(TIMELINE_EVENTS);
    let now = crate::clock::now_secs();
    let (volume, bucket_secs) = volume(&messages, now);
    Ok(Report {
        title: title.to_string(),
        generated: now,
        agents,
        stats,
        events: timeline,
        message_count: messages.len(),
        spans,
        live: crate::lease::ledger::live_leases(repo)?,
        tasks,
        volume,
        bucket_secs,
        halt: crate::halt::in_force(repo)?,
    })
}

type Volume = Vec<(i64, BTreeMap<String, (u64, u64)>)>;

/// Messages and tokens per sender in [`BUCKETS`] equal slices from the first message to now.
fn volume(messages: &[Message], now: i64) -> (Volume, i64) {
    let Some(first) = messages.iter().map(|m| m.time).min() else {
        return (Vec::new(), 60);
    };
    let bucket_secs = ((now - first + 1) / BUCKETS + 1).max(60);
    let mut buckets: Volume = (0..BUCKETS)
        .map(|i| (first + i * bucket_secs, BTreeMap::new()))
        .collect();
    for m in messages {
        let i = ((m.time - first) / bucket_secs).clamp(0, BUCKETS - 1) as usize;
        let cell = buckets[i].1.entry(m.from.clone()).or_default();
        cell.0 += 1;
        cell.1 += m.tokens();
    }
    (buckets, bucket_secs)
}

const PALETTE: [&str; 10] = [
    "#4e79a7", "#f28e2b", "#59a14f", "#e15759", "#76b7b2", "#b07aa1", "#edc948", "#9c755f",
    "#ff9da7", "#6b6ecf",
];

fn colour(index: usize) -> &'static str {
    PALETTE[index % PALETTE.len()]
}

fn kind_colour(kind: &str) -> &'static str {
    match kind {
        "grant" | "renew" => "#59a14f",
        "release" | "expire" | "withdraw" | "drop" => "#9c9c9c",
        "break" | "violation" => "#e15759",
        "halt" | "retire" => "#b30000",
        "publish" => "#b07aa1",
        "task" => "#f28e2b",
        "commit" => "#333333",
        "ack" => "#76b7b2",
        _ => "#4e79a7",
    }
}

fn esc(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            _ => out.push(c),
        }
    }
    out
}

fn clip(text: &str, max: usize) -> String {
    if text.chars().count() <= max {
        return text.to_string();
    }
    let mut out: String = text.chars().take(max.saturating_sub(1)).collect();
    out.push('…');
    out
}

const STYLE: &str = "\
*{box-sizing:border-box}body{font:14px/1.4 system-ui,sans-serif;margin:0 auto;max-width:1240px;\
padding:16px;color:#222;overflow-wrap:anywhere}h1{font-size:20px;margin:0 0 4px}h2{font-size:16px;\
margin:24px 0 8px;border-bottom:1px solid #ddd}table{border-collapse:collapse;width:100%;\
table-layout:fixed}td,th{border-bottom:1px solid #eee;padding:3px 6px;text-align:left;\
vertical-align:top}th{background:#f6f6f6}svg{width:100%;height:auto;display:block}\
.halt{background:#b30000;color:#fff;padding:8px;font-weight:bold}.muted{color:#777}\
.board{display:grid;grid-template-columns:repeat(6,minmax(0,1fr));gap:8px}\
.col{background:#f6f6f6;padding:6px;border-radius:4px;min-width:0}.card{background:#fff;\
border:1px solid #ddd;border-radius:3px;padding:4px;margin:4px 0;font-size:12px}\
.legend span{display:inline-block;margin-right:12px}.sw{display:inline-block;width:10px;\
height:10px;margin-right:4px}details{margin:4px 0}code{font-size:12px}";

const CHECK_SCRIPT: &str = "\
window.addEventListener('error',function(e){document.body.dataset.errors=(document.body.dataset.errors||'')+e.message+';'});\
window.addEventListener('load',function(){var d=document.documentElement;\
document.body.dataset.overflow=String(d.scrollWidth>d.clientWidth);document.body.dataset.loaded='1';});";

/// The page.
pub fn render(r: &Report) -> String {
    let mut html = String::with_capacity(256 * 1024);
    let _ = write!(
        html,
        "<!DOCTYPE html><html lang=\"en\"><head><meta charset=\"utf-8\">\
<meta http-equiv=\"Content-Security-Policy\" content=\"default-src 'none'; style-src 'unsafe-inline'; script-src 'unsafe-inline'\">\
<meta name=\"viewport\" content=\"width=device-width,initial-scale=1\">\
<title>{}</title><style>{STYLE}</style><script>{CHECK_SCRIPT}</script></head><body>",
        esc(&r.title)
    );
    header(&mut html, r);
    timeline(&mut html, r);
    charts(&mut html, r);
    stats_table(&mut html, r);
    board(&mut html, r);
    graph(&mut html, r);
    lease_map(&mut html, r);
    agent_details(&mut html, r);
    html.push_str("</body></html>\n");
    html
}

fn header(html: &mut String, r: &Report) {
    let _ = write!(
        html,
        "<h1>{}</h1><div class=\"muted\">generated {} · {} agents · {} messages · {} tasks · {} live leases</div>",
        esc(&r.title),
        iso_time(r.generated),
        r.agents.len(),
        r.message_count,
        r.tasks.len(),
        r.live.len()
    );
    if let Some(h) = &r.halt {
        let scope = h
            .domain
            .as_deref()
            .map_or("all agents".to_string(), |d| format!("domain {d}"));
        let _ = write!(
            html,
            "<p class=\"halt\">HALTED ({}) by {} since {}: {}</p>",
            esc(&scope),
            esc(&h.by),
            iso_time(h.since),
            esc(&h.reason)
        );
    }
}

fn agent_index(r: &Report, name: &str) -> Option<usize> {
    r.agents.iter().position(|a| a.name == name)
}

/// Everyone who sent mail: the agents, then senders without a card (the operator).
fn senders(r: &Report) -> Vec<String> {
    let mut names: Vec<String> = r.agents.iter().map(|a| a.name.clone()).collect();
    for (_, cells) in &r.volume {
        for name in cells.keys() {
            if !names.contains(name) {
                names.push(name.clone());
            }
        }
    }
    names
}

fn legend(html: &mut String, senders: &[String]) {
    html.push_str("<div class=\"legend\">");
    for (i, name) in senders.iter().enumerate() {
        let _ = write!(
            html,
            "<span><i class=\"sw\" style=\"background:{}\"></i>{}</span>",
            colour(i),
            esc(name)
        );
    }
    html.push_str("</div>");
}

/// One lane per agent: lease spans as bars, events as ticks coloured by kind.
fn timeline(html: &mut String, r: &Report) {
    html.push_str("<h2>Timeline per agent</h2>");
    let Some(t1) = r.events.iter().map(|e| e.time).max() else {
        html.push_str("<p class=\"muted\">no events yet</p>");
        return;
    };
    let t0 = r.events.iter().map(|e| e.time).min().unwrap_or(t1);
    let (left, width, lane) = (120.0, 860.0, 26.0);
    let span = ((t1 - t0).max(1)) as f64;
    let x = |t: i64| left + width * ((t.clamp(t0, t1) - t0) as f64 / span);
    let height = lane * r.agents.len().max(1) as f64 + 24.0;
    let _ = write!(
        html,
        "<svg viewBox=\"0 0 1000 {height}\" role=\"img\" aria-label=\"timeline\">"
    );
    for (i, a) in r.agents.iter().enumerate() {
        let y = lane * i as f64;
        let _ = write!(
            html,
            "<text x=\"4\" y=\"{}\" font-size=\"12\">{}</text><line x1=\"{left}\" x2=\"{}\" y1=\"{}\" y2=\"{}\" stroke=\"#eee\"/>",
            y + 16.0,
            esc(&clip(&a.name, 16)),
            left + width,
            y + 12.0,
            y + 12.0
        );
    }
    for s in r.spans.iter().filter(|s| s.end >= t0) {
        if let Some(i) = agent_index(r, &s.holder) {
            let (a, b) = (x(s.start), x(s.end));
            let _ = write!(
                html,
                "<rect x=\"{a:.1}\" y=\"{:.1}\" width=\"{:.1}\" height=\"6\" fill=\"{}\" opacity=\"0.35\"><title>lease {} {}–{}</title></rect>",
                lane * i as f64 + 15.0,
                (b - a).max(1.0),
                colour(i),
                esc(&s.id),
                iso_time(s.start),
                iso_time(s.end)
            );
        }
    }
    for e in &r.events {
        if let Some(i) = agent_index(r, &e.agent) {
            let _ = write!(
                html,
                "<rect x=\"{:.1}\" y=\"{:.1}\" width=\"2\" height=\"10\" fill=\"{}\"><title>{} {} {}</title></rect>",
                x(e.time),
                lane * i as f64 + 4.0,
                kind_colour(&e.kind),
                iso_time(e.time),
                esc(&e.kind),
                esc(&clip(&e.text, 120))
            );
        }
    }
    let _ = write!(
        html,
        "<text x=\"{left}\" y=\"{}\" font-size=\"11\" fill=\"#777\">{}</text><text x=\"{}\" y=\"{}\" font-size=\"11\" fill=\"#777\" text-anchor=\"end\">{}</text></svg>",
        height - 4.0,
        iso_time(t0),
        left + width,
        height - 4.0,
        iso_time(t1)
    );
    html.push_str("<div class=\"legend muted\">");
    for kind in [
        "message",
        "ack",
        "publish",
        "grant",
        "release",
        "break",
        "violation",
        "halt",
        "task",
        "commit",
    ] {
        let _ = write!(
            html,
            "<span><i class=\"sw\" style=\"background:{}\"></i>{kind}</span>",
            kind_colour(kind)
        );
    }
    html.push_str("<span>bars: leases held</span></div>");
}

/// Stacked bars of messages and of estimated tokens per sender over time.
fn charts(html: &mut String, r: &Report) {
    html.push_str("<h2>Message volume and estimated tokens per agent</h2>");
    if r.volume.is_empty() {
        html.push_str("<p class=\"muted\">no messages yet</p>");
        return;
    }
    let senders = senders(r);
    legend(html, &senders);
    stacked_bars(html, r, &senders, "messages", |cell| cell.0);
    stacked_bars(html, r, &senders, "estimated tokens", |cell| cell.1);
}

fn stacked_bars(
    html: &mut String,
    r: &Report,
    senders: &[String],
    label: &str,
    value: impl Fn(&(u64, u64)) -> u64,
) {
    let total = |b: &BTreeMap<String, (u64, u64)>| b.values().map(&value).sum::<u64>();
    let max = r
        .volume
        .iter()
        .map(|(_, b)| total(b))
        .max()
        .unwrap_or(0)
        .max(1) as f64;
    let (left, width, height) = (110.0, 880.0, 90.0);
    let bar = width / r.volume.len() as f64;
    let _ = write!(
        html,
        "<svg viewBox=\"0 0 1000 {}\" role=\"img\" aria-label=\"{label}\"><text x=\"0\" y=\"12\" font-size=\"11\">{label}</text><text x=\"0\" y=\"28\" font-size=\"11\" fill=\"#777\">max {}</text>",
        height + 20.0,
        max as u64
    );
    for (k, (start, cells)) in r.volume.iter().enumerate() {
        let mut y = height;
        for (name, cell) in cells {
            let v = value(cell) as f64;
            let h = height * v / max;
            y -= h;
            let i = senders
                .iter()
                .position(|s| s == name)
                .unwrap_or(senders.len());
            let _ = write!(
                html,
                "<rect x=\"{:.1}\" y=\"{y:.1}\" width=\"{:.1}\" height=\"{h:.1}\" fill=\"{}\"><title>{} {}: {} {label}</title></rect>",
                left + bar * k as f64,
                (bar - 1.0).max(1.0),
                colour(i),
                iso_time(*start),
                esc(name),
                v as u64
            );
        }
    }
    let _ = write!(
        html,
        "<text x=\"{left}\" y=\"{}\" font-size=\"11\" fill=\"#777\">{}</text><text x=\"990\" y=\"{}\" font-size=\"11\" fill=\"#777\" text-anchor=\"end\">bars of {}</text></svg>",
        height + 16.0,
        r.volume.first().map(|(t, _)| iso_time(*t)).unwrap_or_default(),
        height + 16.0,
        duration(r.bucket_secs)
    );
}

fn duration(secs: i64) -> String {
    match secs {
        s if s >= 86_400 => format!("{:.1} d", s as f64 / 86_400.0),
        s if s >= 3_600 => format!("{:.1} h", s as f64 / 3_600.0),
        s if s >= 60 => format!("{} min", s / 60),
        s => format!("{s} s"),
    }
}

fn stats_table(html: &mut String, r: &Report) {
    html.push_str("<h2>Per agent</h2><table><tr><th>agent</th><th>sent</th><th>received</th><th>tokens sent</th><th>tokens read (mail + other output)</th><th>leases</th><th>lease time</th><th>violations</th><th>tasks done</th></tr>");
    for s in &r.stats {
        let card = r.agents.iter().find(|a| a.name == s.name);
        let seen = card
            .filter(|a| a.last_seen > 0)
            .map_or("never".to_string(), |a| ago(a.last_seen, r.generated));
        let retired = card
            .and_then(|a| a.retired.as_ref())
            .map_or(String::new(), |t| {
                format!(" <span class=\"muted\">retired: {}</span>", esc(&t.reason))
            });
        let _ = write!(
            html,
            "<tr><td>{}{retired} <span class=\"muted\">seen {seen}</span></td><td>{}</td><td>{}</td><td>{}</td><td>{} + {}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td></tr>",
            esc(&s.name),
            s.messages_sent,
            s.messages_received,
            s.tokens_sent,
            s.tokens_read,
            s.tokens_other,
            s.leases,
            duration(s.lease_seconds),
            s.violations,
            s.tasks_done
        );
    }
    html.push_str("</table>");
}

fn board(html: &mut String, r: &Report) {
    html.push_str("<h2>Task board</h2>");
    if r.tasks.is_empty() {
        html.push_str("<p class=\"muted\">no tasks</p>");
        return;
    }
    html.push_str("<div class=\"board\">");
    for state in TASK_COLUMNS {
        let mut tasks: Vec<&Task> = r.tasks.iter().filter(|t| t.state == state).collect();
        tasks.sort_by_key(|t| std::cmp::Reverse(t.updated));
        let _ = write!(html, "<div class=\"col\"><b>{state}</b> ({})", tasks.len());
        for t in tasks.iter().take(BOARD_CARDS) {
            let _ =
                write!(
                html,
                "<div class=\"card\"><code>{}</code> {}<br><span class=\"muted\">{}{}</span></div>",
                esc(&t.id),
                esc(&clip(&t.title, 80)),
                esc(t.assignee.as_deref().unwrap_or("unassigned")),
                t.domain.as_deref().map(|d| format!(" · {}", esc(d))).unwrap_or_default()
            );
        }
        if tasks.len() > BOARD_CARDS {
            let _ = write!(
                html,
                "<div class=\"muted\">and {} more</div>",
                tasks.len() - BOARD_CARDS
            );
        }
        html.push_str("</div>");
    }
    html.push_str("</div>");
}

/// The tasks worth drawing: unfinished ones first, then the latest finished, plus what
/// they come after.
fn graph_tasks(tasks: &[Task]) -> Vec<&Task> {
    let mut chosen: Vec<&Task> = tasks.iter().filter(|t| !t.is_terminal()).collect();
    let mut finished: Vec<&Task> = tasks.iter().filter(|t| t.is_terminal()).collect();
    finished.sort_by_key(|t| std::cmp::Reverse(t.updated));
    chosen.sort_by_key(|t| std::cmp::Reverse(t.updated));
    chosen.truncate(GRAPH_NODES);
    let room = GRAPH_NODES - chosen.len();
    chosen.extend(finished.into_iter().take(room));
    chosen
}

/// Depth of each task: 0 without drawn predecessors, else one more than the deepest.
fn depths(nodes: &[&Task]) -> BTreeMap<String, usize> {
    let mut depth: BTreeMap<String, usize> = nodes.iter().map(|t| (t.id.clone(), 0)).collect();
    for _ in 0..nodes.len() {
        let mut changed = false;
        for t in nodes {
            let d = t
                .after
                .iter()
                .filter_map(|a| depth.get(a).map(|d| d + 1))
                .max()
                .unwrap_or(0);
            if d > depth[&t.id] && d < nodes.len() {
                depth.insert(t.id.clone(), d);
                changed = true;
            }
        }
        if !changed {
            break;
        }
    }
    depth
}

fn state_fill(state: &str) -> &'static str {
    match state {
        "done" => "#d9f0d3",
        "failed" => "#f8d0d0",
        "blocked" => "#fde2c0",
        "claimed" | "in_progress" => "#d6e4f5",
        _ => "#ffffff",
    }
}

fn graph(html: &mut String, r: &Report) {
    html.push_str("<h2>Task graph</h2>");
    let nodes = graph_tasks(&r.tasks);
    if nodes.is_empty() {
        html.push_str("<p class=\"muted\">no tasks</p>");
        return;
    }
    let depth = depths(&nodes);
    let columns = depth.values().max().copied().unwrap_or(0) + 1;
    let col_width = (1000.0 / columns as f64).min(250.0);
    let mut rows: Vec<usize> = vec![0; columns];
    let mut place: BTreeMap<&str, (f64, f64)> = BTreeMap::new();
    for t in &nodes {
        let c = depth[&t.id];
        place.insert(
            &t.id,
            (c as f64 * col_width + 4.0, rows[c] as f64 * 34.0 + 4.0),
        );
        rows[c] += 1;
    }
    let height = rows.iter().max().copied().unwrap_or(1) as f64 * 34.0 + 8.0;
    let _ = write!(
        html,
        "<svg viewBox=\"0 0 1000 {height}\" role=\"img\" aria-label=\"task graph\">"
    );
    let box_width = col_width - 24.0;
    for t in &nodes {
        let (x2, y2) = place[t.id.as_str()];
        for a in &t.after {
            if let Some((x1, y1)) = place.get(a.as_str()) {
                let _ = write!(
                    html,
                    "<line x1=\"{:.1}\" y1=\"{:.1}\" x2=\"{x2:.1}\" y2=\"{:.1}\" stroke=\"#999\"/>",
                    x1 + box_width,
                    y1 + 13.0,
                    y2 + 13.0
                );
            }
        }
    }
    let chars = ((box_width / 6.5) as usize).max(8);
    for t in &nodes {
        let (x, y) = place[t.id.as_str()];
        let _ = write!(
            html,
            "<rect x=\"{x:.1}\" y=\"{y:.1}\" width=\"{box_width:.1}\" height=\"26\" rx=\"3\" fill=\"{}\" stroke=\"#888\"><title>{} {} ({}{})</title></rect><text x=\"{:.1}\" y=\"{:.1}\" font-size=\"11\">{}</text>",
            state_fill(&t.state),
            esc(&t.id),
            esc(&t.title),
            esc(&t.state),
            t.assignee.as_deref().map(|a| format!(", {}", esc(a))).unwrap_or_default(),
            x + 4.0,
            y + 17.0,
            esc(&clip(&format!("{} {}", t.id, t.title), chars))
        );
    }
    html.push_str("</svg>");
    if r.tasks.len() > nodes.len() {
        let _ = write!(
            html,
            "<p class=\"muted\">{} of {} tasks drawn (unfinished first, then the latest finished)</p>",
            nodes.len(),
            r.tasks.len()
        );
    }
}

fn lease_map(html: &mut String, r: &Report) {
    html.push_str("<h2>Lease map</h2>");
    if r.live.is_empty() {
        html.push_str("<p class=\"muted\">no live leases</p>");
        return;
    }
    html.push_str("<table><tr><th>resources</th><th>holder</th><th>mode</th><th>expires</th><th>reason / task</th></tr>");
    let mut live: Vec<&Lease> = r.live.iter().collect();
    live.sort_by(|a, b| a.holder.cmp(&b.holder).then(a.expires.cmp(&b.expires)));
    for l in live {
        let why = l.task.clone().or(l.reason.clone()).unwrap_or_default();
        let _ = write!(
            html,
            "<tr><td><code>{}</code></td><td>{}</td><td>{}</td><td>{} ({})</td><td>{}</td></tr>",
            esc(&l.resources.join(" ")),
            esc(&l.holder),
            if l.exclusive { "exclusive" } else { "shared" },
            iso_time(l.expires),
            esc(&in_or_ago(l.expires, r.generated)),
            esc(&why)
        );
    }
    html.push_str("</table>");
}

fn in_or_ago(when: i64, now: i64) -> String {
    if when >= now {
        format!("in {}", duration(when - now))
    } else {
        ago(when, now)
    }
}

/// The latest events of each agent as text, folded.
fn agent_details(html: &mut String, r: &Report) {
    html.push_str("<h2>Latest events per agent</h2>");
    for a in &r.agents {
        let mine: Vec<&Event> = r
            .events
            .iter()
            .filter(|e| e.agent == a.name)
            .take(30)
            .collect();
        let _ = write!(
            html,
            "<details><summary>{} ({} shown)</summary><table>",
            esc(&a.name),
            mine.len()
        );
        for e in mine {
            let _ = write!(
                html,
                "<tr><td style=\"width:170px\">{}</td><td style=\"width:80px\">{}</td><td>{}</td></tr>",
                iso_time(e.time),
                esc(&e.kind),
                esc(&clip(&e.text, 200))
            );
        }
        html.push_str("</table></details>");
    }
}
