-- Chat: conversations (one per number and contact's phone number), their messages (inbound ones
-- projected from the gateway's webhooks, outbound replies sent through the send queue's reply lane,
-- campaign sends), the media files they reference (stored once per tenant by content hash), and
-- each account's chat settings. Row-level security as everywhere (the per-role policies of 0004).
-- See docs/CHAT.md.

CREATE TABLE chat_settings (
    tenant_id          uuid PRIMARY KEY REFERENCES tenants (id) ON DELETE CASCADE,
    -- NULL: the default words (docs/CHAT.md); an empty array: none.
    opt_out_words      text[],
    opt_in_words       text[],
    opt_out_reply      text NOT NULL DEFAULT '',
    opt_in_reply       text NOT NULL DEFAULT '',
    send_read_receipts boolean NOT NULL DEFAULT false,
    updated_at         timestamptz NOT NULL DEFAULT now()
);

CREATE TABLE conversations (
    id              uuid PRIMARY KEY DEFAULT gen_random_uuid(),
    tenant_id       uuid NOT NULL REFERENCES tenants (id) ON DELETE CASCADE,
    instance_id     uuid NOT NULL,
    -- The contact's number in E.164; the conversation's identity on its number.
    phone_number    text NOT NULL CHECK (phone_number LIKE '+%' AND length(phone_number) BETWEEN 8 AND 16),
    -- The contact's LID (`…@lid`) when WhatsApp addressed it that way.
    lid             text,
    contact_id      uuid,
    -- The WhatsApp profile name last seen (the contact's name, when it has one, is shown first).
    profile_name    text NOT NULL DEFAULT '',
    unread_count    integer NOT NULL DEFAULT 0 CHECK (unread_count >= 0),
    last_message_id uuid,
    last_message_at timestamptz,
    created_at      timestamptz NOT NULL DEFAULT now(),
    updated_at      timestamptz NOT NULL DEFAULT now(),
    UNIQUE (instance_id, phone_number),
    UNIQUE (id, tenant_id),
    FOREIGN KEY (instance_id, tenant_id) REFERENCES instances (id, tenant_id) ON DELETE CASCADE,
    FOREIGN KEY (contact_id, tenant_id) REFERENCES contacts (id, tenant_id) ON DELETE SET NULL (contact_id)
);
-- ListConversations: by last activity (keyset), per tenant.
CREATE INDEX conversations_activity_idx ON conversations (tenant_id, last_message_at DESC NULLS LAST, id DESC);
CREATE INDEX conversations_contact_idx ON conversations (tenant_id, contact_id) WHERE contact_id IS NOT NULL;

CREATE TABLE chat_messages (
    id                    uuid PRIMARY KEY DEFAULT gen_random_uuid(),
    -- Arrival order: breaks ties between messages of the same second.
    seq                   bigint GENERATED ALWAYS AS IDENTITY,
    tenant_id             uuid NOT NULL,
    conversation_id       uuid NOT NULL,
    instance_id           uuid NOT NULL,
    -- WhatsApp's message id (the gateway's key.id); NULL for a reply not sent yet. One row per
    -- (number, message id), however often and by whichever event it arrives.
    wa_message_id         text,
    direction             text NOT NULL CHECK (direction IN ('inbound', 'outbound')),
    status                text NOT NULL CHECK (status IN ('pending', 'sent', 'delivered', 'read', 'failed', 'received')),
    kind                  text NOT NULL CHECK (kind IN ('text', 'image', 'video', 'audio', 'voice', 'document', 'sticker',
                                                        'location', 'contact', 'reaction', 'unsupported')),
    -- The text, the caption, or the reaction's emoji.
    body                  text NOT NULL DEFAULT '',
    -- Kind-specific parts: location, contact cards, the unsupported type's name.
    details               jsonb NOT NULL DEFAULT '{}' CHECK (jsonb_typeof(details) = 'object'),
    quoted_wa_id          text,
    reaction_to_wa_id     text,
    sender_name           text NOT NULL DEFAULT '',
    -- Media: NULL state when the message has none.
    media_state           text CHECK (media_state IN ('pending', 'stored', 'failed', 'too_large')),
    media_kind            text,
    media_mime            text,
    media_file_name       text,
    media_size            bigint,
    media_sha256          text,
    media_attempts        integer NOT NULL DEFAULT 0,
    media_next_attempt_at timestamptz,
    error                 text NOT NULL DEFAULT '',
    campaign_id           uuid,
    -- Replies: the caller's idempotency key, and the send queue's lease and retries.
    idempotency_key       text,
    lease_token           text,
    leased_until          timestamptz,
    attempt_count         integer NOT NULL DEFAULT 0,
    next_attempt_at       timestamptz,
    -- The message's time: WhatsApp's timestamp for what arrived, the request's time for a reply.
    created_at            timestamptz NOT NULL DEFAULT now(),
    updated_at            timestamptz NOT NULL DEFAULT now(),
    UNIQUE (instance_id, wa_message_id),
    FOREIGN KEY (conversation_id, tenant_id) REFERENCES conversations (id, tenant_id) ON DELETE CASCADE
);
-- GetMessageHistory: keyset paging both ways.
CREATE INDEX chat_messages_history_idx ON chat_messages (conversation_id, created_at, seq);
CREATE UNIQUE INDEX chat_messages_idempotency_idx ON chat_messages (tenant_id, idempotency_key) WHERE idempotency_key IS NOT NULL;
-- Media still to fetch, and replies still to send (for rebuilding a lost shard's reply lanes).
CREATE INDEX chat_messages_media_pending_idx ON chat_messages (media_next_attempt_at) WHERE media_state = 'pending';
CREATE INDEX chat_messages_unsent_idx ON chat_messages (instance_id, seq) WHERE direction = 'outbound' AND status = 'pending';
CREATE INDEX chat_messages_media_file_idx ON chat_messages (tenant_id, media_sha256) WHERE media_sha256 IS NOT NULL;

-- A file under <media.root>/<tenant>/<ab>/<sha256>, stored once per tenant.
CREATE TABLE media_files (
    tenant_id  uuid NOT NULL REFERENCES tenants (id) ON DELETE CASCADE,
    sha256     text NOT NULL CHECK (sha256 ~ '^[0-9a-f]{64}$'),
    mime_type  text NOT NULL,
    size_bytes bigint NOT NULL CHECK (size_bytes >= 0),
    created_at timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (tenant_id, sha256)
);

-- Uploads for media replies (CreateUpload, UploadChunk, CompleteUpload): the bytes go to a
-- temporary file; a completed upload references its stored file.
CREATE TABLE media_uploads (
    id             uuid PRIMARY KEY DEFAULT gen_random_uuid(),
    tenant_id      uuid NOT NULL REFERENCES tenants (id) ON DELETE CASCADE,
    kind           text NOT NULL,
    mime_type      text NOT NULL,
    file_name      text NOT NULL DEFAULT '',
    size_bytes     bigint NOT NULL CHECK (size_bytes > 0),
    sha256         text NOT NULL CHECK (sha256 ~ '^[0-9a-f]{64}$'),
    received_bytes bigint NOT NULL DEFAULT 0,
    completed_at   timestamptz,
    expires_at     timestamptz NOT NULL,
    created_at     timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX media_uploads_tenant_idx ON media_uploads (tenant_id, created_at);

-- Unprocessed message events, per number in arrival order (the chat projector's queue).
CREATE INDEX webhook_events_chat_idx ON webhook_events (instance_id, id)
    WHERE processed_at IS NULL AND event IN ('messages.upsert', 'send.message');

DO $$
DECLARE
    t text;
BEGIN
    FOREACH t IN ARRAY ARRAY['chat_settings', 'conversations', 'chat_messages', 'media_files', 'media_uploads']
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

-- Nothing moves between tenants, conversations or numbers.
GRANT UPDATE (opt_out_words, opt_in_words, opt_out_reply, opt_in_reply, send_read_receipts, updated_at) ON chat_settings TO waqtor_app;
GRANT UPDATE (lid, contact_id, profile_name, unread_count, last_message_id, last_message_at, updated_at) ON conversations TO waqtor_app;
GRANT UPDATE (wa_message_id, status, body, details, quoted_wa_id, reaction_to_wa_id, sender_name, media_state, media_kind, media_mime,
              media_file_name, media_size, media_sha256, media_attempts, media_next_attempt_at, error, campaign_id, lease_token,
              leased_until, attempt_count, next_attempt_at, updated_at) ON chat_messages TO waqtor_app;
GRANT UPDATE (received_bytes, completed_at) ON media_uploads TO waqtor_app;

-- Numbers with unprocessed message events, across tenants, oldest first (the projector then works
-- inside each tenant's transaction, under its policies).
-- (plpgsql, like the other cross-tenant functions: its body is resolved when it runs, in the
-- schema the migrations were applied to.)
CREATE FUNCTION chat_pending_instances(p_limit integer)
    RETURNS TABLE (tenant_id uuid, instance_id uuid)
    LANGUAGE plpgsql STABLE SECURITY DEFINER SET search_path = public, pg_temp
    AS $$
    BEGIN
        RETURN QUERY
            SELECT e.tenant_id, e.instance_id FROM webhook_events e
            WHERE e.processed_at IS NULL AND e.event IN ('messages.upsert', 'send.message')
            GROUP BY e.tenant_id, e.instance_id ORDER BY min(e.id) LIMIT p_limit;
    END
    $$;
REVOKE ALL ON FUNCTION chat_pending_instances(integer) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION chat_pending_instances(integer) TO waqtor_app;

-- Messages whose media is due for a fetch, across tenants.
CREATE FUNCTION chat_media_due(p_limit integer)
    RETURNS TABLE (tenant_id uuid, message_id uuid)
    LANGUAGE plpgsql STABLE SECURITY DEFINER SET search_path = public, pg_temp
    AS $$
    BEGIN
        RETURN QUERY
            SELECT m.tenant_id, m.id FROM chat_messages m
            WHERE m.media_state = 'pending' AND (m.media_next_attempt_at IS NULL OR m.media_next_attempt_at <= now())
            ORDER BY m.media_next_attempt_at NULLS FIRST LIMIT p_limit;
    END
    $$;
REVOKE ALL ON FUNCTION chat_media_due(integer) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION chat_media_due(integer) TO waqtor_app;

-- Numbers with replies waiting to be sent, across tenants (to rebuild reply lanes).
CREATE FUNCTION chat_unsent_replies(p_limit integer)
    RETURNS TABLE (tenant_id uuid, instance_id uuid, message_id uuid)
    LANGUAGE plpgsql STABLE SECURITY DEFINER SET search_path = public, pg_temp
    AS $$
    BEGIN
        RETURN QUERY
            SELECT m.tenant_id, m.instance_id, m.id FROM chat_messages m
            WHERE m.direction = 'outbound' AND m.status = 'pending'
              AND (m.leased_until IS NULL OR m.leased_until < now())
              AND (m.next_attempt_at IS NULL OR m.next_attempt_at <= now())
            ORDER BY m.instance_id, m.seq LIMIT p_limit;
    END
    $$;
REVOKE ALL ON FUNCTION chat_unsent_replies(integer) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION chat_unsent_replies(integer) TO waqtor_app;

-- The time an inbound opt-out or opt-in word was applied: a later word wins, whatever order the
-- events are processed in.
ALTER TABLE contacts ADD COLUMN consent_changed_at timestamptz;
GRANT UPDATE (consent_changed_at) ON contacts TO waqtor_app;
