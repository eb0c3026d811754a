//! Latency samples and their percentiles.
//!
//! Every measured round trip is kept (in microseconds, as `u32`), so the
//! percentiles are exact rather than bucketed: a 5-second run at 100k
//! messages per second is 2 MB of samples.

/// Round-trip samples in microseconds.
#[derive(Debug, Clone, Default)]
pub struct Samples {
    micros: Vec<u32>,
}

impl Samples {
    /// Empty samples with room for `capacity`.
    pub fn with_capacity(capacity: usize) -> Samples {
        Samples {
            micros: Vec::with_capacity(capacity),
        }
    }

    /// Records one round trip.
    pub fn record(&mut self, elapsed: std::time::Duration) {
        self.micros.push(elapsed.as_micros().min(u32::MAX as u128) as u32);
    }

    /// Adds another set of samples.
    pub fn merge(&mut self, other: Samples) {
        self.micros.extend(other.micros);
    }

    /// Number of samples.
    pub fn len(&self) -> usize {
        self.micros.len()
    }

    /// True when nothing was recorded.
    pub fn is_empty(&self) -> bool {
        self.micros.is_empty()
    }

    /// The p50 and p99 in microseconds (nearest rank), if any samples exist.
    pub fn summary(mut self) -> Option<Summary> {
        if self.micros.is_empty() {
            return None;
        }
        self.micros.sort_unstable();
        Some(Summary {
            p50_us: percentile(&self.micros, 50.0),
            p99_us: percentile(&self.micros, 99.0),
            max_us: *self.micros.last().unwrap_or(&0),
        })
    }
}

/// Percentiles of a run.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Summary {
    /// Median round trip, microseconds.
    pub p50_us: u32,
    /// 99th percentile round trip, microseconds.
    pub p99_us: u32,
    /// Slowest round trip, microseconds.
    pub max_us: u32,
}

/// Nearest-rank percentile of sorted samples.
fn percentile(sorted: &[u32], p: f64) -> u32 {
    let rank = ((p / 100.0) * sorted.len() as f64).ceil() as usize;
    sorted[rank.clamp(1, sorted.len()) - 1]
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    #[test]
    fn nearest_rank() {
        let mut samples = Samples::default();
        for us in (1..=100).rev() {
            samples.record(Duration::from_micros(us));
        }
        let summary = samples.summary().unwrap();
        assert_eq!((summary.p50_us, summary.p99_us, summary.max_us), (50, 99, 100));
        assert!(Samples::default().summary().is_none());
    }
}
