/*
 * workloads.h
 *	  The six workloads of issue 4, as a template instantiated once per
 *	  allocator.
 *
 * An allocator's translation unit (alloc_<name>.c) defines, before it
 * includes this file:
 *
 *	typedef ... a_ctx;						a context handle
 *	A_HAS_CONTEXTS (0/1)					a_reset/a_delete free whole contexts;
 *											with 0 the template frees every chunk
 *											it handed out instead (the malloc family)
 *	A_HIERARCHY (0/1)						deleting a context deletes its children
 *	a_ctx a_root(void)						the long-lived parent (TopMemoryContext)
 *	a_ctx a_create(a_ctx parent)			a child with the default block sizes
 *	void a_switch(a_ctx c)					make c current (PostgreSQL's palloc reads it)
 *	void *a_alloc(a_ctx c, size_t n)		c is the current context
 *	void a_free(a_ctx c, void *p)			per-chunk free (a no-op where none exists)
 *	void *a_realloc(a_ctx c, void *p, size_t old, size_t n)
 *	void a_reset(a_ctx c)					when A_HAS_CONTEXTS
 *	void a_delete(a_ctx c)					when A_HAS_CONTEXTS
 *	uint64_t a_ctx_bytes(a_ctx c)			bytes the context says it holds (0: unknown)
 *
 * and gets bench_run() and bench_finish(), which it puts in its
 * bench_allocator.  Every workload draws its sizes from a splitmix64
 * stream with a fixed seed, re-seeded each repetition, so every allocator
 * and every repetition sees the same requests.  Every chunk gets an 8-byte
 * tag derived from its address; the tags are read back (all of them, or a
 * fixed sample where reading all would dominate the workload) and a
 * mismatch counts as an error, which fails the run.
 */
#ifndef BENCH_WORKLOADS_H
#define BENCH_WORKLOADS_H

#include <string.h>

#include "bench.h"

#if A_HAS_CONTEXTS
#define W_RESET(c, ptrs, n)		a_reset(c)
#else
#define W_RESET(c, ptrs, n) \
	do { \
		for (size_t w_i_ = 0; w_i_ < (size_t) (n); w_i_++) \
			a_free((c), (ptrs)[w_i_]); \
	} while (0)
#endif

static inline void
w_put_tag(void *p, uint64_t key)
{
	*(uint64_t *) p = bench_tag(p, key);
}

/*
 * Read a tag back: add 1 to *errors on a mismatch, return the word for the
 * checksum.  Callers keep errors and checksum in locals, not in the result
 * struct, so the compiler need not reload them after every store through
 * a chunk pointer (which might alias them).
 */
static inline uint64_t
w_check_tag(const void *p, uint64_t key, uint64_t *errors)
{
	uint64_t	v = *(const uint64_t *) p;

	*errors += (v != bench_tag(p, key));
	return v;
}

/*
 * The cheapest read-back, for the hottest loop (W1): OR the difference into
 * *diff, which stays 0 while every tag matches (2 instructions after the
 * load).
 */
static inline void
w_check_tag_or(const void *p, uint64_t key, uint64_t *diff)
{
	*diff |= *(const uint64_t *) p ^ bench_tag(p, key);
}

/* ---- W1: small churn -------------------------------------------------------
 *
 * 10M operations over 20,000 slots: each picks a random slot; an occupied
 * slot's chunk is read back (tag check) and freed, an empty one gets a new
 * chunk of the mixed size with a tag.  About 10k chunks are live, half the
 * operations allocate.  The live chunks' tags are read back after the
 * timed region.  The context lives for the whole process; between
 * repetitions it is reset (or the live chunks freed), untimed.
 */
static a_ctx w1_ctx;
static void **w1_slots;
static int	w1_ready;

static void
w1_cleanup(void)
{
	if (!w1_ready)
		return;
#if A_HAS_CONTEXTS
	a_reset(w1_ctx);
#else
	for (size_t i = 0; i < BENCH_W1_SLOTS; i++)
		if (w1_slots[i])
			a_free(w1_ctx, w1_slots[i]);
#endif
	memset(w1_slots, 0, BENCH_W1_SLOTS * sizeof(void *));
}

static void
w1_run(const bench_params *bp, bench_result *r)
{
	uint64_t	seed = 0x5EED0001;
	uint64_t	nops = 10000000 / (uint64_t) bp->scale_div;
	uint64_t	sum = 0,
				err = 0;
	uint64_t	live = 0;
	void	  **slots;
	a_ctx		c;

	if (!w1_ready)
	{
		w1_slots = bench_array(BENCH_W1_SLOTS * sizeof(void *));
		w1_ctx = a_create(a_root());
		w1_ready = 1;
	}
	else
		w1_cleanup();
	slots = w1_slots;
	c = w1_ctx;
	a_switch(c);

	bench_region_begin();
	for (uint64_t i = nops; i > 0; i--)
	{
		uint64_t	x = bench_rng(&seed);
		size_t		slot = (size_t) (((x >> 32) * BENCH_W1_SLOTS) >> 32);
		void	   *p = slots[slot];

		/* the tag key is the slot's address: nothing extra to keep across the call */
		if (p)
		{
			w_check_tag_or(p, (uintptr_t) &slots[slot], &err);
			a_free(c, p);
			slots[slot] = NULL;
		}
		else
		{
			p = a_alloc(c, bench_mixed_size_lo(x));
			w_put_tag(p, (uintptr_t) &slots[slot]);
			slots[slot] = p;
		}
	}
	bench_region_end();

	/* the live chunks' tags, untimed */
	for (size_t i = 0; i < BENCH_W1_SLOTS; i++)
		if (slots[i])
			sum += w_check_tag(slots[i], (uintptr_t) &slots[i], &err);
	for (size_t i = 0; i < BENCH_W1_SLOTS; i++)
		live += slots[i] != NULL;
	r->ops = nops;
	r->live_chunks = live;
	r->ctx_bytes = a_ctx_bytes(c);
	r->checksum = sum;
	r->errors = err != 0;
	a_switch(a_root());
}

/* ---- W2: query lifecycle ---------------------------------------------------
 *
 * Create a context; 100 x (100k mixed-size allocations, each tagged and
 * kept; read back a fixed 1/61 sample; reset); delete.  All of it timed;
 * ops are the allocations.
 */
static void
w2_run(const bench_params *bp, bench_result *r)
{
	uint64_t	sum = 0,
				err = 0;
	static void **w2_ptrs;
	void	  **ptrs;			/* a local: not reloaded after every call */
	uint64_t	seed = 0x5EED0002;
	int			cycles = 100 / bp->scale_div;
	a_ctx		c;

	if (cycles < 1)
		cycles = 1;
	if (!w2_ptrs)
		w2_ptrs = bench_array(BENCH_W2_ALLOCS * sizeof(void *));
	ptrs = w2_ptrs;

	bench_region_begin();
	c = a_create(a_root());
	a_switch(c);
	for (int cyc = 0; cyc < cycles; cyc++)
	{
		for (size_t i = 0; i < BENCH_W2_ALLOCS; i++)
		{
			void	   *p = a_alloc(c, bench_mixed_size(bench_rng(&seed)));

			w_put_tag(p, i);
			ptrs[i] = p;
		}
		for (size_t i = (size_t) cyc % 61; i < BENCH_W2_ALLOCS; i += 61)
			sum += w_check_tag(ptrs[i], i, &err);
		if (cyc == 0)
			r->ctx_bytes = a_ctx_bytes(c);
		W_RESET(c, ptrs, BENCH_W2_ALLOCS);
	}
	a_switch(a_root());
#if A_HAS_CONTEXTS
	a_delete(c);
#endif
	bench_region_end();

	r->ops = (uint64_t) cycles * BENCH_W2_ALLOCS;
	r->checksum = sum;
	r->errors = err;
	r->live_chunks = BENCH_W2_ALLOCS;
}

/* ---- W3: growth ------------------------------------------------------------
 *
 * A StringInfo-style buffer: 64 B, filled; then doubled by realloc and the
 * new half filled, up to 64 MiB (20 doublings).  Every doubling checks the
 * first and last byte of the old contents; every build ends with a check
 * of three bytes of every doubling's half.  8 builds per repetition, the buffer freed
 * (or its context reset) after each.  ops are bytes of the final buffers.
 */
static void
w3_run(const bench_params *bp, bench_result *r)
{
	uint64_t	sum = 0,
				err = 0;
	int			builds = 8 / bp->scale_div;
	a_ctx		c = a_create(a_root());

	if (builds < 1)
		builds = 1;
	a_switch(c);

	bench_region_begin();
	for (int b = 0; b < builds; b++)
	{
		size_t		size = 64;
		unsigned char level = 1;
		unsigned char *p = a_alloc(c, size);
		void	   *list[1];

		memset(p, level, size);
		while (size < BENCH_W3_MAX)
		{
			p = a_realloc(c, p, size, size * 2);
			if (p[0] != 1 || p[size - 1] != level)
				err++;
			level++;
			memset(p + size, level, size);
			size *= 2;
		}
		/* bytes [s, 2s) were written at the doubling that reached 2s */
		level = 1;
		for (size_t s = 64; s < size; s *= 2)
		{
			level++;
			if (p[s] != level || p[s + s / 2] != level || p[2 * s - 1] != level)
				err++;
			sum += p[s + s / 2];
		}
		list[0] = p;
		W_RESET(c, list, 1);
		(void) list;
	}
	bench_region_end();

	r->ops = (uint64_t) builds * BENCH_W3_MAX;
	r->checksum = sum;
	r->errors = err;
	r->live_chunks = 0;
	a_switch(a_root());
#if A_HAS_CONTEXTS
	a_delete(c);
#endif
}

/* ---- W4: leak shape --------------------------------------------------------
 *
 * 1M x (alloc 128, copy "base/16392" with its NUL, keep the pointer) into
 * one context created before the timed region.  Afterwards, untimed: every
 * string is compared, the most common distance between consecutive chunks
 * (the stride a core-file scan sees) is found, and everything is freed.
 */
static void
w4_run(const bench_params *bp, bench_result *r)
{
	uint64_t	sum = 0,
				err = 0;
	static void **w4_ptrs;
	static uint32_t *hist;
	void	  **ptrs;
	size_t		n = 1000000 / (size_t) bp->scale_div;
	a_ctx		c;
	uint32_t	best = 0;

	if (!w4_ptrs)
	{
		w4_ptrs = bench_array(1000000 * sizeof(void *));
		hist = bench_array(4097 * sizeof(uint32_t));
	}
	ptrs = w4_ptrs;
	c = a_create(a_root());
	a_switch(c);

	bench_region_begin();
	for (size_t i = 0; i < n; i++)
	{
		char	   *p = a_alloc(c, 128);

		memcpy(p, "base/16392", 11);
		ptrs[i] = p;
	}
	bench_region_end();

	r->ops = n;
	r->live_chunks = n;
	r->ctx_bytes = a_ctx_bytes(c);
	memset(hist, 0, 4097 * sizeof(uint32_t));
	for (size_t i = 0; i < n; i++)
	{
		if (memcmp(ptrs[i], "base/16392", 11) != 0)
			err++;
		sum += ((const unsigned char *) ptrs[i])[5];
		if (i > 0)
		{
			uintptr_t	a = (uintptr_t) ptrs[i - 1],
						b = (uintptr_t) ptrs[i];
			uintptr_t	d = a < b ? b - a : a - b;

			if (d <= 4096)
				hist[d]++;
		}
	}
	for (uint32_t d = 1; d <= 4096; d++)
		if (hist[d] > hist[best])
			best = d;
	r->stride = best;
	r->checksum = sum;
	r->errors = err;

	a_switch(a_root());
#if A_HAS_CONTEXTS
	a_delete(c);
#else
	W_RESET(c, ptrs, n);
#endif
}

/* ---- W5: many contexts -----------------------------------------------------
 *
 * 1M x (create a child of the root, switch to it, allocate 24, 40 and 64
 * bytes with a tag each, read the three back, switch back, delete).  The
 * malloc family has no context: 3 mallocs and 3 frees.
 */
static void
w5_run(const bench_params *bp, bench_result *r)
{
	uint64_t	sum = 0,
				err = 0;
	size_t		n = 1000000 / (size_t) bp->scale_div;
	a_ctx		root = a_root();

	bench_region_begin();
	for (size_t i = 0; i < n; i++)
	{
		a_ctx		c = a_create(root);
		void	   *ch[3];

		a_switch(c);
		ch[0] = a_alloc(c, 24);
		w_put_tag(ch[0], i);
		ch[1] = a_alloc(c, 40);
		w_put_tag(ch[1], i + 1);
		ch[2] = a_alloc(c, 64);
		w_put_tag(ch[2], i + 2);
		sum += w_check_tag(ch[0], i, &err) + w_check_tag(ch[1], i + 1, &err) +
			w_check_tag(ch[2], i + 2, &err);
		a_switch(root);
#if A_HAS_CONTEXTS
		a_delete(c);
#else
		W_RESET(c, ch, 3);
#endif
	}
	bench_region_end();

	r->ops = n;
	r->live_chunks = 0;
	r->checksum = sum;
	r->errors = err;
}

/* ---- W6: an executor-like trace --------------------------------------------
 *
 * Modelled on how PostgreSQL's executor uses contexts for a scan feeding a
 * hash/sort node:
 *  - a cache context (CacheMemoryContext) lives for the whole repetition and
 *    gets a catcache-entry-sized allocation (128-1024 B) every 1000 rows;
 *  - per query, a query context (ExecutorState) under the root gets 30 plan
 *    and state nodes (48-512 B) and a tuple-pointer array that grows by
 *    repalloc doubling from 64 entries; a per-tuple context (ExprContext)
 *    is its child;
 *  - per row, in the per-tuple context: a values/isnull array (64 B), two
 *    detoasted datums (16-200 B) and one expression result (32-96 B); the
 *    projection reads the three back; every 8th row a tuple copy (64-256 B)
 *    is stored in the query context; then the per-tuple context is reset
 *    (ResetExprContext);
 *  - at query end the stored tuples and plan nodes are read back and the
 *    query context is deleted (with its child).
 * 200 queries x 5000 rows; ops are rows.
 */
#define W6_PLAN_NODES	30

static void
w6_run(const bench_params *bp, bench_result *r)
{
	uint64_t	sum = 0,
				err = 0;
	static void **cache_ptrs;
	uint64_t	seed = 0x5EED0006;
	int			queries = 200 / bp->scale_div;
	size_t		ncache = 0;
	uint64_t	rowno = 0;
	a_ctx		root = a_root();
	a_ctx		cache;

	if (queries < 1)
		queries = 1;
	if (!cache_ptrs)
		cache_ptrs = bench_array((200 * BENCH_W6_ROWS / 1000 + 1) * sizeof(void *));

	bench_region_begin();
	cache = a_create(root);
	for (int q = 0; q < queries; q++)
	{
		a_ctx		qctx = a_create(root);
		a_ctx		tctx = a_create(qctx);
		void	   *plan[W6_PLAN_NODES];
		void	  **tups;
		size_t		ntups = 0,
					tcap = 64;

		a_switch(qctx);
		for (int k = 0; k < W6_PLAN_NODES; k++)
		{
			plan[k] = a_alloc(qctx, bench_uniform(bench_rng(&seed) >> 32, 48, 512));
			w_put_tag(plan[k], (uint64_t) k);
		}
		tups = a_alloc(qctx, tcap * sizeof(void *));

		for (int row = 0; row < BENCH_W6_ROWS; row++, rowno++)
		{
			uint64_t	x = bench_rng(&seed);
			void	  **vals;
			void	   *rowptrs[4];

			a_switch(tctx);
			vals = a_alloc(tctx, 64);
			vals[0] = a_alloc(tctx, bench_uniform(x >> 16, 16, 200));
			w_put_tag(vals[0], rowno);
			vals[1] = a_alloc(tctx, bench_uniform(x >> 32, 16, 200));
			w_put_tag(vals[1], rowno + 1);
			vals[2] = a_alloc(tctx, bench_uniform(x >> 48, 32, 96));
			w_put_tag(vals[2], rowno + 2);
			/* the projection */
			sum += w_check_tag(vals[0], rowno, &err) +
				w_check_tag(vals[1], rowno + 1, &err) +
				w_check_tag(vals[2], rowno + 2, &err);

			if ((row & 7) == 0)
			{
				void	   *t;

				a_switch(qctx);
				if (ntups == tcap)
				{
					tups = a_realloc(qctx, tups, tcap * sizeof(void *),
									 2 * tcap * sizeof(void *));
					tcap *= 2;
				}
				t = a_alloc(qctx, bench_uniform(x >> 24, 64, 256));
				w_put_tag(t, ntups);
				tups[ntups++] = t;
			}
			if (rowno % 1000 == 0)
			{
				a_switch(cache);
				cache_ptrs[ncache] = a_alloc(cache, bench_uniform(x >> 40, 128, 1024));
				w_put_tag(cache_ptrs[ncache], ncache);
				ncache++;
			}
			rowptrs[0] = vals[0];
			rowptrs[1] = vals[1];
			rowptrs[2] = vals[2];
			rowptrs[3] = vals;
			W_RESET(tctx, rowptrs, 4);
			(void) rowptrs;
		}

		for (size_t i = 0; i < ntups; i++)
			sum += w_check_tag(tups[i], i, &err);
		for (int k = 0; k < W6_PLAN_NODES; k++)
			sum += w_check_tag(plan[k], (uint64_t) k, &err);
		a_switch(root);
#if A_HAS_CONTEXTS
#if !A_HIERARCHY
		a_delete(tctx);
#endif
		a_delete(qctx);
#else
		W_RESET(qctx, tups, ntups);
		W_RESET(qctx, plan, W6_PLAN_NODES);
		a_free(qctx, tups);
		(void) tctx;
#endif
	}
	for (size_t i = 0; i < ncache; i++)
		sum += w_check_tag(cache_ptrs[i], i, &err);
	r->ctx_bytes = a_ctx_bytes(cache);
#if A_HAS_CONTEXTS
	a_delete(cache);
#else
	W_RESET(cache, cache_ptrs, ncache);
#endif
	bench_region_end();

	r->ops = (uint64_t) queries * BENCH_W6_ROWS;
	r->checksum = sum;
	r->errors = err;
	r->live_chunks = 0;
}

/* ---- entry points ---------------------------------------------------------- */

static void
bench_run(const bench_params *bp, bench_result *r)
{
	switch (bp->workload)
	{
		case BENCH_W1:
			w1_run(bp, r);
			break;
		case BENCH_W2:
			w2_run(bp, r);
			break;
		case BENCH_W3:
			w3_run(bp, r);
			break;
		case BENCH_W4:
			w4_run(bp, r);
			break;
		case BENCH_W5:
			w5_run(bp, r);
			break;
		case BENCH_W6:
			w6_run(bp, r);
			break;
		default:
			bench_fail("unknown workload %d", bp->workload);
	}
}

static void
bench_finish(void)
{
	w1_cleanup();
}

#endif							/* BENCH_WORKLOADS_H */
