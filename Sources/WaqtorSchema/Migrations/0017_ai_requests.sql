-- AI drafting: one row per DraftTemplates call that reached the AI provider, with the tokens and
-- the provider's cost summed over its provider calls, so that administrators can bill by hand and
-- tenants see what they used (GetUsage). The description itself is never stored: only its length.
-- Row-level security as everywhere (the per-role policies of 0004). See docs/AI.md.

CREATE TABLE ai_requests (
    id                 uuid PRIMARY KEY DEFAULT gen_random_uuid(),
    tenant_id          uuid NOT NULL REFERENCES tenants (id) ON DELETE CASCADE,
    created_at         timestamptz NOT NULL DEFAULT now(),
    requested_model    text NOT NULL,
    -- The model that answered, as the provider named it; '' when none did.
    model              text NOT NULL DEFAULT '',
    outcome            text NOT NULL CHECK (outcome IN ('ok', 'unusable', 'provider_error', 'timeout')),
    provider_calls     integer NOT NULL CHECK (provider_calls >= 0),
    prompt_tokens      integer NOT NULL DEFAULT 0 CHECK (prompt_tokens >= 0),
    completion_tokens  integer NOT NULL DEFAULT 0 CHECK (completion_tokens >= 0),
    -- In the provider's credits (US dollars at OpenRouter).
    cost               numeric(20, 10) NOT NULL DEFAULT 0 CHECK (cost >= 0),
    description_length integer NOT NULL CHECK (description_length >= 0),
    draft_count        integer NOT NULL DEFAULT 0 CHECK (draft_count >= 0)
);
-- Per tenant by time: GetUsage's day and month sums, the administrators' month listing.
CREATE INDEX ai_requests_tenant_time_idx ON ai_requests (tenant_id, created_at DESC);

ALTER TABLE ai_requests ENABLE ROW LEVEL SECURITY;
ALTER TABLE ai_requests FORCE ROW LEVEL SECURITY;
CREATE POLICY tenant_isolation ON ai_requests TO waqtor_app
    USING (tenant_id = app_current_tenant()) WITH CHECK (tenant_id = app_current_tenant());
CREATE POLICY owner_all ON ai_requests TO waqtor_owner USING (true) WITH CHECK (true);
REVOKE ALL ON ai_requests FROM waqtor_app;
-- Records are written once and never changed; they go with the tenant (ON DELETE CASCADE).
GRANT SELECT, INSERT ON ai_requests TO waqtor_app;
