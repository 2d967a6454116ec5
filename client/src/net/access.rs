//! What happened to this page's access while it was open, for the notice
//! under the header: an editor narrowed the page's share link (the page is
//! read-only now, and says why), or revoked it or let it expire (the
//! connection ended for good: "This link no longer works", no reconnect).
//! Either way, edits the server did not take stay in this browser, and the
//! notice offers to copy the page's text out.

use leptos::prelude::{RwSignal, Set};
use tandem_shared::ShareKeys;
use tandem_shared::close::CloseCode;

use super::PageSession;

/// The notice the page shows about its access.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub(crate) enum AccessNotice {
    /// Nothing to say: the page has the rights it opened with (or was
    /// given more).
    #[default]
    None,
    /// An editor made this page's link view-only while it was open.
    Downgraded {
        /// The server's explanation.
        reason: String,
    },
    /// The link was revoked or has expired: the server closed the
    /// connection with 4006 and the page does not reconnect.
    Revoked {
        /// The server's explanation ("this link was revoked").
        reason: String,
    },
}

impl AccessNotice {
    /// The notice's `data-state`.
    pub(crate) fn key(&self) -> &'static str {
        match self {
            Self::None => "none",
            Self::Downgraded { .. } => "downgraded",
            Self::Revoked { .. } => "revoked",
        }
    }

    /// The notice's heading.
    pub(crate) fn heading(&self) -> &'static str {
        match self {
            Self::None => "",
            Self::Downgraded { .. } => "You can no longer edit this document",
            Self::Revoked { .. } => "This link no longer works",
        }
    }

    /// The server's reason as a sentence. (ASCII case only: the server's
    /// reasons are, and `to_uppercase` would add Unicode's case tables to
    /// the wasm.)
    pub(crate) fn reason(&self) -> String {
        let reason = match self {
            Self::None => return String::new(),
            Self::Downgraded { reason } | Self::Revoked { reason } => reason,
        };
        let mut chars = reason.chars();
        match chars.next() {
            Some(first) => format!("{}{}.", first.to_ascii_uppercase(), chars.as_str()),
            None => String::new(),
        }
    }

    /// What follows from it for the person.
    pub(crate) fn advice(&self) -> &'static str {
        match self {
            Self::None => "",
            Self::Downgraded { .. } => {
                "You can still read along live. Ask an editor for an edit link to make changes again."
            }
            Self::Revoked { .. } => "Ask an editor of the document for a new link.",
        }
    }
}

/// The page's signals a change of access shows in (the header's, from
/// `SessionSignals`).
#[derive(Debug, Clone, Copy)]
pub(super) struct AccessShown {
    /// Whether the page may only read.
    pub(super) read_only: RwSignal<bool>,
    /// The share keys it may hand out.
    pub(super) share: RwSignal<Option<ShareKeys>>,
    /// The notice under the header.
    pub(super) notice: RwSignal<AccessNotice>,
}

impl AccessShown {
    /// What the page shows after the session took an `access_changed`.
    pub(super) fn changed(self, session: &PageSession, read_only: bool, reason: String) {
        session.replica().set_read_only(read_only);
        self.read_only.set(read_only);
        self.share.set(session.share().cloned());
        self.notice.set(if read_only {
            AccessNotice::Downgraded { reason }
        } else {
            AccessNotice::None
        });
    }

    /// What the page shows after the server closed the connection with
    /// `code`: a revoked or expired link makes the page read-only for good.
    pub(super) fn closed(self, session: &PageSession, code: u16, reason: &str) {
        if CloseCode::from_number(code) != Some(CloseCode::AccessRevoked) {
            return;
        }
        session.replica().set_read_only(true);
        self.read_only.set(true);
        self.share.set(None);
        self.notice.set(AccessNotice::Revoked {
            reason: reason.to_owned(),
        });
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn notices_read_well() {
        let downgraded = AccessNotice::Downgraded {
            reason: "an editor made this link view-only".into(),
        };
        assert_eq!(downgraded.key(), "downgraded");
        assert_eq!(downgraded.reason(), "An editor made this link view-only.");
        let revoked = AccessNotice::Revoked {
            reason: "this link was revoked".into(),
        };
        assert_eq!(revoked.heading(), "This link no longer works");
        assert_eq!(revoked.reason(), "This link was revoked.");
        assert_eq!(AccessNotice::None.reason(), "");
        assert_eq!(
            AccessNotice::Revoked {
                reason: String::new()
            }
            .reason(),
            ""
        );
    }
}
