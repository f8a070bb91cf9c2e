//! Components mounted in headless Chromium with a model fed by a real scenario (or a crafted
//! snapshot), checking what they render.

use leptos::prelude::*;
use switchyard_web::app::{AppState, Selection};
use switchyard_web::model::state::{BusState, DeadLetterState, SubState};
use switchyard_web::model::Update;
use switchyard_web::source::{Driver, ScenarioId, Tuning};
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

/// Lets pending effects and microtasks run.
async fn settle() {
    let promise = js_sys::Promise::new(&mut |resolve, _| {
        let window = web_sys::window().expect("window");
        let _ = window.set_timeout_with_callback_and_timeout_and_arguments_0(&resolve, 30);
    });
    let _ = wasm_bindgen_futures::JsFuture::from(promise).await;
}

/// An app state whose model holds `ms` of scenario `id`.
fn app_with(id: ScenarioId, ms: f64) -> AppState {
    let app = AppState::new();
    let mut driver = Driver::new(id, Tuning::default()).expect("scenario");
    let mut t = 0.0;
    while t < ms {
        let update = driver.tick(16.0);
        let at = driver.clock();
        app.model.update_value(|m| m.apply(update, at));
        t += 16.0;
    }
    let last = driver.snapshot_now();
    let at = driver.clock();
    app.model.update_value(|m| m.apply(last, at));
    app
}

fn mount<V: IntoView + 'static>(
    app: AppState,
    view: impl Fn() -> V + 'static,
) -> web_sys::HtmlElement {
    let el = container();
    let handle = leptos::mount::mount_to(el.clone(), move || {
        provide_context(app);
        view()
    });
    handle.forget();
    el
}

#[wasm_bindgen_test]
async fn metrics_show_the_scenarios_counters() {
    let app = app_with(ScenarioId::Basic, 3_000.0);
    let published = app.model.with_value(|m| m.state.totals.published);
    assert!(published > 0);
    let el = mount(app, || view! { <views::metrics::Metrics/> });
    settle().await;
    let tile = el
        .query_selector("[data-metric=published] .tile-value")
        .expect("query")
        .expect("tile");
    assert_eq!(
        tile.text_content().unwrap_or_default(),
        published.to_string()
    );
    let text = el.text_content().unwrap_or_default();
    assert!(
        text.contains("billing") && text.contains("orders.created"),
        "{text}"
    );
}

#[wasm_bindgen_test]
async fn the_topology_draws_every_subscription_of_a_small_bus() {
    let app = app_with(ScenarioId::Broadcast, 2_000.0);
    let el = mount(app, || view! { <views::topology::Topology/> });
    settle().await;
    let subs = el
        .query_selector_all("[data-testid=topology] .node.sub")
        .expect("query")
        .length();
    assert_eq!(subs, 5);
    let text = el.text_content().unwrap_or_default();
    assert!(
        text.contains("archive") && text.contains("newsroom"),
        "{text}"
    );
}

#[wasm_bindgen_test]
async fn backpressure_cards_turn_red_past_the_threshold() {
    let app = app_with(ScenarioId::BackpressureDlq, 6_000.0);
    let el = mount(app, || view! { <views::backpressure::Backpressure/> });
    settle().await;
    let alerts = el
        .query_selector_all(".card.alert")
        .expect("query")
        .length();
    assert!(alerts > 0, "a full queue is drawn as an alert");
    assert!(el
        .text_content()
        .unwrap_or_default()
        .contains("drop-oldest"));
}

#[wasm_bindgen_test]
async fn the_timeline_draws_a_lane_per_subscription_with_marbles() {
    let app = app_with(ScenarioId::Basic, 3_000.0);
    let el = mount(app, || view! { <views::timeline::Timeline/> });
    settle().await;
    assert_eq!(el.query_selector_all(".lane").expect("query").length(), 3);
    assert!(el.query_selector_all(".marble").expect("query").length() > 0);
}

#[wasm_bindgen_test]
async fn the_inspector_renders_a_hostile_payload_as_text() {
    let evil = "<img src=x onerror=\"window.__xss_component=1\">";
    let app = AppState::new();
    let state = BusState {
        at: 1.0,
        subscriptions: vec![SubState {
            id: 1,
            pattern: "a.*".into(),
            capacity: 4,
            ..SubState::default()
        }],
        dead_letters: vec![DeadLetterState {
            id: 3,
            message: 9,
            topic: "a.b".into(),
            subscription: 1,
            reason: "handler_error".into(),
            payload: serde_json::json!({ "html": evil }),
            ..DeadLetterState::default()
        }],
        ..BusState::default()
    };
    app.model.update_value(|m| {
        m.apply(
            Update {
                state: Some(state),
                ..Update::default()
            },
            1.0,
        )
    });
    app.selected.set(Some(Selection::DeadLetter(3)));
    let el = mount(app, || view! { <views::inspector::Inspector/> });
    settle().await;
    let text = el.text_content().unwrap_or_default();
    assert!(text.contains("<img src=x"), "{text}");
    assert_eq!(el.query_selector_all("img").expect("query").length(), 0);
    let hit = js_sys::Reflect::get(
        &web_sys::window().expect("window"),
        &"__xss_component".into(),
    )
    .expect("get");
    assert!(hit.is_undefined());
}

#[wasm_bindgen_test]
async fn the_leaks_view_lists_suspects_with_their_stack() {
    let app = app_with(ScenarioId::LeakyComponent, 8_000.0);
    let el = mount(app, || view! { <views::leaks::Leaks/> });
    settle().await;
    assert!(
        el.query_selector_all("[data-testid=leak-report]")
            .expect("query")
            .length()
            > 0
    );
    assert!(el
        .text_content()
        .unwrap_or_default()
        .contains("creation stack"));
}
