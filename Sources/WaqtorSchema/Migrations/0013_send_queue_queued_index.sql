-- QUEUED recipients by number: the requeue of messages whose window entries were lost (a shard
-- rebuilt, an empty window while PostgreSQL still has QUEUED rows) reads them through this index
-- instead of scanning every recipient of the tenant.
CREATE INDEX campaign_recipients_queued_idx ON campaign_recipients (tenant_id, instance_id) WHERE state = 'queued';
