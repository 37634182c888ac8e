//! One error type for the whole library. Every error says what went wrong and,
//! where there is one, what to do about it (`hint`). The kind decides the exit code.

use std::fmt;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    /// Bad arguments, unknown ids, invalid names, no identity: exit 2.
    Usage,
    /// Malformed `.comm-node/config.yaml` or git config: exit 2.
    Config,
    /// A check failed or a commit/lease was refused: exit 1.
    Blocked,
    /// Git or I/O failure underneath us: exit 2.
    Git,
}

#[derive(Debug, Clone)]
pub struct Error {
    pub kind: Kind,
    pub message: String,
    pub hint: Option<String>,
}

pub type Result<T, E = Error> = std::result::Result<T, E>;

impl Error {
    pub fn new(kind: Kind, message: impl Into<String>) -> Self {
        Error {
            kind,
            message: message.into(),
            hint: None,
        }
    }
    pub fn usage(message: impl Into<String>) -> Self {
        Self::new(Kind::Usage, message)
    }
    pub fn config(message: impl Into<String>) -> Self {
        Self::new(Kind::Config, message)
    }
    pub fn blocked(message: impl Into<String>) -> Self {
        Self::new(Kind::Blocked, message)
    }
    pub fn git(message: impl Into<String>) -> Self {
        Self::new(Kind::Git, message)
    }
    pub fn with_hint(mut self, hint: impl Into<String>) -> Self {
        self.hint = Some(hint.into());
        self
    }
    pub fn exit_code(&self) -> i32 {
        match self.kind {
            Kind::Blocked => 1,
            Kind::Usage | Kind::Config | Kind::Git => 2,
        }
    }
    pub fn kind_name(&self) -> &'static str {
        match self.kind {
            Kind::Usage => "usage",
            Kind::Config => "config",
            Kind::Blocked => "blocked",
            Kind::Git => "git",
        }
    }
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.message)?;
        if let Some(hint) = &self.hint {
            write!(f, "\nhint: {hint}")?;
        }
        Ok(())
    }
}

impl std::error::Error for Error {}

impl From<std::io::Error> for Error {
    fn from(e: std::io::Error) -> Self {
        Error::git(format!("i/o error: {e}"))
    }
}

/// Attach context to foreign errors (gix, io) as a `Kind::Git` error.
pub trait Context<T> {
    fn context(self, what: &str) -> Result<T>;
}

impl<T, E: fmt::Display> Context<T> for std::result::Result<T, E> {
    fn context(self, what: &str) -> Result<T> {
        self.map_err(|e| {
            Error::git(format!("{what}: {e}")).with_hint(
                "run `git comm doctor` to check the comm-node state; `git comm doctor --repair` restores broken refs",
            )
        })
    }
}
