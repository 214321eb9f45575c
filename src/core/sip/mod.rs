//! SIP: message codec, transactions (RFC 3261 §17), digest auth, SDP offer/answer.
