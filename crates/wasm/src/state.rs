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

use crate::prelude::*;
use alloc::rc::Rc;
use core::cell::{Cell, RefCell};

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
    /// The visualiser attachments in force (`expose`), each with its own viewers.
    pub exposures: RefCell<Vec<Exposure>>,
    /// The id the next exposure gets.
    pub next_exposure: Cell<u32>,
    /// How the attach state reads the bridge links serving this bus (`__links`, set by
    /// `switchyard/bridge`'s registry): a function answering an array of link views, called
    /// only when a frame carries the state; `undefined` while no link is open.
    pub links_reader: RefCell<JsValue>,
    /// The last topic turned into a JS string, and that string.
    pub topic_cache: RefCell<Option<(String, JsValue)>>,
    /// The fast path's cell, routes and adopted delivery (see `inline`).
    pub inline: RefCell<InlineState>,
    /// Cascade depth of publishes made by the `on()` listener running now (see
    /// [`ListenerCascade`]); `None` while no listener runs.
    pub listener_depth: Cell<Option<u32>>,
    /// Listener cascade depths of the messages published, directly or through handlers, by
    /// `on()` listeners during the outermost `emit_events` (emptied when it ends).
    pub listener_cascade: RefCell<ListenerCascade>,
}

/// The cascade limit for publishes made by `on()` listeners.
///
/// The engine counts causation hops through messages in flight, so a handler (or a filter) that
/// publishes in a loop is refused with `E_CASCADE`. A listener runs after the message it hears
/// about left flight, so the engine would see each of its publishes as a new root, and a
/// listener publishing on every `delivered` event would never stop. The host counts those hops
/// itself: a listener's publish is one hop deeper than the event's message (a message that no
/// listener caused is at depth 0), publishes by handlers of that message inherit its depth, and a
/// publish deeper than `maxCascadeDepth` is refused with `E_CASCADE`. Every hop of such a loop
/// happens inside one outermost `emit_events` call, so the table lives only that long.
///
/// Events without a message (`subscriber_added`, `subscriber_removed`, `paused`...) would
/// otherwise restart the count: a handler that subscribes and a listener on
/// `subscriber_added` that publishes to that handler would loop forever. So the table also
/// records, by trace cursor, the depth of the code running while each event was traced (a
/// *mark* at every switch between handlers, filters and listeners during `emit_events`), and an
/// event counts at the deeper of its message's depth and the depth it was traced at.
#[derive(Default)]
pub struct ListenerCascade {
    /// `(message id, depth)`, in publish order, so sorted by id (ids only grow).
    depths: Vec<(u64, u32)>,
    /// `(trace cursor, depth)`: events from that cursor on were traced by code at that depth
    /// (until the next mark). Sorted by cursor (cursors only grow).
    marks: Vec<(u64, u32)>,
}

impl ListenerCascade {
    /// The listener depth of message `id` (0 if no listener caused it).
    pub fn depth_of(&self, id: MessageId) -> u32 {
        // `get`, not indexing: a bounds check would link the panic formatting into the .wasm.
        self.depths
            .binary_search_by_key(&id.0, |(message, _)| *message)
            .ok()
            .and_then(|index| self.depths.get(index))
            .map_or(0, |(_, depth)| *depth)
    }

    /// Records the depth of a message just published (the newest id so far).
    pub fn record(&mut self, id: MessageId, depth: u32) {
        if depth > 0 {
            self.depths.push((id.0, depth));
        }
    }

    /// Whether no message depth is recorded (the common case: no listener published).
    pub fn is_empty(&self) -> bool {
        self.depths.is_empty()
    }

    /// Records that events traced from `cursor` on are traced by code at `depth`.
    pub fn mark(&mut self, cursor: u64, depth: u32) {
        if let Some(last) = self.marks.last_mut() {
            if last.1 == depth {
                return;
            }
            if last.0 == cursor {
                last.1 = depth;
                return;
            }
        } else if depth == 0 {
            return;
        }
        self.marks.push((cursor, depth));
    }

    /// The depth of the code that was running when the event at trace `cursor` was traced
    /// (0 before the first mark).
    pub fn depth_traced_at(&self, cursor: u64) -> u32 {
        let after = self.marks.partition_point(|(from, _)| *from <= cursor);
        after
            .checked_sub(1)
            .and_then(|index| self.marks.get(index))
            .map_or(0, |(_, depth)| *depth)
    }

    /// Forgets every depth and mark (the outermost `emit_events` ended).
    pub fn clear(&mut self) {
        self.depths.clear();
        self.marks.clear();
    }
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
            exposures: RefCell::new(Vec::new()),
            next_exposure: Cell::new(0),
            links_reader: RefCell::new(JsValue::UNDEFINED),
            topic_cache: RefCell::new(None),
            inline: RefCell::new(InlineState::default()),
            listener_depth: Cell::new(None),
            listener_cascade: RefCell::new(ListenerCascade::default()),
        })
    }

    /// The current time on the bus clock.
    pub fn now(&self) -> Instant {
        self.engine.borrow().now()
    }

    /// The listener cascade depth of a publish made now (see [`ListenerCascade`]): from an
    /// `on()` listener, one more than its event's message; from a handler, its message's.
    /// 0 when no listener is involved.
    pub fn listener_depth_now(&self) -> u32 {
        if let Some(message) = self.current.get() {
            let cascade = self.listener_cascade.borrow();
            if !cascade.is_empty() {
                return cascade.depth_of(message);
            }
            return 0;
        }
        self.listener_depth.get().unwrap_or(0)
    }

    /// Makes `message` the one whose handler or filter runs now (`None`: none), returning the
    /// previous one. While listeners are being called (`emit_events`), also marks the trace
    /// with the depth of the code that runs from now on (see [`ListenerCascade`]).
    pub fn set_current(&self, message: Option<MessageId>) -> Option<MessageId> {
        let previous = self.current.replace(message);
        self.mark_trace_depth();
        previous
    }

    /// Marks the trace with [`Shared::listener_depth_now`] while `emit_events` runs (no-op
    /// otherwise: outside it, everything is at depth 0).
    pub fn mark_trace_depth(&self) {
        if !self.emitting.get() {
            return;
        }
        let depth = self.listener_depth_now();
        let head = self.engine.borrow().trace_head();
        self.listener_cascade.borrow_mut().mark(head, depth);
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
        let waiters = core::mem::take(&mut *self.idle_waiters.borrow_mut());
        for resolve in waiters {
            let _ = resolve.call0(&JsValue::UNDEFINED);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::ListenerCascade;
    use switchyard_core::MessageId;

    #[test]
    fn listener_cascade_knows_the_depth_of_each_recorded_message_and_zero_otherwise() {
        let mut cascade = ListenerCascade::default();
        assert!(cascade.is_empty());
        assert_eq!(cascade.depth_of(MessageId(1)), 0);
        cascade.record(MessageId(3), 1);
        cascade.record(MessageId(4), 0);
        cascade.record(MessageId(7), 2);
        assert!(!cascade.is_empty());
        assert_eq!(cascade.depth_of(MessageId(3)), 1);
        assert_eq!(cascade.depth_of(MessageId(4)), 0, "depth 0 is not recorded");
        assert_eq!(cascade.depth_of(MessageId(7)), 2);
        assert_eq!(cascade.depth_of(MessageId(5)), 0);
        cascade.clear();
        assert_eq!(cascade.depth_of(MessageId(7)), 0);
    }

    #[test]
    fn listener_cascade_gives_an_event_the_depth_of_the_last_mark_at_or_before_its_cursor() {
        let mut cascade = ListenerCascade::default();
        assert_eq!(cascade.depth_traced_at(5), 0);
        cascade.mark(2, 0);
        assert_eq!(
            cascade.depth_traced_at(2),
            0,
            "depth 0 before any mark is not recorded"
        );
        cascade.mark(4, 1);
        cascade.mark(6, 1);
        cascade.mark(9, 3);
        cascade.mark(9, 2);
        cascade.mark(12, 0);
        assert_eq!(cascade.depth_traced_at(3), 0);
        assert_eq!(cascade.depth_traced_at(4), 1);
        assert_eq!(cascade.depth_traced_at(8), 1);
        assert_eq!(
            cascade.depth_traced_at(9),
            2,
            "a later mark at the same cursor wins"
        );
        assert_eq!(cascade.depth_traced_at(11), 2);
        assert_eq!(cascade.depth_traced_at(12), 0);
        assert_eq!(cascade.depth_traced_at(u64::MAX), 0);
        assert!(cascade.is_empty(), "marks are not message depths");
        cascade.clear();
        assert_eq!(cascade.depth_traced_at(10), 0);
    }
}
