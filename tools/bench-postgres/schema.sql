-- schema.sql - maillage's event log as a PostgreSQL table (tools/bench-postgres.sh).
--
-- One row per event, as in maillage's LMDB databases (server/evlog.h):
--   position     the dense log position (events: position -> event)
--   stream       the case id, e.g. VNX-2026-000123
--   version      the event's rank in its stream; unique (stream, version)
--                is maillage's streams database (case id, version -> position)
--   command_id   the 16 bytes the client gives each command; unique, as in
--                maillage's commands database (a retried command is not
--                appended twice)
--   recorded_at  stamped by the server
--   body         the encoded event
-- A logged (WAL-protected) table: no UNLOGGED, the comparison is of durable
-- appends.
CREATE TABLE events (
	position bigserial PRIMARY KEY,
	stream text NOT NULL,
	version int NOT NULL,
	command_id bytea NOT NULL UNIQUE,
	recorded_at timestamptz NOT NULL DEFAULT now(),
	body bytea NOT NULL,
	UNIQUE (stream, version)
);
