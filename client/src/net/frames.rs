//! Encoding and decoding of WebSocket messages, a thin layer over
//! `tandem_shared`: text frames are `ServerMsg`/`ClientMsg` JSON, binary
//! frames are y-sync `SyncFrame`s.

use gloo_net::websocket::Message;
use tandem_shared::{ClientMsg, ServerMsg, SyncFrame};

use crate::error::ClientError;

/// A message from the server.
#[derive(Debug)]
pub(crate) enum Incoming {
    /// A text frame.
    Control(ServerMsg),
    /// A binary frame.
    Sync(SyncFrame),
}

/// Reads one message from the server.
pub(crate) fn decode(message: Message) -> Result<Incoming, ClientError> {
    match message {
        Message::Text(text) => Ok(Incoming::Control(serde_json::from_str(&text)?)),
        Message::Bytes(bytes) => Ok(Incoming::Sync(SyncFrame::decode(&bytes)?)),
    }
}

/// A binary frame carrying `frame`.
pub(crate) fn sync(frame: &SyncFrame) -> Message {
    Message::Bytes(frame.encode())
}

/// A text frame carrying `msg`.
pub(crate) fn control(msg: &ClientMsg) -> Message {
    Message::Text(msg.to_json())
}

#[cfg(test)]
mod tests {
    use tandem_shared::ClientId;
    use yrs::StateVector;

    use super::*;

    #[test]
    fn decodes_both_kinds_of_frame() {
        let text = Message::Text(r#"{"type":"saved","updates":4}"#.into());
        assert!(matches!(
            decode(text),
            Ok(Incoming::Control(ServerMsg::Saved { updates: 4 }))
        ));
        let welcome = ServerMsg::Welcome {
            protocol: 1,
            client_id: ClientId(9),
            room: "quiet-otter".parse().expect("valid room"),
            read_only: false,
            peers: Vec::new(),
            share: None,
        };
        assert!(matches!(
            decode(Message::Text(welcome.to_json())),
            Ok(Incoming::Control(ServerMsg::Welcome {
                client_id: ClientId(9),
                ..
            }))
        ));
        let step1 = sync(&SyncFrame::Step1(StateVector::default()));
        assert_eq!(step1, Message::Bytes(vec![0, 0, 1, 0]));
        assert!(matches!(
            decode(step1),
            Ok(Incoming::Sync(SyncFrame::Step1(_)))
        ));
        assert_eq!(
            control(&ClientMsg::Ping),
            Message::Text(r#"{"type":"ping"}"#.into())
        );
    }

    #[test]
    fn refuses_what_it_cannot_read() {
        assert!(matches!(
            decode(Message::Text("{}".into())),
            Err(ClientError::BadControl(_))
        ));
        assert!(matches!(
            decode(Message::Bytes(vec![1, 0])),
            Err(ClientError::BadFrame(_))
        ));
    }
}
