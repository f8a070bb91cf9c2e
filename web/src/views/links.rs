//! `links`: the bridge links serving the bus (`switchyard/bridge`): each link's state
//! (leader / follower / disconnected for tabs and ports; connecting / connected / waiting for
//! MQTT), its peers, what it sent and received, what waits (outgoing queue or MQTT outbox),
//! what is in flight and the round-trip time to the broker, reconnects, drops, duplicates and
//! gaps (with the messages missed in them). Remote realms also appear as publishers in the
//! topology.

use leptos::prelude::*;

use super::{fmt_count, use_app};
use crate::model::state::BridgeLinkState;
use crate::model::Model;

use super::topology::short_realm;

/// One row of the links table, every cell as text.
#[derive(Clone, Debug, PartialEq)]
pub struct LinkRow {
    /// The link's id.
    pub id: u64,
    /// `tabs:<channel>`, `port` or `mqtt:<broker>`.
    pub name: String,
    /// `tabs`, `port` or `mqtt`.
    pub kind: String,
    /// Its state word.
    pub state: String,
    /// CSS class of the state badge (`ok`, `warn`, `bad`).
    pub tone: &'static str,
    /// This realm, shortened; the full id is the tooltip.
    pub realm: String,
    /// The shared patterns, joined.
    pub topics: String,
    /// `3 peers` (tabs, port) or `–`.
    pub peers: String,
    /// Sent.
    pub sent: String,
    /// Received and published here.
    pub received: String,
    /// Waiting to be sent (queue or outbox).
    pub queued: String,
    /// Sent, awaiting the broker's acknowledgement (mqtt), or `–`.
    pub in_flight: String,
    /// `p50 / p99 ms`, or `–`.
    pub rtt: String,
    /// Reconnects, or `–`.
    pub reconnects: String,
    /// Dead letters made (mqtt), or `–`.
    pub dead_lettered: String,
    /// Dropped.
    pub dropped: u64,
    /// Duplicates dropped.
    pub duplicates: u64,
    /// `gaps (missed)`, or `–`.
    pub gaps: String,
    /// Whether a gap was reported.
    pub gapped: bool,
    /// The last error, if any.
    pub error: String,
}

fn dash<T>(value: Option<T>, show: impl Fn(T) -> String) -> String {
    value.map_or_else(|| "–".to_string(), show)
}

/// The rows of the links table, in the order the bus lists its links.
pub fn rows(model: &Model) -> Vec<LinkRow> {
    model.state.links.iter().map(row).collect()
}

fn row(link: &BridgeLinkState) -> LinkRow {
    let tone = match link.state.as_str() {
        "leader" | "follower" | "connected" => "ok",
        "connecting" | "waiting" => "warn",
        _ => "bad",
    };
    let rtt = match (link.rtt_p50_ms, link.rtt_p99_ms) {
        (Some(p50), Some(p99)) => format!("{p50:.0} / {p99:.0} ms"),
        (Some(p50), None) => format!("{p50:.0} ms"),
        _ => "–".to_string(),
    };
    LinkRow {
        id: link.id,
        name: link.name.clone(),
        kind: link.kind.clone(),
        state: link.state.clone(),
        tone,
        realm: short_realm(&link.realm),
        topics: link.topics.join(", "),
        peers: dash(link.peers, |n| n.to_string()),
        sent: fmt_count(link.sent),
        received: fmt_count(link.received),
        queued: fmt_count(link.queued),
        in_flight: dash(link.in_flight, fmt_count),
        rtt,
        reconnects: dash(link.reconnects, fmt_count),
        dead_lettered: dash(link.dead_lettered, fmt_count),
        dropped: link.dropped,
        duplicates: link.duplicates,
        gaps: match (link.gaps, link.missed) {
            (Some(gaps), Some(missed)) => format!("{gaps} ({missed} missed)"),
            (Some(gaps), None) => gaps.to_string(),
            _ => "–".to_string(),
        },
        gapped: link.gaps.is_some_and(|g| g > 0),
        error: link.last_error.clone().unwrap_or_default(),
    }
}

/// The figures of one card: (label, data-testid, value, hot), those that apply to its kind
/// (`–` ones are left out). One element shape for every figure keeps the view small (each
/// distinct element shape is code in the visualiser's wasm).
pub fn stats(r: &LinkRow) -> Vec<(&'static str, &'static str, String, bool)> {
    let mqtt = r.kind == "mqtt";
    let all = [
        ("peers", "link-peers", r.peers.clone(), false),
        (
            if mqtt { "outbox" } else { "queued" },
            "link-queued",
            r.queued.clone(),
            false,
        ),
        ("in flight", "link-in-flight", r.in_flight.clone(), false),
        ("rtt p50/p99", "link-rtt", r.rtt.clone(), false),
        ("reconnects", "link-reconnects", r.reconnects.clone(), false),
        ("sent", "link-sent", r.sent.clone(), false),
        ("received", "link-received", r.received.clone(), false),
        (
            "dropped",
            "link-dropped",
            fmt_count(r.dropped),
            r.dropped > 0,
        ),
        (
            "duplicates",
            "link-duplicates",
            fmt_count(r.duplicates),
            false,
        ),
        ("gaps", "link-gaps", r.gaps.clone(), r.gapped),
        (
            "dead letters",
            "link-dead-letters",
            r.dead_lettered.clone(),
            r.dead_lettered != "0" && r.dead_lettered != "–",
        ),
    ];
    all.into_iter()
        .filter(|(_, id, value, _)| value != "–" || (mqtt && *id == "link-rtt"))
        .collect()
}

/// The links view: one card per link.
#[component]
pub fn Links() -> impl IntoView {
    let app = use_app();
    let rows = app
        .feed
        .staggered(2, move || app.feed.model.with_value(rows));
    view! {
        <section class="view links" data-testid="links">
            <div class="link-cards">
                {move || rows.get().into_iter().map(|r| {
                    let figures = stats(&r);
                    let title = format!("this realm: {}", r.realm);
                    view! {
                        <div class=format!("card link-card link-{}", r.tone) data-testid="link-row" data-kind=r.kind.clone() data-state=r.state.clone()>
                            <div class="card-head">
                                <span class="name" data-testid="link-name" title=title>{r.name.clone()}</span>
                                <span class="link-state" data-testid="link-state">{r.state.clone()}</span>
                            </div>
                            <div class="link-topics" title=r.topics.clone()>{r.topics.clone()}</div>
                            <div class="link-stats">
                                {figures.into_iter().map(|(label, id, value, hot)| view! {
                                    <span class:hot=hot><i>{label}</i><b data-testid=id>{value}</b></span>
                                }).collect_view()}
                            </div>
                            <Show when={let error = r.error.clone(); move || !error.is_empty()}>
                                <div class="link-error">{format!("last error: {}", r.error)}</div>
                            </Show>
                        </div>
                    }
                }).collect_view()}
                <Show when=move || rows.get().is_empty()>
                    <div class="empty muted">"No bridge links. A link made with shareTopics, linkPort or connectMqtt (switchyard/bridge) shows here with its state, queue, drops, duplicates and gaps; the realms it receives from appear as publishers in the topology."</div>
                </Show>
            </div>
        </section>
    }
}
