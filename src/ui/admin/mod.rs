//! The admin dashboard (issue 6): revenue overview, the plan catalogue and its editor, users and
//! subscribers with refunds and plan assignment, and the audit log. Admins only: every server
//! function calls `require_admin` itself; others get the 403 page.

pub mod audit;
pub mod features;
pub mod orgs;
pub mod overview;
pub mod plans;
pub mod revenue;
pub mod users;
pub mod webhooks;

use super::i18n::{Locale, use_locale};
use super::portal::loading;
use super::widgets::{ErrorPanel, section_nav};
use crate::actions::UiError;
use leptos::prelude::*;
use serde::Serialize;
use serde::de::DeserializeOwned;

/// The left navigation: `Overview · Plans · Features · Users · Organisations · Webhooks · Audit log`.
#[component]
pub fn AdminNav() -> impl IntoView {
    const LINKS: &[(&str, &str, &str)] = &[
        ("/admin", "Overview", "Обзор"),
        ("/admin/plans", "Plans", "Тарифы"),
        ("/admin/features", "Features", "Функции"),
        ("/admin/users", "Users", "Пользователи"),
        ("/admin/orgs", "Organisations", "Организации"),
        ("/admin/webhooks", "Webhooks", "Вебхуки"),
        ("/admin/audit", "Audit log", "Журнал аудита"),
    ];
    section_nav("sidenav", ("Administration", "Администрирование"), LINKS, true, "/admin")
}

/// An admin page: while `data` loads, "Loading…"; then the left navigation and `render(data)`,
/// or the error page (403 for non-admins) without the navigation.
pub fn admin_page<T, F, V>(data: Resource<Result<T, UiError>>, render: F) -> impl IntoView
where
    T: Clone + Serialize + DeserializeOwned + Send + Sync + 'static,
    F: Fn(T, Locale) -> V + Clone + Send + Sync + 'static,
    V: IntoView + 'static,
{
    let locale = use_locale();
    view! {
        <Transition fallback=loading>
            {move || {
                let render = render.clone();
                Suspend::new(async move {
                    match data.await {
                        Ok(value) => view! {
                            <div class="admin-layout">
                                <AdminNav/>
                                <div class="admin-main">{render(value, locale.get())}</div>
                            </div>
                        }
                        .into_any(),
                        Err(error) => view! { <ErrorPanel error/> }.into_any(),
                    }
                })
            }}
        </Transition>
    }
}
