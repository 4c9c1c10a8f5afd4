-- The consume hot path writes one `billing_usage` row per event (issue 15 §1). No query reads
-- usage by user first (member reports group an account's period by user with
-- `billing_usage_account_user_idx`), so this index only cost every insert. (PostgreSQL also drops
-- the event log's foreign keys here; see its migration of the same name.)
drop index if exists billing_usage_user_metric_idx;
