//! Link options for the `git-comm` binary on x86-64 Linux with glibc, where a `git commit`
//! with the hooks installed starts it once and the start was a third of the hook's cost
//! (docs/install.md, BENCHMARKS.md "issue 23, branch hook7"):
//!
//! - `-no-pie`: a position-dependent executable. A PIE of this size carries ~27,000 relative
//!   relocations that the loader applies at every start, writing ~90 pages; a
//!   fixed address needs none. Shared libraries, heap, stack and mmap stay randomized; only
//!   the binary's own code and data sit at a fixed address. `GIT_COMM_PIE=1` at build time
//!   keeps the PIE (and its ASLR) for whoever prefers that over the ~0.3 ms.
//! - The unwinder linked statically (`libgcc_eh.a`, as Rust's own `crt-static` builds do)
//!   instead of loading `libgcc_s.so.1`: one shared library less to open, map and relocate,
//!   and no `__cpu_indicator_init` constructor (`cpuid`, which traps in a VM). Rust asks for
//!   `-lgcc_s`; a directory searched first that holds `libgcc_eh.a` under the name
//!   `libgcc_s.a` answers it. Skipped when the C compiler does not have `libgcc_eh.a`.
//!
//! Only the binary is affected (`rustc-link-arg-bins`), never the library or test programs.
//!
//! On x86-64 Linux it also builds `hooks/post_commit.rs`, the post-commit hook as a static
//! program without a C library (see that file), with the same `rustc`; `hooks install`
//! writes it in place of the `sh` shim. Where it cannot be built the `sh` shim stays.

use std::path::{Path, PathBuf};
use std::process::Command;

fn main() {
    println!("cargo:rerun-if-changed=build.rs");
    println!("cargo:rerun-if-env-changed=GIT_COMM_PIE");
    build_post_commit_program();
    link_options();
}

fn link_options() {
    if !is_linux_gnu_x86_64() || cfg("TARGET_FEATURE").split(',').any(|f| f == "crt-static") {
        return;
    }
    let pie = std::env::var("GIT_COMM_PIE").is_ok_and(|v| !v.is_empty() && v != "0");
    if pie {
        println!("cargo:rustc-env=GIT_COMM_BUILT_AS_PIE=1");
    } else {
        println!("cargo:rustc-link-arg-bins=-no-pie");
    }
    if let Some(dir) = static_unwinder_dir() {
        println!("cargo:rustc-link-arg-bins=-L{}", dir.display());
        println!("cargo:rustc-env=GIT_COMM_STATIC_UNWINDER=1");
    }
}

/// `hooks/post_commit.rs` built into `OUT_DIR`; its path goes to the crate as
/// `GIT_COMM_POST_COMMIT_PROGRAM` with the cfg `post_commit_program`.
fn build_post_commit_program() {
    const SOURCE: &str = "hooks/post_commit.rs";
    println!("cargo::rustc-check-cfg=cfg(post_commit_program)");
    println!("cargo:rerun-if-changed={SOURCE}");
    if cfg("TARGET_OS") != "linux" || cfg("TARGET_ARCH") != "x86_64" {
        return;
    }
    let (Some(out_dir), Ok(target)) = (std::env::var_os("OUT_DIR"), std::env::var("TARGET")) else {
        return;
    };
    let program = PathBuf::from(out_dir).join("post-commit");
    let rustc = std::env::var("RUSTC").unwrap_or_else(|_| "rustc".to_string());
    let mut command = Command::new(rustc);
    command
        .args([
            "--edition",
            "2021",
            "--crate-type",
            "bin",
            "--crate-name",
            "post_commit",
        ])
        .args(["--target", &target])
        .args([
            "-C",
            "panic=abort",
            "-C",
            "opt-level=2",
            "-C",
            "debuginfo=0",
        ])
        .args(["-C", "strip=symbols", "-C", "relocation-model=static"])
        .args(["-C", "link-arg=-nostartfiles", "-C", "link-arg=-nostdlib"])
        .args(["-C", "link-arg=-static"]);
    if let Ok(linker) = std::env::var("RUSTC_LINKER") {
        command.arg("-C").arg(format!("linker={linker}"));
    }
    let output = command.arg("-o").arg(&program).arg(SOURCE).output();
    match output {
        Ok(out) if out.status.success() => {
            println!("cargo:rustc-cfg=post_commit_program");
            println!(
                "cargo:rustc-env=GIT_COMM_POST_COMMIT_PROGRAM={}",
                program.display()
            );
        }
        Ok(out) => println!(
            "cargo:warning=the post-commit program did not build (the sh shim is used): {}",
            String::from_utf8_lossy(&out.stderr)
                .lines()
                .next()
                .unwrap_or_default()
        ),
        Err(e) => println!("cargo:warning=cannot run rustc for the post-commit program: {e}"),
    }
}

fn cfg(name: &str) -> String {
    std::env::var(format!("CARGO_CFG_{name}")).unwrap_or_default()
}

fn is_linux_gnu_x86_64() -> bool {
    cfg("TARGET_OS") == "linux" && cfg("TARGET_ENV") == "gnu" && cfg("TARGET_ARCH") == "x86_64"
}

/// A directory holding the C compiler's `libgcc_eh.a` as `libgcc_s.a`, if it has one.
fn static_unwinder_dir() -> Option<PathBuf> {
    let compiler = std::env::var("RUSTC_LINKER").unwrap_or_else(|_| "cc".to_string());
    let output = Command::new(compiler)
        .arg("-print-file-name=libgcc_eh.a")
        .output()
        .ok()?;
    let found = PathBuf::from(String::from_utf8(output.stdout).ok()?.trim());
    // The compiler prints the bare name back when it has no such file.
    if !output.status.success() || !found.is_absolute() || !found.is_file() {
        return None;
    }
    let dir = PathBuf::from(std::env::var_os("OUT_DIR")?).join("static-unwinder");
    std::fs::create_dir_all(&dir).ok()?;
    link_or_copy(&found, &dir.join("libgcc_s.a"))?;
    Some(dir)
}

fn link_or_copy(from: &Path, to: &Path) -> Option<()> {
    let _ = std::fs::remove_file(to);
    #[cfg(unix)]
    if std::os::unix::fs::symlink(from, to).is_ok() {
        return Some(());
    }
    std::fs::copy(from, to).ok().map(|_| ())
}
