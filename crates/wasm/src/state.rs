//! The state one `EventBus` and its `Subscription`s share, and the rule that keeps it sound
//! under re-entrancy: **no `RefCell` borrow is held while JavaScript runs**.
//!
//! Every public operation does its engine work inside a short borrow, releases it, and then
//! calls [`Shared::finish`]. `finish` is where the host side of the sans-IO loop lives: it runs
//! ready deliveries (calling handlers with nothing borrowed), emits lifecycle events to `on()`
//! listeners, re-arms the timer for the engine's next deadline, resolves `idle()` promises and
//! tells an attached visualiser that something changed. A handler that publishes re-enters the
//! bindings; its `finish` sees that a dispatch loop is already running and returns at once, so
//! its messages are delivered by the outer loop after the current message reached everyone
//! (run to completion, breadth first, no recursion).

use std::cell::{Cell, RefCell};
use std::rc::Rc;

use js_sys::Function;
use switchyard_core::{Bus, Instant, MessageId};
use wasm_bindgen::prelude::*;

use crate::clock::Clock;
use crate::events::Listeners;
use crate::expose::Exposure;
use crate::handlers::HandlerTable;
use crate::inline::InlineState;
use crate::owners::Owners;
use crate::timer::{HostTimers, TimerSlot};

/// Trace ring size used while someone listens (`on`) or watches (`expose`) and the user did not
/// configure a larger one.
pub const OBSERVER_TRACE_CAPACITY: usize = 4096;

/// The engine and what the bindings keep next to it.
pub struct Engine {
    /// The sans-IO bus; payloads are JS values, stored once.
    pub bus: Bus<JsValue>,
    /// Where time comes from.
    pub clock: Clock,
    /// Capture `new Error().stack` on subscribe (for leak reports).
    pub capture_stacks: bool,
    /// The trace capacity the user asked for (`traceCapacity`).
    pub trace_capacity: usize,
    /// Observers that need the trace ring on (`on` listeners count as one, each exposure as one).
    pub trace_observers: usize,
    /// Where `on()` listeners have read the trace up to.
    pub events_cursor: u64,
}

impl Engine {
    /// The current time.
    pub fn now(&self) -> Instant {
        self.clock.now()
    }

    /// Adds (`+1`) or removes (`-1`) a trace observer, resizing the ring when the first arrives
    /// or the last leaves, so tracing costs nothing while nobody looks.
    pub fn observe_trace(&mut self, delta: isize) {
        let before = self.trace_observers;
        self.trace_observers = before.saturating_add_signed(delta);
        let wanted = if self.trace_observers > 0 {
            self.trace_capacity.max(OBSERVER_TRACE_CAPACITY)
        } else {
            self.trace_capacity
        };
        if (before == 0) != (self.trace_observers == 0) {
            self.bus.set_trace_capacity(wanted);
        }
    }

    /// The trace cursor new events will get (nothing before it is unread by a new observer).
    pub fn trace_head(&self) -> u64 {
        self.bus.trace_since(u64::MAX).cursor
    }
}

/// Everything behind an `EventBus`.
pub struct Shared {
    /// The engine (borrowed only between JS calls).
    pub engine: RefCell<Engine>,
    /// Handlers, filters and abort hooks per subscription.
    pub handlers: RefCell<HandlerTable>,
    /// A dispatch loop is running (handlers may be on the stack).
    pub dispatching: Cell<bool>,
    /// Lifecycle events are being emitted to listeners.
    pub emitting: Cell<bool>,
    /// The message whose handler is running: the causation of publishes it makes.
    pub current: Cell<Option<MessageId>>,
    /// `close()` was called.
    pub closed: Cell<bool>,
    /// `on()` listeners.
    pub listeners: RefCell<Listeners>,
    /// The armed `setTimeout` for the engine's next deadline (real clock only).
    pub timer: TimerSlot,
    /// Host-side deadlines on the bus clock (`waitFor` timeouts).
    pub host_timers: RefCell<HostTimers>,
    /// `idle()` promises waiting to resolve.
    pub idle_waiters: RefCell<Vec<Function>>,
    /// Owner objects and their `FinalizationRegistry`.
    pub owners: RefCell<Option<Owners>>,
    /// The visualiser attachment, when `expose` was called.
    pub exposure: RefCell<Option<Exposure>>,
    /// The last topic turned into a JS string, and that string.
    pub topic_cache: RefCell<Option<(String, JsValue)>>,
    /// The fast path's cell, routes and adopted delivery (see `inline`).
    pub inline: RefCell<InlineState>,
}

impl Shared {
    /// New shared state around `engine`.
    pub fn new(engine: Engine) -> Rc<Shared> {
        Rc::new_cyclic(|weak| Shared {
            engine: RefCell::new(engine),
            handlers: RefCell::new(HandlerTable::default()),
            dispatching: Cell::new(false),
            emitting: Cell::new(false),
            current: Cell::new(None),
            closed: Cell::new(false),
            listeners: RefCell::new(Listeners::default()),
            timer: TimerSlot::new(weak.clone()),
            host_timers: RefCell::new(HostTimers::default()),
            idle_waiters: RefCell::new(Vec::new()),
            owners: RefCell::new(None),
            exposure: RefCell::new(None),
            topic_cache: RefCell::new(None),
            inline: RefCell::new(InlineState::default()),
        })
    }

    /// The current time on the bus clock.
    pub fn now(&self) -> Instant {
        self.engine.borrow().now()
    }

    /// Completes an outermost operation (see the module docs). Cheap when there is nothing to do.
    pub fn finish(self: &Rc<Self>) {
        self.finish_at(None);
    }

    /// [`Shared::finish`] for an operation that already read the clock at `now`.
    pub fn finish_at(self: &Rc<Self>, now: Option<Instant>) {
        if self.dispatching.get() {
            return;
        }
        self.drain_at(now);
        self.emit_events();
        self.reschedule();
        self.wake_idle();
        self.note_change();
        self.write_inline_cell();
    }

    /// Resolves `idle()` promises if the engine is idle.
    fn wake_idle(&self) {
        if self.idle_waiters.borrow().is_empty() || !self.engine.borrow().bus.is_idle() {
            return;
        }
        let waiters = std::mem::take(&mut *self.idle_waiters.borrow_mut());
        for resolve in waiters {
            let _ = resolve.call0(&JsValue::UNDEFINED);
        }
    }
}
