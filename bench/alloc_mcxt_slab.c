/*
 * alloc_mcxt_slab.c
 *	  libmcxt's Slab context: one chunk size per context, so only W4 (1M x
 *	  128 bytes), with 8 KB blocks as PostgreSQL's SLAB_DEFAULT_BLOCK_SIZE.
 */
#define MCXT_BENCH_CREATE(parent)	mcxt_slab_create((parent), "bench", 8192, 128)
#define MCXT_BENCH_NO_FREE		0
#define MCXT_BENCH_SYMBOL		bench_alloc_mcxt_slab
#define MCXT_BENCH_NAME			"mcxt_slab"
#define MCXT_BENCH_DESCRIBE		"libmcxt Slab: mcxt_slab_create(8 KB blocks, 128-byte chunks); W4 only"
#define MCXT_BENCH_WORKLOADS	(1u << (BENCH_W4 - 1))

#include "alloc_mcxt.h"
