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
    /// Command output could not be written (stdout closed, device full, ...): exit 2.
    Output,
    /// The reader of our output went away (EPIPE, e.g. `| head -1`): that is the reader's
    /// choice, not a failure, so exit 0 and print nothing.
    BrokenPipe,
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
    /// An error writing command output: EPIPE becomes the silent `BrokenPipe`, anything
    /// else `Output`, with a hint for the usual causes.
    pub fn output(e: std::io::Error) -> Self {
        if e.kind() == std::io::ErrorKind::BrokenPipe {
            return Self::new(Kind::BrokenPipe, "output closed by its reader");
        }
        let hint = match e.raw_os_error() {
            Some(EBADF) => Some("stdout is closed: redirect it to a file, a pipe or /dev/null"),
            Some(ENOSPC) => Some("the device stdout writes to is full: free space or redirect it"),
            _ => None,
        };
        let err = Self::new(Kind::Output, format!("cannot write output: {e}"));
        match hint {
            Some(hint) => err.with_hint(hint),
            None => err,
        }
    }
    /// Nothing to report: the reader of our output went away on purpose (exit 0, silent).
    pub fn is_silent(&self) -> bool {
        self.kind == Kind::BrokenPipe
    }
    pub fn with_hint(mut self, hint: impl Into<String>) -> Self {
        self.hint = Some(hint.into());
        self
    }
    pub fn exit_code(&self) -> i32 {
        match self.kind {
            Kind::BrokenPipe => 0,
            Kind::Blocked => 1,
            Kind::Usage | Kind::Config | Kind::Git | Kind::Output => 2,
        }
    }
    pub fn kind_name(&self) -> &'static str {
        match self.kind {
            Kind::Usage => "usage",
            Kind::Config => "config",
            Kind::Blocked => "blocked",
            Kind::Git => "git",
            Kind::Output => "output",
            Kind::BrokenPipe => "broken_pipe",
        }
    }
}

/// errno values (the same on Linux and macOS).
const EBADF: i32 = 9;
const ENOSPC: i32 = 28;

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
