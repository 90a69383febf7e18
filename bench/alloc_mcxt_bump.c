/*
 * alloc_mcxt_bump.c
 *	  libmcxt's Bump context (no chunk header, no free): the context type for
 *	  W2's allocate-then-reset shape.  Its chunks cannot be freed or
 *	  reallocated, so free is a no-op (W1's context grows, as APR's) and
 *	  realloc is alloc + memcpy.
 */
#define MCXT_BENCH_CREATE(parent)	mcxt_bump_create((parent), "bench", MCXT_DEFAULT_SIZES)
#define MCXT_BENCH_NO_FREE		1
#define MCXT_BENCH_SYMBOL		bench_alloc_mcxt_bump
#define MCXT_BENCH_NAME			"mcxt_bump"
#define MCXT_BENCH_DESCRIBE		"libmcxt Bump: mcxt_bump_create, default sizes; no free (no-op), realloc = alloc + memcpy"
#define MCXT_BENCH_WORKLOADS	0

#include "alloc_mcxt.h"
