//! The client's address: the peer of the TCP connection, or, when that peer
//! is a trusted proxy (`server.trusted_proxies`), the last address in
//! `X-Forwarded-For` that is not itself a trusted proxy.
//!
//! Per-address limits (sign-in throttling, anonymous calls) key on it, so a
//! client cannot choose its own address by sending the header directly.

use std::net::{IpAddr, SocketAddr};

use axum::extract::{ConnectInfo, FromRequestParts};
use axum::http::request::Parts;
use axum::http::HeaderMap;

use crate::state::AppState;

/// The address a request came from (see the module documentation).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ClientAddr(pub IpAddr);

impl FromRequestParts<AppState> for ClientAddr {
    type Rejection = std::convert::Infallible;

    async fn from_request_parts(
        parts: &mut Parts,
        state: &AppState,
    ) -> Result<Self, Self::Rejection> {
        let peer = parts
            .extensions
            .get::<ConnectInfo<SocketAddr>>()
            .map(|ConnectInfo(addr)| addr.ip())
            .unwrap_or(IpAddr::from([0, 0, 0, 0]));
        Ok(ClientAddr(client_ip(
            peer,
            &parts.headers,
            &state.config.server.trusted_proxies,
        )))
    }
}

/// The client address given the TCP peer, the headers and the trusted proxies.
pub fn client_ip(peer: IpAddr, headers: &HeaderMap, trusted: &[IpAddr]) -> IpAddr {
    if !trusted.contains(&peer) {
        return peer;
    }
    // Proxies append, to the last line or as a new line (HAProxy's
    // `option forwardfor`): the lines in order, then their hops, form one list.
    // Read it from the right and skip our own proxies: everything left of the
    // first hop a trusted proxy did not write may have come from the client.
    let mut hops = Vec::new();
    for value in headers.get_all("x-forwarded-for") {
        let Ok(value) = value.to_str() else {
            return peer;
        };
        hops.extend(value.split(','));
    }
    let mut client = peer;
    for hop in hops.into_iter().rev() {
        match hop.trim().parse::<IpAddr>() {
            Ok(ip) if trusted.contains(&ip) => client = ip,
            Ok(ip) => return ip,
            Err(_) => return client,
        }
    }
    client
}

#[cfg(test)]
mod tests {
    use super::*;

    fn headers(values: &[&str]) -> HeaderMap {
        let mut headers = HeaderMap::new();
        for value in values {
            headers.append("x-forwarded-for", value.parse().unwrap());
        }
        headers
    }

    #[test]
    fn an_untrusted_peer_is_the_client_whatever_it_sends() {
        let peer: IpAddr = "203.0.113.9".parse().unwrap();
        let ip = client_ip(peer, &headers(&["198.51.100.1"]), &[]);
        assert_eq!(ip, peer);
    }

    #[test]
    fn behind_trusted_proxies_the_last_untrusted_hop_is_the_client() {
        let proxy: IpAddr = "10.0.0.2".parse().unwrap();
        let inner: IpAddr = "10.0.0.3".parse().unwrap();
        let trusted = [proxy, inner];
        let ip = client_ip(
            proxy,
            &headers(&["6.6.6.6, 198.51.100.7", "10.0.0.3"]),
            &trusted,
        );
        assert_eq!(ip, "198.51.100.7".parse::<IpAddr>().unwrap());
        // A proxy that sends no header: the proxy itself.
        assert_eq!(client_ip(proxy, &HeaderMap::new(), &trusted), proxy);
        // Garbage in the header stops at the last good hop.
        assert_eq!(client_ip(proxy, &headers(&["nonsense"]), &trusted), proxy);
    }

    #[test]
    fn a_forged_line_before_the_proxys_own_line_is_not_believed() {
        // The client sends its own header; the proxy adds the client's real
        // address as a second line, as HAProxy's `option forwardfor` does.
        let proxy: IpAddr = "10.0.0.2".parse().unwrap();
        let ip = client_ip(proxy, &headers(&["198.51.100.66", "203.0.113.9"]), &[proxy]);
        assert_eq!(ip, "203.0.113.9".parse::<IpAddr>().unwrap());
    }
}
