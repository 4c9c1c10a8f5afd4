//! `/admin/features`: the priced features of pay-as-you-go (seed 004's FeatureConfig) with
//! their price per block of units and access level; a form to add one and an editor per row.

use super::admin_page;
use crate::actions::admin::{SaveFeature, get_admin_features};
use crate::model::{Access, Currency, Feature};
use crate::ui::format;
use crate::ui::i18n::{Locale, t, use_locale};
use crate::ui::widgets::{action_message, field_message, page_title};
use leptos::prelude::*;

/// An access level in words.
pub fn access_label(access: Access, locale: Locale) -> &'static str {
    match access {
        Access::Included => t(locale, "Every plan", "Все тарифы"),
        Access::Premium => t(locale, "Paid plans", "Платные тарифы"),
        Access::Exclusive => t(locale, "Plans that list it", "Только указанные тарифы"),
    }
}

#[component]
pub fn AdminFeaturesPage() -> impl IntoView {
    let locale = use_locale();
    let save = ServerAction::<SaveFeature>::new();
    let data = Resource::new(move || save.version().get(), |_| get_admin_features());
    view! {
        {page_title(move || t(locale.get(), "Features", "Функции").to_owned())}
        {admin_page(data, move |features, locale| features_view(features, locale, save))}
    }
}

fn features_view(features: Vec<Feature>, locale: Locale, save: ServerAction<SaveFeature>) -> impl IntoView {
    let rows = features
        .into_iter()
        .map(|f| {
            let price = format!(
                "{} / {} {}",
                format::money(f.unit_price_minor, f.currency, locale),
                format::number(f.per_units, locale),
                t(locale, "units", "ед.")
            );
            let state = if f.is_active { t(locale, "active", "активна") } else { t(locale, "inactive", "выключена") };
            let editor = feature_form(Some(f.clone()), locale, save);
            view! {
                <tr data-feature=f.name.clone()>
                    <td data-label=t(locale, "Name", "Имя")><code>{f.name.clone()}</code></td>
                    <td data-label=t(locale, "Title", "Название")>{match locale { Locale::Ru => f.title_ru.clone().unwrap_or(f.title.clone()), Locale::En => f.title.clone() }}</td>
                    <td data-label=t(locale, "Price", "Цена") class="num">{price}</td>
                    <td data-label=t(locale, "Access", "Доступ")>{access_label(f.access, locale)}</td>
                    <td data-label=t(locale, "State", "Состояние")>{state}</td>
                    <td><details class="confirm compact"><summary>{t(locale, "Edit", "Изменить")}</summary>{editor}</details></td>
                </tr>
            }
        })
        .collect_view();
    view! {
        <h1 class="page-title">{t(locale, "Features", "Функции")}</h1>
        <p class="lead">{t(locale, "Priced per block of units; plans include units with feature_limits and give discount_percent off.", "Цена за блок единиц; тарифы включают единицы (feature_limits) и дают скидку (discount_percent).")}</p>
        {action_message(save.value(), &["name", "title", "unit_price", "per_units", "currency", "access"])}
        <section class="card">
            <table class="table stack" data-table="features">
                <thead>
                    <tr>
                        <th scope="col">{t(locale, "Name", "Имя")}</th>
                        <th scope="col">{t(locale, "Title", "Название")}</th>
                        <th scope="col" class="num">{t(locale, "Price", "Цена")}</th>
                        <th scope="col">{t(locale, "Access", "Доступ")}</th>
                        <th scope="col">{t(locale, "State", "Состояние")}</th>
                        <th scope="col"></th>
                    </tr>
                </thead>
                <tbody>{rows}</tbody>
            </table>
        </section>
        <section class="card" data-card="new-feature">
            <h2>{t(locale, "Add a feature", "Добавить функцию")}</h2>
            {feature_form(None, locale, save)}
        </section>
    }
}

/// The editor of `feature`, or the form for a new one.
fn feature_form(feature: Option<Feature>, locale: Locale, save: ServerAction<SaveFeature>) -> impl IntoView {
    let create = feature.is_none();
    let prefix = feature.as_ref().map_or_else(|| "new".to_owned(), |f| f.name.clone());
    let id = move |field: &str| format!("feature-{prefix}-{field}");
    let name = feature.as_ref().map(|f| f.name.clone()).unwrap_or_default();
    let title = feature.as_ref().map(|f| f.title.clone()).unwrap_or_default();
    let title_ru = feature.as_ref().and_then(|f| f.title_ru.clone()).unwrap_or_default();
    let price = feature.as_ref().map(|f| tariff_model::money::yookassa_amount(f.unit_price_minor)).unwrap_or_default();
    let per_units = feature.as_ref().map_or("1".to_owned(), |f| f.per_units.to_string());
    let currency = feature.as_ref().map_or(Currency::Rub, |f| f.currency);
    let access = feature.as_ref().map_or(Access::Included, |f| f.access);
    let active = feature.as_ref().is_none_or(|f| f.is_active);
    let (name_id, title_id, title_ru_id, price_id, per_units_id, currency_id, access_id) =
        (id("name"), id("title"), id("title_ru"), id("unit_price"), id("per_units"), id("currency"), id("access"));
    let form_name = if create { "feature-new" } else { "feature-edit" };
    view! {
        <ActionForm action=save attr:class="form" attr:data-form=form_name>
            <input type="hidden" name="create" value=create.to_string()/>
            <label for=name_id.clone()>{t(locale, "Name (stable id)", "Имя (идентификатор)")}</label>
            <input id=name_id name="fields[name]" value=name readonly=!create required placeholder="gpt-4o"/>
            {create.then(|| field_message(save.value(), "name"))}
            <label for=title_id.clone()>{t(locale, "Title", "Название")}</label>
            <input id=title_id name="fields[title]" value=title required/>
            <label for=title_ru_id.clone()>{t(locale, "Title in Russian", "Название по-русски")}</label>
            <input id=title_ru_id name="fields[title_ru]" value=title_ru/>
            <label for=price_id.clone()>{t(locale, "Price of one block", "Цена блока")}</label>
            <input id=price_id name="fields[unit_price]" inputmode="decimal" value=price required placeholder="0.15"/>
            <label for=per_units_id.clone()>{t(locale, "Units per block", "Единиц в блоке")}</label>
            <input id=per_units_id name="fields[per_units]" inputmode="numeric" value=per_units/>
            <label for=currency_id.clone()>{t(locale, "Currency", "Валюта")}</label>
            <select id=currency_id name="fields[currency]">
                {Currency::ALL.into_iter().map(|c| view! { <option value=c.code() selected=c == currency>{c.code()}</option> }).collect_view()}
            </select>
            <label for=access_id.clone()>{t(locale, "Access", "Доступ")}</label>
            <select id=access_id name="fields[access]">
                {Access::ALL.into_iter().map(|a| view! { <option value=a.as_str() selected=a == access>{access_label(a, locale)}</option> }).collect_view()}
            </select>
            <label class="check"><input type="checkbox" name="fields[is_active]" value="on" checked=active/> {t(locale, "Active", "Активна")}</label>
            <button type="submit" class="button primary">{if create { t(locale, "Add feature", "Добавить") } else { t(locale, "Save", "Сохранить") }}</button>
        </ActionForm>
    }
}
