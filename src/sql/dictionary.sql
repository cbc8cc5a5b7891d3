
--
-- The national data dictionary: data elements, code lists, classification.
-- (src/sql/dictionary.sql; the national profile's rows are in
-- src/sql/profile_vn.sql.)
--

-- Administrators of the dictionary, agencies and rules.  Roles are
-- cluster-wide, so a second database's CREATE EXTENSION finds it made.
DO $$
BEGIN
	IF NOT EXISTS (SELECT FROM pg_roles WHERE rolname = 'govshare_admin') THEN
		CREATE ROLE govshare_admin NOLOGIN;
	END IF;
END
$$;

CREATE TYPE govshare.sensitivity AS ENUM ('public', 'internal', 'personal', 'sensitive');
COMMENT ON TYPE govshare.sensitivity IS
	'public < internal < personal (basic personal data) < sensitive (sensitive personal data)';

-- Code lists: versioned lists of codes with validity dates.
CREATE TABLE govshare.code_list (
	list		text PRIMARY KEY CHECK (list ~ '^[a-z][a-z0-9_]*$'),
	name_vi		text NOT NULL,
	name_en		text NOT NULL,
	description	text,
	source		text,			-- the legal instrument or standard
	shipped		boolean NOT NULL DEFAULT false
);
COMMENT ON TABLE govshare.code_list IS 'code lists of the national data dictionary';

CREATE TABLE govshare.code (
	list		text NOT NULL REFERENCES govshare.code_list ON UPDATE CASCADE,
	code		text NOT NULL,
	name_vi		text NOT NULL,
	name_en		text,
	parent		text,			-- e.g. the province of a ward
	successor	text,			-- the code that replaced it (same list or the list's successor)
	valid_from	date NOT NULL DEFAULT '1900-01-01',
	valid_until	date,			-- exclusive; NULL while in force
	shipped		boolean NOT NULL DEFAULT false,
	PRIMARY KEY (list, code, valid_from),
	CHECK (valid_until IS NULL OR valid_until > valid_from)
);
COMMENT ON TABLE govshare.code IS 'codes of the code lists, with validity dates';

CREATE TABLE govshare.element (
	code		text PRIMARY KEY CHECK (code ~ '^[a-z][a-z0-9_]*(\.[a-z][a-z0-9_]*)+$'),
	name_vi		text NOT NULL,
	name_en		text NOT NULL,
	description	text,
	datatype	regtype NOT NULL,
	sensitivity	govshare.sensitivity NOT NULL,
	code_list	text REFERENCES govshare.code_list ON UPDATE CASCADE,
	subject_key	boolean NOT NULL DEFAULT false,	-- identifies a data subject
	legal_basis	text,
	shipped		boolean NOT NULL DEFAULT false
);
COMMENT ON TABLE govshare.element IS 'data elements of the national data dictionary';
