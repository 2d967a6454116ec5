//! [`TempDir`]: a scratch directory that is gone when the test is done.

use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU32, Ordering};

/// A fresh directory, removed on drop unless [`TempDir::keep`] was called.
#[derive(Debug)]
pub struct TempDir {
    /// The directory.
    path: PathBuf,
    /// Leave it on disk when dropped (a failed test's data, kept for a look).
    keep: bool,
}

impl TempDir {
    /// A fresh directory `tandem-{tag}-{pid}-{n}` in the system's temp dir.
    pub fn new(tag: &str) -> Self {
        static NEXT: AtomicU32 = AtomicU32::new(0);
        let path = std::env::temp_dir().join(format!(
            "tandem-{tag}-{}-{}",
            std::process::id(),
            NEXT.fetch_add(1, Ordering::Relaxed)
        ));
        // A leftover of an earlier process with the same pid.
        let _ = std::fs::remove_dir_all(&path);
        Self::at(path)
    }

    /// Takes `path` as a scratch directory, creating it if needed.
    pub fn at(path: PathBuf) -> Self {
        if let Err(err) = std::fs::create_dir_all(&path) {
            panic!("cannot create {}: {err}", path.display());
        }
        Self { path, keep: false }
    }

    /// The directory.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Leaves the directory on disk when this is dropped.
    pub fn keep(&mut self) {
        self.keep = true;
    }
}

impl Drop for TempDir {
    fn drop(&mut self) {
        if !self.keep {
            // Best effort: a directory we cannot remove only costs disk space.
            let _ = std::fs::remove_dir_all(&self.path);
        }
    }
}
