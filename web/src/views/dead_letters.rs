//! `dead-letters`: what failed for good, with reason and attempts; inspect a payload, redrive
//! one or all, purge.

use leptos::prelude::*;

use super::{ellipsize, use_app};
use crate::model::event::format_millis;
use crate::source::DeadLetterCommand;
use crate::state::Selection;

/// Rows drawn at most (the newest).
pub const MAX_ROWS: usize = 200;

/// The dead-letters view.
#[component]
pub fn DeadLetters() -> impl IntoView {
    let app = use_app();
    let rows = app.feed.staggered(2, move || {
        app.feed.model.with_value(|m| {
            let now = m.state.at;
            let total = m.state.dead_letters.len();
            let rows: Vec<_> = m
                .state
                .dead_letters
                .iter()
                .rev()
                .take(MAX_ROWS)
                .map(|d| {
                    let preview = serde_json::to_string(&d.payload).unwrap_or_default();
                    (
                        d.id,
                        d.topic.clone(),
                        d.subscription_name
                            .clone()
                            .unwrap_or_else(|| d.pattern.clone()),
                        d.reason.clone(),
                        d.attempts,
                        d.last_error.clone().unwrap_or_default(),
                        format_millis((now - d.dead_lettered_at).max(0.0)),
                        ellipsize(&preview, 60),
                    )
                })
                .collect();
            (rows, total, m.state.dead_letters_evicted)
        })
    });
    view! {
        <section class="view dead-letters" data-testid="dead-letters">
            <div class="toolbar">
                <span data-testid="dead-letter-count">{move || { let (_, n, ev) = rows.get(); if ev > 0 { format!("{n} dead letters ({ev} evicted)") } else { format!("{n} dead letters") } }}</span>
                <button class="btn" data-testid="redrive-all" disabled=move || rows.get().1 == 0 on:click=move |_| app.dead_letters(DeadLetterCommand::Redrive(None))>"↻ Redrive all"</button>
                <button class="btn danger" data-testid="purge" disabled=move || rows.get().1 == 0 on:click=move |_| app.dead_letters(DeadLetterCommand::Purge)>"Purge"</button>
            </div>
            <div class="table-wrap">
                <table class="grid fixed">
                    <colgroup>
                        <col style="width:40px"/>
                        <col style="width:22%"/>
                        <col style="width:16%"/>
                        <col style="width:128px"/>
                        <col style="width:58px"/>
                        <col/>
                        <col style="width:140px"/>
                    </colgroup>
                    <thead><tr><th>"#"</th><th>"topic"</th><th>"subscription"</th><th>"reason · tries"</th><th>"age"</th><th>"payload"</th><th></th></tr></thead>
                    <tbody>
                        {move || rows.get().0.into_iter().map(|r| view! {
                            {
                                let (id, topic, sub, reason, attempts, error, age, preview) = r;
                                view! {
                                    <tr data-testid="dead-letter-row">
                                        <td class="num">{id}</td>
                                        <td class="topic" title=topic.clone()>{topic.clone()}</td>
                                        <td>{sub}</td>
                                        <td title=error><span class=format!("badge reason-{reason}")>{reason.clone()}</span>" ×"{attempts}</td>
                                        <td class="num">{age}</td>
                                        <td class="mono preview">{preview}</td>
                                        <td class="actions">
                                            <button class="btn small" data-testid="inspect-dead-letter" on:click=move |_| app.selected.set(Some(Selection::DeadLetter(id)))>"Inspect"</button>
                                            <button class="btn small" data-testid="redrive-one" on:click=move |_| app.dead_letters(DeadLetterCommand::Redrive(Some(id)))>"Redrive"</button>
                                        </td>
                                    </tr>
                                }
                            }
                        }).collect_view()}
                    </tbody>
                </table>
                <Show when=move || rows.get().1 == 0>
                    <div class="empty muted">"No dead letters. Messages land here when a handler fails on every allowed attempt, times out, expires or rejects them."</div>
                </Show>
            </div>
        </section>
    }
}
