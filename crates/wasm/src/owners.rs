//! Subscription owners: `subscribe(..., { owner })` ties a subscription to a JS object.
//!
//! Each owner object gets a number (kept in a `WeakMap`, so the bus never keeps an owner
//! alive) and is registered once with a `FinalizationRegistry`. When the garbage collector
//! reclaims it, the registry calls back with the number and the engine is told
//! (`owner_released`): every subscription it still had ends; one subscribed with `weak: true`
//! is counted as reclaimed, any other is reported by `leaks()` (it was never unsubscribed).
//!
//! # Holding handlers through their owner
//!
//! The usual handler of a component uses `this` or closes over the component. Held by the
//! bus, it would keep the component alive, so the component would never be collected nor
//! reported. So an owned subscription's handler and filter are held **by the owner**: in a
//! `WeakMap` keyed by the owner object (an ephemeron: the value lives exactly as long as its
//! key, whatever the value refers to), whose value maps the subscription id to its functions.
//! The handler table keeps only `WeakRef`s to them ([`OwnedFunctions`]), which resolve while
//! the owner lives. Unsubscribing deletes the subscription's functions from the owner's map.
//! The glue's inline route cache gets the `WeakRef`s to owned handlers, never the handlers:
//! it dereferences them once per task and drops what it got at the end of the task (the same
//! lifetime `WeakRef.deref` itself guarantees), so a cached route never keeps an owner alive
//! (see `__inlineRoute` and `fastpath.js`).

use alloc::rc::{Rc, Weak};

use js_sys::{Array, Function, Map, Object, WeakMap};
use switchyard_core::OwnerId;
use wasm_bindgen::prelude::*;

use crate::state::Shared;

#[wasm_bindgen]
extern "C" {
    /// The standard `FinalizationRegistry`.
    type FinalizationRegistry;
    #[wasm_bindgen(constructor, catch)]
    fn new(cleanup: &Function) -> Result<FinalizationRegistry, JsValue>;
    #[wasm_bindgen(method, catch)]
    fn register(this: &FinalizationRegistry, target: &JsValue, held: f64) -> Result<(), JsValue>;

    /// The standard `WeakRef`.
    #[wasm_bindgen(js_name = WeakRef)]
    type JsWeakRef;
    #[wasm_bindgen(constructor, catch, js_class = "WeakRef")]
    fn new(target: &JsValue) -> Result<JsWeakRef, JsValue>;
    #[wasm_bindgen(method, js_class = "WeakRef")]
    fn deref(this: &JsWeakRef) -> JsValue;
}

/// A weak reference to `target`, or `None` where `WeakRef` does not exist.
fn weak_ref(target: &JsValue) -> Option<JsWeakRef> {
    JsWeakRef::new(target).ok()
}

/// An owned subscription's handler and filter, held by its owner: weak references to them
/// and to the owner, plus what is needed to drop them from the owner's map on removal.
pub struct OwnedFunctions {
    owner: JsWeakRef,
    /// The owner's number (what the `FinalizationRegistry` reports when it is collected).
    owner_id: OwnerId,
    handler: JsWeakRef,
    filter: Option<JsWeakRef>,
    /// The bus's map from owner to `Map(subscription id → [handler, filter])`.
    held: WeakMap,
    /// The key of this subscription in the owner's map.
    key: f64,
}

impl OwnedFunctions {
    /// The handler and filter while the owner lives.
    pub fn get(&self) -> Option<(Function, Option<Function>)> {
        let handler = self.handler.deref().dyn_into::<Function>().ok()?;
        let filter = match &self.filter {
            Some(filter) => Some(filter.deref().dyn_into::<Function>().ok()?),
            None => None,
        };
        Some((handler, filter))
    }

    /// The `WeakRef` to the handler while the handler lives (the owner holds it), for the
    /// glue's inline route cache, which must not hold the handler itself.
    pub fn handler_ref(&self) -> Option<JsValue> {
        if self.handler.deref().is_function() {
            let weak: &JsValue = &self.handler;
            Some(weak.clone())
        } else {
            None
        }
    }

    /// The owner's number.
    pub fn owner_id(&self) -> OwnerId {
        self.owner_id
    }
}

impl Drop for OwnedFunctions {
    fn drop(&mut self) {
        // The subscription is gone: the owner no longer needs to hold its functions.
        // Checked with `typeof`, not `instanceof`: an owner may come from another realm.
        let owner = self.owner.deref();
        if owner.is_object() || owner.is_function() {
            let map = self.held.get(owner.unchecked_ref::<Object>());
            // The map is this bus's own (`hold` made it), so `instanceof Map` holds.
            if let Some(map) = map.dyn_ref::<Map>() {
                map.delete(&JsValue::from_f64(self.key));
            }
        }
    }
}

/// Owner bookkeeping for one bus.
pub struct Owners {
    ids: WeakMap,
    next: u64,
    registry: Option<FinalizationRegistry>,
    /// Owner object → `Map(subscription id → [handler, filter])`: an owned subscription's
    /// functions, held by its owner (see the module docs).
    held: WeakMap,
}

impl Owners {
    /// A registry reporting released owners to `shared` (where `FinalizationRegistry` exists).
    pub fn new(shared: Weak<Shared>) -> Owners {
        let cleanup = Closure::<dyn FnMut(JsValue)>::new(move |held: JsValue| {
            let Some(shared) = shared.upgrade() else {
                return;
            };
            if let Some(id) = held.as_f64() {
                shared.owner_released(OwnerId(id as u64));
            }
        });
        // The callback may run after this bus is gone (the registry outlives it until the
        // collector takes it), so JS owns the closure; it only holds a `Weak` to the bus.
        let cleanup: Function = cleanup.into_js_value().unchecked_into();
        let registry = FinalizationRegistry::new(&cleanup).ok();
        Owners {
            ids: WeakMap::new(),
            next: 0,
            registry,
            held: WeakMap::new(),
        }
    }

    /// Hands `handler` and `filter` of subscription `key` to `owner` (numbered `owner_id`) to
    /// hold, and answers the weak view the handler table keeps; `None` (hold them strongly)
    /// where `WeakRef` is missing.
    pub fn hold(
        &self,
        owner: &Object,
        owner_id: OwnerId,
        key: f64,
        handler: &Function,
        filter: Option<&Function>,
    ) -> Option<OwnedFunctions> {
        let owned = OwnedFunctions {
            owner: weak_ref(owner)?,
            owner_id,
            handler: weak_ref(handler)?,
            filter: match filter {
                Some(filter) => Some(weak_ref(filter)?),
                None => None,
            },
            held: self.held.clone(),
            key,
        };
        let map = match self.held.get(owner).dyn_into::<Map>() {
            Ok(map) => map,
            Err(_) => {
                let map = Map::new();
                self.held.set(owner, &map);
                map
            }
        };
        let pair = Array::of2(handler, filter.map_or(&JsValue::UNDEFINED, |f| f.as_ref()));
        map.set(&JsValue::from_f64(key), &pair);
        Some(owned)
    }

    /// The id of `owner`, registering it on first use.
    pub fn id_of(&mut self, owner: &Object) -> OwnerId {
        if let Some(id) = self.ids.get(owner).as_f64() {
            return OwnerId(id as u64);
        }
        self.next += 1;
        let id = self.next as f64;
        self.ids.set(owner, &JsValue::from_f64(id));
        if let Some(registry) = &self.registry {
            let _ = registry.register(owner, id);
        }
        OwnerId(self.next)
    }
}

impl Shared {
    /// `handler` and `filter` of subscription `key`, handed to `owner` to hold (see
    /// [`Owners::hold`]); `None` if the bus has no owner bookkeeping yet or lacks `WeakRef`.
    pub fn hold_by_owner(
        &self,
        owner: &Object,
        owner_id: OwnerId,
        key: f64,
        handler: &Function,
        filter: Option<&Function>,
    ) -> Option<OwnedFunctions> {
        self.owners
            .borrow()
            .as_ref()?
            .hold(owner, owner_id, key, handler, filter)
    }

    /// Takes owner ids up to `max`: a restored bus's subscriptions keep the ids of their old
    /// owners, whose objects are not in this bus (such a subscription is never released), so
    /// new owners are numbered after them and releasing one never ends a restored
    /// subscription.
    pub fn reserve_owner_ids(self: &Rc<Self>, max: u64) {
        let mut owners = self.owners.borrow_mut();
        let owners = owners.get_or_insert_with(|| Owners::new(Rc::downgrade(self)));
        owners.next = owners.next.max(max);
    }

    /// The owner id for `owner` (creating the registry on first use).
    pub fn owner_id(self: &Rc<Self>, owner: &Object) -> OwnerId {
        let mut owners = self.owners.borrow_mut();
        owners
            .get_or_insert_with(|| Owners::new(Rc::downgrade(self)))
            .id_of(owner)
    }

    /// The garbage collector reclaimed an owner (the `FinalizationRegistry` callback).
    fn owner_released(self: &Rc<Self>, owner: OwnerId) {
        self.release_owner(owner);
        self.finish();
    }

    /// Ends the subscriptions of a collected owner: the engine removes them (a `weak` one is
    /// counted as reclaimed, any other reported as `owner_released`; what they had queued or in
    /// flight is dropped) and their handler entries go. Called by the `FinalizationRegistry`
    /// callback, or earlier by the dispatch loop when it finds an owned handler already
    /// collected; whichever comes second finds nothing left to do.
    pub fn release_owner(&self, owner: OwnerId) {
        {
            let mut engine = self.engine.borrow_mut();
            let now = engine.now();
            engine.bus.owner_released(owner, now);
        }
        // This owner's subscriptions are gone now: drop their handler entries.
        let removed = {
            let engine = self.engine.borrow();
            self.handlers
                .borrow_mut()
                .remove_where(|id| !engine.bus.is_active(id))
        };
        drop(removed);
    }
}
