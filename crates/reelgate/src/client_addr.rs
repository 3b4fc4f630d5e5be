//! Who is on the other end of a request: the TCP peer, or — when the peer is one of the
//! reverse proxies the operator trusts (`REELGATE_TRUSTED_PROXIES`) — the client the proxy
//! names in `Forwarded` / `X-Forwarded-For`. Behind the documented Caddy/nginx setup every
//! peer is the proxy, so keying the sign-in throttle on the peer locked an account for
//! everyone; believing those headers from anyone else would let any client pick its address.
//!
//! The chain is read from the right (the hop nearest us) leftwards while the hop is a trusted
//! proxy: the first address not trusted is the client. Entries further left were written by
//! the client itself and are never believed.

use axum::extract::{ConnectInfo, FromRequestParts, Request};
use axum::http::request::Parts;
use axum::http::HeaderMap;
use axum::middleware::Next;
use axum::response::Response;
use ipnet::IpNet;
use std::net::{IpAddr, SocketAddr};
use std::sync::Arc;

/// The addresses (or networks) whose forwarding headers are believed. None by default.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct TrustedProxies(Vec<IpNet>);

impl TrustedProxies {
    /// Parses `REELGATE_TRUSTED_PROXIES`: addresses or CIDRs, separated by commas or spaces.
    pub fn parse(raw: &str) -> Result<TrustedProxies, String> {
        raw.split(|c: char| c == ',' || c.is_whitespace())
            .filter(|part| !part.is_empty())
            .map(|part| {
                part.parse::<IpNet>()
                    .or_else(|_| part.parse::<IpAddr>().map(IpNet::from))
                    .map_err(|_| format!("{part:?} is neither an IP address nor a CIDR"))
            })
            .collect::<Result<Vec<_>, _>>()
            .map(TrustedProxies)
    }

    fn trusts(&self, ip: IpAddr) -> bool {
        self.0.iter().any(|net| net.contains(&ip))
    }

    /// The client's address, given the peer's and the request's headers.
    pub fn client(&self, peer: IpAddr, headers: &HeaderMap) -> IpAddr {
        let mut client = peer.to_canonical();
        if !self.trusts(client) {
            return client;
        }
        let mut hops = forwarded_for(headers).into_iter().rev();
        while self.trusts(client) {
            match hops.next() {
                Some(Some(hop)) => client = hop.to_canonical(),
                // A hop we cannot read (`unknown`, an obfuscated name) or the chain's end:
                // the nearest address we know is as far as we can see.
                Some(None) | None => break,
            }
        }
        client
    }
}

/// The forwarded-for chain, client first: from `Forwarded` (RFC 7239) if the request has it,
/// else from `X-Forwarded-For`. `None` for an entry that is not an address.
fn forwarded_for(headers: &HeaderMap) -> Vec<Option<IpAddr>> {
    let values = |name: &str| -> Vec<String> {
        headers
            .get_all(name)
            .iter()
            .filter_map(|v| v.to_str().ok())
            .flat_map(|v| v.split(','))
            .map(|s| s.trim().to_owned())
            .collect()
    };
    let forwarded = values("forwarded");
    if !forwarded.is_empty() {
        return forwarded
            .iter()
            .map(|element| {
                element
                    .split(';')
                    .filter_map(|pair| pair.split_once('='))
                    .find(|(key, _)| key.trim().eq_ignore_ascii_case("for"))
                    .and_then(|(_, value)| parse_node(value.trim().trim_matches('"')))
            })
            .collect();
    }
    values("x-forwarded-for")
        .iter()
        .map(|entry| parse_node(entry))
        .collect()
}

/// `192.0.2.1`, `192.0.2.1:4711`, `[2001:db8::1]`, `[2001:db8::1]:4711` or `2001:db8::1`.
fn parse_node(node: &str) -> Option<IpAddr> {
    if let Ok(ip) = node.parse::<IpAddr>() {
        return Some(ip);
    }
    if let Some(rest) = node.strip_prefix('[') {
        return rest.split(']').next()?.parse().ok();
    }
    node.parse::<SocketAddr>().ok().map(|s| s.ip())
}

/// The client's address, put on every request by [`resolve`]. `None` only for requests that
/// did not come through our server (in-process tests of a router).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ClientAddr(pub Option<IpAddr>);

/// Works out the client's address once per request, for the throttle, the logs and the
/// sessions list.
pub async fn resolve(
    axum::extract::State(trusted): axum::extract::State<Arc<TrustedProxies>>,
    mut request: Request,
    next: Next,
) -> Response {
    let peer = request
        .extensions()
        .get::<ConnectInfo<SocketAddr>>()
        .map(|ConnectInfo(addr)| addr.ip());
    let client = peer.map(|peer| trusted.client(peer, request.headers()));
    request.extensions_mut().insert(ClientAddr(client));
    next.run(request).await
}

impl<S: Send + Sync> FromRequestParts<S> for ClientAddr {
    type Rejection = std::convert::Infallible;

    async fn from_request_parts(parts: &mut Parts, _: &S) -> Result<Self, Self::Rejection> {
        Ok(parts
            .extensions
            .get::<ClientAddr>()
            .copied()
            .unwrap_or(ClientAddr(None)))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn headers(pairs: &[(&str, &str)]) -> HeaderMap {
        let mut map = HeaderMap::new();
        for (name, value) in pairs {
            map.append(
                axum::http::HeaderName::from_bytes(name.as_bytes()).unwrap(),
                value.parse().unwrap(),
            );
        }
        map
    }

    fn ip(s: &str) -> IpAddr {
        s.parse().unwrap()
    }

    #[test]
    fn with_no_trusted_proxy_the_peer_is_the_client_whatever_the_headers_say() {
        let none = TrustedProxies::default();
        let h = headers(&[("x-forwarded-for", "203.0.113.9")]);
        assert_eq!(none.client(ip("127.0.0.1"), &h), ip("127.0.0.1"));
    }

    #[test]
    fn a_trusted_proxy_names_the_client_and_the_client_cannot_forge_further_left() {
        let trusted = TrustedProxies::parse("127.0.0.1, 10.0.0.0/8").unwrap();
        let h = headers(&[("x-forwarded-for", "6.6.6.6, 203.0.113.9, 10.1.2.3")]);
        assert_eq!(trusted.client(ip("127.0.0.1"), &h), ip("203.0.113.9"));
        let h = headers(&[("x-forwarded-for", "203.0.113.9")]);
        assert_eq!(trusted.client(ip("192.0.2.7"), &h), ip("192.0.2.7"));
    }

    #[test]
    fn the_forwarded_header_is_read_with_ports_quotes_and_brackets() {
        let trusted = TrustedProxies::parse("::1").unwrap();
        let h = headers(&[(
            "forwarded",
            "for=6.6.6.6, for=\"[2001:db8:cafe::17]:4711\";proto=https",
        )]);
        assert_eq!(trusted.client(ip("::1"), &h), ip("2001:db8:cafe::17"));
        let h = headers(&[("forwarded", "for=192.0.2.60:8080;by=x")]);
        assert_eq!(trusted.client(ip("::1"), &h), ip("192.0.2.60"));
    }

    #[test]
    fn an_unreadable_hop_stops_the_walk() {
        let trusted = TrustedProxies::parse("127.0.0.1").unwrap();
        let h = headers(&[("forwarded", "for=203.0.113.9, for=unknown")]);
        assert_eq!(trusted.client(ip("127.0.0.1"), &h), ip("127.0.0.1"));
    }

    #[test]
    fn ipv4_mapped_peers_match_ipv4_proxies() {
        let trusted = TrustedProxies::parse("127.0.0.1").unwrap();
        let h = headers(&[("x-forwarded-for", "203.0.113.9")]);
        assert_eq!(
            trusted.client(ip("::ffff:127.0.0.1"), &h),
            ip("203.0.113.9")
        );
    }

    #[test]
    fn bad_entries_are_named() {
        let err = TrustedProxies::parse("127.0.0.1, proxy.internal").unwrap_err();
        assert!(err.contains("proxy.internal"), "{err}");
        assert_eq!(
            TrustedProxies::parse("").unwrap(),
            TrustedProxies::default()
        );
    }
}
