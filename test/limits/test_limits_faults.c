/*
 * test_limits_faults.c
 *	  Subtree limits and a failing block source together: every operation
 *	  below runs under a limited context, with the 1st, 2nd, 3rd ... request
 *	  to the block source failing (once, and from then on), until it
 *	  completes without reaching the failure.
 *
 * Most operations run into the hard limit on their own, so a source failure
 * and a limit refusal interleave: an AllocSet near its limit tries smaller
 * and smaller blocks, the first refused by the limit and the next by the
 * source; a soft callback allocates inside the allocation that crossed, and
 * that allocation fails.  After each run:
 *
 *  - an error is MCXT_ERR_OOM; its message names the limit exactly when a
 *    limit refused the last block (the limit's refusal counter went up and
 *    the message is the limit's), and is the plain out-of-memory message
 *    otherwise (then the source did fail);
 *  - the limit holds exactly the block bytes of its subtree, never more
 *    than its hard limit, and mcxt_check finds nothing wrong;
 *  - after mcxt_thread_cleanup() not one block is still held (the limit
 *    records themselves come from the block source too).
 */
#include "../testhelper.h"
#include "../types/typesim.h"

#include <mcxt/palloc.h>

#define KB ((size_t) 1024)

static mcxt_context_t *volatile q;		/* the limited context */
static mcxt_context_t *volatile ctx;	/* where the operation allocates */
static void *volatile chunk;
static void *volatile result;
static volatile int soft_calls;

/* ---- setups: a limited "query" context and a child of some type ----------- */

static void
soft_count(mcxt_context_t *c, size_t held, size_t soft, void *arg)
{
	(void) c;
	(void) held;
	(void) soft;
	(void) arg;
	soft_calls++;
}

/* A callback that allocates a large chunk in the subtree that crossed. */
static void
soft_spill(mcxt_context_t *c, size_t held, size_t soft, void *arg)
{
	soft_count(c, held, soft, arg);
	memset(mcxt_alloc(q, 20 * KB), 7, 20 * KB);
}

static void
setup_limited(size_t hard, size_t soft, mcxt_limit_callback_fn cb)
{
	q = mcxt_aset_create(mcxt_top(), "query", MCXT_DEFAULT_SIZES);
	if (!mcxt_set_limit(q, hard, soft, cb, NULL))
		CHECK(false);
}

static void
setup_aset(void)
{
	setup_limited(200 * KB, 100 * KB, soft_count);
	ctx = mcxt_aset_create(q, "op", MCXT_DEFAULT_SIZES);
}

static void
setup_aset_spill(void)
{
	setup_limited(300 * KB, 60 * KB, soft_spill);
	ctx = mcxt_aset_create(q, "op", MCXT_DEFAULT_SIZES);
}

static void
setup_gen(void)
{
	setup_limited(150 * KB, 50 * KB, soft_count);
	ctx = mcxt_generation_create(q, "gen", 0, 1024, 16384);
}

static void
setup_slab(void)
{
	setup_limited(100 * KB, 30 * KB, soft_count);
	ctx = mcxt_slab_create(q, "slab", 4096, 40);
}

static void
setup_slab_spill(void)
{
	setup_limited(200 * KB, 30 * KB, soft_spill);
	ctx = mcxt_slab_create(q, "slab", 4096, 40);
}

static void
setup_gen_spill(void)
{
	setup_limited(200 * KB, 30 * KB, soft_spill);
	ctx = mcxt_generation_create(q, "gen", 0, 1024, 16384);
}

static void
setup_bump(void)
{
	setup_limited(120 * KB, 40 * KB, soft_count);
	ctx = mcxt_bump_create(q, "bump", 0, 1024, 16384);
}

static void
setup_aset_chunk(void)
{
	setup_aset();
	chunk = mcxt_alloc(ctx, 60 * KB);
	ts_fill(chunk, 60 * KB, 9);
}

static void
setup_unlimited_tree(void)
{
	setup_limited(150 * KB, 20 * KB, soft_count);
	ctx = mcxt_aset_create(mcxt_top(), "outside", MCXT_DEFAULT_SIZES);
	(void) mcxt_alloc(mcxt_generation_create(ctx, "g", 0, 1024, 16384), 30 * KB);
}

/* ---- the operations -------------------------------------------------------- */

/* Mixed small and large chunks, some freed, until the limit stops it. */
static void
op_aset_fill(void)
{
	void	   *keep[32] = {0};

	for (int i = 0;; i++)
	{
		size_t		n = i % 11 == 0 ? 9000 + (size_t) i * 10 : 16 + (size_t) (i % 50) * 37;
		char	   *p = mcxt_alloc(ctx, n);

		ts_fill(p, n < 64 ? n : 64, (unsigned) i);
		if (keep[i % 32] != NULL && i % 3 == 0)
			mcxt_free(keep[i % 32]);
		keep[i % 32] = p;
	}
}

static void
op_aset_fill_no_oom(void)
{
	for (int i = 0;; i++)
	{
		result = mcxt_alloc_extended(ctx, 100 + (size_t) (i % 7) * 300, MCXT_ALLOC_NO_OOM);
		if (result == NULL)
			return;
	}
}

static void
op_aset_spill(void)
{
	for (int i = 0; i < 2000; i++)
		ts_fill(mcxt_alloc(ctx, 200), 200, (unsigned) i);
	result = ctx;
}

static void
op_realloc(void)
{
	chunk = mcxt_realloc(chunk, 130 * KB);
	result = mcxt_realloc(chunk, 250 * KB);	/* over the limit */
}

static void
op_realloc_no_oom(void)
{
	result = mcxt_realloc_extended(chunk, 130 * KB, MCXT_ALLOC_NO_OOM);
	if (result != NULL)
	{
		chunk = result;
		result = mcxt_realloc_extended(chunk, 190 * KB, MCXT_ALLOC_NO_OOM);
	}
}

static void
op_gen_churn(void)
{
	void	   *keep[64] = {0};

	for (int i = 0;; i++)
	{
		char	   *p = mcxt_alloc(ctx, 17 + (size_t) (i % 300) * (i % 7 == 0 ? 20 : 1));

		ts_fill(p, 17, (unsigned) i);
		if (keep[i % 64] != NULL && i % 4 != 0)
			mcxt_free(keep[i % 64]);
		keep[i % 64] = p;
	}
}

static void
op_slab_no_oom(void)
{
	for (;;)
	{
		result = mcxt_alloc_extended(ctx, 40, MCXT_ALLOC_NO_OOM);
		if (result == NULL)
			return;
	}
}

static void
op_slab_fill(void)
{
	for (int i = 0;; i++)
		ts_fill(mcxt_alloc(ctx, 40), 40, (unsigned) i);
}

static void
op_bump_reset_cycles(void)
{
	for (int round = 0; round < 3; round++)
	{
		for (int i = 0; i < 400; i++)
			ts_fill(mcxt_alloc(ctx, 1 + (size_t) (i % 400)), 1, (unsigned) i);
		mcxt_reset(ctx);
	}
	for (;;)
		(void) mcxt_alloc(ctx, 3000);
}

/* Contexts of every type created under the limit until it refuses one. */
static void
op_create_many(void)
{
	mcxt_context_t *parent = q;

	for (int i = 0;; i++)
	{
		mcxt_context_t *c;

		switch (i % 4)
		{
			case 0:
				c = mcxt_aset_create(parent, "a", MCXT_SMALL_SIZES);
				break;
			case 1:
				c = mcxt_generation_create(parent, "g", 0, 4096, 65536);
				break;
			case 2:
				c = mcxt_slab_create(parent, "s", 2048, 24);
				(void) mcxt_alloc(c, 24);
				break;
			default:
				c = mcxt_bump_create(parent, "b", 0, 8192, 65536);
				break;
		}
		if (i % 5 == 0)
			parent = c;
	}
}

/* A subtree moves in (its limit record is a source request when set here). */
static void
op_move_in(void)
{
	mcxt_context_t *inner;

	mcxt_set_parent(ctx, q);
	inner = mcxt_aset_create(ctx, "inner", MCXT_DEFAULT_SIZES);
	/* a limit of its own, looser than q's: q's refuses first */
	if (!mcxt_set_limit(inner, 512 * KB, 0, NULL, NULL))
		CHECK(false);
	for (;;)
		(void) mcxt_alloc(inner, 5000);
}

typedef struct fault_op
{
	const char *name;
	void		(*setup) (void);
	void		(*run) (void);
	bool		no_oom;			/* failures return NULL, never raise */
	bool		keeps_chunk;	/* chunk (60 KB, seed 9) must survive a failure */
} fault_op;

static const fault_op ops[] = {
	{"aset_fill", setup_aset, op_aset_fill, false, false},
	{"aset_fill_no_oom", setup_aset, op_aset_fill_no_oom, true, false},
	{"aset_spill", setup_aset_spill, op_aset_spill, false, false},
	{"realloc", setup_aset_chunk, op_realloc, false, true},
	{"realloc_no_oom", setup_aset_chunk, op_realloc_no_oom, true, true},
	{"gen_churn", setup_gen, op_gen_churn, false, false},
	{"slab_no_oom", setup_slab, op_slab_no_oom, true, false},
	{"slab_spill", setup_slab_spill, op_slab_fill, false, false},
	{"gen_spill", setup_gen_spill, op_gen_churn, false, false},
	{"bump_reset_cycles", setup_bump, op_bump_reset_cycles, false, false},
	{"create_many", setup_aset, op_create_many, false, false},
	{"move_in", setup_unlimited_tree, op_move_in, false, false},
};

/*
 * The limits of the tree hold exactly, and the tree checks clean: mcxt_check
 * verifies every limit against the sum of its subtree (src/chunk.h).
 */
static void
check_limits_exact(void)
{
	CHECK_EQ(mcxt_check(mcxt_top()), 0);
}

static bool
run_with_fault(const fault_op *op, uint64_t n, bool repeat, uint64_t *refusals_seen)
{
	uint64_t	requests;
	volatile bool raised = false;
	mcxt_limit_info_t before;
	mcxt_limit_info_t after;

	mcxt_thread_cleanup();
	mcxt_block_cache_set_limit(0);
	q = ctx = NULL;
	chunk = result = NULL;
	soft_calls = 0;
	th_catch_errors();
	op->setup();
	CHECK(mcxt_get_limit(q, &before));

	th_set_note("op=%s fail_at=%" PRIu64 "%s", op->name, n, repeat ? "+" : "");
	th_err_code = 0;
	th_err_msg[0] = '\0';
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

	CHECK(mcxt_get_limit(q, &after));
	*refusals_seen += after.hard_refusals - before.hard_refusals;
	if (raised)
	{
		CHECK_EQ(th_err_code, MCXT_ERR_OOM);
		CHECK_MSG(strncmp(th_err_msg, "out of memory", 13) == 0, "message: %s", th_err_msg);
		if (strstr(th_err_msg, "memory limit of context") != NULL)
			CHECK_MSG(after.hard_refusals > before.hard_refusals,
					  "a limit message without a refusal: %s", th_err_msg);
		else
			CHECK_MSG(requests >= n, "a plain out-of-memory without a source failure: %s",
					  th_err_msg);
	}
	if (op->no_oom)
		CHECK(!raised);
	if (op->keeps_chunk && (raised || result == NULL))
	{
		CHECK(ts_filled(chunk, 60 * KB, 9));
		CHECK(GetMemoryChunkContext(chunk) == ctx);
	}
	/* the soft callback ran once per counted crossing */
	CHECK_EQ(after.soft_crossings - before.soft_crossings, (uint64_t) soft_calls);

	check_limits_exact();
	CHECK_EQ(after.held, mcxt_mem_allocated(q, true));
	CHECK(after.held <= after.hard);
	mcxt_thread_cleanup();
	CHECK(ts_no_blocks_held());
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
		uint64_t	refusals = 0;
		int			before = th_cur_failed;

		for (n = 1; n < 10000; n++)
			if (run_with_fault(&ops[i], n, false, &refusals) || th_cur_failed > before)
				break;
		CHECK_MSG(n > 1, "%s never asked the block source for memory", ops[i].name);
		CHECK_MSG(n < 10000, "%s did not complete", ops[i].name);
		/* every operation here meets its limit when the source does not fail first */
		CHECK_MSG(refusals > 0, "%s never met its limit", ops[i].name);
		for (uint64_t m = 1; m <= n && th_cur_failed == before; m++)
			run_with_fault(&ops[i], m, true, &refusals);
	}
}

int
main(void)
{
	RUN(test_every_failure_point);
	return th_report();
}
