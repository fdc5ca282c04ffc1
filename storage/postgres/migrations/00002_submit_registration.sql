-- +goose Up

-- submit_registration stores a registration in one round trip (the bot's busiest write: a submit
-- made of ten statements queued for up to 0.5 s when 200 parents submitted together). It returns
-- o_created = false, and nothing else, when the idempotency key is already stored; it raises
-- SQLSTATE MT001 when a concurrent submit of the same key won, so this one rolls back whole.
-- Every statement of a VOLATILE function takes a fresh snapshot, so after the advisory lock on the
-- child's key the look-up sees a registration of the same child committed meanwhile.
-- +goose StatementBegin
CREATE FUNCTION submit_registration(
    p_key text, p_campaign text, p_prefix text, p_sequence text, p_child_key text,
    p_student_name text, p_name_key text, p_birth_date date, p_ward text,
    p_channel text, p_chat text, p_user text, p_language text,
    p_parent_name text, p_phone text, p_level text, p_grade integer, p_school text, p_address text,
    p_circumstances text[], p_circumstance_other text, p_situation text, p_needs text[],
    p_consent timestamptz, p_now timestamptz, p_actor text
) RETURNS TABLE (
    o_created boolean, o_id bigint, o_code text, o_student_id bigint, o_student_name text,
    o_duplicate_of text[]
)
LANGUAGE plpgsql VOLATILE AS $$
DECLARE
    v_student bigint;
    v_name    text;
    v_dups    text[] := '{}';
    v_number  bigint;
    v_code    text;
    v_id      bigint;
BEGIN
    PERFORM 1 FROM registrations r WHERE r.idempotency_key = p_key;
    IF FOUND THEN
        RETURN QUERY SELECT false, NULL::bigint, NULL::text, NULL::bigint, NULL::text, NULL::text[];
        RETURN;
    END IF;

    PERFORM pg_advisory_xact_lock(hashtextextended(p_child_key, 0));
    SELECT s.id, s.full_name INTO v_student, v_name
      FROM students s
     WHERE s.campaign_id = p_campaign AND s.name_key = p_name_key
       AND s.birth_date = p_birth_date AND s.ward_code = p_ward
     ORDER BY s.id LIMIT 1;
    IF FOUND THEN
        SELECT coalesce(array_agg(r.code ORDER BY r.id), '{}') INTO v_dups
          FROM registrations r WHERE r.student_id = v_student;
    ELSE
        INSERT INTO students (campaign_id, full_name, name_key, birth_date, ward_code, created_at)
        VALUES (p_campaign, p_student_name, p_name_key, p_birth_date, p_ward, p_now)
        RETURNING students.id INTO v_student;
        v_name := p_student_name;
    END IF;

    v_number := nextval(p_sequence::regclass);
    v_code := p_prefix || '-' || CASE WHEN v_number < 1000000 THEN lpad(v_number::text, 6, '0')
                                      ELSE v_number::text END;

    INSERT INTO registrations (
        campaign_id, code, status, channel, chat_id, user_id, language,
        parent_name, parent_phone, student_id, level, grade, school, ward_code, address,
        circumstances, circumstance_other, device_situation, needs,
        idempotency_key, possible_duplicate_of, consent_at, created_at, updated_at)
    VALUES (
        p_campaign, v_code, 'submitted', p_channel, p_chat, p_user, p_language,
        p_parent_name, p_phone, v_student, p_level, p_grade, p_school, p_ward, p_address,
        p_circumstances, p_circumstance_other, p_situation, p_needs,
        p_key, v_dups, p_consent, p_now, p_now)
    ON CONFLICT (idempotency_key) DO NOTHING
    RETURNING registrations.id INTO v_id;
    IF v_id IS NULL THEN
        RAISE EXCEPTION 'idempotency key taken by a concurrent submit' USING ERRCODE = 'MT001';
    END IF;

    -- The parent becomes a contact the campaign can write to about this registration.
    INSERT INTO contacts (channel, external_id, name, language, created_at, updated_at)
    VALUES (p_channel, p_chat, p_parent_name, p_language, p_now, p_now)
    ON CONFLICT (channel, external_id) DO UPDATE
       SET name = EXCLUDED.name, language = EXCLUDED.language, stopped = false,
           updated_at = EXCLUDED.updated_at;

    -- Nothing that names or locates the family goes into the audit log.
    INSERT INTO audit_log (at, actor, action, subject, before, after)
    VALUES (p_now, p_actor, 'registration.create', v_code, NULL,
            jsonb_build_object('code', v_code, 'ward', p_ward, 'level', p_level, 'grade', p_grade,
                               'status', 'submitted', 'possible_duplicate', cardinality(v_dups) > 0));

    RETURN QUERY SELECT true, v_id, v_code, v_student, v_name, v_dups;
END
$$;
-- +goose StatementEnd

-- +goose Down
DROP FUNCTION submit_registration;
