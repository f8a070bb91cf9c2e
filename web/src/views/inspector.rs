//! `inspector`: the selected event or dead letter, its fields, and its payload as a tree with
//! search inside keys and values. Payloads are rendered as text nodes only, never as HTML.

use leptos::prelude::*;
use serde_json::Value;

use super::use_app;
use crate::model::event::describe_detail;
use crate::state::Selection;

/// One line of a flattened payload tree.
#[derive(Clone, Debug, PartialEq)]
pub struct TreeLine {
    /// Nesting depth.
    pub depth: usize,
    /// Key or index (empty for the root).
    pub key: String,
    /// Scalar value text, or `{…}`/`[…]` with the child count for containers.
    pub value: String,
    /// `string`, `number`, `bool`, `null`, `object`, `array`.
    pub kind: &'static str,
    /// Dotted path from the root (`items.0.sku`).
    pub path: String,
    /// The search matched this line's key or value.
    pub hit: bool,
}

/// Most tree lines drawn.
pub const MAX_LINES: usize = 400;

/// Flattens `value` into lines; with a non-empty `query`, keeps only lines whose key or value
/// contains it (case-insensitive) and their ancestors.
pub fn tree(value: &Value, query: &str) -> Vec<TreeLine> {
    let query = lower(query.trim());
    let mut out = Vec::new();
    walk(value, String::new(), String::new(), 0, &query, &mut out);
    out.truncate(MAX_LINES);
    out
}

/// `text` in lower case, by the browser's `String.prototype.toLowerCase` (the same Unicode
/// mapping as `str::to_lowercase`, without its case tables in the `.wasm`).
fn lower(text: &str) -> String {
    js_sys::JsString::from(text).to_lower_case().into()
}

fn scalar(value: &Value) -> (String, &'static str) {
    match value {
        Value::String(s) => (format!("{s:?}"), "string"),
        Value::Number(n) => (n.to_string(), "number"),
        Value::Bool(b) => (b.to_string(), "bool"),
        Value::Null => ("null".to_string(), "null"),
        Value::Array(a) => (format!("[{}]", a.len()), "array"),
        Value::Object(o) => (format!("{{{}}}", o.len()), "object"),
    }
}

/// Returns whether anything under `value` matched.
fn walk(
    value: &Value,
    key: String,
    path: String,
    depth: usize,
    query: &str,
    out: &mut Vec<TreeLine>,
) -> bool {
    if out.len() > MAX_LINES * 4 {
        return false;
    }
    let (text, kind) = scalar(value);
    let hit = !query.is_empty() && (lower(&key).contains(query) || lower(&text).contains(query));
    let at = out.len();
    out.push(TreeLine {
        depth,
        key,
        value: text,
        kind,
        path: path.clone(),
        hit,
    });
    let join = |k: &str| {
        if path.is_empty() {
            k.to_string()
        } else {
            format!("{path}.{k}")
        }
    };
    let mut below = false;
    match value {
        Value::Object(map) => {
            for (k, v) in map {
                below |= walk(v, k.clone(), join(k), depth + 1, query, out);
            }
        }
        Value::Array(items) => {
            for (i, v) in items.iter().enumerate() {
                below |= walk(
                    v,
                    i.to_string(),
                    join(&i.to_string()),
                    depth + 1,
                    query,
                    out,
                );
            }
        }
        _ => {}
    }
    let keep = query.is_empty() || hit || below;
    if !keep {
        out.truncate(at);
    }
    keep && (hit || below)
}

/// Field rows and payload of the selection.
fn describe(
    app: crate::state::AppState,
    selection: &Selection,
) -> (String, Vec<(String, String)>, Option<Value>) {
    app.feed.model.with_value(|m| match selection {
        Selection::Event(e) => {
            let mut rows = vec![
                ("kind".to_string(), e.kind.as_str().to_string()),
                ("at".to_string(), format!("{:.3} ms", e.at)),
                ("cursor".to_string(), e.cursor.to_string()),
            ];
            if let Some(t) = &e.topic {
                rows.push(("topic".to_string(), t.to_string()));
            }
            if let Some(s) = e.subscription {
                rows.push(("subscription".to_string(), m.subscription_label(s)));
            }
            if let Some(msg) = e.message {
                rows.push(("message".to_string(), format!("#{msg}")));
            }
            let detail = describe_detail(e);
            if !detail.is_empty() {
                rows.push(("detail".to_string(), detail));
            }
            let payload = e.message.and_then(|id| m.payload(id)).map(|p| (*p).clone());
            (format!("{} event", e.kind.as_str()), rows, payload)
        }
        Selection::DeadLetter(id) => match m.state.dead_letters.iter().find(|d| d.id == *id) {
            Some(d) => (
                format!("dead letter #{}", d.id),
                vec![
                    ("topic".to_string(), d.topic.clone()),
                    (
                        "subscription".to_string(),
                        d.subscription_name
                            .clone()
                            .unwrap_or_else(|| d.pattern.clone()),
                    ),
                    ("reason".to_string(), d.reason.clone()),
                    ("attempts".to_string(), d.attempts.to_string()),
                    (
                        "last error".to_string(),
                        d.last_error.clone().unwrap_or_default(),
                    ),
                    ("message".to_string(), format!("#{}", d.message)),
                ],
                Some(d.payload.clone()),
            ),
            None => (
                format!("dead letter #{id}"),
                vec![(
                    "status".to_string(),
                    "no longer held (redriven or purged)".to_string(),
                )],
                None,
            ),
        },
    })
}

/// The inspector view.
#[component]
pub fn Inspector() -> impl IntoView {
    let app = use_app();
    let query = RwSignal::new(String::new());
    let described = app
        .feed
        .staggered(3, move || app.selected.get().map(|s| describe(app, &s)));
    let lines = Memo::new(move |_| {
        described
            .get()
            .and_then(|(_, _, payload)| payload)
            .map(|p| tree(&p, &query.get()))
    });
    view! {
        <aside class="panel inspector" data-testid="inspector">
            <header class="panel-head">
                <h2>"Inspector"</h2>
                <input class="search" data-testid="inspector-search" placeholder="search payload…" prop:value=move || query.get() on:input=move |ev| query.set(event_target_value(&ev))/>
            </header>
            {move || match described.get() {
                None => view! { <div class="empty muted">"Select an event in the log or timeline, or inspect a dead letter."</div> }.into_any(),
                Some((title, rows, payload)) => view! {
                    <div class="inspect-body">
                        <h3>{title}</h3>
                        <dl class="fields">
                            {rows.into_iter().map(|(k, v)| view! { <dt>{k}</dt><dd>{v}</dd> }).collect_view()}
                        </dl>
                        <h4>"payload"</h4>
                        {match payload {
                            None => view! { <div class="muted small">"Payload not kept (only recent messages and dead letters carry one)."</div> }.into_any(),
                            Some(_) => view! {
                                <div class="tree" data-testid="payload-tree">
                                    {move || lines.get().unwrap_or_default().into_iter().map(|l| view! {
                                        <div class=if l.hit { "tl hit" } else { "tl" } style:padding-left=format!("{}px", 6 + l.depth * 14) title=l.path.clone()>
                                            {(!l.key.is_empty()).then(|| view! { <span class="k">{l.key.clone()}": "</span> })}
                                            <span class=format!("v v-{}", l.kind)>{l.value.clone()}</span>
                                        </div>
                                    }).collect_view()}
                                </div>
                            }.into_any(),
                        }}
                    </div>
                }.into_any(),
            }}
        </aside>
    }
}
