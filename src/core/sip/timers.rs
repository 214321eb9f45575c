//! RFC 3261 transaction timers as data (after quinn-proto's `connection/timer.rs`): one
//! enum naming every timer and a table of deadlines per transaction. The next wake-up is
//! the earliest deadline; firing is the owner's `handle_timeout(now)`. No task per timer.

use std::time::Duration;

use crate::core::Time;

/// The timer base values of RFC 3261 §17.1.1.1 and Table 4.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct TimerConfig {
    /// RTT estimate; first retransmission interval. Default 500 ms.
    pub t1: Duration,
    /// Cap on non-INVITE and response retransmission intervals. Default 4 s.
    pub t2: Duration,
    /// How long a message may linger in the network. Default 5 s.
    pub t4: Duration,
}

impl Default for TimerConfig {
    fn default() -> Self {
        TimerConfig {
            t1: Duration::from_millis(500),
            t2: Duration::from_secs(4),
            t4: Duration::from_secs(5),
        }
    }
}

impl TimerConfig {
    /// 64·T1: the transaction timeout (Timers B, F, H, J; RFC 3261 Table 4).
    pub fn t1x64(&self) -> Duration {
        self.t1.saturating_mul(64)
    }
}

/// The transaction timers of RFC 3261 Table 4.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Timer {
    /// INVITE client: request retransmission (unreliable transports).
    A,
    /// INVITE client: transaction timeout while Calling.
    B,
    /// INVITE client: wait in Completed for response retransmissions.
    D,
    /// Non-INVITE client: request retransmission (unreliable transports).
    E,
    /// Non-INVITE client: transaction timeout.
    F,
    /// INVITE server: final response retransmission (unreliable transports).
    G,
    /// INVITE server: wait for the ACK.
    H,
    /// INVITE server: wait in Confirmed for ACK retransmissions.
    I,
    /// Non-INVITE server: wait in Completed for request retransmissions.
    J,
    /// Non-INVITE client: wait in Completed for response retransmissions.
    K,
}

impl Timer {
    /// Every timer, in declaration order.
    pub const ALL: [Timer; 10] = [
        Timer::A,
        Timer::B,
        Timer::D,
        Timer::E,
        Timer::F,
        Timer::G,
        Timer::H,
        Timer::I,
        Timer::J,
        Timer::K,
    ];

    /// Timers that end the transaction when they fire. When one is due at the same
    /// instant as a retransmission timer it goes first, so no retransmission is sent by
    /// a transaction that is timing out.
    fn is_final(self) -> bool {
        !matches!(self, Timer::A | Timer::E | Timer::G)
    }
}

/// The deadlines of one transaction's timers.
#[derive(Debug, Clone, Default)]
pub(crate) struct TimerTable {
    deadlines: [Option<Time>; 10],
}

impl TimerTable {
    pub fn set(&mut self, t: Timer, at: Time) {
        self.deadlines[t as usize] = Some(at);
    }
    pub fn get(&self, t: Timer) -> Option<Time> {
        self.deadlines[t as usize]
    }
    pub fn stop(&mut self, t: Timer) {
        self.deadlines[t as usize] = None;
    }
    pub fn stop_all(&mut self) {
        self.deadlines = [None; 10];
    }
    /// The earliest deadline, if any timer runs.
    pub fn next_timeout(&self) -> Option<Time> {
        self.deadlines.iter().flatten().min().copied()
    }
    /// The timer to fire next at `now`: the earliest due one, final timers first on ties.
    /// It is stopped; the caller re-arms it if it repeats.
    pub fn pop_expired(&mut self, now: Time) -> Option<Timer> {
        let t = Timer::ALL
            .into_iter()
            .filter_map(|t| {
                self.get(t)
                    .filter(|&d| d <= now)
                    .map(|d| (d, !t.is_final(), t))
            })
            .min()?
            .2;
        self.stop(t);
        Some(t)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn table_orders_by_deadline_then_final_first() {
        let mut tt = TimerTable::default();
        assert_eq!(tt.next_timeout(), None);
        tt.set(Timer::E, Time::from_millis(500));
        tt.set(Timer::F, Time::from_millis(500));
        tt.set(Timer::K, Time::from_millis(100));
        tt.set(Timer::A, Time::from_millis(900));
        assert_eq!(tt.next_timeout(), Some(Time::from_millis(100)));
        let now = Time::from_millis(500);
        assert_eq!(tt.pop_expired(now), Some(Timer::K));
        assert_eq!(tt.pop_expired(now), Some(Timer::F));
        assert_eq!(tt.pop_expired(now), Some(Timer::E));
        assert_eq!(tt.pop_expired(now), None);
        assert_eq!(tt.get(Timer::A), Some(Time::from_millis(900)));
        tt.stop_all();
        assert_eq!(tt.next_timeout(), None);
    }

    #[test]
    fn defaults_are_rfc_values() {
        let c = TimerConfig::default();
        assert_eq!(
            (c.t1, c.t2, c.t4, c.t1x64()),
            (
                Duration::from_millis(500),
                Duration::from_secs(4),
                Duration::from_secs(5),
                Duration::from_secs(32)
            )
        );
    }
}
