-- +goose Up

-- submit_registration also stores a registration staff make on a family's behalf (source
-- 'assisted', issue 15), which was a transaction of its own in Go repeating the same steps: the
-- two copies of the rules (the idempotency key, the lock on the child's key, the student, the
-- possible duplicates, the code) are one again. It takes three more inputs, last and with
-- defaults, so a call with the 26 of migration 00002 (a replica still on the previous release
-- while another migrates) stores a chat's registration as before:
--   p_source         'chat' or 'assisted';
--   p_registered_by  the staff member ("channel:id") who registered the family, '' for a chat's;
--   p_witness        who saw the family consent in person, '' for a chat's.
-- A registration without a chat (p_channel or p_chat '') makes no contact: the family gets one
-- when it claims the registration. The "registration.create" audit row of a registration that is
-- not a chat's says its source; an assisted one adds a "registration.assist" row with the
-- witness, the consent's time (as Go writes a time in JSON: RFC 3339 in UTC, "Z", the fraction
-- without trailing zeros) and whether a phone was given. Both are by p_actor, the staff member.
-- The signature changes, so the function is dropped and made again, in this one transaction.
DROP FUNCTION submit_registration;

-- +goose StatementBegin
CREATE FUNCTION submit_registration(
    p_key text, p_campaign text, p_prefix text, p_sequence text, p_child_key text,
    p_student_name text, p_name_key text, p_birth_date date, p_ward text,
    p_channel text, p_chat text, p_user text, p_language text,
    p_parent_name text, p_phone text, p_level text, p_grade integer, p_school text, p_address text,
    p_circumstances text[], p_circumstance_other text, p_situation text, p_needs text[],
    p_consent timestamptz, p_now timestamptz, p_actor text,
    p_source text DEFAULT 'chat', p_registered_by text DEFAULT '', p_witness text DEFAULT ''
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
    v_consent timestamp;
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
        idempotency_key, possible_duplicate_of, consent_at, created_at, updated_at,
        source, registered_by, consent_witness)
    VALUES (
        p_campaign, v_code, 'submitted', p_channel, p_chat, p_user, p_language,
        p_parent_name, p_phone, v_student, p_level, p_grade, p_school, p_ward, p_address,
        p_circumstances, p_circumstance_other, p_situation, p_needs,
        p_key, v_dups, p_consent, p_now, p_now,
        p_source, p_registered_by, p_witness)
    ON CONFLICT (idempotency_key) DO NOTHING
    RETURNING registrations.id INTO v_id;
    IF v_id IS NULL THEN
        RAISE EXCEPTION 'idempotency key taken by a concurrent submit' USING ERRCODE = 'MT001';
    END IF;

    -- The parent becomes a contact the campaign can write to about this registration, when the
    -- registration came from the parent's chat.
    IF p_channel <> '' AND p_chat <> '' THEN
        INSERT INTO contacts (channel, external_id, name, language, created_at, updated_at)
        VALUES (p_channel, p_chat, p_parent_name, p_language, p_now, p_now)
        ON CONFLICT (channel, external_id) DO UPDATE
           SET name = EXCLUDED.name, language = EXCLUDED.language, stopped = false,
               updated_at = EXCLUDED.updated_at;
    END IF;

    -- Nothing that names or locates the family goes into the audit log.
    INSERT INTO audit_log (at, actor, action, subject, before, after)
    VALUES (p_now, p_actor, 'registration.create', v_code, NULL,
            jsonb_build_object('code', v_code, 'ward', p_ward, 'level', p_level, 'grade', p_grade,
                               'status', 'submitted', 'possible_duplicate', cardinality(v_dups) > 0)
            || CASE WHEN p_source = 'chat' THEN '{}'::jsonb
                    ELSE jsonb_build_object('source', p_source) END);
    -- Who saw the family consent, and when: the code and the ward, nothing of the family.
    IF p_source = 'assisted' THEN
        v_consent := p_consent AT TIME ZONE 'UTC';
        INSERT INTO audit_log (at, actor, action, subject, before, after)
        VALUES (p_now, p_actor, 'registration.assist', v_code, NULL,
                jsonb_build_object('code', v_code, 'ward', p_ward, 'witness', p_witness,
                                   'consent_at', to_char(v_consent, 'YYYY-MM-DD"T"HH24:MI:SS')
                                       || coalesce('.' || nullif(rtrim(to_char(v_consent, 'US'), '0'), ''), '')
                                       || 'Z',
                                   'phone_given', p_phone <> ''));
    END IF;

    RETURN QUERY SELECT true, v_id, v_code, v_student, v_name, v_dups;
END
$$;
-- +goose StatementEnd

-- +goose Down
DROP FUNCTION submit_registration;

-- The function of migration 00002, as it was.
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
