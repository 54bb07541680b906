-- The plan's contact limit without counting the account's contacts on every create and import
-- call: one row per account, kept by statement-level triggers on contacts (one aggregate per
-- statement, however many rows it added or removed).

CREATE TABLE contact_counts (
    tenant_id uuid PRIMARY KEY REFERENCES tenants (id) ON DELETE CASCADE,
    contacts  bigint NOT NULL DEFAULT 0
);

ALTER TABLE contact_counts ENABLE ROW LEVEL SECURITY;
ALTER TABLE contact_counts FORCE ROW LEVEL SECURITY;
CREATE POLICY tenant_isolation ON contact_counts TO waqtor_app
    USING (tenant_id = app_current_tenant()) WITH CHECK (tenant_id = app_current_tenant());
CREATE POLICY owner_all ON contact_counts TO waqtor_owner USING (true) WITH CHECK (true);
REVOKE ALL ON contact_counts FROM waqtor_app;
-- The application reads the count; only the triggers (as the owner) write it.
GRANT SELECT ON contact_counts TO waqtor_app;

INSERT INTO contact_counts (tenant_id, contacts) SELECT tenant_id, count(*) FROM contacts GROUP BY tenant_id;

CREATE FUNCTION contact_counts_apply() RETURNS trigger
    LANGUAGE plpgsql SECURITY DEFINER SET search_path = public, pg_temp
    AS $$
    BEGIN
        IF TG_OP = 'DELETE' THEN
            -- No insert here: an account being deleted takes its row with it.
            UPDATE contact_counts k SET contacts = k.contacts - d.n
            FROM (SELECT tenant_id, count(*) AS n FROM old_rows GROUP BY tenant_id) d WHERE k.tenant_id = d.tenant_id;
        ELSE
            INSERT INTO contact_counts AS k (tenant_id, contacts)
            SELECT tenant_id, count(*) FROM new_rows GROUP BY tenant_id
            ON CONFLICT (tenant_id) DO UPDATE SET contacts = k.contacts + EXCLUDED.contacts;
        END IF;
        RETURN NULL;
    END
    $$;
REVOKE ALL ON FUNCTION contact_counts_apply() FROM PUBLIC;

CREATE TRIGGER contact_counts_insert AFTER INSERT ON contacts
    REFERENCING NEW TABLE AS new_rows FOR EACH STATEMENT EXECUTE FUNCTION contact_counts_apply();
CREATE TRIGGER contact_counts_delete AFTER DELETE ON contacts
    REFERENCING OLD TABLE AS old_rows FOR EACH STATEMENT EXECUTE FUNCTION contact_counts_apply();
