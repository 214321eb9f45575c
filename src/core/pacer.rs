//! The deadline queue behind the batched media pacer: thousands of streams, each due every
//! 20 ms, served by one loop per core. Finding the due streams must not cost a scan of all
//! of them per wake-up (O(N²) per second); a binary heap keeps it at O(log N) per packet.
//! `benches/pacer.rs` measured 56 ns per packet at 100 streams and 79 ns at 5,000 (release
//! build, 2-core machine), packet building included. Sans-IO: `now` in, stream ids out.

use std::cmp::Reverse;
use std::collections::BinaryHeap;

use crate::core::Time;

/// Streams by next deadline. A stream is identified by the caller's `usize` id; the pacer
/// holds one entry per scheduled stream.
#[derive(Debug, Default)]
pub struct Pacer {
    heap: BinaryHeap<Reverse<(Time, usize)>>,
}

impl Pacer {
    pub fn new() -> Self {
        Pacer::default()
    }

    /// Schedules stream `id` at `deadline` (call again after serving it).
    pub fn schedule(&mut self, id: usize, deadline: Time) {
        if deadline != Time::NEVER {
            self.heap.push(Reverse((deadline, id)));
        }
    }

    /// The earliest deadline, for the driver's single sleep.
    pub fn next_deadline(&self) -> Time {
        self.heap.peek().map_or(Time::NEVER, |Reverse((t, _))| *t)
    }

    /// The next stream due at `now`, with its deadline (how late it is served is the
    /// caller's lateness figure). Pop until None to serve a whole batch.
    pub fn pop_due(&mut self, now: Time) -> Option<(usize, Time)> {
        match self.heap.peek() {
            Some(Reverse((t, _))) if *t <= now => self.heap.pop().map(|Reverse((t, id))| (id, t)),
            _ => None,
        }
    }

    pub fn len(&self) -> usize {
        self.heap.len()
    }

    pub fn is_empty(&self) -> bool {
        self.heap.is_empty()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn serves_due_streams_in_deadline_order() {
        let mut p = Pacer::new();
        p.schedule(1, Time::from_millis(20));
        p.schedule(2, Time::from_millis(5));
        p.schedule(3, Time::from_millis(20));
        p.schedule(4, Time::NEVER);
        assert_eq!(p.len(), 3);
        assert_eq!(p.next_deadline(), Time::from_millis(5));
        assert_eq!(p.pop_due(Time::from_millis(4)), None);
        assert_eq!(
            p.pop_due(Time::from_millis(20)),
            Some((2, Time::from_millis(5)))
        );
        assert_eq!(
            p.pop_due(Time::from_millis(20)),
            Some((1, Time::from_millis(20)))
        );
        assert_eq!(
            p.pop_due(Time::from_millis(20)),
            Some((3, Time::from_millis(20)))
        );
        assert_eq!(p.pop_due(Time::from_millis(20)), None);
        assert!(p.is_empty());
        assert_eq!(p.next_deadline(), Time::NEVER);
    }
}
