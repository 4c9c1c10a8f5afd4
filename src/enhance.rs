//! The browser bundle: progressive enhancement of the server-rendered pages.
//!
//! Every page is complete HTML from the server and every form works as a plain form post (UI.md:
//! "Forms work without JavaScript"). With JavaScript, this module makes them "not reload the page
//! and show progress on the button while a request is in flight":
//!
//! - A same-origin form submit is sent with `fetch` instead (the form's fields URL-encoded, as the
//!   browser would post them, with `Accept: text/html` so the server answers exactly as it answers
//!   a plain post: the page itself, or a redirect that `fetch` follows). The page that comes back
//!   replaces `<body>`, `<title>` and `<html lang>`; the head, the stylesheet and this module stay.
//!   The address bar shows where the server sent the browser, without server functions' error
//!   parameters (`__err`, `__path`), which are meant for that one rendering. When the page that
//!   came back refused the form, the focus moves to its message and the form gets back what was
//!   typed into it (the server renders it from the stored data).
//! - While the request is in flight the form has `aria-busy="true"` and the button that sent it is
//!   disabled and marked `data-busy` (the stylesheet draws a spinner), so a second click sends
//!   nothing; a button with `data-pending` shows that text as its label meanwhile.
//! - A redirect that leaves the site (the payment page) comes as `200` with
//!   [`crate::LEAVE_SITE_HEADER`] (see `crate::server::web::leave_site`): the browser goes there.
//! - A form with `data-native`, or a `target` other than this window, is left to the browser.
//! - Back and forward between the entries this module pushed fetch that address again.
//! - `[data-copy]` buttons copy the value of the input in their `.copy-row` to the clipboard.
//!
//! When the answer is not HTML, or the network fails, the form stays as it was, with a message
//! (`role="alert"`) under it in the page's language; nothing is sent twice.

use std::cell::Cell;
use wasm_bindgen::JsCast;
use wasm_bindgen::prelude::*;
use wasm_bindgen_futures::{JsFuture, spawn_local};
use web_sys::{
    Document, DomParser, Element, Event, FormData, HtmlElement, HtmlFormElement, HtmlInputElement, MouseEvent,
    RequestCredentials, RequestInit, Response, SubmitEvent, SupportedType, Url, UrlSearchParams, Window,
};

use crate::{ENHANCED_REQUEST_HEADER as ENHANCED_HEADER, LEAVE_SITE_HEADER as LEAVE_HEADER};

thread_local! {
    /// Counts page swaps, so a refresh timer or an answer that arrives after a newer navigation
    /// started does nothing.
    static GENERATION: Cell<u64> = const { Cell::new(0) };
}

fn window() -> Window {
    web_sys::window().expect("a window")
}

fn document() -> Document {
    window().document().expect("a document")
}

fn next_generation() -> u64 {
    GENERATION.with(|g| {
        g.set(g.get() + 1);
        g.get()
    })
}

fn current_generation() -> u64 {
    GENERATION.with(Cell::get)
}

/// Installs the listeners and marks `<html data-enhanced="true">` (tests wait for it).
pub fn install() {
    let document = document();
    let on_submit = Closure::<dyn Fn(SubmitEvent)>::new(on_submit);
    let on_click = Closure::<dyn Fn(MouseEvent)>::new(on_click);
    let on_popstate = Closure::<dyn Fn(Event)>::new(|_: Event| {
        let href = window().location().href().unwrap_or_default();
        navigate(href, History::Keep);
    });
    let _ = document.add_event_listener_with_callback("submit", on_submit.as_ref().unchecked_ref());
    let _ = document.add_event_listener_with_callback("click", on_click.as_ref().unchecked_ref());
    let _ = window().add_event_listener_with_callback("popstate", on_popstate.as_ref().unchecked_ref());
    // The listeners live as long as the page.
    on_submit.forget();
    on_click.forget();
    on_popstate.forget();
    if let Some(root) = document.document_element() {
        let _ = root.set_attribute("data-enhanced", "true");
    }
}

/// What a swap does to the session history.
#[derive(Clone, Copy, PartialEq, Eq)]
enum History {
    /// A new entry, or the current one replaced when the address is the same (a form that
    /// redirected back to its page).
    Advance,
    /// Left alone (back and forward: the browser has already moved).
    Keep,
}

fn on_submit(event: SubmitEvent) {
    if event.default_prevented() {
        return;
    }
    let Some(form) = event.target().and_then(|t| t.dyn_into::<HtmlFormElement>().ok()) else { return };
    let submitter = event.submitter();
    let attr = |name: &str| {
        submitter.as_ref().and_then(|s| s.get_attribute(&format!("form{name}"))).or_else(|| form.get_attribute(name))
    };
    if form.has_attribute("data-native") || attr("target").is_some_and(|t| !t.is_empty() && t != "_self") {
        return;
    }
    let location = window().location();
    let Ok(here) = location.href() else { return };
    let action = attr("action").filter(|a| !a.is_empty()).unwrap_or_else(|| here.clone());
    let Ok(url) = Url::new_with_base(&action, &here) else { return };
    if url.origin() != location.origin().unwrap_or_default() {
        return;
    }
    event.prevent_default();
    if form.get_attribute("aria-busy").as_deref() == Some("true") {
        return;
    }
    let Ok(fields) = FormData::new_with_form(&form) else { return };
    if let Some(button) = &submitter
        && let Some(name) = button.get_attribute("name").filter(|n| !n.is_empty())
    {
        let _ = fields.append_with_str(&name, &button.get_attribute("value").unwrap_or_default());
    }
    let Ok(params) = UrlSearchParams::new_with_str_sequence_sequence(&fields) else { return };
    let post = attr("method").is_some_and(|m| m.eq_ignore_ascii_case("post"));
    let init = RequestInit::new();
    if post {
        init.set_method("POST");
        init.set_body(&JsValue::from_str(&String::from(params.to_string())));
    } else {
        init.set_method("GET");
        url.set_search(&String::from(params.to_string()));
    }
    // What was typed, to give back to the form if the page that comes back refuses it.
    let typed = field_values(&fields);
    let action_attr = form.get_attribute("action").unwrap_or_default();
    let form_index = same_action_forms(&action_attr).iter().position(|f| f == &form).unwrap_or(0);
    set_busy(&form, submitter.as_ref(), true);
    let generation = next_generation();
    spawn_local(async move {
        let result = fetch_page(&url.href(), &init, post).await;
        if current_generation() != generation {
            return;
        }
        match result {
            Ok(Answer::Page { html, url }) => {
                swap(&html, &url, History::Advance);
                if focus_error() {
                    refill(&action_attr, form_index, &typed);
                }
            }
            Ok(Answer::Leave(url)) => {
                // The form stays busy: the browser is leaving.
                let _ = window().location().assign(&url);
            }
            Err(()) => {
                set_busy(&form, submitter.as_ref(), false);
                show_failure(&form);
            }
        }
    });
}

/// What the server answered a request of this module.
enum Answer {
    /// A page to show, and the address it came from (after redirects).
    Page { html: String, url: String },
    /// An address off the site to go to.
    Leave(String),
}

/// Sends `init` to `url` as a page request; `post` adds the form encoding.
async fn fetch_page(url: &str, init: &RequestInit, post: bool) -> Result<Answer, ()> {
    let headers = web_sys::Headers::new().map_err(drop)?;
    headers.set("accept", "text/html").map_err(drop)?;
    headers.set(ENHANCED_HEADER, "1").map_err(drop)?;
    if post {
        headers.set("content-type", "application/x-www-form-urlencoded").map_err(drop)?;
    }
    init.set_headers(&headers);
    init.set_credentials(RequestCredentials::SameOrigin);
    let response: Response =
        JsFuture::from(window().fetch_with_str_and_init(url, init)).await.map_err(drop)?.dyn_into().map_err(drop)?;
    if let Ok(Some(leave)) = response.headers().get(LEAVE_HEADER) {
        return Ok(Answer::Leave(leave));
    }
    let html = response.headers().get("content-type").ok().flatten().is_some_and(|t| t.contains("text/html"));
    if !html {
        return Err(());
    }
    let text = JsFuture::from(response.text().map_err(drop)?).await.map_err(drop)?;
    Ok(Answer::Page { html: text.as_string().unwrap_or_default(), url: response.url() })
}

/// Fetches `href` as a page and shows it.
fn navigate(href: String, history: History) {
    let generation = next_generation();
    spawn_local(async move {
        let init = RequestInit::new();
        init.set_method("GET");
        let result = fetch_page(&href, &init, false).await;
        if current_generation() != generation {
            return;
        }
        match result {
            Ok(Answer::Page { html, url }) => swap(&html, &url, history),
            // Whatever it was, the browser can load it itself.
            Ok(Answer::Leave(url)) => {
                let _ = window().location().assign(&url);
            }
            Err(()) => {
                let _ = window().location().assign(&href);
            }
        }
    });
}

/// Shows the page `html` that came from `url`.
fn swap(html: &str, url: &str, history: History) {
    let document = document();
    let Ok(parser) = DomParser::new() else { return };
    let Ok(page) = parser.parse_from_string(html, SupportedType::TextHtml) else { return };
    let Some(body) = page.body() else { return };
    let shown = clean_address(url);
    let location = window().location();
    let before = location.href().unwrap_or_default();
    let same_path =
        Url::new(&before).ok().zip(Url::new(&shown).ok()).is_some_and(|(a, b)| a.pathname() == b.pathname());
    if let Ok(state) = window().history() {
        let _ = match history {
            History::Advance if shown != before => state.push_state_with_url(&JsValue::NULL, "", Some(&shown)),
            History::Advance => state.replace_state_with_url(&JsValue::NULL, "", Some(&shown)),
            History::Keep => Ok(()),
        };
    }
    document.set_title(&page.title());
    if let (Some(root), Some(lang)) =
        (document.document_element(), page.document_element().and_then(|e| e.get_attribute("lang")))
    {
        let _ = root.set_attribute("lang", &lang);
    }
    document.set_body(Some(&body));
    if !same_path {
        window().scroll_to_with_x_and_y(0.0, 0.0);
    }
}

/// Moves the focus to the first message of a refused form in the page just swapped in (`.field-error`
/// or `.form-error`, which are `role="alert"`), so keyboard and screen-reader users land on it,
/// as they would on a page that loaded with the error; the browser scrolls it into view. False
/// when the page has no such message.
fn focus_error() -> bool {
    let Ok(Some(message)) = document().query_selector(".field-error, .form-error") else { return false };
    let _ = message.set_attribute("tabindex", "-1");
    if let Ok(message) = message.dyn_into::<HtmlElement>() {
        let _ = message.focus();
    }
    true
}

/// The name/value pairs of a form's text fields (files are not sent by these forms).
fn field_values(fields: &FormData) -> Vec<(String, String)> {
    let mut values = Vec::new();
    let Ok(Some(entries)) = js_sys::try_iter(fields) else { return values };
    for entry in entries.flatten() {
        let pair = js_sys::Array::from(&entry);
        if let (Some(name), Some(value)) = (pair.get(0).as_string(), pair.get(1).as_string()) {
            values.push((name, value));
        }
    }
    values
}

/// The page's forms that post to `action` (a page may repeat a form, one per row).
fn same_action_forms(action: &str) -> Vec<HtmlFormElement> {
    let mut forms = Vec::new();
    let Ok(all) = document().query_selector_all("form") else { return forms };
    for i in 0..all.length() {
        if let Some(form) = all.item(i).and_then(|n| n.dyn_into::<HtmlFormElement>().ok())
            && form.get_attribute("action").unwrap_or_default() == action
        {
            forms.push(form);
        }
    }
    forms
}

/// Gives a refused form back what was typed into it: the page that came back is rendered from
/// the stored data, so without this a plan editor would lose every change when one field was
/// wrong. The form is found by its action and its place among the forms with that action.
/// Passwords and hidden fields keep what the server rendered.
fn refill(action: &str, index: usize, typed: &[(String, String)]) {
    let Some(form) = same_action_forms(action).into_iter().nth(index) else { return };
    let Ok(controls) = form.query_selector_all("input[name], textarea[name], select[name]") else { return };
    let mut used = vec![false; typed.len()];
    for i in 0..controls.length() {
        let Some(node) = controls.item(i) else { continue };
        let Some(control) = node.dyn_ref::<Element>() else { continue };
        let name = control.get_attribute("name").unwrap_or_default();
        if let Some(input) = node.dyn_ref::<HtmlInputElement>() {
            match input.type_().as_str() {
                "password" | "hidden" | "file" | "submit" | "button" | "image" | "reset" => {}
                "checkbox" | "radio" => {
                    input.set_checked(typed.iter().any(|(n, v)| *n == name && *v == input.value()));
                }
                _ => {
                    if let Some(value) = take(typed, &mut used, &name) {
                        input.set_value(&value);
                    }
                }
            }
        } else if let Some(area) = node.dyn_ref::<web_sys::HtmlTextAreaElement>() {
            if let Some(value) = take(typed, &mut used, &name) {
                area.set_value(&value);
            }
        } else if let Some(select) = node.dyn_ref::<web_sys::HtmlSelectElement>()
            && let Some(value) = take(typed, &mut used, &name)
        {
            select.set_value(&value);
        }
    }
}

/// The first value typed for `name` not given back yet (a name may repeat, in order).
fn take(typed: &[(String, String)], used: &mut [bool], name: &str) -> Option<String> {
    let at = typed.iter().enumerate().position(|(i, (n, _))| !used[i] && n == name)?;
    used[at] = true;
    Some(typed[at].1.clone())
}

/// `url` without the parameters a server function's error redirect adds (`__err`, `__path`).
fn clean_address(url: &str) -> String {
    let Ok(parsed) = Url::new(url) else { return url.to_owned() };
    let query = parsed.search_params();
    query.delete("__err");
    query.delete("__path");
    parsed.set_search(&String::from(query.to_string()));
    parsed.href()
}

/// Marks a form and its button busy (or not).
fn set_busy(form: &HtmlFormElement, submitter: Option<&HtmlElement>, busy: bool) {
    if busy {
        let _ = form.set_attribute("aria-busy", "true");
        if let Ok(Some(old)) = form.query_selector("[data-enhance-error]") {
            old.remove();
        }
    } else {
        let _ = form.remove_attribute("aria-busy");
    }
    let Some(button) = submitter else { return };
    if busy {
        let _ = button.set_attribute("data-busy", "true");
        let _ = button.set_attribute("disabled", "");
        // A button may name what it is doing (`data-pending="Saving…"`); its label comes back
        // when the request fails (on success the page is replaced anyway).
        if let Some(pending) = button.get_attribute("data-pending") {
            let _ = button.set_attribute("data-label", &button.text_content().unwrap_or_default());
            button.set_text_content(Some(&pending));
        }
    } else {
        let _ = button.remove_attribute("data-busy");
        let _ = button.remove_attribute("disabled");
        if let Some(label) = button.get_attribute("data-label") {
            button.set_text_content(Some(&label));
            let _ = button.remove_attribute("data-label");
        }
    }
}

/// True when the page is in Russian (`<html lang="ru">`).
fn russian() -> bool {
    document().document_element().and_then(|e| e.get_attribute("lang")).is_some_and(|l| l.starts_with("ru"))
}

/// Says under `form` that its request did not get through.
fn show_failure(form: &HtmlFormElement) {
    let Ok(message) = document().create_element("p") else { return };
    let _ = message.set_attribute("class", "field-error");
    let _ = message.set_attribute("role", "alert");
    let _ = message.set_attribute("data-enhance-error", "");
    message.set_text_content(Some(if russian() {
        "Не удалось связаться с сервером. Проверьте соединение и попробуйте ещё раз."
    } else {
        "The server could not be reached. Check your connection and try again."
    }));
    let _ = form.append_child(&message);
}

fn on_click(event: MouseEvent) {
    let Some(button) =
        event.target().and_then(|t| t.dyn_into::<Element>().ok()).and_then(|e| e.closest("[data-copy]").ok().flatten())
    else {
        return;
    };
    let Some(input) = button
        .closest(".copy-row")
        .ok()
        .flatten()
        .and_then(|row| row.query_selector("input").ok().flatten())
        .and_then(|i| i.dyn_into::<HtmlInputElement>().ok())
    else {
        return;
    };
    input.select();
    let _ = window().navigator().clipboard().write_text(&input.value());
    button.set_text_content(Some(if russian() { "Скопировано" } else { "Copied" }));
}
