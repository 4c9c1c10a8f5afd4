-- Tariff initial schema (SQLite dialect). Mirrors migrations/postgres/20261121000001_initial_schema.sql.
-- Money is integer minor units; time is Unix seconds; JSON is stored as text; booleans as 0/1.

create table account (
    id            text primary key,
    kind          text not null check (kind in ('user', 'organization')),
    name          text not null,
    balance_minor integer not null default 0,
    currency      text not null default 'RUB' check (currency in ('RUB', 'USD', 'EUR')),
    created_at    integer not null,
    updated_at    integer not null
);

create table app_user (
    id            text primary key,
    account_id    text not null references account (id),
    email         text not null,
    password_hash text,
    name          text not null,
    role          text not null default 'user' check (role in ('user', 'admin')),
    locale        text not null default 'en' check (locale in ('en', 'ru')),
    created_at    integer not null,
    updated_at    integer not null
);
create unique index app_user_email_key on app_user (lower(email));
create index app_user_account_idx on app_user (account_id);

create table api_token (
    id           text primary key,
    user_id      text not null references app_user (id),
    name         text not null,
    token_hash   text not null,
    scope        text not null check (scope in ('user', 'service', 'admin')),
    last_used_at integer,
    revoked_at   integer,
    created_at   integer not null
);
create unique index api_token_hash_key on api_token (token_hash);
create index api_token_user_idx on api_token (user_id);

create table billing_plan (
    id                  text primary key,
    name                text not null,
    name_ru             text,
    description         text,
    description_ru      text,
    price_minor         integer not null check (price_minor >= 0),
    currency            text not null check (currency in ('RUB', 'USD', 'EUR')),
    "interval"          text not null check ("interval" in ('day', 'week', 'month', 'year')),
    quotas              text,
    features            text not null default '[]',
    is_active           integer not null default 1 check (is_active in (0, 1)),
    display_order       integer not null default 0,
    plan_extra_metadata text,
    trial_days          integer not null default 0 check (trial_days >= 0),
    overage             text,
    created_at          integer not null,
    updated_at          integer not null
);
create index billing_plan_active_order_idx on billing_plan (is_active, display_order);

create table billing_subscription (
    id                       text primary key,
    user_id                  text not null references app_user (id),
    account_id               text not null references account (id),
    plan_id                  text not null references billing_plan (id),
    status                   text not null check (status in ('active', 'trialing', 'past_due', 'canceled', 'paused')),
    yookassa_payment_id      text,
    yookassa_subscription_id text,
    payment_method_id        text,
    current_period_start     integer not null,
    current_period_end       integer not null,
    cancel_at_period_end     integer not null default 0 check (cancel_at_period_end in (0, 1)),
    trial_end                integer,
    canceled_at              integer,
    extra_metadata           text,
    created_at               integer not null,
    updated_at               integer not null
);
create index billing_subscription_user_status_idx on billing_subscription (user_id, status);
create index billing_subscription_account_status_idx on billing_subscription (account_id, status);
create index billing_subscription_plan_status_idx on billing_subscription (plan_id, status);
-- At most one live subscription per account: double subscribing is impossible, not merely unlikely.
create unique index billing_subscription_live_key on billing_subscription (account_id)
    where status in ('active', 'trialing', 'past_due', 'paused');

create table billing_usage (
    id              text primary key,
    user_id         text not null references app_user (id),
    account_id      text not null references account (id),
    subscription_id text references billing_subscription (id),
    metric          text not null check (metric in ('tokens_input', 'tokens_output', 'requests', 'images', 'audio_minutes')),
    amount          integer not null check (amount > 0),
    period_start    integer not null,
    period_end      integer not null,
    model_id        text,
    chat_id         text,
    event_id        text,
    charged_minor   integer not null default 0 check (charged_minor >= 0),
    extra_metadata  text,
    created_at      integer not null
);
create index billing_usage_account_metric_created_idx on billing_usage (account_id, metric, created_at);
create index billing_usage_user_metric_idx on billing_usage (user_id, metric, period_start);
create unique index billing_usage_event_key on billing_usage (account_id, event_id) where event_id is not null;

create table billing_usage_counter (
    account_id   text not null references account (id),
    metric       text not null,
    period_start integer not null,
    period_end   integer not null,
    used         integer not null default 0 check (used >= 0),
    updated_at   integer not null,
    primary key (account_id, metric, period_start)
);

create table billing_transaction (
    id                    text primary key,
    user_id               text not null references app_user (id),
    account_id            text not null references account (id),
    subscription_id       text references billing_subscription (id),
    plan_id               text references billing_plan (id),
    parent_transaction_id text references billing_transaction (id),
    kind                  text not null check (kind in ('subscription', 'renewal', 'topup', 'refund')),
    amount                integer not null check (amount >= 0),
    refunded_minor        integer not null default 0 check (refunded_minor >= 0),
    currency              text not null check (currency in ('RUB', 'USD', 'EUR')),
    status                text not null check (status in ('pending', 'waiting_for_capture', 'succeeded', 'failed', 'canceled', 'refunded')),
    yookassa_payment_id   text,
    yookassa_refund_id    text,
    yookassa_status       text,
    idempotence_key       text not null,
    payment_method_id     text,
    cancellation_reason   text,
    description           text,
    description_ru        text,
    receipt_url           text,
    extra_metadata        text,
    created_at            integer not null,
    updated_at            integer not null
);
create index billing_transaction_user_idx on billing_transaction (user_id);
create index billing_transaction_account_created_idx on billing_transaction (account_id, created_at);
create index billing_transaction_status_idx on billing_transaction (status, created_at);
create unique index billing_transaction_idempotence_key on billing_transaction (idempotence_key);
create unique index billing_transaction_payment_key on billing_transaction (yookassa_payment_id)
    where yookassa_payment_id is not null and kind <> 'refund';
create unique index billing_transaction_refund_key on billing_transaction (yookassa_refund_id)
    where yookassa_refund_id is not null;

create table billing_feature (
    id               text primary key,
    name             text not null,
    metric           text check (metric is null or metric in ('tokens_input', 'tokens_output', 'requests', 'images', 'audio_minutes')),
    unit_price_minor integer not null default 0 check (unit_price_minor >= 0),
    currency         text not null default 'RUB' check (currency in ('RUB', 'USD', 'EUR')),
    access           text not null check (access in ('included', 'premium', 'exclusive')),
    description      text,
    created_at       integer not null,
    updated_at       integer not null
);
create unique index billing_feature_name_key on billing_feature (name);

create table billing_balance_entry (
    id          text primary key,
    account_id  text not null references account (id),
    delta_minor integer not null,
    currency    text not null check (currency in ('RUB', 'USD', 'EUR')),
    reason      text not null,
    reference   text,
    created_at  integer not null
);
create index billing_balance_entry_account_idx on billing_balance_entry (account_id, created_at);
create unique index billing_balance_entry_reference_key on billing_balance_entry (reason, reference)
    where reference is not null;

create table billing_webhook_event (
    id            text primary key,
    provider      text not null,
    event         text not null,
    object_id     text not null,
    object_status text not null,
    source_ip     text,
    body          text not null,
    status        text not null default 'pending' check (status in ('pending', 'processing', 'processed', 'failed', 'ignored')),
    deliveries    integer not null default 1,
    attempts      integer not null default 0,
    last_error    text,
    outcome       text,
    received_at   integer not null,
    processed_at  integer
);
create unique index billing_webhook_event_object_key on billing_webhook_event (provider, event, object_id, object_status);
create index billing_webhook_event_status_idx on billing_webhook_event (status, received_at);

create table billing_audit_log (
    id             text primary key,
    user_id        text not null,
    action         text not null,
    entity_type    text not null,
    entity_id      text not null,
    description    text,
    changes        text,
    audit_metadata text,
    created_at     integer not null
);
create index idx_audit_user on billing_audit_log (user_id);
create index idx_audit_entity on billing_audit_log (entity_type, entity_id);
create index idx_audit_created on billing_audit_log (created_at);
create index idx_audit_action on billing_audit_log (action);
