/*
 * alloc_apr.c
 *	  Apache Portable Runtime pools: a private apr_allocator_t (no mutex),
 *	  a root pool on it, child pools with apr_pool_create, apr_palloc,
 *	  apr_pool_clear (reset) and apr_pool_destroy (delete, with children).
 *	  APR has neither per-chunk free nor realloc: free is a no-op (W1's
 *	  pool grows for the whole repetition) and realloc is apr_palloc plus
 *	  memcpy, the old copy staying in the pool until it is cleared.
 */
#include <string.h>

#include <apr_general.h>
#include <apr_pools.h>

#include "bench.h"

typedef apr_pool_t *a_ctx;

#define A_HAS_CONTEXTS	1
#define A_HIERARCHY		1

static apr_pool_t *apr_root_pool;

static inline a_ctx
a_root(void)
{
	return apr_root_pool;
}

static inline a_ctx
a_create(a_ctx parent)
{
	apr_pool_t *p;

	if (apr_pool_create(&p, parent) != APR_SUCCESS)
		bench_fail("apr_pool_create failed");
	return p;
}

static inline void
a_switch(a_ctx c)
{
}

static inline void *
a_alloc(a_ctx c, size_t n)
{
	void	   *p = apr_palloc(c, n);

	if (p == NULL)
		bench_fail("apr_palloc(%zu) failed", n);
	return p;
}

static inline void
a_free(a_ctx c, void *p)
{
}

static inline void *
a_realloc(a_ctx c, void *p, size_t old, size_t n)
{
	void	   *q = a_alloc(c, n);

	memcpy(q, p, old < n ? old : n);
	return q;
}

static inline void
a_reset(a_ctx c)
{
	apr_pool_clear(c);
}

static inline void
a_delete(a_ctx c)
{
	apr_pool_destroy(c);
}

static inline uint64_t
a_ctx_bytes(a_ctx c)
{
	return 0;					/* no public statistics */
}

#include "workloads.h"

static int
apr_bench_init(const char *config)
{
	apr_allocator_t *allocator;

	if (apr_initialize() != APR_SUCCESS)
		return -1;
	if (apr_allocator_create(&allocator) != APR_SUCCESS)
		return -1;
	if (apr_pool_create_ex(&apr_root_pool, NULL, NULL, allocator) != APR_SUCCESS)
		return -1;
	apr_allocator_owner_set(allocator, apr_root_pool);
	return 0;
}

const bench_allocator bench_alloc_apr = {
	"apr", "APR pools: apr_pool_create/apr_palloc/apr_pool_clear/apr_pool_destroy (no free)", 0,
	apr_bench_init, bench_run, bench_finish
};
