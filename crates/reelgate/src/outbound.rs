//! Guarding requests that reelgate makes to addresses a customer chose (webhook URLs) or hands
//! to Kie (image URLs): they must not reach loopback, private, link-local or unique-local
//! addresses — our own admin endpoints, the database, the cloud metadata service — unless the
//! operator allows it.
//!
//! Names are resolved here and the caller connects to exactly the addresses we checked, so a
//! DNS answer that changes between check and use (rebinding) cannot slip through.

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr};
use url::{Host, Url};

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum UrlRefused {
    #[error("must be an http or https URL")]
    Scheme,
    #[error("must name a host")]
    NoHost,
    #[error("must not contain a user name or password")]
    Credentials,
    #[error("resolves to {0}, a private or local address")]
    PrivateAddress(IpAddr),
    #[error("host {0} does not resolve")]
    Unresolvable(String),
}

/// Whether URLs may point at private networks. Off by default; operators who run customers'
/// webhook receivers next to reelgate turn it on.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct OutboundPolicy {
    pub allow_private: bool,
}

impl OutboundPolicy {
    /// Checks a URL and returns the socket addresses it may be reached at.
    pub async fn resolve(&self, url: &Url) -> Result<Vec<SocketAddr>, UrlRefused> {
        let (host, port) = self.check_syntax(url)?;
        let addrs: Vec<SocketAddr> = match host {
            Host::Ipv4(ip) => vec![SocketAddr::new(IpAddr::V4(ip), port)],
            Host::Ipv6(ip) => vec![SocketAddr::new(IpAddr::V6(ip), port)],
            Host::Domain(name) => tokio::net::lookup_host((name.as_str(), port))
                .await
                .map_err(|_| UrlRefused::Unresolvable(name.clone()))?
                .collect(),
        };
        if addrs.is_empty() {
            return Err(UrlRefused::Unresolvable(
                url.host_str().unwrap_or("").into(),
            ));
        }
        if !self.allow_private {
            if let Some(bad) = addrs.iter().find(|a| !is_public(a.ip())) {
                return Err(UrlRefused::PrivateAddress(bad.ip()));
            }
        }
        Ok(addrs)
    }

    /// The checks that need no DNS: scheme, host, credentials, and literal IP addresses
    /// (the `url` crate already normalises decimal, octal and hex IPv4 spellings).
    pub fn check_syntax(&self, url: &Url) -> Result<(Host<String>, u16), UrlRefused> {
        if !matches!(url.scheme(), "http" | "https") {
            return Err(UrlRefused::Scheme);
        }
        if !url.username().is_empty() || url.password().is_some() {
            return Err(UrlRefused::Credentials);
        }
        let host = url.host().ok_or(UrlRefused::NoHost)?.to_owned();
        let port = url.port_or_known_default().ok_or(UrlRefused::Scheme)?;
        if !self.allow_private {
            let literal = match &host {
                Host::Ipv4(ip) => Some(IpAddr::V4(*ip)),
                Host::Ipv6(ip) => Some(IpAddr::V6(*ip)),
                Host::Domain(name)
                    if name.eq_ignore_ascii_case("localhost") || name.ends_with(".localhost") =>
                {
                    Some(IpAddr::V4(Ipv4Addr::LOCALHOST))
                }
                Host::Domain(_) => None,
            };
            if let Some(ip) = literal.filter(|ip| !is_public(*ip)) {
                return Err(UrlRefused::PrivateAddress(ip));
            }
        }
        Ok((host, port))
    }
}

/// Is this an address on the public internet?
pub fn is_public(ip: IpAddr) -> bool {
    match ip {
        IpAddr::V4(v4) => is_public_v4(v4),
        IpAddr::V6(v6) => match embedded_v4(v6) {
            Some(v4) => is_public_v4(v4) && is_public_v6(v6),
            None => is_public_v6(v6),
        },
    }
}

/// The IPv4 address an IPv6 address carries, in the forms that reach one: mapped
/// (`::ffff:a.b.c.d`), SIIT-translated (`::ffff:0:a.b.c.d`) and 6to4 (`2002:AABB:CCDD::/48`).
/// A relay or translator on the path delivers to that IPv4 address, so it is what must be
/// public. (NAT64 and IPv4-compatible addresses are refused outright by `is_public_v6`.)
fn embedded_v4(ip: Ipv6Addr) -> Option<Ipv4Addr> {
    let s = ip.segments();
    let from = |hi: u16, lo: u16| {
        let [a, b] = hi.to_be_bytes();
        let [c, d] = lo.to_be_bytes();
        Ipv4Addr::new(a, b, c, d)
    };
    if let Some(v4) = ip.to_ipv4_mapped() {
        return Some(v4);
    }
    match s {
        [0, 0, 0, 0, 0xffff, 0, hi, lo] => Some(from(hi, lo)),
        [0x2002, hi, lo, ..] => Some(from(hi, lo)),
        _ => None,
    }
}

fn is_public_v4(ip: Ipv4Addr) -> bool {
    let [a, b, ..] = ip.octets();
    !(ip.is_unspecified()
        || ip.is_loopback()
        || ip.is_private()
        || ip.is_link_local()
        || ip.is_broadcast()
        || ip.is_multicast()
        || ip.is_documentation()
        || a == 0
        // carrier-grade NAT, 100.64.0.0/10
        || (a == 100 && (64..128).contains(&b))
        // IETF protocol assignments and benchmarking, 192.0.0.0/24 and 198.18.0.0/15
        || (a == 192 && b == 0 && ip.octets()[2] == 0)
        || (a == 198 && (18..20).contains(&b))
        // reserved, 240.0.0.0/4
        || a >= 240)
}

fn is_public_v6(ip: Ipv6Addr) -> bool {
    let first = ip.segments()[0];
    !(ip.is_unspecified()
        || ip.is_loopback()
        || ip.is_multicast()
        // unique local fc00::/7
        || (first & 0xfe00) == 0xfc00
        // link-local fe80::/10
        || (first & 0xffc0) == 0xfe80
        // site-local (deprecated) fec0::/10
        || (first & 0xffc0) == 0xfec0
        // documentation 2001:db8::/32
        || (first == 0x2001 && ip.segments()[1] == 0x0db8)
        // IPv4-compatible ::a.b.c.d, and NAT64 (64:ff9b::/96 and the local-use
        // 64:ff9b:1::/48), can smuggle IPv4 targets through a translator
        || ip.segments()[..6] == [0, 0, 0, 0, 0, 0]
        || (first == 0x0064 && ip.segments()[1] == 0xff9b)
        // Teredo 2001::/32 tunnels to an IPv4 address hidden in its bits
        || (first == 0x2001 && ip.segments()[1] == 0))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn refused(raw: &str) -> bool {
        let url = Url::parse(raw).unwrap();
        OutboundPolicy::default().check_syntax(&url).is_err()
    }

    #[test]
    fn loopback_private_and_link_local_literals_are_refused() {
        for raw in [
            "http://127.0.0.1/hook",
            "http://127.1/hook",
            "http://2130706433/hook", // decimal 127.0.0.1
            "http://0177.0.0.1/hook", // octal
            "http://0x7f.0.0.1/hook", // hex
            "http://10.0.0.5/hook",
            "http://172.16.3.4/hook",
            "http://192.168.1.1/hook",
            "http://169.254.169.254/latest/meta-data",
            "http://0.0.0.0/",
            "http://100.64.0.1/",
            "http://[::1]/hook",
            "http://[::ffff:127.0.0.1]/hook",
            "http://[::ffff:10.0.0.1]/hook",
            "http://[fe80::1]/hook",
            "http://[fd00::1]/hook",
            "http://[::]/hook",
            "http://localhost:8080/hook",
            "http://api.localhost/hook",
            "ftp://example.com/hook",
            "http://user:pw@example.com/hook",
        ] {
            assert!(refused(raw), "{raw} should be refused");
        }
    }

    #[test]
    fn public_addresses_pass() {
        for raw in [
            "https://example.com/hook",
            "http://93.184.216.34/x",
            "https://[2606:4700::1111]/",
            // 6to4 of a public IPv4 address (8.8.8.8)
            "https://[2002:808:808::1]/",
        ] {
            assert!(!refused(raw), "{raw} should pass");
        }
    }

    #[tokio::test]
    async fn names_resolving_to_loopback_are_refused_unless_allowed() {
        // `localhost.` with a trailing dot is a plain DNS name to the URL parser.
        let url = Url::parse("http://localhost./hook").unwrap();
        let refusal = OutboundPolicy::default().resolve(&url).await.unwrap_err();
        assert!(matches!(
            refusal,
            UrlRefused::PrivateAddress(_) | UrlRefused::Unresolvable(_)
        ));
        let allowed = OutboundPolicy {
            allow_private: true,
        };
        let url = Url::parse("http://127.0.0.1:9/hook").unwrap();
        assert_eq!(allowed.resolve(&url).await.unwrap()[0].port(), 9);
    }
}
