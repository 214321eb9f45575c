//! Typed accessors on [`Message`]: each returns `None` (or skips the value) when the header
//! is absent or does not parse; `validate` is where unparsable values are reported.

use super::addr::{CSeq, NameAddr, Replaces, Via};
use super::header::is_wsp;
use super::message::Message;
use super::parse::parse_decimal;

/// A `1*DIGIT` header value that fits 32 bits.
fn u32_value(v: &str) -> Option<u32> {
    parse_decimal(v).and_then(|n| u32::try_from(n).ok())
}

impl Message {
    /// Call-ID (or `i`).
    pub fn call_id(&self) -> Option<&str> {
        self.header("Call-ID")
    }

    /// CSeq number and method.
    pub fn cseq(&self) -> Option<CSeq> {
        CSeq::parse(self.header("CSeq")?).ok()
    }

    /// From (or `f`).
    pub fn from_addr(&self) -> Option<NameAddr> {
        NameAddr::parse(self.header("From")?).ok()
    }

    /// To (or `t`).
    pub fn to_addr(&self) -> Option<NameAddr> {
        NameAddr::parse(self.header("To")?).ok()
    }

    /// The first Contact (or `m`); `None` for `Contact: *`.
    pub fn contact(&self) -> Option<NameAddr> {
        NameAddr::parse(self.header("Contact")?).ok()
    }

    /// Every Contact value that parses, in order.
    pub fn contacts(&self) -> Vec<NameAddr> {
        self.name_addrs("Contact")
    }

    /// Every Via value that parses, top first (RFC 3261 §8.1.1.7).
    pub fn vias(&self) -> Vec<Via> {
        self.values("Via")
            .filter_map(|v| Via::parse(v).ok())
            .collect()
    }

    /// The top Via (the first value of the first Via line).
    pub fn top_via(&self) -> Option<Via> {
        Via::parse(self.header("Via")?).ok()
    }

    /// Record-Route values in order (RFC 3261 §20.30).
    pub fn record_routes(&self) -> Vec<NameAddr> {
        self.name_addrs("Record-Route")
    }

    /// Route values in order (RFC 3261 §20.34).
    pub fn routes(&self) -> Vec<NameAddr> {
        self.name_addrs("Route")
    }

    /// Every value of a name-addr list header that parses (Path, Service-Route, ...).
    pub fn name_addrs(&self, name: &str) -> Vec<NameAddr> {
        self.values(name)
            .filter_map(|v| NameAddr::parse(v).ok())
            .collect()
    }

    /// Max-Forwards (RFC 3261 §20.22).
    pub fn max_forwards(&self) -> Option<u32> {
        u32_value(self.header("Max-Forwards")?)
    }

    /// Expires in seconds (RFC 3261 §20.19).
    pub fn expires(&self) -> Option<u32> {
        u32_value(self.header("Expires")?)
    }

    /// Content-Length (or `l`) of the first such header.
    pub fn content_length(&self) -> Option<usize> {
        parse_decimal(self.header("Content-Length")?)
    }

    /// Content-Type (or `c`), with its parameters.
    pub fn content_type(&self) -> Option<&str> {
        self.header("Content-Type")
    }

    /// Replaces (RFC 3891).
    pub fn replaces(&self) -> Option<Replaces> {
        Replaces::parse(self.header("Replaces")?).ok()
    }

    /// Session-ID (RFC 7989) without its parameters.
    pub fn session_id(&self) -> Option<&str> {
        let v = self.header("Session-ID")?;
        Some(v.split(';').next().unwrap_or("").trim_matches(is_wsp))
    }

    /// The first P-Asserted-Identity (RFC 3325).
    pub fn p_asserted_identity(&self) -> Option<NameAddr> {
        NameAddr::parse(self.header("P-Asserted-Identity")?).ok()
    }

    /// Refer-To (or `r`, RFC 3515).
    pub fn refer_to(&self) -> Option<NameAddr> {
        NameAddr::parse(self.header("Refer-To")?).ok()
    }

    /// Referred-By (or `b`, RFC 3892).
    pub fn referred_by(&self) -> Option<NameAddr> {
        NameAddr::parse(self.header("Referred-By")?).ok()
    }

    /// The event package of Event (or `o`, RFC 6665), without parameters.
    pub fn event(&self) -> Option<&str> {
        let v = self.header("Event")?;
        Some(v.split(';').next().unwrap_or("").trim_matches(is_wsp))
    }

    /// True if `option` is listed in Supported (or `k`), case-insensitively.
    pub fn supports(&self, option: &str) -> bool {
        self.values("Supported")
            .any(|v| v.eq_ignore_ascii_case(option))
    }

    /// True if `option` is listed in Require.
    pub fn requires(&self, option: &str) -> bool {
        self.values("Require")
            .any(|v| v.eq_ignore_ascii_case(option))
    }
}
