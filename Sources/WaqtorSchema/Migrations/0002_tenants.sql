-- Tenants: accounts, sessions, API keys, plans, upgrade requests, usage; row-level security.
--
-- Every tenant-owned table (tenants itself, by id; every other table, by tenant_id) has ENABLE and
-- FORCE ROW LEVEL SECURITY and one policy: a row is visible and writable only when it belongs to
-- the tenant of the current transaction (`set_config('app.tenant_id', …, true)`), or when the
-- current user is waqtor_owner (migrations, and the SECURITY DEFINER functions below, which are
-- owned by waqtor_owner; the application role can never become it).
-- See docs/TENANCY.md.

-- The transaction's tenant, or NULL when the setting is missing, empty or not a UUID (then no
-- row matches; nothing raises an error).
CREATE FUNCTION app_current_tenant() RETURNS uuid
    LANGUAGE sql STABLE PARALLEL SAFE
    AS $$
        SELECT CASE
            WHEN s ~ '^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$' THEN s::uuid
        END
        FROM (SELECT current_setting('app.tenant_id', true) AS s) AS setting
    $$;

CREATE TABLE plans (
    id                    text PRIMARY KEY,
    name                  text NOT NULL,
    rank                  integer NOT NULL UNIQUE,
    max_instances         integer NOT NULL CHECK (max_instances >= 0),
    max_contacts          integer NOT NULL CHECK (max_contacts >= 0),
    max_messages_per_day  integer NOT NULL CHECK (max_messages_per_day >= 0),
    max_ai_drafts_per_day integer NOT NULL CHECK (max_ai_drafts_per_day >= 0)
);

INSERT INTO plans (id, name, rank, max_instances, max_contacts, max_messages_per_day, max_ai_drafts_per_day) VALUES
    ('free',     'Free',     0,  1,    500,    200,   20),
    ('starter',  'Starter',  1,  2,   5000,   2000,  200),
    ('pro',      'Pro',      2,  5,  50000,  20000, 2000),
    ('business', 'Business', 3, 20, 500000, 200000, 20000);

CREATE TABLE tenants (
    id            uuid PRIMARY KEY DEFAULT gen_random_uuid(),
    name          text NOT NULL,
    email         citext NOT NULL UNIQUE,
    password_hash text NOT NULL,
    time_zone     text NOT NULL DEFAULT 'UTC',
    plan_id       text NOT NULL DEFAULT 'free' REFERENCES plans (id),
    status        text NOT NULL DEFAULT 'active' CHECK (status IN ('active', 'suspended')),
    is_admin      boolean NOT NULL DEFAULT false,
    created_at    timestamptz NOT NULL DEFAULT now(),
    updated_at    timestamptz NOT NULL DEFAULT now()
);

CREATE TABLE sessions (
    id          uuid PRIMARY KEY DEFAULT gen_random_uuid(),
    tenant_id   uuid NOT NULL REFERENCES tenants (id) ON DELETE CASCADE,
    token_hash  bytea NOT NULL UNIQUE,
    expires_at  timestamptz NOT NULL,
    created_at  timestamptz NOT NULL DEFAULT now(),
    revoked_at  timestamptz
);
CREATE INDEX sessions_tenant_idx ON sessions (tenant_id);

CREATE TABLE api_keys (
    id           uuid PRIMARY KEY DEFAULT gen_random_uuid(),
    tenant_id    uuid NOT NULL REFERENCES tenants (id) ON DELETE CASCADE,
    name         text NOT NULL,
    scope        text NOT NULL CHECK (scope IN ('full', 'send_only', 'read_only')),
    key_prefix   text NOT NULL,
    key_hash     bytea NOT NULL UNIQUE,
    created_at   timestamptz NOT NULL DEFAULT now(),
    last_used_at timestamptz,
    revoked_at   timestamptz
);
CREATE INDEX api_keys_tenant_idx ON api_keys (tenant_id);

CREATE TABLE upgrade_requests (
    id             uuid PRIMARY KEY DEFAULT gen_random_uuid(),
    tenant_id      uuid NOT NULL REFERENCES tenants (id) ON DELETE CASCADE,
    requested_plan text NOT NULL REFERENCES plans (id),
    reason         text NOT NULL DEFAULT '',
    state          text NOT NULL DEFAULT 'pending' CHECK (state IN ('pending', 'granted', 'rejected')),
    decided_by     uuid REFERENCES tenants (id) ON DELETE SET NULL,
    decided_at     timestamptz,
    decision_note  text,
    created_at     timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX upgrade_requests_tenant_idx ON upgrade_requests (tenant_id);
-- At most one pending request per tenant.
CREATE UNIQUE INDEX upgrade_requests_one_pending_idx ON upgrade_requests (tenant_id) WHERE state = 'pending';
CREATE INDEX upgrade_requests_state_idx ON upgrade_requests (state, created_at);
CREATE INDEX upgrade_requests_decided_by_idx ON upgrade_requests (decided_by);

CREATE TABLE plan_changes (
    id         uuid PRIMARY KEY DEFAULT gen_random_uuid(),
    tenant_id  uuid NOT NULL REFERENCES tenants (id) ON DELETE CASCADE,
    from_plan  text NOT NULL REFERENCES plans (id),
    to_plan    text NOT NULL REFERENCES plans (id),
    changed_by uuid REFERENCES tenants (id) ON DELETE SET NULL,
    reason     text NOT NULL DEFAULT '',
    changed_at timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX plan_changes_tenant_idx ON plan_changes (tenant_id);
CREATE INDEX plan_changes_changed_by_idx ON plan_changes (changed_by);

CREATE TABLE usage_daily (
    tenant_id     uuid NOT NULL REFERENCES tenants (id) ON DELETE CASCADE,
    day           date NOT NULL,
    messages_sent integer NOT NULL DEFAULT 0 CHECK (messages_sent >= 0),
    ai_drafts     integer NOT NULL DEFAULT 0 CHECK (ai_drafts >= 0),
    PRIMARY KEY (tenant_id, day)
);

-- Row-level security: one policy per tenant-owned table.
ALTER TABLE tenants ENABLE ROW LEVEL SECURITY;
ALTER TABLE tenants FORCE ROW LEVEL SECURITY;
CREATE POLICY tenant_isolation ON tenants
    USING (id = app_current_tenant() OR current_user = 'waqtor_owner')
    WITH CHECK (id = app_current_tenant() OR current_user = 'waqtor_owner');

ALTER TABLE sessions ENABLE ROW LEVEL SECURITY;
ALTER TABLE sessions FORCE ROW LEVEL SECURITY;
CREATE POLICY tenant_isolation ON sessions
    USING (tenant_id = app_current_tenant() OR current_user = 'waqtor_owner')
    WITH CHECK (tenant_id = app_current_tenant() OR current_user = 'waqtor_owner');

ALTER TABLE api_keys ENABLE ROW LEVEL SECURITY;
ALTER TABLE api_keys FORCE ROW LEVEL SECURITY;
CREATE POLICY tenant_isolation ON api_keys
    USING (tenant_id = app_current_tenant() OR current_user = 'waqtor_owner')
    WITH CHECK (tenant_id = app_current_tenant() OR current_user = 'waqtor_owner');

ALTER TABLE upgrade_requests ENABLE ROW LEVEL SECURITY;
ALTER TABLE upgrade_requests FORCE ROW LEVEL SECURITY;
CREATE POLICY tenant_isolation ON upgrade_requests
    USING (tenant_id = app_current_tenant() OR current_user = 'waqtor_owner')
    WITH CHECK (tenant_id = app_current_tenant() OR current_user = 'waqtor_owner');

ALTER TABLE plan_changes ENABLE ROW LEVEL SECURITY;
ALTER TABLE plan_changes FORCE ROW LEVEL SECURITY;
CREATE POLICY tenant_isolation ON plan_changes
    USING (tenant_id = app_current_tenant() OR current_user = 'waqtor_owner')
    WITH CHECK (tenant_id = app_current_tenant() OR current_user = 'waqtor_owner');

ALTER TABLE usage_daily ENABLE ROW LEVEL SECURITY;
ALTER TABLE usage_daily FORCE ROW LEVEL SECURITY;
CREATE POLICY tenant_isolation ON usage_daily
    USING (tenant_id = app_current_tenant() OR current_user = 'waqtor_owner')
    WITH CHECK (tenant_id = app_current_tenant() OR current_user = 'waqtor_owner');

-- Privileges of the application role, explicit (not only the default privileges of 0001): a
-- tenant may not raise its own plan, status or administrator flag, decide its own upgrade
-- request, or write plans or the plan history. Those go through the administrator functions.
REVOKE ALL ON plans, tenants, sessions, api_keys, upgrade_requests, plan_changes, usage_daily FROM waqtor_app;
GRANT SELECT ON plans TO waqtor_app;
GRANT SELECT, DELETE ON tenants TO waqtor_app;
GRANT INSERT (id, name, email, password_hash, time_zone) ON tenants TO waqtor_app;
GRANT UPDATE (name, time_zone, password_hash, updated_at) ON tenants TO waqtor_app;
GRANT SELECT, INSERT, UPDATE, DELETE ON sessions, api_keys, usage_daily TO waqtor_app;
GRANT SELECT, DELETE ON upgrade_requests, plan_changes TO waqtor_app;
GRANT INSERT (tenant_id, requested_plan, reason) ON upgrade_requests TO waqtor_app;

-- ---------------------------------------------------------------------------------------------
-- SECURITY DEFINER functions: the only ways across tenants. Owned by waqtor_owner (the migration
-- runs as it), fixed search_path, EXECUTE for waqtor_app only.

-- Raises insufficient_privilege unless the transaction's tenant is an active administrator.
CREATE FUNCTION admin_require() RETURNS uuid
    LANGUAGE plpgsql STABLE SECURITY DEFINER SET search_path = public, pg_temp
    AS $$
    DECLARE
        admin uuid := app_current_tenant();
    BEGIN
        IF admin IS NULL OR NOT EXISTS (
            SELECT 1 FROM tenants t WHERE t.id = admin AND t.is_admin AND t.status = 'active'
        ) THEN
            RAISE EXCEPTION 'administrator required' USING ERRCODE = 'insufficient_privilege';
        END IF;
        RETURN admin;
    END
    $$;

-- Login: the account behind an e-mail address (case-insensitive), before any tenant is known.
CREATE FUNCTION auth_find_login(p_email text)
    RETURNS TABLE (tenant_id uuid, password_hash text, status text, is_admin boolean)
    LANGUAGE plpgsql STABLE SECURITY DEFINER SET search_path = public, pg_temp
    AS $$
    BEGIN
        RETURN QUERY SELECT t.id, t.password_hash, t.status, t.is_admin
            FROM tenants t WHERE t.email = p_email::citext;
    END
    $$;

-- Authentication: a session token's hash to its tenant; expired and revoked sessions give no row.
CREATE FUNCTION auth_resolve_session(p_token_hash bytea)
    RETURNS TABLE (session_id uuid, tenant_id uuid, expires_at timestamptz, status text, is_admin boolean)
    LANGUAGE plpgsql STABLE SECURITY DEFINER SET search_path = public, pg_temp
    AS $$
    BEGIN
        RETURN QUERY SELECT s.id, s.tenant_id, s.expires_at, t.status, t.is_admin
            FROM sessions s JOIN tenants t ON t.id = s.tenant_id
            WHERE s.token_hash = p_token_hash AND s.revoked_at IS NULL AND s.expires_at > now();
    END
    $$;

-- Authentication: an API key's hash to its tenant and scope; revoked keys give no row. Marks the
-- key used (at most once a minute, to spare writes).
CREATE FUNCTION auth_resolve_api_key(p_key_hash bytea)
    RETURNS TABLE (key_id uuid, tenant_id uuid, scope text, status text)
    LANGUAGE plpgsql VOLATILE SECURITY DEFINER SET search_path = public, pg_temp
    AS $$
    BEGIN
        UPDATE api_keys k SET last_used_at = now()
            WHERE k.key_hash = p_key_hash AND k.revoked_at IS NULL
              AND (k.last_used_at IS NULL OR k.last_used_at < now() - interval '1 minute');
        RETURN QUERY SELECT k.id, k.tenant_id, k.scope, t.status
            FROM api_keys k JOIN tenants t ON t.id = k.tenant_id
            WHERE k.key_hash = p_key_hash AND k.revoked_at IS NULL;
    END
    $$;

-- Administrator: one page of tenants, optionally filtered by a search over name and e-mail.
CREATE FUNCTION admin_list_tenants(p_search text, p_status text, p_plan text, p_limit integer, p_offset integer)
    RETURNS TABLE (id uuid, name text, email text, plan_id text, status text, is_admin boolean,
                   created_at timestamptz, total bigint)
    LANGUAGE plpgsql STABLE SECURITY DEFINER SET search_path = public, pg_temp
    AS $$
    DECLARE
        pattern text := '%' || replace(replace(replace(coalesce(p_search, ''), '\', '\\'), '%', '\%'), '_', '\_') || '%';
    BEGIN
        PERFORM admin_require();
        RETURN QUERY SELECT t.id, t.name, t.email::text, t.plan_id, t.status, t.is_admin, t.created_at,
                            count(*) OVER ()
            FROM tenants t
            WHERE (coalesce(p_search, '') = '' OR t.name ILIKE pattern OR t.email::text ILIKE pattern)
              AND (coalesce(p_status, '') = '' OR t.status = p_status)
              AND (coalesce(p_plan, '') = '' OR t.plan_id = p_plan)
            ORDER BY t.created_at, t.id
            LIMIT greatest(least(coalesce(p_limit, 50), 500), 1) OFFSET greatest(coalesce(p_offset, 0), 0);
    END
    $$;

-- Administrator: sets a tenant's plan and records who, when and why. FALSE if no such tenant.
CREATE FUNCTION admin_set_plan(p_tenant uuid, p_plan text, p_reason text) RETURNS boolean
    LANGUAGE plpgsql VOLATILE SECURITY DEFINER SET search_path = public, pg_temp
    AS $$
    DECLARE
        admin uuid := admin_require();
        old_plan text;
    BEGIN
        SELECT t.plan_id INTO old_plan FROM tenants t WHERE t.id = p_tenant FOR UPDATE;
        IF NOT FOUND THEN RETURN false; END IF;
        IF NOT EXISTS (SELECT 1 FROM plans p WHERE p.id = p_plan) THEN
            RAISE EXCEPTION 'unknown plan' USING ERRCODE = 'invalid_parameter_value';
        END IF;
        UPDATE tenants SET plan_id = p_plan, updated_at = now() WHERE id = p_tenant;
        INSERT INTO plan_changes (tenant_id, from_plan, to_plan, changed_by, reason)
            VALUES (p_tenant, old_plan, p_plan, admin, coalesce(p_reason, ''));
        RETURN true;
    END
    $$;

-- Administrator: suspends ('suspended') or reactivates ('active') a tenant. FALSE if no such
-- tenant. Suspending also revokes its sessions.
CREATE FUNCTION admin_set_status(p_tenant uuid, p_status text) RETURNS boolean
    LANGUAGE plpgsql VOLATILE SECURITY DEFINER SET search_path = public, pg_temp
    AS $$
    BEGIN
        PERFORM admin_require();
        IF p_status NOT IN ('active', 'suspended') THEN
            RAISE EXCEPTION 'unknown status' USING ERRCODE = 'invalid_parameter_value';
        END IF;
        UPDATE tenants SET status = p_status, updated_at = now() WHERE id = p_tenant;
        IF NOT FOUND THEN RETURN false; END IF;
        -- Sessions and keys stay: while suspended they are refused with PERMISSION_DENIED (the
        -- status is read at every call), and they work again after a reactivation.
        RETURN true;
    END
    $$;

-- Administrator: one page of upgrade requests (all tenants), optionally of one state.
CREATE FUNCTION admin_list_upgrade_requests(p_state text, p_tenant uuid, p_limit integer, p_offset integer)
    RETURNS TABLE (id uuid, tenant_id uuid, tenant_email text, current_plan text, requested_plan text,
                   reason text, state text, decided_by uuid, decided_at timestamptz, decision_note text,
                   created_at timestamptz, total bigint)
    LANGUAGE plpgsql STABLE SECURITY DEFINER SET search_path = public, pg_temp
    AS $$
    BEGIN
        PERFORM admin_require();
        RETURN QUERY SELECT r.id, r.tenant_id, t.email::text, t.plan_id, r.requested_plan, r.reason, r.state,
                            r.decided_by, r.decided_at, r.decision_note, r.created_at, count(*) OVER ()
            FROM upgrade_requests r JOIN tenants t ON t.id = r.tenant_id
            WHERE (coalesce(p_state, '') = '' OR r.state = p_state)
              AND (p_tenant IS NULL OR r.tenant_id = p_tenant)
            ORDER BY r.created_at, r.id
            LIMIT greatest(least(coalesce(p_limit, 50), 500), 1) OFFSET greatest(coalesce(p_offset, 0), 0);
    END
    $$;

-- Administrator: grants or rejects a pending upgrade request; granting sets the plan (recorded
-- in plan_changes). Returns the new state, 'missing' if no such request, or the existing state
-- if it was already decided.
CREATE FUNCTION admin_decide_upgrade_request(p_request uuid, p_grant boolean, p_note text) RETURNS text
    LANGUAGE plpgsql VOLATILE SECURITY DEFINER SET search_path = public, pg_temp
    AS $$
    DECLARE
        admin uuid := admin_require();
        req_tenant uuid;
        req_plan text;
        req_state text;
        new_state text := CASE WHEN p_grant THEN 'granted' ELSE 'rejected' END;
    BEGIN
        SELECT r.tenant_id, r.requested_plan, r.state INTO req_tenant, req_plan, req_state
            FROM upgrade_requests r WHERE r.id = p_request FOR UPDATE;
        IF NOT FOUND THEN RETURN 'missing'; END IF;
        -- Decided before: say so, with the state it has (the caller must not report a new decision).
        IF req_state <> 'pending' THEN RETURN 'already:' || req_state; END IF;
        UPDATE upgrade_requests
            SET state = new_state, decided_by = admin, decided_at = now(), decision_note = p_note
            WHERE id = p_request;
        IF p_grant THEN
            PERFORM admin_set_plan(req_tenant, req_plan,
                                   coalesce(nullif(p_note, ''), 'upgrade request granted'));
        END IF;
        RETURN new_state;
    END
    $$;

REVOKE ALL ON FUNCTION admin_require() FROM PUBLIC;
REVOKE ALL ON FUNCTION auth_find_login(text) FROM PUBLIC;
REVOKE ALL ON FUNCTION auth_resolve_session(bytea) FROM PUBLIC;
REVOKE ALL ON FUNCTION auth_resolve_api_key(bytea) FROM PUBLIC;
REVOKE ALL ON FUNCTION admin_list_tenants(text, text, text, integer, integer) FROM PUBLIC;
REVOKE ALL ON FUNCTION admin_set_plan(uuid, text, text) FROM PUBLIC;
REVOKE ALL ON FUNCTION admin_set_status(uuid, text) FROM PUBLIC;
REVOKE ALL ON FUNCTION admin_list_upgrade_requests(text, uuid, integer, integer) FROM PUBLIC;
REVOKE ALL ON FUNCTION admin_decide_upgrade_request(uuid, boolean, text) FROM PUBLIC;

GRANT EXECUTE ON FUNCTION auth_find_login(text) TO waqtor_app;
GRANT EXECUTE ON FUNCTION auth_resolve_session(bytea) TO waqtor_app;
GRANT EXECUTE ON FUNCTION auth_resolve_api_key(bytea) TO waqtor_app;
GRANT EXECUTE ON FUNCTION admin_list_tenants(text, text, text, integer, integer) TO waqtor_app;
GRANT EXECUTE ON FUNCTION admin_set_plan(uuid, text, text) TO waqtor_app;
GRANT EXECUTE ON FUNCTION admin_set_status(uuid, text) TO waqtor_app;
GRANT EXECUTE ON FUNCTION admin_list_upgrade_requests(text, uuid, integer, integer) TO waqtor_app;
GRANT EXECUTE ON FUNCTION admin_decide_upgrade_request(uuid, boolean, text) TO waqtor_app;
