//! The browser hooks (`switchyard_web::hooks`) in headless Chromium: the animation-frame loop
//! stops when the app unmounts, and components follow their element's size, not the window's.

use std::cell::Cell;
use std::rc::Rc;

use leptos::prelude::*;
use switchyard_web::app::App;
use switchyard_web::hooks::use_animation_frame;
use switchyard_web::source::{Driver, ScenarioId, Tuning};
use switchyard_web::state::AppState;
use switchyard_web::views;
use wasm_bindgen::JsCast;
use wasm_bindgen_test::*;

wasm_bindgen_test_configure!(run_in_browser);

/// A fresh container element attached to the document.
fn container() -> web_sys::HtmlElement {
    let document = web_sys::window()
        .and_then(|w| w.document())
        .expect("document");
    let el = document.create_element("div").expect("div");
    document
        .body()
        .expect("body")
        .append_child(&el)
        .expect("append");
    el.unchecked_into()
}

/// Waits `ms` milliseconds (animation frames and observers run meanwhile).
async fn sleep(ms: i32) {
    let promise = js_sys::Promise::new(&mut |resolve, _| {
        let window = web_sys::window().expect("window");
        let _ = window.set_timeout_with_callback_and_timeout_and_arguments_0(&resolve, ms);
    });
    let _ = wasm_bindgen_futures::JsFuture::from(promise).await;
}

/// Wraps `window.requestAnimationFrame` so that `window.__rafCalls` counts its calls, and
/// counts uncaught errors (a Rust panic in a frame callback) in `window.__uncaught`.
fn count_animation_frame_requests() {
    let wrap = js_sys::Function::new_no_args(
        "if (!window.__rafOriginal) {
             window.__rafOriginal = window.requestAnimationFrame.bind(window);
             window.requestAnimationFrame = (cb) => {
                 window.__rafCalls = (window.__rafCalls || 0) + 1;
                 return window.__rafOriginal(cb);
             };
             window.__uncaught = 0;
             window.__uncaughtMessages = [];
             window.addEventListener('error', (e) => {
                 window.__uncaught += 1;
                 window.__uncaughtMessages.push(String(e.message));
             });
         }",
    );
    wrap.call0(&wasm_bindgen::JsValue::NULL).expect("wrap rAF");
}

/// A number the wrapper of [`count_animation_frame_requests`] keeps on `window`.
fn counter(name: &str) -> f64 {
    let window = web_sys::window().expect("window");
    js_sys::Reflect::get(&window, &name.into())
        .ok()
        .and_then(|v| v.as_f64())
        .unwrap_or(0.0)
}

/// How many animation frames have been requested since [`count_animation_frame_requests`].
fn animation_frame_requests() -> f64 {
    counter("__rafCalls")
}

#[wasm_bindgen_test]
async fn the_app_requests_no_animation_frame_after_it_is_unmounted() {
    count_animation_frame_requests();
    let errors = counter("__uncaught");
    let el = container();
    let handle = leptos::mount::mount_to(el.clone(), App);
    sleep(150).await;
    let running = animation_frame_requests();
    assert!(running > 0.0, "the mounted app runs its frame loop");
    drop(handle);
    el.remove();
    sleep(50).await;
    let after_unmount = animation_frame_requests();
    sleep(200).await;
    assert_eq!(
        animation_frame_requests(),
        after_unmount,
        "no frame requested 200 ms after the app unmounted"
    );
    assert_eq!(
        counter("__uncaught"),
        errors,
        "no frame ran (and failed) on the unmounted app's state: {:?}",
        js_sys::Reflect::get(
            &web_sys::window().expect("window"),
            &"__uncaughtMessages".into()
        )
    );
}

#[wasm_bindgen_test]
async fn a_frame_callback_that_unmounts_its_owner_ends_the_loop() {
    let frames = Rc::new(Cell::new(0u32));
    let owner = Owner::new();
    let counted = Rc::clone(&frames);
    let disposer = Rc::new(Cell::new(None::<Owner>));
    disposer.set(Some(owner.clone()));
    let dispose = Rc::clone(&disposer);
    owner.with(|| {
        use_animation_frame(move |_| {
            counted.set(counted.get() + 1);
            if counted.get() == 3 {
                // Cleans up the owner from inside its own frame callback.
                if let Some(owner) = dispose.take() {
                    owner.cleanup();
                }
            }
        });
    });
    sleep(300).await;
    assert_eq!(
        frames.get(),
        3,
        "the loop stopped on the frame that ended it"
    );
}

#[wasm_bindgen_test]
async fn the_topology_redraws_at_its_panels_new_size_without_a_window_resize() {
    let app = AppState::new();
    let mut driver = Driver::new(ScenarioId::Broadcast, Tuning::default()).expect("scenario");
    for _ in 0..60 {
        let update = driver.tick(16.0);
        let at = driver.clock();
        app.feed.model.update_value(|m| m.apply(update, at));
    }
    let el = container();
    el.style().set_property("width", "560px").expect("width");
    let handle = leptos::mount::mount_to(el.clone(), move || {
        provide_context(app);
        view! { <views::topology::Topology/> }
    });
    sleep(100).await;
    let svg = el
        .query_selector("svg.graph")
        .expect("query")
        .expect("the graph");
    let width = |svg: &web_sys::Element| svg.get_attribute("width").unwrap_or_default();
    assert_eq!(width(&svg), "560", "drawn at its element's width");
    // The panel (a docked devtools panel being dragged, say) narrows; the window does not.
    el.style().set_property("width", "380px").expect("width");
    sleep(150).await;
    let svg = el
        .query_selector("svg.graph")
        .expect("query")
        .expect("the graph");
    assert_eq!(
        width(&svg),
        "380",
        "the graph follows its element's new width"
    );
    drop(handle);
}
