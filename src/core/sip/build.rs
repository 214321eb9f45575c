//! Building requests and responses the way RFC 3261 §8 says a UA must: the mandatory headers,
//! responses that copy what the request carried, and the few address conversions the roles
//! need. Kept separate from the codec so the codec stays a faithful byte-level model.

use ::core::net::{IpAddr, SocketAddr};

use super::{Message, NameAddr, SipUri, Transport};

/// RFC 3261 §8.1.1.7: every branch we generate starts with the magic cookie.
pub const BRANCH_COOKIE: &str = "z9hG4bK";

/// The reason phrase we send for a status code (RFC 3261 §21).
pub fn reason_phrase(code: u16) -> &'static str {
    match code {
        100 => "Trying",
        180 => "Ringing",
        183 => "Session Progress",
        200 => "OK",
        202 => "Accepted",
        400 => "Bad Request",
        401 => "Unauthorized",
        403 => "Forbidden",
        404 => "Not Found",
        405 => "Method Not Allowed",
        407 => "Proxy Authentication Required",
        408 => "Request Timeout",
        420 => "Bad Extension",
        480 => "Temporarily Unavailable",
        481 => "Call/Transaction Does Not Exist",
        486 => "Busy Here",
        487 => "Request Terminated",
        488 => "Not Acceptable Here",
        500 => "Server Internal Error",
        501 => "Not Implemented",
        503 => "Service Unavailable",
        603 => "Decline",
        _ => "Unknown",
    }
}

/// A response to `req` per RFC 3261 §8.2.6.2: Via, From, To, Call-ID and CSeq copied, a
/// To-tag added when given and the request had none. Record-Route is copied for responses
/// that can create a dialog (RFC 3261 §12.1.1).
pub fn response_to(req: &Message, code: u16, to_tag: Option<&str>) -> Message {
    let mut rsp = Message::response(code, reason_phrase(code));
    for via in req.header_values("Via") {
        rsp.push_header("Via", &via);
    }
    if let Some(from) = req.header("From") {
        rsp.push_header("From", from);
    }
    if let Some(to) = req.header("To") {
        match (to_tag, req.to_addr()) {
            (Some(tag), Some(mut addr)) if addr.tag().is_none() => {
                addr.set_param("tag", Some(tag));
                rsp.push_header("To", &addr.to_string());
            }
            _ => rsp.push_header("To", to),
        }
    }
    if let Some(call_id) = req.call_id() {
        rsp.push_header("Call-ID", call_id);
    }
    if let Some(cseq) = req.header("CSeq") {
        rsp.push_header("CSeq", cseq);
    }
    if (101..300).contains(&code) {
        for rr in req.header_values("Record-Route") {
            rsp.push_header("Record-Route", &rr);
        }
    }
    rsp
}

/// The Via value a UA puts on a request it sends from `local` over `transport` (RFC 3261
/// §18.1.1: the sent-protocol names the transport the request goes on). RFC 3581 `rport`
/// asks the server to answer to the source port, which keeps NATs and loopback tests
/// honest; it is harmless on TCP and TLS, where responses take the connection anyway.
pub fn via_value(transport: Transport, local: SocketAddr, branch: &str) -> String {
    format!(
        "SIP/2.0/{} {};branch={branch};rport",
        transport.via_token(),
        host_port(local)
    )
}

/// `host:port` with IPv6 literals bracketed, as SIP URIs and Via need it.
pub fn host_port(addr: SocketAddr) -> String {
    match addr.ip() {
        IpAddr::V4(ip) => format!("{ip}:{}", addr.port()),
        IpAddr::V6(ip) => format!("[{ip}]:{}", addr.port()),
    }
}

/// The socket address a SIP URI points at, when its host is an IP literal. The core does
/// no DNS: targets are given as addresses, and the driver resolves names before the run.
pub fn uri_addr(uri: &str) -> Option<SocketAddr> {
    let parsed = SipUri::parse(uri).ok()?;
    let host = parsed.host.trim_start_matches('[').trim_end_matches(']');
    let ip: IpAddr = host.parse().ok()?;
    let default_port = if parsed.scheme.eq_ignore_ascii_case("sips") {
        5061
    } else {
        5060
    };
    Some(SocketAddr::new(ip, parsed.port.unwrap_or(default_port)))
}

/// The user part of a URI inside a name-addr or a bare URI (`"A" <sip:alice@h>` → alice).
pub fn uri_user(uri: &str) -> Option<String> {
    let na = NameAddr::parse(uri).ok()?;
    SipUri::parse(&na.uri).ok()?.user
}

/// CANCEL for a pending INVITE (RFC 3261 §9.1): same Request-URI, top Via, From, To,
/// Call-ID and CSeq number.
pub fn cancel_for(invite: &Message) -> Message {
    let mut cancel = Message::request("CANCEL", invite.request_uri().unwrap_or("sip:invalid"));
    if let Some(via) = invite.header_values("Via").first() {
        cancel.push_header("Via", via);
    }
    cancel.push_header("Max-Forwards", "70");
    for name in ["From", "To", "Call-ID"] {
        if let Some(v) = invite.header(name) {
            cancel.push_header(name, v);
        }
    }
    if let Some(cseq) = invite.cseq() {
        cancel.push_header("CSeq", &format!("{} CANCEL", cseq.seq));
    }
    cancel.push_header("Content-Length", "0");
    cancel
}

/// RFC 3261 §18.2.1 and RFC 3581 §4: the top Via learns where the request really came
/// from (`received`, and `rport` when the client asked for it), so every response built
/// from the request tells a client behind NAT its public address. Done once on receipt.
pub(super) fn stamp_received(msg: &mut Message, source: SocketAddr) {
    let Some(mut via) = msg.top_via() else { return };
    let ip = source.ip().to_string();
    let wants_rport = via
        .params
        .iter()
        .any(|(k, _)| k.eq_ignore_ascii_case("rport"));
    if via.host.trim_start_matches('[').trim_end_matches(']') != ip || wants_rport {
        via.set_param("received", Some(&ip));
    }
    if wants_rport {
        via.set_param("rport", Some(&source.port().to_string()));
    }
    msg.remove_first_value("Via");
    msg.insert_header_first("Via", &via.to_string());
}

/// The ACK for a non-2xx final response (RFC 3261 §17.1.1.3): same Request-URI, top Via,
/// From, Call-ID and CSeq number as the INVITE, the response's To, and the INVITE's Route.
pub fn non_2xx_ack(invite: &Message, response: &Message) -> Message {
    let mut ack = Message::request("ACK", invite.request_uri().unwrap_or("sip:invalid"));
    if let Some(via) = invite.header_values("Via").first() {
        ack.push_header("Via", via);
    }
    ack.push_header("Max-Forwards", "70");
    if let Some(from) = invite.header("From") {
        ack.push_header("From", from);
    }
    if let Some(to) = response.header("To") {
        ack.push_header("To", to);
    }
    if let Some(call_id) = invite.call_id() {
        ack.push_header("Call-ID", call_id);
    }
    if let Some(cseq) = invite.cseq() {
        ack.push_header("CSeq", &format!("{} ACK", cseq.seq));
    }
    for route in invite.header_values("Route") {
        ack.push_header("Route", &route);
    }
    ack.push_header("Content-Length", "0");
    ack
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn response_copies_and_tags() {
        let raw = "INVITE sip:alice@127.0.0.1 SIP/2.0\r\nVia: SIP/2.0/UDP 127.0.0.1:5070;branch=z9hG4bK1\r\nVia: SIP/2.0/UDP 10.0.0.1;branch=z9hG4bK2\r\nFrom: <sip:c@h>;tag=abc\r\nTo: <sip:alice@h>\r\nCall-ID: x1\r\nCSeq: 7 INVITE\r\nRecord-Route: <sip:p;lr>\r\nMax-Forwards: 70\r\nContent-Length: 0\r\n\r\n";
        let req = Message::parse(raw.as_bytes()).unwrap();
        let rsp = response_to(&req, 180, Some("t9"));
        assert_eq!(rsp.status(), Some(180));
        assert_eq!(rsp.vias().len(), 2);
        assert_eq!(rsp.to_addr().unwrap().tag(), Some("t9"));
        assert_eq!(rsp.from_addr().unwrap().tag(), Some("abc"));
        assert_eq!(rsp.call_id(), Some("x1"));
        assert_eq!(rsp.cseq().unwrap().seq, 7);
        assert_eq!(rsp.record_routes().len(), 1);
        let busy = response_to(&req, 486, Some("t9"));
        assert!(busy.record_routes().is_empty());
    }

    #[test]
    fn uri_addresses() {
        assert_eq!(
            uri_addr("sip:alice@127.0.0.1:5070"),
            Some("127.0.0.1:5070".parse().unwrap())
        );
        assert_eq!(
            uri_addr("sip:127.0.0.1;transport=udp"),
            Some("127.0.0.1:5060".parse().unwrap())
        );
        assert_eq!(
            uri_addr("sip:[::1]:5080"),
            Some("[::1]:5080".parse().unwrap())
        );
        assert_eq!(uri_addr("sip:pbx.example.test"), None);
        assert_eq!(
            uri_user("\"A\" <sip:alice@h>;tag=1").as_deref(),
            Some("alice")
        );
        assert_eq!(host_port("[::1]:9".parse().unwrap()), "[::1]:9");
    }

    #[test]
    fn via_names_the_transport_and_keeps_rport() {
        let local: SocketAddr = "127.0.0.1:5070".parse().unwrap();
        let vias: Vec<String> = Transport::ALL
            .iter()
            .map(|&t| via_value(t, local, "z9hG4bK1"))
            .collect();
        assert_eq!(
            vias,
            [
                "SIP/2.0/UDP 127.0.0.1:5070;branch=z9hG4bK1;rport",
                "SIP/2.0/TCP 127.0.0.1:5070;branch=z9hG4bK1;rport",
                "SIP/2.0/TLS 127.0.0.1:5070;branch=z9hG4bK1;rport",
            ]
        );
        let parsed = super::super::Via::parse(&vias[2]).unwrap();
        assert_eq!(parsed.transport, "TLS");
        assert!(parsed.params.iter().any(|(k, _)| k == "rport"));
    }
}
