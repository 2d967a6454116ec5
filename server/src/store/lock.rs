//! Whether a data directory's store is in use: an advisory lock (`flock`)
//! on `{data-dir}/tandem.lock`. Every open [`SqliteStore`](super::SqliteStore)
//! holds it shared for as long as it is open (a server, a backup's reader),
//! and `tandem restore` takes it exclusively (`store::backup`). The kernel
//! drops it when the process ends, however it ends, so a crashed server
//! leaves no stale lock.

use std::fs::File;
use std::path::Path;

use super::StoreError;

/// The lock file in a data directory.
pub const LOCK_FILE: &str = "tandem.lock";

/// An advisory lock on a data directory's [`LOCK_FILE`], held until dropped.
#[derive(Debug)]
pub struct DataDirLock {
    /// The open lock file; closing it releases the lock.
    _file: File,
}

impl DataDirLock {
    /// The shared lock a store holds while open. `Ok(None)` when the file
    /// system cannot lock (a restore then cannot tell the store is in use,
    /// and says so: it cannot lock either); [`StoreError::Locked`] while a
    /// restore holds it.
    pub(super) fn for_store(data_dir: &Path) -> Result<Option<Self>, StoreError> {
        let path = data_dir.join(LOCK_FILE);
        let file = open_lock_file(&path).map_err(|source| StoreError::DataDir {
            path: path.clone(),
            source,
        })?;
        match file.try_lock_shared() {
            Ok(()) => Ok(Some(Self { _file: file })),
            Err(std::fs::TryLockError::WouldBlock) => Err(StoreError::Locked { path }),
            Err(std::fs::TryLockError::Error(err)) => {
                tracing::warn!(
                    path = %path.display(),
                    error = %err,
                    "cannot lock the data directory; `tandem restore` will not see that this store is in use"
                );
                Ok(None)
            }
        }
    }

    /// The exclusive lock of a restore; `Ok(None)` while any store (a
    /// server, a backup) has the directory open.
    pub(super) fn exclusive(data_dir: &Path) -> std::io::Result<Option<Self>> {
        let file = open_lock_file(&data_dir.join(LOCK_FILE))?;
        match file.try_lock() {
            Ok(()) => Ok(Some(Self { _file: file })),
            Err(std::fs::TryLockError::WouldBlock) => Ok(None),
            Err(std::fs::TryLockError::Error(err)) => Err(err),
        }
    }
}

fn open_lock_file(path: &Path) -> std::io::Result<File> {
    File::options()
        .read(true)
        .write(true)
        .create(true)
        .truncate(false)
        .open(path)
}
