//! `event-log`: the most recent trace events, filtered by topic, subscription, kind and a
//! regular expression (with invert), in a virtualised list that renders only the visible rows,
//! so it stays fast at any event rate. Clicking a row opens it in the inspector.

use std::sync::Arc;

use leptos::prelude::*;
use switchyard_core::{Pattern, TraceKind};

use crate::model::event::describe_detail;
use crate::model::{Event, Model};
use crate::state::{ModelFeed, Selection};

/// Row height in pixels (the list is virtualised on it).
pub const ROW_H: f64 = 20.0;
const OVERSCAN: usize = 6;

/// What the log shows.
#[derive(Clone, Debug, Default)]
pub struct LogFilter {
    /// The topic: a switchyard pattern when it contains `*` (`orders.*`, `**.failed`),
    /// otherwise a substring (empty = any). See [`TopicFilter`].
    pub topic: String,
    /// Subscription id bits.
    pub subscription: Option<u64>,
    /// Kind.
    pub kind: Option<TraceKind>,
    /// Regular expression over the row's text, in JavaScript `RegExp` syntax (empty = any).
    pub regex: String,
    /// Show what does *not* match instead.
    pub invert: bool,
}

/// The text a regex filter is matched against: `kind topic sub#N msg#N detail`.
pub fn row_text(event: &Event, subscription_label: &str) -> String {
    format!(
        "{} {} {} #{} {}",
        event.kind.as_str(),
        event.topic.as_deref().unwrap_or(""),
        subscription_label,
        event.message.map_or(String::new(), |m| m.to_string()),
        describe_detail(event)
    )
}

#[wasm_bindgen::prelude::wasm_bindgen]
extern "C" {
    /// The browser's `RegExp` (JavaScript syntax), built fallibly: an invalid expression
    /// throws a `SyntaxError`, answered as `Err`. The browser's engine rather than a Rust
    /// regex crate: one less regex engine in the `.wasm` (issue 14's size budget).
    #[wasm_bindgen(js_name = RegExp)]
    type JsRegExp;
    #[wasm_bindgen(constructor, js_class = "RegExp", catch)]
    fn new(pattern: &str, flags: &str) -> Result<JsRegExp, wasm_bindgen::JsValue>;
    #[wasm_bindgen(method, js_class = "RegExp")]
    fn test(this: &JsRegExp, text: &str) -> bool;
}

/// The log's regular expression: JavaScript `RegExp` syntax, case-sensitive, unanchored.
struct LogRegex(JsRegExp);

impl LogRegex {
    /// Compiles `pattern`; an invalid one is `Err("regex: <the browser's reason>")`.
    fn new(pattern: &str) -> Result<LogRegex, String> {
        JsRegExp::new(pattern, "").map(LogRegex).map_err(|e| {
            let reason = wasm_bindgen::JsCast::dyn_ref::<js_sys::Error>(&e)
                .map(|e| String::from(e.message()))
                .unwrap_or_else(|| "invalid regular expression".into());
            format!("regex: {reason}")
        })
    }

    /// Whether `text` holds a match.
    fn is_match(&self, text: &str) -> bool {
        self.0.test(text)
    }
}

/// How the topic box filters: a pattern with `*` (exactly one segment) or `**` (zero or more
/// segments) matches whole topics with the bus's own rules; any other text is a substring.
#[derive(Clone, Debug)]
pub enum TopicFilter {
    /// Every event.
    Any,
    /// Topics containing this text.
    Contains(String),
    /// Topics the pattern matches.
    Pattern(Pattern),
}

impl TopicFilter {
    /// Reads the topic box; a text with `*` that is not a valid pattern is an error naming
    /// the problem.
    pub fn parse(text: &str) -> Result<TopicFilter, String> {
        let text = text.trim();
        if text.is_empty() {
            Ok(TopicFilter::Any)
        } else if text.contains('*') {
            Pattern::parse(text)
                .map(TopicFilter::Pattern)
                .map_err(|e| format!("topic pattern: {e}"))
        } else {
            Ok(TopicFilter::Contains(text.to_string()))
        }
    }

    /// Whether an event with `topic` passes.
    pub fn accepts(&self, topic: Option<&str>) -> bool {
        match self {
            TopicFilter::Any => true,
            TopicFilter::Contains(text) => topic.is_some_and(|t| t.contains(text.as_str())),
            TopicFilter::Pattern(pattern) => topic.is_some_and(|t| pattern.matches(t)),
        }
    }
}

/// Applies `filter` to the model's log; returns the matching events (oldest first) or the
/// error of the regex or the topic pattern.
pub fn filter(model: &Model, filter: &LogFilter) -> Result<Vec<Event>, String> {
    let regex = if filter.regex.is_empty() {
        None
    } else {
        Some(LogRegex::new(&filter.regex)?)
    };
    let topic = TopicFilter::parse(&filter.topic)?;
    let mut out = Vec::new();
    for event in model.log.iter() {
        let mut hit = topic.accepts(event.topic.as_deref());
        if let Some(sub) = filter.subscription {
            hit &= event.subscription == Some(sub);
        }
        if let Some(kind) = filter.kind {
            hit &= event.kind == kind;
        }
        if let (true, Some(re)) = (hit, &regex) {
            let label = event
                .subscription
                .map(|s| model.subscription_label(s))
                .unwrap_or_default();
            hit &= re.is_match(&row_text(event, &label));
        }
        if hit != filter.invert {
            out.push(event.clone());
        }
    }
    Ok(out)
}

/// The event log view: `feed`'s log through the filters of its toolbar (see [`filter`]),
/// refreshed on the feed's stagger phase 2, following the newest row until scrolled up.
#[component]
pub fn EventLog(
    /// The model whose log is shown, and the clocks that say when it changed.
    feed: ModelFeed,
    /// Called with the event of a clicked row.
    on_select: impl Fn(Selection) + Copy + Send + Sync + 'static,
) -> impl IntoView {
    let topic = RwSignal::new(String::new());
    let subscription = RwSignal::new(String::new());
    let kind = RwSignal::new(String::new());
    let regex = RwSignal::new(String::new());
    let invert = RwSignal::new(false);
    let follow = RwSignal::new(true);
    let scroll_top = RwSignal::new(0.0f64);
    let viewport = RwSignal::new(280.0f64);
    let list = NodeRef::<leptos::html::Div>::new();

    let rows = feed.staggered(2, move || {
        let f = LogFilter {
            topic: topic.get(),
            subscription: subscription.get().parse().ok(),
            kind: TraceKind::ALL
                .iter()
                .copied()
                .find(|k| k.as_str() == kind.get()),
            regex: regex.get(),
            invert: invert.get(),
        };
        feed.model.with_value(|m| filter(m, &f)).map(Arc::new)
    });
    let total = feed.staggered(2, move || {
        feed.model.with_value(|m| (m.log.len(), m.events_seen))
    });
    let subs = feed.staggered(2, move || {
        feed.model.with_value(|m| {
            m.state
                .subscriptions
                .iter()
                .map(|s| (s.id, s.label().to_string()))
                .collect::<Vec<_>>()
        })
    });
    let count = move || rows.get().map(|r| r.len()).unwrap_or(0);

    // Keep the newest row in view while following.
    Effect::new(move |_| {
        let n = count();
        if follow.get() {
            if let Some(el) = list.get() {
                let top = (n as f64 * ROW_H - el.client_height() as f64).max(0.0);
                el.set_scroll_top(top as i32);
                scroll_top.set(top);
                viewport.set(el.client_height() as f64);
            }
        }
    });

    let visible = move || {
        let rows = match rows.get() {
            Ok(r) => r,
            Err(_) => return Vec::new(),
        };
        let first = (scroll_top.get() / ROW_H).floor().max(0.0) as usize;
        let first = first.saturating_sub(OVERSCAN);
        let shown = (viewport.get() / ROW_H).ceil() as usize + 2 * OVERSCAN;
        let end = (first + shown).min(rows.len());
        let start = first.min(end);
        rows[start..end]
            .iter()
            .cloned()
            .enumerate()
            .map(|(i, e)| (start + i, e))
            .collect::<Vec<_>>()
    };
    let label = move |sub: Option<u64>| {
        sub.map(|s| feed.model.with_value(|m| m.subscription_label(s)))
            .unwrap_or_default()
    };
    let origin = move || {
        feed.model
            .with_value(|m| m.log.iter().next().map_or(0.0, |e| e.at))
    };

    view! {
        <section class="view event-log" data-testid="event-log">
            <div class="toolbar filters">
                <input data-testid="log-topic" placeholder="topic: text or orders.*" title="a switchyard pattern (* = one segment, ** = any) or text the topic contains" class=move || if rows.get().is_err() && topic.get().contains('*') { "bad" } else { "" } prop:value=move || topic.get() on:input=move |ev| topic.set(event_target_value(&ev))/>
                <select data-testid="log-subscription" on:change=move |ev| subscription.set(event_target_value(&ev))>
                    <option value="">"any subscription"</option>
                    <For each=move || subs.get() key=|s| s.clone() let:s>
                        <option value=s.0.to_string()>{s.1.clone()}</option>
                    </For>
                </select>
                <select data-testid="log-kind" on:change=move |ev| kind.set(event_target_value(&ev))>
                    <option value="">"any kind"</option>
                    {TraceKind::ALL.iter().map(|k| view! { <option value=k.as_str()>{k.as_str()}</option> }).collect_view()}
                </select>
                <input data-testid="log-regex" class=move || if rows.get().is_err() { "bad" } else { "" } placeholder="regex" prop:value=move || regex.get() on:input=move |ev| regex.set(event_target_value(&ev))/>
                <label class="inline"><input type="checkbox" data-testid="log-invert" prop:checked=move || invert.get() on:change=move |ev| invert.set(event_target_checked(&ev))/>"invert"</label>
                <label class="inline"><input type="checkbox" data-testid="log-follow" prop:checked=move || follow.get() on:change=move |ev| follow.set(event_target_checked(&ev))/>"follow"</label>
                <span class="muted small" data-testid="log-count">
                    {move || match rows.get() {
                        Ok(r) => { let (kept, seen) = total.get(); format!("{} shown · {} kept · {} seen", r.len(), kept, seen) }
                        Err(e) => e,
                    }}
                </span>
            </div>
            <div class="log-head row-grid">
                <span>"time"</span><span>"kind"</span><span>"topic"</span><span>"subscription"</span><span>"msg"</span><span>"detail"</span>
            </div>
            <div
                class="log-list"
                node_ref=list
                on:scroll=move |_| {
                    if let Some(el) = list.get() {
                        let top = el.scroll_top() as f64;
                        let max = (count() as f64 * ROW_H - el.client_height() as f64).max(0.0);
                        scroll_top.set(top);
                        viewport.set(el.client_height() as f64);
                        if top + 2.0 < max && follow.get_untracked() {
                            follow.set(false);
                        }
                    }
                }
            >
                <div class="log-spacer" style:height=move || format!("{}px", count() as f64 * ROW_H)>
                    {move || visible().into_iter().map(|item| view! {
                        {
                            let (index, event) = item;
                            let t = (event.at - origin()) / 1_000.0;
                            let selected = event.clone();
                            let kind = event.kind.as_str();
                            view! {
                                <div class=format!("log-row row-grid k-{kind}") style:top=format!("{}px", index as f64 * ROW_H) on:click=move |_| on_select(Selection::Event(selected.clone()))>
                                    <span class="num">{format!("{t:.3}")}</span>
                                    <span class=format!("kind k-{kind}")>{kind}</span>
                                    <span class="topic">{event.topic.as_deref().unwrap_or("").to_string()}</span>
                                    <span>{label(event.subscription)}</span>
                                    <span class="num">{event.message.map(|m| format!("#{m}")).unwrap_or_default()}</span>
                                    <span class="muted">{describe_detail(&event)}</span>
                                </div>
                            }
                        }
                    }).collect_view()}
                </div>
            </div>
        </section>
    }
}
