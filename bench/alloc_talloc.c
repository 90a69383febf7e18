/*
 * alloc_talloc.c
 *	  talloc (Samba): a context is talloc_new(parent); chunks are
 *	  talloc_size children of it; free is talloc_free(chunk); reset is
 *	  talloc_free_children(ctx); delete is talloc_free(ctx), which frees the
 *	  whole subtree.  Underneath, every chunk is a glibc malloc.
 */
#include <talloc.h>

#include "bench.h"

typedef void *a_ctx;

#define A_HAS_CONTEXTS	1
#define A_HIERARCHY		1

static void *talloc_root_ctx;

static inline a_ctx
a_root(void)
{
	return talloc_root_ctx;
}

static inline a_ctx
a_create(a_ctx parent)
{
	void	   *c = talloc_new(parent);

	if (c == NULL)
		bench_fail("talloc_new failed");
	return c;
}

static inline void
a_switch(a_ctx c)
{
}

static inline void *
a_alloc(a_ctx c, size_t n)
{
	void	   *p = talloc_size(c, n);

	if (p == NULL)
		bench_fail("talloc_size(%zu) failed", n);
	return p;
}

static inline void
a_free(a_ctx c, void *p)
{
	if (talloc_free(p) != 0)
		bench_fail("talloc_free failed");
}

static inline void *
a_realloc(a_ctx c, void *p, size_t old, size_t n)
{
	void	   *q = talloc_realloc_size(c, p, n);

	if (q == NULL)
		bench_fail("talloc_realloc_size(%zu) failed", n);
	return q;
}

static inline void
a_reset(a_ctx c)
{
	talloc_free_children(c);
}

static inline void
a_delete(a_ctx c)
{
	if (talloc_free(c) != 0)
		bench_fail("talloc_free(context) failed");
}

static inline uint64_t
a_ctx_bytes(a_ctx c)
{
	return 0;					/* talloc_total_size counts requested bytes only */
}

#include "workloads.h"

static int
talloc_bench_init(const char *config)
{
	talloc_root_ctx = talloc_new(NULL);
	return talloc_root_ctx ? 0 : -1;
}

const bench_allocator bench_alloc_talloc = {
	"talloc", "talloc: talloc_new/talloc_size/talloc_free/talloc_free_children", 0,
	talloc_bench_init, bench_run, bench_finish
};
