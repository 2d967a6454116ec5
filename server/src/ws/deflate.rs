//! permessage-deflate (RFC 7692): negotiation, compression of outgoing
//! messages and inflation of incoming ones (the server's codec,
//! [`super::frame`], calls [`inflate`]). Public for Tandem's native
//! clients: `tandem_testkit::deflate_io` reads compressed server messages
//! under tungstenite with [`inflate`] and offers [`AGREED`].
//!
//! Only the no-context-takeover form is spoken (`server_no_context_takeover;
//! client_no_context_takeover`): each message is compressed on its own, so no
//! compression window (32 KiB per direction) is held per idle socket.
//!
//! Outgoing: a message above the threshold is compressed ([`deflate`]) and
//! sent as a frame with RSV1 set; smaller ones go as they are (a ~54 B
//! keystroke update grows when deflated without shared context).

use bytes::Bytes;
use flate2::{Compress, Compression, Decompress, FlushCompress, FlushDecompress, Status};

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

#[cfg(test)]
mod tests {
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
}
