-- Foundation: what the two database roles need before any table exists.
--
-- waqtor_owner owns the schema and runs migrations; waqtor_app is the server's role: it owns
-- nothing and cannot bypass row-level security. Every table and sequence the owner creates in
-- `public` from now on is usable (not alterable) by the app role.

ALTER DEFAULT PRIVILEGES FOR ROLE waqtor_owner IN SCHEMA public
    GRANT SELECT, INSERT, UPDATE, DELETE ON TABLES TO waqtor_app;

ALTER DEFAULT PRIVILEGES FOR ROLE waqtor_owner IN SCHEMA public
    GRANT USAGE, SELECT ON SEQUENCES TO waqtor_app;

-- Case-insensitive text (e-mail addresses, slugs). citext is a trusted extension since
-- PostgreSQL 13, so the database owner may create it without superuser rights.
CREATE EXTENSION IF NOT EXISTS citext WITH SCHEMA public;
