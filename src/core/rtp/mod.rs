//! RTP/RTCP, G.711, audio signatures, the classifier and RFC 3550 receive statistics.
