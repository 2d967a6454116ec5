//! The native clients' side of permessage-deflate (RFC 7692): an I/O
//! adapter that lets tungstenite, which has no extension support, read the
//! messages a Tandem server compressed. The test client, the end-to-end
//! peer and the load generator all connect through it ([`crate::socket`]).
//! The server reads with its own codec (`server/src/ws/frame.rs`); this is
//! the only other WebSocket frame reader in the workspace, and a client's.
//!
//! [`DeflateIo`] sits between a socket and tungstenite. It passes the HTTP
//! response through (noting whether the server agreed to the extension),
//! parses frame headers, passes every frame it does not own through
//! unchanged (so tungstenite still applies all of RFC 6455), and replaces a
//! compressed message (its first frame has RSV1, possibly fragmented) with
//! one uncompressed final frame, inflated with the server's own
//! [`inflate`]. Bytes are kept only for a partial frame header or a
//! compressed message being assembled. A compressed message that does not
//! inflate, that inflates past the message limit, or that breaks the
//! fragmentation rules fails the read with a [`DeflateIoError`] inside the
//! `io::Error`.

use std::io;
use std::pin::Pin;
use std::task::{Context, Poll, ready};

use tandem_server::deflate::{EXTENSION, InflateError, inflate};
use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};

/// Why a compressed message from the server was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum DeflateIoError {
    /// It does not inflate, or inflates past the limit.
    #[error(transparent)]
    Inflate(#[from] InflateError),
    /// A frame breaks the fragmentation rules around a compressed message.
    #[error("{0}")]
    Protocol(&'static str),
}

impl From<DeflateIoError> for io::Error {
    fn from(err: DeflateIoError) -> Self {
        io::Error::new(io::ErrorKind::InvalidData, err)
    }
}

/// The [`DeflateIoError`] inside an I/O error that [`DeflateIo`] returned.
pub fn inflate_error(err: &io::Error) -> Option<&DeflateIoError> {
    err.get_ref()?.downcast_ref::<DeflateIoError>()
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

/// A client's socket under tungstenite, inflating compressed messages on
/// the way in (see the module doc). Writes pass straight through.
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
    fn step(&mut self) -> Result<bool, DeflateIoError> {
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
                    return Err(DeflateIoError::Protocol(
                        "no compressed message in progress",
                    ));
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
                    let message = self.assembling.take().ok_or(DeflateIoError::Protocol(
                        "no compressed message in progress",
                    ))?;
                    let inflated = inflate(&message.payload, self.limit)?;
                    self.emit(message.opcode, &inflated);
                }
                Ok(true)
            }
            ReadState::Header => self.header(),
        }
    }

    /// Parses the frame header at the front of `input`.
    fn header(&mut self) -> Result<bool, DeflateIoError> {
        let Some(header) = FrameHeader::parse(&self.input) else {
            return Ok(false);
        };
        let control = header.opcode & 0x8 != 0;
        let ours = self.negotiated && !control && !header.rsv23;
        if ours && !self.plain_fragments && (header.opcode == 1 || header.opcode == 2) {
            if self.assembling.is_some() {
                return Err(DeflateIoError::Protocol(
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
                return Err(DeflateIoError::Protocol("RSV1 set on a continuation frame"));
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
    fn collect(&mut self, header: FrameHeader) -> Result<bool, DeflateIoError> {
        let held = self
            .assembling
            .as_ref()
            .map_or(0, |m| m.payload.len() as u64);
        if held + header.payload > self.limit as u64 {
            return Err(InflateError::TooBig(self.limit).into());
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
    use tandem_server::deflate::{AGREED, deflate};
    use tokio::io::AsyncReadExt;

    use super::*;

    #[test]
    fn clients_check_the_answer() {
        assert_eq!(server_agreed(None), Ok(false));
        assert_eq!(server_agreed(Some(AGREED)), Ok(true));
        assert!(server_agreed(Some("permessage-deflate; server_max_window_bits=9")).is_err());
        assert!(server_agreed(Some("x-other")).is_err());
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
            (
                frame(0xc2, &[0xff, 0xff, 0xff]),
                DeflateIoError::Inflate(InflateError::Corrupt),
            ),
            (
                [frame(0x42, &deflate(b"ab")), frame(0xc0, b"x")].concat(),
                DeflateIoError::Protocol("RSV1 set on a continuation frame"),
            ),
            (
                [frame(0x42, &deflate(b"ab")), frame(0x82, b"x")].concat(),
                DeflateIoError::Protocol(
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
