//! permessage-deflate (RFC 7692): negotiation, compression of outgoing
//! messages and inflation of incoming ones (the server's codec,
//! [`super::frame`], calls [`inflate`]), and an I/O adapter
//! ([`DeflateIo`]) that lets tungstenite, which has no extension support,
//! read compressed messages: the native clients (`testkit`, `loadgen`) use
//! it on their side.
//!
//! Only the no-context-takeover form is spoken (`server_no_context_takeover;
//! client_no_context_takeover`): each message is compressed on its own, so no
//! compression window (32 KiB per direction) is held per idle socket.
//!
//! Outgoing: a message above the threshold is compressed ([`deflate`]) and
//! sent as a frame with RSV1 set; smaller ones go as they are (a ~54 B
//! keystroke update grows when deflated without shared context).
//!
//! [`DeflateIo`] sits between a socket and tungstenite. It parses frame
//! headers, passes every frame it does not own through unchanged (so
//! tungstenite still applies all of RFC 6455), and replaces a compressed
//! message (its first frame has RSV1, possibly fragmented) with one
//! uncompressed final frame. Bytes are kept only for a partial frame header
//! or a compressed message being assembled. A compressed message that does
//! not inflate, that inflates past the message limit, or that breaks the
//! fragmentation rules fails the read with an [`InflateError`] inside the
//! `io::Error`.

use std::io;
use std::pin::Pin;
use std::task::{Context, Poll, ready};

use bytes::Bytes;
use flate2::{Compress, Compression, Decompress, FlushCompress, FlushDecompress, Status};
use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};

/// The extension's name in `Sec-WebSocket-Extensions`.
pub const EXTENSION: &str = "permessage-deflate";

/// What the server answers to an acceptable offer, and what Tandem's native
/// clients offer.
pub const AGREED: &str =
    "permessage-deflate; server_no_context_takeover; client_no_context_takeover";

/// The four bytes a sync flush ends with, which the sender strips and the
/// receiver appends (RFC 7692 section 7.2.1).
const TAIL: [u8; 4] = [0x00, 0x00, 0xff, 0xff];

/// Why an incoming compressed message was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum InflateError {
    /// The payload is not a valid deflate stream.
    #[error("compressed message does not inflate")]
    Corrupt,
    /// Compressed or inflated, the message is over the limit.
    #[error("message larger than {0} bytes")]
    TooBig(usize),
    /// A frame breaks the fragmentation rules around a compressed message.
    #[error("{0}")]
    Protocol(&'static str),
}

impl From<InflateError> for io::Error {
    fn from(err: InflateError) -> Self {
        io::Error::new(io::ErrorKind::InvalidData, err)
    }
}

/// The [`InflateError`] inside an I/O error that [`DeflateIo`] returned.
pub fn inflate_error(err: &io::Error) -> Option<&InflateError> {
    err.get_ref()?.downcast_ref::<InflateError>()
}

/// The server's side of the negotiation: given the client's
/// `Sec-WebSocket-Extensions` values, whether to answer [`AGREED`].
///
/// An offer is accepted when it is `permessage-deflate` with only parameters
/// this server can honour: the two no-context-takeover flags, and
/// `client_max_window_bits` (with or without a value: inflating with a
/// 15-bit window reads any smaller one). `server_max_window_bits` below 15
/// is declined (the Rust deflate backend always uses a 32 KiB window); an
/// unknown, repeated or malformed parameter declines that offer, as RFC 7692
/// section 5 asks. Offers are tried in the client's order.
pub fn accept_offer<'a>(values: impl IntoIterator<Item = &'a str>) -> bool {
    values
        .into_iter()
        .flat_map(|value| value.split(','))
        .any(offer_acceptable)
}

fn offer_acceptable(offer: &str) -> bool {
    let mut parts = offer.split(';').map(str::trim);
    if parts.next() != Some(EXTENSION) {
        return false;
    }
    let mut seen: Vec<&str> = Vec::new();
    for param in parts {
        let (name, value) = match param.split_once('=') {
            Some((name, value)) => (name.trim(), Some(value.trim().trim_matches('"'))),
            None => (param, None),
        };
        if seen.contains(&name) {
            return false;
        }
        seen.push(name);
        let ok = match (name, value) {
            ("server_no_context_takeover" | "client_no_context_takeover", None) => true,
            ("client_max_window_bits", None) => true,
            ("client_max_window_bits", Some(bits)) => window_bits(bits).is_some(),
            ("server_max_window_bits", Some(bits)) => window_bits(bits) == Some(15),
            _ => false,
        };
        if !ok {
            return false;
        }
    }
    true
}

fn window_bits(value: &str) -> Option<u8> {
    // RFC 7692 section 7.1.2: 8 to 15, decimal, no leading zero.
    if value.starts_with('0') {
        return None;
    }
    value.parse().ok().filter(|bits| (8..=15).contains(bits))
}

/// The client's side: whether the server's `Sec-WebSocket-Extensions`
/// answer agreed to compression. `Err` when the server answered with
/// something the client did not offer (the client must fail the connection).
pub fn server_agreed(value: Option<&str>) -> Result<bool, &'static str> {
    let Some(value) = value else {
        return Ok(false);
    };
    let mut parts = value.split(';').map(str::trim);
    if parts.next() != Some(EXTENSION) || value.contains(',') {
        return Err("the server chose an extension that was not offered");
    }
    for param in parts {
        match param {
            "server_no_context_takeover" | "client_no_context_takeover" => {}
            _ => {
                return Err("the server chose a permessage-deflate parameter that was not offered");
            }
        }
    }
    Ok(true)
}

/// `payload` compressed as one permessage-deflate message, without context
/// (the sync flush's trailing `00 00 ff ff` removed).
///
/// A compressor is made per message: no context is taken over, so a
/// connection keeps none, and only messages above the threshold (sync step
/// 2, pastes) pay for setting one up. The output gets room for the worst
/// case up front, so the sync flush completes in one call: flate2's
/// `write::DeflateEncoder::flush` can leave a sync flush unfinished when its
/// buffer fills at the wrong moment (seen with Autobahn's case 12.2.9).
pub fn deflate(payload: &[u8]) -> Bytes {
    let mut compressor = Compress::new(Compression::fast(), false);
    // Stored blocks cost 5 bytes per 64 KiB; the rest is slack.
    let mut out = Vec::with_capacity(payload.len() + payload.len() / 64 + 64);
    loop {
        let used = usize::try_from(compressor.total_in()).unwrap_or(usize::MAX);
        let rest = payload.get(used..).unwrap_or_default();
        // Compressing from memory into memory cannot fail with this backend.
        let _ = compressor.compress_vec(rest, &mut out, FlushCompress::Sync);
        let done = usize::try_from(compressor.total_in()).is_ok_and(|n| n == payload.len());
        // Room left over means the flush went all the way out.
        if done && out.len() < out.capacity() {
            break;
        }
        out.reserve(out.capacity().max(64));
    }
    if out.ends_with(&TAIL) {
        out.truncate(out.len() - TAIL.len());
    }
    Bytes::from(out)
}

/// Inflates one compressed message (the payloads of its frames, joined),
/// refusing it past `limit` bytes.
pub fn inflate(compressed: &[u8], limit: usize) -> Result<Vec<u8>, InflateError> {
    let mut input = Vec::with_capacity(compressed.len() + TAIL.len());
    input.extend_from_slice(compressed);
    input.extend_from_slice(&TAIL);
    let mut inflater = Decompress::new(false);
    let start = compressed.len().saturating_mul(4).saturating_add(64);
    let mut out = Vec::with_capacity(start.min(limit.saturating_add(1)));
    loop {
        let (in_before, out_before) = (inflater.total_in(), inflater.total_out());
        let used = usize::try_from(in_before).unwrap_or(usize::MAX);
        let rest = input.get(used..).unwrap_or_default();
        let status = inflater
            .decompress_vec(rest, &mut out, FlushDecompress::Sync)
            .map_err(|_| InflateError::Corrupt)?;
        if out.len() > limit {
            return Err(InflateError::TooBig(limit));
        }
        let all_in = usize::try_from(inflater.total_in()).is_ok_and(|n| n == input.len());
        if status == Status::StreamEnd || (all_in && out.len() < out.capacity()) {
            break;
        }
        if out.len() == out.capacity() {
            if out.len() >= limit {
                return Err(InflateError::TooBig(limit));
            }
            out.reserve(out.capacity().min(limit - out.len()).max(64));
        } else if inflater.total_in() == in_before && inflater.total_out() == out_before {
            // Room to write and input left, yet no progress: not deflate.
            return Err(InflateError::Corrupt);
        }
    }
    Ok(out)
}

/// Where the reader is in the incoming byte stream.
#[derive(Debug)]
enum ReadState {
    /// (Client) the HTTP response, passed through up to its blank line.
    Response,
    /// At a frame header.
    Header,
    /// Passing `remaining` payload bytes of a frame through unchanged.
    Pass { remaining: u64 },
    /// Collecting `remaining` payload bytes of a compressed message's frame.
    Collect {
        remaining: u64,
        mask: Option<[u8; 4]>,
        /// Position in the frame's payload, for the mask.
        offset: usize,
        fin: bool,
    },
}

/// A compressed message being assembled.
#[derive(Debug)]
struct Assembling {
    opcode: u8,
    payload: Vec<u8>,
}

/// The socket under tungstenite, inflating compressed messages on the way
/// in (see the module doc). Writes pass straight through.
#[derive(Debug)]
pub struct DeflateIo<S> {
    io: S,
    /// The extension was agreed: RSV1 marks a compressed message.
    negotiated: bool,
    /// Largest message, compressed or inflated.
    limit: usize,
    state: ReadState,
    /// Bytes read from the socket and not yet handled: only a partial
    /// header, or the start of a frame being collected or passed.
    input: Vec<u8>,
    /// Bytes ready for tungstenite, from `out_pos` on.
    out: Vec<u8>,
    out_pos: usize,
    /// A plain (uncompressed) fragmented message is in progress.
    plain_fragments: bool,
    /// Boxed: rare, and an idle connection should not carry its room.
    assembling: Option<Box<Assembling>>,
}

/// Bytes read from the socket at a time (on the stack, not kept).
const SCRATCH: usize = 4096;

impl<S> DeflateIo<S> {
    /// A client's socket, before the upgrade request is written: the
    /// response passes through, and says whether compression was agreed.
    pub fn client(io: S, limit: usize) -> Self {
        Self {
            io,
            negotiated: false,
            limit,
            state: ReadState::Response,
            input: Vec::new(),
            out: Vec::new(),
            out_pos: 0,
            plain_fragments: false,
            assembling: None,
        }
    }

    /// Whether the extension is in use on this connection.
    pub fn negotiated(&self) -> bool {
        self.negotiated
    }

    /// The socket.
    pub fn get_ref(&self) -> &S {
        &self.io
    }

    /// Moves `n` bytes from the front of `input` to `out`.
    fn pass(&mut self, n: usize) {
        self.out.extend_from_slice(&self.input[..n]);
        self.input.drain(..n);
    }

    /// Handles what `input` holds; `Ok(false)` when more bytes are needed.
    fn step(&mut self) -> Result<bool, InflateError> {
        match self.state {
            ReadState::Response => {
                let Some(end) = self.input.windows(4).position(|w| w == b"\r\n\r\n") else {
                    return Ok(false);
                };
                let head = String::from_utf8_lossy(&self.input[..end]);
                self.negotiated = head.lines().any(|line| {
                    line.split_once(':').is_some_and(|(name, value)| {
                        name.trim().eq_ignore_ascii_case("sec-websocket-extensions")
                            && value.trim().starts_with(EXTENSION)
                    })
                });
                self.pass(end + 4);
                self.state = ReadState::Header;
                Ok(true)
            }
            ReadState::Pass { remaining } => {
                if self.input.is_empty() {
                    return Ok(false);
                }
                let n = usize::try_from(remaining)
                    .unwrap_or(usize::MAX)
                    .min(self.input.len());
                self.pass(n);
                let remaining = remaining - n as u64;
                self.state = if remaining == 0 {
                    ReadState::Header
                } else {
                    ReadState::Pass { remaining }
                };
                Ok(true)
            }
            ReadState::Collect {
                remaining,
                mask,
                offset,
                fin,
            } => {
                if remaining > 0 && self.input.is_empty() {
                    return Ok(false);
                }
                let n = usize::try_from(remaining)
                    .unwrap_or(usize::MAX)
                    .min(self.input.len());
                let Some(message) = self.assembling.as_mut() else {
                    return Err(InflateError::Protocol("no compressed message in progress"));
                };
                let start = message.payload.len();
                message.payload.extend_from_slice(&self.input[..n]);
                if let Some(key) = mask {
                    for (i, byte) in message.payload[start..].iter_mut().enumerate() {
                        *byte ^= key[(offset + i) % 4];
                    }
                }
                self.input.drain(..n);
                let remaining = remaining - n as u64;
                if remaining > 0 {
                    self.state = ReadState::Collect {
                        remaining,
                        mask,
                        offset: offset + n,
                        fin,
                    };
                    return Ok(true);
                }
                self.state = ReadState::Header;
                if fin {
                    let message = self
                        .assembling
                        .take()
                        .ok_or(InflateError::Protocol("no compressed message in progress"))?;
                    let inflated = inflate(&message.payload, self.limit)?;
                    self.emit(message.opcode, &inflated);
                }
                Ok(true)
            }
            ReadState::Header => self.header(),
        }
    }

    /// Parses the frame header at the front of `input`.
    fn header(&mut self) -> Result<bool, InflateError> {
        let Some(header) = FrameHeader::parse(&self.input) else {
            return Ok(false);
        };
        let control = header.opcode & 0x8 != 0;
        let ours = self.negotiated && !control && !header.rsv23;
        if ours && !self.plain_fragments && (header.opcode == 1 || header.opcode == 2) {
            if self.assembling.is_some() {
                return Err(InflateError::Protocol(
                    "a new message started inside a fragmented compressed message",
                ));
            }
            if header.rsv1 {
                self.input.drain(..header.len);
                self.assembling = Some(Box::new(Assembling {
                    opcode: header.opcode,
                    payload: Vec::new(),
                }));
                return self.collect(header);
            }
            self.plain_fragments = !header.fin;
        } else if ours && header.opcode == 0 && self.assembling.is_some() {
            if header.rsv1 {
                return Err(InflateError::Protocol("RSV1 set on a continuation frame"));
            }
            self.input.drain(..header.len);
            return self.collect(header);
        } else if ours && header.opcode == 0 && header.fin {
            self.plain_fragments = false;
        }
        // Not ours: tungstenite judges it (including RSV1 where it is not
        // allowed).
        self.pass(header.len);
        self.state = if header.payload == 0 {
            ReadState::Header
        } else {
            ReadState::Pass {
                remaining: header.payload,
            }
        };
        Ok(true)
    }

    /// Starts collecting a compressed frame's payload.
    fn collect(&mut self, header: FrameHeader) -> Result<bool, InflateError> {
        let held = self
            .assembling
            .as_ref()
            .map_or(0, |m| m.payload.len() as u64);
        if held + header.payload > self.limit as u64 {
            return Err(InflateError::TooBig(self.limit));
        }
        self.state = ReadState::Collect {
            remaining: header.payload,
            mask: header.mask,
            offset: 0,
            fin: header.fin,
        };
        Ok(true)
    }

    /// Writes an uncompressed final (server, so unmasked) frame carrying
    /// `payload` for tungstenite.
    fn emit(&mut self, opcode: u8, payload: &[u8]) {
        self.out.push(0x80 | opcode);
        let len = payload.len();
        if len < 126 {
            self.out.push(len as u8);
        } else if let Ok(short) = u16::try_from(len) {
            self.out.push(126);
            self.out.extend_from_slice(&short.to_be_bytes());
        } else {
            self.out.push(127);
            self.out.extend_from_slice(&(len as u64).to_be_bytes());
        }
        self.out.extend_from_slice(payload);
    }
}

/// The parts of a frame header this adapter needs.
#[derive(Debug, Clone, Copy)]
struct FrameHeader {
    fin: bool,
    rsv1: bool,
    rsv23: bool,
    opcode: u8,
    mask: Option<[u8; 4]>,
    payload: u64,
    /// Length of the header itself.
    len: usize,
}

impl FrameHeader {
    /// The header at the front of `bytes`, or `None` if it is not all there.
    fn parse(bytes: &[u8]) -> Option<Self> {
        let (&first, rest) = bytes.split_first()?;
        let (&second, rest) = rest.split_first()?;
        let (payload, ext) = match second & 0x7f {
            126 => (
                u64::from(u16::from_be_bytes(rest.get(..2)?.try_into().ok()?)),
                2,
            ),
            127 => (u64::from_be_bytes(rest.get(..8)?.try_into().ok()?), 8),
            short => (u64::from(short), 0),
        };
        let masked = second & 0x80 != 0;
        let mask = if masked {
            Some(rest.get(ext..ext + 4)?.try_into().ok()?)
        } else {
            None
        };
        Some(Self {
            fin: first & 0x80 != 0,
            rsv1: first & 0x40 != 0,
            rsv23: first & 0x30 != 0,
            opcode: first & 0x0f,
            mask,
            payload,
            len: 2 + ext + if masked { 4 } else { 0 },
        })
    }
}

impl<S: AsyncRead + Unpin> AsyncRead for DeflateIo<S> {
    fn poll_read(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        let this = &mut *self;
        loop {
            if this.out_pos < this.out.len() {
                let n = (this.out.len() - this.out_pos).min(buf.remaining());
                buf.put_slice(&this.out[this.out_pos..this.out_pos + n]);
                this.out_pos += n;
                if this.out_pos == this.out.len() {
                    this.out_pos = 0;
                    // Give a big message's memory back; keep nothing while idle.
                    this.out = Vec::new();
                }
                return Poll::Ready(Ok(()));
            }
            if this.step()? {
                continue;
            }
            if this.input.is_empty() {
                this.input = Vec::new();
            }
            let mut scratch = [0u8; SCRATCH];
            let mut read = ReadBuf::new(&mut scratch);
            ready!(Pin::new(&mut this.io).poll_read(cx, &mut read))?;
            if read.filled().is_empty() {
                // The end of the stream: tungstenite sees it as it is.
                return Poll::Ready(Ok(()));
            }
            this.input.extend_from_slice(read.filled());
        }
    }
}

impl<S: AsyncWrite + Unpin> AsyncWrite for DeflateIo<S> {
    fn poll_write(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        Pin::new(&mut self.io).poll_write(cx, buf)
    }

    fn poll_write_vectored(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[io::IoSlice<'_>],
    ) -> Poll<io::Result<usize>> {
        Pin::new(&mut self.io).poll_write_vectored(cx, bufs)
    }

    fn is_write_vectored(&self) -> bool {
        self.io.is_write_vectored()
    }

    fn poll_flush(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.io).poll_flush(cx)
    }

    fn poll_shutdown(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.io).poll_shutdown(cx)
    }
}

#[cfg(test)]
mod tests {
    use tokio::io::AsyncReadExt;

    use super::*;

    #[test]
    fn offers_browsers_and_clients_make_are_accepted() {
        assert!(accept_offer(["permessage-deflate; client_max_window_bits"]));
        assert!(accept_offer([AGREED]));
        assert!(accept_offer([
            "x-webkit-deflate-frame",
            "permessage-deflate; client_max_window_bits=10"
        ]));
        assert!(accept_offer([
            "permessage-deflate; server_max_window_bits=10, permessage-deflate"
        ]));
    }

    #[test]
    fn offers_this_server_cannot_honour_are_declined() {
        assert!(!accept_offer(Vec::<&str>::new()));
        assert!(!accept_offer([
            "permessage-deflate; server_max_window_bits=10"
        ]));
        assert!(!accept_offer([
            "permessage-deflate; client_max_window_bits=16"
        ]));
        assert!(!accept_offer([
            "permessage-deflate; client_max_window_bits=08"
        ]));
        assert!(!accept_offer(["permessage-deflate; mystery"]));
        assert!(!accept_offer([
            "permessage-deflate; server_no_context_takeover; server_no_context_takeover"
        ]));
        assert!(!accept_offer(["deflate-stream"]));
    }

    #[test]
    fn clients_check_the_answer() {
        assert_eq!(server_agreed(None), Ok(false));
        assert_eq!(server_agreed(Some(AGREED)), Ok(true));
        assert!(server_agreed(Some("permessage-deflate; server_max_window_bits=9")).is_err());
        assert!(server_agreed(Some("x-other")).is_err());
    }

    #[test]
    fn deflate_and_inflate_round_trip() {
        let text: Vec<u8> = (0..20_000u32)
            .flat_map(|i| (i % 97).to_le_bytes())
            .collect();
        let packed = deflate(&text);
        assert!(packed.len() < text.len() / 4, "{} bytes", packed.len());
        assert!(!packed.ends_with(&TAIL));
        assert!(inflate(&packed, 1 << 20).expect("inflates") == text);
        assert_eq!(inflate(&deflate(b""), 16).expect("empty"), b"");
        let random: Vec<u8> = (0..50_000).map(|_| fastrand::u8(..)).collect();
        assert!(inflate(&deflate(&random), 1 << 20).expect("random") == random);
    }

    #[test]
    fn large_messages_of_every_kind_round_trip() {
        let mut rng = fastrand::Rng::with_seed(5);
        for len in [16, 1000, 16_384, 65_535, 65_536, 131_072] {
            let random: Vec<u8> = (0..len).map(|_| rng.u8(..)).collect();
            let text: Vec<u8> = (0..len).map(|_| rng.alphanumeric() as u8).collect();
            let zeros = vec![0u8; len];
            for (kind, data) in [("random", random), ("text", text), ("zeros", zeros)] {
                let back = inflate(&deflate(&data), 1 << 20).expect("inflates");
                assert!(back == data, "{kind} {len}: {} bytes back", back.len());
            }
        }
    }

    /// Image-like data in 64 KiB slices: with flate2's
    /// `write::DeflateEncoder::flush` (the first implementation) every one of
    /// these came back short, as Autobahn's case 12.2.9 found.
    #[test]
    fn a_full_output_buffer_does_not_cut_the_sync_flush() {
        let mut rng = fastrand::Rng::with_seed(9);
        let image: Vec<u8> = (0..262_144u32)
            .map(|i| {
                let (x, y) = (i % 512, i / 512);
                (((x ^ y) >> 2) as u8).wrapping_add(rng.u8(..4))
            })
            .collect();
        for k in 0..64 {
            let start = (k * 65_536 + k * 977) % (image.len() - 65_536);
            let slice = &image[start..start + 65_536];
            let back = inflate(&deflate(slice), 1 << 20).expect("inflates");
            assert!(back == slice, "slice {k}: {} bytes back", back.len());
        }
    }

    #[test]
    fn inflating_past_the_limit_or_garbage_is_refused() {
        let zeros = deflate(&[0; 100_000]);
        assert_eq!(inflate(&zeros, 10_000), Err(InflateError::TooBig(10_000)));
        assert_eq!(
            inflate(&[0xff, 0xff, 0xff], 100),
            Err(InflateError::Corrupt)
        );
    }

    /// A server frame (unmasked) with the given first byte.
    fn frame(first: u8, payload: &[u8]) -> Vec<u8> {
        let mut frame = vec![first];
        if payload.len() < 126 {
            frame.push(payload.len() as u8);
        } else {
            frame.push(126);
            frame.extend_from_slice(&(payload.len() as u16).to_be_bytes());
        }
        frame.extend_from_slice(payload);
        frame
    }

    /// What a client's tungstenite reads when the server answered the
    /// upgrade with (`negotiated`) or without the extension and sent `wire`.
    async fn read_all(wire: Vec<u8>, negotiated: bool) -> io::Result<Vec<u8>> {
        let response = if negotiated {
            format!(
                "HTTP/1.1 101 Switching Protocols\r\nSec-WebSocket-Extensions: {AGREED}\r\n\r\n"
            )
        } else {
            "HTTP/1.1 101 Switching Protocols\r\n\r\n".to_string()
        };
        let input = [response.as_bytes(), &wire].concat();
        let mut io = DeflateIo::client(&input[..], 1 << 20);
        let mut out = Vec::new();
        io.read_to_end(&mut out).await?;
        assert_eq!(io.negotiated(), negotiated);
        Ok(out[response.len()..].to_vec())
    }

    #[tokio::test]
    async fn a_compressed_fragmented_message_becomes_one_frame() {
        let text = "hello hello hello hello ".repeat(100);
        let packed = deflate(text.as_bytes());
        let (a, b) = packed.split_at(packed.len() / 2);
        let mut wire = frame(0x40 | 0x01, a); // text, RSV1, not final
        wire.extend(frame(0x89, b"p")); // a ping in between
        wire.extend(frame(0x80, b)); // final continuation
        let out = read_all(wire, true).await.expect("reads");
        // The ping passes first, then one final text frame.
        assert_eq!(out[..3], frame(0x89, b"p")[..]);
        let frame = &out[3..];
        assert_eq!(frame[0], 0x81);
        let header = FrameHeader::parse(frame).expect("header");
        assert_eq!(header.mask, None);
        assert_eq!(&frame[header.len..], text.as_bytes());
    }

    #[tokio::test]
    async fn plain_frames_and_unnegotiated_rsv1_pass_through_unchanged() {
        let mut wire = frame(0x82, &[7; 300]);
        wire.extend(frame(0x01, b"ab"));
        wire.extend(frame(0x80, b"cd"));
        assert_eq!(read_all(wire.clone(), true).await.expect("reads"), wire);
        let rsv1 = frame(0xc2, &deflate(b"x"));
        assert_eq!(read_all(rsv1.clone(), false).await.expect("reads"), rsv1);
    }

    #[tokio::test]
    async fn broken_compressed_messages_fail_the_read() {
        let cases = [
            (frame(0xc2, &[0xff, 0xff, 0xff]), InflateError::Corrupt),
            (
                [frame(0x42, &deflate(b"ab")), frame(0xc0, b"x")].concat(),
                InflateError::Protocol("RSV1 set on a continuation frame"),
            ),
            (
                [frame(0x42, &deflate(b"ab")), frame(0x82, b"x")].concat(),
                InflateError::Protocol(
                    "a new message started inside a fragmented compressed message",
                ),
            ),
        ];
        for (wire, expected) in cases {
            let err = read_all(wire, true).await.expect_err("refused");
            assert_eq!(inflate_error(&err), Some(&expected));
        }
    }
}
