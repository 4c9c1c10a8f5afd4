//! The client's address behind trusted proxies, for the notification allow-list, the login
//! throttle and audit entries.

use axum::http::HeaderMap;
use ipnet::IpNet;
use std::net::IpAddr;

/// The client address: the peer, or — when the peer is a trusted proxy — the right-most address
/// in `X-Forwarded-For` that is not itself a trusted proxy. IPv4-mapped IPv6 addresses
/// (`::ffff:1.2.3.4`, what a dual-stack listener reports) count as the IPv4 address they carry, so
/// allow-lists of IPv4 networks hold; forwarded entries may carry a port (`1.2.3.4:5678`,
/// `[2001:db8::1]:443`).
pub fn client_ip(peer: IpAddr, headers: &HeaderMap, trusted_proxies: &[IpNet]) -> IpAddr {
    let peer = peer.to_canonical();
    let trusted = |ip: &IpAddr| trusted_proxies.iter().any(|n| n.contains(ip));
    if !trusted(&peer) {
        return peer;
    }
    let forwarded: Vec<IpAddr> = headers
        .get_all("x-forwarded-for")
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(','))
        .filter_map(|part| forwarded_ip(part.trim()))
        .map(|ip| ip.to_canonical())
        .collect();
    forwarded.into_iter().rev().find(|ip| !trusted(ip)).unwrap_or(peer)
}

/// One `X-Forwarded-For` entry: an address, or an address with a port.
fn forwarded_ip(entry: &str) -> Option<IpAddr> {
    entry
        .parse::<IpAddr>()
        .ok()
        .or_else(|| entry.parse::<std::net::SocketAddr>().ok().map(|addr| addr.ip()))
        .or_else(|| entry.trim_start_matches('[').split(']').next().and_then(|ip| ip.parse().ok()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn forwarded_addresses_count_only_behind_trusted_proxies() {
        let proxies: Vec<IpNet> = vec!["10.0.0.0/8".parse().unwrap()];
        let mut headers = HeaderMap::new();
        headers.insert("x-forwarded-for", "1.2.3.4, 185.71.76.1, 10.0.0.7".parse().unwrap());
        assert_eq!(
            client_ip("10.0.0.1".parse().unwrap(), &headers, &proxies),
            "185.71.76.1".parse::<IpAddr>().unwrap()
        );
        assert_eq!(client_ip("8.8.8.8".parse().unwrap(), &headers, &proxies), "8.8.8.8".parse::<IpAddr>().unwrap());
    }

    #[test]
    fn mapped_addresses_and_ports_are_understood() {
        let proxies: Vec<IpNet> = vec!["10.0.0.0/8".parse().unwrap()];
        let none = HeaderMap::new();
        assert_eq!(
            client_ip("::ffff:185.71.76.1".parse().unwrap(), &none, &proxies),
            "185.71.76.1".parse::<IpAddr>().unwrap(),
            "an IPv4-mapped peer is its IPv4 address"
        );
        let mut headers = HeaderMap::new();
        headers.insert("x-forwarded-for", "185.71.76.1:52311, [2a02:5180::7]:443".parse().unwrap());
        assert_eq!(
            client_ip("::ffff:10.0.0.2".parse().unwrap(), &headers, &proxies),
            "2a02:5180::7".parse::<IpAddr>().unwrap(),
            "a mapped proxy is trusted and entries with ports count"
        );
    }
}
