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
    /// Sent / received.
    pub traffic: String,
    /// Waiting to be sent (queue or outbox) and in flight.
    pub queued: String,
    /// `p50 / p99 ms`, or `–`.
    pub rtt: String,
    /// Reconnects, or `–`.
    pub reconnects: String,
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
    let queued = match link.in_flight {
        Some(in_flight) => format!(
            "{} · {} in flight",
            fmt_count(link.queued),
            fmt_count(in_flight)
        ),
        None => fmt_count(link.queued),
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
        traffic: format!("{} / {}", fmt_count(link.sent), fmt_count(link.received)),
        queued,
        rtt,
        reconnects: dash(link.reconnects, fmt_count),
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

/// The cells of one row: (class, data-testid, text, title). One cell type for every column
/// keeps the rendered view small (each distinct element shape is code in the visualiser's wasm).
fn cells(r: LinkRow) -> Vec<(String, &'static str, String, String)> {
    let hot = |yes: bool| if yes { "num hot" } else { "num" }.to_string();
    let title = if r.error.is_empty() {
        r.topics.clone()
    } else {
        format!("{} · last error: {}", r.topics, r.error)
    };
    vec![
        ("topic".into(), "link-name", r.name, title),
        (
            format!("state link-{}", r.tone),
            "link-state",
            r.state,
            format!("realm {}", r.realm),
        ),
        ("num".into(), "link-peers", r.peers, String::new()),
        ("num".into(), "link-traffic", r.traffic, String::new()),
        ("num".into(), "link-queued", r.queued, String::new()),
        ("num".into(), "link-rtt", r.rtt, String::new()),
        ("num".into(), "link-reconnects", r.reconnects, String::new()),
        (
            hot(r.dropped > 0),
            "link-dropped",
            fmt_count(r.dropped),
            String::new(),
        ),
        (
            "num".into(),
            "link-duplicates",
            fmt_count(r.duplicates),
            String::new(),
        ),
        (hot(r.gapped), "link-gaps", r.gaps, String::new()),
    ]
}

/// The links view.
#[component]
pub fn Links() -> impl IntoView {
    let app = use_app();
    let rows = crate::app::staggered(app, 2, move || app.model.with_value(rows));
    view! {
        <section class="view links" data-testid="links">
            <div class="toolbar">
                <span data-testid="link-count">{move || match rows.get().len() { 1 => "1 link".to_string(), n => format!("{n} links") }}</span>
            </div>
            <div class="table-wrap">
                <table class="grid fixed">
                    <colgroup>
                        <col style="width:20%"/>
                        <col style="width:96px"/>
                        <col style="width:52px"/>
                        <col style="width:96px"/>
                        <col style="width:120px"/>
                        <col style="width:100px"/>
                        <col style="width:60px"/>
                        <col style="width:64px"/>
                        <col style="width:52px"/>
                        <col/>
                    </colgroup>
                    <thead><tr><th>"link"</th><th>"state"</th><th>"peers"</th><th>"sent / recv"</th><th>"queued"</th><th>"rtt p50 / p99"</th><th>"reconn."</th><th>"dropped"</th><th>"dups"</th><th>"gaps (missed)"</th></tr></thead>
                    <tbody>
                        {move || rows.get().into_iter().map(|r| {
                            let (kind, state) = (r.kind.clone(), r.state.clone());
                            view! {
                                <tr data-testid="link-row" data-kind=kind data-state=state>
                                    {cells(r).into_iter().map(|(class, id, text, title)| view! {
                                        <td class=class data-testid=id title=title>{text}</td>
                                    }).collect_view()}
                                </tr>
                            }
                        }).collect_view()}
                    </tbody>
                </table>
                <Show when=move || rows.get().is_empty()>
                    <div class="empty muted">"No bridge links. A link made with shareTopics, linkPort or connectMqtt (switchyard/bridge) shows here with its state, queue, drops, duplicates and gaps; the realms it receives from appear as publishers in the topology."</div>
                </Show>
            </div>
        </section>
    }
}
