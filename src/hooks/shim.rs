//! The direct pre-commit shim: a hook file whose `#!` line names git-comm itself, so the
//! kernel starts `git-comm hook-shim <hook path>` without a shell in between (one process
//! start less on every commit).
//!
//! It keeps the `sh` shim's contract: the chained `<hook>.pre-comm` runs first and its
//! failure blocks, and a git-comm found first on `PATH` wins over the recorded binary (it is
//! started in our place). It is only written when the recorded binary is the one on `PATH`
//! at install time, so the recorded path is where the shims would look anyway; when that
//! binary is gone, git cannot start the hook and the commit is refused (fail closed).

use std::ffi::OsString;
use std::path::{Path, PathBuf};

/// The argument the `#!` line passes before the hook's path.
pub const SHIM_ARG: &str = "hook-shim";
/// Hooks that get the direct form: the one on every commit's path. post-commit keeps the
/// `sh` shim, which decides from the receipt without starting git-comm at all; pre-push
/// keeps it too (its stdin must reach both the chained hook and git-comm).
const DIRECT_HOOKS: [&str; 1] = ["pre-commit"];
/// Older kernels read only the first 127 bytes of a `#!` line; keep a margin.
const MAX_SHEBANG: usize = 120;

/// The direct shim for `hook` recording `bin`, when it applies (see the module doc).
pub fn render_direct(hook: &str, bin: &Path, marker: &str) -> Option<String> {
    if !DIRECT_HOOKS.contains(&hook) || !cfg!(unix) {
        return None;
    }
    let line = format!("#!{} {SHIM_ARG}", bin.to_str()?);
    let plain = bin.to_str()?.chars().all(|c| c.is_ascii_graphic());
    let on_path = first_on_path().is_some_and(|found| same_file(&found, bin));
    (plain && on_path && line.len() <= MAX_SHEBANG).then(|| {
        format!(
            "{line}\n{marker} ({hook}): written by `git comm hooks install`.\n\
             # The kernel starts git-comm directly: it runs {hook}.pre-comm first if there is one,\n\
             # then hands over to a git-comm found first on PATH if that is another file.\n\
             # `git comm hooks uninstall` removes it and restores the hook it replaced.\n"
        )
    })
}

/// The tag in the post-commit program after which install writes the recorded binary's
/// path (`hooks/post_commit.rs`, `RECORDED`).
const PROGRAM_TAG: &[u8] = b"@git-comm recorded binary path:@";
/// Bytes after the tag: the path and its NUL.
const PROGRAM_SLOT: usize = 4096 - PROGRAM_TAG.len();

#[cfg(post_commit_program)]
const POST_COMMIT_PROGRAM: Option<&[u8]> =
    Some(include_bytes!(env!("GIT_COMM_POST_COMMIT_PROGRAM")));
#[cfg(not(post_commit_program))]
const POST_COMMIT_PROGRAM: Option<&[u8]> = None;

/// The post-commit hook as the small static program (x86-64 Linux builds; see
/// `hooks/post_commit.rs`) recording `bin`: it does what the `sh` shim does without starting
/// a shell, which costs more than its whole check.
pub fn render_program(hook: &str, bin: &Path) -> Option<Vec<u8>> {
    let program = POST_COMMIT_PROGRAM.filter(|_| hook == "post-commit")?;
    let path = bin.to_str()?.as_bytes();
    let at = find(program, PROGRAM_TAG)? + PROGRAM_TAG.len();
    if path.len() >= PROGRAM_SLOT || path.contains(&0) || program.len() < at + PROGRAM_SLOT {
        return None;
    }
    let mut bytes = program.to_vec();
    bytes[at..at + path.len()].copy_from_slice(path);
    bytes[at + path.len()] = 0;
    Some(bytes)
}

/// The binary the post-commit program records, if `bytes` is that program.
pub fn recorded_in_program(bytes: &[u8]) -> Option<String> {
    if !bytes.starts_with(b"\x7fELF") {
        return None;
    }
    let at = find(bytes, PROGRAM_TAG)? + PROGRAM_TAG.len();
    let slot = bytes.get(at..)?;
    let end = slot.iter().position(|&b| b == 0)?;
    String::from_utf8(slot[..end].to_vec()).ok()
}

fn find(haystack: &[u8], needle: &[u8]) -> Option<usize> {
    haystack.windows(needle.len()).position(|w| w == needle)
}

/// A hook is a process of a few milliseconds: let glibc's malloc serve big buffers (the
/// index, the verified state) from the heap and never give memory back, instead of an
/// `mmap`, fresh zeroed pages and a `munmap` per buffer (about 4% of a pre-commit).
pub fn keep_freed_memory() {
    #[cfg(all(target_os = "linux", target_env = "gnu"))]
    {
        // SAFETY: mallopt only sets allocator parameters, before any thread starts.
        unsafe {
            libc::mallopt(libc::M_MMAP_THRESHOLD, 64 << 20);
            libc::mallopt(libc::M_TRIM_THRESHOLD, i32::MAX);
        }
    }
}

/// The binary a direct shim's `#!` line names.
pub fn recorded_in_direct(text: &str) -> Option<String> {
    let first = text.lines().next()?;
    let bin = first.strip_prefix("#!")?.strip_suffix(SHIM_ARG)?;
    Some(bin.strip_suffix(' ')?.to_string())
}

/// What the `sh` shim does before `exec git-comm hook <name>`, for `git-comm hook-shim
/// <hook path> ARGS`: the hook's name, or the exit code to stop with (the chained hook
/// failed, or another git-comm ran in our place).
pub fn hand_over(hook_path: &Path, args: &[OsString]) -> Result<String, i32> {
    let name = hook_path
        .file_name()
        .and_then(|n| n.to_str())
        .ok_or(2)?
        .to_string();
    run_chained(&hook_path.with_file_name(format!("{name}.pre-comm")), args)?;
    if let Some(other) = first_on_path().filter(|found| !is_current_exe(found)) {
        return Err(exec_other(&other, &name, args));
    }
    Ok(name)
}

fn run_chained(chained: &Path, args: &[OsString]) -> Result<(), i32> {
    if !is_executable(chained) {
        return Ok(());
    }
    match std::process::Command::new(chained).args(args).status() {
        Ok(status) if status.success() => Ok(()),
        Ok(status) => Err(exit_code_of(status)),
        Err(e) => {
            eprintln!("git-comm: cannot run {}: {e}", chained.display());
            Err(126)
        }
    }
}

/// A shell's `$?` for a finished child: its code, or 128 + the signal that ended it.
fn exit_code_of(status: std::process::ExitStatus) -> i32 {
    #[cfg(unix)]
    {
        use std::os::unix::process::ExitStatusExt;
        if let Some(signal) = status.signal() {
            return 128 + signal;
        }
    }
    status.code().unwrap_or(1)
}

/// Replace this process with `other hook NAME ARGS`; returns only on failure.
fn exec_other(other: &Path, name: &str, args: &[OsString]) -> i32 {
    let mut command = std::process::Command::new(other);
    command.arg("hook").arg(name).args(args);
    #[cfg(unix)]
    {
        use std::os::unix::process::CommandExt;
        let e = command.exec();
        eprintln!("git-comm: cannot run {}: {e}", other.display());
        126
    }
    #[cfg(not(unix))]
    {
        match command.status() {
            Ok(status) => exit_code_of(status),
            Err(_) => 126,
        }
    }
}

/// The first executable `git-comm` on `PATH`, as `command -v` finds it.
pub fn first_on_path() -> Option<PathBuf> {
    let paths = std::env::var_os("PATH")?;
    std::env::split_paths(&paths)
        .map(|dir| {
            let dir = if dir.as_os_str().is_empty() {
                PathBuf::from(".")
            } else {
                dir
            };
            dir.join("git-comm")
        })
        .find(|candidate| is_executable(candidate))
}

fn is_current_exe(path: &Path) -> bool {
    std::env::current_exe().is_ok_and(|me| same_file(path, &me))
}

#[cfg(unix)]
fn is_executable(path: &Path) -> bool {
    use std::os::unix::fs::PermissionsExt;
    std::fs::metadata(path).is_ok_and(|m| m.is_file() && m.permissions().mode() & 0o111 != 0)
}

#[cfg(not(unix))]
fn is_executable(path: &Path) -> bool {
    path.is_file()
}

#[cfg(unix)]
fn same_file(a: &Path, b: &Path) -> bool {
    use std::os::unix::fs::MetadataExt;
    match (std::fs::metadata(a), std::fs::metadata(b)) {
        (Ok(a), Ok(b)) => a.dev() == b.dev() && a.ino() == b.ino(),
        _ => false,
    }
}

#[cfg(not(unix))]
fn same_file(a: &Path, b: &Path) -> bool {
    a.canonicalize().ok() == b.canonicalize().ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_recorded_binary_is_read_back_from_the_shebang_line() {
        let text = "#!/opt/bin/git-comm hook-shim\n# git-comm hook shim (pre-commit)\n";
        assert_eq!(
            recorded_in_direct(text).as_deref(),
            Some("/opt/bin/git-comm")
        );
        assert_eq!(recorded_in_direct("#!/bin/sh\nrecorded='/x'\n"), None);
    }

    #[test]
    fn the_program_records_the_binary_and_reads_it_back() {
        let Some(program) = render_program("post-commit", Path::new("/opt/bin/git-comm")) else {
            assert!(
                POST_COMMIT_PROGRAM.is_none(),
                "a built program must be used"
            );
            return;
        };
        assert!(program.starts_with(b"\x7fELF"));
        // Static, no C library: no loader to name.
        assert_eq!(find(&program, b"ld-linux"), None);
        assert_eq!(
            recorded_in_program(&program).as_deref(),
            Some("/opt/bin/git-comm")
        );
        assert_eq!(
            render_program("pre-commit", Path::new("/opt/bin/git-comm")),
            None
        );
        let long = PathBuf::from(format!("/{}", "d".repeat(PROGRAM_SLOT)));
        assert_eq!(render_program("post-commit", &long), None);
        assert_eq!(recorded_in_program(b"#!/bin/sh\n"), None);
    }

    #[test]
    fn other_hooks_and_unusable_paths_keep_the_sh_shim() {
        let me = std::env::current_exe().unwrap();
        assert_eq!(render_direct("post-commit", &me, "#"), None);
        assert_eq!(render_direct("pre-push", &me, "#"), None);
        let long = PathBuf::from(format!("/{}/git-comm", "d".repeat(MAX_SHEBANG)));
        assert_eq!(render_direct("pre-commit", &long, "#"), None);
        assert_eq!(
            render_direct("pre-commit", Path::new("/a dir/git-comm"), "#"),
            None
        );
    }
}
