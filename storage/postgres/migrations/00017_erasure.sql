-- +goose Up

-- Erasure (PrivacyStore, storage/postgres/privacy.go): a registration, its child's row, its
-- delivery and a donor's pledge can lose their personal data and keep what the figures and the
-- donors' traceability need. erased_at says when; the checks below let an erased row be blank
-- where a live one never may.
ALTER TABLE registrations ADD COLUMN erased_at timestamptz;
ALTER TABLE students ADD COLUMN erased_at timestamptz;
ALTER TABLE deliveries ADD COLUMN erased_at timestamptz;
ALTER TABLE pledges ADD COLUMN erased_at timestamptz;

-- An erased registration has no parent's name or phone (its chat, school and address are '',
-- which the old checks already allowed).
ALTER TABLE registrations DROP CONSTRAINT registrations_parent_name_check;
ALTER TABLE registrations ADD CONSTRAINT registrations_parent_name_check
    CHECK (parent_name <> '' OR erased_at IS NOT NULL);
ALTER TABLE registrations DROP CONSTRAINT registrations_parent_phone_check;
ALTER TABLE registrations ADD CONSTRAINT registrations_parent_phone_check
    CHECK (parent_phone ~ '^\+[1-9][0-9]{6,14}$' OR (erased_at IS NOT NULL AND parent_phone = ''));

-- An erased child has no name and the birth date 0001-01-01, which reads back as Go's zero time:
-- the readers of birth_date (registrations, exports) need a date, and this one is nobody's.
ALTER TABLE students DROP CONSTRAINT students_full_name_check;
ALTER TABLE students ADD CONSTRAINT students_full_name_check CHECK (full_name <> '' OR erased_at IS NOT NULL);
ALTER TABLE students DROP CONSTRAINT students_name_key_check;
ALTER TABLE students ADD CONSTRAINT students_name_key_check CHECK (name_key <> '' OR erased_at IS NOT NULL);

-- A delivery handed over keeps its status and dates, not the recipient's name.
ALTER TABLE deliveries DROP CONSTRAINT deliveries_delivered_check;
ALTER TABLE deliveries ADD CONSTRAINT deliveries_delivered_check CHECK (
    (status = 'pending') = (delivered_at IS NULL)
    AND (status = 'confirmed') = (confirmed_at IS NOT NULL)
    AND (status = 'pending' OR recipient_name <> '' OR erased_at IS NOT NULL));

-- An anonymised pledge has no chat, phone or pickup address, and an individual's no name.
ALTER TABLE pledges DROP CONSTRAINT pledges_chat_id_check;
ALTER TABLE pledges ADD CONSTRAINT pledges_chat_id_check CHECK (chat_id <> '' OR erased_at IS NOT NULL);
ALTER TABLE pledges DROP CONSTRAINT pledges_donor_name_check;
ALTER TABLE pledges ADD CONSTRAINT pledges_donor_name_check CHECK (donor_name <> '' OR erased_at IS NOT NULL);
ALTER TABLE pledges DROP CONSTRAINT pledges_phone_check;
ALTER TABLE pledges ADD CONSTRAINT pledges_phone_check
    CHECK (phone ~ '^\+[1-9][0-9]{6,14}$' OR (erased_at IS NOT NULL AND phone = ''));
ALTER TABLE pledges DROP CONSTRAINT pledges_pickup_check;
ALTER TABLE pledges ADD CONSTRAINT pledges_pickup_check CHECK (
    delivery <> 'pickup' OR (pickup_address <> '' AND pickup_date IS NOT NULL) OR erased_at IS NOT NULL);

-- An erased registration or pledge belongs to no chat: its chat_id is ''. Audiences (broadcasts,
-- pledge reminders) are read from these tables and leave out the contacts who stopped the bot,
-- so PrivacyStore keeps, on each channel it erased on, a stopped contact of chat '': nobody is
-- ever queued for chat '' (the outbox refuses an empty chat).

-- +goose Down
DELETE FROM contacts WHERE external_id = '';
-- The checks of before come back only while nothing is erased: restoring erased data is not
-- possible, and a Down over erased rows fails here rather than leave them unchecked.
ALTER TABLE pledges DROP CONSTRAINT pledges_pickup_check;
ALTER TABLE pledges ADD CONSTRAINT pledges_pickup_check
    CHECK (delivery <> 'pickup' OR (pickup_address <> '' AND pickup_date IS NOT NULL));
ALTER TABLE pledges DROP CONSTRAINT pledges_phone_check;
ALTER TABLE pledges ADD CONSTRAINT pledges_phone_check CHECK (phone ~ '^\+[1-9][0-9]{6,14}$');
ALTER TABLE pledges DROP CONSTRAINT pledges_donor_name_check;
ALTER TABLE pledges ADD CONSTRAINT pledges_donor_name_check CHECK (donor_name <> '');
ALTER TABLE pledges DROP CONSTRAINT pledges_chat_id_check;
ALTER TABLE pledges ADD CONSTRAINT pledges_chat_id_check CHECK (chat_id <> '');
ALTER TABLE deliveries DROP CONSTRAINT deliveries_delivered_check;
ALTER TABLE deliveries ADD CONSTRAINT deliveries_delivered_check CHECK (
    (status = 'pending') = (delivered_at IS NULL)
    AND (status = 'confirmed') = (confirmed_at IS NOT NULL)
    AND (status = 'pending' OR recipient_name <> ''));
ALTER TABLE students DROP CONSTRAINT students_name_key_check;
ALTER TABLE students ADD CONSTRAINT students_name_key_check CHECK (name_key <> '');
ALTER TABLE students DROP CONSTRAINT students_full_name_check;
ALTER TABLE students ADD CONSTRAINT students_full_name_check CHECK (full_name <> '');
ALTER TABLE registrations DROP CONSTRAINT registrations_parent_phone_check;
ALTER TABLE registrations ADD CONSTRAINT registrations_parent_phone_check CHECK (parent_phone ~ '^\+[1-9][0-9]{6,14}$');
ALTER TABLE registrations DROP CONSTRAINT registrations_parent_name_check;
ALTER TABLE registrations ADD CONSTRAINT registrations_parent_name_check CHECK (parent_name <> '');
ALTER TABLE pledges DROP COLUMN erased_at;
ALTER TABLE deliveries DROP COLUMN erased_at;
ALTER TABLE students DROP COLUMN erased_at;
ALTER TABLE registrations DROP COLUMN erased_at;
