//! DNS multiaddrs (`/dns`, `/dns4`, `/dns6`), resolved before they are
//! dialed: a network's bootstrap nodes are named by host name, so that an
//! operator can move one without every player's configuration changing.
//!
//! rust-ipfs 0.16's DNS transport wraps only its in-memory transport, not
//! TCP or QUIC, so a `/dns4/…/tcp/…` address handed to the swarm fails to
//! dial; the node resolves it here with the system's resolver instead.
//! `/dnsaddr` (TXT records) needs a DNS client of its own and is refused
//! with a clear error.

use std::net::IpAddr;
use std::time::Duration;

use libp2p::Multiaddr;
use libp2p::multiaddr::Protocol;

/// How long one name may take to resolve.
pub const RESOLVE_TIMEOUT: Duration = Duration::from_secs(10);

/// Why a DNS multiaddr did not resolve.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum DnsError {
    /// `/dnsaddr` is not resolved by this node.
    #[error("{0}: /dnsaddr addresses are not supported; name the host with /dns4 or /dns6")]
    DnsAddr(Multiaddr),
    /// A DNS address needs a port (`/tcp/N` or `/udp/N`) after the name.
    #[error("{0}: a port must follow the host name")]
    NoPort(Multiaddr),
    /// The name did not resolve (to an address of the family asked for).
    #[error("{addr}: {host} did not resolve: {reason}")]
    Unresolved {
        /// The address.
        addr: Multiaddr,
        /// Its host name.
        host: String,
        /// Why.
        reason: String,
    },
}

/// Which addresses a DNS component asks for.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Family {
    Any,
    V4,
    V6,
}

/// Whether `addr` starts with a DNS component.
pub fn is_dns(addr: &Multiaddr) -> bool {
    matches!(
        addr.iter().next(),
        Some(Protocol::Dns(_) | Protocol::Dns4(_) | Protocol::Dns6(_) | Protocol::Dnsaddr(_))
    )
}

/// `addr` with its host name replaced by each of `ips` of the family it
/// asks for (the pure half of [`resolve`]).
fn substitute(addr: &Multiaddr, ips: &[IpAddr]) -> Result<Vec<Multiaddr>, DnsError> {
    let mut parts = addr.iter();
    let (family, host) = match parts.next() {
        Some(Protocol::Dns(h)) => (Family::Any, h),
        Some(Protocol::Dns4(h)) => (Family::V4, h),
        Some(Protocol::Dns6(h)) => (Family::V6, h),
        Some(Protocol::Dnsaddr(_)) => return Err(DnsError::DnsAddr(addr.clone())),
        _ => return Ok(vec![addr.clone()]),
    };
    let rest: Vec<Protocol> = parts.collect();
    let mut out = vec![];
    for ip in ips {
        let first = match (family, ip) {
            (Family::Any | Family::V4, IpAddr::V4(v4)) => Protocol::Ip4(*v4),
            (Family::Any | Family::V6, IpAddr::V6(v6)) => Protocol::Ip6(*v6),
            _ => continue,
        };
        let a: Multiaddr = std::iter::once(first).chain(rest.iter().cloned()).collect();
        if !out.contains(&a) {
            out.push(a);
        }
    }
    if out.is_empty() {
        return Err(DnsError::Unresolved {
            addr: addr.clone(),
            host: host.to_string(),
            reason: format!("no {family:?} address among {ips:?}"),
        });
    }
    Ok(out)
}

/// The IP multiaddrs `addr` names: itself when it names none by DNS, else
/// one for each address its host name resolves to (of the family `/dns4`
/// or `/dns6` asks for).
pub async fn resolve(addr: &Multiaddr) -> Result<Vec<Multiaddr>, DnsError> {
    let mut parts = addr.iter();
    let host = match parts.next() {
        Some(Protocol::Dns(h) | Protocol::Dns4(h) | Protocol::Dns6(h)) => h.to_string(),
        Some(Protocol::Dnsaddr(_)) => return Err(DnsError::DnsAddr(addr.clone())),
        _ => return Ok(vec![addr.clone()]),
    };
    let port = match parts.next() {
        Some(Protocol::Tcp(p) | Protocol::Udp(p)) => p,
        _ => return Err(DnsError::NoPort(addr.clone())),
    };
    let unresolved = |reason: String| DnsError::Unresolved {
        addr: addr.clone(),
        host: host.clone(),
        reason,
    };
    let ips: Vec<IpAddr> = tokio::time::timeout(
        RESOLVE_TIMEOUT,
        tokio::net::lookup_host((host.as_str(), port)),
    )
    .await
    .map_err(|_| unresolved(format!("no answer in {RESOLVE_TIMEOUT:?}")))?
    .map_err(|e| unresolved(e.to_string()))?
    .map(|s| s.ip())
    .collect();
    substitute(addr, &ips)
}

/// The relays a node's fetches reach providers behind NAT through: its
/// bootstrap nodes (where players reserve their circuits), each name
/// resolved to its first address; one that does not resolve is left out.
pub async fn relays(bootstrap: &[Multiaddr]) -> Vec<Multiaddr> {
    let mut out = vec![];
    for b in bootstrap {
        match resolve(b).await {
            Ok(addrs) => out.extend(addrs.into_iter().take(1)),
            Err(e) => {
                tracing::debug!(%b, error = %e, "bootstrap name not resolved for relayed fetches")
            }
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    const PEER: &str = "12D3KooWDpJ7As7BWAwRMfu1VU2WCqNjvq387JEYKDBj4kx6nXTN";

    fn ma(s: &str) -> Multiaddr {
        s.parse().unwrap()
    }

    #[test]
    fn a_name_becomes_each_address_of_its_family_and_keeps_the_rest() {
        let ips: Vec<IpAddr> = vec![
            "203.0.113.7".parse().unwrap(),
            "2001:db8::7".parse().unwrap(),
        ];
        let a = ma(&format!("/dns4/boot.example/tcp/4001/p2p/{PEER}"));
        assert_eq!(
            substitute(&a, &ips).unwrap(),
            vec![ma(&format!("/ip4/203.0.113.7/tcp/4001/p2p/{PEER}"))]
        );
        let a = ma("/dns/boot.example/udp/4001/quic-v1");
        assert_eq!(
            substitute(&a, &ips).unwrap(),
            vec![
                ma("/ip4/203.0.113.7/udp/4001/quic-v1"),
                ma("/ip6/2001:db8::7/udp/4001/quic-v1")
            ]
        );
        let v4_only: Vec<IpAddr> = vec!["203.0.113.7".parse().unwrap()];
        assert!(matches!(
            substitute(&ma("/dns6/boot.example/tcp/1"), &v4_only),
            Err(DnsError::Unresolved { .. })
        ));
        let plain = ma("/ip4/127.0.0.1/tcp/1");
        assert_eq!(substitute(&plain, &ips).unwrap(), vec![plain.clone()]);
        assert!(!is_dns(&plain));
        assert!(is_dns(&ma("/dnsaddr/bootstrap.example")));
    }

    #[tokio::test]
    async fn localhost_resolves_and_what_cannot_be_resolved_says_why() {
        let a = ma(&format!("/dns4/localhost/tcp/4001/p2p/{PEER}"));
        assert_eq!(
            resolve(&a).await.unwrap(),
            vec![ma(&format!("/ip4/127.0.0.1/tcp/4001/p2p/{PEER}"))]
        );
        assert!(matches!(
            resolve(&ma("/dnsaddr/bootstrap.example")).await,
            Err(DnsError::DnsAddr(_))
        ));
        assert!(matches!(
            resolve(&ma("/dns4/localhost")).await,
            Err(DnsError::NoPort(_))
        ));
        // `.invalid` never resolves (RFC 6761).
        let e = resolve(&ma("/dns4/cyteria.invalid/tcp/1"))
            .await
            .unwrap_err();
        assert!(e.to_string().contains("cyteria.invalid"), "{e}");
    }
}
