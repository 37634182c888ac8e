//! Mail: every message is a commit on `refs/comm-node/mail`.

pub mod mailbox;
pub mod message;

use crate::agent::{self, EVERYONE};
use crate::config::{ByteSize, Config, CONFIG_PATH};
use crate::error::{Error, Result};
use crate::repo::{ObjectId, Repo};
pub use message::{Draft, Message, Priority, ACK_REQUESTED};

/// The reader: an agent and the domain it belongs to (for `@domain` mail).
#[derive(Debug, Clone)]
pub struct Reader {
    pub name: String,
    pub domain: Option<String>,
}

impl Reader {
    pub fn load(repo: &Repo, config: &Config, name: &str) -> Result<Reader> {
        let card = agent::read_card(repo, name)?;
        Ok(Reader {
            name: name.to_string(),
            domain: agent::domain_of(config, card.as_ref(), name),
        })
    }

    /// Mail for me: addressed to me, to all, or to my domain, and not sent by me.
    pub fn is_recipient(&self, message: &Message) -> bool {
        message.from != self.name
            && message
                .to
                .iter()
                .chain(message.cc.iter())
                .any(|r| self.matches(r))
    }

    fn matches(&self, recipient: &str) -> bool {
        if recipient == self.name || recipient == EVERYONE {
            return true;
        }
        match (recipient.strip_prefix('@'), &self.domain) {
            (Some(domain), Some(mine)) => domain == mine,
            _ => false,
        }
    }
}

/// Check every recipient names one of the `known` agents, a known `@domain`, or `all`.
/// Cards are read only for a `@domain` the config does not declare.
pub fn check_recipients(
    repo: &Repo,
    config: &Config,
    known: &[String],
    recipients: &[String],
) -> Result<()> {
    let mut cards = None;
    for recipient in recipients {
        if recipient == EVERYONE {
            continue;
        }
        if let Some(domain) = recipient.strip_prefix('@') {
            let declared = config.domains.contains_key(domain) || {
                if cards.is_none() {
                    cards = Some(agent::stored_cards(repo)?);
                }
                let cards = cards.as_deref().unwrap_or_default();
                cards.iter().any(|c| c.domain.as_deref() == Some(domain))
            };
            if !declared {
                return Err(agent::unknown_domain(config, domain));
            }
            continue;
        }
        agent::validate_name(recipient)?;
        agent::require_known(known, recipient)?;
    }
    Ok(())
}

/// The largest body accepted when no `mail: {max_body: ...}` is configured: 1 MiB.
pub const DEFAULT_MAX_BODY: u64 = 1 << 20;

/// The body limit in force: `mail.max_body` in `.comm-node/config.yaml`, else
/// [`DEFAULT_MAX_BODY`]. Senders check it before reading more; importers of others' mail
/// can cap what they accept with it.
pub fn max_body(config: &Config) -> u64 {
    config.mail.max_body.map_or(DEFAULT_MAX_BODY, |size| size.0)
}

/// Refuse a body of `len` bytes when it is over the limit. `at_least` says the length is a
/// lower bound (reading stopped at the limit), so the message says "more than".
pub fn check_body_len(config: &Config, len: u64, at_least: bool) -> Result<()> {
    let limit = max_body(config);
    if len <= limit {
        return Ok(());
    }
    let size = if at_least {
        format!("more than {limit} bytes")
    } else {
        format!("{len} bytes")
    };
    Err(Error::usage(format!(
        "body is {size}, over the limit of {} (mail.max_body in {CONFIG_PATH})",
        ByteSize(limit)
    ))
    .with_hint(
        "nothing was sent; shorten the body, publish large content as an artifact \
         (git comm publish DOMAIN/NAME FILE), or raise mail.max_body",
    ))
}

/// Send a message from `from`, after checking sender, recipients and body size.
pub fn send(repo: &Repo, config: &Config, from: &str, draft: &Draft) -> Result<ObjectId> {
    draft.validate()?;
    check_body_len(config, draft.body.len() as u64, false)?;
    let known = agent::known_agents(repo, config)?;
    agent::require_known(&known, from)?;
    check_recipients(repo, config, &known, &draft.to)?;
    check_recipients(repo, config, &known, &draft.cc)?;
    let id = mailbox::append(repo, from, draft)?;
    agent::touch(repo, from)?;
    Ok(id)
}

/// A reply to `original`: to its sender (and, with `to_all`, its other recipients),
/// in the same thread.
pub fn reply_draft(original: &Message, me: &str, to_all: bool) -> Draft {
    let mut to = vec![original.from.clone()];
    if to_all {
        let others = original.to.iter().chain(original.cc.iter());
        to.extend(others.filter(|r| *r != me && **r != original.from).cloned());
    }
    to.retain(|r| r != me || original.from == me);
    let subject = message::fit_subject(if original.subject.starts_with("Re: ") {
        original.subject.clone()
    } else {
        format!("Re: {}", original.subject)
    });
    Draft {
        subject,
        to,
        kind: "info".to_string(),
        thread: Some(original.thread),
        reply_to: Some(original.id),
        task: original.task.clone(),
        ..Draft::default()
    }
}

/// An acknowledgement of `original`, addressed to its sender.
pub fn ack_draft(original: &Message, note: Option<String>) -> Draft {
    Draft {
        subject: message::fit_subject(format!("ack: {}", original.subject)),
        body: note.unwrap_or_default(),
        to: vec![original.from.clone()],
        kind: "ack".to_string(),
        thread: Some(original.thread),
        reply_to: Some(original.id),
        task: original.task.clone(),
        ack: Some(original.id.to_string()),
        ..Draft::default()
    }
}

/// Filters of `inbox`.
#[derive(Debug, Clone, Default)]
pub struct Filter {
    pub from: Option<String>,
    pub kind: Option<String>,
    pub thread: Option<ObjectId>,
}

impl Filter {
    pub fn is_empty(&self) -> bool {
        self.from.is_none() && self.kind.is_none() && self.thread.is_none()
    }
    pub fn accepts(&self, m: &Message) -> bool {
        self.from.as_ref().is_none_or(|f| &m.from == f)
            && self.kind.as_ref().is_none_or(|k| &m.kind == k)
            && self.thread.is_none_or(|t| m.thread == t)
    }
}

/// Unread (or, with `all`, every) message for `reader`, newest first, plus the
/// tip and cursor seen, so the caller can advance the cursor.
pub struct InboxView {
    pub messages: Vec<Message>,
    pub tip: Option<ObjectId>,
    pub cursor: Option<ObjectId>,
}

pub fn inbox(repo: &Repo, reader: &Reader, filter: &Filter, all: bool) -> Result<InboxView> {
    let tip = repo.read_ref(&mailbox::mail_ref(repo))?;
    let cursor = mailbox::read_cursor(repo, &reader.name)?;
    let Some(tip_id) = tip else {
        return Ok(InboxView {
            messages: Vec::new(),
            tip,
            cursor,
        });
    };
    let hidden = if all { None } else { cursor };
    let messages = mailbox::walk(repo, tip_id, hidden)?
        .into_iter()
        .filter(|m| reader.is_recipient(m) && filter.accepts(m))
        .collect();
    Ok(InboxView {
        messages,
        tip,
        cursor,
    })
}

/// How far back from the mail tip an unread count for display looks (`watch`, `status`):
/// a reader who never read, or read long ago, would otherwise cost the whole history.
pub const UNREAD_WINDOW: usize = 100;

/// An unread count for display: exact, or, when the reader's cursor is not among the
/// [`UNREAD_WINDOW`] newest mail commits (or the unread range is longer), the messages for
/// the reader among those newest commits, shown with a `+` (`100+`, `12+`).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Unread {
    pub count: usize,
    /// There is more unread mail further back than was counted.
    pub more: bool,
}

impl std::fmt::Display for Unread {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}{}", self.count, if self.more { "+" } else { "" })
    }
}

/// Unread message counts of several readers at once (for the board and status), each
/// looking at most [`UNREAD_WINDOW`] commits back from the tip (`inbox` stays exact).
/// Each message is decoded once however many readers share it.
pub fn unread_counts(repo: &Repo, readers: &[Reader]) -> Result<Vec<Unread>> {
    let Some(tip) = repo.read_ref(&mailbox::mail_ref(repo))? else {
        return Ok(vec![Unread::default(); readers.len()]);
    };
    let window = mailbox::newest_ids(repo, tip, UNREAD_WINDOW + 1)?;
    let whole_history = window.len() <= UNREAD_WINDOW;
    let mut decoded: std::collections::HashMap<ObjectId, Option<Message>> = Default::default();
    let mut counts = Vec::with_capacity(readers.len());
    for reader in readers {
        let cursor = mailbox::read_cursor(repo, &reader.name)?;
        let near = whole_history || cursor.is_some_and(|c| window.contains(&c));
        let (ids, more) = if near {
            // The cursor is among the newest commits: the exact unread range is short.
            let ids = mailbox::walk_ids_bounded(repo, tip, cursor, UNREAD_WINDOW + 1)?;
            let more = ids.len() > UNREAD_WINDOW;
            (ids, more)
        } else {
            (window[..UNREAD_WINDOW].to_vec(), true)
        };
        let mut count = 0;
        for id in ids.into_iter().take(UNREAD_WINDOW) {
            let message = match decoded.entry(id) {
                std::collections::hash_map::Entry::Occupied(e) => e.into_mut(),
                std::collections::hash_map::Entry::Vacant(e) => e.insert(mailbox::load(repo, id)?),
            };
            count += usize::from(message.as_ref().is_some_and(|m| reader.is_recipient(m)));
        }
        counts.push(Unread { count, more });
    }
    Ok(counts)
}

/// All messages of the thread that `id` belongs to, oldest first.
pub fn thread(repo: &Repo, id: &str) -> Result<Vec<Message>> {
    let root = mailbox::find(repo, id)?.thread;
    let mut messages: Vec<Message> = mailbox::all(repo)?
        .into_iter()
        .filter(|m| m.thread == root)
        .collect();
    messages.reverse();
    Ok(messages)
}

/// Acks of message `id`: (who, ack message), oldest first.
pub fn acks_of(all: &[Message], id: ObjectId) -> Vec<&Message> {
    let hex = id.to_string();
    let mut acks: Vec<&Message> = all
        .iter()
        .filter(|m| m.kind == "ack" && m.ack.as_deref() == Some(hex.as_str()))
        .collect();
    acks.reverse();
    acks
}

/// Every agent a message reaches: named recipients, members of `@domain`, everyone for
/// `all`; the sender excluded. Sorted.
pub fn recipients_of(repo: &Repo, config: &Config, message: &Message) -> Result<Vec<String>> {
    let cards = agent::stored_cards(repo)?;
    let known = agent::known_agents(repo, config)?;
    let mut out: Vec<String> = Vec::new();
    for r in message.to.iter().chain(message.cc.iter()) {
        if r == EVERYONE {
            out.extend(known.iter().cloned());
        } else if let Some(domain) = r.strip_prefix('@') {
            out.extend(
                known
                    .iter()
                    .filter(|name| {
                        let card = cards.iter().find(|c| &c.name == *name);
                        agent::domain_of(config, card, name).as_deref() == Some(domain)
                    })
                    .cloned(),
            );
        } else {
            out.push(r.clone());
        }
    }
    out.retain(|r| r != &message.from);
    out.sort();
    out.dedup();
    Ok(out)
}

/// Ack state of `message`: (acked, still owing an ack), each sorted.
pub fn ack_state(
    repo: &Repo,
    config: &Config,
    all: &[Message],
    message: &Message,
) -> Result<(Vec<String>, Vec<String>)> {
    let mut acked: Vec<String> = acks_of(all, message.id)
        .iter()
        .map(|m| m.from.clone())
        .collect();
    acked.sort();
    acked.dedup();
    let pending = recipients_of(repo, config, message)?
        .into_iter()
        .filter(|r| !acked.contains(r))
        .collect();
    Ok((acked, pending))
}

/// Messages whose subject, body, sender or task contain `text` (case-insensitive).
pub fn search(repo: &Repo, text: &str) -> Result<Vec<Message>> {
    if text.trim().is_empty() {
        return Err(Error::usage("empty search text"));
    }
    let needle = text.to_lowercase();
    Ok(mailbox::all(repo)?
        .into_iter()
        .filter(|m| {
            m.subject.to_lowercase().contains(&needle)
                || m.body.to_lowercase().contains(&needle)
                || m.from.to_lowercase() == needle
                || m.task
                    .as_deref()
                    .is_some_and(|t| t.to_lowercase() == needle)
        })
        .collect())
}
