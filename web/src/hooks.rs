//! Small browser hooks that stop when their reactive owner is disposed: the animation-frame
//! loop ([`use_animation_frame`]) and element-size observation ([`use_element_size`]).
//!
//! Each registers an [`on_cleanup`] on the current owner (the component that called it, or the
//! root of [`leptos::mount::mount_to`]), so unmounting the app (the devtools panel closing, a
//! component test finishing) cancels the pending frame and disconnects the observer: no
//! callback into the module runs after that.

use std::cell::RefCell;
use std::rc::Rc;

use leptos::html::ElementType;
use leptos::prelude::*;
use send_wrapper::SendWrapper;
use wasm_bindgen::prelude::*;
use wasm_bindgen::JsCast;

/// The state of one animation-frame loop.
struct FrameLoop {
    /// The callback handed to `requestAnimationFrame`; `None` once stopped.
    callback: Option<Closure<dyn FnMut(f64)>>,
    /// The id of the frame requested and not yet run (for `cancelAnimationFrame`).
    pending: Option<i32>,
}

/// Requests the next frame for `state`'s callback, unless the loop has stopped.
fn request_frame(state: &Rc<RefCell<FrameLoop>>) {
    let mut inner = state.borrow_mut();
    let id = match (web_sys::window(), inner.callback.as_ref()) {
        (Some(window), Some(cb)) => window
            .request_animation_frame(cb.as_ref().unchecked_ref())
            .ok(),
        _ => None,
    };
    inner.pending = id;
}

/// Runs `frame(timestamp)` on every animation frame until the current owner is cleaned up;
/// then the pending frame is cancelled and `frame` dropped. Without an owner it runs for the
/// life of the page.
pub fn use_animation_frame(mut frame: impl FnMut(f64) + 'static) {
    let state = Rc::new(RefCell::new(FrameLoop {
        callback: None,
        pending: None,
    }));
    let weak = Rc::downgrade(&state);
    let callback = Closure::new(move |timestamp: f64| {
        let Some(state) = weak.upgrade() else { return };
        state.borrow_mut().pending = None;
        frame(timestamp);
        request_frame(&state);
    });
    state.borrow_mut().callback = Some(callback);
    request_frame(&state);
    let state = SendWrapper::new(state);
    on_cleanup(move || {
        let state = state.take();
        let (callback, pending) = {
            let mut inner = state.borrow_mut();
            (inner.callback.take(), inner.pending.take())
        };
        if let (Some(window), Some(id)) = (web_sys::window(), pending) {
            let _ = window.cancel_animation_frame(id);
        }
        // The cleanup may run inside the callback itself (a frame that disposes the app):
        // the closure is dropped from a microtask, once it has returned.
        if let Some(callback) = callback {
            wasm_bindgen_futures::spawn_local(async move { drop(callback) });
        }
    });
}

/// The state of one element-size observation.
#[derive(Default)]
struct SizeWatch {
    /// The element measured (the latest `target` mounted).
    element: Option<web_sys::Element>,
    /// The observer and its callback, which asks for a measurement on the next frame.
    observer: Option<(web_sys::ResizeObserver, Closure<dyn FnMut()>)>,
    /// The frame callback that measures.
    on_frame: Option<Closure<dyn FnMut()>>,
    /// The id of the requested frame, not yet run.
    pending: Option<i32>,
}

/// The size of the element behind `target` (`clientWidth`, `clientHeight` in CSS pixels),
/// kept up to date by a `ResizeObserver` from when the element mounts until the current owner
/// is cleaned up (the observer is then disconnected). `(0, 0)` before the element mounts.
///
/// The observer's callback only requests an animation frame, in which the element is measured
/// and the signal set: views redrawn from inside the callback would resize observed elements
/// again during the observer's delivery, which browsers report as an uncaught
/// "ResizeObserver loop completed with undelivered notifications" error on the page.
pub fn use_element_size<E>(target: NodeRef<E>) -> ReadSignal<(f64, f64)>
where
    E: ElementType,
    E::Output: JsCast + Clone + 'static,
{
    let (size, set_size) = signal((0.0, 0.0));
    let measure = move |element: &web_sys::Element| {
        let next = (
            f64::from(element.client_width()),
            f64::from(element.client_height()),
        );
        if size.try_get_untracked().is_some_and(|now| now != next) {
            set_size.set(next);
        }
    };
    let watch = Rc::new(RefCell::new(SizeWatch::default()));
    let weak = Rc::downgrade(&watch);
    let on_frame = Closure::<dyn FnMut()>::new(move || {
        let Some(watch) = weak.upgrade() else { return };
        let element = {
            let mut watch = watch.borrow_mut();
            watch.pending = None;
            watch.element.clone()
        };
        if let Some(element) = element {
            measure(&element);
        }
    });
    watch.borrow_mut().on_frame = Some(on_frame);
    let effect_watch = SendWrapper::new(Rc::clone(&watch));
    Effect::new(move |_| {
        let Some(element) = target.get() else { return };
        let element: web_sys::Element = element.unchecked_into();
        measure(&element);
        let weak = Rc::downgrade(&effect_watch);
        let on_resize = Closure::<dyn FnMut()>::new(move || {
            let Some(watch) = weak.upgrade() else { return };
            let mut watch = watch.borrow_mut();
            if watch.pending.is_some() {
                return;
            }
            let id = match (web_sys::window(), watch.on_frame.as_ref()) {
                (Some(window), Some(cb)) => window
                    .request_animation_frame(cb.as_ref().unchecked_ref())
                    .ok(),
                _ => None,
            };
            watch.pending = id;
        });
        let mut watch = effect_watch.borrow_mut();
        if let Some((old, _)) = watch.observer.take() {
            old.disconnect();
        }
        if let Ok(observer) = web_sys::ResizeObserver::new(on_resize.as_ref().unchecked_ref()) {
            observer.observe(&element);
            watch.observer = Some((observer, on_resize));
        }
        watch.element = Some(element);
    });
    let watch = SendWrapper::new(watch);
    on_cleanup(move || {
        let watch = watch.take();
        let mut watch = watch.borrow_mut();
        if let Some((observer, _)) = &watch.observer {
            observer.disconnect();
        }
        if let (Some(window), Some(id)) = (web_sys::window(), watch.pending.take()) {
            let _ = window.cancel_animation_frame(id);
        }
        watch.element = None;
        let callbacks = (watch.observer.take(), watch.on_frame.take());
        wasm_bindgen_futures::spawn_local(async move { drop(callbacks) });
    });
    size
}
