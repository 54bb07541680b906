-- What the tenant API documents and 0002 did not store: why a tenant is suspended, when an API
-- key expires, and upgrade requests withdrawn because an administrator set the plan meanwhile.
--
-- Same pattern as 0002-0004: new columns on existing tenant tables (their forced row-level
-- security and per-role policies of 0004 cover them as they are), explicit grants to waqtor_app,
-- and the SECURITY DEFINER functions that read or write these columns redefined. Where a
-- function's result or parameters change it is dropped and created again (CREATE OR REPLACE
-- cannot change them), then REVOKE FROM PUBLIC and GRANT EXECUTE to waqtor_app as in 0002.
-- See docs/TENANCY.md.

-- ---------------------------------------------------------------------------------------------
-- Suspension reasons: written only by admin_set_status (the application role has no UPDATE on
-- the column, so a tenant cannot clear its own); shown to the tenant with every refusal.

ALTER TABLE tenants ADD COLUMN suspension_reason text;
ALTER TABLE tenants ADD CONSTRAINT tenants_suspension_reason_check
    CHECK (status = 'suspended' OR suspension_reason IS NULL);

-- ---------------------------------------------------------------------------------------------
-- API key expiry (NULL: never). A key's name, scope, hash and expiry are fixed at creation: the
-- application role keeps UPDATE on revoked_at only (revocation); last_used_at is written by
-- auth_resolve_api_key, which runs as the owner.

ALTER TABLE api_keys ADD COLUMN expires_at timestamptz;
REVOKE UPDATE ON api_keys FROM waqtor_app;
GRANT UPDATE (revoked_at) ON api_keys TO waqtor_app;

-- ---------------------------------------------------------------------------------------------
-- Withdrawn upgrade requests: a pending request is 'cancelled' when an administrator sets the
-- tenant's plan to the requested one or a higher one (admin_set_plan below): nothing is left to
-- grant.

ALTER TABLE upgrade_requests DROP CONSTRAINT upgrade_requests_state_check;
ALTER TABLE upgrade_requests ADD CONSTRAINT upgrade_requests_state_check
    CHECK (state IN ('pending', 'granted', 'rejected', 'cancelled'));

-- ---------------------------------------------------------------------------------------------
-- Functions.

-- Login: as in 0002, plus the suspension reason (told to a suspended tenant whose password was right).
DROP FUNCTION auth_find_login(text);
CREATE FUNCTION auth_find_login(p_email text)
    RETURNS TABLE (tenant_id uuid, password_hash text, status text, is_admin boolean, suspension_reason text)
    LANGUAGE plpgsql STABLE SECURITY DEFINER SET search_path = public, pg_temp
    AS $$
    BEGIN
        RETURN QUERY SELECT t.id, t.password_hash, t.status, t.is_admin, t.suspension_reason
            FROM tenants t WHERE t.email = p_email::citext;
    END
    $$;

-- Authentication of a session token: as in 0002, plus the suspension reason.
DROP FUNCTION auth_resolve_session(bytea);
CREATE FUNCTION auth_resolve_session(p_token_hash bytea)
    RETURNS TABLE (session_id uuid, tenant_id uuid, expires_at timestamptz, status text, is_admin boolean,
                   suspension_reason text)
    LANGUAGE plpgsql STABLE SECURITY DEFINER SET search_path = public, pg_temp
    AS $$
    BEGIN
        RETURN QUERY SELECT s.id, s.tenant_id, s.expires_at, t.status, t.is_admin, t.suspension_reason
            FROM sessions s JOIN tenants t ON t.id = s.tenant_id
            WHERE s.token_hash = p_token_hash AND s.revoked_at IS NULL AND s.expires_at > now();
    END
    $$;

-- Authentication of an API key. Revoked keys give no row. An expired key gives its row with
-- `expired` true, so that its holder (only the holder can present the secret) is told that it
-- expired rather than that it is unknown; it is not marked used.
DROP FUNCTION auth_resolve_api_key(bytea);
CREATE FUNCTION auth_resolve_api_key(p_key_hash bytea)
    RETURNS TABLE (key_id uuid, tenant_id uuid, scope text, status text, suspension_reason text,
                   expires_at timestamptz, expired boolean)
    LANGUAGE plpgsql VOLATILE SECURITY DEFINER SET search_path = public, pg_temp
    AS $$
    BEGIN
        UPDATE api_keys k SET last_used_at = now()
            WHERE k.key_hash = p_key_hash AND k.revoked_at IS NULL
              AND (k.expires_at IS NULL OR k.expires_at > now())
              AND (k.last_used_at IS NULL OR k.last_used_at < now() - interval '1 minute');
        RETURN QUERY SELECT k.id, k.tenant_id, k.scope, t.status, t.suspension_reason, k.expires_at,
                            coalesce(k.expires_at <= now(), false)
            FROM api_keys k JOIN tenants t ON t.id = k.tenant_id
            WHERE k.key_hash = p_key_hash AND k.revoked_at IS NULL;
    END
    $$;

-- Administrator: one page of tenants, newest first (as the API documents), with every field of
-- the API's Tenant. p_status 'deleted' is a valid filter that matches no row: DeleteAccount
-- removes the tenant row and, by cascade, all its data, so no deleted tenant is kept to list.
DROP FUNCTION admin_list_tenants(text, text, text, integer, integer);
CREATE FUNCTION admin_list_tenants(p_search text, p_status text, p_plan text, p_limit integer, p_offset integer)
    RETURNS TABLE (id uuid, name text, email text, time_zone text, plan_id text, status text,
                   suspension_reason text, is_admin boolean, created_at timestamptz, updated_at timestamptz,
                   total bigint)
    LANGUAGE plpgsql STABLE SECURITY DEFINER SET search_path = public, pg_temp
    AS $$
    DECLARE
        pattern text := '%' || replace(replace(replace(coalesce(p_search, ''), '\', '\\'), '%', '\%'), '_', '\_') || '%';
    BEGIN
        PERFORM admin_require();
        IF coalesce(p_status, '') NOT IN ('', 'active', 'suspended', 'deleted') THEN
            RAISE EXCEPTION 'unknown status' USING ERRCODE = 'invalid_parameter_value';
        END IF;
        RETURN QUERY SELECT t.id, t.name, t.email::text, t.time_zone, t.plan_id, t.status, t.suspension_reason,
                            t.is_admin, t.created_at, t.updated_at, count(*) OVER ()
            FROM tenants t
            WHERE (coalesce(p_search, '') = '' OR t.name ILIKE pattern OR t.email::text ILIKE pattern)
              AND (coalesce(p_status, '') = '' OR t.status = p_status)
              AND (coalesce(p_plan, '') = '' OR t.plan_id = p_plan)
            ORDER BY t.created_at DESC, t.id DESC
            LIMIT greatest(least(coalesce(p_limit, 50), 500), 1) OFFSET greatest(coalesce(p_offset, 0), 0);
    END
    $$;

-- Administrator: suspends ('suspended', with the reason shown to the tenant) or reactivates
-- ('active', which clears the reason) a tenant. FALSE if no such tenant. p_reason defaults to
-- '' so that a server still calling the two-argument form of 0002 (a rolling deploy) works.
DROP FUNCTION admin_set_status(uuid, text);
CREATE FUNCTION admin_set_status(p_tenant uuid, p_status text, p_reason text DEFAULT '') RETURNS boolean
    LANGUAGE plpgsql VOLATILE SECURITY DEFINER SET search_path = public, pg_temp
    AS $$
    BEGIN
        PERFORM admin_require();
        IF p_status NOT IN ('active', 'suspended') THEN
            RAISE EXCEPTION 'unknown status' USING ERRCODE = 'invalid_parameter_value';
        END IF;
        UPDATE tenants
            SET status = p_status,
                suspension_reason = CASE WHEN p_status = 'suspended' THEN coalesce(p_reason, '') END,
                updated_at = now()
            WHERE id = p_tenant;
        IF NOT FOUND THEN RETURN false; END IF;
        -- Sessions and keys stay: while suspended they are refused with PERMISSION_DENIED (the
        -- status is read at every call), and they work again after a reactivation.
        RETURN true;
    END
    $$;

-- Administrator: as in 0002, and a pending request of the tenant that the new plan already meets
-- (requested plan ranked at or below it) is withdrawn ('cancelled', with who, when and why).
-- Same signature and result, so its owner and grants stay.
CREATE OR REPLACE FUNCTION admin_set_plan(p_tenant uuid, p_plan text, p_reason text) RETURNS boolean
    LANGUAGE plpgsql VOLATILE SECURITY DEFINER SET search_path = public, pg_temp
    AS $$
    DECLARE
        admin uuid := admin_require();
        old_plan text;
        new_rank integer;
    BEGIN
        SELECT t.plan_id INTO old_plan FROM tenants t WHERE t.id = p_tenant FOR UPDATE;
        IF NOT FOUND THEN RETURN false; END IF;
        SELECT p.rank INTO new_rank FROM plans p WHERE p.id = p_plan;
        IF NOT FOUND THEN
            RAISE EXCEPTION 'unknown plan' USING ERRCODE = 'invalid_parameter_value';
        END IF;
        UPDATE tenants SET plan_id = p_plan, updated_at = now() WHERE id = p_tenant;
        INSERT INTO plan_changes (tenant_id, from_plan, to_plan, changed_by, reason)
            VALUES (p_tenant, old_plan, p_plan, admin, coalesce(p_reason, ''));
        UPDATE upgrade_requests r
            SET state = 'cancelled', decided_by = admin, decided_at = now(),
                decision_note = 'withdrawn: an administrator set the plan to ' || p_plan
            FROM plans requested
            WHERE r.tenant_id = p_tenant AND r.state = 'pending'
              AND requested.id = r.requested_plan AND requested.rank <= new_rank;
        RETURN true;
    END
    $$;

REVOKE ALL ON FUNCTION auth_find_login(text) FROM PUBLIC;
REVOKE ALL ON FUNCTION auth_resolve_session(bytea) FROM PUBLIC;
REVOKE ALL ON FUNCTION auth_resolve_api_key(bytea) FROM PUBLIC;
REVOKE ALL ON FUNCTION admin_list_tenants(text, text, text, integer, integer) FROM PUBLIC;
REVOKE ALL ON FUNCTION admin_set_status(uuid, text, text) FROM PUBLIC;

GRANT EXECUTE ON FUNCTION auth_find_login(text) TO waqtor_app;
GRANT EXECUTE ON FUNCTION auth_resolve_session(bytea) TO waqtor_app;
GRANT EXECUTE ON FUNCTION auth_resolve_api_key(bytea) TO waqtor_app;
GRANT EXECUTE ON FUNCTION admin_list_tenants(text, text, text, integer, integer) TO waqtor_app;
GRANT EXECUTE ON FUNCTION admin_set_status(uuid, text, text) TO waqtor_app;
