//! `/admin/audit`: the audit log, newest first, filtered by entity, actor and action, each entry's
//! before/after changes as a readable diff.

use super::admin_page;
use crate::actions::admin::{AuditFilters, get_audit};
use crate::model::admin::AuditRow;
use crate::model::portal::Page;
use crate::ui::format;
use crate::ui::i18n::{Locale, t, use_locale};
use crate::ui::widgets::{page_title, pager};
use leptos::prelude::*;
use leptos_router::hooks::use_query_map;
use serde_json::Value;

#[component]
pub fn AuditPage() -> impl IntoView {
    let locale = use_locale();
    let query = use_query_map();
    let filters = Memo::new(move |_| {
        let q = query.read();
        AuditFilters {
            entity: q.get("entity").unwrap_or_default(),
            actor: q.get("actor").unwrap_or_default(),
            action: q.get("action").unwrap_or_default(),
        }
    });
    let page = Memo::new(move |_| query.read().get("page").and_then(|p| p.parse().ok()).unwrap_or(1i64).max(1));
    let data = Resource::new(move || (filters.get(), page.get()), |(filters, page)| get_audit(filters, page));
    view! {
        {page_title(move || t(locale.get(), "Audit log", "Журнал аудита").to_owned())}
        {admin_page(data, move |entries, locale| audit_view(entries, filters.get_untracked(), locale))}
    }
}

fn audit_view(entries: Page<AuditRow>, filters: AuditFilters, locale: Locale) -> impl IntoView {
    let pages = entries.pages();
    let (page, total) = (entries.page, entries.total);
    let query =
        [("entity", filters.entity.clone()), ("actor", filters.actor.clone()), ("action", filters.action.clone())];
    view! {
        <h1 class="page-title">{t(locale, "Audit log", "Журнал аудита")}</h1>
        <form method="get" class="row-form filters" role="search">
            <label for="audit-entity">{t(locale, "Entity", "Объект")}</label>
            <input id="audit-entity" type="text" name="entity" value=filters.entity.clone() placeholder="plan, plan:pro, subscription…"/>
            <label for="audit-actor">{t(locale, "Actor", "Кто")}</label>
            <input id="audit-actor" type="text" name="actor" value=filters.actor.clone() placeholder=t(locale, "email, user id or system", "почта, id или system")/>
            <label for="audit-action">{t(locale, "Action", "Действие")}</label>
            <input id="audit-action" type="text" name="action" value=filters.action.clone() placeholder="plan.update"/>
            <button type="submit" class="button">{t(locale, "Filter", "Показать")}</button>
        </form>
        {if entries.items.is_empty() {
            view! { <section class="card"><p class="muted">{t(locale, "No entries match.", "Записей не найдено.")}</p></section> }.into_any()
        } else {
            view! {
                <ol class="audit-list">{entries.items.into_iter().map(|e| entry_view(e, locale)).collect_view()}</ol>
            }
            .into_any()
        }}
        {pager(page, pages, total, &query, locale)}
    }
}

/// A JSON value as one short line for the diff.
fn show(value: &Value) -> String {
    match value {
        Value::Null => "—".to_owned(),
        Value::String(s) => s.clone(),
        other => other.to_string(),
    }
}

fn entry_view(entry: AuditRow, locale: Locale) -> impl IntoView {
    let who = entry
        .audit_metadata
        .as_ref()
        .and_then(|m| m.get("email"))
        .and_then(Value::as_str)
        .map(str::to_owned)
        .unwrap_or_else(|| entry.user_id.clone());
    let channel =
        entry.audit_metadata.as_ref().and_then(|m| m.get("channel")).and_then(Value::as_str).map(str::to_owned);
    let changes: Vec<(String, String, String)> = entry
        .changes
        .as_ref()
        .and_then(Value::as_object)
        .map(|map| {
            map.iter()
                .map(|(field, change)| {
                    let before = change.get("before").map(show).unwrap_or_default();
                    let after = change.get("after").map(show).unwrap_or_default();
                    (field.clone(), before, after)
                })
                .collect()
        })
        .unwrap_or_default();
    view! {
        <li class="card audit-entry" data-action=entry.action.clone() data-entity=format!("{}:{}", entry.entity_type, entry.entity_id)>
            <div class="row-between">
                <p class="audit-head">
                    <code class="badge badge-info">{entry.action.clone()}</code>
                    " "
                    <a href=format!("?entity={}:{}", entry.entity_type, crate::ui::auth::encode(&entry.entity_id))>
                        {format!("{} {}", entry.entity_type, entry.entity_id)}
                    </a>
                </p>
                <p class="muted small">
                    {format::date_time(entry.created_at, locale)} " · "
                    <a href=format!("?actor={}", crate::ui::auth::encode(&entry.user_id))>{who}</a>
                    {channel.map(|c| format!(" · {c}"))}
                </p>
            </div>
            {entry.description.map(|d| view! { <p>{d}</p> })}
            {(!changes.is_empty()).then(|| view! {
                <table class="table diff">
                    <thead>
                        <tr>
                            <th scope="col">{t(locale, "Field", "Поле")}</th>
                            <th scope="col">{t(locale, "Before", "Было")}</th>
                            <th scope="col">{t(locale, "After", "Стало")}</th>
                        </tr>
                    </thead>
                    <tbody>
                        {changes.into_iter().map(|(field, before, after)| view! {
                            <tr>
                                <th scope="row"><code>{field}</code></th>
                                <td class="diff-before"><del>{before}</del></td>
                                <td class="diff-after"><ins>{after}</ins></td>
                            </tr>
                        }).collect_view()}
                    </tbody>
                </table>
            })}
        </li>
    }
}
