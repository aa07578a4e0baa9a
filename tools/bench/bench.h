/* bench.h - maillage-bench, the command benchmark: durable commands per
 * second and their latency for a realistic mix sent by the organisations of
 * a platform over many pipelined mutual-TLS connections, and the server's
 * memory with many idle connections.
 *
 *   main.c    the command line, the run (prepare, mix, report) or --idle
 *   pool.c    the connections: one libevent loop, one org per connection,
 *             request slots (bounded in flight), replies matched by id
 *   book.c    the cases the benchmark made and the queues of work on them
 *   request.c the commands, each legal for its case
 *   prep.c    the cases made before the timed part (pipelined, not timed)
 *   mix.c     the timed part: the weighted mix, its pace, its figures
 *   server.c  what the server says of itself (Ping counters, /proc)
 *   idle.c    --idle: many connections that only say hello
 *
 * Everything runs on one thread, the one that dispatches pool->base.
 */
#ifndef MAILLAGE_BENCH_BENCH_H
#define MAILLAGE_BENCH_BENCH_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/socket.h>

#include "../benchlib/benchnet.h"

#define PROG "maillage-bench"
#define BENCH_TIMEOUT_MS 30000            /* blocking connections: each step */
#define BENCH_MAX_PARTNERS 8
#define BENCH_CASE_ID_MAX 48
#define BENCH_PREP_INFLIGHT 128           /* per connection while preparing */
#define BENCH_MAX_THREADS 16              /* server threads looked at in /proc */

struct bufferevent;
struct event;
struct event_base;

/* ------------------------------------------------------------------------- */
/* What is sent. */

/* The kinds of request. The mix draws from the first BENCH_MIX_KINDS. */
enum kind {
	K_VISIT,            /* RecordVisit, by the case's lead partner */
	K_STEP,             /* RecordProcedureStep, by the referring landlord */
	K_REFER,            /* ReferHousehold of a new household, by the landlord */
	K_PROPOSE,          /* ProposeRehousing, by the referring landlord */
	K_ANSWER,           /* AnswerProposal of a committed proposal, by the lead */
	K_ACK,              /* AcknowledgeReferral of a new referral, by coordination */
	K_CLOSE,            /* CloseSupport of a case set aside for it, by the lead */
	BENCH_MIX_KINDS,
	K_ACCEPT = BENCH_MIX_KINDS,   /* AcceptCase (preparation), by coordination */
	K_HELLO,            /* the first Ping of a connection */
	BENCH_KINDS,
};

/* The name of kind as the proto's Request field ("record_visit"). */
const char *kind_name(enum kind k);

/* ------------------------------------------------------------------------- */
/* The command line; read-only once parsed. */

struct bench_opts {
	const char *addr;
	const char *dev;            /* devsetup directory: ca.crt, ORG.crt, ORG.key */
	const char *platform;
	const char *landlord;
	const char *coordination;
	const char *partners[BENCH_MAX_PARTNERS];
	size_t n_partners;
	unsigned weight[BENCH_MIX_KINDS];   /* the mix, in parts */
	uint64_t connections;
	uint64_t seconds;
	uint64_t rate;              /* commands/s in all; 0 = as fast as possible */
	uint64_t inflight;          /* per connection */
	uint64_t cases;             /* cases in support shared by the mix */
	uint64_t close_cases;       /* set aside for CloseSupport; 0 = estimate */
	uint64_t idle;              /* --idle: connections; 0 = run the mix */
	uint64_t hold_s;            /* --idle: how long they are held */
	uint64_t drain_s;           /* how long the last replies may take */
	long server_pid;            /* for /proc figures; 0 = unknown */
	char token[9];              /* this run's mark in household names */
	char today[11];             /* YYYY-MM-DD, the dates of the commands */
};

/* ------------------------------------------------------------------------- */
/* Connections (pool.c). Each connection:
 *
 *   IDLE -> CONNECTING -> HELLO -> READY
 *              \____________\________\____> GONE
 *
 * HELLO: TLS is up and a Ping is out; READY once its Pong is back, so the
 * server has accepted the organisation.
 */

enum org_role {
	ROLE_LANDLORD,
	ROLE_COORDINATION,
	ROLE_PARTNER,
};

/* An organisation of the platform and its connections. */
struct org {
	const char *id;
	enum org_role role;
	unsigned partner;           /* ROLE_PARTNER: its index among partners */
	struct ssl_ctx_st *ctx;
	size_t *conns;              /* indexes in pool->conns */
	size_t n_conns;
	size_t next;                /* the connection to try first */
	size_t with_room;           /* READY connections with a free slot */
};

enum bconn_state {
	BCONN_IDLE,         /* not started */
	BCONN_CONNECTING,   /* TCP connect and TLS handshake under way */
	BCONN_HELLO,        /* the first Ping sent, its Pong not yet back */
	BCONN_READY,        /* requests may go */
	BCONN_GONE,         /* failed or closed; its requests are lost */
};

/* A request in flight. */
struct slot {
	uint64_t request_id;        /* 0: free */
	int64_t sent_us;            /* monotonic */
	enum kind kind;
	uint32_t ref;               /* the case (index in the book), or a job */
};

struct pool;

struct bconn {
	struct pool *pool;
	struct org *org;
	struct bufferevent *bev;    /* owns its SSL and socket */
	enum bconn_state state;     /* changes only in pool.c */
	size_t index;
	struct slot *slots;
	uint32_t *free_slots;       /* a stack of free slot numbers */
	uint32_t n_free, cap;
	uint32_t limit;             /* requests in flight at most (<= cap) */
	uint64_t seq;               /* requests sent */
};

/* The phase's hooks. on_reply gets every reply but the Pong of a HELLO (the
 * slot is freed after it returns); on_room runs after the replies of one
 * read, when slots may have been freed; on_settled once every connection
 * has started and none is connecting any more; on_lost when a connection
 * goes with requests in flight (given, in number). */
struct pool_hooks {
	void (*on_reply)(struct pool *p, struct bconn *c, const struct slot *s,
			 const mlc_response *resp, int64_t now_us);
	void (*on_room)(struct pool *p);
	void (*on_settled)(struct pool *p);
	void (*on_lost)(struct pool *p, struct bconn *c, uint32_t requests);
};

struct pool {
	const struct bench_opts *o;
	struct event_base *base;
	struct sockaddr_storage addr;
	int addrlen;
	struct org *orgs;
	size_t n_orgs;
	struct bconn *conns;
	size_t n_conns;
	size_t next_start;          /* connections started so far */
	size_t connecting, ready, gone;
	uint64_t inflight;          /* requests, every connection */
	unsigned reasons_shown;
	bool settled;
	bool failed;
	int64_t connect_start_us, settled_us;
	struct pool_hooks hooks;
	void *phase;                /* the phase's own state, for its hooks */
};

/* Set up p, zeroed by the caller: the organisations (landlord, coordination,
 * then the partners of o, their TLS contexts) and n_conns connections, each
 * with cap request slots, given to the organisations by share (the landlord
 * and coordination first when there are few): share[role] in parts, the
 * partners' split between them. 0, or -1 after printing why; pool_release()
 * in both cases. */
int pool_init(struct pool *p, const struct bench_opts *o, size_t n_conns, uint32_t cap,
	      const unsigned share[3]);

/* Start the connections that remain, BENCH_CONNECT_PARALLEL handshakes at a
 * time; once every one has started and none is connecting, on_settled. */
void pool_launch(struct pool *p);

/* A READY connection of org with a free slot under its limit, in turn;
 * NULL when there is none. */
struct bconn *pool_pick(struct pool *p, struct org *org);

/* Set the requests in flight allowed on every connection (<= cap). */
void pool_set_limit(struct pool *p, uint32_t limit);

/* Send req on c (READY, with room) as kind about ref: its request_id is set
 * here; the send time is taken now. 0, or -1 (c is then GONE). */
int bconn_send(struct bconn *c, mlc_request *req, enum kind kind, uint32_t ref);

/* The organisation of role (the first partner for ROLE_PARTNER), or of
 * partner number i. */
struct org *pool_org(struct pool *p, enum org_role role);
struct org *pool_partner(struct pool *p, unsigned i);

/* Close every connection and free what pool_init() made. */
void pool_release(struct pool *p);

/* ------------------------------------------------------------------------- */
/* The cases (book.c). */

/* A FIFO of case numbers. Zero-initialised = empty. */
struct ring {
	uint32_t *v;
	size_t head, n, cap;
};

int ring_push(struct ring *r, uint32_t x);
bool ring_pop(struct ring *r, uint32_t *x);
void ring_release(struct ring *r);

struct bcase {
	char id[BENCH_CASE_ID_MAX];   /* "" until its referral is answered */
	uint16_t lead;                /* partner index */
	uint32_t proposals;           /* committed ProposeRehousing */
	uint32_t answered;            /* AnswerProposal sent */
};

/* Every case of the run, by number, and the work waiting on them. */
struct book {
	struct bcase *cases;
	size_t n, cap;
	uint32_t *shared;                           /* in support, for every kind */
	size_t n_shared, cap_shared, next_shared;
	uint32_t *by_lead[BENCH_MAX_PARTNERS];      /* the same, per lead partner */
	size_t n_by_lead[BENCH_MAX_PARTNERS], cap_by_lead[BENCH_MAX_PARTNERS];
	size_t next_by_lead[BENCH_MAX_PARTNERS];
	struct ring to_answer[BENCH_MAX_PARTNERS];  /* one entry per open proposal */
	struct ring to_close[BENCH_MAX_PARTNERS];   /* set aside for CloseSupport */
	struct ring to_ack;                         /* referred, not acknowledged */
	uint64_t households;                        /* referred so far: names them */
};

/* A new case (its id to come), its number in *num. 0 or -1 (out of memory). */
int book_add(struct book *b, uint32_t *num);

/* Record id for case num. 0, or -1 when it does not fit. */
int book_set_id(struct book *b, uint32_t num, const char *id);

/* Share case num (in support, led by partner lead) with the mix. 0 or -1. */
int book_share(struct book *b, uint32_t num, unsigned lead);

void book_release(struct book *b);

/* ------------------------------------------------------------------------- */
/* Requests (request.c): build and send one command of kind on case num (for
 * K_REFER, the case its answer names, of a household never referred before)
 * on c, with a fresh command_id; n varies the details (visit mode, stage).
 * 0 or -1. */
int request_send(struct bconn *c, const struct bench_opts *o, struct book *b, enum kind kind,
		 uint32_t num, uint64_t n);

/* ------------------------------------------------------------------------- */
/* Phases. Each prints its figures; 0 done, 1 failed. */

/* Prepare the cases of the mix on p's connections (READY): referred,
 * acknowledged and accepted with a lead partner, pipelined; and the first
 * referrals to acknowledge. */
int prep_run(struct pool *p, struct book *b);

/* The mix for o->seconds, as fast as possible or at o->rate; *ok_per_s gets
 * the commands answered OK per second, *answered the commands answered. */
int mix_run(struct pool *p, struct book *b, double *ok_per_s, uint64_t *answered);

/* --idle: o->idle connections held o->hold_s seconds; the server's memory. */
int idle_run(const struct bench_opts *o);

/* ------------------------------------------------------------------------- */
/* What the server says of itself (server.c). */

struct server_snap {
	bool counted;                       /* Pong.counters was there */
	Maillage__V1__ServerCounters *c;    /* owned (the whole response) */
	mlc_response *resp;
	bool proc;                          /* /proc of pid was read */
	long pid;
	uint64_t cpu_ticks, rss_kb, hwm_kb, anon_kb;
	uint64_t write_bytes;               /* /proc/PID/io wchar: written */
	size_t n_threads;                   /* /proc/PID/task: cpu per thread */
	long tid[BENCH_MAX_THREADS];
	uint64_t tid_ticks[BENCH_MAX_THREADS];
	int64_t at_us;                      /* monotonic */
};

struct server_watch {
	const struct bench_opts *o;
	struct mlc *mlc;                    /* a blocking connection, kept */
};

/* Open w's connection (as the landlord). 0, or -1 after printing why. */
int server_watch_open(struct server_watch *w, const struct bench_opts *o);
void server_watch_close(struct server_watch *w);

/* Ask the server (Ping with counters) and read /proc. 0, or -1 when the
 * server did not answer (printed); s must be released. */
int server_snap_take(struct server_watch *w, struct server_snap *s);
void server_snap_release(struct server_snap *s);

/* Print what changed from a to b: batches, events per commit, commit time,
 * cpu, memory, commands by type and status ("n/a" without counters); with
 * /proc, cpu per thread and bytes written (per command: commands, if not 0). */
void server_print_run(const struct server_snap *a, const struct server_snap *b,
		      uint64_t commands);

/* Print the memory of the server in s (and the difference from a, for n
 * connections). */
void server_print_memory(const struct server_snap *a, const struct server_snap *b, size_t n);

/* The server's resident memory in s in bytes (counters, else /proc); 0 if
 * unknown. */
uint64_t server_rss_bytes(const struct server_snap *s);

#endif
