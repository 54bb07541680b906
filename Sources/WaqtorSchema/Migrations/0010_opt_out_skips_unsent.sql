-- A contact that opts out is never sent to again: its unsent campaign messages (PENDING or QUEUED)
-- become SKIPPED with the reason, whatever path changed its consent (the API, an import, an
-- inbound opt-out word). A trigger, so that no path can forget it.

CREATE FUNCTION contacts_opt_out_skips_unsent() RETURNS trigger
    LANGUAGE plpgsql SECURITY DEFINER SET search_path = public, pg_temp
    AS $$
    BEGIN
        UPDATE campaign_recipients r SET state = 'skipped', error = 'opted out', updated_at = now()
        FROM new_rows n JOIN old_rows o ON o.id = n.id
        WHERE n.opted_out AND NOT o.opted_out
          AND r.tenant_id = n.tenant_id AND r.contact_id = n.id AND r.state IN ('pending', 'queued');
        RETURN NULL;
    END
    $$;
REVOKE ALL ON FUNCTION contacts_opt_out_skips_unsent() FROM PUBLIC;

CREATE TRIGGER contacts_opt_out_skips_unsent AFTER UPDATE ON contacts
    REFERENCING OLD TABLE AS old_rows NEW TABLE AS new_rows
    FOR EACH STATEMENT EXECUTE FUNCTION contacts_opt_out_skips_unsent();
