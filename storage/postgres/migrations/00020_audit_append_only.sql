-- +goose Up

-- The audit log cannot be rewritten (storage/postgres/audit.go): rows are only ever added. What
-- goes in names no family or donor (they act as 'family' and 'donor', subjects are codes) and
-- keeps no free text, so an erasure adds its tombstone and changes nothing here.
--
-- First, once, the rows written before this rule: what the erasures used to take out of them
-- goes now, while it still can. What a family did is by 'family', what a donor pledged by
-- 'donor'; an official's question and free-text reason, a volunteer's note on a device and the
-- words of a search are dropped (the question, the reason and the note stay in their own tables).
UPDATE audit_log SET actor = 'family'
WHERE actor NOT IN ('family', 'system')
  AND action IN ('registration.create', 'registration.answer', 'registration.message', 'registration.correct',
                 'registration.correction_request', 'delivery.handover', 'delivery.confirmed', 'delivery.not_received');
-- A withdrawal is the family's when made from the registration's chat; an administrator's stays
-- theirs.
UPDATE audit_log a SET actor = 'family'
FROM registrations r
WHERE a.action = 'registration.withdraw' AND a.subject = r.code AND r.chat_id <> ''
  AND a.actor IN (r.channel || ':' || r.chat_id, r.channel || ':' || r.user_id);
-- A family's erasure of its own data is the family's whatever chat it was made from.
UPDATE audit_log SET actor = 'family'
WHERE action = 'registration.erase' AND after->>'reason' = 'family_self' AND actor <> 'family';
UPDATE audit_log SET actor = 'donor' WHERE action = 'pledge.create' AND actor <> 'donor';
UPDATE audit_log SET after = after - 'text', before = before - 'text'
WHERE before ? 'text' OR after ? 'text';
UPDATE audit_log SET after = after - 'note', before = before - 'note'
WHERE before ? 'note' OR after ? 'note';
UPDATE audit_log SET after = (after - 'query') || '{"kind": "unknown"}'::jsonb
WHERE action = 'data.find' AND after ? 'query';

-- +goose StatementBegin
CREATE FUNCTION audit_log_append_only() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    RAISE EXCEPTION 'audit_log is append-only: % is refused', TG_OP
        USING ERRCODE = 'insufficient_privilege',
              HINT = 'Entries are never changed or removed; see migration 00020 for a deliberate purge.';
END
$$;
-- +goose StatementEnd

-- Statement triggers: they fire even when no row matches, and TRUNCATE has no rows to fire on.
-- They hold for every role but a superuser or the table's owner who first disables them
-- (ALTER TABLE audit_log DISABLE TRIGGER ...): that is the only way to purge the log, a
-- deliberate act of an operator, visible in the server's log of DDL, and the triggers come back
-- with ENABLE TRIGGER. The bot never does it.
CREATE TRIGGER audit_log_no_update_delete BEFORE UPDATE OR DELETE ON audit_log
    FOR EACH STATEMENT EXECUTE FUNCTION audit_log_append_only();
CREATE TRIGGER audit_log_no_truncate BEFORE TRUNCATE ON audit_log
    FOR EACH STATEMENT EXECUTE FUNCTION audit_log_append_only();

-- The privileges say the same where they count: nobody is granted a change of the log, the
-- role that migrates (the owner, which the bot usually is) gives its own up too. An owner or a
-- superuser can grant them back, which is why the triggers are what makes the rule hold.
REVOKE UPDATE, DELETE, TRUNCATE ON audit_log FROM PUBLIC;
REVOKE UPDATE, DELETE, TRUNCATE ON audit_log FROM CURRENT_USER;

-- +goose Down
GRANT UPDATE, DELETE, TRUNCATE ON audit_log TO CURRENT_USER;
DROP TRIGGER audit_log_no_truncate ON audit_log;
DROP TRIGGER audit_log_no_update_delete ON audit_log;
DROP FUNCTION audit_log_append_only();
-- The rows cleaned on the way up stay as they are: what they lost cannot come back.
