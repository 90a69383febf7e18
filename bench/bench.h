/*
 * bench.h
 *	  Shared declarations of the peer-comparison harness (issue 4).
 *
 * The harness is one program per link set (mcxt_bench: libmcxt;
 * mcxt_bench_peers: everything else) built from the same main.c and the
 * same workload template, workloads.h.  Each allocator lives in its own
 * translation unit, alloc_<name>.c, which defines a handful of static
 * inline adapter functions and then includes workloads.h; the template is
 * thus compiled once per allocator and every allocation call is direct
 * (no function pointer in a hot loop).  The only indirect call is the one
 * per workload run, from main.c into the allocator's entry point.
 *
 * What main.c owns: the command line, the measurement of one repetition
 * (thread CPU time, wall time, page faults, peak RSS through
 * /proc/self/clear_refs), the callgrind client requests around the timed
 * region, and the output line.  What the template owns: the workloads,
 * their random streams (fixed seeds, identical for every allocator), and
 * the checks that read the contents back so no allocator's work can be
 * optimised away or be wrong without the run failing.
 */
#ifndef BENCH_H
#define BENCH_H

#include <stddef.h>
#include <stdint.h>

/* Workloads, as numbered in issue 4. */
enum bench_workload
{
	BENCH_W1 = 1,				/* small churn */
	BENCH_W2,					/* query lifecycle: alloc 100k, reset, x100 */
	BENCH_W3,					/* growth by doubling realloc, 64 B -> 64 MiB */
	BENCH_W4,					/* leak shape: 1M x alloc(128) + "base/16392" */
	BENCH_W5,					/* many contexts: create, 3 allocs, delete */
	BENCH_W6,					/* executor-like trace */
	BENCH_NWORKLOADS = BENCH_W6
};

/* What one repetition reports besides its timing (filled by the template). */
typedef struct bench_result
{
	uint64_t	ops;			/* operations in the timed region (unit per workload) */
	uint64_t	live_chunks;	/* chunks live at the peak, for bytes per chunk (0: n/a) */
	uint64_t	ctx_bytes;		/* context-reported bytes at the peak (0: unknown) */
	uint64_t	stride;			/* W4: most common address distance of consecutive chunks */
	uint64_t	checksum;		/* folded from the contents read back */
	uint64_t	errors;			/* content mismatches: any is a failed run */
} bench_result;

/* Parameters of one run. */
typedef struct bench_params
{
	int			workload;		/* enum bench_workload */
	int			rep;			/* repetition number, 0 is the cold one */
	int			scale_div;		/* divide the operation counts by this (callgrind) */
} bench_params;

/*
 * One allocator.  run() executes one repetition of a workload and must call
 * bench_region_begin() and bench_region_end() exactly once each, around the
 * part that is timed.  finish() releases whatever a run kept between
 * repetitions (W1's context) and is called once before exit.
 */
typedef struct bench_allocator
{
	const char *name;
	const char *describe;		/* one line: what is really called */
	unsigned	workloads;		/* bit W-1 set for each workload it can run; 0: all */
	int			(*init) (const char *config);	/* 0 ok, else refuse to run */
	void		(*run) (const bench_params *p, bench_result *r);
	void		(*finish) (void);
} bench_allocator;

/* main.c: the timed region.  Out of line and identical for all allocators. */
void		bench_region_begin(void);
void		bench_region_end(void);

/* main.c: arrays for the harness's own bookkeeping, from mmap, pre-faulted. */
void	   *bench_array(size_t bytes);
void		bench_array_free(void *p, size_t bytes);

/* main.c: abort with a message (a harness or allocator failure, never a skip). */
void		bench_fail(const char *fmt,...) __attribute__((format(printf, 1, 2), noreturn));

/* ---- the random stream, identical for every allocator ---------------------
 *
 * A 64-bit LCG, x = a x + 1 mod 2^64, with a 31-bit multiplier (a = 1 mod
 * 4, so the period is 2^64): both constants are immediates, so a draw is
 * two instructions and needs no register across the allocator call.  This
 * keeps the harness's own work per operation near the ~16 instructions of
 * the reference harness, so instruction counts stay comparable
 * with the table.  Only upper bits are used (an LCG's low bits
 * have short periods): bits 32-63 pick W1's slot, bits 52-63 or 20-31 a
 * size; 16-bit fields for bench_uniform() come from bit 16 and up.
 */
static inline uint64_t
bench_rng(uint64_t *state)
{
	*state = *state * UINT64_C(0x5851F42D) + 1;
	return *state;
}

/* Uniform in [lo, hi] from 16 random bits, without a division. */
static inline size_t
bench_uniform(uint64_t bits16, size_t lo, size_t hi)
{
	return lo + (size_t) (((bits16 & 0xffff) * (uint64_t) (hi - lo + 1)) >> 16);
}

/*
 * The size mix: 60 % 16-64 B, 30 % 65-256 B, 10 % 257-1024 B, each
 * range uniform (mean about 136 B).  A 4096-entry quantile table (8 KB,
 * filled by bench_size_table_init() in main.c) indexed by 12 random bits:
 * one load instead of two compares and a multiply.  bench_mixed_size()
 * takes bits 52-63; bench_mixed_size_lo() bits 20-31, for loops that use
 * the top bits for something else.
 */
#define BENCH_SIZE_TABLE_BITS 12
extern uint16_t bench_size_table[1 << BENCH_SIZE_TABLE_BITS];

static inline size_t
bench_mixed_size(uint64_t r)
{
	return bench_size_table[r >> (64 - BENCH_SIZE_TABLE_BITS)];
}

static inline size_t
bench_mixed_size_lo(uint64_t r)
{
	return bench_size_table[(r >> 20) & ((1 << BENCH_SIZE_TABLE_BITS) - 1)];
}

/*
 * The 8-byte tag written into a chunk: its address XOR a key, so a chunk
 * handed out twice, overlapping another, or moved without its contents is
 * caught when the tag is read back.
 */
static inline uint64_t
bench_tag(const void *p, uint64_t key)
{
	return (uint64_t) (uintptr_t) p ^ key;
}

#define BENCH_W1_SLOTS		20000
#define BENCH_W2_ALLOCS		100000
#define BENCH_W3_MAX		((size_t) 64 << 20)
#define BENCH_W6_ROWS		5000

#endif							/* BENCH_H */
