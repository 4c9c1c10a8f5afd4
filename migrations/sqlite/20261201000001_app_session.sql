-- Web sessions in the billing database and pool (replaces tower-sessions-sqlx-store's
-- web_session table, which needed a second pool). data: the session record as JSON text;
-- expires_at: Unix seconds.
create table app_session (
    id         text primary key,
    data       text not null,
    expires_at bigint not null
);
create index app_session_expires_at_idx on app_session (expires_at);
drop table if exists web_session;
