-- The consume hot path writes one `billing_usage` row per event (issue 15 §1), so the table keeps
-- only what its readers need.
--
-- No foreign keys on the event log. On PostgreSQL each foreign key of an inserted row runs
-- `select … for key share` on the referenced row; the three of them (user, account,
-- subscription) cost a fifth of a group commit's throughput (measured with wrk -c32 on the
-- bench plan: 6,900 consumes/s with them, 8,600 without). The references hold without them:
-- every insert takes `user_id` and `account_id` from an authenticated principal or a user looked
-- up in the same request (batch ingestion answers 422 for an unknown user), `subscription_id`
-- from the live subscription read for the decision, and users, accounts and subscriptions are
-- never deleted (a subscription ends as `canceled`). SQLite keeps its foreign keys: there a check
-- is an in-process index lookup that takes no row lock, and dropping one means rebuilding the table.
alter table billing_usage drop constraint if exists billing_usage_user_id_fkey;
alter table billing_usage drop constraint if exists billing_usage_account_id_fkey;
alter table billing_usage drop constraint if exists billing_usage_subscription_id_fkey;

-- No query reads usage by user first (member reports group an account's period by user with
-- `billing_usage_account_user_idx`), so this index only cost every insert.
drop index if exists billing_usage_user_metric_idx;
