//! `send`, `reply`, `show`, `thread`, `ack`, `inbox`, `search`.

use std::io::{IsTerminal, Read};
use std::time::Duration;

use clap::Args;
use serde_json::json;

use super::format::{render, short, Format};
use super::output::{self, outln};
use super::Ctx;
use crate::error::{Error, Result};
use crate::mail::{self, mailbox, Draft, Filter, Message, Priority, Reader, ACK_REQUESTED};
use crate::sync;

#[derive(Debug, Args)]
pub struct BodyArgs {
    /// Message body (markdown); `-m ''` for none.
    #[arg(
        short = 'm',
        long = "message",
        value_name = "BODY",
        conflicts_with = "file"
    )]
    pub message: Option<String>,
    /// Read the body from FILE (`-`: stdin, until it closes). Without -m/-F, a piped body
    /// must start within 300 ms (an open, silent stdin is refused).
    #[arg(short = 'F', long = "file", value_name = "FILE")]
    pub file: Option<String>,
}

#[derive(Debug, Args)]
pub struct SendArgs {
    /// Recipients: agent names, @domain, or all.
    #[arg(required = true, value_name = "TO")]
    pub to: Vec<String>,
    /// One line of at most 1,000 bytes; details go in the body (-m, -F).
    #[arg(short = 's', long = "subject")]
    pub subject: String,
    #[command(flatten)]
    pub body: BodyArgs,
    /// Carbon copy (agents, @domain, all).
    #[arg(long, value_name = "WHO")]
    pub cc: Vec<String>,
    /// question, info, blocked, done, artifact, ... (lowercase word).
    #[arg(long = "type", default_value = "info", value_name = "TYPE")]
    pub kind: String,
    /// low, normal, high or urgent.
    #[arg(long, default_value = "normal")]
    pub priority: String,
    /// Task this message is about.
    #[arg(long, value_name = "ID")]
    pub task: Option<String>,
    /// Ask recipients to acknowledge (they answer with `git comm ack ID`).
    #[arg(long)]
    pub ack: bool,
}

#[derive(Debug, Args)]
pub struct ReplyArgs {
    /// The message to reply to (id or unique prefix).
    pub id: String,
    #[command(flatten)]
    pub body: BodyArgs,
    /// Subject (default: Re: original subject).
    #[arg(short = 's', long = "subject")]
    pub subject: Option<String>,
    /// Reply to the sender and all other recipients.
    #[arg(long)]
    pub all: bool,
    /// Message type (lowercase word).
    #[arg(long = "type", default_value = "info", value_name = "TYPE")]
    pub kind: String,
    /// low, normal, high or urgent.
    #[arg(long, default_value = "normal")]
    pub priority: String,
    /// Ask the recipients to acknowledge this reply (to acknowledge a message: `git comm ack ID`).
    #[arg(long)]
    pub ack: bool,
}

#[derive(Debug, Args)]
pub struct IdArg {
    /// Message id or unique prefix.
    pub id: String,
}

#[derive(Debug, Args)]
pub struct AckArgs {
    /// Message id or unique prefix.
    pub id: String,
    /// Optional note.
    #[arg(short = 'm', long = "message")]
    pub message: Option<String>,
}

#[derive(Debug, Args)]
pub struct InboxArgs {
    /// All mail addressed to you, read or not (does not move the cursor).
    #[arg(long)]
    pub all: bool,
    /// Only mail from this agent (does not move the cursor).
    #[arg(long, value_name = "AGENT")]
    pub from: Option<String>,
    /// Only mail of this type (does not move the cursor).
    #[arg(long = "type", value_name = "TYPE")]
    pub kind: Option<String>,
    /// Only mail of the thread of this message (does not move the cursor).
    #[arg(long, value_name = "ID")]
    pub thread: Option<String>,
    /// Block up to SECONDS until mail arrives. On timeout: exit 1, one line on stderr,
    /// nothing on stdout. All waits in a repository share one poller of comm.remote (else
    /// origin), every comm.pollInterval (default 1s); no daemon.
    #[arg(long, value_name = "SECONDS")]
    pub wait: Option<u64>,
    /// With --wait: only watch local refs, never sync.
    #[arg(long, requires = "wait")]
    pub local: bool,
    /// Fit the output into about TOKENS tokens (4 chars ~ 1 token), most important first.
    #[arg(long, value_name = "TOKENS")]
    pub budget: Option<usize>,
    /// Do not mark anything read.
    #[arg(long)]
    pub peek: bool,
}

#[derive(Debug, Args)]
pub struct SearchArgs {
    /// Text to look for (case-insensitive).
    pub text: String,
}

/// The body of `send`/`reply`, from exactly one source, never over `mail.max_body`:
/// - `-m BODY`: as given;
/// - `-F FILE`: the file (its size is checked before it is read);
/// - `-F -`: stdin, read until it closes;
/// - a pipe (no `-m`/`-F`): read to the end if it starts arriving within [`STDIN_GRACE`];
///   empty if stdin is at end of input; refused if stdin stays open and silent;
/// - a terminal: no body.
fn read_body(ctx: &Ctx, args: &BodyArgs) -> Result<String> {
    let config = &ctx.config;
    let limit = mail::max_body(config);
    if let Some(text) = &args.message {
        mail::check_body_len(config, text.len() as u64, false)?;
        return Ok(text.clone());
    }
    match args.file.as_deref() {
        Some("-") => {
            let bytes = read_limited(std::io::stdin().lock(), limit, Vec::new())
                .map_err(|e| Error::usage(format!("cannot read body from stdin: {e}")))?;
            body_text(ctx, bytes, "body on stdin")
        }
        Some(path) => read_file(ctx, path, limit),
        None if !std::io::stdin().is_terminal() => piped_stdin(ctx, limit),
        None => Ok(String::new()),
    }
}

/// Read `reader` to its end, appending to `bytes`, but never past `limit + 1` bytes in all:
/// one byte more than allowed is enough to refuse.
fn read_limited(reader: impl Read, limit: u64, mut bytes: Vec<u8>) -> std::io::Result<Vec<u8>> {
    let room = (limit + 1).saturating_sub(bytes.len() as u64);
    reader.take(room).read_to_end(&mut bytes)?;
    Ok(bytes)
}

/// Refuse a body that reached `limit + 1` bytes (reading stopped there), else decode it.
fn body_text(ctx: &Ctx, bytes: Vec<u8>, what: &str) -> Result<String> {
    mail::check_body_len(&ctx.config, bytes.len() as u64, true)?;
    String::from_utf8(bytes).map_err(|_| Error::usage(format!("{what} is not UTF-8 text")))
}

fn read_file(ctx: &Ctx, path: &str, limit: u64) -> Result<String> {
    let cannot = |e: std::io::Error| Error::usage(format!("cannot read body file {path}: {e}"));
    let file = std::fs::File::open(path).map_err(cannot)?;
    let meta = file.metadata().map_err(cannot)?;
    if meta.is_file() {
        // Refused before reading: a big file never reaches memory.
        mail::check_body_len(&ctx.config, meta.len(), false)?;
    }
    // Not a regular file (a FIFO, /dev/stdin), or one still growing: the read is capped.
    let bytes = read_limited(file, limit, Vec::new()).map_err(cannot)?;
    body_text(ctx, bytes, &format!("body file {path}"))
}

/// How long a piped body (no `-F -`) may take to start arriving.
const STDIN_GRACE: Duration = Duration::from_millis(300);

/// A body piped in without `-F -`. Agents' shells often leave stdin open with nothing to
/// say; waiting for EOF there would hang forever, and treating silence as "no body" loses
/// a body that comes late. So: data within the grace period is read to the end; end of
/// input means no body; an open, silent stdin is refused (nothing is sent).
fn piped_stdin(ctx: &Ctx, limit: u64) -> Result<String> {
    let (first_tx, first_rx) = std::sync::mpsc::channel();
    let reader = std::thread::spawn(move || -> std::io::Result<Vec<u8>> {
        let mut stdin = std::io::stdin().lock();
        let mut first = vec![0u8; (limit + 1).min(8192) as usize];
        let n = loop {
            match stdin.read(&mut first) {
                Err(e) if e.kind() == std::io::ErrorKind::Interrupted => continue,
                other => break other,
            }
        };
        let _ = first_tx.send(());
        let n = n?;
        first.truncate(n);
        if n == 0 {
            return Ok(first);
        }
        read_limited(stdin, limit, first)
    });
    if first_rx.recv_timeout(STDIN_GRACE).is_err() {
        // The reader thread stays blocked on stdin; the process exits without waiting.
        return Err(Error::usage(format!(
            "the body is unknown: stdin is open but sent nothing within {} ms",
            STDIN_GRACE.as_millis()
        ))
        .with_hint(
            "nothing was sent; give the body with -m BODY or -F FILE, use -F - to read \
             stdin until it closes, or -m '' for no body",
        ));
    }
    let bytes = reader
        .join()
        .expect("stdin reader does not panic")
        .map_err(|e| Error::usage(format!("cannot read body from stdin: {e}")))?;
    body_text(ctx, bytes, "body on stdin")
}

/// What a failed confirmation means after the message was stored: sending again
/// would duplicate it.
fn sent_anyway(id: &impl ToString) -> String {
    format!(
        "the message was sent as {} before the output failed: do not send it again",
        id.to_string()
    )
}

fn print_sent(ctx: &Ctx, id: &impl ToString, draft: &Draft) -> Result<()> {
    match ctx.format {
        Format::Json => {
            output::json(&json!({"id": id.to_string(), "to": draft.to, "cc": draft.cc}))
        }
        Format::Compact => outln!("{}", short(id)),
        Format::Human if draft.cc.is_empty() => {
            outln!("sent {} to {}", short(id), draft.to.join(", "))
        }
        Format::Human => outln!(
            "sent {} to {}, cc {}",
            short(id),
            draft.to.join(", "),
            draft.cc.join(", ")
        ),
    }
    .map_err(|e| output::explain(e, &sent_anyway(id)))
}

pub fn send(ctx: &Ctx, args: SendArgs) -> Result<()> {
    let me = ctx.me()?;
    let draft = Draft {
        subject: args.subject,
        body: read_body(ctx, &args.body)?,
        to: args.to,
        cc: args.cc,
        kind: args.kind,
        priority: Priority::parse(&args.priority)?,
        task: args.task,
        ack: args.ack.then(|| ACK_REQUESTED.to_string()),
        ..Draft::default()
    };
    let id = mail::send(&ctx.repo, &ctx.config, &me, &draft)?;
    print_sent(ctx, &id, &draft)
}

pub fn reply(ctx: &Ctx, args: ReplyArgs) -> Result<()> {
    let me = ctx.me()?;
    let original = mailbox::find(&ctx.repo, &args.id)?;
    let mut draft = mail::reply_draft(&original, &me, args.all);
    if let Some(subject) = args.subject {
        draft.subject = subject;
    }
    draft.body = read_body(ctx, &args.body)?;
    draft.kind = args.kind;
    draft.priority = Priority::parse(&args.priority)?;
    draft.ack = args.ack.then(|| ACK_REQUESTED.to_string());
    let id = mail::send(&ctx.repo, &ctx.config, &me, &draft)?;
    print_sent(ctx, &id, &draft)
}

pub fn ack(ctx: &Ctx, args: AckArgs) -> Result<()> {
    let me = ctx.me()?;
    let original = mailbox::find(&ctx.repo, &args.id)?;
    let draft = mail::ack_draft(&original, args.message);
    let id = mail::send(&ctx.repo, &ctx.config, &me, &draft)?;
    match ctx.format {
        Format::Json => {
            output::json(&json!({"id": id.to_string(), "acked": original.id.to_string()}))
        }
        _ => outln!("acked {} ({})", short(&original.id), short(&id)),
    }
    .map_err(|e| output::explain(e, &format!("the ack was sent as {id}")))
}

pub fn show(ctx: &Ctx, args: IdArg) -> Result<()> {
    let message = mailbox::find(&ctx.repo, &args.id)?;
    let all = mailbox::all(&ctx.repo)?;
    let (acked, pending) = mail::ack_state(&ctx.repo, &ctx.config, &all, &message)?;
    let asked = message.ack.as_deref() == Some(ACK_REQUESTED);
    match ctx.format {
        Format::Json => output::json(&json!({
            "message": message,
            "acked_by": acked,
            "pending_acks": if asked { pending.clone() } else { Vec::new() },
        })),
        format => {
            let mut text = with_newline(render(&message, format));
            if !acked.is_empty() {
                text.push_str(&format!("acked by: {}\n", acked.join(", ")));
            }
            if asked && !pending.is_empty() {
                text.push_str(&format!("ack pending: {}\n", pending.join(", ")));
            }
            output::text(&text)?;
            count_read(ctx, message.tokens());
            Ok(())
        }
    }
}

/// Add `tokens` to what the acting agent has read today (for `stats` and budgets).
/// Best effort: reading never fails because the counter could not be written.
fn count_read(ctx: &Ctx, tokens: u64) {
    if let Some(me) = super::known_agent(&ctx.repo, &ctx.config, ctx.as_agent.as_deref()) {
        let _ = crate::presence::add_read(&ctx.repo, &me, tokens);
    }
}

/// Tell the acting agent once a day that it passed its token budget (stderr).
pub fn tell_budget(ctx: &Ctx, me: &str) {
    if let Ok(Some(line)) = crate::oversight::stats::budget_notice(&ctx.repo, &ctx.config, me) {
        output::notice(&format!("{line}\n"));
    }
}

/// `wait --ack ID`: until every recipient of the message has acknowledged it.
pub fn wait_for_acks(ctx: &Ctx, id: &str, timeout_secs: u64, local: bool) -> Result<()> {
    let message = mailbox::find(&ctx.repo, id)?;
    let remote = sync::wait::remote_for_wait(&ctx.repo, local);
    let mut pending = Vec::new();
    let present = ctx.known_agent();
    let waited = sync::wait::until(
        &ctx.repo,
        remote.as_ref(),
        Duration::from_secs(timeout_secs),
        present.as_deref(),
        || {
            let all = mailbox::all(&ctx.repo)?;
            let (acked, still) = mail::ack_state(&ctx.repo, &ctx.config, &all, &message)?;
            pending = still;
            Ok(pending.is_empty().then_some(acked))
        },
    )?;
    let Some(acked) = waited.found else {
        return Err(Error::blocked(format!(
            "{} not acked within {timeout_secs}s by: {}",
            short(&message.id),
            pending.join(", ")
        ))
        .with_hint(format!(
            "remind them: git comm send {} -s \"please ack {}\"",
            pending.join(" "),
            short(&message.id)
        )));
    };
    match ctx.format {
        Format::Json => output::json(&json!({"id": message.id.to_string(), "acked_by": acked})),
        _ => outln!("{} acked by {}", short(&message.id), acked.join(", ")),
    }
}

pub fn thread(ctx: &Ctx, args: IdArg) -> Result<()> {
    let messages = mail::thread(&ctx.repo, &args.id)?;
    print_messages(ctx, &messages)?;
    count_read(ctx, messages.iter().map(Message::tokens).sum());
    Ok(())
}

pub fn search(ctx: &Ctx, args: SearchArgs) -> Result<()> {
    let messages = mail::search(&ctx.repo, &args.text)?;
    if messages.is_empty() && !ctx.json() {
        return outln!("no messages match '{}'", args.text);
    }
    print_messages(ctx, &messages)
}

fn with_newline(mut text: String) -> String {
    if !text.ends_with('\n') {
        text.push('\n');
    }
    text
}

fn print_messages(ctx: &Ctx, messages: &[Message]) -> Result<()> {
    match ctx.format {
        Format::Json => output::json(&messages),
        format => {
            for m in messages {
                output::text(&with_newline(render(m, format)))?;
            }
            Ok(())
        }
    }
}

pub fn inbox(ctx: &Ctx, args: InboxArgs) -> Result<()> {
    let me = ctx.me()?;
    let reader = Reader::load(&ctx.repo, &ctx.config, &me)?;
    let filter = Filter {
        from: args.from.clone(),
        kind: args.kind.clone(),
        thread: match &args.thread {
            Some(id) => Some(mailbox::find(&ctx.repo, id)?.thread),
            None => None,
        },
    };
    let view = match args.wait {
        Some(secs) if !args.all => {
            let remote = sync::wait::remote_for_wait(&ctx.repo, args.local);
            let present = ctx.known_agent();
            let waited = sync::wait::until(
                &ctx.repo,
                remote.as_ref(),
                Duration::from_secs(secs),
                present.as_deref(),
                || {
                    let view = mail::inbox(&ctx.repo, &reader, &filter, false)?;
                    Ok((!view.messages.is_empty()).then_some(view))
                },
            )?;
            match waited.found {
                Some(view) => view,
                None => return Err(no_new_mail(&me, secs, waited.sync_error)),
            }
        }
        _ => mail::inbox(&ctx.repo, &reader, &filter, args.all)?,
    };
    // Filtered or full-history views show a subset: moving the cursor would hide the rest.
    let marks_read = !args.peek && !args.all && filter.is_empty();
    let mut messages = view.messages;
    if args.budget.is_some() {
        // Most important first, newest first within a priority.
        messages.sort_by(|a, b| b.priority.cmp(&a.priority).then(b.time.cmp(&a.time)));
    } else {
        messages.reverse();
    }
    // Delivery first: the whole listing is written and flushed, and only then is the mail
    // marked read. Output that fails (a closed pipe, a full disk) leaves it unread.
    let (text, tokens) = render_inbox(ctx, &messages, args.budget);
    output::text(&text).map_err(|e| {
        let what = if marks_read {
            "nothing was marked read"
        } else {
            "nothing was changed"
        };
        output::explain(e, what)
    })?;
    if marks_read {
        if let Some(tip) = view.tip {
            mailbox::advance_cursor(&ctx.repo, &me, view.cursor, tip)?;
        }
    }
    count_read(ctx, tokens);
    tell_budget(ctx, &me);
    Ok(())
}

/// A wait that ends with nothing new is a timeout, like `wait`: exit 1 and this one line
/// on stderr, nothing on stdout. The hint appears only when polling the remote failed.
fn no_new_mail(me: &str, secs: u64, sync_error: Option<String>) -> Error {
    let error = Error::blocked(format!("no new mail for {me} within {secs}s"));
    match sync_error {
        Some(e) => error.with_hint(format!(
            "syncing failed ({e}); only local mail was watched: check the remote"
        )),
        None => error,
    }
}

/// The whole inbox listing as it will be printed, and the estimated tokens of the
/// messages it shows.
fn render_inbox(ctx: &Ctx, messages: &[Message], budget_tokens: Option<usize>) -> (String, u64) {
    let budget_chars = budget_tokens.map(|t| t.saturating_mul(CHARS_PER_TOKEN));
    let (shown, omitted, left) = fit_budget(messages, ctx.format, budget_chars);
    let tokens = shown.iter().map(Message::tokens).sum();
    if ctx.json() {
        let omitted_ids: Vec<String> = omitted.iter().map(|m| m.id.to_string()).collect();
        let value = json!({"messages": shown, "omitted": omitted_ids});
        return (format!("{value}\n"), tokens);
    }
    if messages.is_empty() {
        return ("no unread mail\n".to_string(), 0);
    }
    let mut text = String::new();
    for m in &shown {
        text.push_str(&with_newline(render(m, ctx.format)));
    }
    if !omitted.is_empty() {
        text.push_str(&pointer_line(&omitted, left + POINTER_RESERVE));
        text.push('\n');
    }
    (text, tokens)
}

const CHARS_PER_TOKEN: usize = 4;
/// Room kept for the closing `+N more: git comm show ...` line.
const POINTER_RESERVE: usize = 64;

/// `+N more: git comm show ID ID ...`, listing as many ids as fit in `room` characters.
fn pointer_line(omitted: &[Message], room: usize) -> String {
    let mut line = format!("+{} more: git comm show", omitted.len());
    let overflow_note = " (rest: git comm inbox --all --format compact)";
    let mut listed = 0;
    for m in omitted {
        let id = format!(" {}", short(&m.id));
        if line.len() + id.len() + overflow_note.len() + 1 > room {
            break;
        }
        line.push_str(&id);
        listed += 1;
    }
    if listed < omitted.len() {
        line.push_str(overflow_note);
    }
    line
}

/// Split messages into those that fit `budget_chars` and the rest; returns the chars left.
/// A message too long in full may still fit as its one-line summary.
fn fit_budget(
    messages: &[Message],
    format: Format,
    budget_chars: Option<usize>,
) -> (Vec<Message>, Vec<Message>, usize) {
    let Some(budget) = budget_chars else {
        return (messages.to_vec(), Vec::new(), usize::MAX);
    };
    let mut remaining = budget.saturating_sub(POINTER_RESERVE);
    let (mut shown, mut omitted) = (Vec::new(), Vec::new());
    for m in messages {
        let full = render_cost(m, format);
        let mut summary_only = m.clone();
        summary_only.body.clear();
        let summary = render_cost(&summary_only, format);
        if omitted.is_empty() && full <= remaining {
            remaining -= full;
            shown.push(m.clone());
        } else if omitted.is_empty() && summary <= remaining {
            remaining -= summary;
            shown.push(summary_only);
        } else {
            omitted.push(m.clone());
        }
    }
    (shown, omitted, remaining)
}

fn render_cost(m: &Message, format: Format) -> usize {
    match format {
        Format::Json => serde_json::to_string(m).map(|s| s.len()).unwrap_or(0) + 1,
        other => render(m, other).len() + 1,
    }
}
