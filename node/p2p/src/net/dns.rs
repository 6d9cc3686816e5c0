//! DNS multiaddrs (`/dns`, `/dns4`, `/dns6`, `/dnsaddr`), resolved before they are
//! dialed: a network's bootstrap nodes are named by host name, so that an
//! operator can move one without every player's configuration changing.
//!
//! rust-ipfs 0.16's DNS transport wraps only its in-memory transport, not
//! TCP or QUIC, so a `/dns4/…/tcp/…` address handed to the swarm fails to
//! dial; the node resolves it here with the system's resolver instead.
//! `/dnsaddr/<host>` names the addresses in the TXT records of
//! `_dnsaddr.<host>` (each `dnsaddr=<multiaddr>`, as libp2p's bootstrap
//! lists publish them), looked up with hickory's resolver over the
//! system's configuration; an address under it may itself be `/dnsaddr` or
//! `/dns4`, up to 4 levels and 32 lookups.

use std::net::IpAddr;
use std::time::Duration;

use libp2p::Multiaddr;
use libp2p::multiaddr::Protocol;

/// How long one name may take to resolve.
pub const RESOLVE_TIMEOUT: Duration = Duration::from_secs(10);

/// Why a DNS multiaddr did not resolve.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum DnsError {
    /// A `/dnsaddr` chain deeper or wider than a node follows.
    #[error("{0}: its /dnsaddr records nest deeper than 4 or need more than 32 lookups")]
    DnsAddrTooDeep(Multiaddr),
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
    if !matches!(addr.iter().next(), Some(Protocol::Dnsaddr(_))) {
        return resolve_host(addr).await;
    }
    let mut out = vec![];
    let mut last = None;
    for a in expand_dnsaddr(addr, system_txt).await? {
        match resolve_host(&a).await {
            Ok(ips) => out.extend(
                ips.into_iter()
                    .filter(|i| !out.contains(i))
                    .collect::<Vec<_>>(),
            ),
            Err(e) => last = Some(e),
        }
    }
    match (out.is_empty(), last) {
        (true, Some(e)) => Err(e),
        _ => Ok(out),
    }
}

/// Most `/dnsaddr` levels followed.
const MAX_DNSADDR_DEPTH: usize = 4;

/// Most TXT lookups one `/dnsaddr` may cost (libp2p's own bound).
const MAX_DNSADDR_LOOKUPS: usize = 32;

/// The addresses the `dnsaddr=` TXT records `txts` name that end in
/// `suffix` (what followed the host name: usually `/p2p/<peer id>`, so
/// that a record for another node is left out); malformed ones are skipped.
pub fn dnsaddr_entries(txts: &[String], suffix: &[Protocol<'_>]) -> Vec<Multiaddr> {
    txts.iter()
        .filter_map(|t| t.strip_prefix("dnsaddr="))
        .filter_map(|m| m.trim().parse::<Multiaddr>().ok())
        .filter(|a| {
            let parts: Vec<Protocol> = a.iter().collect();
            parts.len() >= suffix.len() && parts[parts.len() - suffix.len()..] == *suffix
        })
        .collect()
}

/// What `/dnsaddr` `addr` stands for, following nested `/dnsaddr` records
/// with `lookup` (a name's TXT strings), breadth first; the results may
/// still name hosts (`/dns4`). Bounded in depth and lookups.
pub async fn expand_dnsaddr<F, Fut>(addr: &Multiaddr, lookup: F) -> Result<Vec<Multiaddr>, DnsError>
where
    F: Fn(String) -> Fut,
    Fut: std::future::Future<Output = Result<Vec<String>, String>>,
{
    let mut out = vec![];
    let mut queue = std::collections::VecDeque::from([(addr.clone(), 0usize)]);
    let mut lookups = 0;
    let mut failed = None;
    while let Some((a, depth)) = queue.pop_front() {
        let mut parts = a.iter();
        let Some(Protocol::Dnsaddr(host)) = parts.next() else {
            if !out.contains(&a) {
                out.push(a);
            }
            continue;
        };
        if depth >= MAX_DNSADDR_DEPTH || lookups >= MAX_DNSADDR_LOOKUPS {
            return Err(DnsError::DnsAddrTooDeep(addr.clone()));
        }
        lookups += 1;
        let suffix: Vec<Protocol> = parts.collect();
        let name = format!("_dnsaddr.{host}");
        match tokio::time::timeout(RESOLVE_TIMEOUT, lookup(name)).await {
            Ok(Ok(txts)) => queue.extend(
                dnsaddr_entries(&txts, &suffix)
                    .into_iter()
                    .map(|e| (e, depth + 1)),
            ),
            Ok(Err(e)) => failed = Some((host.to_string(), e)),
            Err(_) => {
                failed = Some((
                    host.to_string(),
                    format!("no answer in {RESOLVE_TIMEOUT:?}"),
                ))
            }
        }
    }
    if out.is_empty() {
        let (host, reason) = failed.unwrap_or_else(|| {
            let host = match addr.iter().next() {
                Some(Protocol::Dnsaddr(h)) => h.to_string(),
                _ => String::new(),
            };
            (
                host,
                "no dnsaddr= record names an address ending like this one".into(),
            )
        });
        return Err(DnsError::Unresolved {
            addr: addr.clone(),
            host,
            reason,
        });
    }
    Ok(out)
}

/// A name's TXT strings, from the system's resolver configuration (each
/// record's character strings joined).
async fn system_txt(name: String) -> Result<Vec<String>, String> {
    let resolver = hickory_resolver::TokioResolver::builder_tokio()
        .map_err(|e| e.to_string())?
        .build();
    let found = resolver.txt_lookup(name).await.map_err(|e| e.to_string())?;
    Ok(found
        .iter()
        .map(|txt| {
            txt.iter()
                .map(|part| String::from_utf8_lossy(part).into_owned())
                .collect::<String>()
        })
        .collect())
}

/// [`resolve`] for `/dns`, `/dns4` and `/dns6`; any other address as it is.
async fn resolve_host(addr: &Multiaddr) -> Result<Vec<Multiaddr>, DnsError> {
    let mut parts = addr.iter();
    let host = match parts.next() {
        Some(Protocol::Dns(h) | Protocol::Dns4(h) | Protocol::Dns6(h)) => h.to_string(),
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

    const OTHER: &str = "12D3KooWPgoJEg4BanozsV2voZ1hePgoEiASJ1Yh54SQzjWLa42G";

    /// TXT records as a zone would serve them.
    fn zone(name: String) -> std::future::Ready<Result<Vec<String>, String>> {
        let records: &[&str] = match name.as_str() {
            "_dnsaddr.boot.example" => &[
                "dnsaddr=/dnsaddr/eu.boot.example/p2p/12D3KooWDpJ7As7BWAwRMfu1VU2WCqNjvq387JEYKDBj4kx6nXTN",
                "dnsaddr=/dnsaddr/eu.boot.example/p2p/12D3KooWPgoJEg4BanozsV2voZ1hePgoEiASJ1Yh54SQzjWLa42G",
                "dnsaddr=/dns4/us.boot.example/tcp/4001/p2p/12D3KooWDpJ7As7BWAwRMfu1VU2WCqNjvq387JEYKDBj4kx6nXTN",
                "v=spf1 -all",
                "dnsaddr=not a multiaddr",
            ],
            "_dnsaddr.eu.boot.example" => &[
                "dnsaddr=/ip4/203.0.113.7/tcp/4001/p2p/12D3KooWDpJ7As7BWAwRMfu1VU2WCqNjvq387JEYKDBj4kx6nXTN",
                "dnsaddr=/ip4/203.0.113.7/udp/4001/quic-v1/p2p/12D3KooWDpJ7As7BWAwRMfu1VU2WCqNjvq387JEYKDBj4kx6nXTN",
                "dnsaddr=/ip4/203.0.113.8/tcp/4001/p2p/12D3KooWPgoJEg4BanozsV2voZ1hePgoEiASJ1Yh54SQzjWLa42G",
            ],
            "_dnsaddr.loop.example" => &["dnsaddr=/dnsaddr/loop.example"],
            _ => return std::future::ready(Err("NXDOMAIN".into())),
        };
        std::future::ready(Ok(records.iter().map(|r| r.to_string()).collect()))
    }

    #[tokio::test]
    async fn a_dnsaddr_expands_to_the_records_of_its_peer_through_nested_names() {
        let a = ma(&format!("/dnsaddr/boot.example/p2p/{PEER}"));
        assert_eq!(
            expand_dnsaddr(&a, zone).await.unwrap(),
            vec![
                ma(&format!("/dns4/us.boot.example/tcp/4001/p2p/{PEER}")),
                ma(&format!("/ip4/203.0.113.7/tcp/4001/p2p/{PEER}")),
                ma(&format!("/ip4/203.0.113.7/udp/4001/quic-v1/p2p/{PEER}")),
            ],
            "another node's record, SPF and malformed text left out"
        );
        let other = expand_dnsaddr(&ma(&format!("/dnsaddr/boot.example/p2p/{OTHER}")), zone)
            .await
            .unwrap();
        assert_eq!(
            other,
            vec![ma(&format!("/ip4/203.0.113.8/tcp/4001/p2p/{OTHER}"))]
        );
        // With no suffix, every record.
        assert_eq!(
            expand_dnsaddr(&ma("/dnsaddr/boot.example"), zone)
                .await
                .unwrap()
                .len(),
            4
        );
        assert!(matches!(
            expand_dnsaddr(&ma("/dnsaddr/loop.example"), zone).await,
            Err(DnsError::DnsAddrTooDeep(_))
        ));
        let e = expand_dnsaddr(&ma("/dnsaddr/none.example"), zone)
            .await
            .unwrap_err();
        assert!(e.to_string().contains("NXDOMAIN"), "{e}");
    }

    #[tokio::test]
    async fn localhost_resolves_and_what_cannot_be_resolved_says_why() {
        let a = ma(&format!("/dns4/localhost/tcp/4001/p2p/{PEER}"));
        assert_eq!(
            resolve(&a).await.unwrap(),
            vec![ma(&format!("/ip4/127.0.0.1/tcp/4001/p2p/{PEER}"))]
        );
        // `.invalid` has no TXT records either.
        let e = resolve(&ma(&format!("/dnsaddr/cyteria.invalid/p2p/{PEER}")))
            .await
            .unwrap_err();
        assert!(e.to_string().contains("cyteria.invalid"), "{e}");
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
