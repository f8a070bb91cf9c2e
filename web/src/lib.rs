//! # switchyard-web
//!
//! The Switchyard visualiser: a Leptos client-side app that shows a bus live: who listens to
//! what ([`views::topology`]), in which order messages flow ([`views::timeline`]), where queues
//! back up ([`views::backpressure`]), which subscriptions leak ([`views::leaks`]), dead letters,
//! metrics, and a filterable event log with a payload inspector.
//!
//! Data flows one way: a [`source::Source`] (built-in scenario on `switchyard-core`, attached
//! bus, or replayed recording) produces [`model::Update`]s once per animation frame; the
//! [`model::Model`] aggregates them into bounded histories; the views read the model.

/// The system allocator, counted: the live Rust heap is published for the memory soak
/// (`window.__switchyardPerf.heapBytes`, see [`app`]). The counters are plain adds.
#[global_allocator]
static ALLOCATOR: &stats_alloc::StatsAlloc<std::alloc::System> = &stats_alloc::INSTRUMENTED_SYSTEM;

pub mod app;
pub mod hooks;
pub mod js;
pub mod model;
pub mod sort;
pub mod source;
pub mod state;
pub mod views;

/// Mounts the app on `<body>`.
pub fn start() {
    console_error_panic_hook::set_once();
    leptos::mount::mount_to_body(app::App);
}
