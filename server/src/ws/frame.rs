//! The server's side of RFC 6455 framing, without I/O: client frames in,
//! server frames out.
//!
//! Decoding ([`Decoder`]) takes the bytes a read brought (in the thread's
//! scratch buffer, see [`super::wire`]), unmasks each complete frame in
//! place and hands back whole messages. A connection keeps bytes only
//! between reads: the tail of a frame that is not all there yet, and the
//! payload of a fragmented message; both are freed as soon as the message
//! is complete, so an idle connection holds no buffer at all.
//!
//! Every rule tungstenite applied is applied here, each refusal a [`Close`]:
//!
//! | input | close |
//! |---|---|
//! | an unmasked frame, RSV2/RSV3, RSV1 without permessage-deflate or on a control frame or a continuation, a reserved opcode | 1002 |
//! | a control frame over 125 bytes or fragmented | 1002 |
//! | a continuation with nothing to continue, a new message inside a fragmented one | 1002 |
//! | a close frame with a 1-byte body or a code not allowed on the wire | 1002 |
//! | text (checked fragment by fragment) or a close reason that is not UTF-8 | 1007 |
//! | a message (compressed or inflated) over the limit | 1009 |
//! | a compressed message that does not inflate | 1002 |
//!
//! Compressed messages (RFC 7692, RSV1 on the first frame, only when the
//! extension was agreed) are collected and inflated when their last frame
//! arrives. Encoding is a header of at most 10 bytes ([`Header`]) put in
//! front of a shared payload, so a relayed message is never copied per
//! recipient.

use axum::extract::ws::{CloseFrame, Message, Utf8Bytes};
use bytes::Bytes;
use tandem_shared::close::{Close, CloseCode};

use super::deflate::{InflateError, inflate};

/// Opcodes (RFC 6455 section 5.2).
pub(super) const CONTINUATION: u8 = 0x0;
pub(super) const TEXT: u8 = 0x1;
pub(super) const BINARY: u8 = 0x2;
pub(super) const CLOSE: u8 = 0x8;
pub(super) const PING: u8 = 0x9;
pub(super) const PONG: u8 = 0xA;

/// Largest control frame payload (RFC 6455 section 5.5).
const MAX_CONTROL: usize = 125;

/// Decodes one connection's incoming frames (see the module doc).
#[derive(Debug)]
pub(super) struct Decoder {
    /// permessage-deflate was agreed: RSV1 marks a compressed message.
    deflate: bool,
    /// Largest message, compressed or inflated.
    limit: usize,
    /// Bytes of a frame that is not all there yet (empty, unallocated,
    /// between frames).
    pending: Vec<u8>,
    /// A fragmented message in progress. Boxed: rare, and an idle
    /// connection should not carry its room.
    message: Option<Box<Fragmented>>,
}

/// A message whose first frames have arrived.
#[derive(Debug)]
struct Fragmented {
    opcode: u8,
    compressed: bool,
    payload: Vec<u8>,
    /// How much of an uncompressed text payload is known to be UTF-8.
    valid: usize,
}

/// A parsed frame header.
#[derive(Debug, Clone, Copy)]
struct Head {
    fin: bool,
    rsv1: bool,
    opcode: u8,
    mask: [u8; 4],
    payload: usize,
    /// Length of the header itself.
    len: usize,
}

fn protocol(why: &str) -> Close {
    Close::new(CloseCode::ProtocolError, format!("protocol error: {why}"))
}

fn not_utf8() -> Close {
    Close::new(
        CloseCode::InvalidPayload,
        "text is not valid UTF-8 (a text frame or a close reason)",
    )
}

impl Decoder {
    /// A decoder for a connection that did (`deflate`) or did not agree to
    /// compression, refusing messages over `limit` bytes.
    pub(super) fn new(deflate: bool, limit: usize) -> Self {
        Self {
            deflate,
            limit,
            pending: Vec::new(),
            message: None,
        }
    }

    /// Whether bytes from earlier reads wait to be decoded.
    pub(super) fn has_pending(&self) -> bool {
        !self.pending.is_empty()
    }

    /// The next message among the bytes kept from earlier reads, if one is
    /// complete.
    pub(super) fn next_pending(&mut self) -> Result<Option<Message>, Close> {
        if self.pending.is_empty() {
            return Ok(None);
        }
        let mut pending = std::mem::take(&mut self.pending);
        let mut at = 0;
        let result = loop {
            match self.frame(&mut pending[at..]) {
                Ok(Some((used, message))) => {
                    at += used;
                    if message.is_some() {
                        break Ok(message);
                    }
                }
                Ok(None) => break Ok(None),
                Err(close) => break Err(close),
            }
        };
        if result.is_ok() && at < pending.len() {
            pending.drain(..at);
            // Keep a small tail small: a big frame's buffer goes with it.
            if pending.capacity() > 4 * pending.len().max(1024) {
                pending.shrink_to_fit();
            }
            self.pending = pending;
        }
        result
    }

    /// Decodes bytes just read (`fresh`, unmasked in place): the first
    /// complete message among them; what follows it is kept for
    /// [`next_pending`](Self::next_pending).
    pub(super) fn next_fresh(&mut self, fresh: &mut [u8]) -> Result<Option<Message>, Close> {
        if !self.pending.is_empty() {
            self.pending.extend_from_slice(fresh);
            return self.next_pending();
        }
        let mut at = 0;
        while at < fresh.len() {
            match self.frame(&mut fresh[at..])? {
                Some((used, message)) => {
                    at += used;
                    if message.is_some() {
                        self.pending.extend_from_slice(&fresh[at..]);
                        return Ok(message);
                    }
                }
                None => break,
            }
        }
        self.pending.extend_from_slice(&fresh[at..]);
        Ok(None)
    }

    /// Decodes the frame at the front of `bytes`: `None` when it is not all
    /// there, else how many bytes it took and the message it completed (if
    /// any).
    fn frame(&mut self, bytes: &mut [u8]) -> Result<Option<(usize, Option<Message>)>, Close> {
        let Some(head) = self.head(bytes)? else {
            return Ok(None);
        };
        let end = head.len + head.payload;
        if bytes.len() < end {
            return Ok(None);
        }
        let payload = &mut bytes[head.len..end];
        for (i, byte) in payload.iter_mut().enumerate() {
            *byte ^= head.mask[i % 4];
        }
        let message = self.payload(head, payload)?;
        Ok(Some((end, message)))
    }

    /// Parses and checks the header at the front of `bytes`, as soon as it
    /// is all there (before the payload: a violation or an oversized frame
    /// is refused without waiting for it).
    fn head(&self, bytes: &[u8]) -> Result<Option<Head>, Close> {
        let (Some(&first), Some(&second)) = (bytes.first(), bytes.get(1)) else {
            return Ok(None);
        };
        let fin = first & 0x80 != 0;
        let rsv1 = first & 0x40 != 0;
        let opcode = first & 0x0f;
        if first & 0x30 != 0 {
            return Err(protocol("reserved bits RSV2/RSV3 set"));
        }
        let control = opcode & 0x08 != 0;
        match opcode {
            CONTINUATION | TEXT | BINARY | CLOSE | PING | PONG => {}
            other => return Err(protocol(&format!("reserved opcode {other}"))),
        }
        if second & 0x80 == 0 {
            return Err(protocol("a client frame must be masked"));
        }
        if rsv1 {
            if control {
                return Err(protocol("reserved bit RSV1 set on a control frame"));
            }
            if !self.deflate {
                return Err(protocol(
                    "reserved bits: RSV1 set without permessage-deflate",
                ));
            }
            if opcode == CONTINUATION {
                return Err(protocol("RSV1 set on a continuation frame"));
            }
        }
        if control && !fin {
            return Err(protocol("fragmented control frame"));
        }
        if opcode == CONTINUATION && self.message.is_none() {
            return Err(protocol("continuation frame with nothing to continue"));
        }
        if (opcode == TEXT || opcode == BINARY) && self.message.is_some() {
            return Err(protocol(
                "a new message started inside a fragmented message",
            ));
        }
        let (payload, ext) = match second & 0x7f {
            126 => match bytes.get(2..4) {
                Some(len) => (u64::from(u16::from_be_bytes([len[0], len[1]])), 2),
                None => return Ok(None),
            },
            127 => match bytes.get(2..10) {
                Some(len) => {
                    let mut be = [0; 8];
                    be.copy_from_slice(len);
                    (u64::from_be_bytes(be), 8)
                }
                None => return Ok(None),
            },
            short => (u64::from(short), 0),
        };
        if payload > i64::MAX as u64 {
            return Err(protocol("payload length with its top bit set"));
        }
        if control && payload > MAX_CONTROL as u64 {
            return Err(protocol("control frame over 125 bytes"));
        }
        let held = self.message.as_ref().map_or(0, |m| m.payload.len() as u64);
        if held.saturating_add(payload) > self.limit as u64 {
            return Err(too_big(self.limit));
        }
        let Some(mask) = bytes.get(2 + ext..6 + ext) else {
            return Ok(None);
        };
        Ok(Some(Head {
            fin,
            rsv1,
            opcode,
            mask: [mask[0], mask[1], mask[2], mask[3]],
            // Under the limit, a usize.
            payload: payload as usize,
            len: 6 + ext,
        }))
    }

    /// Handles an unmasked payload: the message it completes, if any.
    fn payload(&mut self, head: Head, payload: &[u8]) -> Result<Option<Message>, Close> {
        match head.opcode {
            PING => Ok(Some(Message::Ping(Bytes::copy_from_slice(payload)))),
            PONG => Ok(Some(Message::Pong(Bytes::copy_from_slice(payload)))),
            CLOSE => close_payload(payload).map(|frame| Some(Message::Close(frame))),
            CONTINUATION => {
                let Some(message) = self.message.as_mut() else {
                    return Err(protocol("continuation frame with nothing to continue"));
                };
                message.payload.extend_from_slice(payload);
                if message.opcode == TEXT && !message.compressed {
                    check_utf8(&message.payload, &mut message.valid, head.fin)?;
                }
                if !head.fin {
                    return Ok(None);
                }
                let Some(message) = self.message.take() else {
                    return Ok(None);
                };
                let Fragmented {
                    opcode,
                    compressed,
                    payload,
                    ..
                } = *message;
                self.complete(opcode, compressed, payload).map(Some)
            }
            opcode if head.fin => self.complete(opcode, head.rsv1, payload.to_vec()).map(Some),
            opcode => {
                let mut message = Box::new(Fragmented {
                    opcode,
                    compressed: head.rsv1,
                    payload: payload.to_vec(),
                    valid: 0,
                });
                if opcode == TEXT && !head.rsv1 {
                    check_utf8(&message.payload, &mut message.valid, false)?;
                }
                self.message = Some(message);
                Ok(None)
            }
        }
    }

    /// A whole data message: inflated if `compressed`, checked if text.
    fn complete(&self, opcode: u8, compressed: bool, payload: Vec<u8>) -> Result<Message, Close> {
        let payload = if compressed {
            inflate(&payload, self.limit).map_err(|err| match err {
                InflateError::TooBig(_) => too_big(self.limit),
                other => protocol(&other.to_string()),
            })?
        } else {
            payload
        };
        if opcode == TEXT {
            let text = String::from_utf8(payload).map_err(|_| not_utf8())?;
            Ok(Message::Text(Utf8Bytes::from(text)))
        } else {
            Ok(Message::Binary(Bytes::from(payload)))
        }
    }
}

fn too_big(limit: usize) -> Close {
    Close::new(
        CloseCode::TooBig,
        format!("message larger than {limit} bytes"),
    )
}

/// Checks the UTF-8 of a text payload from `valid` on, as fragments arrive:
/// a sequence cut at the end may continue in the next fragment, unless this
/// was the last (`fin`).
fn check_utf8(payload: &[u8], valid: &mut usize, fin: bool) -> Result<(), Close> {
    match std::str::from_utf8(&payload[*valid..]) {
        Ok(_) => {
            *valid = payload.len();
            Ok(())
        }
        Err(err) if err.error_len().is_none() && !fin => {
            *valid += err.valid_up_to();
            Ok(())
        }
        Err(_) => Err(not_utf8()),
    }
}

/// Whether a peer may send `code` in a close frame (RFC 6455 section 7.4,
/// and the IANA registry): not 1004–1006, 1015, the unassigned 1014 and
/// 1016–2999, nor anything under 1000 or over 4999.
pub(super) fn close_code_allowed(code: u16) -> bool {
    matches!(code, 1000..=1003 | 1007..=1013 | 3000..=4999)
}

/// A close frame's body: empty, or a code and a UTF-8 reason.
fn close_payload(payload: &[u8]) -> Result<Option<CloseFrame>, Close> {
    match payload {
        [] => Ok(None),
        [_] => Err(protocol("close frame with a 1-byte body")),
        [high, low, reason @ ..] => {
            let code = u16::from_be_bytes([*high, *low]);
            let reason = std::str::from_utf8(reason).map_err(|_| not_utf8())?;
            if !close_code_allowed(code) {
                return Err(protocol(&format!("close code {code} is not allowed")));
            }
            Ok(Some(CloseFrame {
                code,
                reason: Utf8Bytes::from(reason),
            }))
        }
    }
}

/// A server frame's header: FIN set, unmasked, RSV1 when the payload is
/// compressed.
#[derive(Debug, Clone, Copy)]
pub(super) struct Header {
    bytes: [u8; 10],
    len: u8,
}

impl Header {
    /// The header of a final frame with `opcode` and `len` payload bytes.
    pub(super) fn new(opcode: u8, compressed: bool, len: usize) -> Self {
        let mut bytes = [0; 10];
        bytes[0] = 0x80 | if compressed { 0x40 } else { 0 } | opcode;
        let n = if len < 126 {
            bytes[1] = len as u8;
            2
        } else if let Ok(short) = u16::try_from(len) {
            bytes[1] = 126;
            bytes[2..4].copy_from_slice(&short.to_be_bytes());
            4
        } else {
            bytes[1] = 127;
            bytes[2..10].copy_from_slice(&(len as u64).to_be_bytes());
            10
        };
        Self { bytes, len: n }
    }

    /// The header's bytes.
    pub(super) fn as_bytes(&self) -> &[u8] {
        &self.bytes[..usize::from(self.len)]
    }
}

/// A close frame's body: the code and the reason (cut to fit a control
/// frame: `Close::new` already cut it; a `Close` built field by field may
/// not have been).
pub(super) fn close_body(code: u16, reason: &str) -> Bytes {
    let mut reason = reason.to_owned();
    tandem_shared::close::truncate_reason(&mut reason);
    let mut body = Vec::with_capacity(2 + reason.len());
    body.extend_from_slice(&code.to_be_bytes());
    body.extend_from_slice(reason.as_bytes());
    Bytes::from(body)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ws::deflate::deflate;

    const LIMIT: usize = 1 << 16;

    /// A client frame: first byte `first`, masked with a fixed key.
    fn masked(first: u8, payload: &[u8]) -> Vec<u8> {
        let key = [0x37, 0xfa, 0x21, 0x3d];
        let mut frame = vec![first];
        if payload.len() < 126 {
            frame.push(0x80 | payload.len() as u8);
        } else if payload.len() <= 0xffff {
            frame.push(0x80 | 126);
            frame.extend_from_slice(&(payload.len() as u16).to_be_bytes());
        } else {
            frame.push(0x80 | 127);
            frame.extend_from_slice(&(payload.len() as u64).to_be_bytes());
        }
        frame.extend_from_slice(&key);
        frame.extend(payload.iter().enumerate().map(|(i, b)| b ^ key[i % 4]));
        frame
    }

    /// Every message `wire` decodes to, fed in reads of `chunk` bytes.
    fn decode(deflate: bool, wire: &[u8], chunk: usize) -> Result<Vec<Message>, Close> {
        let mut decoder = Decoder::new(deflate, LIMIT);
        let mut out = Vec::new();
        for piece in wire.chunks(chunk) {
            let mut fresh = piece.to_vec();
            if let Some(message) = decoder.next_fresh(&mut fresh)? {
                out.push(message);
            }
            while let Some(message) = decoder.next_pending()? {
                out.push(message);
            }
        }
        assert!(!decoder.has_pending(), "nothing left over");
        assert!(decoder.message.is_none(), "no message left open");
        Ok(out)
    }

    fn refused(deflate: bool, wire: &[u8]) -> u16 {
        decode(deflate, wire, wire.len().max(1))
            .expect_err("refused")
            .code
            .number()
    }

    fn text(s: &str) -> Message {
        Message::Text(s.into())
    }

    #[test]
    fn every_violation_gets_its_close_code() {
        let deflated = deflate(b"ab");
        let cases: Vec<(&str, bool, Vec<u8>, u16)> = vec![
            (
                "unmasked",
                false,
                vec![0x82, 0x02, 0, 0], // FIN binary, unmasked
                1002,
            ),
            ("RSV1 without deflate", false, masked(0xc2, b"x"), 1002),
            ("RSV2", true, masked(0xa2, b"x"), 1002),
            ("RSV3", true, masked(0x91, b"x"), 1002),
            ("opcode 3", false, masked(0x83, b""), 1002),
            ("opcode 11", false, masked(0x8b, b""), 1002),
            ("ping of 126", false, masked(0x89, &[0; 126]), 1002),
            ("fragmented ping", false, masked(0x09, b""), 1002),
            ("RSV1 on a ping", true, masked(0xc9, b""), 1002),
            ("lone continuation", false, masked(0x80, b"x"), 1002),
            (
                "new message inside a fragmented one",
                false,
                [masked(0x02, b"a"), masked(0x82, b"b")].concat(),
                1002,
            ),
            (
                "RSV1 on a continuation",
                true,
                [masked(0x42, &deflated), masked(0xc0, b"")].concat(),
                1002,
            ),
            ("text not UTF-8", false, masked(0x81, &[0xc3, 0x28]), 1007),
            ("close of 1 byte", false, masked(0x88, &[3]), 1002),
            (
                "close 1005",
                false,
                masked(0x88, &1005u16.to_be_bytes()),
                1002,
            ),
            (
                "close 999",
                false,
                masked(0x88, &999u16.to_be_bytes()),
                1002,
            ),
            (
                "close 1014",
                false,
                masked(0x88, &1014u16.to_be_bytes()),
                1002,
            ),
            (
                "close 5000",
                false,
                masked(0x88, &5000u16.to_be_bytes()),
                1002,
            ),
            (
                "close reason not UTF-8",
                false,
                masked(0x88, &[0x03, 0xe8, 0xff]),
                1007,
            ),
            ("over the limit", false, masked(0x82, &[0; LIMIT + 1]), 1009),
            (
                "fragments over the limit",
                false,
                [
                    masked(0x02, &[0; LIMIT / 2 + 1]),
                    masked(0x80, &[0; LIMIT / 2]),
                ]
                .concat(),
                1009,
            ),
            ("does not inflate", true, masked(0xc2, &[0xff; 8]), 1002),
            (
                "inflates past the limit",
                true,
                masked(0xc2, &deflate(&[0; 4 * LIMIT])),
                1009,
            ),
            (
                "compressed text not UTF-8",
                true,
                masked(0xc1, &deflate(&[0xc3, 0x28])),
                1007,
            ),
        ];
        for (name, deflate, wire, code) in cases {
            assert_eq!(refused(deflate, &wire), code, "{name}");
        }
    }

    #[test]
    fn a_header_is_refused_before_its_payload_arrives() {
        let mut decoder = Decoder::new(false, LIMIT);
        let mut header = masked(0x82, &[0; LIMIT + 1])[..14].to_vec();
        let close = decoder.next_fresh(&mut header).expect_err("refused");
        assert_eq!(close.code, CloseCode::TooBig);
    }

    #[test]
    fn utf8_is_checked_across_fragments() {
        // "€" is e2 82 ac: cut after its first and after its second byte.
        let wire = [
            masked(0x01, b"price: \xe2"),
            masked(0x00, b"\x82"),
            masked(0x80, b"\xac 5"),
        ]
        .concat();
        assert_eq!(
            decode(false, &wire, wire.len()),
            Ok(vec![text("price: € 5")])
        );
        // A bad byte is refused at the fragment that brings it, before the
        // message is over.
        let mut decoder = Decoder::new(false, LIMIT);
        let mut first = masked(0x01, b"ok \xe2\x28");
        assert_eq!(
            decoder.next_fresh(&mut first).expect_err("refused").code,
            CloseCode::InvalidPayload
        );
        // A sequence still cut at the last fragment is refused.
        let cut = [masked(0x01, b"a"), masked(0x80, b"\xe2\x82")].concat();
        assert_eq!(refused(false, &cut), 1007);
    }

    #[test]
    fn a_compressed_fragmented_message_is_inflated_whole() {
        let text_in = "hello hello hello hello ".repeat(100);
        let packed = deflate(text_in.as_bytes());
        let (a, b) = packed.split_at(packed.len() / 2);
        let wire = [
            masked(0x41, a),             // text, RSV1, not final
            masked(0x89, b"p"),          // a ping in between
            masked(0x80, b),             // final continuation
            masked(0xc2, &deflate(b"")), // an empty compressed binary
        ]
        .concat();
        assert_eq!(
            decode(true, &wire, wire.len()),
            Ok(vec![
                Message::Ping(Bytes::from_static(b"p")),
                text(&text_in),
                Message::Binary(Bytes::new()),
            ])
        );
    }

    #[test]
    fn a_frame_split_byte_by_byte_decodes_as_whole() {
        let long = vec![7u8; 70_000];
        let packed = deflate(&[1; 300]);
        let wire = [
            masked(0x82, b"\x01\x02"),
            masked(0x81, "ünïcödé".as_bytes()),
            masked(0x82, &[9; 300]), // 16-bit length
            masked(0x8a, b""),
            masked(0x01, b"frag"),
            masked(0x80, b"ment"),
            masked(0xc2, &packed),
            masked(0x88, &[0x03, 0xe8, b'b', b'y', b'e']),
        ]
        .concat();
        let whole = decode(true, &wire, wire.len()).expect("decodes");
        assert_eq!(whole.len(), 7);
        assert_eq!(whole[4], text("fragment"));
        assert_eq!(whole[5], Message::Binary(Bytes::from(vec![1; 300])));
        assert_eq!(
            whole[6],
            Message::Close(Some(CloseFrame {
                code: 1000,
                reason: "bye".into()
            }))
        );
        for chunk in [1, 2, 3, 7, 100] {
            assert_eq!(decode(true, &wire, chunk), Ok(whole.clone()), "{chunk}");
        }
        // A 64-bit length, byte by byte too.
        let mut decoder = Decoder::new(false, 1 << 20);
        let wire = masked(0x82, &long);
        let mut got = None;
        for byte in &wire {
            let mut fresh = [*byte];
            if let Some(message) = decoder.next_fresh(&mut fresh).expect("decodes") {
                got = Some(message);
            }
        }
        assert_eq!(got, Some(Message::Binary(Bytes::from(long))));
        assert!(!decoder.has_pending());
    }

    #[test]
    fn partial_header_across_reads() {
        let wire = masked(0x82, &[5; 200]);
        for cut in 1..8 {
            let mut decoder = Decoder::new(false, LIMIT);
            let (a, b) = wire.split_at(cut);
            assert_eq!(decoder.next_fresh(&mut a.to_vec()), Ok(None), "{cut}");
            assert!(decoder.has_pending());
            assert_eq!(
                decoder.next_fresh(&mut b.to_vec()),
                Ok(Some(Message::Binary(Bytes::from(vec![5; 200])))),
                "{cut}"
            );
            assert!(!decoder.has_pending(), "freed");
        }
    }

    #[test]
    fn close_frames_without_a_code_or_with_a_valid_one() {
        let wire = masked(0x88, b"");
        assert_eq!(
            decode(false, &wire, wire.len()),
            Ok(vec![Message::Close(None)])
        );
        for code in [1000, 1001, 1003, 1007, 1011, 1012, 1013, 3000, 4999] {
            let wire = masked(0x88, &u16::to_be_bytes(code));
            assert!(decode(false, &wire, wire.len()).is_ok(), "{code}");
        }
    }

    #[test]
    fn headers_encode_all_three_lengths() {
        assert_eq!(Header::new(TEXT, false, 5).as_bytes(), [0x81, 5]);
        assert_eq!(
            Header::new(BINARY, true, 300).as_bytes(),
            [0xc2, 126, 1, 44]
        );
        assert_eq!(
            Header::new(BINARY, false, 70_000).as_bytes(),
            [0x82, 127, 0, 0, 0, 0, 0, 1, 0x11, 0x70]
        );
        assert_eq!(&close_body(4002, "slow")[..], b"\x0f\xa2slow");
        let long = close_body(1000, &"é".repeat(100));
        assert_eq!(long.len(), 2 + 122, "cut on a character boundary to fit");
    }
}
