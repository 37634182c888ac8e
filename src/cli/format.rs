//! Formatting shared by all commands: format selection, times, ids, messages. Writing
//! the result is `output`'s job.

use crate::mail::Message;

#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum Format {
    Human,
    Compact,
    Json,
}

pub use crate::display::{ago, iso_time, local_time, short, SHORT_ID};

fn tags(m: &Message) -> String {
    let mut tags = vec![m.kind.clone()];
    if m.priority != crate::mail::Priority::Normal {
        tags.push(m.priority.as_str().to_string());
    }
    if m.ack.as_deref() == Some(crate::mail::ACK_REQUESTED) {
        tags.push("ack?".to_string());
    }
    tags.join(",")
}

fn recipients(m: &Message) -> String {
    let mut all = m.to.join(",");
    if !m.cc.is_empty() {
        all.push_str(&format!(" cc {}", m.cc.join(",")));
    }
    all
}

/// One line: `3f9a2c1d0e 2026-11-21 14:03 alice>bob [question,high] Subject #T-1 re:1a2b3c4d5e`.
pub fn compact_line(m: &Message) -> String {
    let mut line = format!(
        "{} {} {}>{} [{}] {}",
        short(&m.id),
        local_time(m.time),
        m.from,
        recipients(m),
        tags(m),
        m.subject
    );
    if let Some(task) = &m.task {
        line.push_str(&format!(" #{task}"));
    }
    if let Some(parent) = m.reply_to {
        line.push_str(&format!(" re:{}", short(&parent)));
    }
    line
}

/// Header line plus subject and indented body (id and sender in colour on a terminal).
pub fn human_block(m: &Message) -> String {
    let mut out = format!(
        "{}  {} -> {}  {}  [{}]",
        super::colour::id(&short(&m.id)),
        super::colour::agent(&m.from),
        recipients(m),
        local_time(m.time),
        tags(m)
    );
    if let Some(task) = &m.task {
        out.push_str(&format!("  task {task}"));
    }
    if let Some(parent) = m.reply_to {
        out.push_str(&format!("  re {}", short(&parent)));
    }
    out.push_str(&format!("\n  {}\n", m.subject));
    for line in m.body.lines() {
        out.push_str(&format!("  | {line}\n"));
    }
    out
}

pub fn render(m: &Message, format: Format) -> String {
    match format {
        Format::Human => human_block(m),
        Format::Compact | Format::Json => compact_line(m),
    }
}
