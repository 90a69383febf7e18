/*
 * alloc_mcxt.h
 *	  libmcxt through its native API, for each of its context types.  The
 *	  including file (alloc_mcxt*.c) defines
 *
 *	  MCXT_BENCH_CREATE(parent)		the child context to create
 *	  MCXT_BENCH_NO_FREE			1 for Bump (no mcxt_free or mcxt_realloc on
 *									its chunks: free is a no-op and realloc is
 *									alloc + memcpy, as for APR and the bump floor)
 *	  MCXT_BENCH_SYMBOL, _NAME, _DESCRIBE, _WORKLOADS	the bench_allocator
 *	  MCXT_BENCH_ROOT_LIMIT		optional: a hard limit (and a soft one at half
 *									of it, with a callback) on the root, so
 *									every workload runs under a subtree limit
 *
 * Allocation is mcxt_alloc(ctx, n) on an explicit context (the context is
 * also made current, as PostgreSQL code does, though mcxt_alloc does not
 * read it); then mcxt_free, mcxt_realloc, mcxt_reset, mcxt_delete.  The
 * root is the thread's top context (an AllocSet); blocks come from the
 * default block source (malloc).
 */
#include <string.h>

#include <mcxt.h>

#include "bench.h"

typedef mcxt_context_t *a_ctx;

#define A_HAS_CONTEXTS	1
#define A_HIERARCHY		1

static inline a_ctx
a_root(void)
{
	return mcxt_top();
}

static inline a_ctx
a_create(a_ctx parent)
{
	return MCXT_BENCH_CREATE(parent);
}

static inline void
a_switch(a_ctx c)
{
	(void) mcxt_switch_to(c);
}

static inline void *
a_alloc(a_ctx c, size_t n)
{
	return mcxt_alloc(c, n);
}

#if MCXT_BENCH_NO_FREE

static inline void
a_free(a_ctx c, void *p)
{
}

static inline void *
a_realloc(a_ctx c, void *p, size_t old, size_t n)
{
	void	   *q = mcxt_alloc(c, n);

	memcpy(q, p, old < n ? old : n);
	return q;
}

#else

static inline void
a_free(a_ctx c, void *p)
{
	mcxt_free(p);
}

static inline void *
a_realloc(a_ctx c, void *p, size_t old, size_t n)
{
	return mcxt_realloc(p, n);
}

#endif

static inline void
a_reset(a_ctx c)
{
	mcxt_reset(c);
}

static inline void
a_delete(a_ctx c)
{
	mcxt_delete(c);
}

static inline uint64_t
a_ctx_bytes(a_ctx c)
{
	return mcxt_mem_allocated(c, true);
}

#include "workloads.h"

#ifdef MCXT_BENCH_ROOT_LIMIT
static void
mcxt_bench_soft(mcxt_context_t *ctx, size_t held, size_t soft, void *arg)
{
	bench_fail("the soft limit of %zu bytes was crossed (%zu held)", soft, held);
}
#endif

static int
mcxt_bench_init(const char *config)
{
	mcxt_init();
#ifdef MCXT_BENCH_ROOT_LIMIT
	if (!mcxt_set_limit(mcxt_top(), MCXT_BENCH_ROOT_LIMIT, MCXT_BENCH_ROOT_LIMIT / 2,
						mcxt_bench_soft, NULL))
		return -1;
#endif
	return 0;
}

const bench_allocator MCXT_BENCH_SYMBOL = {
	MCXT_BENCH_NAME, MCXT_BENCH_DESCRIBE, MCXT_BENCH_WORKLOADS,
	mcxt_bench_init, bench_run, bench_finish
};
