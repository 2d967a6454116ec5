//! Errors the client meets at its edges: frames from the server, the yrs
//! document, and the browser's storage. None of them is shown raw to a
//! person; the connection and save indicators say what happened instead.

use std::fmt;

use tandem_shared::DecodeError;

/// Why something from outside the client could not be used.
#[derive(Debug)]
pub(crate) enum ClientError {
    /// A text frame was not a `ServerMsg` this client knows.
    BadControl(serde_json::Error),
    /// A binary frame was not a y-sync message.
    BadFrame(DecodeError),
    /// A CRDT update did not decode or apply.
    BadUpdate(String),
    /// The browser refused a storage operation (quota, privacy mode).
    Storage(String),
}

impl fmt::Display for ClientError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::BadControl(e) => write!(f, "unreadable control message: {e}"),
            Self::BadFrame(e) => write!(f, "unreadable sync frame: {e}"),
            Self::BadUpdate(e) => write!(f, "update does not apply: {e}"),
            Self::Storage(e) => write!(f, "browser storage failed: {e}"),
        }
    }
}

impl std::error::Error for ClientError {}

impl From<DecodeError> for ClientError {
    fn from(e: DecodeError) -> Self {
        Self::BadFrame(e)
    }
}

impl From<serde_json::Error> for ClientError {
    fn from(e: serde_json::Error) -> Self {
        Self::BadControl(e)
    }
}
