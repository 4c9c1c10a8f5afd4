//! Organisations in the portal (issue 13): the invitations and organisations card on `/billing`,
//! the organisation page `/org/{id}` (plan, shared balance, members with roles and caps,
//! invitations, usage by member as a bar chart) and the top bar's account switcher. Every form
//! works as a plain HTML post without JavaScript.

use super::{PortalNav, loading};
use crate::actions::orgs::{
    AcceptInvitation, CreateOrganization, DeclineInvitation, InviteMember, RemoveMember, RevokeInvitation,
    SetMemberCaps, SetMemberRole, SwitchAccount, get_org_page, get_orgs_overview,
};
use crate::model::Metric;
use crate::model::org::{Invitation, Member, OrgRole, OrganizationSummary};
use crate::model::portal::{AccountOption, OrgPage, OrgsOverview};
use crate::ui::format;
use crate::ui::i18n::{Locale, t, use_locale};
use crate::ui::widgets::{Bar, ErrorPanel, action_message, bar_chart, field_message, metric_label, page_title};
use leptos::prelude::*;
use leptos_router::hooks::use_params_map;

/// A role in the viewer's language.
pub fn role_label(role: OrgRole, locale: Locale) -> &'static str {
    match role {
        OrgRole::Owner => t(locale, "Owner", "Владелец"),
        OrgRole::Admin => t(locale, "Admin", "Администратор"),
        OrgRole::Member => t(locale, "Member", "Участник"),
    }
}

/// The account switcher of the top bar: personal account and organisations, the billed one
/// selected. Shown when the viewer belongs to an organisation.
pub fn account_switcher(accounts: Vec<AccountOption>, current: String, locale: Locale) -> impl IntoView {
    let switch = ServerAction::<SwitchAccount>::new();
    (accounts.len() > 1).then(|| {
        view! {
            <ActionForm action=switch attr:class="account-switcher" attr:data-form="switch-account">
                <label for="account-switch" class="visually-hidden">{t(locale, "Billing account", "Счёт для оплаты")}</label>
                <select id="account-switch" name="account_id" data-testid="account-switch">
                    {accounts
                        .into_iter()
                        .map(|a| {
                            let label = match a.role {
                                None => format!("{} · {}", a.name, t(locale, "personal", "личный")),
                                Some(_) => a.name.clone(),
                            };
                            let selected = a.account_id == current;
                            view! { <option value=a.account_id selected=selected>{label}</option> }
                        })
                        .collect_view()}
                </select>
                <button type="submit" class="button small">{t(locale, "Switch", "Сменить")}</button>
            </ActionForm>
        }
    })
}

/// The organisation parts of `/billing`: invitations waiting for the viewer (shown first, they
/// ask for an answer) and the viewer's organisations with a form to create one (after the
/// plan). One resource feeds both.
#[derive(Clone, Copy)]
pub struct OrgsOnBilling {
    data: Resource<Result<OrgsOverview, crate::actions::UiError>>,
    accept: ServerAction<AcceptInvitation>,
    decline: ServerAction<DeclineInvitation>,
    create: ServerAction<CreateOrganization>,
}

impl OrgsOnBilling {
    pub fn new() -> OrgsOnBilling {
        let accept = ServerAction::<AcceptInvitation>::new();
        let decline = ServerAction::<DeclineInvitation>::new();
        let create = ServerAction::<CreateOrganization>::new();
        let data = Resource::new(
            move || (accept.version().get(), decline.version().get(), create.version().get()),
            |_| get_orgs_overview(),
        );
        OrgsOnBilling { data, accept, decline, create }
    }

    /// The invitations card (nothing without invitations).
    pub fn invitations(self) -> impl IntoView {
        let locale = use_locale();
        let OrgsOnBilling { data, accept, decline, .. } = self;
        view! {
            <Transition fallback=|| ()>
                {move || Suspend::new(async move {
                    let locale = locale.get();
                    data.await.ok().filter(|o| !o.invitations.is_empty()).map(|overview| view! {
                        <section class="card notice-ok" data-card="invitations">
                            <h2>{t(locale, "Invitations", "Приглашения")}</h2>
                            <ul class="plain-list">
                                {overview.invitations.into_iter().map(|i| invitation_row(i, locale, accept, decline)).collect_view()}
                            </ul>
                            {action_message(accept.value(), &[])}
                            {action_message(decline.value(), &[])}
                        </section>
                    })
                })}
            </Transition>
        }
    }

    /// The organisations card with the create form.
    pub fn organizations(self) -> impl IntoView {
        let locale = use_locale();
        let OrgsOnBilling { data, create, .. } = self;
        view! {
            <Transition fallback=|| ()>
                {move || Suspend::new(async move {
                    let locale = locale.get();
                    match data.await {
                        Ok(overview) => orgs_card(overview.organizations, locale, create).into_any(),
                        Err(error) => view! { <ErrorPanel error/> }.into_any(),
                    }
                })}
            </Transition>
        }
    }
}

impl Default for OrgsOnBilling {
    fn default() -> Self {
        Self::new()
    }
}

fn orgs_card(
    organizations: Vec<OrganizationSummary>,
    locale: Locale,
    create: ServerAction<CreateOrganization>,
) -> impl IntoView {
    let list = if organizations.is_empty() {
        view! {
            <p class="muted">{t(locale, "Share one plan, quota and balance with your team.", "Общий тариф, лимиты и баланс для всей команды.")}</p>
        }
        .into_any()
    } else {
        view! {
            <ul class="plain-list" data-list="organizations">
                {organizations.into_iter().map(|o| org_row(o, locale)).collect_view()}
            </ul>
        }
        .into_any()
    };
    view! {
        <section class="card" data-card="organizations">
            <h2>{t(locale, "Organisations", "Организации")}</h2>
            {list}
            <ActionForm action=create attr:class="row-form" attr:data-form="create-org">
                <label for="org-name" class="visually-hidden">{t(locale, "Organisation name", "Название организации")}</label>
                <input id="org-name" type="text" name="name" maxlength="100" required placeholder=t(locale, "Organisation name", "Название организации")/>
                <button type="submit" class="button">{t(locale, "Create organisation", "Создать организацию")}</button>
            </ActionForm>
            {field_message(create.value(), "name")}
            {action_message(create.value(), &["name"])}
        </section>
    }
}

fn invitation_row(
    i: Invitation,
    locale: Locale,
    accept: ServerAction<AcceptInvitation>,
    decline: ServerAction<DeclineInvitation>,
) -> impl IntoView {
    let text = format!(
        "{} {} {} · {} {}",
        i.organization_name,
        t(locale, "invites you as", "приглашает вас как"),
        role_label(i.role, locale).to_lowercase(),
        t(locale, "until", "до"),
        format::date(i.expires_at, locale)
    );
    let (row_id, accept_id, decline_id) = (i.id.clone(), i.id.clone(), i.id);
    let by = format!(" · {}", i.invited_by);
    view! {
        <li class="row-between" data-invitation=row_id>
            <span>{text}<span class="muted small">{by}</span></span>
            <span class="actions">
                <ActionForm action=accept attr:class="inline-form">
                    <input type="hidden" name="id" value=accept_id/>
                    <button type="submit" class="button primary small">{t(locale, "Accept", "Принять")}</button>
                </ActionForm>
                <ActionForm action=decline attr:class="inline-form">
                    <input type="hidden" name="id" value=decline_id/>
                    <button type="submit" class="button small">{t(locale, "Decline", "Отклонить")}</button>
                </ActionForm>
            </span>
        </li>
    }
}

fn org_row(o: OrganizationSummary, locale: Locale) -> impl IntoView {
    let role = o.role.map(|r| role_label(r, locale)).unwrap_or_default();
    let members = format!("{} {}", o.members, t(locale, "members", "участн."));
    let plan = o.plan_name.clone().unwrap_or_else(|| t(locale, "no plan", "без тарифа").to_owned());
    view! {
        <li class="row-between" data-org=o.id.clone()>
            <a href=format!("/org/{}", o.id)><strong>{o.name.clone()}</strong></a>
            <span class="muted">{format!("{role} · {plan} · {members} · {}", format::money_micros(o.balance_micros, o.currency, locale))}</span>
        </li>
    }
}

/// This period's usage by member: requests as a bar chart, and a table of each member's metrics,
/// features and spending (the organisation page and the admin's).
pub fn usage_by_member_card(usage: crate::model::org::OrganizationUsage, locale: Locale) -> AnyView {
    let bars: Vec<Bar> = usage
        .members
        .iter()
        .map(|m| {
            let requests = m.usage.get(Metric::Requests.as_str()).copied().unwrap_or(0);
            let label = m.name.clone();
            Bar {
                title: format!(
                    "{}: {} {}",
                    m.email,
                    format::number(requests, locale),
                    format::metric_name(Metric::Requests, locale)
                ),
                label,
                value: requests,
            }
        })
        .collect();
    let caption = format!(
        "{} · {} – {}",
        t(locale, "Requests by member this period", "Запросы участников за период"),
        format::date(usage.period_start, locale),
        format::date(usage.period_end, locale)
    );
    let rows = usage
            .members
            .iter()
            .map(|m| {
                let metrics = m
                    .usage
                    .iter()
                    .filter_map(|(name, units)| name.parse::<Metric>().ok().map(|metric| format!("{}: {}", metric_label(metric, locale), format::number(*units, locale))))
                    .chain(m.features.iter().map(|(name, units)| format!("{name}: {}", format::number(*units, locale))))
                    .collect::<Vec<_>>()
                    .join(" · ");
                let role = m.role.map(|r| role_label(r, locale)).unwrap_or(t(locale, "Former member", "Бывший участник"));
                view! {
                    <tr data-member-usage=m.user_id.clone()>
                        <td data-label=t(locale, "Member", "Участник")>{m.email.clone()}<span class="muted small">{format!(" · {role}")}</span></td>
                        <td data-label=t(locale, "Usage", "Использование")>{if metrics.is_empty() { "—".to_owned() } else { metrics }}</td>
                        <td data-label=t(locale, "Spent", "Потрачено") class="num">{format::money_micros(m.spent_micros, usage.currency, locale)}</td>
                    </tr>
                }
            })
            .collect_view();
    view! {
        <section class="card" data-card="usage-by-member">
            <h2>{t(locale, "Usage by member", "Использование по участникам")}</h2>
            {bar_chart(bars, caption, None, locale)}
            <table class="table stack" data-table="usage-by-member">
                <thead><tr>
                    <th scope="col">{t(locale, "Member", "Участник")}</th>
                    <th scope="col">{t(locale, "Usage", "Использование")}</th>
                    <th scope="col" class="num">{t(locale, "Spent", "Потрачено")}</th>
                </tr></thead>
                <tbody>{rows}</tbody>
            </table>
        </section>
    }
    .into_any()
}

/// `/org/{id}`: the organisation as a member sees it.
#[component]
pub fn OrgPage() -> impl IntoView {
    let locale = use_locale();
    let params = use_params_map();
    let id = Memo::new(move |_| params.read().get("id").unwrap_or_default());
    let actions = OrgActions {
        invite: ServerAction::new(),
        revoke: ServerAction::new(),
        role: ServerAction::new(),
        caps: ServerAction::new(),
        remove: ServerAction::new(),
        switch: ServerAction::new(),
    };
    let data = Resource::new(
        move || {
            (
                id.get(),
                actions.invite.version().get(),
                actions.revoke.version().get(),
                actions.role.version().get(),
                actions.caps.version().get(),
                actions.remove.version().get(),
            )
        },
        |(id, ..)| get_org_page(id),
    );
    view! {
        {page_title(move || t(locale.get(), "Organisation", "Организация").to_owned())}
        <PortalNav/>
        <Transition fallback=loading>
            {move || Suspend::new(async move {
                let locale = locale.get();
                match data.await {
                    Ok(page) => org_view(page, locale, actions).into_any(),
                    Err(error) => view! { <ErrorPanel error/> }.into_any(),
                }
            })}
        </Transition>
    }
}

/// The actions of the organisation page.
#[derive(Clone, Copy)]
struct OrgActions {
    invite: ServerAction<InviteMember>,
    revoke: ServerAction<RevokeInvitation>,
    role: ServerAction<SetMemberRole>,
    caps: ServerAction<SetMemberCaps>,
    remove: ServerAction<RemoveMember>,
    switch: ServerAction<SwitchAccount>,
}

fn org_view(page: OrgPage, locale: Locale, actions: OrgActions) -> impl IntoView {
    let org = page.organization;
    let manages = org.role.is_some_and(OrgRole::manages);
    let is_owner = org.role == Some(OrgRole::Owner);
    let plan = org.plan_name.clone().unwrap_or_else(|| t(locale, "No plan", "Без тарифа").to_owned());
    let org_id = org.id.clone();
    let switch_target = org.id.clone();
    let billing = if page.billing_here {
        view! { <p class="badge badge-plan" data-testid="billing-here">{t(locale, "You bill to this organisation", "Вы платите со счёта этой организации")}</p> }.into_any()
    } else {
        view! {
            <ActionForm action=actions.switch attr:class="inline-form" attr:data-form="bill-here">
                <input type="hidden" name="account_id" value=switch_target/>
                <button type="submit" class="button primary">{t(locale, "Bill my usage to this organisation", "Платить со счёта этой организации")}</button>
            </ActionForm>
        }
        .into_any()
    };
    let pay_hint = manages.then(|| {
        view! {
            <p class="muted small">{t(locale, "Plan and top-ups are paid from the Plans and Balance pages while you bill to this organisation.", "Тариф и пополнения оплачиваются на страницах «Тарифы» и «Баланс», пока вы платите со счёта организации.")}</p>
        }
    });
    let usage = page.usage.map(|usage| usage_by_member_card(usage, locale));
    let members = org
        .members
        .iter()
        .map(|m| member_row(m, &org_id, &page.viewer_id, manages, is_owner, locale, actions))
        .collect::<Vec<_>>();
    let invitations = manages.then(|| invitations_card(&org.invitations, &org_id, is_owner, locale, actions));
    view! {
        <p><a href="/billing">{t(locale, "← Billing", "← Оплата")}</a></p>
        <h1 class="page-title" data-testid="org-name">{org.name.clone()}</h1>
        <p class="muted">{org.role.map(|r| role_label(r, locale)).unwrap_or_default()}</p>
        <div class="grid-2">
            <section class="card" data-card="org-plan">
                <p class="muted">{t(locale, "Shared plan", "Общий тариф")}</p>
                <p class="big-figure" data-testid="org-plan">{plan}</p>
                {billing}
                {pay_hint}
            </section>
            <section class="card" data-card="org-balance">
                <p class="muted">{t(locale, "Shared balance", "Общий баланс")}</p>
                <p class="big-figure" data-testid="org-balance">{format::money_micros(org.balance_micros, org.currency, locale)}</p>
            </section>
        </div>
        {action_message(actions.switch.value(), &[])}
        {usage}
        <section class="card" data-card="members">
            <h2>{t(locale, "Members", "Участники")}</h2>
            <table class="table stack" data-table="members">
                <thead><tr>
                    <th scope="col">{t(locale, "Member", "Участник")}</th>
                    <th scope="col">{t(locale, "Role", "Роль")}</th>
                    <th scope="col">{t(locale, "Own limits per period", "Личные лимиты за период")}</th>
                    <th scope="col"></th>
                </tr></thead>
                <tbody>{members}</tbody>
            </table>
            {action_message(actions.role.value(), &[])}
            {action_message(actions.remove.value(), &[])}
            {action_message(actions.caps.value(), &[])}
        </section>
        {invitations}
    }
}

fn caps_text(m: &Member, currency_locale: Locale) -> String {
    let mut parts: Vec<String> = m
        .caps
        .metrics
        .iter()
        .filter_map(|(name, units)| {
            name.parse::<Metric>().ok().map(|metric| {
                format!("{}: {}", metric_label(metric, currency_locale), format::number(*units, currency_locale))
            })
        })
        .collect();
    if let Some(spend) = m.caps.spend_micros {
        parts.push(format!(
            "{}: {}",
            t(currency_locale, "Spending", "Расходы"),
            format::money_micros(spend, crate::model::Currency::Rub, currency_locale)
        ));
    }
    if parts.is_empty() { "—".to_owned() } else { parts.join(" · ") }
}

#[allow(clippy::too_many_arguments)]
fn member_row(
    m: &Member,
    org_id: &str,
    viewer_id: &str,
    manages: bool,
    is_owner: bool,
    locale: Locale,
    actions: OrgActions,
) -> AnyView {
    let me = m.user_id == viewer_id;
    let may_touch = manages && (is_owner || m.role != OrgRole::Owner);
    let (org, user) = (org_id.to_owned(), m.user_id.clone());
    let role_cell = if may_touch {
        let (org, user, current) = (org.clone(), user.clone(), m.role);
        let select_id = format!("role-{user}");
        let roles: Vec<OrgRole> = if is_owner { OrgRole::ALL.to_vec() } else { vec![OrgRole::Admin, OrgRole::Member] };
        view! {
            <ActionForm action=actions.role attr:class="inline-form" attr:data-form="role">
                <input type="hidden" name="org_id" value=org/>
                <input type="hidden" name="user_id" value=user/>
                <label class="visually-hidden" for=select_id.clone()>{t(locale, "Role", "Роль")}</label>
                <select id=select_id name="role">
                    {roles.into_iter().map(|r| view! { <option value=r.as_str() selected=r == current>{role_label(r, locale)}</option> }).collect_view()}
                </select>
                <button type="submit" class="button small">{t(locale, "Save", "Сохранить")}</button>
            </ActionForm>
        }
        .into_any()
    } else {
        view! { <span>{role_label(m.role, locale)}</span> }.into_any()
    };
    let caps_form = may_touch.then(|| {
        let (org, user) = (org.clone(), user.clone());
        let value = |name: &str| m.caps.metrics.get(name).map(|v| v.to_string()).unwrap_or_default();
        let spend = m.caps.spend_micros.map(|s| tariff_model::money::yookassa_amount(tariff_model::balance::minor_from_micros(s))).unwrap_or_default();
        let inputs = Metric::ALL
            .iter()
            .map(|metric| {
                let name = format!("caps[{}]", metric.as_str());
                let current = value(metric.as_str());
                view! {
                    <label>{metric_label(*metric, locale)}
                        <input type="text" inputmode="numeric" name=name value=current placeholder="—"/>
                    </label>
                }
                .into_any()
            })
            .collect::<Vec<_>>();
        view! {
            <details class="caps-editor">
                <summary>{t(locale, "Edit limits", "Изменить лимиты")}</summary>
                <ActionForm action=actions.caps attr:class="form" attr:data-form="caps">
                    <input type="hidden" name="org_id" value=org/>
                    <input type="hidden" name="user_id" value=user/>
                    {inputs}
                    <label>{t(locale, "Spending from the balance", "Расходы с баланса")}
                        <input type="text" inputmode="decimal" name="caps[spend]" value=spend placeholder="—"/>
                    </label>
                    <p class="muted small">{t(locale, "Empty: no limit beyond the organisation's own.", "Пусто — без лимита сверх общего.")}</p>
                    <button type="submit" class="button small primary">{t(locale, "Save limits", "Сохранить лимиты")}</button>
                </ActionForm>
            </details>
        }
    });
    let remove = (me || may_touch).then(|| {
        let (org, user) = (org.clone(), user.clone());
        let label = if me { t(locale, "Leave", "Выйти") } else { t(locale, "Remove", "Удалить") };
        view! {
            <ActionForm action=actions.remove attr:class="inline-form" attr:data-form="remove">
                <input type="hidden" name="org_id" value=org/>
                <input type="hidden" name="user_id" value=user/>
                <button type="submit" class="button small danger">{label}</button>
            </ActionForm>
        }
    });
    let who = if m.name == m.email {
        view! { <span>{m.email.clone()}</span> }.into_any()
    } else {
        view! { <span>{m.name.clone()}<br/><span class="muted small">{m.email.clone()}</span></span> }.into_any()
    };
    view! {
        <tr data-member=m.user_id.clone()>
            <td data-label=t(locale, "Member", "Участник")>{who}</td>
            <td data-label=t(locale, "Role", "Роль")>{role_cell}</td>
            <td data-label=t(locale, "Own limits per period", "Личные лимиты за период")>{caps_text(m, locale)}{caps_form}</td>
            <td>{remove}</td>
        </tr>
    }
    .into_any()
}

fn invitations_card(
    invitations: &[Invitation],
    org_id: &str,
    is_owner: bool,
    locale: Locale,
    actions: OrgActions,
) -> AnyView {
    let roles: Vec<OrgRole> = if is_owner { OrgRole::ALL.to_vec() } else { vec![OrgRole::Admin, OrgRole::Member] };
    let pending = if invitations.is_empty() {
        view! { <p class="muted">{t(locale, "No pending invitations.", "Нет ожидающих приглашений.")}</p> }.into_any()
    } else {
        view! {
            <ul class="plain-list" data-list="pending-invitations">
                {invitations
                    .iter()
                    .map(|i| {
                        let text = format!("{} · {} · {} {}", i.email, role_label(i.role, locale), t(locale, "until", "до"), format::date(i.expires_at, locale));
                        let (org, row_id, invitation_id) = (org_id.to_owned(), i.id.clone(), i.id.clone());
                        view! {
                            <li class="row-between" data-invitation=row_id>
                                <span>{text}</span>
                                <ActionForm action=actions.revoke attr:class="inline-form">
                                    <input type="hidden" name="org_id" value=org/>
                                    <input type="hidden" name="invitation_id" value=invitation_id/>
                                    <button type="submit" class="button small">{t(locale, "Revoke", "Отозвать")}</button>
                                </ActionForm>
                            </li>
                        }
                        .into_any()
                    })
                    .collect::<Vec<_>>()}
            </ul>
        }
        .into_any()
    };
    let org = org_id.to_owned();
    view! {
        <section class="card" data-card="invitations">
            <h2>{t(locale, "Invite", "Пригласить")}</h2>
            <ActionForm action=actions.invite attr:class="row-form" attr:data-form="invite">
                <input type="hidden" name="org_id" value=org/>
                <label for="invite-email" class="visually-hidden">{t(locale, "Email", "Почта")}</label>
                <input id="invite-email" type="email" name="email" required placeholder="colleague@example.ru"/>
                <label for="invite-role" class="visually-hidden">{t(locale, "Role", "Роль")}</label>
                <select id="invite-role" name="role">
                    {roles.into_iter().map(|r| view! { <option value=r.as_str() selected=r == OrgRole::Member>{role_label(r, locale)}</option> }).collect_view()}
                </select>
                <button type="submit" class="button primary">{t(locale, "Send invitation", "Пригласить")}</button>
            </ActionForm>
            {field_message(actions.invite.value(), "email")}
            {action_message(actions.invite.value(), &["email"])}
            <h3>{t(locale, "Pending", "Ожидают ответа")}</h3>
            {pending}
            {action_message(actions.revoke.value(), &[])}
        </section>
    }
    .into_any()
}
