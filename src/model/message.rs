//! The message model and its commit-message codec.
//!
//! A message is a commit: subject line, blank line, markdown body, then one final
//! paragraph of `Comm-*` trailers written by git-comm. Only that final paragraph is
//! metadata, so a body cannot spoof recipients.

use serde::Serialize;

use crate::error::{Error, Result};
use gix::ObjectId;

#[derive(
    Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize, serde::Deserialize, Default,
)]
#[serde(rename_all = "lowercase")]
pub enum Priority {
    Low,
    #[default]
    Normal,
    High,
    Urgent,
}

impl Priority {
    pub fn parse(text: &str) -> Result<Priority> {
        match text {
            "low" => Ok(Priority::Low),
            "normal" => Ok(Priority::Normal),
            "high" => Ok(Priority::High),
            "urgent" => Ok(Priority::Urgent),
            other => Err(Error::usage(format!("unknown priority '{other}'"))
                .with_hint("use low, normal, high or urgent")),
        }
    }
    pub fn as_str(self) -> &'static str {
        match self {
            Priority::Low => "low",
            Priority::Normal => "normal",
            Priority::High => "high",
            Priority::Urgent => "urgent",
        }
    }
}

/// What the sender decides; the id, author and time come from the commit.
#[derive(Debug, Clone, Default)]
pub struct Draft {
    pub subject: String,
    pub body: String,
    pub to: Vec<String>,
    pub cc: Vec<String>,
    pub kind: String,
    pub priority: Priority,
    pub thread: Option<ObjectId>,
    pub reply_to: Option<ObjectId>,
    pub task: Option<String>,
    pub ack: Option<String>,
    pub artifact: Option<String>,
}

#[derive(Debug, Clone, Serialize)]
pub struct Message {
    #[serde(serialize_with = "as_hex")]
    pub id: ObjectId,
    pub from: String,
    /// Unix seconds.
    pub time: i64,
    pub subject: String,
    pub body: String,
    pub to: Vec<String>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub cc: Vec<String>,
    #[serde(rename = "type")]
    pub kind: String,
    pub priority: Priority,
    /// Id of the first message of the thread (the message itself for a thread root).
    #[serde(serialize_with = "as_hex")]
    pub thread: ObjectId,
    #[serde(serialize_with = "opt_as_hex")]
    pub reply_to: Option<ObjectId>,
    pub task: Option<String>,
    /// `requested` when the sender asked for an ack; the acked id on an ack message.
    pub ack: Option<String>,
    pub artifact: Option<String>,
}

impl Message {
    /// Estimated tokens an agent spends reading this message: a quarter of the bytes of
    /// subject and body, rounded up (the usual rule of thumb for English and code).
    pub fn tokens(&self) -> u64 {
        estimate_tokens(self.subject.len() + self.body.len())
    }
}

/// Estimated tokens of `bytes` bytes of text: bytes / 4, rounded up.
pub fn estimate_tokens(bytes: usize) -> u64 {
    (bytes as u64).div_ceil(4)
}

fn as_hex<S: serde::Serializer>(id: &ObjectId, s: S) -> std::result::Result<S::Ok, S::Error> {
    s.serialize_str(&id.to_string())
}

fn opt_as_hex<S: serde::Serializer>(
    id: &Option<ObjectId>,
    s: S,
) -> std::result::Result<S::Ok, S::Error> {
    match id {
        Some(id) => s.serialize_str(&id.to_string()),
        None => s.serialize_none(),
    }
}

pub const ACK_REQUESTED: &str = "requested";
/// Longest subject in bytes: a subject is one line to scan; details go in the body (whose
/// limit is `mail.max_body`). Well inside the storage gate's room for headers.
pub const MAX_SUBJECT: usize = 1000;
const TRAILER_PREFIX: &str = "Comm-";

impl Draft {
    /// Check what a user could get wrong before anything is written.
    pub fn validate(&self) -> Result<()> {
        let subject = self.subject.trim();
        if subject.is_empty() {
            return Err(Error::usage("empty subject").with_hint("pass -s \"SUBJECT\""));
        }
        if subject.contains(['\n', '\r']) {
            return Err(Error::usage("subject must be a single line")
                .with_hint("put details in the body with -m or -F"));
        }
        if subject.len() > MAX_SUBJECT {
            return Err(Error::usage(format!(
                "subject is {} bytes, over the limit of {MAX_SUBJECT}",
                subject.len()
            ))
            .with_hint("nothing was sent; keep the subject short and put details in the body with -m or -F"));
        }
        if self.to.is_empty() {
            return Err(Error::usage("no recipients").with_hint("name agents, @domain, or all"));
        }
        validate_kind(&self.kind)?;
        if let Some(task) = &self.task {
            if task.is_empty() || task.contains(['\n', '\r', ',']) {
                return Err(Error::usage(format!("invalid task id '{task}'")));
            }
        }
        Ok(())
    }

    pub fn encode(&self) -> String {
        let mut text = format!("{}\n\n", self.subject.trim());
        let body = self.body.trim_end();
        if !body.trim().is_empty() {
            text.push_str(body);
            text.push_str("\n\n");
        }
        for (key, value) in self.trailers() {
            text.push_str(&format!("{TRAILER_PREFIX}{key}: {value}\n"));
        }
        text
    }

    fn trailers(&self) -> Vec<(&'static str, String)> {
        let mut out = vec![("To", self.to.join(", "))];
        if !self.cc.is_empty() {
            out.push(("Cc", self.cc.join(", ")));
        }
        out.push(("Type", self.kind.clone()));
        out.push(("Priority", self.priority.as_str().to_string()));
        let optional = [
            ("Thread", self.thread.map(|id| id.to_string())),
            ("Reply-To", self.reply_to.map(|id| id.to_string())),
            ("Task", self.task.clone()),
            ("Ack", self.ack.clone()),
            ("Artifact", self.artifact.clone()),
        ];
        out.extend(optional.into_iter().filter_map(|(k, v)| v.map(|v| (k, v))));
        out
    }
}

/// `subject` cut to [`MAX_SUBJECT`] bytes (at a character boundary): the subject of a reply
/// or an ack, which prefixes the original's.
pub fn fit_subject(subject: String) -> String {
    if subject.len() <= MAX_SUBJECT {
        return subject;
    }
    let mut end = MAX_SUBJECT;
    while !subject.is_char_boundary(end) {
        end -= 1;
    }
    subject[..end].to_string()
}

pub fn validate_kind(kind: &str) -> Result<()> {
    let ok = !kind.is_empty()
        && kind.len() <= 32
        && kind
            .chars()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-');
    if ok {
        Ok(())
    } else {
        Err(Error::usage(format!("invalid message type '{kind}'"))
            .with_hint("use a lowercase word such as question, info, blocked, done, artifact"))
    }
}

/// Decode a commit into a message; `None` when the commit carries no comm trailers
/// (merge commits that join divergent histories, foreign commits).
pub fn decode(id: ObjectId, from: &str, time: i64, raw: &str) -> Option<Message> {
    let raw = raw.trim_end();
    let (head, trailer_block) = raw.rsplit_once("\n\n")?;
    let trailers = parse_trailers(trailer_block)?;
    let (subject, body) = match head.split_once("\n\n") {
        Some((subject, body)) => (subject, body),
        None => (head, ""),
    };
    let get = |key: &str| {
        trailers
            .iter()
            .find(|(k, _)| k == key)
            .map(|(_, v)| v.clone())
    };
    let parse_id = |key: &str| get(key).and_then(|v| ObjectId::from_hex(v.as_bytes()).ok());
    Some(Message {
        id,
        from: from.to_string(),
        time,
        subject: subject.trim().to_string(),
        body: body.to_string(),
        to: split_list(get("To")?.as_str()),
        cc: get("Cc").map(|v| split_list(&v)).unwrap_or_default(),
        kind: get("Type").unwrap_or_else(|| "info".to_string()),
        priority: get("Priority")
            .and_then(|p| Priority::parse(&p).ok())
            .unwrap_or_default(),
        thread: parse_id("Thread").unwrap_or(id),
        reply_to: parse_id("Reply-To"),
        task: get("Task"),
        ack: get("Ack"),
        artifact: get("Artifact"),
    })
}

/// Every line of the block must be a `Comm-Key: value` trailer, or it is not ours.
fn parse_trailers(block: &str) -> Option<Vec<(String, String)>> {
    block
        .lines()
        .map(|line| {
            let rest = line.strip_prefix(TRAILER_PREFIX)?;
            let (key, value) = rest.split_once(':')?;
            Some((key.trim().to_string(), value.trim().to_string()))
        })
        .collect()
}

fn split_list(value: &str) -> Vec<String> {
    value
        .split(',')
        .map(str::trim)
        .filter(|s| !s.is_empty())
        .map(str::to_string)
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn id(n: u8) -> ObjectId {
        ObjectId::from_bytes_or_panic(&[n; 20])
    }

    fn draft() -> Draft {
        Draft {
            subject: "API ready".into(),
            body: "The endpoint is live.\n\nComm-To: mallory".into(),
            to: vec!["alice".into(), "@api".into()],
            kind: "info".into(),
            priority: Priority::High,
            task: Some("T-1".into()),
            ..Draft::default()
        }
    }

    #[test]
    fn round_trip_keeps_every_field() {
        let mut d = draft();
        d.thread = Some(id(1));
        d.reply_to = Some(id(2));
        d.ack = Some(ACK_REQUESTED.into());
        let m = decode(id(3), "bob", 7, &d.encode()).expect("decodes");
        assert_eq!(m.subject, "API ready");
        assert_eq!(m.body, "The endpoint is live.\n\nComm-To: mallory");
        assert_eq!(m.to, vec!["alice", "@api"]);
        assert_eq!(m.priority, Priority::High);
        assert_eq!(m.thread, id(1));
        assert_eq!(m.reply_to, Some(id(2)));
        assert_eq!(m.task.as_deref(), Some("T-1"));
        assert_eq!(m.ack.as_deref(), Some("requested"));
    }

    #[test]
    fn body_trailers_cannot_spoof_recipients() {
        let m = decode(id(3), "bob", 7, &draft().encode()).unwrap();
        assert!(!m.to.contains(&"mallory".to_string()));
    }

    #[test]
    fn empty_body_and_root_thread() {
        let mut d = draft();
        d.body.clear();
        let m = decode(id(4), "bob", 7, &d.encode()).unwrap();
        assert_eq!(m.body, "");
        assert_eq!(m.thread, id(4));
    }

    #[test]
    fn foreign_commit_is_not_a_message() {
        assert!(decode(id(5), "x", 0, "Merge mail\n\nsome text\n").is_none());
        assert!(decode(id(5), "x", 0, "just a subject").is_none());
    }

    #[test]
    fn validation_rejects_bad_drafts() {
        let mut d = draft();
        d.subject = "  ".into();
        assert!(d.validate().is_err());
        let mut d = draft();
        d.subject = "a\nb".into();
        assert!(d.validate().is_err());
        let mut d = draft();
        d.kind = "Bad Type".into();
        assert!(d.validate().is_err());
        assert!(draft().validate().is_ok());
    }
}
