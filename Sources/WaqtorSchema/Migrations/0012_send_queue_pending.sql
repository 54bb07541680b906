-- send_queue_running() also gives each campaign's PENDING count, so that the refill looks for
-- recipients to hand out only in campaigns that have some (a campaign whose recipients are all
-- handed out costs nothing per round).
DROP FUNCTION send_queue_running();

CREATE FUNCTION send_queue_running()
    RETURNS TABLE (tenant_id uuid, campaign_id uuid, instance_id uuid, instance_state text,
                   on_number_unavailable text, unsent bigint, pending bigint)
    LANGUAGE plpgsql STABLE SECURITY DEFINER SET search_path = public, pg_temp
    AS $$
    BEGIN
        RETURN QUERY
            SELECT c.tenant_id, c.id, n.instance_id, i.state, c.on_number_unavailable,
                   coalesce(k.pending + k.queued, 0), coalesce(k.pending, 0)
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
