//! Reconnection: when to try again, and how long to wait.
//!
//! The client follows Primus' `recovery` rules: attempt `n` waits
//! `min(round((random() + 1) × min × factor^(n-1)), max)`, up to `retries`
//! attempts, each given `attempt_timeout` to open. With the defaults (min
//! 500 ms, factor 2, 10 retries, no max) the waits are 500–1000 ms,
//! 1–2 s, 2–4 s, … One deliberate difference: Primus waits exactly `min`
//! before the first attempt, so every client dropped by a server restart
//! comes back at the same instant; primus-client randomizes the first wait
//! too (in `[min, 2·min)`). Set [`Reconnect::exact_first_delay`] for
//! Primus' behaviour.

use rand::Rng;
use std::time::{Duration, Instant};

/// Reconnection settings (Primus' `reconnect` option).
///
/// ```
/// use primus_client::Reconnect;
/// use std::time::Duration;
///
/// let patient = Reconnect { retries: 50, max: Some(Duration::from_secs(30)), ..Reconnect::default() };
/// assert_eq!(patient.min, Duration::from_millis(500));
/// ```
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Reconnect {
    /// The base delay (default 500 ms).
    pub min: Duration,
    /// The largest delay (default `None`: unbounded, as Primus' `Infinity`).
    pub max: Option<Duration>,
    /// How many attempts before giving up (default 10).
    pub retries: u32,
    /// Growth factor between attempts (default 2).
    pub factor: f64,
    /// Time allowed for one attempt to open (default 30 s, Primus'
    /// `reconnect timeout`).
    pub attempt_timeout: Duration,
    /// Wait exactly `min` before the first attempt, as Primus does, instead
    /// of a random delay in `[min, 2·min)` (default false).
    pub exact_first_delay: bool,
}

impl Default for Reconnect {
    fn default() -> Reconnect {
        Reconnect {
            min: Duration::from_millis(500),
            max: None,
            retries: 10,
            factor: 2.0,
            attempt_timeout: Duration::from_secs(30),
            exact_first_delay: false,
        }
    }
}

impl Reconnect {
    /// The wait before attempt `attempt` (1-based), with `random` in `[0, 1)`.
    ///
    /// ```
    /// use primus_client::Reconnect;
    /// use std::time::Duration;
    ///
    /// let r = Reconnect::default();
    /// assert_eq!(r.delay(1, 0.0), Duration::from_millis(500));
    /// assert_eq!(r.delay(3, 0.5), Duration::from_millis(3000)); // 1.5 × 500 × 2²
    /// let primus = Reconnect { exact_first_delay: true, ..r };
    /// assert_eq!(primus.delay(1, 0.9), Duration::from_millis(500));
    /// ```
    pub fn delay(&self, attempt: u32, random: f64) -> Duration {
        let min_ms = self.min.as_secs_f64() * 1000.0;
        if attempt <= 1 && self.exact_first_delay {
            return self.min;
        }
        let exponent = attempt.saturating_sub(1).min(64) as i32;
        let ms = ((random + 1.0) * min_ms * self.factor.powi(exponent)).round();
        let delay = Duration::from_millis(ms.clamp(0.0, u64::MAX as f64 / 2.0) as u64);
        match self.max {
            Some(max) => delay.min(max),
            None => delay,
        }
    }
}

/// When the client reconnects (Primus' `strategy` option).
///
/// ```
/// use primus_client::Strategy;
/// assert!(Strategy::default().disconnect && Strategy::default().timeout);
/// assert!(!Strategy::none().disconnect);
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Strategy {
    /// After an open connection is lost (including a ping timeout).
    pub disconnect: bool,
    /// When the network comes back. Native programs get no network events,
    /// so this is accepted for compatibility and has no effect.
    pub online: bool,
    /// When the first connection fails or times out.
    pub timeout: bool,
}

impl Default for Strategy {
    /// `disconnect`, `online` and `timeout`, as Primus.
    fn default() -> Strategy {
        Strategy {
            disconnect: true,
            online: true,
            timeout: true,
        }
    }
}

impl Strategy {
    /// Never reconnect (Primus' `strategy: false`).
    pub fn none() -> Strategy {
        Strategy {
            disconnect: false,
            online: false,
            timeout: false,
        }
    }
}

/// Where a reconnection stands; the payload of the reconnect events.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ReconnectState {
    /// The attempt (1-based).
    pub attempt: u32,
    /// The most attempts that will be made.
    pub retries: u32,
    /// The wait before this attempt.
    pub scheduled: Duration,
    /// Time since the connection was lost.
    pub elapsed: Duration,
}

/// One reconnection in progress.
pub(crate) struct Recovery {
    settings: Reconnect,
    started: Instant,
    attempt: u32,
    scheduled: Duration,
}

impl Recovery {
    pub(crate) fn new(settings: Reconnect) -> Recovery {
        Recovery {
            settings,
            started: Instant::now(),
            attempt: 0,
            scheduled: Duration::ZERO,
        }
    }

    /// Schedules the next attempt, or `None` when the retries are used up.
    pub(crate) fn next_attempt(&mut self) -> Option<Duration> {
        if self.attempt >= self.settings.retries {
            return None;
        }
        self.attempt += 1;
        self.scheduled = self.settings.delay(self.attempt, rand::rng().random::<f64>());
        Some(self.scheduled)
    }

    pub(crate) fn state(&self) -> ReconnectState {
        ReconnectState {
            attempt: self.attempt,
            retries: self.settings.retries,
            scheduled: self.scheduled,
            elapsed: self.started.elapsed(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn delays_grow_within_primus_bounds_and_respect_max() {
        let settings = Reconnect {
            max: Some(Duration::from_secs(3)),
            ..Reconnect::default()
        };
        let mut recovery = Recovery::new(settings);
        let mut delays = Vec::new();
        while let Some(delay) = recovery.next_attempt() {
            delays.push(delay);
        }
        assert_eq!(delays.len(), 10);
        assert!(delays[0] >= Duration::from_millis(500) && delays[0] < Duration::from_millis(1000));
        assert!(delays[1] >= Duration::from_millis(1000) && delays[1] < Duration::from_millis(2000));
        assert!(delays[2] >= Duration::from_millis(2000) && delays[2] <= Duration::from_secs(3));
        assert!(delays[3..].iter().all(|d| *d == Duration::from_secs(3)));
        assert_eq!(recovery.state().attempt, 10);
    }
}
