//! Waking the engine: one `setTimeout` per bus, armed for the earliest of the engine's
//! `poll_timeout()` and the host-side deadlines (`waitFor` timeouts), and the manual clock's
//! `advance`, which fires the same deadlines in order without any timer.
//!
//! The timer callback is one closure made once per bus and reused for every arming, so arming
//! allocates nothing and a callback never drops its own closure. Dropping the bus clears the
//! pending timeout first, so JS never calls a freed closure.

use crate::prelude::*;
use alloc::rc::{Rc, Weak};
use core::cell::{Cell, RefCell};

use js_sys::{Function, Reflect};
use switchyard_core::Instant;
use wasm_bindgen::prelude::*;

use crate::state::Shared;

#[wasm_bindgen]
extern "C" {
    #[wasm_bindgen(js_name = setTimeout)]
    fn set_timeout(callback: &Function, millis: f64) -> JsValue;
    #[wasm_bindgen(js_name = clearTimeout)]
    fn clear_timeout(handle: &JsValue);
}

/// One armed `setTimeout`.
struct Armed {
    at: Instant,
    handle: JsValue,
    keep_alive: bool,
}

/// Calls `handle.ref()` or `handle.unref()` where they exist (Node's `Timeout`; browsers
/// return a number and have neither).
fn set_keep_alive(handle: &JsValue, keep_alive: bool) {
    if !handle.is_object() {
        return;
    }
    let name = if keep_alive { "ref" } else { "unref" };
    if let Ok(method) = Reflect::get(handle, &JsValue::from_str(name)) {
        if let Some(method) = method.dyn_ref::<Function>() {
            let _ = method.call0(handle);
        }
    }
}

/// The bus's single timer.
pub struct TimerSlot {
    callback: Closure<dyn FnMut()>,
    /// The deadline armed, the `setTimeout` handle, and whether it keeps a Node process alive.
    armed: RefCell<Option<Armed>>,
    firing: Cell<bool>,
}

impl TimerSlot {
    /// A disarmed timer that wakes `shared` when it fires.
    pub fn new(shared: Weak<Shared>) -> TimerSlot {
        let callback = Closure::<dyn FnMut()>::new(move || {
            if let Some(shared) = shared.upgrade() {
                shared.on_timer();
            }
        });
        TimerSlot {
            callback,
            armed: RefCell::new(None),
            firing: Cell::new(false),
        }
    }

    /// Arms for `deadline` (replacing any other arming), or disarms with `None`; `now` is read
    /// only when a new timeout is set. `keep_alive` says whether real work waits on it: the
    /// engine deletes timers lazily, so an idle bus may still report a stale (possibly far)
    /// deadline, which must not keep a Node process from exiting.
    fn arm(&self, deadline: Option<Instant>, keep_alive: bool, now: impl FnOnce() -> Instant) {
        let mut armed = self.armed.borrow_mut();
        if let (Some(current), Some(at)) = (armed.as_mut(), deadline) {
            if current.at == at {
                if current.keep_alive != keep_alive {
                    set_keep_alive(&current.handle, keep_alive);
                    current.keep_alive = keep_alive;
                }
                return;
            }
        }
        if let Some(previous) = armed.take() {
            clear_timeout(&previous.handle);
        }
        if let Some(at) = deadline {
            let micros = at.as_micros().saturating_sub(now().as_micros());
            // Round up: waking early would only re-arm for the remainder.
            let millis = (micros as f64 / 1000.0).ceil().min(2_147_483_647.0);
            let handle = set_timeout(self.callback.as_ref().unchecked_ref(), millis);
            if !keep_alive {
                set_keep_alive(&handle, false);
            }
            *armed = Some(Armed {
                at,
                handle,
                keep_alive,
            });
        }
    }

    /// Forgets the arming that just fired.
    fn fired(&self) {
        self.armed.borrow_mut().take();
    }
}

impl Drop for TimerSlot {
    fn drop(&mut self) {
        if let Some(armed) = self.armed.get_mut().take() {
            clear_timeout(&armed.handle);
        }
    }
}

/// A host-side deadline on the bus clock.
struct HostTimer {
    id: u32,
    deadline: Instant,
    callback: Function,
}

/// Host-side deadlines, kept unsorted (there are few: one per pending `waitFor` timeout).
#[derive(Default)]
pub struct HostTimers {
    next_id: u32,
    entries: Vec<HostTimer>,
}

impl HostTimers {
    /// Adds a deadline; returns its id.
    pub fn add(&mut self, deadline: Instant, callback: Function) -> u32 {
        self.next_id = self.next_id.wrapping_add(1);
        self.entries.push(HostTimer {
            id: self.next_id,
            deadline,
            callback,
        });
        self.next_id
    }

    /// Removes a deadline; false if it already fired or never existed.
    pub fn cancel(&mut self, id: u32) -> bool {
        let before = self.entries.len();
        self.entries.retain(|timer| timer.id != id);
        self.entries.len() != before
    }

    /// The earliest deadline.
    pub fn earliest(&self) -> Option<Instant> {
        self.entries.iter().map(|timer| timer.deadline).min()
    }

    /// Removes and returns the callbacks due at `now`, earliest first.
    fn take_due(&mut self, now: Instant) -> Vec<Function> {
        let mut due: Vec<HostTimer> = Vec::new();
        let mut index = 0;
        while index < self.entries.len() {
            if self.entries[index].deadline <= now {
                due.push(self.entries.swap_remove(index));
            } else {
                index += 1;
            }
        }
        // Insertion sort: few timers fall due at once, and `slice::sort_by_key` would link
        // std's stable sort (3.7 KB of the .wasm) for this one call.
        for sorted in 1..due.len() {
            let mut at = sorted;
            while at > 0 && (due[at].deadline, due[at].id) < (due[at - 1].deadline, due[at - 1].id)
            {
                due.swap(at - 1, at);
                at -= 1;
            }
        }
        due.into_iter().map(|timer| timer.callback).collect()
    }

    /// Drops every deadline.
    pub fn clear(&mut self) {
        self.entries.clear();
    }
}

/// Most deadline steps one `advance` takes before giving up (guards against a deadline that
/// never clears).
const MAX_ADVANCE_STEPS: usize = 1_000_000;

impl Shared {
    /// The earliest instant at which something is due.
    pub fn next_wake(&self) -> Option<Instant> {
        let engine = self.engine.borrow().bus.poll_timeout();
        let host = self.host_timers.borrow().earliest();
        match (engine, host) {
            (Some(a), Some(b)) => Some(a.min(b)),
            (a, b) => a.or(b),
        }
    }

    /// Re-arms the real-clock timer for the next deadline (no-op for the manual clock).
    pub fn reschedule(&self) {
        if self.engine.borrow().clock.is_manual() || self.timer.firing.get() {
            return;
        }
        let deadline = if self.closed.get() {
            None
        } else {
            self.next_wake()
        };
        // Real work: something in flight, ready or waiting for a retry, or a `waitFor` timeout.
        let keep_alive =
            !self.engine.borrow().bus.is_idle() || self.host_timers.borrow().earliest().is_some();
        self.timer.arm(deadline, keep_alive, || self.now());
    }

    /// The real-clock timer fired.
    fn on_timer(self: &Rc<Self>) {
        self.timer.fired();
        self.timer.firing.set(true);
        self.fire_due();
        self.timer.firing.set(false);
        self.finish();
    }

    /// Fires the engine's and the host's deadlines due now, then runs what became ready.
    pub fn fire_due(self: &Rc<Self>) {
        let now = {
            let mut engine = self.engine.borrow_mut();
            let now = engine.now();
            engine.bus.handle_timeout(now);
            now
        };
        let due = self.host_timers.borrow_mut().take_due(now);
        for callback in due {
            let _ = callback.call0(&JsValue::UNDEFINED);
        }
        self.drain();
    }

    /// Moves the manual clock forward to `target`, firing every deadline on the way at its own
    /// instant (so retries and batch windows happen in order).
    pub fn advance(self: &Rc<Self>, target: Instant) {
        let mut steps = 0;
        while let Some(wake) = self.next_wake() {
            if wake > target || steps >= MAX_ADVANCE_STEPS {
                break;
            }
            steps += 1;
            self.engine.borrow_mut().clock.set(wake);
            self.fire_due();
        }
        self.engine.borrow_mut().clock.set(target);
        self.fire_due();
        self.finish();
    }
}
