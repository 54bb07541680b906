-- What the gateway's webhooks carry about a number's connection, kept so the stored state
-- converges to the gateway's (docs/WEBHOOKS.md, "State changes"; InstanceConnection in
-- Sources/WaqtorTenants):
--
-- - profile_name: the WhatsApp profile name of the paired number (connection.update open,
--   `profileName`). The paired number itself (`wuid`) goes into the existing phone_number.
-- - state_gateway_time: the envelope `date_time` of the newest webhook applied to the state. The
--   gateway (Evolution API 2.3.6) writes its local wall-clock time with a `Z` suffix, so this is
--   a timestamp without time zone, only ever compared with later `date_time`s of the same gateway:
--   an older event (a late `connecting` after the `open` that followed it) changes nothing.
-- - state_changed_at: when the stored state last changed (our clock).
-- - paired: an `open` was seen since the last logout, so a `connecting` is a reconnect of the
--   paired session, not a pairing in progress.
-- - pairing_number: the digits of the number the gateway's pending pairing session was started
--   for (NULL: a QR code only), so a pairing code is never handed out for another number.
-- - logout_requested: WaQtor asked the gateway to log the number out and no `open` came since; the
--   logged-out (401) close the gateway then posts is a plain close, not a ban.
--
-- Same pattern as 0003: the application role gets UPDATE on exactly the new columns; the row-level
-- security policies (0004) cover the table, not columns, and need no change.

ALTER TABLE instances
    ADD COLUMN profile_name       text,
    ADD COLUMN state_gateway_time timestamp(3),
    ADD COLUMN state_changed_at   timestamptz,
    ADD COLUMN paired             boolean NOT NULL DEFAULT false,
    ADD COLUMN pairing_number     text CHECK (pairing_number ~ '^[0-9]{7,15}$'),
    ADD COLUMN logout_requested   boolean NOT NULL DEFAULT false;

UPDATE instances SET state_changed_at = coalesce(last_event_at, updated_at), paired = (state = 'open');

ALTER TABLE instances
    ALTER COLUMN state_changed_at SET DEFAULT now(),
    ALTER COLUMN state_changed_at SET NOT NULL;

GRANT UPDATE (profile_name, state_gateway_time, state_changed_at, paired, pairing_number, logout_requested)
    ON instances TO waqtor_app;
