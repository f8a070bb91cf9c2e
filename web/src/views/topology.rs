//! `topology`: publishers → topics → subscriptions. Edge width shows the message rate; each
//! subscription shows its queue depth, lag and drops; failing subscriptions and open breakers
//! are drawn in red. Large buses show their busiest nodes and fold the rest into "+N more".

use std::collections::{BTreeSet, HashMap};

use leptos::prelude::*;
use switchyard_core::Pattern;

use super::{ellipsize, fmt_count, fmt_rate, use_app};
use crate::model::state::BridgeLinkState;
use crate::model::Model;
use crate::state::{Selection, Tab};

/// A subscription's or publisher's topic pattern, parsed once per drawing with the bus's own
/// rules ([`Pattern::matches`]: `*` one segment, `**` zero or more).
struct Covers<'a> {
    /// The text as the bus reported it.
    text: &'a str,
    /// The parsed pattern; `None` for a text the bus would refuse (a malformed attached
    /// state), which then covers only the topic equal to it.
    pattern: Option<Pattern>,
}

impl<'a> Covers<'a> {
    fn new(text: &'a str) -> Self {
        Covers {
            text,
            pattern: Pattern::parse(text).ok(),
        }
    }

    /// Whether a message on `topic` reaches it.
    fn topic(&self, topic: &str) -> bool {
        self.text == topic || self.pattern.as_ref().is_some_and(|p| p.matches(topic))
    }
}

/// Drawing area used before the panel is measured (px).
pub const DEFAULT_SIZE: (f64, f64) = (640.0, 270.0);
const MAX_PUBLISHERS: usize = 6;
/// Column centres as fractions of the width.
const PUB_AT: f64 = 0.11;
const TOPIC_AT: f64 = 0.45;
const SUB_AT: f64 = 0.83;
const NODE_W: f64 = 130.0;
const SUB_W: f64 = 190.0;
const NODE_H: f64 = 26.0;
/// Least space between two columns of nodes (px).
const COL_GAP: f64 = 14.0;
/// Nodes shrink to no less than this share of their width in a narrow pane.
const MIN_SCALE: f64 = 0.72;

/// Where the three columns stand in a pane `width` px wide, and how wide their nodes are.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Columns {
    /// Centre x of publishers, topics, subscriptions.
    pub pub_x: f64,
    /// Centre x of the topics.
    pub topic_x: f64,
    /// Centre x of the subscriptions.
    pub sub_x: f64,
    /// Width of a publisher or topic node.
    pub node_w: f64,
    /// Width of a subscription node.
    pub sub_w: f64,
    /// `node_w / NODE_W`: labels keep this share of their characters.
    pub scale: f64,
}

/// The columns for a pane `width` px wide: at their usual places (fractions of the width) when
/// the nodes fit with [`COL_GAP`] between them; in a narrow pane (the docked devtools panel) the
/// nodes shrink, down to [`MIN_SCALE`], and the topics sit midway between the other two, so no
/// node overlaps another.
pub fn columns(width: f64) -> Columns {
    let needed = 2.0 * NODE_W + SUB_W + 2.0 * COL_GAP + 8.0;
    let scale = (width / needed).clamp(MIN_SCALE, 1.0);
    let (node_w, sub_w) = (NODE_W * scale, SUB_W * scale);
    let pub_x = (width * PUB_AT).max(node_w / 2.0 + 4.0);
    let sub_x = (width * SUB_AT).min(width - sub_w / 2.0 - 4.0);
    let lo = pub_x + node_w + COL_GAP;
    let hi = sub_x - sub_w / 2.0 - COL_GAP - node_w / 2.0;
    let topic_x = if lo <= hi {
        (width * TOPIC_AT).clamp(lo, hi)
    } else {
        (lo + hi) / 2.0
    };
    Columns {
        pub_x,
        topic_x,
        sub_x,
        node_w,
        sub_w,
        scale,
    }
}

/// `chars` scaled by `scale`, at least 6.
fn chars(chars: usize, scale: f64) -> usize {
    ((chars as f64 * scale).floor() as usize).max(6)
}

/// Height kept free at the bottom for the "+N quieter" line when nodes are left out.
const HIDDEN_LINE_H: f64 = 16.0;

/// A node of the graph.
#[derive(Clone, Debug, PartialEq)]
pub struct NodeView {
    /// Stable key.
    pub key: String,
    /// Main label.
    pub label: String,
    /// Second line (rates, depth...).
    pub sub_label: String,
    /// Centre x.
    pub x: f64,
    /// Centre y.
    pub y: f64,
    /// CSS classes.
    pub class: String,
    /// Queue fill in [0, 1] (subscriptions).
    pub fill: Option<f64>,
    /// Full description for the tooltip.
    pub title: String,
}

/// An edge of the graph.
#[derive(Clone, Debug, PartialEq)]
pub struct EdgeView {
    /// Stable key.
    pub key: String,
    /// SVG path.
    pub path: String,
    /// Stroke width.
    pub width: f64,
    /// Messages per second.
    pub rate: f64,
    /// CSS classes.
    pub class: String,
}

/// The whole graph.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct TopologyView {
    /// Publisher, topic and subscription nodes.
    pub nodes: Vec<NodeView>,
    /// Edges.
    pub edges: Vec<EdgeView>,
    /// Topics not drawn.
    pub hidden_topics: usize,
    /// Subscriptions not drawn.
    pub hidden_subs: usize,
}

fn spread(height: f64, n: usize, index: usize) -> f64 {
    let top = 34.0;
    let bottom = height - 18.0;
    if n <= 1 {
        (top + bottom) / 2.0
    } else {
        let gap = ((bottom - top) / (n - 1) as f64).min(46.0);
        let span = gap * (n - 1) as f64;
        let start = (top + bottom - span) / 2.0;
        start + gap * index as f64
    }
}

fn curve(x1: f64, y1: f64, x2: f64, y2: f64) -> String {
    let mid = (x1 + x2) / 2.0;
    format!("M{x1:.1},{y1:.1} C{mid:.1},{y1:.1} {mid:.1},{y2:.1} {x2:.1},{y2:.1}")
}

fn width_for(rate: f64, max: f64) -> f64 {
    if rate <= 0.0 || max <= 0.0 {
        1.0
    } else {
        1.5 + 8.5 * (rate / max).sqrt()
    }
}

/// A publisher node: a scenario's named producer, this bus's own code, or a remote realm.
#[derive(Clone, Debug, PartialEq)]
pub struct Publisher {
    /// Stable key (a remote realm's id).
    pub key: String,
    /// What the node says (`tab 3f2a…`, `mqtt 9c01…`, `publish()`).
    pub label: String,
    /// Topics or patterns it publishes to.
    pub topics: Vec<String>,
    /// Its own message rate, when known (a remote realm's); else the sum of its topics'.
    pub rate: Option<f64>,
    /// The tooltip.
    pub title: String,
    /// A realm whose messages arrived over a bridge link.
    pub remote: bool,
}

/// `realm` shortened for a node: ids longer than 8 characters (UUIDs) keep their first 4.
pub fn short_realm(realm: &str) -> String {
    if realm.chars().count() > 8 {
        let head: String = realm.chars().take(4).collect();
        format!("{head}…")
    } else {
        realm.to_string()
    }
}

/// A remote realm's label and the link it came through: `tab 3f2a…` for a peer of a tabs
/// link, `port 3f2a…` for the other end of a port, `mqtt clients` for MQTT clients that are
/// not bridges (`mqtt:…` realms), `mqtt 3f2a…` for a realm no tabs or port link knows while an
/// MQTT link serves the bus, else `realm 3f2a…`.
pub fn realm_label(realm: &str, links: &[BridgeLinkState]) -> (String, Option<String>) {
    let short = short_realm(realm);
    if realm.starts_with("mqtt:") {
        let via = links
            .iter()
            .find(|l| l.kind == "mqtt")
            .map(|l| l.name.clone());
        return ("mqtt clients".to_string(), via);
    }
    if let Some(link) = links.iter().find(|l| l.remotes.iter().any(|r| r == realm)) {
        let kind = if link.kind == "port" { "port" } else { "tab" };
        return (format!("{kind} {short}"), Some(link.name.clone()));
    }
    if let Some(link) = links.iter().find(|l| l.kind == "mqtt") {
        return (format!("mqtt {short}"), Some(link.name.clone()));
    }
    (format!("realm {short}"), None)
}

/// The publisher column: a scenario's named publishers; else this bus's own code
/// (`publish()`, every topic, or the topics it published when remote realms also publish) and
/// each remote realm whose messages arrived over a bridge link, the most recently heard first.
pub fn publishers(model: &Model) -> Vec<Publisher> {
    let state = &model.state;
    if !state.publishers.is_empty() {
        return state
            .publishers
            .iter()
            .take(MAX_PUBLISHERS)
            .map(|p| Publisher {
                key: p.name.clone(),
                label: p.name.clone(),
                topics: p.topics.clone(),
                rate: None,
                title: format!("publisher {}: {} topics", p.name, p.topics.len()),
                remote: false,
            })
            .collect();
    }
    let mut out = Vec::new();
    let any_topic = !state.topics.is_empty() || model.rates.topics().next().is_some();
    if model.remotes.is_empty() {
        if any_topic {
            out.push(local_publisher(vec!["**".to_string()]));
        }
        return out;
    }
    if !model.local_topics.is_empty() {
        let mut topics: Vec<String> = model.local_topics.iter().map(|t| t.to_string()).collect();
        crate::sort::sort_by(&mut topics, Ord::cmp);
        out.push(local_publisher(topics));
    }
    let room = MAX_PUBLISHERS.saturating_sub(out.len());
    for remote in model.remotes.iter().rev().take(room) {
        let (label, via) = realm_label(&remote.realm, &state.links);
        let via = via.map_or(String::new(), |v| format!(" via {v}"));
        out.push(Publisher {
            key: format!("realm:{}", remote.realm),
            title: format!(
                "{label}: realm {}{via}; {} messages on {} topics",
                remote.realm,
                remote.published,
                remote.topics.len()
            ),
            label,
            topics: remote.topics.iter().map(|t| t.to_string()).collect(),
            rate: Some(model.rates.realm(&remote.realm)),
            remote: true,
        });
    }
    out
}

fn local_publisher(topics: Vec<String>) -> Publisher {
    Publisher {
        key: "publish()".to_string(),
        label: "publish()".to_string(),
        title: format!("publisher publish(): {} topics", topics.len()),
        topics,
        rate: None,
        remote: false,
    }
}

/// Builds the graph from the model for a drawing area of `size` (width, height) pixels.
pub fn build(model: &Model, size: (f64, f64)) -> TopologyView {
    let (width, height) = size;
    // As many rows as fit without overlapping (node height plus a small gap).
    let fit = |h: f64| (((h - 52.0) / (NODE_H + 3.0)).floor() as usize + 1).clamp(2, 12);
    let Columns {
        pub_x,
        topic_x,
        sub_x,
        node_w,
        sub_w,
        scale,
    } = columns(width);
    let state = &model.state;
    let rates = &model.rates;

    // Topics: from metrics, publishers and rates; the busiest first.
    let mut topic_set: BTreeSet<String> = state.topics.iter().map(|t| t.topic.clone()).collect();
    for p in &state.publishers {
        for t in &p.topics {
            if !t.contains('*') && topic_set.len() < 5_000 {
                topic_set.insert(t.clone());
            }
        }
    }
    for (t, _) in rates.topics() {
        if topic_set.len() < 5_000 {
            topic_set.insert(t.to_string());
        }
    }
    let published: HashMap<&str, u64> = state
        .topics
        .iter()
        .map(|t| (t.topic.as_str(), t.counters.published))
        .collect();
    let mut topics: Vec<(String, f64)> = topic_set
        .into_iter()
        .map(|t| {
            let r = rates.topic(&t);
            (t, r)
        })
        .collect();
    crate::sort::sort_by(&mut topics, |a, b| {
        b.1.total_cmp(&a.1)
            .then_with(|| {
                published
                    .get(b.0.as_str())
                    .cmp(&published.get(a.0.as_str()))
            })
            .then_with(|| a.0.cmp(&b.0))
    });
    // When something is left out, the "+N quieter" line takes the bottom of the area: the
    // graph is laid out above it, never under it.
    let crowded = topics.len() > fit(height) || state.subscriptions.len() > fit(height);
    let height = if crowded {
        height - HIDDEN_LINE_H
    } else {
        height
    };
    let (max_topics, max_subs) = (fit(height), fit(height));
    let hidden_topics = topics.len().saturating_sub(max_topics);
    // A publisher's rate is that of every topic it reaches, the quieter ones left out of the
    // drawing included, so it agrees with the header's total.
    let publishers = publishers(model);
    // Each publisher's patterns, parsed once for its rate and its edges.
    let covers: Vec<Vec<Covers<'_>>> = publishers
        .iter()
        .map(|p| p.topics.iter().map(|t| Covers::new(t)).collect())
        .collect();
    let reaches = |publisher: usize, topic: &str| covers[publisher].iter().any(|c| c.topic(topic));
    let publisher_rates: Vec<f64> = publishers
        .iter()
        .enumerate()
        .map(|(i, p)| {
            p.rate.unwrap_or_else(|| {
                topics
                    .iter()
                    .filter(|(t, _)| reaches(i, t))
                    .map(|(_, r)| *r)
                    .sum()
            })
        })
        .collect();
    topics.truncate(max_topics);
    crate::sort::sort_by(&mut topics, |a, b| a.0.cmp(&b.0));

    // Subscriptions: the most interesting first (failing, full, busy), drawn in creation order.
    let mut subs: Vec<&crate::model::state::SubState> = state.subscriptions.iter().collect();
    let score = |s: &crate::model::state::SubState| {
        let trouble = if s.breaker_open() { 1e9 } else { 0.0 }
            + rates.sub_failed(s.id) * 1e6
            + s.fill() * 1e5;
        trouble + rates.sub_delivered(s.id) + s.depth as f64
    };
    if subs.len() > max_subs {
        crate::sort::sort_by(&mut subs, |a, b| score(b).total_cmp(&score(a)));
    }
    let hidden_subs = subs.len().saturating_sub(max_subs);
    subs.truncate(max_subs);
    crate::sort::sort_by(&mut subs, |a, b| a.created_at.total_cmp(&b.created_at));

    let mut nodes = Vec::new();
    let mut edges = Vec::new();
    let topic_y: HashMap<&str, f64> = topics
        .iter()
        .enumerate()
        .map(|(i, (t, _))| (t.as_str(), spread(height, topics.len(), i)))
        .collect();
    let max_topic_rate = topics.iter().map(|t| t.1).fold(0.0, f64::max);

    for (i, (publisher, rate)) in publishers.iter().zip(publisher_rates).enumerate() {
        let Publisher {
            key: name,
            label,
            title,
            remote,
            ..
        } = publisher;
        let y = spread(height, publishers.len(), i);
        nodes.push(NodeView {
            key: format!("p:{name}"),
            label: ellipsize(label, chars(16, scale)),
            sub_label: fmt_rate(rate),
            x: pub_x,
            y,
            class: if *remote {
                "node publisher remote".into()
            } else {
                "node publisher".into()
            },
            fill: None,
            title: title.clone(),
        });
        for (topic, r) in &topics {
            if reaches(i, topic) {
                let ty = topic_y.get(topic.as_str()).copied().unwrap_or(y);
                edges.push(EdgeView {
                    key: format!("pt:{name}>{topic}"),
                    path: curve(pub_x + node_w / 2.0, y, topic_x - node_w / 2.0, ty),
                    width: width_for(*r, max_topic_rate),
                    rate: *r,
                    class: if *r > 0.0 {
                        "edge live".into()
                    } else {
                        "edge idle".into()
                    },
                });
            }
        }
    }

    for (topic, r) in &topics {
        let y = topic_y.get(topic.as_str()).copied().unwrap_or(0.0);
        let total = published.get(topic.as_str()).copied().unwrap_or(0);
        let refused = rates.refused(topic);
        let (class, sub_label) = if refused > 0.0 {
            (
                "node topic refusing".to_string(),
                format!("{} · {} refused", fmt_rate(*r), fmt_rate(refused)),
            )
        } else {
            (
                "node topic".to_string(),
                format!("{} · {} sent", fmt_rate(*r), fmt_count(total)),
            )
        };
        nodes.push(NodeView {
            key: format!("t:{topic}"),
            label: ellipsize(topic, chars(18, scale)),
            sub_label,
            x: topic_x,
            y,
            class,
            fill: None,
            title: format!("topic {topic}: {} published, {}", total, fmt_rate(*r)),
        });
    }

    let edge_rates: HashMap<(&str, u64), f64> =
        rates.edges().map(|(t, s, r)| ((&**t, s), r)).collect();
    let max_edge = edge_rates.values().copied().fold(0.0, f64::max);
    for (i, s) in subs.iter().enumerate() {
        let y = spread(height, subs.len(), i);
        let failing = rates.sub_failed(s.id) > 0.0;
        let mut class = String::from("node sub");
        if failing {
            class.push_str(" failing");
        }
        if s.breaker_open() {
            class.push_str(" breaker-open");
        }
        if s.paused {
            class.push_str(" paused");
        }
        if s.fill() >= 0.8 {
            class.push_str(" full");
        }
        let lag = s.oldest_queued_at.map_or(0.0, |t| (state.at - t).max(0.0));
        let mut sub_label = format!("q {}/{}", s.depth, s.capacity);
        if lag >= 1.0 {
            sub_label.push_str(&format!(
                " · lag {}",
                crate::model::event::format_millis(lag)
            ));
        }
        if s.counters.dropped > 0 {
            sub_label.push_str(&format!(" · {} drop", fmt_count(s.counters.dropped)));
        }
        if s.breaker_open() {
            sub_label = format!("breaker {} · {sub_label}", s.breaker);
        }
        nodes.push(NodeView {
            key: format!("s:{}", s.id),
            label: ellipsize(s.label(), chars(22, scale)),
            sub_label: ellipsize(&sub_label, chars(31, scale)),
            x: sub_x,
            y,
            class,
            fill: Some(s.fill()),
            title: format!(
                "{} on {} · depth {}/{} (high-water {}) · {} delivered, {} failed, {} dropped · {} · {}",
                s.label(),
                s.pattern,
                s.depth,
                s.capacity,
                s.high_water,
                s.counters.delivered,
                s.counters.failed,
                s.counters.dropped,
                s.overflow,
                s.delivery
            ),
        });
        let pattern = Covers::new(&s.pattern);
        for (topic, _) in &topics {
            if pattern.topic(topic) {
                let rate = edge_rates
                    .get(&(topic.as_str(), s.id))
                    .copied()
                    .unwrap_or(0.0);
                let ty = topic_y.get(topic.as_str()).copied().unwrap_or(y);
                let mut class = if rate > 0.0 {
                    String::from("edge live")
                } else {
                    String::from("edge idle")
                };
                if failing || s.breaker_open() {
                    class.push_str(" failing");
                }
                edges.push(EdgeView {
                    key: format!("ts:{topic}>{}", s.id),
                    path: curve(topic_x + node_w / 2.0, ty, sub_x - sub_w / 2.0, y),
                    width: width_for(rate, max_edge),
                    rate,
                    class,
                });
            }
        }
    }
    TopologyView {
        nodes,
        edges,
        hidden_topics,
        hidden_subs,
    }
}

/// The topology view.
#[component]
pub fn Topology() -> impl IntoView {
    let app = use_app();
    let size = RwSignal::new(DEFAULT_SIZE);
    let host = NodeRef::<leptos::html::Div>::new();
    let observed = crate::hooks::use_element_size(host);
    Effect::new(move |_| {
        let next = observed.get();
        let now = size.get_untracked();
        if next.0 > 200.0
            && next.1 > 100.0
            && ((next.0 - now.0).abs() > 0.5 || (next.1 - now.1).abs() > 0.5)
        {
            size.set(next);
        }
    });
    let graph = app.feed.staggered(0, move || {
        let size = size.get();
        app.feed.model.with_value(|m| build(m, size))
    });
    let select_sub = move |key: &str| {
        if let Some(id) = key.strip_prefix("s:").and_then(|s| s.parse::<u64>().ok()) {
            let last = app.feed.model.with_value(|m| {
                m.log
                    .iter()
                    .rev()
                    .find(|e| e.subscription == Some(id))
                    .cloned()
            });
            if let Some(event) = last {
                app.selected.set(Some(Selection::Event(event)));
                app.tab.set(Tab::Timeline);
            }
        }
    };
    view! {
        <section class="panel topology" data-testid="topology">
            <header class="panel-head">
                <h2>"Topology"</h2>
                <span class="legend">
                    <span class="lg lg-edge"></span>"width = msg/s"
                    <span class="lg lg-fail"></span>"failing"
                    <span class="lg lg-breaker"></span>"breaker open"
                    <span class="lg lg-full"></span>"queue ≥ 80%"
                    <span class="lg lg-refused"></span>"publishes refused"
                </span>
            </header>
            <div class="graph-host" node_ref=host>
            <svg class="graph" width=move || size.get().0 height=move || size.get().1 viewBox=move || format!("0 0 {} {}", size.get().0, size.get().1)>
                <text class="col-title" x=move || columns(size.get().0).pub_x y="16" text-anchor="middle">"publishers"</text>
                <text class="col-title" x=move || columns(size.get().0).topic_x y="16" text-anchor="middle">"topics"</text>
                <text class="col-title" x=move || columns(size.get().0).sub_x y="16" text-anchor="middle">"subscriptions"</text>
                <text class="hidden-count" x=move || size.get().0 - 8.0 y=move || size.get().1 - 6.0 text-anchor="end">
                    {move || {
                        let g = graph.get();
                        let mut parts = Vec::new();
                        if g.hidden_topics > 0 { parts.push(format!("+{} quieter topics", g.hidden_topics)); }
                        if g.hidden_subs > 0 { parts.push(format!("+{} quieter subscriptions", g.hidden_subs)); }
                        parts.join(" · ")
                    }}
                </text>
                // Redrawn whole on each refresh (nearly every node and edge changes anyway). Not a
                // keyed <For>: each keyed row gets an owner that the list's own owner keeps a
                // reference to until it is disposed, so rows that churn for the life of the page
                // leak (see the `views` module docs); a closure's rows are freed on every re-run.
                {move || graph.get().edges.into_iter().map(|edge| view! {
                    <path class=edge.class.clone() d=edge.path.clone() stroke-width=format!("{:.1}", edge.width)>
                        <title>{format!("{:.1} msg/s", edge.rate)}</title>
                    </path>
                }).collect_view()}
                {move || graph.get().nodes.into_iter().map(|node| {
                        let c = columns(size.get_untracked().0);
                        let w = if node.class.contains("sub") { c.sub_w } else { c.node_w };
                        let x = node.x - w / 2.0;
                        let y = node.y - NODE_H / 2.0;
                        let key = node.key.clone();
                        let fill = node.fill.map(|f| view! {
                            <rect class="fill-track" x=x + 6.0 y=y + NODE_H - 4.0 width=w - 12.0 height="2"></rect>
                            <rect class="fill-bar" x=x + 6.0 y=y + NODE_H - 4.0 width=((w - 12.0) * f).max(0.0) height="2"></rect>
                        });
                        view! {
                            <g class=node.class.clone() data-key=node.key.clone() on:click=move |_| select_sub(&key)>
                                <title>{node.title.clone()}</title>
                                <rect x=x y=y width=w height=NODE_H rx="5"></rect>
                                <text class="label" x=x + 8.0 y=y + 11.0>{node.label.clone()}</text>
                                <text class="sub-label" x=x + 8.0 y=y + 21.0>{node.sub_label.clone()}</text>
                                {fill}
                            </g>
                        }
                }).collect_view()}
            </svg>
            </div>
        </section>
    }
}
