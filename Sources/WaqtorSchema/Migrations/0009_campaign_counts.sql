-- Progress without counting a campaign's recipients on every read: one row of counts per state
-- and campaign, kept by statement-level triggers on campaign_recipients (one aggregate per
-- statement, however many rows it touched). And the index behind a contact's sticky number.

CREATE INDEX campaign_recipients_contact_idx ON campaign_recipients (tenant_id, contact_id, updated_at DESC);

CREATE TABLE campaign_counts (
    campaign_id uuid PRIMARY KEY,
    tenant_id   uuid NOT NULL,
    pending     bigint NOT NULL DEFAULT 0,
    queued      bigint NOT NULL DEFAULT 0,
    sent        bigint NOT NULL DEFAULT 0,
    delivered   bigint NOT NULL DEFAULT 0,
    read        bigint NOT NULL DEFAULT 0,
    failed      bigint NOT NULL DEFAULT 0,
    skipped     bigint NOT NULL DEFAULT 0,
    cancelled   bigint NOT NULL DEFAULT 0,
    FOREIGN KEY (campaign_id, tenant_id) REFERENCES campaigns (id, tenant_id) ON DELETE CASCADE
);

CREATE INDEX campaign_counts_tenant_idx ON campaign_counts (tenant_id);

ALTER TABLE campaign_counts ENABLE ROW LEVEL SECURITY;
ALTER TABLE campaign_counts FORCE ROW LEVEL SECURITY;
CREATE POLICY tenant_isolation ON campaign_counts TO waqtor_app
    USING (tenant_id = app_current_tenant()) WITH CHECK (tenant_id = app_current_tenant());
CREATE POLICY owner_all ON campaign_counts TO waqtor_owner USING (true) WITH CHECK (true);
REVOKE ALL ON campaign_counts FROM waqtor_app;
-- The application reads the counts; only the triggers (as the owner) write them.
GRANT SELECT ON campaign_counts TO waqtor_app;

CREATE FUNCTION campaign_counts_apply() RETURNS trigger
    LANGUAGE plpgsql SECURITY DEFINER SET search_path = public, pg_temp
    AS $$
    BEGIN
        IF TG_OP = 'UPDATE' OR TG_OP = 'DELETE' THEN
            -- No insert here: a campaign being deleted takes its counts row with it.
            UPDATE campaign_counts k SET
                pending = k.pending - d.pending, queued = k.queued - d.queued, sent = k.sent - d.sent,
                delivered = k.delivered - d.delivered, read = k.read - d.read, failed = k.failed - d.failed,
                skipped = k.skipped - d.skipped, cancelled = k.cancelled - d.cancelled
            FROM (
                SELECT campaign_id,
                       count(*) FILTER (WHERE state = 'pending') AS pending, count(*) FILTER (WHERE state = 'queued') AS queued,
                       count(*) FILTER (WHERE state = 'sent') AS sent, count(*) FILTER (WHERE state = 'delivered') AS delivered,
                       count(*) FILTER (WHERE state = 'read') AS read, count(*) FILTER (WHERE state = 'failed') AS failed,
                       count(*) FILTER (WHERE state = 'skipped') AS skipped, count(*) FILTER (WHERE state = 'cancelled') AS cancelled
                FROM old_rows GROUP BY campaign_id
            ) d WHERE k.campaign_id = d.campaign_id;
        END IF;
        IF TG_OP = 'UPDATE' OR TG_OP = 'INSERT' THEN
            INSERT INTO campaign_counts AS k (campaign_id, tenant_id, pending, queued, sent, delivered, read, failed, skipped, cancelled)
            SELECT campaign_id, tenant_id,
                   count(*) FILTER (WHERE state = 'pending'), count(*) FILTER (WHERE state = 'queued'),
                   count(*) FILTER (WHERE state = 'sent'), count(*) FILTER (WHERE state = 'delivered'),
                   count(*) FILTER (WHERE state = 'read'), count(*) FILTER (WHERE state = 'failed'),
                   count(*) FILTER (WHERE state = 'skipped'), count(*) FILTER (WHERE state = 'cancelled')
            FROM new_rows GROUP BY campaign_id, tenant_id
            ON CONFLICT (campaign_id) DO UPDATE SET
                pending = k.pending + EXCLUDED.pending, queued = k.queued + EXCLUDED.queued, sent = k.sent + EXCLUDED.sent,
                delivered = k.delivered + EXCLUDED.delivered, read = k.read + EXCLUDED.read, failed = k.failed + EXCLUDED.failed,
                skipped = k.skipped + EXCLUDED.skipped, cancelled = k.cancelled + EXCLUDED.cancelled;
        END IF;
        RETURN NULL;
    END
    $$;
REVOKE ALL ON FUNCTION campaign_counts_apply() FROM PUBLIC;

CREATE TRIGGER campaign_counts_insert AFTER INSERT ON campaign_recipients
    REFERENCING NEW TABLE AS new_rows FOR EACH STATEMENT EXECUTE FUNCTION campaign_counts_apply();
CREATE TRIGGER campaign_counts_update AFTER UPDATE ON campaign_recipients
    REFERENCING OLD TABLE AS old_rows NEW TABLE AS new_rows FOR EACH STATEMENT EXECUTE FUNCTION campaign_counts_apply();
CREATE TRIGGER campaign_counts_delete AFTER DELETE ON campaign_recipients
    REFERENCING OLD TABLE AS old_rows FOR EACH STATEMENT EXECUTE FUNCTION campaign_counts_apply();
