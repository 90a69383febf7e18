/*
 * test_types_faults.c
 *	  Fault injection for the Generation, Slab and Bump context types and
 *	  aligned allocations, exactly as test/safety/test_faults.c does it for
 *	  AllocSet: every operation is run with the 1st, 2nd, 3rd ... request to
 *	  the block source failing (once, and from then on) until it completes.
 *
 * After each failure: the error handler saw MCXT_ERR_OOM (or, with
 * MCXT_ALLOC_NO_OOM, the call returned NULL and the old chunk is intact),
 * every context passes mcxt_check, and after mcxt_thread_cleanup() not one
 * block is still held.
 */
#include "../testhelper.h"
#include "typesim.h"

#include <mcxt/palloc.h>

static mcxt_context_t *volatile ctx;
static void *volatile chunk;
static void *volatile result;

/* ---- the operations ------------------------------------------------------ */

static void setup_none(void) { }

static void
setup_gen(void)
{
	ctx = GenerationContextCreate(mcxt_top(), "gen", 0, 1024, 16384);
}

static void
setup_slab(void)
{
	ctx = SlabContextCreate(mcxt_top(), "slab", 1024, 40);
}

static void
setup_bump(void)
{
	ctx = BumpContextCreate(mcxt_top(), "bump", 0, 1024, 16384);
}

static void
setup_gen_chunk(void)
{
	setup_gen();
	chunk = MemoryContextAlloc(ctx, 200);
	ts_fill(chunk, 200, 5);
}

static void
setup_aligned_chunk(void)
{
	setup_gen();
	chunk = MemoryContextAllocAligned(ctx, 200, 256, 0);
	ts_fill(chunk, 200, 5);
}

static void
op_create(void)
{
	mcxt_context_t *g = GenerationContextCreate(mcxt_top(), "g", 0, 8192, 65536);
	mcxt_context_t *s = SlabContextCreate(g, "s", 8192, 100);
	mcxt_context_t *b = BumpContextCreate(s, "b", 16384, 8192, 65536);

	result = b;
}

/* Many chunks, some freed so blocks empty and are reused or given back. */
static void
op_gen_churn(void)
{
	void	   *keep[64] = {0};

	for (int i = 0; i < 1500; i++)
	{
		char	   *p = MemoryContextAlloc(ctx, 17 + (size_t) (i % 300) * (i % 7 == 0 ? 20 : 1));

		ts_fill(p, 17, (unsigned) i);
		if (keep[i % 64] != NULL && i % 3 != 0)
			pfree(keep[i % 64]);
		keep[i % 64] = p;
	}
	result = ctx;
}

static void
op_gen_realloc(void)
{
	result = repalloc(chunk, 3000);
}

static void
op_gen_realloc_no_oom(void)
{
	result = repalloc_extended(chunk, 3000, MCXT_ALLOC_NO_OOM);
}

static void
op_gen_reset_regrow(void)
{
	for (int round = 0; round < 3; round++)
	{
		for (int i = 0; i < 200; i++)
			(void) MemoryContextAlloc(ctx, 64);
		(void) MemoryContextAlloc(ctx, 20000);
		mcxt_reset(ctx);
	}
	result = ctx;
}

static void
op_slab_churn(void)
{
	void	   *keep[200] = {0};

	for (int i = 0; i < 1000; i++)
	{
		if (keep[i % 200] != NULL && i % 5 != 0)
			pfree(keep[i % 200]);
		keep[i % 200] = MemoryContextAlloc(ctx, 40);
		ts_fill(keep[i % 200], 40, (unsigned) i);
	}
	result = ctx;
}

static void
op_slab_no_oom(void)
{
	for (int i = 0; i < 100; i++)
	{
		result = MemoryContextAllocExtended(ctx, 40, MCXT_ALLOC_NO_OOM);
		if (result == NULL)
			return;
	}
}

static void
op_bump_many(void)
{
	for (int i = 0; i < 1000; i++)
		ts_fill(MemoryContextAlloc(ctx, 1 + (size_t) (i % 400)), 1, (unsigned) i);
	(void) MemoryContextAlloc(ctx, 50000);
	mcxt_reset(ctx);
	(void) MemoryContextAlloc(ctx, 5000);
	result = ctx;
}

static void
op_bump_no_oom(void)
{
	for (int i = 0; i < 100; i++)
	{
		result = MemoryContextAllocExtended(ctx, 500, MCXT_ALLOC_NO_OOM | MCXT_ALLOC_ZERO);
		if (result == NULL)
			return;
	}
}

static void
op_aligned(void)
{
	for (size_t a = 16; a <= 65536; a <<= 2)
		ts_fill(MemoryContextAllocAligned(ctx, 3000, a, 0), 3000, (unsigned) a);
	result = ctx;
}

static void
op_aligned_realloc(void)
{
	result = repalloc(chunk, 100000);
}

static void
op_aligned_realloc_no_oom(void)
{
	result = repalloc_extended(chunk, 100000, MCXT_ALLOC_NO_OOM);
}

typedef struct fault_op
{
	const char *name;
	void		(*setup) (void);
	void		(*run) (void);
	bool		no_oom;
	bool		keeps_chunk;
	size_t		chunk_size;
	unsigned	chunk_seed;
} fault_op;

static const fault_op ops[] = {
	{"create", setup_none, op_create, false, false, 0, 0},
	{"gen_churn", setup_gen, op_gen_churn, false, false, 0, 0},
	{"gen_realloc", setup_gen_chunk, op_gen_realloc, false, true, 200, 5},
	{"gen_realloc_no_oom", setup_gen_chunk, op_gen_realloc_no_oom, true, true, 200, 5},
	{"gen_reset_regrow", setup_gen, op_gen_reset_regrow, false, false, 0, 0},
	{"slab_churn", setup_slab, op_slab_churn, false, false, 0, 0},
	{"slab_no_oom", setup_slab, op_slab_no_oom, true, false, 0, 0},
	{"bump_many", setup_bump, op_bump_many, false, false, 0, 0},
	{"bump_no_oom", setup_bump, op_bump_no_oom, true, false, 0, 0},
	{"aligned", setup_gen, op_aligned, false, false, 0, 0},
	{"aligned_realloc", setup_aligned_chunk, op_aligned_realloc, false, true, 200, 5},
	{"aligned_realloc_no_oom", setup_aligned_chunk, op_aligned_realloc_no_oom, true, true, 200, 5},
};

static bool
run_with_fault(const fault_op *op, uint64_t n, bool repeat)
{
	uint64_t	requests;
	volatile bool raised = false;

	mcxt_thread_cleanup();
	mcxt_block_cache_set_limit(0);
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
	{
		CHECK(ts_filled(chunk, op->chunk_size, op->chunk_seed));
		CHECK(GetMemoryChunkContext(chunk) == ctx);
	}

	CHECK_EQ(mcxt_check(mcxt_top()), 0);
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

int
main(void)
{
	RUN(test_every_failure_point);
	return th_report();
}
