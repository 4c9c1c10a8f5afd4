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
//!   came back refused the form (its address has `__err`), the focus moves to its message and the
//!   form gets back what was typed into it (the server renders it from the stored data);
//!   otherwise the focus goes to `<main>`.
//! - While the request is in flight the form has `aria-busy="true"` and the button that sent it is
//!   disabled and marked `data-busy` (the stylesheet draws a spinner), so a second click sends
//!   nothing; a button with `data-pending` shows that text as its label meanwhile.
//! - A redirect that leaves the site (the payment page) comes as `200` with
//!   [`crate::LEAVE_SITE_HEADER`] (see `crate::server::web::leave_site`): the browser goes there.
//! - A form with `data-native`, or a `target` other than this window, is left to the browser.
//! - Back and forward fetch the page of the address again (not when only the fragment changed).
//! - A page restored from the back/forward cache (Back from the payment page) gets its forms back
//!   from their busy state.
//! - Only one form's request is in flight at a time; its answer is always shown.
//! - A page with another stylesheet than this one (a new version of the site) is loaded by the
//!   browser instead of swapped in.
//! - `[data-copy]` buttons copy the value of the input in their `.copy-row` to the clipboard.
//!
//! When the network fails, the form stays as it was, with a message (`role="alert"`) under it in
//! the page's language; when the server refused it without a page (the Origin check, a body too
//! large), the message is the server's reason. A non-page answer that is not a refusal reloads
//! the page, so it shows where things stand. The request is never sent again by itself.

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
    /// Counts navigations (back and forward, form posts), so the answer to one that a newer one
    /// overtook is not shown.
    static GENERATION: Cell<u64> = const { Cell::new(0) };
    /// True while a form's request is in flight: one at a time, so a second form cannot
    /// overtake it (its answer may be a secret shown once, or a payment page).
    static IN_FLIGHT: Cell<bool> = const { Cell::new(false) };
    /// The address of the page shown, without its fragment: a `popstate` that only changes the
    /// fragment (an in-page link such as "Skip to content") needs no new page.
    static SHOWN: std::cell::RefCell<String> = const { std::cell::RefCell::new(String::new()) };
}

/// `href` without its fragment.
fn without_fragment(href: &str) -> String {
    href.split('#').next().unwrap_or_default().to_owned()
}

fn set_shown(href: &str) {
    SHOWN.with(|s| *s.borrow_mut() = without_fragment(href));
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
        if SHOWN.with(|s| *s.borrow() == without_fragment(&href)) || IN_FLIGHT.with(Cell::get) {
            // Only the fragment changed; or a form's answer is coming, which will be shown.
            return;
        }
        navigate(href, History::Keep);
    });
    // A page the browser restores from its back/forward cache (Back from the payment page) comes
    // back as it was left: with the form that sent the browser away still busy.
    let on_pageshow = Closure::<dyn Fn(web_sys::PageTransitionEvent)>::new(|event: web_sys::PageTransitionEvent| {
        if event.persisted() {
            IN_FLIGHT.with(|f| f.set(false));
            if let Ok(busy) = self::document().query_selector_all("form[aria-busy], [data-busy]") {
                for i in 0..busy.length() {
                    if let Some(element) = busy.item(i).and_then(|n| n.dyn_into::<HtmlElement>().ok()) {
                        set_busy_element(&element, false);
                    }
                }
            }
        }
    });
    let _ = document.add_event_listener_with_callback("submit", on_submit.as_ref().unchecked_ref());
    let _ = document.add_event_listener_with_callback("click", on_click.as_ref().unchecked_ref());
    let _ = window().add_event_listener_with_callback("popstate", on_popstate.as_ref().unchecked_ref());
    let _ = window().add_event_listener_with_callback("pageshow", on_pageshow.as_ref().unchecked_ref());
    // The listeners live as long as the page.
    on_submit.forget();
    on_click.forget();
    on_popstate.forget();
    on_pageshow.forget();
    set_shown(&window().location().href().unwrap_or_default());
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
    if IN_FLIGHT.with(Cell::get) {
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
    let key = FormKey::of(&form);
    set_busy(&form, submitter.as_ref(), true);
    IN_FLIGHT.with(|f| f.set(true));
    // Whatever else was on its way (back or forward) is overtaken by this answer.
    next_generation();
    spawn_local(async move {
        let result = fetch_page(&url.href(), &init, post).await;
        IN_FLIGHT.with(|f| f.set(false));
        match result {
            Ok(Answer::Page { html, url }) => {
                // A refused form comes back to its page with the server function's error in the
                // address (`__err`); the message is then next to the field.
                let refused = Url::new(&url).is_ok_and(|u| u.search_params().has("__err"));
                if swap(&html, &url, History::Advance) {
                    if refused {
                        focus_error();
                        refill(&key, &typed);
                    } else {
                        focus_main();
                    }
                }
            }
            Ok(Answer::Leave(url)) => {
                if url.starts_with("https://") || url.starts_with("http://") {
                    // The form stays busy: the browser is leaving (see `pageshow` for Back).
                    let _ = window().location().assign(&url);
                } else {
                    set_busy(&form, submitter.as_ref(), false);
                    show_message(&form, None);
                }
            }
            Ok(Answer::Refused { status, text }) => {
                set_busy(&form, submitter.as_ref(), false);
                if status >= 400 {
                    show_message(&form, Some(&text));
                } else {
                    // Not a page, yet accepted (a server function answered as to a script):
                    // the page as it now stands is the truth.
                    let _ = window().location().reload();
                }
            }
            Err(()) => {
                set_busy(&form, submitter.as_ref(), false);
                show_message(&form, None);
            }
        }
    });
}

/// Which form of the page a form is, to find it again in the page that comes back: its
/// `data-form` (every form of the pages has one) or else its action, and its place among the
/// forms with the same.
struct FormKey {
    attribute: &'static str,
    value: String,
    index: usize,
}

impl FormKey {
    fn of(form: &HtmlFormElement) -> FormKey {
        let (attribute, value) = match form.get_attribute("data-form") {
            Some(name) => ("data-form", name),
            None => ("action", form.get_attribute("action").unwrap_or_default()),
        };
        let mut key = FormKey { attribute, value, index: 0 };
        key.index = key.forms().iter().position(|f| f == form).unwrap_or(0);
        key
    }

    /// The page's forms with this key's attribute value, in document order.
    fn forms(&self) -> Vec<HtmlFormElement> {
        let mut forms = Vec::new();
        let Ok(all) = document().query_selector_all("form") else { return forms };
        for i in 0..all.length() {
            if let Some(form) = all.item(i).and_then(|n| n.dyn_into::<HtmlFormElement>().ok())
                && form.get_attribute(self.attribute).as_deref() == Some(self.value.as_str())
            {
                forms.push(form);
            }
        }
        forms
    }
}

/// What the server answered a request of this module.
enum Answer {
    /// A page to show, and the address it came from (after redirects).
    Page { html: String, url: String },
    /// An address off the site to go to.
    Leave(String),
    /// Something other than a page: its status and its text (a refusal's reason, such as the
    /// Origin check's).
    Refused { status: u16, text: String },
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
    let text = JsFuture::from(response.text().map_err(drop)?).await.map_err(drop)?.as_string().unwrap_or_default();
    if html {
        Ok(Answer::Page { html: text, url: response.url() })
    } else {
        Ok(Answer::Refused { status: response.status(), text })
    }
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
            Ok(Answer::Page { html, url }) => {
                swap(&html, &url, history);
            }
            // Whatever it was, the browser can load it itself.
            Ok(Answer::Leave(_) | Answer::Refused { .. }) | Err(()) => {
                let _ = window().location().assign(&href);
            }
        }
    });
}

/// Shows the page `html` that came from `url`: true when it replaced this page's body, false
/// when the browser loads it instead (the page has another stylesheet: a new version of the
/// site was deployed, whose markup this page's stylesheet and bundle may not know).
fn swap(html: &str, url: &str, history: History) -> bool {
    let document = document();
    let Ok(parser) = DomParser::new() else { return false };
    let Ok(page) = parser.parse_from_string(html, SupportedType::TextHtml) else { return false };
    let Some(body) = page.body() else { return false };
    let shown = clean_address(url);
    let stylesheet = |d: &Document| {
        d.query_selector("link[rel=\"stylesheet\"]").ok().flatten().and_then(|l| l.get_attribute("href"))
    };
    if stylesheet(&page) != stylesheet(&document) {
        let _ = window().location().assign(&shown);
        return false;
    }
    let location = window().location();
    let before = location.href().unwrap_or_default();
    let same_path =
        Url::new(&before).ok().zip(Url::new(&shown).ok()).is_some_and(|(a, b)| a.pathname() == b.pathname());
    if let Ok(state) = window().history() {
        let _ = match history {
            History::Advance if shown != before => state.push_state_with_url(&JsValue::NULL, "", Some(&shown)),
            // Back or forward to an address the server redirected (a page that now needs a
            // sign-in, say): the address says what is shown.
            History::Advance | History::Keep if shown != without_fragment(&before) => {
                state.replace_state_with_url(&JsValue::NULL, "", Some(&shown))
            }
            History::Advance | History::Keep => Ok(()),
        };
    }
    set_shown(&shown);
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
    true
}

/// After a form's page came back accepted: the focus goes to `<main>` (without scrolling), as
/// on a page the browser loaded, instead of being lost with the body it was in.
fn focus_main() {
    let Ok(Some(main)) = document().query_selector("main") else { return };
    let _ = main.set_attribute("tabindex", "-1");
    if let Ok(main) = main.dyn_into::<HtmlElement>() {
        let options = web_sys::FocusOptions::new();
        options.set_prevent_scroll(true);
        let _ = main.focus_with_options(&options);
    }
}

/// Moves the focus to the first message of a refused form in the page just swapped in (`.field-error`
/// or `.form-error`, which are `role="alert"`), so keyboard and screen-reader users land on it,
/// as they would on a page that loaded with the error; the browser scrolls it into view.
fn focus_error() {
    let Ok(Some(message)) = document().query_selector(".field-error, .form-error") else { return };
    let _ = message.set_attribute("tabindex", "-1");
    if let Ok(message) = message.dyn_into::<HtmlElement>() {
        let _ = message.focus();
    }
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

/// Gives a refused form back what was typed into it: the page that came back is rendered from
/// the stored data, so without this a plan editor would lose every change when one field was
/// wrong. The form is found by its [`FormKey`]. Passwords, hidden fields and disabled controls
/// keep what the server rendered.
fn refill(key: &FormKey, typed: &[(String, String)]) {
    let Some(form) = key.forms().into_iter().nth(key.index) else { return };
    let Ok(controls) = form.query_selector_all("input[name], textarea[name], select[name]") else { return };
    let mut used = vec![false; typed.len()];
    for i in 0..controls.length() {
        let Some(node) = controls.item(i) else { continue };
        let Some(control) = node.dyn_ref::<Element>() else { continue };
        if control.has_attribute("disabled") {
            continue;
        }
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
    if let Some(button) = submitter {
        set_busy_element(button, busy);
    }
}

/// Marks a button busy: disabled, `data-busy` (the stylesheet's spinner) and its `data-pending`
/// label, if it has one; or gives it back its label and clears all that. A form given here is
/// only cleared of `aria-busy`.
fn set_busy_element(element: &HtmlElement, busy: bool) {
    if element.dyn_ref::<HtmlFormElement>().is_some() {
        let _ = element.remove_attribute("aria-busy");
        return;
    }
    if busy {
        let _ = element.set_attribute("data-busy", "true");
        let _ = element.set_attribute("disabled", "");
        // A button may name what it is doing (`data-pending="Saving…"`); its label comes back
        // when the request fails (on success the page is replaced anyway).
        if let Some(pending) = element.get_attribute("data-pending") {
            let _ = element.set_attribute("data-label", &element.text_content().unwrap_or_default());
            element.set_text_content(Some(&pending));
        }
    } else {
        let _ = element.remove_attribute("data-busy");
        let _ = element.remove_attribute("disabled");
        if let Some(label) = element.get_attribute("data-label") {
            element.set_text_content(Some(&label));
            let _ = element.remove_attribute("data-label");
        }
    }
}

/// True when the page is in Russian (`<html lang="ru">`).
fn russian() -> bool {
    document().document_element().and_then(|e| e.get_attribute("lang")).is_some_and(|l| l.starts_with("ru"))
}

/// Says under `form` that its request did not get through, or, with `reason`, the server's
/// reason for refusing it (a short text, such as the Origin check's).
fn show_message(form: &HtmlFormElement, reason: Option<&str>) {
    let Ok(message) = document().create_element("p") else { return };
    let _ = message.set_attribute("class", "field-error");
    let _ = message.set_attribute("role", "alert");
    let _ = message.set_attribute("data-enhance-error", "");
    let reason = reason.map(str::trim).filter(|r| !r.is_empty() && r.len() <= 300 && !r.starts_with('<'));
    let text = match (reason, russian()) {
        (Some(reason), _) => reason,
        (None, true) => "Не удалось связаться с сервером. Проверьте соединение и попробуйте ещё раз.",
        (None, false) => "The server could not be reached. Check your connection and try again.",
    };
    message.set_text_content(Some(text));
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
    let written = window().navigator().clipboard().write_text(&input.value());
    // "Copied" only once the clipboard took it (it needs a secure context); the text stays
    // selected either way, for Ctrl+C.
    spawn_local(async move {
        if JsFuture::from(written).await.is_ok() {
            button.set_text_content(Some(if russian() { "Скопировано" } else { "Copied" }));
        }
    });
}
