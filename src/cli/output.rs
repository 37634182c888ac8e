//! Every byte a command prints goes through here, so a failed write is an error the
//! command sees (and can react to: `inbox` then leaves the cursor alone) instead of a
//! panic in `println!`.
//!
//! Exit behaviour (mapped in `main.rs` from the error kind):
//! - the reader went away (EPIPE, `git comm inbox | head -1`): exit 0, nothing printed.
//!   Rust ignores SIGPIPE, so the write returns EPIPE; we keep it that way.
//! - any other failure (`>/dev/full`: ENOSPC; `>&-`: EBADF): `error: cannot write
//!   output: ...` on stderr, exit 2.
//!
//! Each call writes and flushes, so an error surfaces at the call that failed.
//!
//! Every byte written (stdout and notices on stderr) is counted: [`printed`] is what an
//! agent's command made it read, recorded in its presence at the end of the command.
//!
//! A closed stdout (`>&-`) needs one more step: before `main`, Rust's runtime reopens a
//! closed fd 0-2 on /dev/null, after which every write "succeeds" and the output is
//! silently lost. A constructor that runs before the runtime (`.init_array`) records
//! whether fd 1 was open, and writes then fail with EBADF as they would have.

use std::io::{self, Write};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};

use serde::Serialize;

use crate::error::{Error, Kind, Result};

/// `println!` that returns the write error: `outln!("sent {id}")?`.
macro_rules! outln {
    () => {
        $crate::cli::output::text("\n")
    };
    ($($arg:tt)*) => {
        $crate::cli::output::line(&::std::format!($($arg)*))
    };
}

pub(crate) use outln;

/// Write `text` to stdout and flush it.
pub fn text(text: &str) -> Result<()> {
    bytes(text.as_bytes())
}

/// Write `text` and a newline to stdout and flush it.
pub fn line(text: &str) -> Result<()> {
    let mut buf = String::with_capacity(text.len() + 1);
    buf.push_str(text);
    buf.push('\n');
    bytes(buf.as_bytes())
}

/// One JSON document on one line.
pub fn json(value: &impl Serialize) -> Result<()> {
    line(&serde_json::to_string(value).expect("values serialize to JSON"))
}

/// Write raw bytes (artifact content) to stdout and flush them.
pub fn bytes(data: &[u8]) -> Result<()> {
    if STDOUT_CLOSED_AT_START.load(Ordering::Relaxed) {
        return Err(Error::output(io::Error::from_raw_os_error(EBADF)));
    }
    let mut out = io::stdout().lock();
    out.write_all(data)
        .and_then(|()| out.flush())
        .map_err(Error::output)?;
    PRINTED.fetch_add(data.len() as u64, Ordering::Relaxed);
    Ok(())
}

/// Best-effort notice on stderr: if stderr itself is gone there is nowhere to report it.
pub fn notice(text: &str) {
    if io::stderr().lock().write_all(text.as_bytes()).is_ok() {
        PRINTED.fetch_add(text.len() as u64, Ordering::Relaxed);
    }
}

/// Bytes this process printed so far (stdout and notices).
static PRINTED: AtomicU64 = AtomicU64::new(0);

/// Bytes this process printed so far: what the agent behind the command read.
pub fn printed() -> u64 {
    PRINTED.load(Ordering::Relaxed)
}

/// Add what a failed write means for this command (`nothing was marked read`) to an
/// output error; other errors pass unchanged.
pub fn explain(err: Error, what: &str) -> Error {
    if err.kind != Kind::Output {
        return err;
    }
    let hint = match &err.hint {
        Some(h) => format!("{what}; {h}"),
        None => what.to_string(),
    };
    err.with_hint(hint)
}

const EBADF: i32 = 9;

/// Whether fd 1 was closed when the process started (see the module docs).
static STDOUT_CLOSED_AT_START: AtomicBool = AtomicBool::new(false);

#[cfg_attr(
    not(any(
        target_os = "linux",
        target_os = "android",
        target_os = "freebsd",
        target_vendor = "apple"
    )),
    allow(dead_code)
)]
extern "C" fn probe_stdout() {
    extern "C" {
        fn fcntl(fd: i32, cmd: i32, ...) -> i32;
    }
    const F_GETFD: i32 = 1; // Linux and the BSDs/macOS alike
                            // SAFETY: F_GETFD only queries the descriptor flags; it touches no memory.
    if unsafe { fcntl(1, F_GETFD) } == -1 {
        STDOUT_CLOSED_AT_START.store(true, Ordering::Relaxed);
    }
}

/// Runs before Rust's runtime init (which would reopen a closed fd 1 on /dev/null).
#[cfg(any(target_os = "linux", target_os = "android", target_os = "freebsd"))]
#[used]
#[link_section = ".init_array"]
static PROBE_STDOUT: extern "C" fn() = probe_stdout;

#[cfg(target_vendor = "apple")]
#[used]
#[link_section = "__DATA,__mod_init_func"]
static PROBE_STDOUT: extern "C" fn() = probe_stdout;
