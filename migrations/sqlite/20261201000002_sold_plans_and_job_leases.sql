-- What a checkout or renewal sold: the plan as it was when the payer chose it (JSON), applied
-- when the payment succeeds, whatever the plan became since.
alter table billing_transaction add column plan_snapshot text;
-- Which period a renewal charge pays and which attempt of it this is: one renewal transaction per
-- subscription, period and attempt, however many processes run the renewal job.
alter table billing_transaction add column renewal_period_end bigint;
alter table billing_transaction add column renewal_attempt bigint;
create unique index billing_transaction_renewal_key
    on billing_transaction (subscription_id, renewal_period_end, renewal_attempt)
    where kind = 'renewal' and renewal_period_end is not null;
-- Leases of the background jobs: one process at a time runs them (expires_at: Unix seconds).
create table job_lease (
    name       text primary key,
    holder     text not null,
    expires_at bigint not null
);
