-- A schema version 1 toride database, made by toride's store before schema version 2 (commit 39e92b4,
-- src/store/sqlite.c), with one survey stored (survey, observation, finding, probe_done events), dumped
-- with Python's sqlite3 iterdump. test_hp_store.c loads it to check that a v1 database is migrated.

BEGIN TRANSACTION;
CREATE TABLE finding (  survey TEXT NOT NULL, addr TEXT NOT NULL, addr_key BLOB NOT NULL, port INTEGER NOT NULL,  requirement TEXT NOT NULL, proto TEXT, verdict TEXT NOT NULL, proof TEXT NOT NULL,  rank INTEGER NOT NULL, summary TEXT, cred_user TEXT, cred_password TEXT,  vendor TEXT, product TEXT, dev_type TEXT, time TEXT, sensor TEXT,  event TEXT NOT NULL,  PRIMARY KEY (survey, addr, port, requirement)) STRICT;
INSERT INTO "finding" VALUES('v1-survey','192.0.2.5',X'00000000000000000000FFFFC0000205',23,'JP-34-10-2','telnet','fail','strong',10,'factory credentials root/xc3511 accepted','root','xc3511',NULL,NULL,NULL,'2026-02-01T09:00:02.000Z','v1-host toride/0.1.0','{"type":"finding","survey":"v1-survey","time":"2026-02-01T09:00:02.000Z","sensor":"v1-host toride/0.1.0","addr":"192.0.2.5","port":23,"proto":"telnet","requirement":"JP-34-10-2","verdict":"fail","proof":"strong","summary":"factory credentials root/xc3511 accepted","credential":{"user":"root","password":"xc3511"},"evidence":{"transcript":"login: root\\r\\nPassword: \\r\\n# "}}');
CREATE TABLE observation (  survey TEXT NOT NULL, addr TEXT NOT NULL, addr_key BLOB NOT NULL, port INTEGER NOT NULL,  kind TEXT NOT NULL, key BLOB NOT NULL, proto TEXT, time TEXT, sensor TEXT,  result TEXT, vendor TEXT, product TEXT, dev_type TEXT,  event TEXT NOT NULL,  PRIMARY KEY (survey, addr, port, kind, key)) STRICT;
INSERT INTO "observation" VALUES('v1-survey','192.0.2.5',X'00000000000000000000FFFFC0000205',23,'login_attempt',X'726F6F7400786333353131','telnet','2026-02-01T09:00:01.000Z','v1-host toride/0.1.0','accepted',NULL,NULL,NULL,'{"type":"observation","survey":"v1-survey","time":"2026-02-01T09:00:01.000Z","sensor":"v1-host toride/0.1.0","addr":"192.0.2.5","port":23,"proto":"telnet","kind":"login_attempt","data":{"user":"root","password":"xc3511","result":"accepted"}}');
CREATE TABLE probe_done (  survey TEXT NOT NULL, addr TEXT NOT NULL, port INTEGER NOT NULL, state TEXT NOT NULL,  time TEXT,  PRIMARY KEY (survey, addr, port)) STRICT, WITHOUT ROWID;
INSERT INTO "probe_done" VALUES('v1-survey','192.0.2.5',23,'open','2026-02-01T09:00:03.000Z');
CREATE TABLE survey (  seq INTEGER PRIMARY KEY,  id TEXT NOT NULL UNIQUE,  status TEXT NOT NULL,  started TEXT, ended TEXT, sensor TEXT,  params TEXT, counts TEXT,  event TEXT) STRICT;
INSERT INTO "survey" VALUES(1,'v1-survey','finished','2026-02-01T09:00:00.000Z','2026-02-01T09:01:00.000Z','v1-host toride/0.1.0','{"scope":["192.0.2.0/28"],"ports":[23]}','{"probes":16,"open":1,"findings":1}','{"type":"survey","survey":"v1-survey","time":"2026-02-01T09:01:00.000Z","sensor":"v1-host toride/0.1.0","status":"finished","counts":{"probes":16,"open":1,"findings":1}}');
CREATE TABLE survey_log (  survey TEXT NOT NULL, status TEXT NOT NULL, time TEXT NOT NULL,  event TEXT NOT NULL,  PRIMARY KEY (survey, status, time)) STRICT, WITHOUT ROWID;
INSERT INTO "survey_log" VALUES('v1-survey','finished','2026-02-01T09:01:00.000Z','{"type":"survey","survey":"v1-survey","time":"2026-02-01T09:01:00.000Z","sensor":"v1-host toride/0.1.0","status":"finished","counts":{"probes":16,"open":1,"findings":1}}');
INSERT INTO "survey_log" VALUES('v1-survey','started','2026-02-01T09:00:00.000Z','{"type":"survey","survey":"v1-survey","time":"2026-02-01T09:00:00.000Z","sensor":"v1-host toride/0.1.0","status":"started","params":{"scope":["192.0.2.0/28"],"ports":[23]}}');
CREATE INDEX observation_by_kind ON observation (survey, kind, addr_key, port);
CREATE INDEX finding_by_order ON finding (survey, addr_key, port, requirement);
CREATE INDEX finding_by_verdict ON finding (survey, verdict, requirement);
COMMIT;
PRAGMA application_id = 1414484553;
PRAGMA user_version = 1;
