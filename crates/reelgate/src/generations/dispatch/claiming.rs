//! Claims under way, so that an estimate does not read the rate window and the queue on two
//! sides of one claim. A claim takes its slots from the window first and marks its rows as
//! being sent afterwards: read in between, the same generations count both as waiting and as
//! holding slots, and the estimates of everything behind them come out a whole window late
//! (or, read the other way round, a window early).

use std::sync::atomic::{AtomicU64, Ordering};

#[derive(Debug, Default)]
pub struct Claiming {
    started: AtomicU64,
    ended: AtomicU64,
}

/// Where the claims stood at one moment.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ClaimMark {
    started: u64,
    ended: u64,
}

impl ClaimMark {
    /// True if no claim was under way at `self`, and none started or ended until `later`.
    pub fn quiet_until(self, later: ClaimMark) -> bool {
        self.started == self.ended && self == later
    }
}

impl Claiming {
    /// A claim starts; it ends when the returned value is dropped.
    pub fn begin(&self) -> ClaimUnderWay<'_> {
        self.started.fetch_add(1, Ordering::SeqCst);
        ClaimUnderWay(self)
    }

    pub fn mark(&self) -> ClaimMark {
        // `ended` first: a claim ending between the two reads then shows as under way.
        let ended = self.ended.load(Ordering::SeqCst);
        let started = self.started.load(Ordering::SeqCst);
        ClaimMark { started, ended }
    }
}

pub struct ClaimUnderWay<'a>(&'a Claiming);

impl Drop for ClaimUnderWay<'_> {
    fn drop(&mut self) {
        self.0.ended.fetch_add(1, Ordering::SeqCst);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_read_is_quiet_only_with_no_claim_under_way_or_in_between() {
        let claiming = Claiming::default();
        let before = claiming.mark();
        assert!(before.quiet_until(claiming.mark()));
        let under_way = claiming.begin();
        let during = claiming.mark();
        assert!(!before.quiet_until(during));
        assert!(!during.quiet_until(claiming.mark()), "a claim is under way");
        drop(under_way);
        let after = claiming.mark();
        assert!(!before.quiet_until(after), "a claim ran in between");
        assert!(after.quiet_until(claiming.mark()));
    }
}
