/*
 * test_faults.c
 *	  Fault injection: every public operation that can ask the block source
 *	  for memory is run with the 1st, 2nd, 3rd ... request failing, until it
 *	  completes without reaching the failure (SQLite's faultsim idea).
 *
 * After each failure the test checks what the library promises: the error
 * handler saw MCXT_ERR_OOM (or, with MCXT_ALLOC_NO_OOM, the call returned
 * NULL and the old chunk is intact), every context still passes the full
 * check (block lists, chunk headers, freelists, accounting), and after
 * mcxt_thread_cleanup() not one block is still held.  Each operation is run
 * once with a single failure and once failing from the Nth request on.
 */
#include <string.h>

#include "../testhelper.h"

/* State an operation's setup leaves for its body; volatile for longjmp. */
static mcxt_context_t *volatile ctx;
static void *volatile chunk;
static void *volatile result;

static void
fill(void *p, size_t n, unsigned seed)
{
	unsigned char *b = p;

	for (size_t i = 0; i < n; i++)
		b[i] = (unsigned char) (seed + i * 7);
}

static bool
filled(const void *p, size_t n, unsigned seed)
{
	const unsigned char *b = p;

	for (size_t i = 0; i < n; i++)
		if (b[i] != (unsigned char) (seed + i * 7))
			return false;
	return true;
}

/* ---- the operations ------------------------------------------------------ */

static void setup_none(void) { }

static void
setup_ctx(void)
{
	ctx = mcxt_aset_create(mcxt_top(), "victim", MCXT_DEFAULT_SIZES);
}

static void
setup_large_chunk(void)
{
	setup_ctx();
	chunk = mcxt_alloc(ctx, 100000);
	fill(chunk, 100000, 3);
}

static void
setup_small_chunk(void)
{
	setup_ctx();
	chunk = mcxt_alloc(ctx, 200);
	fill(chunk, 200, 5);
}

static void
op_init(void)
{
	char	   *p = mcxt_alloc(mcxt_current(), 100);

	fill(p, 100, 1);
	result = p;
}

static void
op_create_contexts(void)
{
	mcxt_context_t *a = mcxt_aset_create(mcxt_top(), "default", MCXT_DEFAULT_SIZES);
	mcxt_context_t *b = mcxt_aset_create(a, "small", MCXT_SMALL_SIZES);
	mcxt_context_t *c = mcxt_aset_create(b, "custom", 16384, 16384, 65536);

	result = c;
}

static void
op_many_small(void)
{
	/* enough to need several new blocks, with carving of the old ones */
	for (int i = 0; i < 3000; i++)
	{
		char	   *p = mcxt_alloc(ctx, 17 + (size_t) (i % 300));

		fill(p, 17, (unsigned) i);
	}
	result = ctx;
}

static void
op_large(void)
{
	char	   *p = mcxt_alloc(ctx, 300000);

	fill(p, 300000, 9);
	result = p;
}

static void
op_large_no_oom(void)
{
	result = mcxt_alloc_extended(ctx, 300000, MCXT_ALLOC_NO_OOM | MCXT_ALLOC_ZERO);
}

static void
op_realloc_large(void)
{
	result = mcxt_realloc(chunk, 1000000);
}

static void
op_realloc_large_no_oom(void)
{
	result = mcxt_realloc_extended(chunk, 1000000, MCXT_ALLOC_NO_OOM);
}

static void
op_realloc_small_to_large(void)
{
	result = mcxt_realloc(chunk, 50000);
}

static void
op_realloc_small_no_oom(void)
{
	/* 200 -> 300000 moves the chunk: a new block, which may fail */
	result = mcxt_realloc_extended(chunk, 300000, MCXT_ALLOC_NO_OOM);
}

static void
op_strings(void)
{
	char		big[20000];
	char	   *s;

	memset(big, 'q', sizeof(big) - 1);
	big[sizeof(big) - 1] = '\0';
	s = mcxt_sprintf(ctx, "%s/%d", big, 42);	/* > 128 bytes: a second try */
	s = mcxt_strdup(ctx, s);
	result = mcxt_strndup(ctx, s, 5000);
}

static void
op_reset_and_regrow(void)
{
	for (int round = 0; round < 3; round++)
	{
		for (int i = 0; i < 500; i++)
			(void) mcxt_alloc(ctx, 64);
		(void) mcxt_alloc(ctx, 20000);
		mcxt_reset(ctx);
	}
	result = ctx;
}

static void
op_tree_churn(void)
{
	for (int i = 0; i < 50; i++)
	{
		mcxt_context_t *c = i % 2 ? mcxt_aset_create(ctx, "child", MCXT_SMALL_SIZES)
			: mcxt_aset_create(ctx, "child", MCXT_DEFAULT_SIZES);

		(void) mcxt_alloc(c, 5000);
		if (i % 3 == 0)
			mcxt_set_parent(c, mcxt_top());
		if (i % 5 == 0)
			mcxt_delete(c);
	}
	result = ctx;
}

typedef struct fault_op
{
	const char *name;
	void		(*setup) (void);
	void		(*run) (void);
	bool		no_oom;			/* failures return NULL instead of raising */
	bool		keeps_chunk;	/* on failure, 'chunk' must still be intact */
	size_t		chunk_size;
	unsigned	chunk_seed;
} fault_op;

static const fault_op ops[] = {
	{"init", setup_none, op_init, false, false, 0, 0},
	{"create_contexts", setup_none, op_create_contexts, false, false, 0, 0},
	{"many_small", setup_ctx, op_many_small, false, false, 0, 0},
	{"large", setup_ctx, op_large, false, false, 0, 0},
	{"large_no_oom", setup_ctx, op_large_no_oom, true, false, 0, 0},
	{"realloc_large", setup_large_chunk, op_realloc_large, false, true, 100000, 3},
	{"realloc_large_no_oom", setup_large_chunk, op_realloc_large_no_oom, true, true, 100000, 3},
	{"realloc_small_to_large", setup_small_chunk, op_realloc_small_to_large, false, true, 200, 5},
	{"realloc_small_no_oom", setup_small_chunk, op_realloc_small_no_oom, true, true, 200, 5},
	{"strings", setup_ctx, op_strings, false, false, 0, 0},
	{"reset_and_regrow", setup_ctx, op_reset_and_regrow, false, false, 0, 0},
	{"tree_churn", setup_ctx, op_tree_churn, false, false, 0, 0},
};

static bool
no_blocks_held(void)
{
	mcxt_block_stats_t bs;

	mcxt_block_stats(&bs);
	return bs.live_blocks == 0 && bs.live_bytes == 0;
}

/*
 * Run one operation with request n failing (and, with repeat, all after
 * it).  Returns true when the operation made fewer than n requests, i.e.
 * it completed without meeting the failure.
 */
static bool
run_with_fault(const fault_op *op, uint64_t n, bool repeat)
{
	uint64_t	requests;
	volatile bool raised = false;

	mcxt_thread_cleanup();
	mcxt_block_cache_set_limit(0);	/* every block comes from the source */
	ctx = NULL;
	chunk = NULL;
	result = NULL;
	op->setup();

	th_set_note("op=%s fail_at=%" PRIu64 "%s", op->name, n, repeat ? "+" : "");
	th_err_code = 0;
	mcxt_set_error_handler(th_error_handler);
	mcxt_fault_inject(n, repeat);
	if (setjmp(th_err_jmp) == 0)
	{
		th_err_armed = true;
		op->run();
		th_err_armed = false;
	}
	else
		raised = true;
	requests = mcxt_fault_requests();
	mcxt_fault_inject(0, false);

	if (raised)
		CHECK_EQ(th_err_code, MCXT_ERR_OOM);
	if (op->no_oom)
	{
		CHECK(!raised);
		if (requests >= n)
			CHECK(result == NULL);
	}
	else if (requests >= n)
		CHECK(raised);
	if (op->keeps_chunk && (raised || result == NULL))
		CHECK(filled(chunk, op->chunk_size, op->chunk_seed));

	/* every context is consistent, accounting included */
	CHECK_EQ(mcxt_check(mcxt_top()), 0);
	if (ctx != NULL && mcxt_parent(ctx) == NULL)
		CHECK_EQ(mcxt_check(ctx), 0);

	mcxt_thread_cleanup();
	CHECK(no_blocks_held());
	mcxt_block_cache_set_limit(32 * 1024 * 1024);
	th_set_note("%s", "");
	return requests < n;
}

static void
test_every_failure_point(void)
{
	for (size_t i = 0; i < sizeof(ops) / sizeof(ops[0]); i++)
	{
		uint64_t	n;
		int			before = th_cur_failed;

		for (n = 1; n < 10000; n++)
			if (run_with_fault(&ops[i], n, false) || th_cur_failed > before)
				break;
		CHECK_MSG(n > 1, "%s never asked the block source for memory", ops[i].name);
		CHECK_MSG(n < 10000, "%s did not complete", ops[i].name);
		for (uint64_t m = 1; m <= n && th_cur_failed == before; m++)
			run_with_fault(&ops[i], m, true);
	}
}

/* The counters themselves: the nth request fails, once or from then on. */
static void
test_fault_counter(void)
{
	mcxt_context_t *c;
	void	   *p;

	mcxt_thread_cleanup();
	mcxt_block_cache_set_limit(0);
	c = mcxt_aset_create(mcxt_top(), "c", MCXT_DEFAULT_SIZES);
	mcxt_fault_inject(2, false);
	p = mcxt_alloc_extended(c, 100000, MCXT_ALLOC_NO_OOM);
	CHECK(p != NULL);
	p = mcxt_alloc_extended(c, 100000, MCXT_ALLOC_NO_OOM);
	CHECK(p == NULL);
	p = mcxt_alloc_extended(c, 100000, MCXT_ALLOC_NO_OOM);
	CHECK(p != NULL);
	CHECK_EQ(mcxt_fault_requests(), 3);
	mcxt_fault_inject(1, true);
	CHECK(mcxt_alloc_extended(c, 100000, MCXT_ALLOC_NO_OOM) == NULL);
	CHECK(mcxt_alloc_extended(c, 100000, MCXT_ALLOC_NO_OOM) == NULL);
	mcxt_fault_inject(0, false);
	CHECK(mcxt_alloc_extended(c, 100000, MCXT_ALLOC_NO_OOM) != NULL);
	mcxt_thread_cleanup();
	CHECK(no_blocks_held());
	mcxt_block_cache_set_limit(32 * 1024 * 1024);
}

int
main(void)
{
	RUN(test_fault_counter);
	RUN(test_every_failure_point);
	return th_report();
}
