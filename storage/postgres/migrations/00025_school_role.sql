-- +goose Up

-- The school role (issue 15): a school's staff, invited with the school's name and ward, see
-- only their own students. A school is compared by its key, campaign.SchoolKey: accents, case,
-- punctuation, spaces and a leading "trường" do not make another school, and the levels' full
-- names count as their abbreviations ("Trường Trung học cơ sở Linh Trung" is "thcs linh trung").

-- Invitations and staff take the role 'school' with the school's name (and, like the ward roles,
-- a ward: where the school stands). The role list is campaign.StaffRoles; the ward rule
-- campaign.Role.HasWard; the school rule campaign.Role.NeedsSchool.
ALTER TABLE invitations ADD COLUMN school text NOT NULL DEFAULT '';
ALTER TABLE invitations DROP CONSTRAINT invitations_role_check;
ALTER TABLE invitations ADD CONSTRAINT invitations_role_check CHECK (role IN ('city_official',
    'education_office', 'ward_official', 'womens_union', 'volunteer', 'culture_info', 'school'));
ALTER TABLE invitations DROP CONSTRAINT invitations_ward_check;
ALTER TABLE invitations ADD CONSTRAINT invitations_ward_check CHECK (
    (role IN ('ward_official', 'womens_union', 'school')) = (ward_code IS NOT NULL AND ward_code <> '')
    AND (ward_code IS NULL OR ward_code <> ''));
ALTER TABLE invitations ADD CONSTRAINT invitations_school_check CHECK ((role = 'school') = (school <> ''));

ALTER TABLE staff ADD COLUMN school text NOT NULL DEFAULT '';
ALTER TABLE staff DROP CONSTRAINT staff_role_check;
ALTER TABLE staff ADD CONSTRAINT staff_role_check CHECK (role IN ('city_official',
    'education_office', 'ward_official', 'womens_union', 'volunteer', 'culture_info', 'school'));
ALTER TABLE staff DROP CONSTRAINT staff_ward_check;
ALTER TABLE staff ADD CONSTRAINT staff_ward_check CHECK (
    (role IN ('ward_official', 'womens_union', 'school')) = (ward_code IS NOT NULL AND ward_code <> '')
    AND (ward_code IS NULL OR ward_code <> ''));
ALTER TABLE staff ADD CONSTRAINT staff_school_check CHECK ((role = 'school') = (school <> ''));

-- school_key_of is campaign.SchoolKey in SQL, rule for rule (storage tests check the two agree
-- on every letter of the table and on the levels' names): NFC; the letters that fold to one base
-- letter, and A-Z, as that letter in lower case; anything but a-z and 0-9 a space; spaces folded;
-- the levels' full names as their abbreviations, as whole words; a leading "truong", then "tr",
-- dropped. IMMUTABLE, so it can make a generated column.
-- +goose StatementBegin
CREATE FUNCTION school_key_of(name text) RETURNS text
LANGUAGE sql IMMUTABLE STRICT PARALLEL SAFE AS $$
    SELECT regexp_replace(regexp_replace(btrim(
        replace(replace(replace(replace(replace(
            ' ' || btrim(regexp_replace(translate(normalize(name, NFC),
                -- a-z, space and 0-9 first, as themselves: the letters most names are made of
                -- are found at once (translate scans this list for every character).
                'abcdefghijklmnopqrstuvwxyz 0123456789àáảãạăằắẳẵặâầấẩẫậèéẻẽẹê'
                || 'ềếểễệìíỉĩịòóỏõọôồốổỗộơờớởỡợùúủũụưừứửữựỳýỷỹỵđABCDEFGHIJKLMNOP'
                || 'QRSTUVWXYZÀÁẢÃẠĂẰẮẲẴẶÂẦẤẨẪẬÈÉẺẼẸÊỀẾỂỄỆÌÍỈĨỊÒÓỎÕỌÔỒỐỔỖỘƠỜỚỞỠỢ'
                || 'ÙÚỦŨỤƯỪỨỬỮỰỲÝỶỸỴĐÄÅÇËÎÏÑÖÛÜäåçëîïñöûüÿĀāĄąĆćĈĉĊċČčĎďĒēĔĕĖėĘę'
                || 'ĚěĜĝĞğĠġĢģĤĥĪīĬĭĮįİĴĵĶķĹĺĻļĽľŃńŅņŇňŌōŎŏŐőŔŕŖŗŘřŚśŜŝŞşŠšŢţŤťŪ'
                || 'ūŬŭŮůŰűŲųŴŵŶŷŸŹźŻżŽžǍǎǏǐǑǒǓǔǕǖǗǘǙǚǛǜǞǟǠǡǦǧǨǩǪǫǬǭǰǴǵǸǹǺǻȀȁȂȃȄ'
                || 'ȅȆȇȈȉȊȋȌȍȎȏȐȑȒȓȔȕȖȗȘșȚțȞȟȦȧȨȩȪȫȬȭȮȯȰȱȲȳḀḁḂḃḄḅḆḇḈḉḊḋḌḍḎḏḐḑḒḓḔ'
                || 'ḕḖḗḘḙḚḛḜḝḞḟḠḡḢḣḤḥḦḧḨḩḪḫḬḭḮḯḰḱḲḳḴḵḶḷḸḹḺḻḼḽḾḿṀṁṂṃṄṅṆṇṈṉṊṋṌṍṎṏṐ'
                || 'ṑṒṓṔṕṖṗṘṙṚṛṜṝṞṟṠṡṢṣṤṥṦṧṨṩṪṫṬṭṮṯṰṱṲṳṴṵṶṷṸṹṺṻṼṽṾṿẀẁẂẃẄẅẆẇẈẉẊẋẌ'
                || 'ẍẎẏẐẑẒẓẔẕẖẗẘẙ',
                'abcdefghijklmnopqrstuvwxyz 0123456789aaaaaaaaaaaaaaaaaeeeeee'
                || 'eeeeeiiiiiooooooooooooooooouuuuuuuuuuuyyyyydabcdefghijklmnop'
                || 'qrstuvwxyzaaaaaaaaaaaaaaaaaeeeeeeeeeeeiiiiiooooooooooooooooo'
                || 'uuuuuuuuuuuyyyyydaaceiinouuaaceiinouuyaaaaccccccccddeeeeeeee'
                || 'eegggggggghhiiiiiiijjkkllllllnnnnnnoooooorrrrrrssssssssttttu'
                || 'uuuuuuuuuwwyyyzzzzzzaaiioouuuuuuuuuuaaaaggkkoooojggnnaaaaaae'
                || 'eeeiiiioooorrrruuuusstthhaaeeooooooooyyaabbbbbbccdddddddddde'
                || 'eeeeeeeeeffgghhhhhhhhhhiiiikkkkkkllllllllmmmmmmnnnnnnnnooooo'
                || 'ooopppprrrrrrrrssssssssssttttttttuuuuuuuuuuvvvvwwwwwwwwwwxxx'
                || 'xyyzzzzzzhtwy'),
                '[^abcdefghijklmnopqrstuvwxyz0123456789]+', ' ', 'g')) || ' ',
            ' trung hoc co so ', ' thcs '),
            ' trung hoc pho thong ', ' thpt '),
            ' pho thong trung hoc ', ' thpt '),
            ' tieu hoc ', ' th '),
            ' pho thong co so ', ' ptcs ')),
        '^truong ', ''), '^tr ', '')
$$;
-- +goose StatementEnd

-- A registration's school as a key a school's scope compares (find, export). A generated column:
-- every write of the school (a chat's submit, a list's rows, a family's correction, an assisted
-- registration, an erasure that blanks it) keeps it in step, and the rows stored before are
-- filled in as the column is added.
ALTER TABLE registrations ADD COLUMN school_key text GENERATED ALWAYS AS (school_key_of(school)) STORED;
CREATE INDEX registrations_school_key_idx ON registrations (campaign_id, school_key);

-- +goose Down
DROP INDEX registrations_school_key_idx;
ALTER TABLE registrations DROP COLUMN school_key;
DROP FUNCTION school_key_of(text);
-- Schools' roles go with the role: their staff rows, invitations and their contacts' role.
DELETE FROM staff WHERE role = 'school';
DELETE FROM invitations WHERE role = 'school';
UPDATE contacts SET role = '', ward_code = NULL WHERE role = 'school';
ALTER TABLE staff DROP CONSTRAINT staff_school_check;
ALTER TABLE staff DROP CONSTRAINT staff_ward_check;
ALTER TABLE staff ADD CONSTRAINT staff_ward_check CHECK (
    (role IN ('ward_official', 'womens_union')) = (ward_code IS NOT NULL AND ward_code <> '')
    AND (ward_code IS NULL OR ward_code <> ''));
ALTER TABLE staff DROP CONSTRAINT staff_role_check;
ALTER TABLE staff ADD CONSTRAINT staff_role_check CHECK (role IN ('city_official',
    'education_office', 'ward_official', 'womens_union', 'volunteer', 'culture_info'));
ALTER TABLE staff DROP COLUMN school;
ALTER TABLE invitations DROP CONSTRAINT invitations_school_check;
ALTER TABLE invitations DROP CONSTRAINT invitations_ward_check;
ALTER TABLE invitations ADD CONSTRAINT invitations_ward_check CHECK (
    (role IN ('ward_official', 'womens_union')) = (ward_code IS NOT NULL AND ward_code <> '')
    AND (ward_code IS NULL OR ward_code <> ''));
ALTER TABLE invitations DROP CONSTRAINT invitations_role_check;
ALTER TABLE invitations ADD CONSTRAINT invitations_role_check CHECK (role IN ('city_official',
    'education_office', 'ward_official', 'womens_union', 'volunteer', 'culture_info'));
ALTER TABLE invitations DROP COLUMN school;
