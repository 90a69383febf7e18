/*
 * redo_leak.c
 *	  A synthetic "startup process": it replays a stream of WAL-like records
 *	  forever, the way a PostgreSQL or Greenplum standby does, and one redo
 *	  routine leaks.
 *
 * This reproduces the leak of our story (a Greenplum startup process that
 * grew by 12 GB in two weeks): the append-only truncate redo routine builds
 * the database directory path with psprintf("base/%u", dboid), as
 * GetDatabasePath() does, and never frees it.  Redo runs in
 * TopMemoryContext, so every leaked path is a 128-byte chunk there (psprintf
 * starts with a 128-byte buffer), and nothing is ever reset.  Every other
 * redo routine frees what it allocates, and the caches of a real startup
 * process (relation cache entries, the smgr table, a per-record decode
 * context) are there as honest noise.
 *
 * Usage: redo_leak [--records N] [--seed S] [--truth FILE] [--stats FILE] [--wait]
 *                  [--watch HOURS [--watch-json]] [--stats-on-signal FILE] [--sites]
 *   --records N  replay N records (default 300000)
 *   --truth FILE write what the program knows about its own leak (count,
 *                chunk size, family, stride, the address of one leaked
 *                chunk) so a test can check the diagnosis
 *   --stats FILE write mcxt_stats_json of TopMemoryContext: the tree as the
 *                library itself reports it
 *   --wait       after replaying, print "ready PID ROUND" and wait, so that
 *                a core can be taken (make demo does this); each SIGUSR1
 *                replays --records more records, rewrites the files and
 *                prints "ready" again with the next round number
 *   --watch HOURS  replay HOURS rounds of --records records (an "hour" of
 *                WAL each); take a snapshot of TopMemoryContext before the
 *                first and after each, and print the diff: what grew in
 *                that hour, largest first.  The leak shows in hour 1.
 *                --watch-json prints the diffs as JSON instead.
 *   --stats-on-signal FILE  SIGUSR2 makes the replay loop append the
 *                statistics to FILE ("-": stderr) at its next record (the
 *                per-record reset is the safe point)
 *   --sites      at the end, print the allocation sites of TopMemoryContext
 *                and its children, largest first (redo_leak_sites, built
 *                with the MCXT_SITES library; the plain build says it has
 *                none)
 */
#define _POSIX_C_SOURCE 200809L
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <mcxt/palloc.h>

typedef enum RmgrId
{
	RM_HEAP_INSERT,
	RM_BTREE_INSERT,
	RM_XACT_COMMIT,
	RM_AO_TRUNCATE,				/* the leaking one */
	RM_SMGR_CREATE,
	RM_NUM
} RmgrId;

typedef struct WalRecord
{
	RmgrId		rmid;
	uint32_t	dbNode;
	uint32_t	relNode;
	uint32_t	datalen;
} WalRecord;

typedef struct RelCacheEntry
{
	uint32_t	relNode;
	char	   *relname;
	char	   *path;
	struct RelCacheEntry *next;
} RelCacheEntry;

static MemoryContext CacheMemoryContext;
static MemoryContext RecordDecodeContext;
static RelCacheEntry *relcache[256];
static uint64_t rng_state;
static uint64_t nleaked;
/*
 * One leaked chunk's address, for --truth.  Kept disguised: a plain
 * pointer would be a reference to that chunk, and the forensics tool would
 * rightly count it as referenced.
 */
#define DISGUISE UINT64_C(0x5A5A5A5A5A5A5A5A)
static uint64_t last_leaked_disguised;

static uint64_t
next_random(void)
{
	/* splitmix64: a fixed stream for a given seed */
	uint64_t	z = (rng_state += UINT64_C(0x9E3779B97F4A7C15));

	z = (z ^ (z >> 30)) * UINT64_C(0xBF58476D1CE4E5B9);
	z = (z ^ (z >> 27)) * UINT64_C(0x94D049BB133111EB);
	return z ^ (z >> 31);
}

/* As PostgreSQL's GetDatabasePath for the default tablespace. */
static char *
GetDatabasePath(uint32_t dbNode)
{
	return psprintf("base/%u", dbNode);
}

static RelCacheEntry *
relcache_lookup(uint32_t dbNode, uint32_t relNode)
{
	RelCacheEntry **bucket = &relcache[relNode % 256];
	RelCacheEntry *e;
	MemoryContext old;

	for (e = *bucket; e != NULL; e = e->next)
		if (e->relNode == relNode)
			return e;
	old = MemoryContextSwitchTo(CacheMemoryContext);
	e = palloc0(sizeof(*e));
	e->relNode = relNode;
	e->relname = psprintf("public.rel_%u", relNode);
	e->path = psprintf("base/%u/%u", dbNode, relNode);
	e->next = *bucket;
	*bucket = e;
	MemoryContextSwitchTo(old);
	return e;
}

/* Decoding a record: scratch space in a context reset after every record. */
static char *
decode_record(const WalRecord *rec)
{
	MemoryContext old = MemoryContextSwitchTo(RecordDecodeContext);
	char	   *buf = palloc(rec->datalen);

	memset(buf, 'x', rec->datalen);
	MemoryContextSwitchTo(old);
	return buf;
}

static void
heap_insert_redo(const WalRecord *rec)
{
	RelCacheEntry *rel = relcache_lookup(rec->dbNode, rec->relNode);
	char	   *tuple = palloc(rec->datalen);

	memcpy(tuple, rel->relname, strlen(rel->relname) < rec->datalen
		   ? strlen(rel->relname) : rec->datalen);
	pfree(tuple);
}

static void
btree_insert_redo(const WalRecord *rec)
{
	char	   *path = psprintf("base/%u/%u", rec->dbNode, rec->relNode);

	pfree(path);
}

static void
xact_commit_redo(const WalRecord *rec)
{
	uint32_t   *xids = palloc_array(uint32_t, 16);

	for (int i = 0; i < 16; i++)
		xids[i] = rec->relNode + (uint32_t) i;
	pfree(xids);
}

/*
 * The bug: the database path is built and never freed.  (Greenplum's
 * ao_truncate_replay had exactly this shape.)
 */
static void
ao_truncate_redo(const WalRecord *rec)
{
	char	   *dbpath = GetDatabasePath(rec->dbNode);

	(void) dbpath;				/* ... used to build the segment file names ... */
	nleaked++;
	last_leaked_disguised = (uint64_t) (uintptr_t) dbpath ^ DISGUISE;
}

static void
smgr_create_redo(const WalRecord *rec)
{
	char	   *path = psprintf("base/%u/%u", rec->dbNode, rec->relNode);
	char	   *fork = psprintf("%s_fsm", path);

	pfree(fork);
	pfree(path);
}

static void
next_record(WalRecord *rec)
{
	uint64_t	r = next_random();
	unsigned	pick = (unsigned) (r % 100);

	/* one record in five is an append-only truncate */
	if (pick < 50)
		rec->rmid = RM_HEAP_INSERT;
	else if (pick < 70)
		rec->rmid = RM_BTREE_INSERT;
	else if (pick < 78)
		rec->rmid = RM_XACT_COMMIT;
	else if (pick < 98)
		rec->rmid = RM_AO_TRUNCATE;
	else
		rec->rmid = RM_SMGR_CREATE;
	rec->dbNode = 16392;
	rec->relNode = 16384 + (uint32_t) ((r >> 8) % 500);
	rec->datalen = 32 + (uint32_t) ((r >> 20) % 200);
}

static void
replay(long nrecords)
{
	WalRecord	rec;

	/* the startup process replays in TopMemoryContext */
	MemoryContextSwitchTo(TopMemoryContext);
	for (long n = 0; n < nrecords; n++)
	{
		next_record(&rec);
		(void) decode_record(&rec);
		switch (rec.rmid)
		{
			case RM_HEAP_INSERT:
				heap_insert_redo(&rec);
				break;
			case RM_BTREE_INSERT:
				btree_insert_redo(&rec);
				break;
			case RM_XACT_COMMIT:
				xact_commit_redo(&rec);
				break;
			case RM_AO_TRUNCATE:
				ao_truncate_redo(&rec);
				break;
			case RM_SMGR_CREATE:
				smgr_create_redo(&rec);
				break;
			case RM_NUM:
				break;
		}
		MemoryContextReset(RecordDecodeContext);
	}
}

static int
write_files(const char *truth, const char *stats, long replayed, int round)
{
	if (truth != NULL)
	{
		FILE	   *f = fopen(truth, "w");

		if (f == NULL)
		{
			perror(truth);
			return 1;
		}
		fprintf(f, "context=TopMemoryContext\nchunk_size=128\nfamily=base/%%u\n"
				"count=%llu\nstride=%zu\nsample_addr=0x%llx\nrecords=%ld\nround=%d\n",
				(unsigned long long) nleaked, (size_t) 128 + sizeof(uint64_t),
				(unsigned long long) (last_leaked_disguised ^ DISGUISE), replayed, round);
		fclose(f);
	}
	if (stats != NULL)
	{
		FILE	   *f = fopen(stats, "w");

		if (f == NULL || mcxt_stats_json(TopMemoryContext, f) != 0)
		{
			perror(stats);
			return 1;
		}
		fclose(f);
	}
	return 0;
}

int
main(int argc, char **argv)
{
	long		nrecords = 300000;
	long		replayed = 0;
	const char *truth = NULL;
	const char *stats = NULL;
	int			wait = 0;
	int			watch = 0;
	int			watch_flags = 0;
	const char *dump_file = NULL;
	int			sites = 0;
	int			round = 1;
	sigset_t	usr1;
	mcxt_snapshot_t *before = NULL;

	rng_state = 42;
	for (int i = 1; i < argc; i++)
	{
		if (strcmp(argv[i], "--records") == 0 && i + 1 < argc)
			nrecords = atol(argv[++i]);
		else if (strcmp(argv[i], "--seed") == 0 && i + 1 < argc)
			rng_state = strtoull(argv[++i], NULL, 10);
		else if (strcmp(argv[i], "--truth") == 0 && i + 1 < argc)
			truth = argv[++i];
		else if (strcmp(argv[i], "--stats") == 0 && i + 1 < argc)
			stats = argv[++i];
		else if (strcmp(argv[i], "--wait") == 0)
			wait = 1;
		else if (strcmp(argv[i], "--watch") == 0 && i + 1 < argc)
			watch = atoi(argv[++i]);
		else if (strcmp(argv[i], "--watch-json") == 0)
			watch_flags = MCXT_DIFF_JSON;
		else if (strcmp(argv[i], "--stats-on-signal") == 0 && i + 1 < argc)
			dump_file = argv[++i];
		else if (strcmp(argv[i], "--sites") == 0)
			sites = 1;
		else
		{
			fprintf(stderr, "usage: %s [--records N] [--seed S] [--truth FILE] [--stats FILE] [--wait]"
					" [--watch HOURS [--watch-json]] [--stats-on-signal FILE] [--sites]\n", argv[0]);
			return 2;
		}
	}

	/* SIGUSR1 is taken synchronously, between records, never in a handler */
	sigemptyset(&usr1);
	sigaddset(&usr1, SIGUSR1);
	sigprocmask(SIG_BLOCK, &usr1, NULL);

	MemoryContextInit();
	CacheMemoryContext = AllocSetContextCreate(TopMemoryContext, "CacheMemoryContext",
											   ALLOCSET_DEFAULT_SIZES);
	RecordDecodeContext = AllocSetContextCreate(TopMemoryContext, "WAL record decoding",
												ALLOCSET_SMALL_SIZES);
	if (dump_file != NULL)
		mcxt_stats_on_signal(SIGUSR2, dump_file);
	/* a snapshot is malloc'd: taking one changes nothing it measures */
	if (watch > 0)
		before = mcxt_snapshot(TopMemoryContext);
	for (;;)
	{
		int			sig;

		replay(nrecords);
		replayed += nrecords;
		printf("replayed %ld records; %llu leaked chunks of 128 bytes (base/%%u) in TopMemoryContext\n",
			   replayed, (unsigned long long) nleaked);
		if (write_files(truth, stats, replayed, round) != 0)
			return 1;
		if (watch > 0)
		{
			mcxt_snapshot_t *now = mcxt_snapshot(TopMemoryContext);

			if (watch_flags == 0)
				printf("hour %d: ", round);
			if (mcxt_snapshot_diff(before, now, watch_flags, stdout) != 0)
				return 1;
			mcxt_snapshot_free(before);
			before = now;
			if (round == watch)
				break;
			round++;
			continue;
		}
		if (!wait)
			break;
		printf("ready %d %d\n", (int) getpid(), round);
		fflush(stdout);
		if (sigwait(&usr1, &sig) != 0)
			return 1;
		round++;
	}
	mcxt_snapshot_free(before);
	if (sites)
		(void) mcxt_sites_report(TopMemoryContext, true, 10, stdout);
	MemoryContextStats(TopMemoryContext);
	mcxt_thread_cleanup();
	return 0;
}
