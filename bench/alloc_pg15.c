/*
 * alloc_pg15.c
 *	  PostgreSQL 15's own AllocSet, from libpg_query's static library
 *	  (Debian libpg-query-dev), which contains PG 15's aset.c and mcxt.c.
 *
 * The server headers cannot be used: libpg_query makes CurrentMemoryContext
 * and TopMemoryContext thread-local, so the few prototypes needed are
 * declared here by hand, from PostgreSQL 15's palloc.h and memutils.h.
 * Allocation is palloc() on CurrentMemoryContext (set by a_switch), as in a
 * backend; blocks come from glibc malloc, as in a real server.  There is no
 * MemoryContextMemAllocated in the library; mem_allocated is read from its
 * place in PG 15's MemoryContextData (after NodeTag and two bools, offset 8).
 */
#include <stdint.h>

#include "bench.h"

typedef struct MemoryContextData *MemoryContext;

extern _Thread_local MemoryContext CurrentMemoryContext;
extern _Thread_local MemoryContext TopMemoryContext;

void		MemoryContextInit(void);
MemoryContext AllocSetContextCreateInternal(MemoryContext parent, const char *name,
											size_t minContextSize,
											size_t initBlockSize,
											size_t maxBlockSize);
void	   *palloc(size_t size);
void		pfree(void *pointer);
void	   *repalloc(void *pointer, size_t size);
void		MemoryContextReset(MemoryContext context);
void		MemoryContextDelete(MemoryContext context);

typedef MemoryContext a_ctx;

#define A_HAS_CONTEXTS	1
#define A_HIERARCHY		1

static inline a_ctx
a_root(void)
{
	return TopMemoryContext;
}

static inline a_ctx
a_create(a_ctx parent)
{
	/* ALLOCSET_DEFAULT_SIZES */
	return AllocSetContextCreateInternal(parent, "bench", 0, 8 * 1024, 8 * 1024 * 1024);
}

static inline void
a_switch(a_ctx c)
{
	CurrentMemoryContext = c;
}

static inline void *
a_alloc(a_ctx c, size_t n)
{
	return palloc(n);
}

static inline void
a_free(a_ctx c, void *p)
{
	pfree(p);
}

static inline void *
a_realloc(a_ctx c, void *p, size_t old, size_t n)
{
	return repalloc(p, n);
}

static inline void
a_reset(a_ctx c)
{
	MemoryContextReset(c);
}

static inline void
a_delete(a_ctx c)
{
	MemoryContextDelete(c);
}

static inline uint64_t
a_ctx_bytes(a_ctx c)
{
	return *(const size_t *) ((const char *) c + 8);
}

#include "workloads.h"

static int
pg15_init(const char *config)
{
	MemoryContextInit();
	if (TopMemoryContext == NULL)
		bench_fail("pg15: MemoryContextInit left TopMemoryContext NULL");
	return 0;
}

const bench_allocator bench_alloc_pg15 = {
	"pg15", "PostgreSQL 15.1 AllocSet (libpg_query.a): palloc/pfree/MemoryContextReset/Delete", 0,
	pg15_init, bench_run, bench_finish
};
