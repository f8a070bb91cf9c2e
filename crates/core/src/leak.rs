//! Leak detection: too many listeners on one pattern, subscriptions outliving their owner,
//! idle subscriptions on busy topics, and a rising subscription count.
//!
//! The detectors here are small, independent state machines fed with plain inputs (pattern
//! text, `now`); none of them knows about the bus. Each returns a [`LeakReason`] at the
//! moment a leak becomes suspected, and only once per episode, so a host is warned once, not
//! on every subscribe:
//!
//! * [`ListenerLimit`]: more than `limit` active subscriptions on one pattern text (the
//!   `MaxListenersExceededWarning` of Node's `EventEmitter`, per pattern);
//! * [`TrendTracker`]: subscribes minus unsubscribes rose in each of K consecutive windows;
//! * [`IdleWatch`]: one subscription received nothing for a while although messages for it
//!   were published.
//!
//! The fourth reason, [`LeakReason::OwnerReleased`], needs no detector: the bus reports it
//! when the host tells it an owner was released while its subscriptions were still active.
//!
//! # Example
//!
//! ```
//! use core::time::Duration;
//! use switchyard_core::leak::{LeakReason, ListenerLimit, TrendTracker};
//! use switchyard_core::Instant;
//!
//! let mut limit = ListenerLimit::new(2);
//! assert_eq!(limit.on_subscribe("orders.*"), None);
//! assert_eq!(limit.on_subscribe("orders.*"), None);
//! assert_eq!(limit.on_subscribe("orders.*"), Some(LeakReason::MaxListeners { count: 3, limit: 2 }));
//! assert_eq!(limit.on_subscribe("orders.*"), None); // once per crossing
//!
//! let mut trend = TrendTracker::new(Duration::from_secs(1), 2).unwrap();
//! let at = Instant::from_millis;
//! trend.on_subscribe(at(0));     // window [0 s, 1 s): +1
//! trend.on_subscribe(at(1_500)); // window [1 s, 2 s): +1
//! assert_eq!(trend.poll(at(2_000)), Some(LeakReason::Trend { windows: 2, growth: 2 }));
//! ```

use crate::hash::HashMap;
use alloc::boxed::Box;
use alloc::string::String;
use alloc::vec::Vec;
use core::time::Duration;
use serde::{Deserialize, Serialize};

use crate::error::ConfigError;
use crate::id::SubscriptionId;
use crate::time::Instant;

/// Why a subscription (or a pattern) is suspected of leaking.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum LeakReason {
    /// The pattern crossed `max_listeners` active subscriptions.
    MaxListeners {
        /// Active subscriptions on the pattern when it crossed.
        count: usize,
        /// The configured limit.
        limit: usize,
    },
    /// Its owner was released while it was still active.
    OwnerReleased,
    /// It received nothing for `idle_for` while a topic it matches was published to.
    Idle {
        /// How long it has been idle.
        idle_for: Duration,
    },
    /// Subscribes minus unsubscribes rose in each of `windows` consecutive windows.
    Trend {
        /// Consecutive rising windows.
        windows: u32,
        /// Net growth over those windows.
        growth: i64,
    },
}

impl LeakReason {
    /// The snake_case kind: `max_listeners`, `owner_released`, `idle`, `trend`.
    pub const fn kind(&self) -> &'static str {
        match self {
            LeakReason::MaxListeners { .. } => "max_listeners",
            LeakReason::OwnerReleased => "owner_released",
            LeakReason::Idle { .. } => "idle",
            LeakReason::Trend { .. } => "trend",
        }
    }
}

/// One suspected-leak subscription inside a report.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct LeakSuspect {
    /// Its id.
    pub subscription: SubscriptionId,
    /// Its name.
    pub name: Option<String>,
    /// Its pattern.
    pub pattern: String,
    /// Its age at report time.
    pub age: Duration,
    /// Its creation order.
    pub order: u64,
    /// Creation stack, when the host captured one.
    pub stack: Option<String>,
}

/// A suspected leak.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct LeakReport {
    /// Why.
    pub reason: LeakReason,
    /// The pattern concerned (`**` for a bus-wide trend).
    pub pattern: String,
    /// When it was detected.
    pub detected_at: Instant,
    /// The subscriptions concerned, in creation order.
    pub suspects: Vec<LeakSuspect>,
}

/// Counts active subscriptions per pattern text and reports when one pattern crosses
/// `limit`.
///
/// A crossing is the step from `limit` to `limit + 1` active subscriptions; it is reported
/// once ([`LeakReason::MaxListeners`]). The detector re-arms when the count drops back to
/// `limit` or below, so the next crossing is reported again. A limit of 0 turns it off
/// (nothing is counted, nothing allocated).
///
/// ```
/// use switchyard_core::leak::{LeakReason, ListenerLimit};
///
/// let mut limit = ListenerLimit::new(1);
/// assert_eq!(limit.on_subscribe("a.b"), None);
/// assert!(limit.on_subscribe("a.b").is_some());
/// limit.on_unsubscribe("a.b"); // back to the limit: re-armed
/// assert_eq!(limit.on_subscribe("a.b"), Some(LeakReason::MaxListeners { count: 2, limit: 1 }));
/// assert_eq!(limit.active("a.b"), 2);
/// ```
///
/// # How the bus uses this
///
/// The bus holds one `ListenerLimit::new(config.max_listeners)`, calls
/// [`on_subscribe`](ListenerLimit::on_subscribe) with the pattern text for every new
/// subscription and [`on_unsubscribe`](ListenerLimit::on_unsubscribe) for every removal
/// (explicit, once/max reached, reclaimed). A returned reason becomes a [`LeakReport`] whose
/// suspects are the active subscriptions on that pattern in creation order; it is traced as
/// `leak_suspected`, counted in `leaks_suspected`, and kept for `leaks(now)`.
#[derive(Clone, Debug, Default)]
pub struct ListenerLimit {
    limit: usize,
    patterns: HashMap<Box<str>, PatternCount>,
}

#[derive(Copy, Clone, Debug, Default)]
struct PatternCount {
    active: usize,
    /// The current crossing was reported; cleared when `active` drops back to the limit.
    reported: bool,
}

impl ListenerLimit {
    /// A detector reporting more than `limit` subscriptions on one pattern (0 = off).
    pub fn new(limit: usize) -> Self {
        ListenerLimit {
            limit,
            patterns: HashMap::default(),
        }
    }

    /// The configured limit (0 = off).
    pub fn limit(&self) -> usize {
        self.limit
    }

    /// A subscription on `pattern` became active. Returns the reason when this one takes the
    /// pattern past the limit for the first time since the count was last within it.
    pub fn on_subscribe(&mut self, pattern: &str) -> Option<LeakReason> {
        if self.limit == 0 {
            return None;
        }
        let entry = match self.patterns.get_mut(pattern) {
            Some(entry) => entry,
            None => self.patterns.entry(pattern.into()).or_default(),
        };
        entry.active = entry.active.saturating_add(1);
        if entry.active > self.limit && !entry.reported {
            entry.reported = true;
            Some(LeakReason::MaxListeners {
                count: entry.active,
                limit: self.limit,
            })
        } else {
            None
        }
    }

    /// A subscription on `pattern` went away. Unknown patterns are ignored.
    pub fn on_unsubscribe(&mut self, pattern: &str) {
        let Some(entry) = self.patterns.get_mut(pattern) else {
            return;
        };
        entry.active = entry.active.saturating_sub(1);
        if entry.active <= self.limit {
            entry.reported = false;
        }
        if entry.active == 0 {
            self.patterns.remove(pattern);
        }
    }

    /// Active subscriptions counted on `pattern` (always 0 when off).
    pub fn active(&self, pattern: &str) -> usize {
        self.patterns.get(pattern).map_or(0, |entry| entry.active)
    }

    /// Patterns currently past the limit, with their counts, in pattern order.
    pub fn over_limit(&self) -> Vec<(&str, usize)> {
        let mut over: Vec<(&str, usize)> = self
            .patterns
            .iter()
            .filter(|(_, c)| c.active > self.limit)
            .map(|(p, c)| (&**p, c.active))
            .collect();
        crate::sort::sort_by(&mut over, |a, b| a.0.cmp(b.0));
        over
    }
}

/// Watches the bus-wide net subscription count over fixed windows and reports a steady rise.
///
/// Time is cut into consecutive windows of `window`, starting at the first event seen. When
/// a window ends, its net change (subscribes minus unsubscribes) is judged: positive extends
/// the current streak, zero or negative ends it. When the streak reaches `windows`
/// consecutive rising windows, [`LeakReason::Trend`] is reported once, with the net growth
/// over the streak; the next report needs the streak to break and build up again. Windows
/// with no event at all count as flat and break the streak.
///
/// A window is judged when the first call at or after its end arrives
/// ([`on_subscribe`](TrendTracker::on_subscribe), [`on_unsubscribe`](TrendTracker::on_unsubscribe)
/// or [`poll`](TrendTracker::poll)), and whichever call judges the closing window returns the
/// report. [`next_deadline`](TrendTracker::next_deadline) says when polling could produce one.
///
/// ```
/// use core::time::Duration;
/// use switchyard_core::leak::{LeakReason, TrendTracker};
/// use switchyard_core::Instant;
///
/// let mut trend = TrendTracker::new(Duration::from_millis(100), 3).unwrap();
/// for w in 0..3 {
///     trend.on_subscribe(Instant::from_millis(w * 100));
///     trend.on_subscribe(Instant::from_millis(w * 100 + 50));
///     trend.on_unsubscribe(Instant::from_millis(w * 100 + 60));
/// }
/// assert_eq!(trend.next_deadline(), Some(Instant::from_millis(300)));
/// assert_eq!(trend.poll(Instant::from_millis(300)), Some(LeakReason::Trend { windows: 3, growth: 3 }));
/// ```
///
/// # How the bus uses this
///
/// With `Config::trend_window` set, the bus creates `TrendTracker::new(window,
/// config.trend_windows)?` in `Bus::new` (the error names the bad field), calls
/// [`on_subscribe`](TrendTracker::on_subscribe) / [`on_unsubscribe`](TrendTracker::on_unsubscribe)
/// on every subscription change and [`poll`](TrendTracker::poll) from `handle_timeout` and
/// `leaks(now)`; [`next_deadline`](TrendTracker::next_deadline) joins `poll_timeout`. A
/// returned reason becomes a [`LeakReport`] on pattern `**` whose suspects are the
/// subscriptions created during the streak.
#[derive(Clone, Debug)]
pub struct TrendTracker {
    /// Window length in microseconds (at least 1).
    window: u64,
    windows: u32,
    /// Start of the window being filled; `None` until the first event.
    current_start: Option<Instant>,
    current_net: i64,
    streak: u32,
    streak_growth: i64,
    /// The current streak was reported.
    reported: bool,
    /// Start of the first window of the latest streak (kept after the streak ends).
    streak_start: Option<Instant>,
}

impl TrendTracker {
    /// A tracker over windows of `window` that reports after `windows` consecutive rising
    /// windows. Refuses a window shorter than a microsecond (`trend_window`) and zero windows
    /// (`trend_windows`).
    pub fn new(window: Duration, windows: u32) -> Result<Self, ConfigError> {
        let window = u64::try_from(window.as_micros()).unwrap_or(u64::MAX);
        if window == 0 {
            return Err(ConfigError::new(
                "trend_window",
                "must be at least one microsecond",
            ));
        }
        if windows == 0 {
            return Err(ConfigError::new("trend_windows", "must be at least 1"));
        }
        Ok(TrendTracker {
            window,
            windows,
            current_start: None,
            current_net: 0,
            streak: 0,
            streak_growth: 0,
            reported: false,
            streak_start: None,
        })
    }

    /// A subscription was added at `now`. Returns a report if a window that ended before
    /// `now` completed a rising streak.
    pub fn on_subscribe(&mut self, now: Instant) -> Option<LeakReason> {
        let report = self.advance(now);
        self.current_net = self.current_net.saturating_add(1);
        report
    }

    /// A subscription was removed at `now`. Returns a report as
    /// [`on_subscribe`](TrendTracker::on_subscribe) does.
    pub fn on_unsubscribe(&mut self, now: Instant) -> Option<LeakReason> {
        let report = self.advance(now);
        self.current_net = self.current_net.saturating_sub(1);
        report
    }

    /// Judges every window that ended by `now`; returns a report if one completed a streak.
    pub fn poll(&mut self, now: Instant) -> Option<LeakReason> {
        self.advance(now)
    }

    /// When polling could next produce a report: the end of the current window, if it is
    /// rising and would complete an unreported streak.
    pub fn next_deadline(&self) -> Option<Instant> {
        let start = self.current_start?;
        let completes = self.streak.saturating_add(1) >= self.windows;
        if self.current_net > 0 && completes && !self.reported {
            Some(Instant::from_micros(
                start.as_micros().saturating_add(self.window),
            ))
        } else {
            None
        }
    }

    /// Consecutive rising windows judged so far in the current streak.
    pub fn streak(&self) -> u32 {
        self.streak
    }

    /// When the first window of the latest rising streak began (the one a report describes:
    /// still known after the streak ended), or `None` before any window rose.
    pub fn streak_start(&self) -> Option<Instant> {
        self.streak_start
    }

    fn advance(&mut self, now: Instant) -> Option<LeakReason> {
        let Some(start) = self.current_start else {
            self.current_start = Some(now);
            return None;
        };
        let elapsed = now.as_micros().saturating_sub(start.as_micros());
        let ended = elapsed / self.window;
        if ended == 0 {
            return None;
        }
        let mut report = None;
        if self.current_net > 0 {
            if self.streak == 0 {
                self.streak_start = Some(start);
            }
            self.streak = self.streak.saturating_add(1);
            self.streak_growth = self.streak_growth.saturating_add(self.current_net);
            if self.streak >= self.windows && !self.reported {
                self.reported = true;
                report = Some(LeakReason::Trend {
                    windows: self.streak,
                    growth: self.streak_growth,
                });
            }
        } else {
            self.break_streak();
        }
        if ended > 1 {
            // At least one whole window passed without any event: flat, so the streak ends.
            self.break_streak();
        }
        self.current_net = 0;
        let next_start = start
            .as_micros()
            .saturating_add(ended.saturating_mul(self.window));
        self.current_start = Some(Instant::from_micros(next_start));
        report
    }

    fn break_streak(&mut self) {
        self.streak = 0;
        self.streak_growth = 0;
        self.reported = false;
    }
}

/// Watches one subscription for idleness: a message for it was published at least
/// `idle_after` ago and it has received nothing since.
///
/// "Received" means a delivery was handed to its handler (whatever the outcome). The episode
/// starts at the first matching publish after the last receipt and is reported once
/// ([`LeakReason::Idle`], with the time since the last receipt, or since creation); the next
/// receipt ends it. A subscription with no matching traffic is never idle: a quiet topic is
/// not a leak.
///
/// ```
/// use core::time::Duration;
/// use switchyard_core::leak::{IdleWatch, LeakReason};
/// use switchyard_core::Instant;
///
/// let idle_after = Duration::from_secs(10);
/// let mut watch = IdleWatch::new(Instant::from_millis(0));
/// watch.on_matched(Instant::from_millis(5_000));
/// assert_eq!(watch.check(Instant::from_millis(14_999), idle_after), None);
/// assert_eq!(
///     watch.check(Instant::from_millis(15_000), idle_after),
///     Some(LeakReason::Idle { idle_for: Duration::from_secs(15) })
/// );
/// assert_eq!(watch.check(Instant::from_millis(20_000), idle_after), None); // reported once
/// watch.on_received(Instant::from_millis(21_000)); // episode over
/// ```
///
/// # How the bus uses this
///
/// With `Config::idle_after` set, each subscription keeps an `IdleWatch` created at subscribe
/// time. Routing a publish to the subscription calls [`on_matched`](IdleWatch::on_matched)
/// (also when the message is then dropped or filtered), handing it a delivery calls
/// [`on_received`](IdleWatch::on_received). `leaks(now)` and `handle_timeout(now)` call
/// [`check`](IdleWatch::check) for active, unpaused subscriptions; the earliest
/// [`deadline`](IdleWatch::deadline) joins `poll_timeout`.
#[derive(Copy, Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct IdleWatch {
    pub(crate) last_received: Instant,
    /// First matching publish since `last_received`, if any.
    pub(crate) waiting_since: Option<Instant>,
    pub(crate) reported: bool,
}

impl IdleWatch {
    /// A watch for a subscription created at `created_at`.
    pub fn new(created_at: Instant) -> Self {
        IdleWatch {
            last_received: created_at,
            waiting_since: None,
            reported: false,
        }
    }

    /// A message on a topic the subscription matches was published at `now`.
    pub fn on_matched(&mut self, now: Instant) {
        if self.waiting_since.is_none() {
            self.waiting_since = Some(now);
        }
    }

    /// The subscription received a delivery at `now`; ends any idle episode.
    pub fn on_received(&mut self, now: Instant) {
        self.last_received = now;
        self.waiting_since = None;
        self.reported = false;
    }

    /// Reports the subscription idle once per episode, when a matching publish has waited
    /// `idle_after` at `now` with nothing received.
    pub fn check(&mut self, now: Instant, idle_after: Duration) -> Option<LeakReason> {
        let due = self.deadline(idle_after)?;
        if now < due {
            return None;
        }
        self.reported = true;
        Some(LeakReason::Idle {
            idle_for: now.saturating_duration_since(self.last_received),
        })
    }

    /// When [`check`](IdleWatch::check) would report, if an unreported episode is under way.
    pub fn deadline(&self, idle_after: Duration) -> Option<Instant> {
        if self.reported {
            return None;
        }
        self.waiting_since
            .map(|since| since.saturating_add(idle_after))
    }

    /// When the subscription last received something (or was created).
    pub fn last_received(&self) -> Instant {
        self.last_received
    }

    /// The watch with every instant moved by `shift` (used by snapshot restore).
    #[cfg(feature = "snapshot")]
    pub(crate) fn shifted(self, shift: impl Fn(Instant) -> Instant) -> Self {
        IdleWatch {
            last_received: shift(self.last_received),
            waiting_since: self.waiting_since.map(&shift),
            reported: self.reported,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ms(millis: u64) -> Instant {
        Instant::from_millis(millis)
    }

    #[test]
    fn leak_reasons_have_snake_case_kinds() {
        assert_eq!(
            LeakReason::MaxListeners { count: 2, limit: 1 }.kind(),
            "max_listeners"
        );
        assert_eq!(LeakReason::OwnerReleased.kind(), "owner_released");
        assert_eq!(
            LeakReason::Idle {
                idle_for: Duration::ZERO
            }
            .kind(),
            "idle"
        );
        assert_eq!(
            LeakReason::Trend {
                windows: 1,
                growth: 1
            }
            .kind(),
            "trend"
        );
    }

    // ---- ListenerLimit ----

    #[test]
    fn crossing_the_listener_limit_is_reported_once() {
        let mut limit = ListenerLimit::new(3);
        for _ in 0..3 {
            assert_eq!(limit.on_subscribe("a.*"), None);
        }
        assert_eq!(
            limit.on_subscribe("a.*"),
            Some(LeakReason::MaxListeners { count: 4, limit: 3 })
        );
        for _ in 0..10 {
            assert_eq!(limit.on_subscribe("a.*"), None);
        }
        assert_eq!(limit.active("a.*"), 14);
    }

    #[test]
    fn dropping_back_to_the_limit_re_arms_the_report() {
        let mut limit = ListenerLimit::new(2);
        for _ in 0..4 {
            limit.on_subscribe("x");
        }
        limit.on_unsubscribe("x"); // 3: still over, not re-armed
        assert_eq!(limit.on_subscribe("x"), None);
        limit.on_unsubscribe("x");
        limit.on_unsubscribe("x"); // 2: back within the limit
        assert_eq!(
            limit.on_subscribe("x"),
            Some(LeakReason::MaxListeners { count: 3, limit: 2 })
        );
    }

    #[test]
    fn patterns_are_counted_separately() {
        let mut limit = ListenerLimit::new(1);
        assert_eq!(limit.on_subscribe("a"), None);
        assert_eq!(limit.on_subscribe("b"), None);
        assert!(limit.on_subscribe("a").is_some());
        assert_eq!(limit.over_limit(), [("a", 2)]);
    }

    #[test]
    fn a_limit_of_zero_turns_the_detector_off() {
        let mut limit = ListenerLimit::new(0);
        for _ in 0..1_000 {
            assert_eq!(limit.on_subscribe("a"), None);
        }
        assert_eq!(limit.active("a"), 0);
    }

    #[test]
    fn unsubscribing_an_unknown_pattern_is_ignored_and_empty_patterns_are_forgotten() {
        let mut limit = ListenerLimit::new(5);
        limit.on_unsubscribe("never");
        limit.on_subscribe("a");
        limit.on_unsubscribe("a");
        limit.on_unsubscribe("a");
        assert_eq!(limit.active("a"), 0);
        assert!(limit.patterns.is_empty());
    }

    // ---- TrendTracker ----

    #[test]
    fn trend_with_zero_window_or_zero_windows_is_refused() {
        assert_eq!(
            TrendTracker::new(Duration::ZERO, 3).unwrap_err().field,
            "trend_window"
        );
        assert_eq!(
            TrendTracker::new(Duration::from_nanos(999), 3)
                .unwrap_err()
                .field,
            "trend_window"
        );
        assert_eq!(
            TrendTracker::new(Duration::from_secs(1), 0)
                .unwrap_err()
                .field,
            "trend_windows"
        );
    }

    #[test]
    fn k_rising_windows_are_reported_once_with_their_growth() {
        let mut trend = TrendTracker::new(Duration::from_millis(100), 3).unwrap();
        assert_eq!(trend.on_subscribe(ms(0)), None);
        assert_eq!(trend.on_subscribe(ms(110)), None);
        assert_eq!(trend.on_subscribe(ms(120)), None);
        assert_eq!(trend.on_subscribe(ms(250)), None);
        assert_eq!(
            trend.poll(ms(299)),
            None,
            "the third window is not over yet"
        );
        assert_eq!(
            trend.poll(ms(300)),
            Some(LeakReason::Trend {
                windows: 3,
                growth: 4
            })
        );
        assert_eq!(trend.poll(ms(300)), None);
        // The streak goes on but is not reported again.
        assert_eq!(trend.on_subscribe(ms(301)), None);
        assert_eq!(trend.poll(ms(400)), None);
        assert_eq!(trend.streak(), 4);
    }

    #[test]
    fn the_report_comes_from_whichever_call_closes_the_window() {
        let mut trend = TrendTracker::new(Duration::from_millis(100), 2).unwrap();
        trend.on_subscribe(ms(0));
        trend.on_subscribe(ms(150));
        assert_eq!(
            trend.on_unsubscribe(ms(210)),
            Some(LeakReason::Trend {
                windows: 2,
                growth: 2
            })
        );
    }

    #[test]
    fn a_flat_or_falling_window_breaks_the_streak_and_re_arms() {
        let mut trend = TrendTracker::new(Duration::from_millis(100), 2).unwrap();
        trend.on_subscribe(ms(0));
        trend.on_subscribe(ms(100));
        assert!(trend.poll(ms(200)).is_some());
        // Window [200, 300): +1 -1 = 0 -> flat, streak broken.
        trend.on_subscribe(ms(210));
        trend.on_unsubscribe(ms(220));
        trend.on_subscribe(ms(300));
        assert_eq!(
            trend.poll(ms(400)),
            None,
            "only one rising window since the break"
        );
        assert_eq!(trend.streak(), 1);
        trend.on_subscribe(ms(450));
        assert_eq!(
            trend.poll(ms(500)),
            Some(LeakReason::Trend {
                windows: 2,
                growth: 2
            })
        );
    }

    #[test]
    fn an_empty_window_in_between_breaks_the_streak() {
        let mut trend = TrendTracker::new(Duration::from_millis(100), 2).unwrap();
        trend.on_subscribe(ms(0));
        // Nothing in [100, 200); next event at 250.
        assert_eq!(trend.on_subscribe(ms(250)), None);
        assert_eq!(trend.streak(), 0);
        assert_eq!(trend.poll(ms(300)), None);
        assert_eq!(trend.streak(), 1);
    }

    #[test]
    fn windows_start_at_the_first_event() {
        let mut trend = TrendTracker::new(Duration::from_millis(100), 1).unwrap();
        trend.on_subscribe(ms(1_000));
        assert_eq!(trend.next_deadline(), Some(ms(1_100)));
        assert_eq!(trend.poll(ms(1_099)), None);
        assert_eq!(
            trend.poll(ms(1_100)),
            Some(LeakReason::Trend {
                windows: 1,
                growth: 1
            })
        );
    }

    #[test]
    fn next_deadline_is_set_only_when_a_report_could_follow() {
        let mut trend = TrendTracker::new(Duration::from_millis(100), 3).unwrap();
        assert_eq!(trend.next_deadline(), None);
        trend.on_subscribe(ms(0));
        assert_eq!(
            trend.next_deadline(),
            None,
            "one rising window cannot complete three"
        );
        trend.on_subscribe(ms(100));
        trend.on_subscribe(ms(200));
        assert_eq!(trend.next_deadline(), Some(ms(300)));
        trend.on_unsubscribe(ms(210));
        assert_eq!(trend.next_deadline(), None, "the window is flat again");
    }

    #[test]
    fn time_going_backwards_or_to_the_end_of_time_never_panics() {
        let mut trend = TrendTracker::new(Duration::MAX, 1).unwrap();
        trend.on_subscribe(ms(500));
        assert_eq!(trend.on_subscribe(ms(10)), None);
        assert_eq!(trend.poll(Instant::from_micros(u64::MAX)), None);
        let mut small = TrendTracker::new(Duration::from_micros(1), 1).unwrap();
        small.on_subscribe(Instant::ZERO);
        assert!(small.poll(Instant::from_micros(u64::MAX)).is_some());
        assert_eq!(small.on_subscribe(Instant::from_micros(u64::MAX)), None);
    }

    // ---- IdleWatch ----

    #[test]
    fn a_subscription_without_matching_traffic_is_never_idle() {
        let mut watch = IdleWatch::new(ms(0));
        assert_eq!(watch.check(ms(1_000_000), Duration::from_secs(1)), None);
        assert_eq!(watch.deadline(Duration::from_secs(1)), None);
    }

    #[test]
    fn idle_is_reported_once_idle_after_has_passed_since_the_first_unreceived_publish() {
        let idle_after = Duration::from_millis(100);
        let mut watch = IdleWatch::new(ms(0));
        watch.on_matched(ms(50));
        watch.on_matched(ms(120)); // does not move the episode start
        assert_eq!(watch.deadline(idle_after), Some(ms(150)));
        assert_eq!(watch.check(ms(149), idle_after), None);
        assert_eq!(
            watch.check(ms(150), idle_after),
            Some(LeakReason::Idle {
                idle_for: Duration::from_millis(150)
            })
        );
        assert_eq!(watch.check(ms(500), idle_after), None);
        assert_eq!(watch.deadline(idle_after), None);
    }

    #[test]
    fn receiving_ends_the_episode_and_re_arms() {
        let idle_after = Duration::from_millis(100);
        let mut watch = IdleWatch::new(ms(0));
        watch.on_matched(ms(0));
        assert!(watch.check(ms(100), idle_after).is_some());
        watch.on_received(ms(300));
        assert_eq!(watch.last_received(), ms(300));
        assert_eq!(watch.check(ms(1_000), idle_after), None);
        watch.on_matched(ms(1_000));
        assert_eq!(
            watch.check(ms(1_100), idle_after),
            Some(LeakReason::Idle {
                idle_for: Duration::from_millis(800)
            })
        );
    }

    #[test]
    fn a_delivery_received_in_time_prevents_the_report() {
        let idle_after = Duration::from_millis(100);
        let mut watch = IdleWatch::new(ms(0));
        watch.on_matched(ms(10));
        watch.on_received(ms(20));
        assert_eq!(watch.check(ms(500), idle_after), None);
    }
}
