/*
 * gen_pgcore.h
 *	  The generator of PostgreSQL / Greenplum cores (gen_pgcore.c), as a
 *	  library for the tests that check the tool against it.
 */
#ifndef GEN_PGCORE_H
#define GEN_PGCORE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* One context's (or a sum's) counters, as the stats functions define them. */
typedef struct gen_counters
{
	uint64_t	total;
	uint64_t	nblocks;
	uint64_t	free;
	uint64_t	free_chunks;
	uint64_t	nchunks;		/* Generation */
	uint64_t	nempty;			/* Slab */
} gen_counters;

/* What the generator expects the tool to report. */
typedef struct gen_expect
{
	char	   *log;			/* expected.log's text (malloc'd, caller frees) */
	gen_counters grand;
	int			nctx;
	int			leak_count;
	uint64_t	leak_stride;
	bool		cassert;
} gen_expect;

/* The i-th version key ("pg16", "gp6-cassert", ...), NULL past the last. */
const char *gen_pgcore_versions(size_t i);

/* Write DIR/core, DIR/postgres, DIR/expected.log, DIR/expected.facts. */
int			gen_pgcore_write(const char *version, const char *dir, gen_expect *ex);

#endif							/* GEN_PGCORE_H */
