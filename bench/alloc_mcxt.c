/*
 * alloc_mcxt.c
 *	  libmcxt's AllocSet, the default context type: the one the issue's
 *	  targets are for.
 */
#define MCXT_BENCH_CREATE(parent)	mcxt_aset_create((parent), "bench", MCXT_DEFAULT_SIZES)
#define MCXT_BENCH_NO_FREE		0
#define MCXT_BENCH_SYMBOL		bench_alloc_mcxt
#define MCXT_BENCH_NAME			"mcxt"
#define MCXT_BENCH_DESCRIBE		"libmcxt AllocSet: mcxt_alloc/mcxt_free/mcxt_reset/mcxt_delete, default sizes"
#define MCXT_BENCH_WORKLOADS	0

#include "alloc_mcxt.h"
