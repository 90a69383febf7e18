/*
 * alloc_mcxt_gen.c
 *	  libmcxt's Generation context (no size rounding; freed space reused only
 *	  when a whole block empties), on every workload.
 */
#define MCXT_BENCH_CREATE(parent)	mcxt_generation_create((parent), "bench", MCXT_DEFAULT_SIZES)
#define MCXT_BENCH_NO_FREE		0
#define MCXT_BENCH_SYMBOL		bench_alloc_mcxt_gen
#define MCXT_BENCH_NAME			"mcxt_gen"
#define MCXT_BENCH_DESCRIBE		"libmcxt Generation: mcxt_generation_create, default sizes"
#define MCXT_BENCH_WORKLOADS	0

#include "alloc_mcxt.h"
