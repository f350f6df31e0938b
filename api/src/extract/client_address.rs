//! The client address for throttling: the TCP peer, unless the peer is a trusted proxy
//! (`DISPATCH_TRUSTED_PROXIES`), in which case the nearest untrusted `X-Forwarded-For` hop.

use std::net::{IpAddr, Ipv4Addr};

use poem::Request;

pub fn client_address(request: &Request, trusted_proxies: &[IpAddr]) -> IpAddr {
    let peer = request
        .remote_addr()
        .as_socket_addr()
        .map(|a| a.ip())
        .unwrap_or(IpAddr::V4(Ipv4Addr::UNSPECIFIED));
    if !trusted_proxies.contains(&peer) {
        return peer;
    }
    let forwarded: Vec<IpAddr> = request
        .headers()
        .get_all("x-forwarded-for")
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(','))
        .filter_map(|hop| hop.trim().parse().ok())
        .collect();
    forwarded.into_iter().rev().find(|hop| !trusted_proxies.contains(hop)).unwrap_or(peer)
}

/// Whether the client's connection is HTTPS: served so here, or said so by a trusted proxy
/// (`X-Forwarded-Proto: https`, which an untrusted peer could forge).
pub fn came_over_https(request: &Request, trusted_proxies: &[IpAddr]) -> bool {
    if request.scheme() == &poem::http::uri::Scheme::HTTPS {
        return true;
    }
    let peer_trusted =
        request.remote_addr().as_socket_addr().is_some_and(|a| trusted_proxies.contains(&a.ip()));
    peer_trusted
        && request
            .headers()
            .get("x-forwarded-proto")
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.split(',').next())
            .is_some_and(|proto| proto.trim().eq_ignore_ascii_case("https"))
}
