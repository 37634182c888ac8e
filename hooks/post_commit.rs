//! The post-commit hook as a small static program (x86-64 Linux), written by `git comm hooks
//! install` in place of the `sh` shim. It does what that shim does, in the same order:
//!
//! 1. runs the chained `post-commit.pre-comm`, if executable (its status does not matter:
//!    the commit is made);
//! 2. the usual case: the receipt (`<git dir>/comm-node/pre-commit-approved`) was written by
//!    the pre-commit of this very `git commit` (our parent, named by pid and start time in
//!    `/proc`), so what is committed is what it approved: the receipt is emptied, exit 0;
//! 3. anything else: `exec git-comm hook post-commit`, the git-comm first on `PATH`, else the
//!    recorded one; neither: say the commit is not checked and exit 0.
//!
//! Why not `sh`: every process linked with glibc pays its start-up (cache-size detection by
//! `cpuid`, which traps to the hypervisor in a VM: 0.6 ms CPU per process here). This program
//! uses no C library at all and takes a few system calls; a hooked commit measured 1.8 ms
//! CPU cheaper (BENCHMARKS.md, issue 23). Built by `build.rs` with the same `rustc`,
//! `#![no_std]`, `panic=abort`, linked `-static -nostdlib`; elsewhere the `sh` shim stays.
//!
//! The recorded binary lives in [`RECORDED`]: install writes the path after its tag.
#![no_std]
#![no_main]
#![no_builtins]

use core::arch::{asm, global_asm};

/// Recognised by `git comm hooks install|uninstall|status` like the `sh` shim's marker line.
#[used]
#[no_mangle]
static MARKER: [u8; 35] = *b"# git-comm hook shim (post-commit)\n";

/// `TAG` then the recorded binary's path, NUL-terminated (install fills it in).
#[used]
#[no_mangle]
static RECORDED: [u8; SLOT] = slot();

const TAG: &[u8; 32] = b"@git-comm recorded binary path:@";
const SLOT: usize = 4096;
const PATH_MAX: usize = 4096;

const fn slot() -> [u8; SLOT] {
    let mut bytes = [0u8; SLOT];
    let mut i = 0;
    while i < TAG.len() {
        bytes[i] = TAG[i];
        i += 1;
    }
    bytes
}

global_asm!(
    ".globl _start",
    "_start:",
    "mov rdi, rsp",
    "and rsp, -16",
    "call {entry}",
    "ud2",
    entry = sym entry,
);

const SYS_READ: usize = 0;
const SYS_WRITE: usize = 1;
const SYS_OPEN: usize = 2;
const SYS_CLOSE: usize = 3;
const SYS_STAT: usize = 4;
const SYS_ACCESS: usize = 21;
const SYS_FORK: usize = 57;
const SYS_EXECVE: usize = 59;
const SYS_WAIT4: usize = 61;
const SYS_GETPPID: usize = 110;
const SYS_EXIT_GROUP: usize = 231;

const O_RDONLY: usize = 0;
const O_WRONLY: usize = 1;
const O_TRUNC: usize = 0o1000;
const O_DIRECTORY: usize = 0o200000;
const O_CLOEXEC: usize = 0o2000000;
const X_OK: usize = 1;
const S_IFMT: u32 = 0o170000;
const S_IFREG: u32 = 0o100000;

unsafe fn syscall3(n: usize, a: usize, b: usize, c: usize) -> isize {
    let ret: isize;
    asm!("syscall", inlateout("rax") n as isize => ret, in("rdi") a, in("rsi") b, in("rdx") c,
         lateout("rcx") _, lateout("r11") _, options(nostack));
    ret
}

unsafe fn syscall4(n: usize, a: usize, b: usize, c: usize, d: usize) -> isize {
    let ret: isize;
    asm!("syscall", inlateout("rax") n as isize => ret, in("rdi") a, in("rsi") b, in("rdx") c,
         in("r10") d, lateout("rcx") _, lateout("r11") _, options(nostack));
    ret
}

fn exit(code: usize) -> ! {
    unsafe {
        syscall3(SYS_EXIT_GROUP, code, 0, 0);
        // exit_group does not return.
        core::hint::unreachable_unchecked()
    }
}

#[panic_handler]
fn panic(_: &core::panic::PanicInfo) -> ! {
    exit(1)
}

/// libcore is built to unwind and names this symbol; nothing here unwinds (panic=abort).
#[no_mangle]
extern "C" fn rust_eh_personality() {}

#[no_mangle]
unsafe extern "C" fn memcpy(dst: *mut u8, src: *const u8, n: usize) -> *mut u8 {
    for i in 0..n {
        *dst.add(i) = *src.add(i);
    }
    dst
}

#[no_mangle]
unsafe extern "C" fn memmove(dst: *mut u8, src: *const u8, n: usize) -> *mut u8 {
    if (dst as usize) < (src as usize) {
        return memcpy(dst, src, n);
    }
    for i in (0..n).rev() {
        *dst.add(i) = *src.add(i);
    }
    dst
}

#[no_mangle]
unsafe extern "C" fn memset(dst: *mut u8, value: i32, n: usize) -> *mut u8 {
    for i in 0..n {
        *dst.add(i) = value as u8;
    }
    dst
}

#[no_mangle]
unsafe extern "C" fn memcmp(a: *const u8, b: *const u8, n: usize) -> i32 {
    for i in 0..n {
        let (x, y) = (*a.add(i), *b.add(i));
        if x != y {
            return x as i32 - y as i32;
        }
    }
    0
}

#[no_mangle]
unsafe extern "C" fn bcmp(a: *const u8, b: *const u8, n: usize) -> i32 {
    memcmp(a, b, n)
}

/// A NUL-terminated path built in a fixed buffer.
struct CPath {
    bytes: [u8; PATH_MAX],
    len: usize,
}

impl CPath {
    fn new() -> CPath {
        CPath {
            bytes: [0; PATH_MAX],
            len: 0,
        }
    }

    fn of(parts: &[&[u8]]) -> Option<CPath> {
        let mut path = CPath::new();
        for part in parts {
            path.push(part)?;
        }
        Some(path)
    }

    fn push(&mut self, part: &[u8]) -> Option<()> {
        // Keep room for the NUL; a path with a NUL in it names nothing.
        if self.len + part.len() >= PATH_MAX || part.contains(&0) {
            return None;
        }
        self.bytes[self.len..self.len + part.len()].copy_from_slice(part);
        self.len += part.len();
        self.bytes[self.len] = 0;
        Some(())
    }

    fn ptr(&self) -> usize {
        self.bytes.as_ptr() as usize
    }
}

/// A NUL-terminated string from the process start block.
unsafe fn c_str(ptr: *const u8) -> &'static [u8] {
    let mut len = 0;
    while *ptr.add(len) != 0 {
        len += 1;
    }
    core::slice::from_raw_parts(ptr, len)
}

fn open(path: &CPath, flags: usize) -> Option<usize> {
    let fd = unsafe { syscall3(SYS_OPEN, path.ptr(), flags | O_CLOEXEC, 0) };
    (fd >= 0).then_some(fd as usize)
}

/// Up to `buf.len()` bytes of the file at `path`.
fn read_file<'a>(path: &CPath, buf: &'a mut [u8]) -> Option<&'a [u8]> {
    let fd = open(path, O_RDONLY)?;
    let mut len = 0;
    while len < buf.len() {
        let got = unsafe {
            syscall3(
                SYS_READ,
                fd,
                buf[len..].as_mut_ptr() as usize,
                buf.len() - len,
            )
        };
        if got <= 0 {
            break;
        }
        len += got as usize;
    }
    unsafe { syscall3(SYS_CLOSE, fd, 0, 0) };
    Some(&buf[..len])
}

fn executable(path: &CPath) -> bool {
    unsafe { syscall3(SYS_ACCESS, path.ptr(), X_OK, 0) == 0 }
}

/// An executable regular file, as `command -v` finds one.
fn executable_file(path: &CPath) -> bool {
    // struct stat on x86-64: st_mode is the u32 at offset 24.
    let mut stat = [0u8; 144];
    let found = unsafe { syscall3(SYS_STAT, path.ptr(), stat.as_mut_ptr() as usize, 0) } == 0;
    let mode = u32::from_le_bytes([stat[24], stat[25], stat[26], stat[27]]);
    found && mode & S_IFMT == S_IFREG && executable(path)
}

fn say(text: &[u8]) {
    unsafe { syscall3(SYS_WRITE, 2, text.as_ptr() as usize, text.len()) };
}

/// The environment as the kernel passed it: NUL-terminated `NAME=value` strings.
#[derive(Clone, Copy)]
struct Env(*const *const u8);

impl Env {
    fn get(self, name: &[u8]) -> Option<&'static [u8]> {
        let mut at = self.0;
        // SAFETY: the kernel ends the array with a null pointer.
        unsafe {
            while !(*at).is_null() {
                let entry = c_str(*at);
                if let Some(value) = entry.strip_prefix(name).and_then(|r| r.strip_prefix(b"=")) {
                    return Some(value);
                }
                at = at.add(1);
            }
        }
        None
    }
}

fn trim_line(text: &[u8]) -> &[u8] {
    let end = text
        .iter()
        .position(|&b| b == b'\n' || b == b'\r')
        .unwrap_or(text.len());
    &text[..end]
}

fn words(text: &[u8]) -> impl Iterator<Item = &[u8]> {
    text.split(|b| b.is_ascii_whitespace())
        .filter(|w| !w.is_empty())
}

fn decimal(mut n: usize, buf: &mut [u8; 20]) -> &[u8] {
    let mut at = buf.len();
    loop {
        at -= 1;
        buf[at] = b'0' + (n % 10) as u8;
        n /= 10;
        if n == 0 {
            return &buf[at..];
        }
    }
}

/// The git dir as the `sh` shim finds it: `GIT_DIR`, else `.git` (a directory, or a file
/// naming one: a linked worktree).
fn git_dir(env: Env, buf: &mut [u8]) -> Option<&[u8]> {
    if let Some(dir) = env.get(b"GIT_DIR").filter(|d| !d.is_empty()) {
        return Some(dir);
    }
    let dot_git = CPath::of(&[b".git"])?;
    if let Some(fd) = open(&dot_git, O_RDONLY | O_DIRECTORY) {
        unsafe { syscall3(SYS_CLOSE, fd, 0, 0) };
        return Some(b".git");
    }
    let text = read_file(&dot_git, buf)?;
    trim_line(text).strip_prefix(b"gitdir: ")
}

/// Our parent's start time, the 22nd field of `/proc/PID/stat` (after the command name,
/// which may hold spaces and parentheses).
fn start_time<'a>(pid: &[u8], buf: &'a mut [u8]) -> Option<&'a [u8]> {
    let stat = read_file(&CPath::of(&[b"/proc/", pid, b"/stat"])?, buf)?;
    let name_end = stat.windows(2).rposition(|w| w == b") ")?;
    words(&stat[name_end + 2..]).nth(19)
}

/// Whether the receipt was written by the pre-commit of the `git commit` running us; if so
/// it is emptied, so it never serves twice.
fn approved_by_this_commit(env: Env) -> Option<()> {
    let mut dir_buf = [0u8; PATH_MAX];
    let receipt = CPath::of(&[
        git_dir(env, &mut dir_buf)?,
        b"/comm-node/pre-commit-approved",
    ])?;
    let mut text_buf = [0u8; 512];
    let text = read_file(&receipt, &mut text_buf)?;
    let mut fields = words(trim_line(text));
    let (_when, _digest) = (fields.next()?, fields.next()?);
    let (pid, start) = (fields.next()?, fields.next()?);
    if fields.next().is_some() {
        return None;
    }
    let mut pid_buf = [0u8; 20];
    let parent = unsafe { syscall3(SYS_GETPPID, 0, 0, 0) } as usize;
    if pid != decimal(parent, &mut pid_buf) {
        return None;
    }
    let mut stat_buf = [0u8; 1024];
    if start_time(pid, &mut stat_buf)? != start {
        return None;
    }
    let fd = open(&receipt, O_WRONLY | O_TRUNC)?;
    unsafe { syscall3(SYS_CLOSE, fd, 0, 0) };
    Some(())
}

/// The directory part of the hook's path, as `${0%/*}`.
fn dir_of(path: &[u8]) -> &[u8] {
    match path.iter().rposition(|&b| b == b'/') {
        Some(at) => &path[..at],
        None => b".",
    }
}

/// Run the chained hook with our arguments and wait for it.
fn run_chained(chained: &CPath, argv: *const *const u8, envp: *const *const u8) {
    let pid = unsafe { syscall3(SYS_FORK, 0, 0, 0) };
    if pid == 0 {
        unsafe { syscall3(SYS_EXECVE, chained.ptr(), argv as usize, envp as usize) };
        say(b"git-comm: cannot run the chained post-commit.pre-comm hook\n");
        exit(126);
    }
    if pid > 0 {
        let mut status = 0i32;
        unsafe {
            syscall4(
                SYS_WAIT4,
                pid as usize,
                &mut status as *mut i32 as usize,
                0,
                0,
            )
        };
    }
}

/// The recorded binary (install wrote it after the tag).
fn recorded() -> &'static [u8] {
    let slot: &'static [u8; SLOT] = core::hint::black_box(&RECORDED);
    let path = &slot[TAG.len()..];
    let end = path.iter().position(|&b| b == 0).unwrap_or(0);
    &path[..end]
}

/// The git-comm that checks the commit: the first on `PATH`, else the recorded one.
fn git_comm(env: Env) -> Option<CPath> {
    let paths = env.get(b"PATH").unwrap_or(b"");
    for dir in paths.split(|&b| b == b':') {
        let dir: &[u8] = if dir.is_empty() { b"." } else { dir };
        if let Some(candidate) = CPath::of(&[dir, b"/git-comm"]) {
            if executable_file(&candidate) {
                return Some(candidate);
            }
        }
    }
    CPath::of(&[recorded()]).filter(executable)
}

unsafe extern "C" fn entry(stack: *const usize) -> ! {
    let argc = *stack;
    let argv = stack.add(1) as *const *const u8;
    let envp = argv.add(argc + 1);
    let env = Env(envp);
    let hook = if argc > 0 {
        c_str(*argv)
    } else {
        b"post-commit"
    };
    if let Some(chained) = CPath::of(&[dir_of(hook), b"/post-commit.pre-comm"]) {
        if executable(&chained) {
            run_chained(&chained, argv, envp);
        }
    }
    if approved_by_this_commit(env).is_some() {
        exit(0);
    }
    if let Some(comm) = git_comm(env) {
        let args: [*const u8; 4] = [
            c"git-comm".as_ptr().cast(),
            c"hook".as_ptr().cast(),
            c"post-commit".as_ptr().cast(),
            core::ptr::null(),
        ];
        syscall3(
            SYS_EXECVE,
            comm.ptr(),
            args.as_ptr() as usize,
            envp as usize,
        );
    }
    say(b"git-comm: commit made but NOT checked: git-comm is not on PATH and ");
    say(recorded());
    say(b" is missing.\n  fix: install git-comm or put it on PATH; then tell the lease holders what you committed.\n");
    exit(0)
}
