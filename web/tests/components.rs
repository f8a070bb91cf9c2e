//! Components mounted in headless Chromium with a model fed by a real scenario (or a crafted
//! snapshot), checking what they render. The components with props (sidebar, timeline, event
//! log) are mounted alone, with no app state in context: only the handles and callbacks
//! they are given.

use leptos::prelude::*;
use switchyard_core::Overflow;
use switchyard_web::model::state::{BusState, DeadLetterState, SubState};
use switchyard_web::model::Update;
use switchyard_web::source::{Driver, ScenarioId, Tuning};
use switchyard_web::state::{AppState, Mode, ModelFeed, Selection};
use switchyard_web::views;
use switchyard_web::views::controls::AttachRequest;
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

/// Feeds `feed`'s model `ms` of scenario `id` (without bumping its clocks).
fn play(feed: ModelFeed, id: ScenarioId, ms: f64) {
    let mut driver = Driver::new(id, Tuning::default()).expect("scenario");
    let mut t = 0.0;
    while t < ms {
        let update = driver.tick(16.0);
        let at = driver.clock();
        feed.model.update_value(|m| m.apply(update, at));
        t += 16.0;
    }
    let last = driver.snapshot_now();
    let at = driver.clock();
    feed.model.update_value(|m| m.apply(last, at));
}

/// An app state whose model holds `ms` of scenario `id`.
fn app_with(id: ScenarioId, ms: f64) -> AppState {
    let app = AppState::new();
    play(app.feed, id, ms);
    app
}

/// Mounts `view` with nothing in context (a component with props, on its own).
fn mount_alone<V: IntoView + 'static>(view: impl Fn() -> V + 'static) -> web_sys::HtmlElement {
    let el = container();
    leptos::mount::mount_to(el.clone(), view).forget();
    el
}

/// The element `selector` finds in `el`.
fn find(el: &web_sys::HtmlElement, selector: &str) -> web_sys::HtmlElement {
    el.query_selector(selector)
        .expect("query")
        .unwrap_or_else(|| panic!("no {selector}"))
        .unchecked_into()
}

/// Sets a form control's value as a user would and fires `event` (`input`, `change`) on it.
fn enter(control: &web_sys::HtmlElement, value: &str, event: &str) {
    js_sys::Reflect::set(control, &"value".into(), &value.into()).expect("set value");
    let event = web_sys::Event::new(event).expect("event");
    control.dispatch_event(&event).expect("dispatch");
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
    let published = app.feed.model.with_value(|m| m.state.totals.published);
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
async fn the_timeline_alone_draws_its_feed_as_it_changes_and_reports_a_clicked_marble() {
    let feed = ModelFeed::new();
    let selected = RwSignal::new(None::<Selection>);
    let el = mount_alone(move || {
        view! { <views::timeline::Timeline feed=feed on_select=move |s| selected.set(Some(s))/> }
    });
    settle().await;
    assert_eq!(el.query_selector_all(".lane").expect("query").length(), 0);
    assert!(el
        .text_content()
        .unwrap_or_default()
        .contains("No subscriptions yet."));
    // The model moves on and the feed says so: the view follows.
    play(feed, ScenarioId::Basic, 3_000.0);
    feed.bump(true);
    settle().await;
    assert_eq!(el.query_selector_all(".lane").expect("query").length(), 3);
    assert!(el.query_selector_all(".marble").expect("query").length() > 0);
    let marble = find(&el, ".marble");
    let message: u64 = marble
        .text_content()
        .unwrap_or_default()
        .parse()
        .expect("a marble is labelled with its message");
    marble
        .dispatch_event(&web_sys::Event::new("click").expect("event"))
        .expect("click");
    match selected.get_untracked() {
        Some(Selection::Event(event)) => assert_eq!(event.message, Some(message)),
        other => panic!("the clicked marble's delivery is reported, not {other:?}"),
    }
}

#[wasm_bindgen_test]
async fn the_event_log_alone_filters_its_feeds_log_and_reports_a_clicked_row() {
    let feed = ModelFeed::new();
    play(feed, ScenarioId::Basic, 3_000.0);
    let selected = RwSignal::new(None::<Selection>);
    let el = mount_alone(move || {
        view! { <views::event_log::EventLog feed=feed on_select=move |s| selected.set(Some(s))/> }
    });
    settle().await;
    assert!(el.query_selector_all(".log-row").expect("query").length() > 0);
    let count = |el: &web_sys::HtmlElement| find(el, "[data-testid=log-count]").text_content();
    let everything = count(&el).unwrap_or_default();
    enter(&find(&el, "[data-testid=log-topic]"), "orders.*", "input");
    settle().await;
    let filtered = count(&el).unwrap_or_default();
    assert_ne!(filtered, everything, "the topic filter applies");
    let rows = el.query_selector_all(".log-row .topic").expect("query");
    assert!(rows.length() > 0, "{filtered}");
    for i in 0..rows.length() {
        let topic = rows
            .get(i)
            .and_then(|r| r.text_content())
            .unwrap_or_default();
        assert!(
            topic.starts_with("orders.") && topic.matches('.').count() == 1,
            "{topic} passed orders.*"
        );
    }
    find(&el, ".log-row").click();
    match selected.get_untracked() {
        Some(Selection::Event(event)) => {
            assert!(event
                .topic
                .as_deref()
                .is_some_and(|t| t.starts_with("orders.")))
        }
        other => panic!("the clicked row's event is reported, not {other:?}"),
    }
}

#[wasm_bindgen_test]
async fn the_sidebar_alone_reports_each_control_and_follows_the_signals_it_is_given() {
    let mode = RwSignal::new(Mode::Scenario);
    let scenario = RwSignal::new(ScenarioId::Basic);
    let tuning = RwSignal::new(Tuning::default());
    let picked = RwSignal::new(None::<ScenarioId>);
    let attach = RwSignal::new(None::<AttachRequest>);
    let el = mount_alone(move || {
        view! {
            <views::controls::Sidebar
                mode=move || mode.get()
                scenario=move || scenario.get()
                tuning=move || tuning.get()
                on_scenario=move |id| picked.set(Some(id))
                // As the app does: the new tuning becomes the current one.
                on_tune=move |t| tuning.set(t)
                on_attach=move |to| attach.set(Some(to))
            />
        }
    });
    settle().await;
    enter(&find(&el, "[data-testid=overflow]"), "reject", "change");
    assert_eq!(tuning.get_untracked().overflow, Some(Overflow::Reject));
    enter(&find(&el, "[data-testid=producer-rate]"), "5", "input");
    settle().await;
    assert_eq!(tuning.get_untracked().rate_scale, 2.0);
    assert!(
        el.text_content().unwrap_or_default().contains("×2 ·"),
        "the rate label follows the tuning signal"
    );
    enter(&find(&el, "[data-testid=scenario]"), "storm", "change");
    assert_eq!(picked.get_untracked(), Some(ScenarioId::Storm));
    find(&el, "[data-testid=attach]").click();
    assert_eq!(
        attach.get_untracked(),
        Some(AttachRequest {
            name: "demo".into(),
            page: None
        })
    );
    enter(
        &find(&el, "[data-testid=attach-page]"),
        " https://app.example/ ",
        "input",
    );
    find(&el, "[data-testid=attach]").click();
    assert_eq!(
        attach.get_untracked().and_then(|to| to.page).as_deref(),
        Some("https://app.example/")
    );
    let disabled =
        |el: &web_sys::HtmlElement| find(el, "[data-testid=capacity]").has_attribute("disabled");
    assert!(!disabled(&el));
    mode.set(Mode::Attach);
    settle().await;
    assert!(disabled(&el), "the tuning controls apply to scenarios only");
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
    app.feed.model.update_value(|m| {
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
