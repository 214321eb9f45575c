//! SIP dialogs, RFC 3261 §12: the state two UAs share after an INVITE succeeds, and the
//! construction of requests inside it (§12.2.1.1).

use ::core::net::SocketAddr;

use super::build::{uri_addr, via_value};
use super::{Message, NameAddr, Transport};

/// The identity of a dialog (RFC 3261 §12): Call-ID plus both tags, seen from our side.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct DialogId {
    pub call_id: String,
    pub local_tag: String,
    pub remote_tag: String,
}

/// One confirmed (or early) dialog.
#[derive(Debug, Clone)]
pub struct Dialog {
    pub call_id: String,
    pub local_tag: String,
    pub remote_tag: String,
    /// Our From (as UAC) or To (as UAS) URI, without tag.
    pub local_uri: String,
    pub remote_uri: String,
    /// Next CSeq we use for a request in this dialog.
    pub local_cseq: u32,
    /// Highest CSeq the peer used; a lower one is out of order (RFC 3261 §12.2.2).
    pub remote_cseq: Option<u32>,
    /// The peer's Contact: where in-dialog requests go.
    pub remote_target: String,
    /// Record-Route as the route set, in the order our requests carry it.
    pub route_set: Vec<String>,
    /// Our Contact URI.
    pub local_contact: String,
    /// The transport our requests in the dialog go on: the one the dialog was created over.
    pub transport: Transport,
}

impl Dialog {
    pub fn id(&self) -> DialogId {
        DialogId {
            call_id: self.call_id.clone(),
            local_tag: self.local_tag.clone(),
            remote_tag: self.remote_tag.clone(),
        }
    }

    /// The UAC side, from our request and a 2xx (or tagged 1xx) response (RFC 3261 §12.1.2):
    /// the route set is the response's Record-Route in reverse.
    pub fn as_uac(request: &Message, response: &Message, local_contact: &str) -> Option<Dialog> {
        let from = request.from_addr()?;
        let to = response.to_addr()?;
        let mut route_set: Vec<String> = response
            .record_routes()
            .iter()
            .map(|r| r.to_string())
            .collect();
        route_set.reverse();
        let remote_target = response
            .contact()
            .map(|c| c.uri)
            .unwrap_or_else(|| to.uri.clone());
        Some(Dialog {
            call_id: request.call_id()?.to_string(),
            local_tag: from.tag()?.to_string(),
            remote_tag: to.tag()?.to_string(),
            local_uri: from.uri.clone(),
            remote_uri: to.uri.clone(),
            local_cseq: request.cseq()?.seq + 1,
            remote_cseq: None,
            remote_target,
            route_set,
            local_contact: local_contact.to_string(),
            transport: via_transport(request),
        })
    }

    /// The UAS side, from the request we answer and the To-tag we chose (RFC 3261 §12.1.1):
    /// the route set is the request's Record-Route in order.
    pub fn as_uas(request: &Message, local_tag: &str, local_contact: &str) -> Option<Dialog> {
        let from = request.from_addr()?;
        let to = request.to_addr()?;
        let remote_target = request
            .contact()
            .map(|c| c.uri)
            .unwrap_or_else(|| from.uri.clone());
        Some(Dialog {
            call_id: request.call_id()?.to_string(),
            local_tag: local_tag.to_string(),
            remote_tag: from.tag()?.to_string(),
            local_uri: to.uri.clone(),
            remote_uri: from.uri.clone(),
            local_cseq: 1,
            remote_cseq: request.cseq().map(|c| c.seq),
            remote_target,
            route_set: request
                .record_routes()
                .iter()
                .map(|r| r.to_string())
                .collect(),
            local_contact: local_contact.to_string(),
            transport: via_transport(request),
        })
    }

    /// Whether an incoming request belongs to this dialog (its To-tag is ours).
    pub fn matches_request(&self, msg: &Message) -> bool {
        msg.call_id() == Some(self.call_id.as_str())
            && msg
                .to_addr()
                .and_then(|t| t.tag().map(str::to_string))
                .as_deref()
                == Some(self.local_tag.as_str())
            && msg
                .from_addr()
                .and_then(|f| f.tag().map(str::to_string))
                .as_deref()
                == Some(self.remote_tag.as_str())
    }

    /// A new request inside the dialog (RFC 3261 §12.2.1.1), sent from `local` with `branch`.
    /// Consumes a CSeq number, except for ACK and CANCEL which reuse the INVITE's.
    pub fn request(&mut self, method: &str, local: SocketAddr, branch: &str) -> Message {
        let cseq = self.local_cseq;
        self.local_cseq += 1;
        self.build(method, cseq, local, branch)
    }

    /// The ACK for a 2xx to the INVITE with CSeq `invite_cseq` (RFC 3261 §13.2.2.4).
    pub fn ack(&self, invite_cseq: u32, local: SocketAddr, branch: &str) -> Message {
        self.build("ACK", invite_cseq, local, branch)
    }

    fn build(&self, method: &str, cseq: u32, local: SocketAddr, branch: &str) -> Message {
        let mut msg = Message::request(method, &self.remote_target);
        msg.push_header("Via", &via_value(self.transport, local, branch));
        msg.push_header("Max-Forwards", "70");
        let mut from = NameAddr::new(&self.local_uri);
        from.set_param("tag", Some(&self.local_tag));
        let mut to = NameAddr::new(&self.remote_uri);
        to.set_param("tag", Some(&self.remote_tag));
        msg.push_header("From", &from.to_string());
        msg.push_header("To", &to.to_string());
        msg.push_header("Call-ID", &self.call_id);
        msg.push_header("CSeq", &format!("{cseq} {method}"));
        for route in &self.route_set {
            msg.push_header("Route", route);
        }
        msg.push_header("Contact", &format!("<{}>", self.local_contact));
        msg
    }

    /// Where an in-dialog request goes: the first route if any, else the remote target.
    pub fn next_hop(&self) -> Option<SocketAddr> {
        match self.route_set.first() {
            Some(route) => uri_addr(&NameAddr::parse(route).ok()?.uri),
            None => uri_addr(&self.remote_target),
        }
    }
}

/// The transport the top Via of a request names: the hop it crossed last (RFC 3261
/// §18.1.1), which for the request that creates a dialog is the flow between its two ends
/// (ours, when we sent it). Unknown tokens (SCTP, WS) fall back to UDP.
fn via_transport(request: &Message) -> Transport {
    request
        .top_via()
        .and_then(|v| Transport::from_token(&v.transport))
        .unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn invite() -> Message {
        let raw = "INVITE sip:alice@127.0.0.1:5060 SIP/2.0\r\nVia: SIP/2.0/UDP 127.0.0.1:5070;branch=z9hG4bKa\r\nFrom: <sip:customer@pbx>;tag=ctag\r\nTo: <sip:alice@pbx>\r\nCall-ID: call-1\r\nCSeq: 3 INVITE\r\nContact: <sip:customer@127.0.0.1:5070>\r\nRecord-Route: <sip:127.0.0.1:5060;lr>\r\nMax-Forwards: 70\r\nContent-Length: 0\r\n\r\n";
        Message::parse(raw.as_bytes()).unwrap()
    }

    #[test]
    fn uas_and_uac_views_agree() {
        let req = invite();
        let uas = Dialog::as_uas(&req, "atag", "sip:alice@127.0.0.1:6000").unwrap();
        assert_eq!(uas.remote_tag, "ctag");
        assert_eq!(uas.remote_target, "sip:customer@127.0.0.1:5070");
        assert_eq!(uas.next_hop(), Some("127.0.0.1:5060".parse().unwrap()));

        let mut ok = super::super::build::response_to(&req, 200, Some("atag"));
        ok.push_header("Contact", "<sip:alice@127.0.0.1:6000>");
        let mut uac = Dialog::as_uac(&req, &ok, "sip:customer@127.0.0.1:5070").unwrap();
        assert_eq!(uac.local_tag, "ctag");
        assert_eq!(uac.remote_tag, "atag");
        assert_eq!(uac.local_cseq, 4);

        let bye = uac.request("BYE", "127.0.0.1:5070".parse().unwrap(), "z9hG4bKb");
        assert_eq!(bye.cseq().unwrap().seq, 4);
        assert_eq!(bye.request_uri(), Some("sip:alice@127.0.0.1:6000"));
        assert_eq!(bye.routes().len(), 1);
        assert!(uas.matches_request(&bye));
        assert_eq!(uac.local_cseq, 5);
    }

    #[test]
    fn requests_in_a_dialog_keep_its_transport() {
        let raw = String::from_utf8(invite().to_bytes())
            .unwrap()
            .replace("SIP/2.0/UDP", "SIP/2.0/TLS");
        let req = Message::parse(raw.as_bytes()).unwrap();
        let mut uas = Dialog::as_uas(&req, "atag", "sips:alice@127.0.0.1:6000").unwrap();
        assert_eq!(uas.transport, Transport::Tls);
        let bye = uas.request("BYE", "127.0.0.1:6000".parse().unwrap(), "z9hG4bKc");
        assert_eq!(bye.top_via().unwrap().transport, "TLS");
        assert_eq!(bye.contact().unwrap().uri, "sips:alice@127.0.0.1:6000");
    }
}
