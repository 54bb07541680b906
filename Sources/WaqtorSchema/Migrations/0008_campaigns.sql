-- Campaigns, the numbers they send from, and (once started) their recipients, under row-level
-- security like every tenant table. See docs/CAMPAIGNS.md.

CREATE TABLE campaigns (
    id                    uuid PRIMARY KEY DEFAULT gen_random_uuid(),
    tenant_id             uuid NOT NULL REFERENCES tenants (id) ON DELETE CASCADE,
    name                  text NOT NULL,
    state                 text NOT NULL DEFAULT 'draft'
                          CHECK (state IN ('draft', 'scheduled', 'running', 'paused', 'completed', 'cancelled', 'failed')),
    -- Why it is paused or failed ('' otherwise).
    state_detail          text NOT NULL DEFAULT '',
    template_text         text NOT NULL,
    -- An attachment: {"kind": "image"|"video"|"audio"|"document", "url": ..., "mime_type": ..., "file_name": ...}.
    media                 jsonb CHECK (media IS NULL OR jsonb_typeof(media) = 'object'),
    audience_list_ids     uuid[] NOT NULL DEFAULT '{}',
    audience_contact_ids  uuid[] NOT NULL DEFAULT '{}',
    -- What happens to a number's unsent recipients when it drops out: they wait for it, or move to
    -- the campaign's other connected numbers.
    on_number_unavailable text NOT NULL DEFAULT 'wait' CHECK (on_number_unavailable IN ('wait', 'reassign')),
    schedule_time         timestamptz,
    -- The wall time as the tenant typed it and the zone it was read in (shown back the same way).
    schedule_local        text,
    schedule_zone         text,
    -- Pacing for this campaign instead of its numbers' (NULL: the number's).
    min_delay_ms          integer CHECK (min_delay_ms >= 0),
    max_delay_ms          integer CHECK (max_delay_ms >= min_delay_ms),
    daily_cap             integer CHECK (daily_cap >= 0),
    materialized          boolean NOT NULL DEFAULT false,
    created_at            timestamptz NOT NULL DEFAULT now(),
    updated_at            timestamptz NOT NULL DEFAULT now(),
    start_time            timestamptz,
    finish_time           timestamptz,
    CHECK ((min_delay_ms IS NULL) = (max_delay_ms IS NULL)),
    UNIQUE (id, tenant_id)
);
CREATE INDEX campaigns_tenant_idx ON campaigns (tenant_id, created_at DESC, id DESC);
-- The scheduler's look for due campaigns, across tenants (through campaign_due_scheduled()).
CREATE INDEX campaigns_due_idx ON campaigns (schedule_time) WHERE state = 'scheduled';

-- The numbers a campaign sends from, in the order the tenant gave them.
CREATE TABLE campaign_numbers (
    tenant_id   uuid NOT NULL,
    campaign_id uuid NOT NULL,
    instance_id uuid NOT NULL,
    position    integer NOT NULL,
    PRIMARY KEY (campaign_id, instance_id),
    FOREIGN KEY (campaign_id, tenant_id) REFERENCES campaigns (id, tenant_id) ON DELETE CASCADE,
    FOREIGN KEY (instance_id, tenant_id) REFERENCES instances (id, tenant_id) ON DELETE CASCADE
);
CREATE INDEX campaign_numbers_instance_idx ON campaign_numbers (tenant_id, instance_id);

-- One row per recipient of a started campaign: who, from which number, the text fixed at start,
-- and what happened. A recipient keeps its row when its contact is deleted later.
CREATE TABLE campaign_recipients (
    tenant_id     uuid NOT NULL,
    campaign_id   uuid NOT NULL,
    contact_id    uuid NOT NULL,
    -- Send order within the campaign.
    seq           bigint NOT NULL,
    phone_number  text NOT NULL,
    -- The number it is sent from (the same for every message to this contact).
    instance_id   uuid,
    state         text NOT NULL DEFAULT 'pending'
                  CHECK (state IN ('pending', 'queued', 'sent', 'delivered', 'read', 'failed', 'skipped', 'cancelled')),
    error         text NOT NULL DEFAULT '',
    rendered_text text,
    attempt_count integer NOT NULL DEFAULT 0,
    message_id    text,
    updated_at    timestamptz NOT NULL DEFAULT now(),
    sent_at       timestamptz,
    PRIMARY KEY (campaign_id, contact_id),
    UNIQUE (campaign_id, phone_number),
    FOREIGN KEY (campaign_id, tenant_id) REFERENCES campaigns (id, tenant_id) ON DELETE CASCADE
);
CREATE INDEX campaign_recipients_seq_idx ON campaign_recipients (campaign_id, seq);
CREATE INDEX campaign_recipients_state_idx ON campaign_recipients (campaign_id, state, seq);

DO $$
DECLARE
    t text;
BEGIN
    FOREACH t IN ARRAY ARRAY['campaigns', 'campaign_numbers', 'campaign_recipients']
    LOOP
        EXECUTE format('ALTER TABLE %I ENABLE ROW LEVEL SECURITY', t);
        EXECUTE format('ALTER TABLE %I FORCE ROW LEVEL SECURITY', t);
        EXECUTE format(
            'CREATE POLICY tenant_isolation ON %I TO waqtor_app USING (tenant_id = app_current_tenant()) WITH CHECK (tenant_id = app_current_tenant())', t);
        EXECUTE format('CREATE POLICY owner_all ON %I TO waqtor_owner USING (true) WITH CHECK (true)', t);
        EXECUTE format('REVOKE ALL ON %I FROM waqtor_app', t);
        EXECUTE format('GRANT SELECT, INSERT, DELETE ON %I TO waqtor_app', t);
    END LOOP;
END
$$;

GRANT UPDATE (name, state, state_detail, template_text, media, audience_list_ids, audience_contact_ids, on_number_unavailable,
              schedule_time, schedule_local, schedule_zone, min_delay_ms, max_delay_ms, daily_cap, materialized,
              updated_at, start_time, finish_time)
    ON campaigns TO waqtor_app;
GRANT UPDATE (position) ON campaign_numbers TO waqtor_app;
GRANT UPDATE (instance_id, state, error, rendered_text, attempt_count, message_id, updated_at, sent_at)
    ON campaign_recipients TO waqtor_app;

-- The scheduler: campaigns of every tenant whose schedule time has come (ids and tenants only;
-- the start itself runs in the tenant's own transaction like every other change).
CREATE FUNCTION campaign_due_scheduled(p_limit integer)
    RETURNS TABLE (campaign_id uuid, tenant_id uuid)
    LANGUAGE plpgsql STABLE SECURITY DEFINER SET search_path = public, pg_temp
    AS $$
    BEGIN
        RETURN QUERY SELECT c.id, c.tenant_id FROM campaigns c
            WHERE c.state = 'scheduled' AND c.schedule_time <= now()
            ORDER BY c.schedule_time LIMIT p_limit;
    END
    $$;
REVOKE ALL ON FUNCTION campaign_due_scheduled(integer) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION campaign_due_scheduled(integer) TO waqtor_app;
