//! A file's bytes mapped read-only, for files a command reads a few parts of (the index, the
//! boundary check's verified state): the pages it touches come from the page cache instead of
//! the whole file being copied into fresh heap. Only for files whose writers never shrink
//! them in place (they rename, append or unlink), so a mapping stays whole while it lives.

use std::path::Path;

/// Mapped bytes, or owned ones (built in memory, or copied from what gix decoded).
pub enum Bytes {
    Mapped(memmap2::Mmap),
    Owned(Vec<u8>),
}

impl std::ops::Deref for Bytes {
    type Target = [u8];

    fn deref(&self) -> &[u8] {
        match self {
            Bytes::Mapped(map) => map,
            Bytes::Owned(bytes) => bytes,
        }
    }
}

impl From<Vec<u8>> for Bytes {
    fn from(bytes: Vec<u8>) -> Bytes {
        Bytes::Owned(bytes)
    }
}

/// The file at `path`, mapped.
pub fn map(path: &Path) -> std::io::Result<Bytes> {
    let file = std::fs::File::open(path)?;
    // SAFETY: see the module doc; the map is read-only and only read through bounds-checked
    // slices.
    let map = unsafe { memmap2::Mmap::map(&file) }?;
    Ok(Bytes::Mapped(map))
}
