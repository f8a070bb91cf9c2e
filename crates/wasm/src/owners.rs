//! Subscription owners: `subscribe(..., { owner })` ties a subscription to a JS object.
//!
//! Each owner object gets a number (kept in a `WeakMap`, so the bus never keeps an owner
//! alive) and is registered once with a `FinalizationRegistry`. When the garbage collector
//! reclaims it, the registry calls back with the number and the engine is told
//! (`owner_released`): a subscription still active is reported by `leaks()`, or removed if it
//! was subscribed with `weak: true`.

use std::rc::{Rc, Weak};

use js_sys::{Function, Object, WeakMap};
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
}

/// Owner bookkeeping for one bus.
pub struct Owners {
    ids: WeakMap,
    next: u64,
    registry: Option<FinalizationRegistry>,
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
        }
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
    /// The owner id for `owner` (creating the registry on first use).
    pub fn owner_id(self: &Rc<Self>, owner: &Object) -> OwnerId {
        let mut owners = self.owners.borrow_mut();
        owners
            .get_or_insert_with(|| Owners::new(Rc::downgrade(self)))
            .id_of(owner)
    }

    /// The garbage collector reclaimed an owner.
    fn owner_released(self: &Rc<Self>, owner: OwnerId) {
        {
            let mut engine = self.engine.borrow_mut();
            let now = engine.now();
            engine.bus.owner_released(owner, now);
        }
        // Weak subscriptions of this owner are gone now: drop their handlers.
        let removed = {
            let engine = self.engine.borrow();
            self.handlers
                .borrow_mut()
                .remove_where(|id| !engine.bus.is_active(id))
        };
        drop(removed);
        self.finish();
    }
}
