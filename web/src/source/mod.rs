//! Where the data comes from. Every source produces the same [`Update`]s (trace events and
//! state snapshots), so the views never know which one is active:
//!
//! * [`Source::Scenario`]: a built-in scenario running `switchyard-core` in this page;
//! * [`Source::Attach`]: a bus in another same-origin tab (BroadcastChannel) or in the page
//!   that opened this one as its devtools (MessagePort);
//! * [`Source::Replay`]: an imported recording.

pub mod attach;
pub mod driver;
pub mod recording;
pub mod rng;
pub mod scenarios;

use switchyard_core::{DeliveryStrategy, Overflow};

use crate::model::Update;
pub use attach::{AttachClient, AttachStatus};
pub use driver::Driver;
pub use recording::{Player, Recorder};
pub use scenarios::ScenarioId;

/// Live controls applied to a running scenario. `None` keeps the scenario's own value.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Tuning {
    /// Multiplies every producer's rate.
    pub rate_scale: f64,
    /// Overrides every handler's latency (ms; 0 = synchronous).
    pub latency_ms: Option<f64>,
    /// Overrides every handler's failure probability.
    pub failure_rate: Option<f64>,
    /// Overrides every queue's capacity (live: a shrink applies the overflow policy).
    pub capacity: Option<usize>,
    /// Overrides every overflow policy (live).
    pub overflow: Option<Overflow>,
    /// Swaps every subscription's delivery strategy (live).
    pub delivery: Option<DeliveryStrategy>,
}

impl Default for Tuning {
    fn default() -> Self {
        Tuning {
            rate_scale: 1.0,
            latency_ms: None,
            failure_rate: None,
            capacity: None,
            overflow: None,
            delivery: None,
        }
    }
}

/// A dead-letter action from the views.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum DeadLetterCommand {
    /// Redrive one (by dead-letter id) or all (`None`).
    Redrive(Option<u64>),
    /// Drop them all.
    Purge,
}

/// The active data source.
#[derive(Debug, Default)]
pub enum Source {
    /// Nothing yet.
    #[default]
    Idle,
    /// A built-in scenario.
    Scenario(Box<Driver>),
    /// An attached bus.
    Attach(Box<AttachClient>),
    /// A replayed recording.
    Replay(Box<Player>),
}

impl Source {
    /// Advances by `dt_ms` of wall time; returns the update and the source's current time, or
    /// `None` when the source is paused or idle.
    pub fn tick(&mut self, dt_ms: f64, playing: bool) -> Option<(Update, f64)> {
        match self {
            Source::Idle => None,
            Source::Scenario(driver) => playing.then(|| {
                let update = driver.tick(dt_ms);
                (update, driver.clock())
            }),
            Source::Attach(client) => {
                let (update, at) = client.poll();
                playing.then_some((update, at))
            }
            Source::Replay(player) => playing.then(|| {
                let update = player.advance(dt_ms);
                (update, player.clock())
            }),
        }
    }

    /// Carries out a dead-letter command; returns a short message for the status line.
    pub fn dead_letters(&mut self, command: DeadLetterCommand) -> Result<String, String> {
        match (self, command) {
            (Source::Scenario(driver), DeadLetterCommand::Redrive(id)) => driver
                .redrive(id)
                .map(|n| format!("redrove {n} dead letter{}", if n == 1 { "" } else { "s" })),
            (Source::Scenario(driver), DeadLetterCommand::Purge) => {
                Ok(format!("purged {} dead letters", driver.purge()))
            }
            (Source::Attach(client), DeadLetterCommand::Redrive(id)) => {
                client.redrive(id);
                Ok("redrive sent to the attached bus".to_string())
            }
            (Source::Attach(client), DeadLetterCommand::Purge) => {
                client.purge();
                Ok("purge sent to the attached bus".to_string())
            }
            (Source::Replay(_), _) => Err("a replayed recording cannot be changed".to_string()),
            (Source::Idle, _) => Err("no source".to_string()),
        }
    }

    /// A short description (`scenario:basic`, `attach:demo`, `replay`).
    pub fn describe(&self) -> String {
        match self {
            Source::Idle => "idle".to_string(),
            Source::Scenario(d) => format!("scenario:{}", d.scenario().name()),
            Source::Attach(c) => format!("attach:{}", c.name()),
            Source::Replay(_) => "replay".to_string(),
        }
    }
}
