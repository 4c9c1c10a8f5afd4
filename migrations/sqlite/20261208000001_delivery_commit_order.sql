-- Deliveries in a stable order per account (issue 16). On PostgreSQL an event's id is taken
-- before its transaction commits, so a later event could commit, and be delivered, first. Each
-- delivery keeps the id of the transaction that wrote it (`txid`); the worker orders an
-- account's deliveries by (txid, event id) and takes one only once every transaction with a
-- smaller id has ended, so nothing can appear later ahead of it. SQLite has one writer, whose
-- transactions commit in the order their events were made: the column stays null there.
alter table billing_webhook_delivery add column txid bigint;
