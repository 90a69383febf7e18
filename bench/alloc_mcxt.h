/*
 * alloc_mcxt.c
 *	  libmcxt's AllocSet through its native API: mcxt_aset_create with the
 *	  default block sizes, mcxt_alloc(ctx, n) on an explicit context (the
 *	  context is also made current, as PostgreSQL code does, though
 *	  mcxt_alloc does not read it), mcxt_free, mcxt_realloc, mcxt_reset,
 *	  mcxt_delete.  Blocks come from the default block source (malloc).
 */
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
	return mcxt_aset_create(parent, "bench", MCXT_DEFAULT_SIZES);
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

static int
mcxt_bench_init(const char *config)
{
	mcxt_init();
	return 0;
}

const bench_allocator bench_alloc_mcxt = {
	"mcxt", "libmcxt AllocSet: mcxt_alloc/mcxt_free/mcxt_reset/mcxt_delete, default sizes",
	mcxt_bench_init, bench_run, bench_finish
};
