/*
 * test_threads.c
 *	  Several threads, each with its own tree, plus one context handed from
 *	  thread to thread.
 *
 *  - The current and top contexts are per thread: every thread's differ
 *    from every other's, and switching in one thread does not move another.
 *  - Every live thread is listed in the process-wide registry with its top.
 *  - The block cache is per thread: a worker's reset fills its own cache
 *    only.
 *  - A context created by the main thread as a root is used by each worker
 *    in turn (a token passed under a mutex: one thread at a time); chunks
 *    allocated by one thread are verified, resized and freed by others.
 *  - Thread exit frees the thread's tree and cache: after join, the live
 *    block count is back where it was, plus the shared context's blocks.
 *
 * Workers cannot use the harness's counters (not thread-safe), so they
 * count failures in an atomic and print them; the main thread checks it.
 */
#define _POSIX_C_SOURCE 200809L
#include "../testhelper.h"
#include "../../src/chunk.h"

#include <mcxt/palloc.h>
#include <pthread.h>
#include <stdatomic.h>

extern mcxt_registry_t mcxt_registry;

#define NTHREADS	4
#define ROUNDS		30
#define MAX_SHARED	256

static atomic_int worker_failures;

#define WCHECK(expr) \
	do { \
		if (!(expr)) \
		{ \
			atomic_fetch_add(&worker_failures, 1); \
			fprintf(stderr, "\n  %s:%d: [thread %d] check failed: %s\n", \
					__FILE__, __LINE__, self->id, #expr); \
		} \
	} while (0)

typedef struct shared_chunk
{
	unsigned char *p;
	size_t		size;
	unsigned	seed;
} shared_chunk;

/* The handed context and its chunks: only the token holder touches them. */
static mcxt_context_t *shared_ctx;
static shared_chunk shared[MAX_SHARED];
static int	nshared;
static int	turn;				/* id of the thread holding the token */
static pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t cond = PTHREAD_COND_INITIALIZER;
static pthread_barrier_t barrier;

typedef struct worker
{
	int			id;
	pthread_t	thread;
	mcxt_context_t *top;
	mcxt_context_t *current_seen;
	unsigned	rng;
} worker;

static worker workers[NTHREADS];

static unsigned
wrand(worker *w)
{
	w->rng = w->rng * 1103515245u + 12345u;
	return w->rng >> 8;
}

static void
fill(unsigned char *p, size_t n, unsigned seed)
{
	for (size_t i = 0; i < n; i++)
		p[i] = (unsigned char) (seed + i * 13);
}

static bool
intact(const unsigned char *p, size_t n, unsigned seed)
{
	for (size_t i = 0; i < n; i++)
		if (p[i] != (unsigned char) (seed + i * 13))
			return false;
	return true;
}

/* One turn with the shared context. */
static void
shared_turn(worker *self)
{
	mcxt_accounting_t a;

	for (int i = 0; i < nshared; i++)
		WCHECK(intact(shared[i].p, shared[i].size, shared[i].seed));
	/* free a few chunks, whoever allocated them */
	for (int k = 0; k < 3 && nshared > 0; k++)
	{
		int			i = (int) (wrand(self) % (unsigned) nshared);

		WCHECK(mcxt_chunk_context(shared[i].p) == shared_ctx);
		pfree(shared[i].p);
		shared[i] = shared[--nshared];
	}
	/* resize one */
	if (nshared > 0)
	{
		int			i = (int) (wrand(self) % (unsigned) nshared);
		size_t		n = 1 + wrand(self) % 20000;
		size_t		keep = n < shared[i].size ? n : shared[i].size;

		shared[i].p = repalloc(shared[i].p, n);
		WCHECK(intact(shared[i].p, keep, shared[i].seed));
		shared[i].size = n;
		shared[i].seed = wrand(self);
		fill(shared[i].p, n, shared[i].seed);
	}
	/* allocate a few, through palloc with the shared context current here */
	{
		MemoryContext old = MemoryContextSwitchTo(shared_ctx);

		for (int k = 0; k < 5 && nshared < MAX_SHARED; k++)
		{
			size_t		n = wrand(self) % 10 == 0 ? 9000 + wrand(self) % 30000 : wrand(self) % 600;

			shared[nshared].p = palloc(n);
			shared[nshared].size = n;
			shared[nshared].seed = wrand(self);
			fill(shared[nshared].p, n, shared[nshared].seed);
			nshared++;
		}
		MemoryContextSwitchTo(old);
	}
	WCHECK(mcxt_check(shared_ctx) == 0);
	mcxt_get_accounting(shared_ctx, false, &a);
	WCHECK(a.bytes_alloc - a.bytes_freed == a.mem_allocated);
	WCHECK(a.mem_allocated == mcxt_mem_allocated(shared_ctx, false));
}

/* Work on the thread's own tree. */
static void
own_tree_work(worker *self, mcxt_context_t *mine)
{
	mcxt_context_t *child = AllocSetContextCreate(mine, "WorkerChild", ALLOCSET_SMALL_SIZES);
	char	   *keep = MemoryContextStrdup(mine, "kept across the child's resets");

	for (int r = 0; r < 5; r++)
	{
		MemoryContext old = MemoryContextSwitchTo(child);

		for (int i = 0; i < 200; i++)
		{
			char	   *s = psprintf("thread %d round %d item %d", self->id, r, i);

			WCHECK(GetMemoryChunkContext(s) == child);
			if (i % 3 == 0)
				pfree(s);
		}
		(void) palloc(50000);
		MemoryContextSwitchTo(old);
		MemoryContextReset(child);
		WCHECK(mcxt_is_empty(child));
	}
	WCHECK(strcmp(keep, "kept across the child's resets") == 0);
	WCHECK(mcxt_check(mcxt_top()) == 0);
}

static void *
worker_main(void *arg)
{
	worker	   *self = arg;
	mcxt_context_t *mine;
	mcxt_block_stats_t bs;

	/* a fresh thread has no current context until it uses the library */
	WCHECK(mcxt_current_context == NULL);
	self->top = mcxt_top();
	WCHECK(mcxt_current() == self->top);
	WCHECK(CurrentMemoryContext == self->top);
	mine = AllocSetContextCreate(TopMemoryContext, "WorkerTree", ALLOCSET_DEFAULT_SIZES);
	MemoryContextSwitchTo(mine);
	self->current_seen = CurrentMemoryContext;

	/* everybody has switched: compare with the others (main checks the rest) */
	pthread_barrier_wait(&barrier);
	WCHECK(CurrentMemoryContext == mine);
	for (int i = 0; i < NTHREADS; i++)
		if (&workers[i] != self)
			WCHECK(workers[i].top != self->top);
	pthread_barrier_wait(&barrier);		/* main checks the registry */
	pthread_barrier_wait(&barrier);

	/* own tree, with a reset that fills this thread's block cache */
	own_tree_work(self, mine);
	mcxt_block_stats(&bs);
	WCHECK(bs.cached_blocks > 0);
	pthread_barrier_wait(&barrier);		/* main checks its own cache is empty */
	pthread_barrier_wait(&barrier);

	/* the handed context */
	for (int r = 0; r < ROUNDS; r++)
	{
		pthread_mutex_lock(&lock);
		while (turn != self->id)
			pthread_cond_wait(&cond, &lock);
		pthread_mutex_unlock(&lock);

		shared_turn(self);

		pthread_mutex_lock(&lock);
		turn = (turn + 1) % NTHREADS;
		pthread_cond_broadcast(&cond);
		pthread_mutex_unlock(&lock);
	}
	WCHECK(CurrentMemoryContext == mine);
	/* leave the tree and the cache behind: thread exit must free them */
	return NULL;
}

static bool
registry_lists(mcxt_context_t *top)
{
	for (mcxt_thread_entry *e = mcxt_registry.threads; e != NULL; e = e->next)
		if (e->magic == MCXT_THREAD_MAGIC && (mcxt_context_t *) e->top == top)
			return true;
	return false;
}

static void
test_threads(void)
{
	mcxt_block_stats_t before, after;
	mcxt_context_t *main_top = mcxt_top();
	mcxt_context_t *main_cur;
	mcxt_counters_t sc;
	mcxt_counters_t sc0;

	main_cur = AllocSetContextCreate(main_top, "MainCurrent", ALLOCSET_SMALL_SIZES);
	MemoryContextSwitchTo(main_cur);
	shared_ctx = AllocSetContextCreate(NULL, "Shared", ALLOCSET_DEFAULT_SIZES);
	mcxt_block_cache_trim();
	mcxt_block_stats(&before);
	mcxt_mem_consumed(shared_ctx, false, &sc0);
	CHECK(memcmp(mcxt_registry.magic, MCXT_REGISTRY_MAGIC, 16) == 0);
	CHECK(registry_lists(main_top));

	REQUIRE(pthread_barrier_init(&barrier, NULL, NTHREADS + 1) == 0);
	for (int i = 0; i < NTHREADS; i++)
	{
		workers[i].id = i;
		workers[i].rng = 1000u + (unsigned) i;
		REQUIRE(pthread_create(&workers[i].thread, NULL, worker_main, &workers[i]) == 0);
	}
	pthread_barrier_wait(&barrier);
	/* every thread has its own top and current; ours did not move */
	CHECK(CurrentMemoryContext == main_cur);
	CHECK(mcxt_top() == main_top);
	for (int i = 0; i < NTHREADS; i++)
	{
		CHECK(workers[i].top != NULL && workers[i].top != main_top);
		CHECK(workers[i].current_seen != main_cur && workers[i].current_seen != workers[i].top);
		CHECK(mcxt_parent(workers[i].top) == NULL);
	}
	pthread_barrier_wait(&barrier);
	/* each live thread is in the registry, with its top context */
	CHECK(mcxt_registry.nthreads >= NTHREADS + 1);
	for (int i = 0; i < NTHREADS; i++)
		CHECK(registry_lists(workers[i].top));
	pthread_barrier_wait(&barrier);
	pthread_barrier_wait(&barrier);
	/* the workers' resets filled their caches, not ours */
	{
		mcxt_block_stats_t mid;

		mcxt_block_stats(&mid);
		CHECK_EQ(mid.cached_blocks, 0);
		CHECK_EQ(mid.cached_bytes, 0);
	}
	pthread_barrier_wait(&barrier);
	for (int i = 0; i < NTHREADS; i++)
		pthread_join(workers[i].thread, NULL);
	pthread_barrier_destroy(&barrier);
	CHECK_EQ(atomic_load(&worker_failures), 0);
	CHECK(CurrentMemoryContext == main_cur);

	/* the workers are gone from the registry, their trees and caches freed */
	for (int i = 0; i < NTHREADS; i++)
		CHECK(!registry_lists(workers[i].top));
	CHECK(registry_lists(main_top));
	mcxt_mem_consumed(shared_ctx, false, &sc);
	mcxt_block_stats(&after);
	CHECK(sc.nblocks > sc0.nblocks);
	CHECK_EQ(after.live_blocks, before.live_blocks - sc0.nblocks + sc.nblocks);
	CHECK_EQ(after.live_bytes, before.live_bytes - sc0.totalspace + sc.totalspace);
	CHECK_EQ(after.cached_blocks, 0);

	/* the handed context is intact and ours again */
	for (int i = 0; i < nshared; i++)
		CHECK(intact(shared[i].p, shared[i].size, shared[i].seed));
	CHECK_EQ(mcxt_check(shared_ctx), 0);
	mcxt_delete(shared_ctx);
	MemoryContextSwitchTo(main_top);
	mcxt_delete(main_cur);
}

/* A thread that exits without calling anything but palloc still cleans up. */
static void *
short_lived(void *arg)
{
	char	   *p = palloc(100000);

	p[0] = 1;
	(void) palloc(10);
	*(mcxt_context_t **) arg = mcxt_top();
	return NULL;
}

static void
test_thread_exit_cleanup(void)
{
	mcxt_block_stats_t before, after;

	mcxt_block_cache_trim();
	mcxt_block_stats(&before);
	for (int round = 0; round < 3; round++)
	{
		pthread_t	t;
		mcxt_context_t *top = NULL;

		REQUIRE(pthread_create(&t, NULL, short_lived, &top) == 0);
		pthread_join(t, NULL);
		CHECK(top != NULL);
		CHECK(!registry_lists(top));
		mcxt_block_stats(&after);
		CHECK_EQ(after.live_blocks, before.live_blocks);
		CHECK_EQ(after.live_bytes, before.live_bytes);
	}
}

/*
 * A worker builds a context under its own top, detaches it (a root) and
 * hands it over before exiting: the thread's exit frees its tree but not
 * the detached context, which the main thread goes on using and deletes.
 */
static mcxt_context_t *handed;
static char *handed_str;
static char *handed_big;

static void *
handover_worker(void *arg)
{
	/* sizes that are not recycled, so that every block can be seen to go back */
	mcxt_context_t *c = AllocSetContextCreate(TopMemoryContext, "Handover", 0, 4096, 65536);
	mcxt_context_t *sub = AllocSetContextCreate(c, "HandoverChild", 0, 2048, 8192);

	(void) arg;
	handed_str = MemoryContextStrdup(sub, "made by the worker");
	handed_big = MemoryContextAlloc(c, 100000);
	memset(handed_big, 0x42, 100000);
	for (int i = 0; i < 500; i++)
		(void) MemoryContextAlloc(c, 100);
	MemoryContextSetParent(c, NULL);
	handed = c;
	return NULL;
}

static void
test_handover_at_exit(void)
{
	pthread_t	t;
	mcxt_block_stats_t before, after;
	mcxt_counters_t hc;

	mcxt_block_cache_trim();
	mcxt_block_stats(&before);
	REQUIRE(pthread_create(&t, NULL, handover_worker, NULL) == 0);
	pthread_join(t, NULL);
	REQUIRE(handed != NULL);
	CHECK(mcxt_parent(handed) == NULL);
	CHECK_STR(handed_str, "made by the worker");
	CHECK(handed_big[0] == 0x42 && handed_big[99999] == 0x42);
	CHECK_EQ(mcxt_check(handed), 0);
	/* only the handed subtree outlives the thread */
	mcxt_mem_consumed(handed, true, &hc);
	mcxt_block_stats(&after);
	CHECK_EQ(after.live_bytes, before.live_bytes + hc.totalspace);
	CHECK_EQ(after.live_blocks, before.live_blocks + hc.nblocks);
	/* ours now: use it, free in it, delete it */
	(void) MemoryContextAlloc(handed, 5000);
	pfree(handed_big);
	MemoryContextDelete(handed);
	mcxt_block_cache_trim();
	mcxt_block_stats(&after);
	CHECK_EQ(after.live_blocks, before.live_blocks);
	CHECK_EQ(after.live_bytes, before.live_bytes);
}

int
main(void)
{
	th_catch_errors();
	RUN(test_threads);
	RUN(test_thread_exit_cleanup);
	RUN(test_handover_at_exit);
	mcxt_thread_cleanup();
	return th_report();
}
