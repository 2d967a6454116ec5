//! [`ServerError`]: why the server could not start, or stopped with an error.
//!
//! Only start-up and the listener fail the whole server; everything else
//! (a bad frame, a failed room) is answered to the client it concerns and
//! logged.

use crate::access::AccessError;
use crate::store::StoreError;

/// Why the server could not start or stopped with an error.
#[derive(Debug, thiserror::Error)]
pub enum ServerError {
    /// The store could not be opened (missing or read-only data directory,
    /// full disk, database from a newer version…).
    #[error("cannot open storage in {dir}: {source}")]
    Store {
        /// The configured data directory.
        dir: std::path::PathBuf,
        /// What went wrong.
        source: StoreError,
    },
    /// The share-link secret could not be set up.
    #[error("cannot set up share-link keys: {0}")]
    Keys(AccessError),
    /// Serving HTTP failed.
    #[error("server failed: {0}")]
    Serve(#[from] std::io::Error),
}
