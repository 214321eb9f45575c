//! Kernel receive timestamps (Linux `SO_TIMESTAMPNS`): the instant a datagram reached the
//! socket, not the instant the harness got round to reading it. A busy harness reads a
//! queue of packets at once; stamped at the read they would all look simultaneous and a
//! real gap between them would vanish.
//!
//! Where the option is missing (another OS, a refused `setsockopt`), the datagram is
//! stamped at the read and the driver counts how many were, so the report can say so.
//! Linux switches arrival stamping on for the stack from a work queue shortly after the
//! first socket asks; the sockets are set up before the first call, so by the time media
//! flows every datagram carries its arrival instant.

use std::io;
use std::net::SocketAddr;
use std::time::{Duration, SystemTime};

#[cfg(target_os = "linux")]
mod imp {
    use super::*;
    use std::io::IoSliceMut;
    use std::os::fd::{AsFd, AsRawFd};

    use nix::sys::socket::{
        ControlMessageOwned, MsgFlags, SockaddrStorage, recvmsg, setsockopt, sockopt,
    };
    use nix::sys::time::TimeSpec;

    pub fn enable(socket: &impl AsFd) -> bool {
        setsockopt(socket, sockopt::ReceiveTimestampns, &true).is_ok()
    }

    pub fn buffer() -> Vec<u8> {
        nix::cmsg_space!(TimeSpec)
    }

    pub fn recv(
        socket: &impl AsRawFd,
        buf: &mut [u8],
        cmsg: &mut [u8],
        stamped: bool,
    ) -> io::Result<(usize, SocketAddr, Option<SystemTime>)> {
        let mut iov = [IoSliceMut::new(buf)];
        let control = stamped.then_some(cmsg);
        let msg =
            recvmsg::<SockaddrStorage>(socket.as_raw_fd(), &mut iov, control, MsgFlags::empty())
                .map_err(io::Error::from)?;
        let from = msg
            .address
            .as_ref()
            .and_then(socket_addr)
            .ok_or_else(|| io::Error::other("datagram without a source address"))?;
        let mut at = None;
        if let Ok(cmsgs) = msg.cmsgs() {
            for c in cmsgs {
                if let ControlMessageOwned::ScmTimestampns(ts) = c {
                    let since = Duration::new(ts.tv_sec().max(0) as u64, ts.tv_nsec() as u32);
                    at = Some(SystemTime::UNIX_EPOCH + since);
                }
            }
        }
        Ok((msg.bytes, from, at))
    }

    fn socket_addr(a: &SockaddrStorage) -> Option<SocketAddr> {
        if let Some(v4) = a.as_sockaddr_in() {
            return Some(SocketAddr::from(*v4));
        }
        if let Some(v6) = a.as_sockaddr_in6() {
            return Some(SocketAddr::from(*v6));
        }
        None
    }
}

#[cfg(not(target_os = "linux"))]
mod imp {
    use super::*;

    pub fn enable(_socket: &std::net::UdpSocket) -> bool {
        false
    }

    pub fn buffer() -> Vec<u8> {
        Vec::new()
    }

    pub fn recv(
        socket: &tokio::net::UdpSocket,
        buf: &mut [u8],
        _cmsg: &mut [u8],
        _stamped: bool,
    ) -> io::Result<(usize, SocketAddr, Option<SystemTime>)> {
        let (n, from) = socket.try_recv_from(buf)?;
        Ok((n, from, None))
    }
}

pub use imp::{buffer, enable, recv};

#[cfg(all(test, target_os = "linux"))]
mod tests {
    use super::*;

    #[test]
    fn the_kernel_stamps_a_datagram_when_it_arrives() {
        let rx = std::net::UdpSocket::bind("127.0.0.1:0").unwrap();
        assert!(enable(&rx), "SO_TIMESTAMPNS on a Linux UDP socket");
        let tx = std::net::UdpSocket::bind("127.0.0.1:0").unwrap();
        // Linux turns arrival stamping on for the whole stack from a work queue a little
        // after the first socket asks for it; until then a datagram is stamped when it is
        // read. So send, read 50 ms later, and look for a stamp from the sending, a bounded
        // number of times (the first try succeeds unless the machine is very busy).
        let mut cmsg = buffer();
        for _ in 0..40 {
            let before = SystemTime::now();
            tx.send_to(b"hello", rx.local_addr().unwrap()).unwrap();
            std::thread::sleep(Duration::from_millis(50));
            let after_sleep = SystemTime::now();
            let mut buf = [0u8; 64];
            let (n, from, at) = recv(&rx, &mut buf, &mut cmsg, true).unwrap();
            assert_eq!((&buf[..n], from), (&b"hello"[..], tx.local_addr().unwrap()));
            let at = at.expect("a kernel timestamp");
            assert!(
                at >= before - Duration::from_millis(5),
                "{at:?} vs {before:?}"
            );
            if at + Duration::from_millis(40) < after_sleep {
                return; // stamped when it arrived, not when it was read
            }
        }
        panic!("no datagram was stamped on arrival in 40 tries");
    }
}
