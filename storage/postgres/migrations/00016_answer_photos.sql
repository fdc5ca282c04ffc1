-- +goose Up

-- A parent answers officials' question with a photo as well as words (the certificate asked
-- for): the note keeps the channel's reference to it, and the notice to the official carries it.
ALTER TABLE registration_notes
    ADD COLUMN photo_id      text NOT NULL DEFAULT '',
    ADD COLUMN photo_channel text NOT NULL DEFAULT '';
ALTER TABLE registration_notes DROP CONSTRAINT registration_notes_body_check;
ALTER TABLE registration_notes ADD CONSTRAINT registration_notes_body_check CHECK (body <> '' OR photo_id <> '');
ALTER TABLE outbox
    ADD COLUMN photo_id      text NOT NULL DEFAULT '',
    ADD COLUMN photo_channel text NOT NULL DEFAULT '';

-- +goose Down
ALTER TABLE outbox DROP COLUMN photo_channel, DROP COLUMN photo_id;
DELETE FROM registration_notes WHERE body = '';
ALTER TABLE registration_notes DROP CONSTRAINT registration_notes_body_check;
ALTER TABLE registration_notes ADD CONSTRAINT registration_notes_body_check CHECK (body <> '');
ALTER TABLE registration_notes DROP COLUMN photo_channel, DROP COLUMN photo_id;
