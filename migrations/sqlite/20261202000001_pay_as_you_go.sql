-- Pay-as-you-go (seed 004, issue 12). Balances and ledger deltas are exact fixed-point amounts in
-- micro-minor units (millionths of a kopeck or cent), so usage priced below a kopeck per unit is
-- debited exactly and nothing is rounded away per event.
alter table account drop column balance_minor;
alter table account add column balance_micros bigint not null default 0 check (balance_micros >= 0);
-- Usage that already happened but the balance could not cover (batches): settled by the next top-up first.
alter table account add column owed_micros bigint not null default 0 check (owed_micros >= 0);
-- Below this balance (minor units) `low` is reported; null: the server's default.
alter table account add column low_balance_minor bigint check (low_balance_minor is null or low_balance_minor >= 0);

-- The append-only ledger; an account's balance_micros is the sum of its deltas.
drop table billing_balance_entry;
create table billing_balance_entry (
    id                   text primary key,
    account_id           text not null references account (id),
    delta_micros         bigint not null,
    balance_after_micros bigint not null check (balance_after_micros >= 0),
    currency             text not null check (currency in ('RUB', 'USD', 'EUR')),
    reason               text not null check (reason in ('topup', 'charge', 'refund', 'adjustment', 'reversal')),
    reference            text,
    actor                text,
    description          text,
    created_at           bigint not null
);
create index billing_balance_entry_account_idx on billing_balance_entry (account_id, created_at);
-- One entry per reason and reference: a redelivered top-up or a repeated charge moves money once.
create unique index billing_balance_entry_reference_key on billing_balance_entry (account_id, reason, reference)
    where reference is not null;

-- Seed 004's FeatureConfig: a priced feature. unit_price_minor per per_units units.
drop table billing_feature;
create table billing_feature (
    name             text primary key,
    title            text not null,
    title_ru         text,
    description      text,
    description_ru   text,
    unit_price_minor bigint not null check (unit_price_minor >= 0),
    per_units        bigint not null default 1 check (per_units > 0),
    currency         text not null default 'RUB' check (currency in ('RUB', 'USD', 'EUR')),
    access           text not null check (access in ('included', 'premium', 'exclusive')),
    is_active        integer not null default 1 check (is_active in (0, 1)),
    created_at       bigint not null,
    updated_at       bigint not null
);

-- Plans: units of each feature included per period, and the discount on pay-as-you-go prices.
alter table billing_plan add column feature_limits text;
alter table billing_plan add column discount_percent bigint not null default 0 check (discount_percent between 0 and 100);

-- Seed 004's UsageLog: one row per charge of a feature, with how it was covered.
create table billing_charge (
    id                   text primary key,
    account_id           text not null references account (id),
    user_id              text not null references app_user (id),
    feature              text not null,
    units                bigint not null check (units > 0),
    from_included        bigint not null check (from_included >= 0),
    charged_units        bigint not null check (charged_units >= 0),
    charged_micros       bigint not null check (charged_micros >= 0),
    currency             text not null check (currency in ('RUB', 'USD', 'EUR')),
    balance_after_micros bigint not null,
    period_start         bigint not null,
    event_id             text,
    extra_metadata       text,
    created_at           bigint not null
);
create index billing_charge_account_idx on billing_charge (account_id, created_at);
create unique index billing_charge_event_key on billing_charge (account_id, event_id) where event_id is not null;

-- Usage beyond a quota paid from the balance (pay-as-you-go overage): exact, micro-minor units.
alter table billing_usage rename column charged_minor to charged_micros;
