/*
 * alloc_malloc.c
 *	  The malloc family: glibc, jemalloc, mimalloc and tcmalloc are all
 *	  reached through plain malloc/free/realloc, the allocator chosen by
 *	  LD_PRELOAD (bench/run.sh).  init() checks which malloc is really live,
 *	  by a symbol only that allocator exports, and refuses to run on a
 *	  mismatch, so a missing preload can never be reported under the wrong
 *	  name.  There are no contexts: a reset frees every chunk the workload
 *	  handed out, a delete frees the context's chunks.  The harness is built
 *	  with -fno-builtin-malloc (and free, realloc, calloc), so the compiler
 *	  cannot pair and elide the calls.
 */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include <dlfcn.h>
#include <stdlib.h>
#include <string.h>

#include "bench.h"

typedef void *a_ctx;

#define A_HAS_CONTEXTS	0
#define A_HIERARCHY		0

static inline a_ctx
a_root(void)
{
	return NULL;
}

static inline a_ctx
a_create(a_ctx parent)
{
	return NULL;
}

static inline void
a_switch(a_ctx c)
{
}

static inline void *
a_alloc(a_ctx c, size_t n)
{
	void	   *p = malloc(n);

	if (p == NULL)
		bench_fail("malloc(%zu) failed", n);
	return p;
}

static inline void
a_free(a_ctx c, void *p)
{
	free(p);
}

static inline void *
a_realloc(a_ctx c, void *p, size_t old, size_t n)
{
	void	   *q = realloc(p, n);

	if (q == NULL)
		bench_fail("realloc(%zu) failed", n);
	return q;
}

static inline uint64_t
a_ctx_bytes(a_ctx c)
{
	return 0;
}

#include "workloads.h"

/* Which malloc is live: the one whose private symbol the process has. */
static const char *
malloc_live(void)
{
	if (dlsym(RTLD_DEFAULT, "mi_version"))
		return "mimalloc";
	if (dlsym(RTLD_DEFAULT, "mallctl"))
		return "jemalloc";
	if (dlsym(RTLD_DEFAULT, "tc_version"))
		return "tcmalloc";
	return "glibc";
}

static int
malloc_init(const char *config)
{
	const char *live = malloc_live();

	if (strcmp(live, config) != 0)
		bench_fail("asked for %s but the live malloc is %s (LD_PRELOAD?)", config, live);
	return 0;
}

const bench_allocator bench_alloc_glibc = {
	"glibc", "glibc malloc/free/realloc", 0, malloc_init, bench_run, bench_finish
};
const bench_allocator bench_alloc_jemalloc = {
	"jemalloc", "jemalloc via LD_PRELOAD: malloc/free/realloc", 0, malloc_init, bench_run, bench_finish
};
const bench_allocator bench_alloc_mimalloc = {
	"mimalloc", "mimalloc via LD_PRELOAD: malloc/free/realloc", 0, malloc_init, bench_run, bench_finish
};
const bench_allocator bench_alloc_tcmalloc = {
	"tcmalloc", "tcmalloc_minimal via LD_PRELOAD: malloc/free/realloc", 0, malloc_init, bench_run, bench_finish
};
