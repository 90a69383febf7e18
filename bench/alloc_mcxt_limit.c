/*
 * alloc_mcxt_limit.c
 *	  libmcxt's AllocSet under a subtree memory limit: the "mcxt" row with
 *	  mcxt_set_limit on the workloads' parent (the top context), a hard and
 *	  a soft limit set so high that they never trip.  Every block any
 *	  workload obtains or gives back then charges the limit; the chunk fast
 *	  paths do not look at it.  Compared with the "mcxt" row, it measures
 *	  what a limit costs.
 */
#define MCXT_BENCH_CREATE(parent)	mcxt_aset_create((parent), "bench", MCXT_DEFAULT_SIZES)
#define MCXT_BENCH_NO_FREE		0
#define MCXT_BENCH_ROOT_LIMIT	((size_t) 1 << 40)	/* 1 TB: never reached */
#define MCXT_BENCH_SYMBOL		bench_alloc_mcxt_limit
#define MCXT_BENCH_NAME			"mcxt_limit"
#define MCXT_BENCH_DESCRIBE		"libmcxt AllocSet under a subtree limit (mcxt_set_limit on the parent, never reached)"
#define MCXT_BENCH_WORKLOADS	0

#include "alloc_mcxt.h"
