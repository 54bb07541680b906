-- Row-level security policies per role, so that a tenant's queries can use the tenant_id indexes.
--
-- Until now every tenant table had one policy for everybody:
--     USING (tenant_id = app_current_tenant() OR current_user = 'waqtor_owner')
-- The OR keeps PostgreSQL from turning the tenant condition into an index condition, so every
-- query of the application role scanned the whole table and evaluated the policy per row. Two
-- policies, each for one role, give the application role the plain condition
-- `tenant_id = app_current_tenant()` (a stable function: usable as an index key), and the owner
-- (migrations, SECURITY DEFINER functions) everything, as before. Any other role now has no
-- policy at all, so it sees nothing (FORCE ROW LEVEL SECURITY stays on).

DO $$
DECLARE
    t record;
BEGIN
    FOR t IN
        SELECT * FROM (VALUES
            ('tenants', 'id'),
            ('sessions', 'tenant_id'),
            ('api_keys', 'tenant_id'),
            ('upgrade_requests', 'tenant_id'),
            ('plan_changes', 'tenant_id'),
            ('usage_daily', 'tenant_id'),
            ('instances', 'tenant_id'),
            ('webhook_events', 'tenant_id')
        ) AS v(tbl, col)
    LOOP
        EXECUTE format('DROP POLICY tenant_isolation ON %I', t.tbl);
        EXECUTE format(
            'CREATE POLICY tenant_isolation ON %I TO waqtor_app USING (%I = app_current_tenant()) WITH CHECK (%I = app_current_tenant())',
            t.tbl, t.col, t.col);
        EXECUTE format('CREATE POLICY owner_all ON %I TO waqtor_owner USING (true) WITH CHECK (true)', t.tbl);
    END LOOP;
END
$$;
