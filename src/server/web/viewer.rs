//! The signed-in viewer and the language of every page request: loaded from the session,
//! with anonymous visitors of private pages sent to log in.

use crate::server::access_log::PageUser;
use crate::server::state::AppState;
use crate::ui::i18n::{RequestLocale, locale_cookie, locale_from_cookie_header};
use axum::extract::{Request, State};
use axum::http::{HeaderValue, Method, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Redirect, Response};
use std::collections::HashMap;
use tariff_core::{accounts, organizations, subscriptions};
use tariff_model::org::CurrentOrganization;
use tariff_model::portal::AccountOption;
use tariff_model::{Locale, Role, Viewer};
use tower_sessions::Session;

use super::USER_ID_KEY;

/// Pages that need a signed-in viewer; anonymous visitors are sent to log in.
fn needs_login(path: &str) -> bool {
    ["/billing", "/settings", "/admin", "/org"].iter().any(|p| path == *p || path.starts_with(&format!("{p}/")))
}

/// The signed-in viewer of this request (`None` when anonymous), in the request's extensions.
#[derive(Clone, Debug, Default)]
pub struct CurrentViewer(pub Option<Viewer>);

/// Loads the viewer from the session, settles the language (`?lang=`, else the user's stored
/// language, else the `lang` cookie, else English), and sends anonymous visitors of private
/// pages to `/login?next=…`. Reads only: a `?lang=` choice of a signed-in user is stored on the
/// user by a background task, off the request's path.
pub async fn viewer(State(state): State<AppState>, session: Session, mut request: Request, next: Next) -> Response {
    let path = request.uri().path().to_owned();
    let user_id: Option<String> = session.get(USER_ID_KEY).await.unwrap_or_else(|e| {
        tracing::warn!(error = %e, "reading the session failed");
        None
    });
    let user = match user_id {
        Some(id) => match accounts::find_user(&state.billing.store, &id).await {
            Ok(user) => user,
            Err(e) => {
                tracing::error!(error = %e, "loading the signed-in user failed");
                None
            }
        },
        None => None,
    };
    let query: HashMap<String, String> =
        axum::extract::Query::try_from_uri(request.uri()).map(|q| q.0).unwrap_or_default();
    let chosen = query.get("lang").and_then(|l| Locale::parse(l));
    let remembered =
        request.headers().get(header::COOKIE).and_then(|v| v.to_str().ok()).and_then(locale_from_cookie_header);
    let stored = user.as_ref().map(|u| u.locale);
    let locale = chosen.or(stored).or(remembered).unwrap_or_default();
    if let (Some(chosen), Some(user)) = (chosen, &user)
        && stored != Some(chosen)
    {
        let billing = state.billing.clone();
        let user_id = user.id.clone();
        tokio::spawn(async move {
            if let Err(e) = accounts::set_locale(&billing.store, billing.now(), &user_id, chosen).await {
                tracing::warn!(error = %e, "storing the chosen language failed");
            }
        });
    }

    // Someone already signed in has nothing to do on the login and sign-up forms.
    if user.is_some() && (path == "/login" || path == "/signup") && request.method() == Method::GET {
        let next = query.get("next").map(String::as_str);
        return Redirect::to(&safe_next(next).unwrap_or_else(|| "/billing".to_owned())).into_response();
    }
    if user.is_none() && needs_login(&path) && request.method() == Method::GET {
        let target = request.uri().path_and_query().map(|pq| pq.as_str()).unwrap_or("/billing");
        let target = without_error_parameters(target);
        return Redirect::to(&format!("/login?next={}", crate::ui::auth::encode(&target))).into_response();
    }

    let page_user = user.as_ref().map(|u| PageUser { id: u.id.clone(), email: u.email.clone() });
    let viewer = match user {
        Some(user) => Some(load_viewer(&state, user, locale).await),
        None => None,
    };
    request.extensions_mut().insert(CurrentViewer(viewer));
    request.extensions_mut().insert(RequestLocale(locale));
    let mut response = next.run(request).await;
    // For the access log, which runs outside the web layers.
    if let Some(page_user) = page_user {
        response.extensions_mut().insert(page_user);
    }
    if remembered != Some(locale)
        && let Ok(value) = HeaderValue::from_str(&locale_cookie(locale))
    {
        response.headers_mut().append(header::SET_COOKIE, value);
    }
    response
}

/// The viewer's billing picture for the top bar: the account billed now (personal or an
/// organisation), its plan, and every account they may switch to. Failures are logged and
/// leave the personal account.
async fn load_viewer(state: &AppState, user: tariff_model::User, locale: Locale) -> Viewer {
    let db = &state.billing.store;
    let billing = accounts::billing_user(db, &user.id).await.unwrap_or_else(|e| {
        tracing::warn!(error = %e, "loading the viewer's billing account failed");
        tariff_core::tokens::UserRef::from(user.clone())
    });
    let plan = subscriptions::current(db, state.now(), &billing.account_id)
        .await
        .unwrap_or_else(|e| {
            tracing::warn!(error = %e, "loading the viewer's subscription failed");
            None
        })
        .map(|s| s.plan);
    let organizations = organizations::of_user(db, &user.id).await.unwrap_or_else(|e| {
        tracing::warn!(error = %e, "loading the viewer's organisations failed");
        Vec::new()
    });
    let mut choices = vec![AccountOption { account_id: user.account_id.clone(), name: user.name.clone(), role: None }];
    choices.extend(organizations.iter().map(|o| AccountOption {
        account_id: o.id.clone(),
        name: o.name.clone(),
        role: o.role,
    }));
    let organization = billing.membership.as_ref().and_then(|m| {
        organizations.iter().find(|o| o.id == billing.account_id).map(|o| CurrentOrganization {
            id: o.id.clone(),
            name: o.name.clone(),
            role: m.role,
        })
    });
    Viewer {
        id: user.id,
        account_id: billing.account_id,
        email: user.email,
        name: user.name,
        is_admin: user.role == Role::Admin,
        locale,
        plan_name: plan.as_ref().map(|p| p.name.clone()),
        plan_name_ru: plan.and_then(|p| p.name_ru),
        personal_account_id: user.account_id,
        organization,
        accounts: choices,
    }
}

/// A `next` target after login, if it is a path on this site: it starts with one `/` (not `//`
/// or `/\`), has no backslash, no whitespace and no control character (a TAB or newline would let
/// a browser leave the site, or break the redirect header), and is at most 512 bytes.
pub fn safe_next(next: Option<&str>) -> Option<String> {
    let next = next?;
    let path_on_this_site = next.starts_with('/')
        && !next.starts_with("//")
        && next.len() <= 512
        && !next.chars().any(|c| c == '\\' || c.is_whitespace() || c.is_control());
    path_on_this_site.then(|| next.to_owned())
}

/// `path?query` without a server function's one-time error parameters (`__err`, `__path`): a
/// form refused because the session had ended must not come back with that error after the
/// sign-in.
fn without_error_parameters(target: &str) -> String {
    let Some((path, query)) = target.split_once('?') else { return target.to_owned() };
    let kept: Vec<&str> =
        query.split('&').filter(|pair| !matches!(pair.split('=').next(), Some("__err" | "__path"))).collect();
    if kept.is_empty() { path.to_owned() } else { format!("{path}?{}", kept.join("&")) }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_login_redirect_drops_a_refused_forms_error() {
        assert_eq!(without_error_parameters("/billing?__path=%2Fapi&__err=e30"), "/billing");
        assert_eq!(without_error_parameters("/admin/users?q=ann&__err=e30&page=2"), "/admin/users?q=ann&page=2");
        assert_eq!(without_error_parameters("/billing"), "/billing");
    }

    #[test]
    fn next_targets_stay_on_this_site() {
        assert_eq!(safe_next(Some("/billing/plans")), Some("/billing/plans".to_owned()));
        assert_eq!(safe_next(Some("//evil.example")), None);
        assert_eq!(safe_next(Some("https://evil.example")), None);
        assert_eq!(safe_next(Some("/\t/evil.example")), None, "a TAB lets browsers leave the site");
        assert_eq!(safe_next(Some("/\\evil.example")), None);
        assert_eq!(safe_next(Some("/billing\nSet-Cookie: x=1")), None, "a newline would break the header");
        assert_eq!(safe_next(Some("/ /x")), None);
        assert_eq!(safe_next(None), None);
    }
}
