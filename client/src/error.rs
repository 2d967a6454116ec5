//! Errors the client meets at its edges: the server's HTTP API, the yrs
//! document, and the browser's storage. None of them is shown raw to a
//! person: the connection and save indicators, or a short message chosen by
//! [`ClientError::explain`], say what happened instead.

use std::fmt;

/// Why something from outside the client could not be used.
#[derive(Debug)]
pub(crate) enum ClientError {
    /// A CRDT update did not decode or apply.
    BadUpdate(String),
    /// The browser refused a storage operation (quota, privacy mode).
    Storage(String),
    /// A request to the server did not get an answer (offline, refused).
    Network(String),
    /// The server answered with an error status, and maybe a reason meant
    /// for people (`{"error": "…"}`).
    Http {
        status: u16,
        message: Option<String>,
    },
    /// The server's answer was not what the API promises.
    BadResponse(String),
}

impl ClientError {
    /// A sentence for the page, after "Could not …".
    pub(crate) fn explain(&self) -> String {
        match self {
            Self::Network(_) => {
                "the server cannot be reached. Check your connection and try again.".to_owned()
            }
            Self::Http {
                message: Some(message),
                ..
            } => format!("{message}."),
            Self::Http { status, .. } => {
                format!("the server answered with an error (HTTP {status}).")
            }
            Self::BadResponse(_) | Self::BadUpdate(_) | Self::Storage(_) => {
                "something unexpected happened. Please try again.".to_owned()
            }
        }
    }
}

impl fmt::Display for ClientError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::BadUpdate(e) => write!(f, "update does not apply: {e}"),
            Self::Storage(e) => write!(f, "browser storage failed: {e}"),
            Self::Network(e) => write!(f, "request failed: {e}"),
            Self::Http { status, message } => {
                write!(
                    f,
                    "HTTP {status}: {}",
                    message.as_deref().unwrap_or("no reason")
                )
            }
            Self::BadResponse(e) => write!(f, "unexpected answer: {e}"),
        }
    }
}

impl std::error::Error for ClientError {}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn explanations_are_for_people() {
        assert_eq!(
            ClientError::Network("TypeError: Failed to fetch".into()).explain(),
            "the server cannot be reached. Check your connection and try again."
        );
        assert_eq!(
            ClientError::Http {
                status: 409,
                message: Some("this document already exists".into())
            }
            .explain(),
            "this document already exists."
        );
        assert_eq!(
            ClientError::Http {
                status: 503,
                message: None
            }
            .explain(),
            "the server answered with an error (HTTP 503)."
        );
    }
}
