//! How the `git-comm` binary is linked on x86-64 Linux with glibc (build.rs): a
//! position-dependent executable (no relocations to apply at start) with the unwinder linked
//! in, so a hook starts one shared library (libc) instead of two. `GIT_COMM_PIE=1` at build
//! time keeps a PIE.

mod common;

/// ELF `e_type` of the binary under test: 2 = executable at a fixed address, 3 = PIE.
#[cfg(all(target_os = "linux", target_env = "gnu", target_arch = "x86_64"))]
fn elf_type(bytes: &[u8]) -> u16 {
    assert_eq!(&bytes[..4], b"\x7fELF", "not an ELF file");
    u16::from_le_bytes([bytes[16], bytes[17]])
}

#[cfg(all(target_os = "linux", target_env = "gnu", target_arch = "x86_64"))]
#[test]
fn the_binary_is_position_dependent_unless_a_pie_was_asked_for() {
    let bytes = std::fs::read(common::bin_path()).unwrap();
    let expected = if option_env!("GIT_COMM_BUILT_AS_PIE").is_some() {
        3
    } else {
        2
    };
    assert_eq!(elf_type(&bytes), expected);
}

#[cfg(all(target_os = "linux", target_env = "gnu", target_arch = "x86_64"))]
#[test]
fn the_binary_loads_no_libgcc_s_when_the_unwinder_is_linked_in() {
    let bytes = std::fs::read(common::bin_path()).unwrap();
    let needs_libgcc_s = bytes.windows(11).any(|w| w == b"libgcc_s.so");
    let linked_in = option_env!("GIT_COMM_STATIC_UNWINDER").is_some();
    assert_eq!(needs_libgcc_s, !linked_in);
}
