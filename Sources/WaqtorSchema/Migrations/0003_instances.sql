-- WhatsApp numbers: instances (one per number, behind an Evolution API gateway instance) and the
-- raw webhook events the gateway posts for them.
--
-- Same tenancy pattern as 0002: ENABLE and FORCE ROW LEVEL SECURITY, one policy per table on
-- app_current_tenant() (or the owner), explicit grants to waqtor_app, and one SECURITY DEFINER
-- function for the only lookup that must cross tenants: the webhook endpoint finding an
-- instance by its gateway name before it knows the tenant. See docs/TENANCY.md, docs/WEBHOOKS.md.

CREATE TABLE instances (
    id                  uuid PRIMARY KEY DEFAULT gen_random_uuid(),
    tenant_id           uuid NOT NULL REFERENCES tenants (id) ON DELETE CASCADE,
    display_name        text NOT NULL,
    -- The Evolution instance name: 'wq-' + 12 hex of the tenant id + '-' + 8 random hex, so two
    -- tenants never collide on the shared gateway.
    gateway_name        text NOT NULL UNIQUE CHECK (gateway_name ~ '^[a-z0-9][a-z0-9-]{2,63}$'),
    phone_number        text,
    state               text NOT NULL DEFAULT 'unspecified'
                        CHECK (state IN ('unspecified', 'connecting', 'open', 'close', 'refused', 'needs_repairing')),
    -- statusReason of the last close (e.g. 401 logged out, 428 connection lost); NULL otherwise.
    state_reason        integer,
    -- Set by a logged-out or banned close (401, 402, 403, 406) or logout.instance; cleared only by
    -- an 'open'. The campaign work pauses sending on such an instance.
    needs_repairing     boolean NOT NULL DEFAULT false,
    -- SHA-256 of the per-instance webhook secret (the secret is shown once, at creation).
    webhook_secret_hash bytea NOT NULL CHECK (octet_length(webhook_secret_hash) = 32),
    -- Pacing of sends on this number.
    min_delay_ms        integer NOT NULL DEFAULT 3000 CHECK (min_delay_ms >= 0),
    max_delay_ms        integer NOT NULL DEFAULT 9000 CHECK (max_delay_ms >= min_delay_ms),
    daily_cap           integer CHECK (daily_cap IS NULL OR daily_cap >= 0),
    -- Minutes of the day (0-1439) in the tenant's time zone; both NULL = no quiet hours. A start
    -- after the end wraps over midnight.
    quiet_start_minute  integer CHECK (quiet_start_minute BETWEEN 0 AND 1439),
    quiet_end_minute    integer CHECK (quiet_end_minute BETWEEN 0 AND 1439),
    warmup_enabled      boolean NOT NULL DEFAULT true,
    warmup_days         integer NOT NULL DEFAULT 14 CHECK (warmup_days BETWEEN 0 AND 365),
    created_at          timestamptz NOT NULL DEFAULT now(),
    updated_at          timestamptz NOT NULL DEFAULT now(),
    last_event_at       timestamptz,
    CHECK ((quiet_start_minute IS NULL) = (quiet_end_minute IS NULL)),
    -- Target of webhook_events' (instance_id, tenant_id) key: an event always has its instance's tenant.
    UNIQUE (id, tenant_id)
);
CREATE INDEX instances_tenant_idx ON instances (tenant_id, created_at);

-- Every webhook delivery that passed authentication, stored raw (the envelope as received) for
-- the chat and campaign work to consume. A repeated delivery has the same dedupe_key and is
-- stored once.
CREATE TABLE webhook_events (
    id           bigserial PRIMARY KEY,
    tenant_id    uuid NOT NULL REFERENCES tenants (id) ON DELETE CASCADE,
    instance_id  uuid NOT NULL,
    event        text NOT NULL,
    dedupe_key   text NOT NULL,
    payload      jsonb NOT NULL,
    received_at  timestamptz NOT NULL DEFAULT now(),
    processed_at timestamptz,
    UNIQUE (instance_id, dedupe_key),
    FOREIGN KEY (instance_id, tenant_id) REFERENCES instances (id, tenant_id) ON DELETE CASCADE
);
CREATE INDEX webhook_events_tenant_idx ON webhook_events (tenant_id, received_at);
CREATE INDEX webhook_events_pending_idx ON webhook_events (tenant_id, event, id) WHERE processed_at IS NULL;

ALTER TABLE instances ENABLE ROW LEVEL SECURITY;
ALTER TABLE instances FORCE ROW LEVEL SECURITY;
CREATE POLICY tenant_isolation ON instances
    USING (tenant_id = app_current_tenant() OR current_user = 'waqtor_owner')
    WITH CHECK (tenant_id = app_current_tenant() OR current_user = 'waqtor_owner');

ALTER TABLE webhook_events ENABLE ROW LEVEL SECURITY;
ALTER TABLE webhook_events FORCE ROW LEVEL SECURITY;
CREATE POLICY tenant_isolation ON webhook_events
    USING (tenant_id = app_current_tenant() OR current_user = 'waqtor_owner')
    WITH CHECK (tenant_id = app_current_tenant() OR current_user = 'waqtor_owner');

-- Privileges of the application role, explicit: an instance never changes tenant or gateway name;
-- an event is never rewritten, only marked processed.
REVOKE ALL ON instances, webhook_events FROM waqtor_app;
REVOKE ALL ON SEQUENCE webhook_events_id_seq FROM waqtor_app;
GRANT SELECT, INSERT, DELETE ON instances TO waqtor_app;
GRANT UPDATE (display_name, phone_number, state, state_reason, needs_repairing, webhook_secret_hash,
              min_delay_ms, max_delay_ms, daily_cap, quiet_start_minute, quiet_end_minute,
              warmup_enabled, warmup_days, updated_at, last_event_at) ON instances TO waqtor_app;
GRANT SELECT, INSERT, DELETE ON webhook_events TO waqtor_app;
GRANT UPDATE (processed_at) ON webhook_events TO waqtor_app;
GRANT USAGE, SELECT ON SEQUENCE webhook_events_id_seq TO waqtor_app;

-- The webhook endpoint: the instance behind a gateway name (any tenant), with its tenant and the
-- hash of its secret. The endpoint verifies the secret, then works inside that tenant's
-- transaction like every other handler.
CREATE FUNCTION webhook_resolve_instance(p_gateway_name text)
    RETURNS TABLE (instance_id uuid, tenant_id uuid, webhook_secret_hash bytea)
    LANGUAGE plpgsql STABLE SECURITY DEFINER SET search_path = public, pg_temp
    AS $$
    BEGIN
        RETURN QUERY SELECT i.id, i.tenant_id, i.webhook_secret_hash
            FROM instances i WHERE i.gateway_name = p_gateway_name;
    END
    $$;

REVOKE ALL ON FUNCTION webhook_resolve_instance(text) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION webhook_resolve_instance(text) TO waqtor_app;
