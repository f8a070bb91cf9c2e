//! `timeline`: one swim lane per subscription and a marble per delivery attempt, labelled
//! with the message's sequence number. Retries, out-of-order deliveries (relaxed ordering),
//! drops and dead letters are marked. The view can be frozen while the bus keeps running.
//!
//! Marbles are placed at absolute time in their own layer (`.marbles`, `will-change:
//! transform`) over the static lanes. Only that layer's CSS transform moves each frame, which
//! the compositor applies without repainting anything; the marbles themselves change a few
//! times a second, and only the ones that changed are redrawn.

use leptos::prelude::*;

use super::ellipsize;
use crate::model::{MarbleKind, Model};
use crate::state::{ModelFeed, Selection};

/// Marbles drawn per lane at most (the newest).
pub const MARBLES_SHOWN: usize = 48;
/// Free space between two neighbouring marbles (px).
pub const MARBLE_GAP_PX: f64 = 4.0;

/// The drawn width of a marble labelled with `message` (px): a 16 px pill around its digits.
pub fn marble_width(message: u64) -> f64 {
    let mut digits = 1;
    let mut rest = message / 10;
    while rest > 0 {
        digits += 1;
        rest /= 10;
    }
    10.0 + 5.6 * f64::from(digits)
}
/// Lanes shown at most (the most recently active when there are more subscriptions).
pub const MAX_LANES: usize = 10;
const LABEL_W: f64 = 150.0;
const LANE_H: f64 = 30.0;
/// Width used before the container is measured.
const DEFAULT_W: f64 = 700.0;
const TOP: f64 = 18.0;

/// One marble, positioned in absolute time.
#[derive(Clone, Debug, PartialEq)]
pub struct MarbleView {
    /// Message id.
    pub message: u64,
    /// Attempt.
    pub attempt: u32,
    /// Start time (ms).
    pub at: f64,
    /// Where the marble is drawn (ms): `at`, moved by at most half a slot so that it stays
    /// inside its time slot and never covers a neighbour.
    pub drawn_at: f64,
    /// Kind.
    pub kind: MarbleKind,
    /// Out of order.
    pub out_of_order: bool,
}

/// One lane.
#[derive(Clone, Debug, PartialEq)]
pub struct LaneView {
    /// Subscription id bits.
    pub id: u64,
    /// Name or pattern.
    pub label: String,
    /// Pattern and ordering, for the tooltip.
    pub title: String,
    /// Marbles, oldest first.
    pub marbles: Vec<MarbleView>,
    /// Out-of-order deliveries seen.
    pub out_of_order: u64,
}

/// How much a marble matters when its lane is crowded: per time bucket the most severe is drawn.
pub fn severity(m: &MarbleView) -> u8 {
    let base = match m.kind {
        MarbleKind::DeadLettered => 9,
        MarbleKind::Failed => 8,
        MarbleKind::Retrying => 7,
        MarbleKind::Redriven => 6,
        MarbleKind::Dropped => 4,
        MarbleKind::DeliveredAfterRetry => 3,
        MarbleKind::Filtered => 2,
        MarbleKind::Delivered => 1,
        MarbleKind::InFlight => 0,
    };
    if m.out_of_order {
        base.max(5)
    } else {
        base
    }
}

/// The marbles of `lane` to draw for a window of `window_ms` ending at `now`, at `px_per_ms`.
///
/// Time is cut into absolute slots as wide as the widest marble of the window plus
/// [`MARBLE_GAP_PX`] (absolute, so the choice is stable as time moves), and each slot draws
/// one marble, the most severe of the slot (see [`severity`]), moved inside its slot when its
/// time is near the edge. So marbles never overlap, however dense the lane: a storm shows a
/// legible sample with every failure kept. At most [`MARBLES_SHOWN`], the newest.
pub fn visible_marbles(
    lane: &crate::model::Lane,
    now: f64,
    window_ms: f64,
    px_per_ms: f64,
) -> Vec<MarbleView> {
    let start = now - window_ms * 1.05;
    let px_per_ms = if px_per_ms > 0.0 { px_per_ms } else { 0.5 };
    let shown = || lane.marbles.iter().filter(|m| m.at >= start);
    let widest = shown().map(|m| m.message).max().map_or(0.0, marble_width);
    let slot_ms = (widest + MARBLE_GAP_PX) / px_per_ms;
    let mut out: Vec<MarbleView> = Vec::new();
    let mut last_slot = i64::MIN;
    for m in shown() {
        let view = MarbleView {
            message: m.message,
            attempt: m.attempt,
            at: m.at,
            drawn_at: m.at,
            kind: m.kind,
            out_of_order: m.out_of_order,
        };
        let slot = (m.at / slot_ms).floor() as i64;
        if slot != last_slot {
            last_slot = slot;
            out.push(view);
        } else if let Some(last) = out.last_mut() {
            if severity(&view) > severity(last) {
                *last = view;
            }
        }
    }
    let skip = out.len().saturating_sub(MARBLES_SHOWN);
    out.drain(..skip);
    for m in &mut out {
        let slot_start = (m.at / slot_ms).floor() * slot_ms;
        let half = (marble_width(m.message) + MARBLE_GAP_PX) / 2.0 / px_per_ms;
        let (low, high) = (slot_start + half, slot_start + slot_ms - half);
        m.drawn_at = if low <= high {
            m.at.clamp(low, high)
        } else {
            slot_start + slot_ms / 2.0
        };
    }
    out
}

/// Builds the lanes: every subscription in creation order, or the [`MAX_LANES`] most recently
/// active ones. `window_ms` and `px_per_ms` decide which marbles fit.
pub fn build(model: &Model, window_ms: f64, px_per_ms: f64) -> (Vec<LaneView>, usize) {
    let mut subs: Vec<&crate::model::state::SubState> = model.state.subscriptions.iter().collect();
    let hidden = subs.len().saturating_sub(MAX_LANES);
    if hidden > 0 {
        crate::sort::sort_by(&mut subs, |a, b| {
            let la = model.lanes.get(&a.id).map_or(0.0, |l| l.last_activity);
            let lb = model.lanes.get(&b.id).map_or(0.0, |l| l.last_activity);
            lb.total_cmp(&la)
        });
        subs.truncate(MAX_LANES);
        crate::sort::sort_by(&mut subs, |a, b| {
            a.created_at.total_cmp(&b.created_at).then(a.id.cmp(&b.id))
        });
    }
    let lanes = subs
        .into_iter()
        .map(|s| {
            let lane = model.lanes.get(&s.id);
            LaneView {
                id: s.id,
                label: ellipsize(s.label(), 20),
                title: format!("{} · {} · {} ordering", s.label(), s.pattern, s.ordering),
                marbles: lane
                    .map(|l| visible_marbles(l, model.now, window_ms, px_per_ms))
                    .unwrap_or_default(),
                out_of_order: lane.map_or(0, |l| l.out_of_order),
            }
        })
        .collect();
    (lanes, hidden)
}

const LEGEND: [(MarbleKind, &str); 8] = [
    (MarbleKind::Delivered, "delivered"),
    (MarbleKind::DeliveredAfterRetry, "delivered after retry"),
    (MarbleKind::InFlight, "in flight"),
    (MarbleKind::Retrying, "failed, retry scheduled"),
    (MarbleKind::Failed, "failed"),
    (MarbleKind::DeadLettered, "dead letter"),
    (MarbleKind::Dropped, "dropped"),
    (MarbleKind::Filtered, "filtered"),
];

/// The window the timeline shows at first (ms) when its parent does not choose one.
pub const DEFAULT_WINDOW_MS: f64 = 15_000.0;

/// The timeline view: a lane per subscription of `feed`'s model (the [`MAX_LANES`] most
/// recently active), refreshed on the feed's stagger phase 2 and scrolled every frame it
/// changed; freezing keeps the drawing while the model moves on.
#[component]
pub fn Timeline(
    /// The model drawn, and the clocks that say when it changed.
    feed: ModelFeed,
    /// Called with the delivery a clicked marble stands for (the newest trace event of that
    /// message on that lane; nothing when the log no longer holds it).
    on_select: impl Fn(Selection) + Copy + Send + Sync + 'static,
    /// The time window shown at first (ms); the toolbar's select changes it.
    #[prop(default = DEFAULT_WINDOW_MS)]
    window_ms: f64,
) -> impl IntoView {
    let frozen = RwSignal::new(false);
    let window_ms = RwSignal::new(window_ms);
    let width = RwSignal::new(DEFAULT_W);
    let host = NodeRef::<leptos::html::Div>::new();
    let observed = crate::hooks::use_element_size(host);
    Effect::new(move |_| {
        let (w, _) = observed.get();
        if w > 200.0 && (w - width.get_untracked()).abs() > 0.5 {
            width.set(w);
        }
    });
    let scale = move || (width.get() - LABEL_W - 14.0) / window_ms.get();
    let lanes = feed.staggered(2, move || {
        let (window, px) = (window_ms.get(), scale());
        feed.model.with_value(|m| build(m, window, px))
    });
    let data = Memo::new(move |previous: Option<&(Vec<LaneView>, usize, f64)>| {
        if frozen.get() {
            if let Some(previous) = previous {
                return previous.clone();
            }
        }
        let (lanes, hidden) = lanes.get();
        (lanes, hidden, feed.model.with_value(|m| m.now))
    });
    // The clock moves every frame (smooth scrolling); the marbles change a few times a second.
    let now = Memo::new(move |previous: Option<&f64>| {
        if frozen.get() {
            if let Some(previous) = previous {
                return *previous;
            }
        }
        feed.rev.track();
        feed.model.with_value(|m| m.now)
    });
    let shift = move || width.get() - 14.0 - now.get() * scale();
    let height = move || TOP + LANE_H * data.get().0.len().max(1) as f64 + 6.0;
    let select = move |sub: u64, message: u64| {
        let event = feed.model.with_value(|m| {
            m.log
                .iter()
                .rev()
                .find(|e| e.subscription == Some(sub) && e.message == Some(message))
                .cloned()
        });
        if let Some(event) = event {
            on_select(Selection::Event(event));
        }
    };
    let indexed_lanes = move || data.get().0.into_iter().enumerate().collect::<Vec<_>>();
    view! {
        <section class="view timeline" data-testid="timeline">
            <div class="toolbar">
                <button
                    data-testid="timeline-freeze"
                    class=move || if frozen.get() { "btn active" } else { "btn" }
                    on:click=move |_| frozen.update(|f| *f = !*f)
                    title="Freeze the view; the bus keeps running"
                >
                    {move || if frozen.get() { "❄ Frozen — click to go live" } else { "❄ Freeze" }}
                </button>
                <label class="inline">
                    "window "
                    <select
                        data-testid="timeline-window"
                        prop:value=move || window_ms.get().to_string()
                        on:change=move |ev| {
                            if let Some(v) = super::parse_number(&event_target_value(&ev)) {
                                window_ms.set(v);
                            }
                        }
                    >
                        <option value="1000">"1 s"</option>
                        <option value="5000">"5 s"</option>
                        <option value="15000">"15 s"</option>
                        <option value="60000">"60 s"</option>
                    </select>
                </label>
                <span class="legend">
                    {LEGEND.iter().map(|(kind, text)| view! { <span class=format!("mk mk-{}", kind.class())></span>{*text} }).collect_view()}
                    <span class="mk mk-ooo"></span>"out of order"
                </span>
                <span class="muted small">{move || { let h = data.get().1; if h > 0 { format!("+{h} quieter lanes") } else { String::new() } }}</span>
            </div>
            <div class="lanes-host" node_ref=host>
            <div class="lanes-stack" style:height=move || format!("{}px", height())>
            <svg class="lanes" width=move || width.get() height=height viewBox=move || format!("0 0 {} {}", width.get(), height())>
                <g class="axis">
                    {move || {
                        let w = window_ms.get();
                        let area = width.get() - LABEL_W - 14.0;
                        (0..=4).map(|i| {
                            let x = LABEL_W + area * f64::from(i) / 4.0;
                            let ago = w * (4 - i) as f64 / 4.0 / 1_000.0;
                            let text = if i == 4 { "now".to_string() } else { format!("−{ago:.1}s") };
                            view! {
                                <line x1=x y1=TOP - 4.0 x2=x y2="10000" class="tick"></line>
                                <text x=x y="10" text-anchor="middle">{text}</text>
                            }
                        }).collect_view()
                    }}
                </g>
                <For each=indexed_lanes key=|(i, lane)| (*i, lane.id, lane.label.clone(), lane.out_of_order) let:item>
                    {
                        let (index, lane) = item;
                        let y = TOP + LANE_H * index as f64 + LANE_H / 2.0;
                        view! {
                            <g class="lane">
                                <line class="lane-line" x1=LABEL_W y1=y x2=move || width.get() y2=y></line>
                                <text class="lane-label" x="6" y=y + 4.0><title>{lane.title.clone()}</title>{lane.label.clone()}</text>
                                {(lane.out_of_order > 0).then(|| view! { <text class="lane-ooo" x=LABEL_W - 6.0 y=y + 4.0 text-anchor="end">{format!("{} ooo", lane.out_of_order)}</text> })}
                            </g>
                        }
                    }
                </For>
            </svg>
            // The moving layer: clipped to the lane area, translated by the compositor.
            <div class="marbles-clip" style:left=format!("{LABEL_W}px")>
                <svg class="marbles" width="1" height=height style:transform=move || format!("translate3d({:.1}px,0,0)", shift() - LABEL_W)>
                    <For each=indexed_lanes key=|(i, lane)| (*i, lane.id) let:item>
                        {
                            let (index, lane) = item;
                            let y = TOP + LANE_H * index as f64 + LANE_H / 2.0;
                            let id = lane.id;
                            view! {
                                <g class="lane-marbles">
                                    // Redrawn on each refresh (a few times a second), not a keyed
                                    // <For>: its per-row owners stay referenced by the lane's owner,
                                    // so marbles churning for the life of the page would leak.
                                    {move || data.get().0.get(index).filter(|l| l.id == id).map(|l| l.marbles.clone()).unwrap_or_default().into_iter().map(|m| {
                                            let label = m.message.to_string();
                                            let w = marble_width(m.message);
                                            let x = m.drawn_at * scale();
                                            let class = format!("marble mk-{}{}", m.kind.class(), if m.out_of_order { " ooo" } else { "" });
                                            let message = m.message;
                                            view! {
                                                <g class=class transform=format!("translate({x:.1},{y:.1})") on:click=move |_| select(id, message)>
                                                    <rect x=-w / 2.0 y="-8" width=w height="16" rx="8"></rect>
                                                    <text y="3.5" text-anchor="middle">{label}</text>
                                                </g>
                                            }
                                    }).collect_view()}
                                </g>
                            }
                        }
                    </For>
                </svg>
            </div>
            </div>
            </div>
            <Show when=move || data.get().0.is_empty()>
                <div class="empty muted">"No subscriptions yet."</div>
            </Show>
        </section>
    }
}
