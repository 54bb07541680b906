-- The send queue's truth in PostgreSQL (docs/QUEUE.md). A campaign message is its recipient row:
-- PENDING (not handed out), QUEUED (in its number's window on a Redis shard), then SENT,
-- DELIVERED, READ or FAILED. Redis holds only the dispatch order and can always be rebuilt from
-- these rows.
--
-- - next_attempt_at: a retried message is PENDING again and is not handed out before this time.
-- - lease_token / leased_until: the worker about to send a QUEUED message takes it here first, so
--   that two workers never send one message (an expired lease can be taken again).
-- - queued_at: when it was handed to a window (a rebuild puts back what a lost shard held).
-- - status_at: when the gateway last reported its status (SENT, DELIVERED, READ).
-- - instances.warmup_started_at: when the number first connected; the warm-up ramp counts days
--   from it.

ALTER TABLE campaign_recipients
    ADD COLUMN next_attempt_at timestamptz,
    ADD COLUMN lease_token     text,
    ADD COLUMN leased_until    timestamptz,
    ADD COLUMN queued_at       timestamptz,
    ADD COLUMN status_at       timestamptz;

GRANT UPDATE (next_attempt_at, lease_token, leased_until, queued_at, status_at) ON campaign_recipients TO waqtor_app;

-- A number's sends of a local day (its daily cap, rebuilt after a shard loses its counters).
CREATE INDEX campaign_recipients_sent_idx ON campaign_recipients (tenant_id, instance_id, sent_at) WHERE sent_at IS NOT NULL;
-- A status webhook finds its message by the gateway's id.
CREATE INDEX campaign_recipients_message_idx ON campaign_recipients (tenant_id, instance_id, message_id) WHERE message_id IS NOT NULL;
-- The windows are refilled per campaign and number, in send order.
CREATE INDEX campaign_recipients_pending_idx ON campaign_recipients (campaign_id, instance_id, seq) WHERE state = 'pending';

ALTER TABLE instances ADD COLUMN warmup_started_at timestamptz;
UPDATE instances SET warmup_started_at = state_changed_at WHERE paired;
GRANT UPDATE (warmup_started_at) ON instances TO waqtor_app;

-- What the send queue serves right now, across tenants: every number of every RUNNING campaign,
-- with the number's state and the campaign's unsent count (ids, states and counts only; the work
-- itself runs in each tenant's own transaction).
CREATE FUNCTION send_queue_running()
    RETURNS TABLE (tenant_id uuid, campaign_id uuid, instance_id uuid, instance_state text,
                   on_number_unavailable text, unsent bigint)
    LANGUAGE plpgsql STABLE SECURITY DEFINER SET search_path = public, pg_temp
    AS $$
    BEGIN
        RETURN QUERY
            SELECT c.tenant_id, c.id, n.instance_id, i.state, c.on_number_unavailable,
                   coalesce(k.pending + k.queued, 0)
            FROM campaigns c
            JOIN campaign_numbers n ON n.campaign_id = c.id
            JOIN instances i ON i.id = n.instance_id
            LEFT JOIN campaign_counts k ON k.campaign_id = c.id
            WHERE c.state = 'running' AND c.materialized
            ORDER BY c.start_time, c.id, n.position;
    END
    $$;
REVOKE ALL ON FUNCTION send_queue_running() FROM PUBLIC;
GRANT EXECUTE ON FUNCTION send_queue_running() TO waqtor_app;

-- Delivery receipts of messages the numbers sent (`messages.update` with fromMe), not yet applied,
-- across tenants, oldest first (ids and fields only; applied in each tenant's transaction).
CREATE INDEX webhook_events_receipts_idx ON webhook_events (id) WHERE processed_at IS NULL AND event = 'messages.update';

CREATE FUNCTION send_queue_receipts(p_limit integer)
    RETURNS TABLE (event_id bigint, tenant_id uuid, instance_id uuid, message_id text, status text, received_at timestamptz)
    LANGUAGE plpgsql STABLE SECURITY DEFINER SET search_path = public, pg_temp
    AS $$
    BEGIN
        RETURN QUERY
            SELECT e.id, e.tenant_id, e.instance_id, e.payload->'data'->>'keyId', e.payload->'data'->>'status', e.received_at
            FROM webhook_events e
            WHERE e.processed_at IS NULL AND e.event = 'messages.update' AND e.payload->'data'->'fromMe' = 'true'::jsonb
            ORDER BY e.id LIMIT p_limit;
    END
    $$;
REVOKE ALL ON FUNCTION send_queue_receipts(integer) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION send_queue_receipts(integer) TO waqtor_app;

-- The counts' trigger, again, so that an update that changes no recipient's state (a lease taken,
-- a message id stored) leaves campaign_counts alone: it takes no lock on the campaign's counts row,
-- so the senders' leases of one campaign never wait for each other there, nor deadlock with a
-- statement that does change states.
CREATE OR REPLACE FUNCTION campaign_counts_apply() RETURNS trigger
    LANGUAGE plpgsql SECURITY DEFINER SET search_path = public, pg_temp
    AS $$
    BEGIN
        IF TG_OP = 'UPDATE' THEN
            UPDATE campaign_counts k SET
                pending = k.pending + d.pending, queued = k.queued + d.queued, sent = k.sent + d.sent,
                delivered = k.delivered + d.delivered, read = k.read + d.read, failed = k.failed + d.failed,
                skipped = k.skipped + d.skipped, cancelled = k.cancelled + d.cancelled
            FROM (
                SELECT campaign_id, sum(pending) AS pending, sum(queued) AS queued, sum(sent) AS sent, sum(delivered) AS delivered,
                       sum(read) AS read, sum(failed) AS failed, sum(skipped) AS skipped, sum(cancelled) AS cancelled
                FROM (
                    SELECT campaign_id, sign * (state = 'pending')::int AS pending, sign * (state = 'queued')::int AS queued,
                           sign * (state = 'sent')::int AS sent, sign * (state = 'delivered')::int AS delivered,
                           sign * (state = 'read')::int AS read, sign * (state = 'failed')::int AS failed,
                           sign * (state = 'skipped')::int AS skipped, sign * (state = 'cancelled')::int AS cancelled
                    FROM (SELECT campaign_id, state, 1 AS sign FROM new_rows
                          UNION ALL SELECT campaign_id, state, -1 AS sign FROM old_rows) both_rows
                ) signed GROUP BY campaign_id
            ) d
            WHERE k.campaign_id = d.campaign_id
              AND (d.pending, d.queued, d.sent, d.delivered, d.read, d.failed, d.skipped, d.cancelled) <> (0, 0, 0, 0, 0, 0, 0, 0);
            RETURN NULL;
        END IF;
        IF TG_OP = 'DELETE' THEN
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
            RETURN NULL;
        END IF;
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
        RETURN NULL;
    END
    $$;
