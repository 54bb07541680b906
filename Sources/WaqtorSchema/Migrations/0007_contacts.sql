-- Contacts and contact lists, under row-level security like every tenant table (the per-role
-- policies of 0004). See docs/CONTACTS.md.

CREATE TABLE contacts (
    id               uuid PRIMARY KEY DEFAULT gen_random_uuid(),
    tenant_id        uuid NOT NULL REFERENCES tenants (id) ON DELETE CASCADE,
    -- E.164 as libphonenumber formats it ('+' and 8 to 15 digits); unique per tenant.
    phone_number     text NOT NULL CHECK (phone_number LIKE '+%' AND length(phone_number) BETWEEN 8 AND 16),
    -- libphonenumber's number type: mobile, fixed_line, fixed_line_or_mobile, voip, ...
    phone_type       text NOT NULL DEFAULT 'unknown',
    -- ISO 3166-1 alpha-2 region of the number ('' when the number belongs to no region, e.g. +800).
    phone_region     text NOT NULL DEFAULT '',
    name             text NOT NULL DEFAULT '',
    -- Custom attributes: a JSON object of string values ({{key}} template variables).
    attributes       jsonb NOT NULL DEFAULT '{}' CHECK (jsonb_typeof(attributes) = 'object'),
    opted_out        boolean NOT NULL DEFAULT false,
    opt_out_time     timestamptz,
    -- Where the contact's consent state last came from.
    consent_source   text NOT NULL DEFAULT 'manual' CHECK (consent_source IN ('manual', 'import', 'inbound')),
    created_at       timestamptz NOT NULL DEFAULT now(),
    updated_at       timestamptz NOT NULL DEFAULT now(),
    CHECK (opted_out = (opt_out_time IS NOT NULL)),
    UNIQUE (tenant_id, phone_number),
    UNIQUE (id, tenant_id)
);
-- Keyset paging by name (then id), per tenant.
CREATE INDEX contacts_tenant_name_idx ON contacts (tenant_id, lower(name), id);

CREATE TABLE contact_lists (
    id          uuid PRIMARY KEY DEFAULT gen_random_uuid(),
    tenant_id   uuid NOT NULL REFERENCES tenants (id) ON DELETE CASCADE,
    name        text NOT NULL,
    description text NOT NULL DEFAULT '',
    created_at  timestamptz NOT NULL DEFAULT now(),
    UNIQUE (id, tenant_id)
);
CREATE UNIQUE INDEX contact_lists_tenant_name_idx ON contact_lists (tenant_id, lower(name));

CREATE TABLE contact_list_members (
    tenant_id  uuid NOT NULL,
    list_id    uuid NOT NULL,
    contact_id uuid NOT NULL,
    added_at   timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (list_id, contact_id),
    FOREIGN KEY (list_id, tenant_id) REFERENCES contact_lists (id, tenant_id) ON DELETE CASCADE,
    FOREIGN KEY (contact_id, tenant_id) REFERENCES contacts (id, tenant_id) ON DELETE CASCADE
);
CREATE INDEX contact_list_members_contact_idx ON contact_list_members (tenant_id, contact_id);

DO $$
DECLARE
    t text;
BEGIN
    FOREACH t IN ARRAY ARRAY['contacts', 'contact_lists', 'contact_list_members']
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

-- A contact never changes tenant or id; a list never changes tenant.
GRANT UPDATE (phone_number, phone_type, phone_region, name, attributes, opted_out, opt_out_time, consent_source, updated_at)
    ON contacts TO waqtor_app;
GRANT UPDATE (name, description) ON contact_lists TO waqtor_app;
