//! Leak detection wired into the bus: patterns crossing `max_listeners`
//! ([`ListenerLimit`]), subscriptions outliving their owner, idle subscriptions on busy
//! topics ([`crate::leak::IdleWatch`], one per subscription) and a subscription count that
//! keeps rising ([`TrendTracker`]). Each detection is traced as `leak_suspected` and counted.

use alloc::string::String;
use alloc::vec::Vec;

use crate::hash::HashSet;

use super::slab::Key;
use super::subscriber::Subscriber;
use super::timers::Timer;
use super::{sid, Bus};
use crate::config::Config;
use crate::error::ConfigError;
use crate::id::OwnerId;
use crate::leak::{LeakReason, LeakReport, LeakSuspect, ListenerLimit, TrendTracker};
use crate::time::Instant;
use crate::topic::Pattern;
use crate::trace::TraceKind;

/// Most `owner_released` reports kept for `leaks()`; past it the oldest is forgotten (every
/// one was counted in `leaks_suspected` and traced as `leak_suspected` when it happened).
pub const MAX_RELEASED_REPORTS: usize = 256;

/// What the bus remembers for leak detection.
#[derive(Debug)]
pub(crate) struct LeakState {
    pub(crate) listeners: ListenerLimit,
    /// Owners of still-active subscriptions reported released (only restored from snapshots
    /// written before released owners ended their subscriptions).
    pub(crate) released: HashSet<OwnerId>,
    /// `owner_released` reports of subscriptions that ended with their owner, oldest first (at
    /// most [`MAX_RELEASED_REPORTS`]).
    pub(crate) released_reports: Vec<LeakReport>,
    pub(crate) trend: Option<TrendTracker>,
    /// The last trend report, kept while its streak lasts.
    pub(crate) trend_report: Option<LeakReport>,
    /// Leak reports raised since creation.
    pub(crate) suspected: u64,
}

impl LeakState {
    pub(crate) fn new(config: &Config) -> Result<Self, ConfigError> {
        let trend = match config.trend_window {
            Some(window) => Some(TrendTracker::new(window, config.trend_windows)?),
            None => None,
        };
        Ok(LeakState {
            listeners: ListenerLimit::new(config.max_listeners),
            released: HashSet::default(),
            released_reports: Vec::new(),
            trend,
            trend_report: None,
            suspected: 0,
        })
    }
}

fn suspect<P>(key: Key, sub: &Subscriber<P>, now: Instant) -> LeakSuspect {
    LeakSuspect {
        subscription: sid(key),
        name: sub.profile.name.clone(),
        pattern: String::from(sub.pattern.as_str()),
        age: now.saturating_duration_since(sub.profile.created_at),
        order: sub.order,
        stack: sub.profile.stack.clone(),
    }
}

impl<P> Bus<P> {
    fn raise_leak(&mut self, key: Option<Key>, detail: u64) {
        self.leaks.suspected = self.leaks.suspected.saturating_add(1);
        self.emit(TraceKind::LeakSuspected, key, None, detail);
    }

    /// Listener-limit and trend bookkeeping after a subscribe.
    pub(crate) fn on_subscribed(&mut self, key: Key, pattern: &Pattern) {
        if let Some(LeakReason::MaxListeners { count, .. }) =
            self.leaks.listeners.on_subscribe(pattern.as_str())
        {
            self.raise_leak(Some(key), count as u64);
        }
        let now = self.now;
        let report = self.leaks.trend.as_mut().and_then(|t| t.on_subscribe(now));
        self.after_trend_step(report);
    }

    /// Listener-limit and trend bookkeeping after a removal.
    pub(crate) fn on_unsubscribed(&mut self, pattern: &Pattern) {
        self.leaks.listeners.on_unsubscribe(pattern.as_str());
        let now = self.now;
        let report = self
            .leaks
            .trend
            .as_mut()
            .and_then(|t| t.on_unsubscribe(now));
        self.after_trend_step(report);
    }

    /// A trend window may have ended.
    pub(crate) fn poll_trend(&mut self) {
        let now = self.now;
        let report = self.leaks.trend.as_mut().and_then(|t| t.poll(now));
        self.after_trend_step(report);
    }

    fn after_trend_step(&mut self, report: Option<LeakReason>) {
        let Some(trend) = self.leaks.trend.as_ref() else {
            return;
        };
        if let Some(at) = trend.next_deadline() {
            self.timers.arm(at, Timer::Trend);
        }
        if trend.streak() == 0 {
            self.leaks.trend_report = None;
        }
        let Some(reason) = report else { return };
        let now = self.now;
        // The suspects are the subscriptions made during the streak and still active.
        let since = trend.streak_start().unwrap_or(Instant::ZERO);
        let mut suspects: Vec<LeakSuspect> = self
            .subs
            .iter()
            .filter(|(_, s)| s.profile.created_at >= since)
            .map(|(k, s)| suspect(k, s, now))
            .collect();
        crate::sort::sort_by_key(&mut suspects, |s| s.order);
        let growth = match reason {
            LeakReason::Trend { growth, .. } => growth.max(0) as u64,
            _ => 0,
        };
        self.leaks.trend_report = Some(LeakReport {
            reason,
            pattern: String::from("**"),
            detected_at: now,
            suspects,
        });
        self.raise_leak(None, growth);
    }

    /// An idle timer fired for `key`.
    pub(crate) fn check_idle(&mut self, key: Key) {
        let now = self.now;
        let Some(idle_after) = self.config.idle_after else {
            return;
        };
        let Some(sub) = self.subs.get_mut(key) else {
            return;
        };
        if sub.paused {
            return;
        }
        if sub.idle.check(now, idle_after).is_some() {
            sub.idle_flagged = true;
            self.raise_leak(Some(key), 0);
        }
    }

    /// Ends every subscription of `owner` (the host can no longer reach their handlers): weak
    /// ones are counted as reclaimed (trace detail 1); the others are reported as leaks
    /// (`owner_released`, kept for `leaks()`) and removed (trace detail 3).
    pub(crate) fn release_owner(&mut self, owner: OwnerId) {
        let now = self.now;
        let owned: Vec<(Key, bool)> = self
            .subs
            .iter()
            .filter(|(_, s)| s.profile.owner == Some(owner))
            .map(|(k, s)| (k, s.profile.weak))
            .collect();
        for (key, weak) in owned {
            if weak {
                if self.remove_subscription(key, 1) {
                    self.reclaimed = self.reclaimed.saturating_add(1);
                }
                continue;
            }
            let Some(sub) = self.subs.get(key) else {
                continue;
            };
            let report = LeakReport {
                reason: LeakReason::OwnerReleased,
                pattern: String::from(sub.pattern.as_str()),
                detected_at: now,
                suspects: alloc::vec![suspect(key, sub, now)],
            };
            // A `Vec` rather than a `VecDeque`: removing the oldest of at most 256 is cheap,
            // and the ring's code would only add to the `.wasm`.
            if self.leaks.released_reports.len() >= MAX_RELEASED_REPORTS {
                self.leaks.released_reports.remove(0);
            }
            self.leaks.released_reports.push(report);
            self.raise_leak(Some(key), 0);
            self.remove_subscription(key, 3);
        }
    }

    /// Every current leak report.
    pub(crate) fn leak_reports(&mut self) -> Vec<LeakReport> {
        self.fire_due();
        self.poll_trend();
        let now = self.now;
        let mut reports = Vec::new();
        let mut by_order: Vec<(Key, &Subscriber<P>)> = self.subs.iter().collect();
        crate::sort::sort_by_key(&mut by_order, |(_, s)| s.order);

        let limit = self.leaks.listeners.limit();
        for (pattern, count) in self.leaks.listeners.over_limit() {
            let suspects = by_order
                .iter()
                .filter(|(_, s)| s.pattern.as_str() == pattern)
                .map(|(k, s)| suspect(*k, s, now))
                .collect();
            reports.push(LeakReport {
                reason: LeakReason::MaxListeners { count, limit },
                pattern: String::from(pattern),
                detected_at: now,
                suspects,
            });
        }
        for (k, s) in &by_order {
            if s.profile
                .owner
                .is_some_and(|o| self.leaks.released.contains(&o))
            {
                reports.push(LeakReport {
                    reason: LeakReason::OwnerReleased,
                    pattern: String::from(s.pattern.as_str()),
                    detected_at: now,
                    suspects: alloc::vec![suspect(*k, s, now)],
                });
            }
        }
        reports.extend(self.leaks.released_reports.iter().cloned());
        for (k, s) in &by_order {
            if s.idle_flagged {
                reports.push(LeakReport {
                    reason: LeakReason::Idle {
                        idle_for: now.saturating_duration_since(s.idle.last_received()),
                    },
                    pattern: String::from(s.pattern.as_str()),
                    detected_at: now,
                    suspects: alloc::vec![suspect(*k, s, now)],
                });
            }
        }
        reports.extend(self.leaks.trend_report.clone());
        reports
    }
}
