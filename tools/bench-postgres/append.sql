-- append.sql - one maillage command for pgbench (tools/bench-postgres.sh): a
-- single autocommitted INSERT, so one durable transaction per event.
--
-- Variables given with -D: cases (streams in all, at most 999999), n_clients
-- (pgbench -c), body (the event's bytes, without backslashes).
--
-- Streams are split between clients: client c appends only to the cases
-- numbered c + 1 modulo n_clients. Two transactions reading the same
-- max(version) would otherwise collide on unique (stream, version), and
-- pgbench 15 retries only serialization failures and deadlocks: a unique
-- violation would abort the client. Disjoint streams are also what maillage
-- gets for free: its single writer thread serialises the appends, so its
-- commands never conflict either, and two people acting on the same case in
-- the same millisecond are rare. Each append still reads its stream's head,
-- as maillage does to check and assign the version.
\set k random(0, (:cases - 1 - :client_id) / :n_clients)
\set case_no 1 + :client_id + :k * :n_clients
-- The command id is made by the client, 126 random bits in 16 bytes.
\set id_hi random(0, 9223372036854775806)
\set id_lo random(0, 9223372036854775806)
WITH s AS (SELECT 'VNX-2026-' || lpad(CAST(:case_no AS text), 6, '0') AS stream)
INSERT INTO events (stream, version, command_id, body)
SELECT s.stream,
	coalesce((SELECT max(e.version) FROM events e WHERE e.stream = s.stream), 0) + 1,
	int8send(:id_hi) || int8send(:id_lo),
	CAST(:body AS bytea)
FROM s;
