//! Reading SDP text (RFC 4566 §5) into the model of `sdp.rs`. Lenient where real devices
//! are sloppy (LF line ends, blank lines, trailing spaces, missing `v=`/`s=`/`t=`), strict
//! where guessing would mislead (bad o=, c= or m= lines are errors).

use super::sdp::{Direction, MediaDescription, SdpCodec, SdpError, SessionDescription};

pub(crate) fn parse(text: &str) -> Result<SessionDescription, SdpError> {
    let mut sd = SessionDescription {
        origin_username: String::new(),
        session_id: 0,
        version: 0,
        origin_address: String::new(),
        session_name: String::new(),
        connection: None,
        media: Vec::new(),
        timing: String::new(),
        direction: None,
        attributes: Vec::new(),
        other_lines: Vec::new(),
    };
    let mut seen_origin = false;
    // Media-level direction attributes seen explicitly, so that the others can inherit
    // the session-level one once all lines are read.
    let mut explicit_dir: Vec<bool> = Vec::new();
    for (idx, raw) in text.lines().enumerate() {
        let n = idx + 1;
        let line = raw.trim_end();
        if line.is_empty() {
            continue;
        }
        let err = |reason| SdpError::Malformed { line: n, reason };
        let (kind, value) = match line.as_bytes() {
            [k, b'=', ..] if k.is_ascii_alphabetic() => (*k, &line[2..]),
            _ => return Err(err("not a `x=value` line")),
        };
        if let Some(m) = sd.media.last_mut() {
            // `explicit_dir` gets one entry per pushed media line, so this is `Some`; the
            // error only keeps a would-be bug from panicking.
            let explicit = explicit_dir
                .last_mut()
                .ok_or(err("media line without direction state"))?;
            match kind {
                b'm' => {}
                b'c' => {
                    m.connection = Some(parse_connection(value).ok_or(err("bad c= line"))?);
                    continue;
                }
                b'a' => {
                    media_attribute(m, value, explicit);
                    continue;
                }
                _ => {
                    m.other_lines.push(line.to_string());
                    continue;
                }
            }
        }
        match kind {
            b'v' => {}
            b'o' => {
                let f: Vec<&str> = value.split_whitespace().collect();
                let [user, id, ver, _net, _addrtype, addr] = f[..] else {
                    return Err(err("o= needs 6 fields"));
                };
                sd.origin_username = user.to_string();
                sd.session_id = id.parse().map_err(|_| err("o= session id is not a u64"))?;
                sd.version = ver.parse().map_err(|_| err("o= version is not a u64"))?;
                sd.origin_address = addr.to_string();
                seen_origin = true;
            }
            b's' => sd.session_name = value.to_string(),
            b'c' => sd.connection = Some(parse_connection(value).ok_or(err("bad c= line"))?),
            b't' if sd.timing.is_empty() => sd.timing = value.to_string(),
            b'a' => match Direction::parse(value) {
                Some(d) => sd.direction = Some(d),
                None => sd.attributes.push(value.to_string()),
            },
            b'm' => {
                sd.media
                    .push(parse_m_line(value).ok_or(err("bad m= line"))?);
                explicit_dir.push(false);
            }
            _ => sd.other_lines.push(line.to_string()),
        }
    }
    if !seen_origin {
        return Err(SdpError::MissingOrigin);
    }
    // A missing or empty s=/t= reads as what we would print for it, so printing and
    // parsing again gives the same value.
    if sd.session_name.is_empty() {
        sd.session_name = "-".to_string();
    }
    if sd.timing.is_empty() {
        sd.timing = "0 0".to_string();
    }
    // Kept lines are stored in the order Display writes them (RFC 4566 §5), for the same
    // reason. The sort is stable, so lines of one kind keep their relative order.
    let kind = |l: &String| l.bytes().next().unwrap_or(b' ');
    sd.other_lines.sort_by_key(|l| match kind(l) {
        b'i' | b'u' | b'e' | b'p' => 0,
        b'b' => 1,
        _ => 2,
    });
    for m in &mut sd.media {
        m.other_lines.sort_by_key(|l| kind(l) != b'i');
    }
    // RFC 4566 §6: a session-level direction applies to media lines without their own.
    if let Some(d) = sd.direction {
        for (m, explicit) in sd.media.iter_mut().zip(explicit_dir) {
            if !explicit {
                m.direction = d;
            }
        }
    }
    Ok(sd)
}

/// `IN IP4 192.0.2.1` → the address (`IP6` accepted; the address keeps any `/ttl`).
fn parse_connection(value: &str) -> Option<String> {
    let f: Vec<&str> = value.split_whitespace().collect();
    match f[..] {
        [net, typ, addr]
            if net.eq_ignore_ascii_case("IN")
                && (typ.eq_ignore_ascii_case("IP4") || typ.eq_ignore_ascii_case("IP6")) =>
        {
            Some(addr.to_string())
        }
        _ => None,
    }
}

/// `audio 49170[/2] RTP/AVP 0 8 101`.
fn parse_m_line(value: &str) -> Option<MediaDescription> {
    let mut f = value.split_whitespace();
    let media = f.next()?.to_string();
    let port_field = f.next()?;
    // The `/count` of RFC 4566 §5.14 is dropped: nobody uses it with SIP.
    let port = port_field.split('/').next()?.parse().ok()?;
    let proto = f.next()?.to_string();
    let mut m = MediaDescription {
        media,
        port,
        proto,
        ..MediaDescription::default()
    };
    for token in f {
        match token.parse::<u8>() {
            Ok(pt) if pt < 128 => m.codecs.push(SdpCodec::from_static(pt)),
            _ => m.other_formats.push(token.to_string()),
        }
    }
    Some(m)
}

fn media_attribute(m: &mut MediaDescription, value: &str, explicit_dir: &mut bool) {
    if let Some(d) = Direction::parse(value) {
        m.direction = d;
        *explicit_dir = true;
        return;
    }
    if let Some(rest) = value.strip_prefix("rtpmap:")
        && let Some((pt, name, rate)) = parse_rtpmap(rest)
        && let Some(c) = m.codecs.iter_mut().find(|c| c.payload_type == pt)
    {
        c.name = name;
        c.clock_rate = rate;
        return;
    }
    if let Some(rest) = value.strip_prefix("fmtp:")
        && let Some((pt, params)) = rest.split_once(' ')
        && let Ok(pt) = pt.parse::<u8>()
        && let Some(c) = m.codecs.iter_mut().find(|c| c.payload_type == pt)
    {
        c.fmtp = Some(params.trim().to_string());
        return;
    }
    // Anything else, including rtpmap/fmtp for formats not on the m= line, verbatim.
    m.other_attributes.push(value.to_string());
}

/// `101 telephone-event/8000[/1]` → (101, "telephone-event", 8000).
fn parse_rtpmap(rest: &str) -> Option<(u8, String, u32)> {
    let (pt, enc) = rest.trim().split_once(' ')?;
    let mut parts = enc.trim().split('/');
    let name = parts.next()?.to_string();
    let rate = parts.next()?.parse().ok()?;
    Some((pt.parse().ok()?, name, rate))
}
