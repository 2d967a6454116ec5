//! The client's address behind a reverse proxy (`--trusted-proxies`).
//!
//! Behind nginx every connection comes from the proxy, so the per-address
//! connection bound would count everyone as one client. A proxy names the
//! client in `X-Forwarded-For`, appending the address it saw to whatever
//! the request already carried; the client can write anything before that.
//! So the header is read from the right: addresses of trusted proxies are
//! skipped, and the first one that is not trusted is the client. Nothing a
//! client writes is believed unless a trusted proxy vouched for it by
//! appending after it.
//!
//! Without `--trusted-proxies` (the default) the header is ignored: a client
//! connecting directly could otherwise pick its own address and slip past
//! its bound. From a trusted peer, a missing header means the proxy itself
//! is the client (a health check, say); an entry the walk reaches that is
//! not an address means the proxy is misconfigured, and the request is
//! refused with 400 rather than counted under a made-up address.

use std::net::IpAddr;
use std::str::FromStr;

use axum::http::HeaderMap;
use axum::http::header::HeaderName;
use ipnet::IpNet;

/// The header a proxy appends the client's address to.
static X_FORWARDED_FOR: HeaderName = HeaderName::from_static("x-forwarded-for");

/// A network whose addresses are trusted proxies: `10.0.0.0/8`, or one
/// address (`127.0.0.1` is `127.0.0.1/32`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct TrustedNet(IpNet);

impl FromStr for TrustedNet {
    type Err = String;

    fn from_str(text: &str) -> Result<Self, Self::Err> {
        let text = text.trim();
        let net = if text.contains('/') {
            IpNet::from_str(text).map_err(|_| format!("`{text}` is not an address or a network"))?
        } else {
            IpAddr::from_str(text)
                .map(IpNet::from)
                .map_err(|_| format!("`{text}` is not an address or a network"))?
        };
        Ok(Self(net.trunc()))
    }
}

impl std::fmt::Display for TrustedNet {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        self.0.fmt(f)
    }
}

/// `X-Forwarded-For` from a trusted proxy that does not name an address.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
#[error("invalid X-Forwarded-For from a trusted proxy: `{0}` is not an address")]
pub struct BadForwardedFor(pub String);

/// The address a request counts under: the TCP peer, or the client a
/// trusted proxy named (see the module's doc).
pub fn client_ip(
    peer: IpAddr,
    headers: &HeaderMap,
    trusted: &[TrustedNet],
) -> Result<IpAddr, BadForwardedFor> {
    let is_trusted = |ip: IpAddr| trusted.iter().any(|net| net.0.contains(&canonical(ip)));
    if !is_trusted(peer) {
        return Ok(peer);
    }
    // Several header lines are one list, in order (RFC 9110 section 5.3).
    let mut entries: Vec<&str> = Vec::new();
    for value in headers.get_all(&X_FORWARDED_FOR) {
        let value = value
            .to_str()
            .map_err(|_| BadForwardedFor("(not text)".into()))?;
        entries.extend(value.split(','));
    }
    let mut client = peer;
    for entry in entries.iter().rev() {
        let entry = entry.trim();
        let ip = parse_entry(entry).ok_or_else(|| BadForwardedFor(shorten(entry)))?;
        client = ip;
        if !is_trusted(ip) {
            break;
        }
    }
    Ok(client)
}

/// An entry of the list: an address, possibly with a port as some proxies
/// write it (`203.0.113.7:5123`, `[2001:db8::1]:5123`).
fn parse_entry(entry: &str) -> Option<IpAddr> {
    if let Ok(ip) = IpAddr::from_str(entry) {
        return Some(canonical(ip));
    }
    std::net::SocketAddr::from_str(entry)
        .ok()
        .map(|addr| canonical(addr.ip()))
}

/// An IPv4 client seen through an IPv6 socket (`::ffff:203.0.113.7`) is
/// the IPv4 address, so it matches IPv4 networks and counts as one client.
fn canonical(ip: IpAddr) -> IpAddr {
    match ip {
        IpAddr::V6(v6) => v6.to_ipv4_mapped().map_or(ip, IpAddr::V4),
        IpAddr::V4(_) => ip,
    }
}

/// Keeps an error message short whatever a proxy passed along.
fn shorten(entry: &str) -> String {
    entry.chars().take(64).collect()
}

#[cfg(test)]
mod tests {
    use axum::http::HeaderValue;

    use super::*;

    fn nets(list: &[&str]) -> Vec<TrustedNet> {
        list.iter().map(|n| n.parse().expect("net")).collect()
    }

    fn forwarded(values: &[&str]) -> HeaderMap {
        let mut headers = HeaderMap::new();
        for value in values {
            headers.append(
                X_FORWARDED_FOR.clone(),
                HeaderValue::from_str(value).expect("value"),
            );
        }
        headers
    }

    fn ip(text: &str) -> IpAddr {
        text.parse().expect("ip")
    }

    #[test]
    fn networks_and_single_addresses_parse() {
        assert_eq!(
            "10.1.2.3/8".parse::<TrustedNet>().map(|n| n.to_string()),
            Ok("10.0.0.0/8".into())
        );
        assert_eq!(
            "127.0.0.1".parse::<TrustedNet>().map(|n| n.to_string()),
            Ok("127.0.0.1/32".into())
        );
        assert_eq!(
            "::1".parse::<TrustedNet>().map(|n| n.to_string()),
            Ok("::1/128".into())
        );
        assert!("nginx".parse::<TrustedNet>().is_err());
        assert!("10.0.0.0/33".parse::<TrustedNet>().is_err());
    }

    #[test]
    fn without_trusted_proxies_the_header_is_ignored() {
        let headers = forwarded(&["203.0.113.7"]);
        assert_eq!(
            client_ip(ip("127.0.0.1"), &headers, &[]),
            Ok(ip("127.0.0.1"))
        );
    }

    #[test]
    fn an_untrusted_peer_is_the_client_whatever_it_claims() {
        let headers = forwarded(&["203.0.113.7"]);
        let trusted = nets(&["10.0.0.0/8"]);
        assert_eq!(
            client_ip(ip("198.51.100.1"), &headers, &trusted),
            Ok(ip("198.51.100.1"))
        );
    }

    #[test]
    fn the_rightmost_untrusted_entry_is_the_client() {
        let trusted = nets(&["10.0.0.0/8", "127.0.0.1"]);
        // The client wrote a fake address first; nginx appended the real one.
        let headers = forwarded(&["1.1.1.1, 203.0.113.7"]);
        assert_eq!(
            client_ip(ip("127.0.0.1"), &headers, &trusted),
            Ok(ip("203.0.113.7"))
        );
        // Through two proxies, the second one trusted too.
        let headers = forwarded(&["1.1.1.1, 203.0.113.7, 10.0.0.5"]);
        assert_eq!(
            client_ip(ip("127.0.0.1"), &headers, &trusted),
            Ok(ip("203.0.113.7"))
        );
        // Several header lines are one list.
        let headers = forwarded(&["1.1.1.1", "203.0.113.7"]);
        assert_eq!(
            client_ip(ip("127.0.0.1"), &headers, &trusted),
            Ok(ip("203.0.113.7"))
        );
    }

    #[test]
    fn garbage_before_the_client_is_never_read() {
        let trusted = nets(&["127.0.0.1"]);
        let headers = forwarded(&["not an address, 203.0.113.7"]);
        assert_eq!(
            client_ip(ip("127.0.0.1"), &headers, &trusted),
            Ok(ip("203.0.113.7"))
        );
    }

    #[test]
    fn a_trusted_peer_without_the_header_is_the_client() {
        let trusted = nets(&["127.0.0.1"]);
        assert_eq!(
            client_ip(ip("127.0.0.1"), &HeaderMap::new(), &trusted),
            Ok(ip("127.0.0.1"))
        );
    }

    #[test]
    fn every_entry_trusted_leaves_the_leftmost() {
        let trusted = nets(&["10.0.0.0/8", "127.0.0.1"]);
        let headers = forwarded(&["10.0.0.9, 10.0.0.5"]);
        assert_eq!(
            client_ip(ip("127.0.0.1"), &headers, &trusted),
            Ok(ip("10.0.0.9"))
        );
    }

    #[test]
    fn a_bad_entry_from_a_trusted_proxy_is_refused() {
        let trusted = nets(&["127.0.0.1"]);
        let headers = forwarded(&["203.0.113.7, unknown"]);
        assert_eq!(
            client_ip(ip("127.0.0.1"), &headers, &trusted),
            Err(BadForwardedFor("unknown".into()))
        );
    }

    #[test]
    fn ports_and_mapped_addresses_are_read() {
        let trusted = nets(&["127.0.0.1", "10.0.0.0/8"]);
        let headers = forwarded(&["203.0.113.7:5123"]);
        assert_eq!(
            client_ip(ip("127.0.0.1"), &headers, &trusted),
            Ok(ip("203.0.113.7"))
        );
        let headers = forwarded(&["[2001:db8::1]:443"]);
        assert_eq!(
            client_ip(ip("::ffff:127.0.0.1"), &headers, &trusted),
            Ok(ip("2001:db8::1"))
        );
        let headers = forwarded(&["::ffff:203.0.113.7"]);
        assert_eq!(
            client_ip(ip("127.0.0.1"), &headers, &trusted),
            Ok(ip("203.0.113.7"))
        );
    }
}
