/*
 * test_errors.c
 *	  Error paths: invalid sizes, out of memory through a block source that
 *	  fails on demand (and SQLite-style fault injection), the default
 *	  handler (in a child process), and the block statistics going back to
 *	  zero at cleanup.  Bad pointers are in test_badptr.c.
 *
 * Every error is caught by a handler that records the code and longjmps
 * back (testhelper.h, EXPECT_ERROR); after each one the context involved
 * must still pass mcxt_check and be usable, since the library promises a
 * handler may longjmp out.
 *
 */
#define _POSIX_C_SOURCE 200809L
#include "../testhelper.h"
#include "../unit/asetsim.h"

#include <mcxt/palloc.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

/* ---- a block source that counts and fails on demand ---------------------- */

typedef struct src_state
{
	long		live_blocks;
	long		live_bytes;
	long		nrequests;		/* alloc + realloc calls */
	long		fail_at;		/* fail the request with this number (1-based), 0: never */
	size_t		fail_above;		/* fail every request larger than this, 0: never */
	bool		fail_all;
	size_t		last_request;
	long		nfailed;
} src_state;

static src_state src;

static bool
src_should_fail(size_t size)
{
	src.nrequests++;
	src.last_request = size;
	if (src.fail_all || (src.fail_at != 0 && src.nrequests == src.fail_at) ||
		(src.fail_above != 0 && size > src.fail_above))
	{
		src.nfailed++;
		return true;
	}
	return false;
}

static void *
src_alloc(size_t size, void *arg)
{
	void	   *p;

	if (src_should_fail(size))
		return NULL;
	p = malloc(size);
	if (p != NULL)
	{
		src.live_blocks++;
		src.live_bytes += (long) size;
	}
	return p;
}

static void *
src_realloc(void *block, size_t old_size, size_t new_size, void *arg)
{
	void	   *p;

	if (src_should_fail(new_size))
		return NULL;
	p = realloc(block, new_size);
	if (p != NULL)
		src.live_bytes += (long) new_size - (long) old_size;
	return p;
}

static void
src_free(void *block, size_t size, void *arg)
{
	src.live_blocks--;
	src.live_bytes -= (long) size;
	free(block);
}

static const mcxt_block_source_t counting_source = {src_alloc, src_realloc, src_free, &src};

static void
src_no_failures(void)
{
	src.fail_at = 0;
	src.fail_above = 0;
	src.fail_all = false;
}

/* The library's view of its blocks must match the source's. */
#define CHECK_BLOCKS_MATCH() \
	do { \
		mcxt_block_stats_t bs_; \
		mcxt_block_stats(&bs_); \
		CHECK_EQ(bs_.live_blocks, (uint64_t) src.live_blocks); \
		CHECK_EQ(bs_.live_bytes, (uint64_t) src.live_bytes); \
	} while (0)

/* ---- sizes ---------------------------------------------------------------- */

static void
test_invalid_sizes(void)
{
	mcxt_context_t *ctx = mcxt_aset_create(mcxt_top(), "Sizes", ALLOCSET_DEFAULT_SIZES);
	void	   *volatile r = (void *) 1;
	char	   *p = mcxt_alloc(ctx, 50);
	long		before;

	strcpy(p, "survivor");
	src_no_failures();
	/* no block source failure below: the source must not even be asked */
	before = src.nrequests;
	EXPECT_ERROR(MCXT_ERR_INVALID_SIZE, r = mcxt_alloc(ctx, SIZE_MAX));
	CHECK(th_err_ctx == ctx);
	EXPECT_ERROR(MCXT_ERR_INVALID_SIZE, r = mcxt_alloc(ctx, MaxAllocSize + 1));
	EXPECT_ERROR(MCXT_ERR_INVALID_SIZE, r = mcxt_alloc(ctx, SIZE_MAX / 2));
	EXPECT_ERROR(MCXT_ERR_INVALID_SIZE, r = mcxt_alloc_zero(ctx, MaxAllocSize + 1));
	EXPECT_ERROR(MCXT_ERR_INVALID_SIZE, r = mcxt_alloc_extended(ctx, MaxAllocSize + 1, 0));
	/* even with NO_OOM: a bad size is a bug, not a shortage */
	EXPECT_ERROR(MCXT_ERR_INVALID_SIZE, r = mcxt_alloc_extended(ctx, MaxAllocSize + 1, MCXT_ALLOC_NO_OOM));
	EXPECT_ERROR(MCXT_ERR_INVALID_SIZE, r = mcxt_alloc_extended(ctx, SIZE_MAX, MCXT_ALLOC_NO_OOM | MCXT_ALLOC_ZERO));
	/* HUGE allows up to SIZE_MAX / 2, no more */
	EXPECT_ERROR(MCXT_ERR_INVALID_SIZE, r = mcxt_alloc_extended(ctx, SIZE_MAX, MCXT_ALLOC_HUGE));
	EXPECT_ERROR(MCXT_ERR_INVALID_SIZE, r = mcxt_alloc_extended(ctx, SIZE_MAX / 2 + 1, MCXT_ALLOC_HUGE | MCXT_ALLOC_NO_OOM));
	EXPECT_ERROR(MCXT_ERR_INVALID_SIZE, r = mcxt_alloc_extended(ctx, SIZE_MAX - 7, MCXT_ALLOC_HUGE));
	/* repalloc: same limits; the chunk survives */
	EXPECT_ERROR(MCXT_ERR_INVALID_SIZE, r = mcxt_realloc(p, SIZE_MAX));
	EXPECT_ERROR(MCXT_ERR_INVALID_SIZE, r = mcxt_realloc(p, MaxAllocSize + 1));
	EXPECT_ERROR(MCXT_ERR_INVALID_SIZE, r = mcxt_realloc_extended(p, MaxAllocSize + 1, MCXT_ALLOC_NO_OOM));
	EXPECT_ERROR(MCXT_ERR_INVALID_SIZE, r = mcxt_realloc_extended(p, SIZE_MAX, MCXT_ALLOC_HUGE | MCXT_ALLOC_NO_OOM));
	CHECK(r == (void *) 1);
	CHECK_EQ(src.nrequests, before);
	CHECK_STR(p, "survivor");
	CHECK(mcxt_chunk_context(p) == ctx);
	/* pnstrdup / sprintf results above the limit are invalid sizes too */
	CHECK_EQ(mcxt_check(ctx), 0);
	mcxt_delete(ctx);
}

/* ---- out of memory ------------------------------------------------------- */

static void
test_oom(void)
{
	mcxt_context_t *ctx = mcxt_aset_create(mcxt_top(), "OomCtx", ALLOCSET_DEFAULT_SIZES);
	void	   *volatile r = (void *) 1;
	char	   *p;
	char	   *s8;
	char		want[128];

	mcxt_block_cache_trim();
	/* valid HUGE sizes reach the block source, which fails */
	src_no_failures();
	src.fail_above = 512 * 1024 * 1024;
	EXPECT_ERROR(MCXT_ERR_OOM, r = mcxt_alloc_extended(ctx, SIZE_MAX / 2, MCXT_ALLOC_HUGE));
	CHECK(src.last_request >= SIZE_MAX / 2);
	CHECK(th_err_ctx == ctx);
	snprintf(want, sizeof(want), "Failed on request of size %zu", SIZE_MAX / 2);
	CHECK_MSG(strstr(th_err_msg, want) != NULL && strstr(th_err_msg, "OomCtx") != NULL &&
			  strstr(th_err_msg, "out of memory") != NULL, "message: %s", th_err_msg);
	CHECK(r == (void *) 1);
	r = mcxt_alloc_extended(ctx, SIZE_MAX / 2, MCXT_ALLOC_HUGE | MCXT_ALLOC_NO_OOM);
	CHECK(r == NULL);
	EXPECT_ERROR(MCXT_ERR_OOM, r = mcxt_alloc_extended(ctx, MaxAllocSize + 1, MCXT_ALLOC_HUGE));
	CHECK(src.last_request > MaxAllocSize);
	r = mcxt_alloc_extended(ctx, MaxAllocSize, MCXT_ALLOC_NO_OOM);
	CHECK(r == NULL);
	CHECK(src.last_request >= MaxAllocSize);

	/* every source request fails: small allocations while the keeper has room still work */
	src_no_failures();
	src.fail_all = true;
	p = mcxt_alloc(ctx, 100);
	CHECK(mcxt_chunk_context(p) == ctx);
	r = mcxt_alloc_extended(ctx, 100000, MCXT_ALLOC_NO_OOM);
	CHECK(r == NULL);
	EXPECT_ERROR(MCXT_ERR_OOM, r = mcxt_alloc(ctx, 100000));
	snprintf(want, sizeof(want), "Failed on request of size %d", 100000);
	CHECK_MSG(strstr(th_err_msg, want) != NULL, "message: %s", th_err_msg);
	/* fill the keeper: the next small chunk needs a block */
	for (int i = 0; i < 200; i++)
	{
		r = mcxt_alloc_extended(ctx, 100, MCXT_ALLOC_NO_OOM);
		if (r == NULL)
			break;
	}
	CHECK(r == NULL);
	EXPECT_ERROR(MCXT_ERR_OOM, r = mcxt_alloc(ctx, 100));
	MemoryContextSwitchTo(ctx);
	EXPECT_ERROR(MCXT_ERR_OOM, r = palloc_extended(100, 0));
	MemoryContextSwitchTo(mcxt_top());

	/* repalloc with NO_OOM: NULL, the old chunk valid and intact */
	src_no_failures();
	p = mcxt_alloc(ctx, 30000);
	memset(p, 0x3C, 30000);
	s8 = mcxt_alloc(ctx, 8);
	memcpy(s8, "1234567", 8);
	src.fail_all = true;
	r = mcxt_realloc_extended(p, 60000, MCXT_ALLOC_NO_OOM);
	CHECK(r == NULL);
	CHECK(p[0] == 0x3C && p[29999] == 0x3C);
	CHECK(mcxt_chunk_context(p) == ctx);
	CHECK_EQ(mcxt_chunk_space(p), sim_space(8192, 30000));
	EXPECT_ERROR(MCXT_ERR_OOM, r = mcxt_realloc(p, 60000));
	CHECK(p[0] == 0x3C && p[29999] == 0x3C);
	/* small -> large fails the same way */
	r = mcxt_realloc_extended(s8, 50000, MCXT_ALLOC_NO_OOM);
	CHECK(r == NULL);
	CHECK_STR(s8, "1234567");
	CHECK(mcxt_chunk_context(s8) == ctx);
	/* a huge repalloc reaches the source: NULL with NO_OOM, OOM without */
	src_no_failures();
	src.fail_above = 512 * 1024 * 1024;
	r = mcxt_realloc_extended(p, MaxAllocSize + 1, MCXT_ALLOC_HUGE | MCXT_ALLOC_NO_OOM);
	CHECK(r == NULL);
	CHECK(src.last_request > MaxAllocSize);
	EXPECT_ERROR(MCXT_ERR_OOM, r = mcxt_realloc_extended(p, SIZE_MAX / 2, MCXT_ALLOC_HUGE));
	CHECK(p[0] == 0x3C && p[29999] == 0x3C);
	r = mcxt_realloc_extended(s8, MaxAllocSize + 1, MCXT_ALLOC_HUGE | MCXT_ALLOC_NO_OOM);
	CHECK(r == NULL);
	CHECK_STR(s8, "1234567");
	src.fail_all = true;
	/* creating a context when the source fails */
	EXPECT_ERROR(MCXT_ERR_OOM, (void) mcxt_aset_create(ctx, "NoRoom", 0, 4096, 65536));
	src_no_failures();
	r = mcxt_realloc(p, 60000);
	CHECK(((char *) r)[29999] == 0x3C);
	CHECK_EQ(mcxt_check(ctx), 0);
	CHECK_BLOCKS_MATCH();
	mcxt_delete(ctx);
}

/*
 * Fault injection in the manner of SQLite's faultsim: run a sequence that
 * takes several blocks, failing the 1st, 2nd, 3rd ... request to the block
 * source until the sequence completes; after each failure the tree must be
 * healthy and every block accounted for.
 */
static mcxt_context_t *volatile fi_ctx;
static char *volatile fi_big;

static void
fi_sequence(void)
{
	fi_ctx = mcxt_aset_create(mcxt_top(), "FaultSim", 0, 2048, 16384);
	for (int i = 0; i < 60; i++)
		mcxt_alloc(fi_ctx, (size_t) (i * 61 % 1500));
	fi_big = mcxt_alloc(fi_ctx, 40000);
	memset(fi_big, 7, 40000);
	fi_big = mcxt_realloc(fi_big, 90000);
	{
		mcxt_context_t *child = mcxt_aset_create(fi_ctx, "FaultChild", 0, 1024, 8192);

		for (int i = 0; i < 20; i++)
			mcxt_alloc(child, 500);
	}
	fi_big = mcxt_realloc(fi_big, 50000);
}

static void
test_fault_injection(void)
{
	int			k;
	volatile bool done = false;

	mcxt_block_cache_set_limit(0);
	mcxt_block_cache_trim();
	for (k = 1; k < 200 && !done; k++)
	{
		src_no_failures();
		fi_ctx = NULL;
		fi_big = NULL;
		src.nrequests = 0;
		src.fail_at = k;
		th_set_note("failing request %d", k);
		th_err_code = 0;
		mcxt_set_error_handler(th_error_handler);
		if (setjmp(th_err_jmp) == 0)
		{
			th_err_armed = true;
			fi_sequence();
			th_err_armed = false;
			done = true;
			CHECK(src.nfailed == 0 || src.nrequests < k);
		}
		else
			CHECK_EQ(th_err_code, MCXT_ERR_OOM);
		src_no_failures();
		CHECK_EQ(mcxt_check(mcxt_top()), 0);
		if (fi_big != NULL && !done)
			CHECK(fi_big[39999] == 7);
		if (fi_ctx != NULL)
			mcxt_delete(fi_ctx);
		CHECK_BLOCKS_MATCH();
	}
	th_note[0] = '\0';
	CHECK(done);
	CHECK(k > 5);				/* the sequence did take several blocks */
	mcxt_block_cache_set_limit(32 * 1024 * 1024);
}

/* ---- the default handler aborts (in a child process) --------------------- */

static void
child_oom(void)
{
	mcxt_context_t *ctx = mcxt_aset_create(mcxt_top(), "DoomedContext", ALLOCSET_DEFAULT_SIZES);

	mcxt_set_error_handler(NULL);
	src.fail_all = true;
	mcxt_alloc(ctx, 123456);
	_exit(0);					/* not reached */
}

static void
child_double_free(void)
{
	mcxt_context_t *ctx = mcxt_aset_create(mcxt_top(), "FreedTwice", ALLOCSET_DEFAULT_SIZES);
	void	   *p = mcxt_alloc(ctx, 10);

	mcxt_set_error_handler(mcxt_default_error_handler);
	mcxt_free(p);
	mcxt_free(p);
	_exit(0);
}

static void
child_handler_returns(void)
{
	mcxt_context_t *ctx = mcxt_aset_create(mcxt_top(), "Returns", ALLOCSET_DEFAULT_SIZES);

	th_err_armed = false;		/* th_error_handler returns */
	mcxt_set_error_handler(th_error_handler);
	mcxt_alloc(ctx, SIZE_MAX);
	_exit(0);
}

static char child_out[128 * 1024];

/* Run fn in a child with stderr into a pipe; returns the wait status. */
static int
run_child(void (*fn) (void))
{
	int			fds[2];
	pid_t		pid;
	int			status = 0;
	size_t		n = 0;

	child_out[0] = '\0';
	if (pipe(fds) != 0)
		return -1;
	fflush(stderr);
	pid = fork();
	if (pid < 0)
		return -1;
	if (pid == 0)
	{
		close(fds[0]);
		dup2(fds[1], 2);
		close(fds[1]);
		fn();
		_exit(0);
	}
	close(fds[1]);
	for (;;)
	{
		ssize_t		r = read(fds[0], child_out + n, sizeof(child_out) - 1 - n);

		if (r <= 0)
			break;
		n += (size_t) r;
		if (n == sizeof(child_out) - 1)
			break;
	}
	child_out[n] = '\0';
	close(fds[0]);
	waitpid(pid, &status, 0);
	return status;
}

static void
test_default_handler(void)
{
	int			st;
	mcxt_error_handler_t prev;

	prev = mcxt_set_error_handler(th_error_handler);
	CHECK(prev == th_error_handler);

	st = run_child(child_oom);
	CHECK_MSG(WIFSIGNALED(st) && WTERMSIG(st) == SIGABRT, "child status 0x%x", st);
	CHECK(strstr(child_out, "out of memory") != NULL);
	CHECK(strstr(child_out, "Failed on request of size 123456") != NULL);
	CHECK(strstr(child_out, "DoomedContext") != NULL);
	/* the top context's statistics come first */
	{
		const char *stats = strstr(child_out, "TopMemoryContext: ");
		const char *grand = strstr(child_out, "Grand total: ");
		const char *msg = strstr(child_out, "Failed on request");

		CHECK(stats != NULL && grand != NULL && msg != NULL && stats < grand && grand < msg);
		CHECK(strstr(child_out, "  DoomedContext: 8192 total in 1 blocks") != NULL);
	}
	if (th_cur_failed)
		fprintf(stderr, "child output:\n%s\n", child_out);

	st = run_child(child_double_free);
	CHECK_MSG(WIFSIGNALED(st) && WTERMSIG(st) == SIGABRT, "child status 0x%x", st);
	CHECK(strstr(child_out, "FreedTwice") != NULL);
	CHECK(strstr(child_out, "TopMemoryContext: ") == NULL);	/* stats only for OOM */

	/* a handler that returns: the library aborts anyway */
	st = run_child(child_handler_returns);
	CHECK_MSG(WIFSIGNALED(st) && WTERMSIG(st) == SIGABRT, "child status 0x%x", st);
	CHECK(strstr(child_out, "unexpected mcxt error 2") != NULL);
	mcxt_set_error_handler(th_error_handler);
}

/* ---- block statistics and the cache ---------------------------------------- */

static void
test_block_stats(void)
{
	mcxt_block_stats_t bs0, bs1, bs2;
	mcxt_context_t *ctx;

	src_no_failures();
	mcxt_block_cache_set_limit(32 * 1024 * 1024);
	mcxt_block_cache_trim();
	mcxt_block_stats(&bs0);
	CHECK_EQ(bs0.cached_blocks, 0);
	CHECK_EQ(bs0.cached_bytes, 0);
	CHECK_BLOCKS_MATCH();
	ctx = mcxt_aset_create(mcxt_top(), "Cache", 0, 4096, 65536);	/* not a recycled size */
	for (int i = 0; i < 400; i++)
		mcxt_alloc(ctx, 500);
	mcxt_block_stats(&bs1);
	CHECK(bs1.live_blocks > bs0.live_blocks + 3);
	CHECK_EQ(bs1.live_bytes - bs0.live_bytes, mcxt_mem_allocated(ctx, false));
	CHECK_BLOCKS_MATCH();
	/* reset: the power-of-two blocks go to the cache, still live */
	mcxt_reset(ctx);
	mcxt_block_stats(&bs2);
	CHECK_EQ(bs2.live_blocks, bs1.live_blocks);
	CHECK_EQ(bs2.live_bytes, bs1.live_bytes);
	CHECK_EQ(bs2.cached_bytes, bs1.live_bytes - bs0.live_bytes - mcxt_mem_allocated(ctx, false));
	CHECK(bs2.cached_blocks > 3);
	CHECK_BLOCKS_MATCH();
	/* the next blocks come from the cache, not the source */
	{
		long		before = src.nrequests;

		for (int i = 0; i < 100; i++)
			mcxt_alloc(ctx, 500);
		CHECK_EQ(src.nrequests, before);
	}
	mcxt_block_cache_trim();
	mcxt_block_stats(&bs2);
	CHECK_EQ(bs2.cached_blocks, 0);
	CHECK_EQ(bs2.cached_bytes, 0);
	CHECK_BLOCKS_MATCH();
	/* a limit bounds the cache */
	mcxt_block_cache_set_limit(20000);
	for (int i = 0; i < 400; i++)
		mcxt_alloc(ctx, 500);
	mcxt_reset(ctx);
	mcxt_block_stats(&bs2);
	CHECK(bs2.cached_bytes <= 20000);
	CHECK(bs2.cached_bytes > 0);
	CHECK_BLOCKS_MATCH();
	mcxt_block_cache_set_limit(32 * 1024 * 1024);
	mcxt_delete(ctx);
	CHECK_BLOCKS_MATCH();
}

/* Last: cleanup frees the whole tree, lists and cache; the library restarts. */
static void
test_thread_cleanup(void)
{
	mcxt_block_stats_t bs;
	mcxt_context_t *ctx = mcxt_aset_create(mcxt_top(), "Leftover", ALLOCSET_DEFAULT_SIZES);

	src_no_failures();
	mcxt_alloc(ctx, 100000);
	mcxt_delete(mcxt_aset_create(mcxt_top(), "Recycled", ALLOCSET_SMALL_SIZES));
	mcxt_thread_cleanup();
	mcxt_block_stats(&bs);
	CHECK_EQ(bs.live_blocks, 0);
	CHECK_EQ(bs.live_bytes, 0);
	CHECK_EQ(bs.cached_blocks, 0);
	CHECK_EQ(bs.cached_bytes, 0);
	CHECK_EQ(src.live_blocks, 0);
	CHECK_EQ(src.live_bytes, 0);
	/* usable again */
	ctx = mcxt_aset_create(mcxt_top(), "Again", ALLOCSET_DEFAULT_SIZES);
	CHECK(mcxt_chunk_context(mcxt_alloc(ctx, 10)) == ctx);
	CHECK(src.live_blocks > 0);
	mcxt_thread_cleanup();
	CHECK_EQ(src.live_blocks, 0);
	CHECK_EQ(src.live_bytes, 0);
}

int
main(void)
{
	/* before the library has any context */
	mcxt_set_block_source(&counting_source);
	th_catch_errors();
	RUN(test_invalid_sizes);
	RUN(test_oom);
	RUN(test_fault_injection);
	RUN(test_default_handler);
	RUN(test_block_stats);
	RUN(test_thread_cleanup);
	return th_report();
}
