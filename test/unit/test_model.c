/*
 * test_model.c
 *	  Randomized model test: long random sequences of alloc / free /
 *	  repalloc / reset / reset_only / reset_children / delete /
 *	  delete_children / create / reparent / callbacks over a random tree of
 *	  contexts, checked against a model after every step.
 *
 * The model knows every live chunk (context, size, fill seed), the tree
 * (parent of every context), the registered reset callbacks, and for each
 * context an asetsim (test/unit/asetsim.h) giving its exact statistics.
 * Every chunk is filled with a pattern derived from its own seed and
 * verified at every free, repalloc and reset/delete, at every full sweep
 * and at the end.  After each step the touched contexts' statistics and
 * accounting are compared with the model; every SWEEP steps, all of them,
 * the subtree sums, mcxt_check and the block statistics.
 *
 * Usage: test_model [seed [steps]], or MCXT_MODEL_SEED / MCXT_MODEL_STEPS.
 * Without them, a fixed list of seeds runs (make check).  A failure prints
 * the seed and step; the run of that seed stops at the first failing step.
 */
#include "../testhelper.h"
#include "asetsim.h"

#include <mcxt/palloc.h>

#define MAX_CTX		40
#define MAX_CHUNKS	2500
#define MAX_CBS		48
#define SWEEP		64

/* ---- random numbers (splitmix64) ------------------------------------------ */

static uint64_t rng_state;

static uint64_t
rng(void)
{
	uint64_t	z = (rng_state += UINT64_C(0x9E3779B97F4A7C15));

	z = (z ^ (z >> 30)) * UINT64_C(0xBF58476D1CE4E5B9);
	z = (z ^ (z >> 27)) * UINT64_C(0x94D049BB133111EB);
	return z ^ (z >> 31);
}

static size_t
rnd(size_t n)
{
	return n == 0 ? 0 : (size_t) (rng() % n);
}

/* ---- the model ------------------------------------------------------------ */

typedef struct mctx
{
	mcxt_context_t *ctx;
	int			parent;			/* slot, -1 for the root */
	bool		alive;
	asetsim		sim;
	mcxt_accounting_t last;		/* accounting seen at the last check */
} mctx;

typedef struct mchunk
{
	unsigned char *p;
	int			ctx;
	size_t		size;
	size_t		space;			/* what mcxt_chunk_space must say */
	bool		external;		/* in a block of its own */
	uint32_t	seed;
} mchunk;

typedef struct mcb
{
	mcxt_callback_t cb;
	int			ctx;			/* registered on this slot, or -1 */
	long		reg_seq;
	long		fire_seq;		/* 0: not fired since registration */
	int			fired;			/* times fired since registration */
} mcb;

static mctx ctxs[MAX_CTX];
static mchunk chunks[MAX_CHUNKS];
static int	nchunks;
static mcb	cbs[MAX_CBS];
static long seq;
static uint64_t cur_seed;
static long cur_step;
static const char *cur_op = "";
static int	peak_chunks, peak_ctxs;

static const struct
{
	size_t		minsz, initsz, maxsz;
}			presets[] = {
	{ALLOCSET_DEFAULT_SIZES},
	{ALLOCSET_SMALL_SIZES},
	{ALLOCSET_START_SMALL_SIZES},
	{0, 2048, 32 * 1024},
	{16 * 1024, 4096, 256 * 1024},
	{0, 1024, 16 * 1024},
};

static void
pattern_fill(unsigned char *p, size_t n, uint32_t seed)
{
	for (size_t i = 0; i < n; i++)
		p[i] = (unsigned char) (seed + i * 131 + (i >> 8) * 7 + (seed >> 11));
}

static bool
pattern_ok(const unsigned char *p, size_t n, uint32_t seed)
{
	for (size_t i = 0; i < n; i++)
		if (p[i] != (unsigned char) (seed + i * 131 + (i >> 8) * 7 + (seed >> 11)))
			return false;
	return true;
}

#define FAILED() (th_cur_failed > 0)

static bool
verify_chunk(int i)
{
	return CHECK_MSG(pattern_ok(chunks[i].p, chunks[i].size, chunks[i].seed),
					 "chunk %p (%zu bytes, context slot %d) corrupted",
					 (void *) chunks[i].p, chunks[i].size, chunks[i].ctx);
}

static void
drop_chunk(int i)
{
	chunks[i] = chunks[--nchunks];
}

/* Is slot a a descendant of slot b (or b itself)? */
static bool
is_under(int a, int b)
{
	for (int s = a; s >= 0; s = ctxs[s].parent)
		if (s == b)
			return true;
	return false;
}

static int
pick_ctx(bool allow_root)
{
	int			live[MAX_CTX];
	int			n = 0;

	for (int i = allow_root ? 0 : 1; i < MAX_CTX; i++)
		if (ctxs[i].alive)
			live[n++] = i;
	return n == 0 ? -1 : live[rnd((size_t) n)];
}

static size_t
pick_size(void)
{
	size_t		r = rnd(100);

	if (r < 65)
		return rnd(257);
	if (r < 88)
		return 257 + rnd(4096 - 256);
	if (r < 97)
		return 4097 + rnd(16384 - 4096);
	return 16385 + rnd(100000);
}

/* ---- callbacks ------------------------------------------------------------ */

static void
model_cb(void *arg)
{
	mcb		   *c = arg;

	c->fired++;
	c->fire_seq = ++seq;
}

/*
 * After an operation that resets or deletes the contexts in `hit` (by
 * slot), every callback registered on them must have fired once, in order
 * (LIFO within a context; descendants before ancestors unless any_order),
 * and no other callback may have fired.
 */
static void
check_callbacks(const bool *hit, bool any_order)
{
	for (int i = 0; i < MAX_CBS; i++)
	{
		if (cbs[i].ctx < 0)
			continue;
		if (hit[cbs[i].ctx])
			CHECK_MSG(cbs[i].fired == 1, "callback %d on slot %d fired %d times, expected once",
					  i, cbs[i].ctx, cbs[i].fired);
		else
			CHECK_MSG(cbs[i].fired == 0, "callback %d on untouched slot %d fired", i, cbs[i].ctx);
	}
	for (int i = 0; i < MAX_CBS; i++)
	{
		if (cbs[i].ctx < 0 || !hit[cbs[i].ctx])
			continue;
		for (int j = 0; j < MAX_CBS; j++)
		{
			if (j == i || cbs[j].ctx < 0 || !hit[cbs[j].ctx])
				continue;
			if (cbs[i].ctx == cbs[j].ctx && cbs[i].reg_seq > cbs[j].reg_seq)
				CHECK_MSG(cbs[i].fire_seq < cbs[j].fire_seq,
						  "callbacks of slot %d not LIFO", cbs[i].ctx);
			if (!any_order && cbs[i].ctx != cbs[j].ctx && is_under(cbs[i].ctx, cbs[j].ctx))
				CHECK_MSG(cbs[i].fire_seq < cbs[j].fire_seq,
						  "callback of slot %d ran after its ancestor slot %d's",
						  cbs[i].ctx, cbs[j].ctx);
		}
	}
	/* fired callbacks are unregistered */
	for (int i = 0; i < MAX_CBS; i++)
		if (cbs[i].ctx >= 0 && hit[cbs[i].ctx])
			cbs[i].ctx = -1;
}

/* ---- checks against the model --------------------------------------------- */

static int	touched = -1;		/* slot the current step worked on */

static void
check_ctx(int s)
{
	mcxt_counters_t got;
	mcxt_counters_t want;
	mcxt_accounting_t a;
	size_t		live = 0;

	mcxt_mem_consumed(ctxs[s].ctx, false, &got);
	sim_counters(&ctxs[s].sim, &want);
	CHECK_MSG(got.totalspace == want.totalspace && got.nblocks == want.nblocks &&
			  got.freespace == want.freespace && got.freechunks == want.freechunks,
			  "slot %d stats: got %zu total in %zu blocks; %zu free (%zu chunks), "
			  "model %zu total in %zu blocks; %zu free (%zu chunks)", s,
			  got.totalspace, got.nblocks, got.freespace, got.freechunks,
			  want.totalspace, want.nblocks, want.freespace, want.freechunks);
	for (int i = 0; i < nchunks; i++)
		if (chunks[i].ctx == s)
			live += mcxt_chunk_space(chunks[i].p);
	CHECK_MSG(got.totalspace - got.freespace >= live,
			  "slot %d: used %zu < live chunk space %zu", s, got.totalspace - got.freespace, live);
	mcxt_get_accounting(ctxs[s].ctx, false, &a);
	CHECK_EQ(a.mem_allocated, want.totalspace);
	CHECK_EQ(mcxt_mem_allocated(ctxs[s].ctx, false), want.totalspace);
	CHECK_EQ(a.bytes_alloc - a.bytes_freed, a.mem_allocated);
	CHECK(a.max_bytes_held >= a.mem_allocated);
	CHECK(a.bytes_alloc >= ctxs[s].last.bytes_alloc);
	CHECK(a.bytes_freed >= ctxs[s].last.bytes_freed);
	CHECK(mcxt_parent(ctxs[s].ctx) == (ctxs[s].parent >= 0 ? ctxs[ctxs[s].parent].ctx : mcxt_top()));
	ctxs[s].last = a;
	touched = s;
}

static void
check_chunk_meta(int i)
{
	CHECK(mcxt_chunk_context(chunks[i].p) == ctxs[chunks[i].ctx].ctx);
	CHECK_EQ((uintptr_t) chunks[i].p % 8, 0);
	CHECK_EQ(mcxt_chunk_space(chunks[i].p), chunks[i].space);
}

/* Everything: every context, subtree sums, every chunk, the checker, block stats. */
static void
full_sweep(bool patterns)
{
	size_t		sum = 0;
	mcxt_accounting_t rec;
	mcxt_accounting_t own;
	uint64_t	sum_alloc = 0, sum_freed = 0, sum_peak = 0;
	mcxt_block_stats_t bs;

	for (int s = 0; s < MAX_CTX; s++)
	{
		if (!ctxs[s].alive)
			continue;
		check_ctx(s);
		sum += ctxs[s].sim.total;
		mcxt_get_accounting(ctxs[s].ctx, false, &own);
		sum_alloc += own.bytes_alloc;
		sum_freed += own.bytes_freed;
		sum_peak += own.max_bytes_held;
		/* the subtree total of every context */
		{
			size_t		sub = 0;

			for (int t = 0; t < MAX_CTX; t++)
				if (ctxs[t].alive && is_under(t, s))
					sub += ctxs[t].sim.total;
			CHECK_EQ(mcxt_mem_allocated(ctxs[s].ctx, true), sub);
		}
	}
	mcxt_get_accounting(ctxs[0].ctx, true, &rec);
	CHECK_EQ(rec.mem_allocated, sum);
	CHECK_EQ(rec.bytes_alloc, sum_alloc);
	CHECK_EQ(rec.bytes_freed, sum_freed);
	CHECK_EQ(rec.max_bytes_held, sum_peak);
	CHECK_EQ(rec.bytes_alloc - rec.bytes_freed, rec.mem_allocated);
	for (int i = 0; i < nchunks; i++)
	{
		check_chunk_meta(i);
		if (patterns)
			verify_chunk(i);
	}
	CHECK_EQ(mcxt_check(ctxs[0].ctx), 0);
	mcxt_block_stats(&bs);
	CHECK(bs.live_bytes >= mcxt_mem_allocated(mcxt_top(), true) + bs.cached_bytes);
	CHECK(bs.live_blocks >= bs.cached_blocks);
}

/* ---- operations ------------------------------------------------------------ */

static void
op_alloc(void)
{
	int			s = pick_ctx(true);
	size_t		size = pick_size();
	unsigned char *p;
	int			flags = 0;

	if (nchunks >= MAX_CHUNKS)
		return;
	cur_op = "alloc";
	switch (rnd(6))
	{
		case 0:
			p = mcxt_alloc_zero(ctxs[s].ctx, size);
			flags = MCXT_ALLOC_ZERO;
			break;
		case 1:
			flags = MCXT_ALLOC_ZERO | (rnd(2) ? MCXT_ALLOC_NO_OOM : 0);
			p = mcxt_alloc_extended(ctxs[s].ctx, size, flags);
			REQUIRE(p != NULL);
			break;
		case 2:
			p = mcxt_alloc_extended(ctxs[s].ctx, size, MCXT_ALLOC_NO_OOM);
			REQUIRE(p != NULL);
			break;
		default:
			p = mcxt_alloc(ctxs[s].ctx, size);
			break;
	}
	if (getenv("MCXT_MODEL_TRACE"))
		fprintf(stderr, "alloc %zu in slot %d -> %p\n", size, s, (void *) p);
	if (flags & MCXT_ALLOC_ZERO)
	{
		for (size_t i = 0; i < size; i++)
			if (p[i] != 0)
			{
				CHECK_MSG(false, "zeroed chunk of %zu bytes has a nonzero byte at %zu", size, i);
				break;
			}
	}
	sim_alloc(&ctxs[s].sim, size);
	chunks[nchunks].p = p;
	chunks[nchunks].ctx = s;
	chunks[nchunks].size = size;
	chunks[nchunks].space = sim_chunk_space(&ctxs[s].sim, size);
	chunks[nchunks].external = sim_is_large(&ctxs[s].sim, size);
	chunks[nchunks].seed = (uint32_t) rng();
	pattern_fill(p, size, chunks[nchunks].seed);
	nchunks++;
	check_chunk_meta(nchunks - 1);
	check_ctx(s);
}

/*
 * The model's side of freeing chunk i: an external chunk's block (sized
 * for its current size) goes back; a small chunk goes on the freelist of
 * its chunk size, which after an in-place shrink is larger than its
 * request size says.
 */
static void
model_free(int i)
{
	asetsim    *sim = &ctxs[chunks[i].ctx].sim;

	if (chunks[i].external)
	{
		sim->total -= sim_large_block(chunks[i].size);
		sim->nblocks--;
	}
	else
		sim->freelist[sim_class(chunks[i].space - 8)]++;
}

static void
op_free(void)
{
	int			i;
	int			s;

	if (nchunks == 0)
		return;
	cur_op = "free";
	i = (int) rnd((size_t) nchunks);
	s = chunks[i].ctx;
	verify_chunk(i);
	check_chunk_meta(i);
	model_free(i);
	if (rnd(2))
		pfree(chunks[i].p);
	else
		mcxt_free(chunks[i].p);
	drop_chunk(i);
	check_ctx(s);
}

static void
op_realloc(void)
{
	int			i;
	int			s;
	size_t		newsize;
	unsigned char *q;
	bool		was_ext;

	if (nchunks == 0)
		return;
	cur_op = "realloc";
	i = (int) rnd((size_t) nchunks);
	s = chunks[i].ctx;
	newsize = rnd(3) == 0 ? chunks[i].size / (1 + rnd(4)) : pick_size();
	verify_chunk(i);
	was_ext = chunks[i].external;
	q = rnd(2) ? mcxt_realloc(chunks[i].p, newsize)
		: mcxt_realloc_extended(chunks[i].p, newsize, MCXT_ALLOC_NO_OOM);
	REQUIRE(q != NULL);
	CHECK_MSG(pattern_ok(q, chunks[i].size < newsize ? chunks[i].size : newsize, chunks[i].seed),
			  "repalloc %zu -> %zu lost the contents", chunks[i].size, newsize);
	{
		asetsim    *sim = &ctxs[s].sim;
		bool		ext;

		if (was_ext)
		{
			/*
			 * the block is reallocated to the new size; a large chunk stays
			 * large whatever its new size (src/README.md, as PostgreSQL)
			 */
			sim->total -= sim_large_block(chunks[i].size);
			sim->total += sim_large_block(newsize);
			chunks[i].space = sim_align(newsize + SIM_TAIL) + 8;
			ext = true;
		}
		else if (!sim_is_large(sim, newsize) && sim_fits(chunks[i].space - 8, newsize))
		{
			ext = false;
			/* fits the chunk it has: stays */
			CHECK_MSG(q == chunks[i].p, "repalloc within the chunk (%zu -> %zu, chunk %zu) moved it",
					  chunks[i].size, newsize, chunks[i].space - 8);
		}
		else
		{
			/* a new chunk first, then the old one freed */
			sim_alloc(sim, newsize);
			model_free(i);
			chunks[i].space = sim_chunk_space(sim, newsize);
			ext = sim_is_large(sim, newsize);
		}
		chunks[i].external = ext;
	}
	chunks[i].p = q;
	chunks[i].size = newsize;
	chunks[i].seed = (uint32_t) rng();
	pattern_fill(q, newsize, chunks[i].seed);
	check_chunk_meta(i);
	check_ctx(s);
}

/* Verify and forget the chunks of every slot marked in `which`. */
static void
drop_chunks_of(const bool *which)
{
	for (int i = 0; i < nchunks;)
	{
		if (which[chunks[i].ctx])
		{
			verify_chunk(i);
			drop_chunk(i);
		}
		else
			i++;
	}
}

/* Mark the descendants of s (not s). */
static void
mark_descendants(int s, bool *mark)
{
	for (int t = 0; t < MAX_CTX; t++)
		if (ctxs[t].alive && t != s && is_under(t, s))
			mark[t] = true;
}

static void
forget_contexts(const bool *which)
{
	for (int t = 0; t < MAX_CTX; t++)
		if (which[t])
			ctxs[t].alive = false;
}

static void
op_reset(int kind)
{
	int			s = pick_ctx(true);
	bool		hit[MAX_CTX] = {false};
	bool		dead[MAX_CTX] = {false};
	mcxt_accounting_t own_before, rec_before, after;

	mcxt_get_accounting(ctxs[s].ctx, false, &own_before);
	mcxt_get_accounting(ctxs[s].ctx, true, &rec_before);
	switch (kind)
	{
		case 0:					/* reset: children deleted */
			cur_op = "reset";
			hit[s] = true;
			mark_descendants(s, hit);
			mark_descendants(s, dead);
			drop_chunks_of(hit);
			if (rnd(2))
				mcxt_reset(ctxs[s].ctx);
			else
				MemoryContextReset(ctxs[s].ctx);
			check_callbacks(hit, false);
			forget_contexts(dead);
			sim_reset(&ctxs[s].sim);
			mcxt_get_accounting(ctxs[s].ctx, false, &after);
			CHECK_EQ(after.bytes_alloc, rec_before.bytes_alloc);
			CHECK_EQ(after.bytes_freed, own_before.bytes_freed +
					 (own_before.mem_allocated - ctxs[s].sim.first_size) +
					 (rec_before.bytes_alloc - own_before.bytes_alloc));
			CHECK(mcxt_is_empty(ctxs[s].ctx));
			break;
		case 1:					/* reset_only */
			cur_op = "reset_only";
			hit[s] = true;
			drop_chunks_of(hit);
			mcxt_reset_only(ctxs[s].ctx);
			check_callbacks(hit, false);
			sim_reset(&ctxs[s].sim);
			mcxt_get_accounting(ctxs[s].ctx, false, &after);
			CHECK_EQ(after.bytes_alloc, own_before.bytes_alloc);
			CHECK_EQ(after.bytes_freed, own_before.bytes_freed +
					 (own_before.mem_allocated - ctxs[s].sim.first_size));
			break;
		default:				/* reset_children */
			cur_op = "reset_children";
			mark_descendants(s, hit);
			drop_chunks_of(hit);
			mcxt_reset_children(ctxs[s].ctx);
			check_callbacks(hit, true);
			for (int t = 0; t < MAX_CTX; t++)
				if (hit[t])
					sim_reset(&ctxs[t].sim);
			break;
	}
	for (int t = 0; t < MAX_CTX; t++)
		if (ctxs[t].alive && (t == s || hit[t]))
			check_ctx(t);
}

static void
op_delete(bool children_only)
{
	int			s = children_only ? pick_ctx(true) : pick_ctx(false);
	bool		hit[MAX_CTX] = {false};
	int			parent;
	mcxt_accounting_t pbefore, sub, after;

	if (s < 0)
		return;
	cur_op = children_only ? "delete_children" : "delete";
	mark_descendants(s, hit);
	if (!children_only)
		hit[s] = true;
	parent = children_only ? s : ctxs[s].parent;
	mcxt_get_accounting(ctxs[parent].ctx, false, &pbefore);
	if (children_only)
	{
		mcxt_accounting_t own;

		mcxt_get_accounting(ctxs[s].ctx, true, &sub);
		mcxt_get_accounting(ctxs[s].ctx, false, &own);
		sub.bytes_alloc -= own.bytes_alloc;
	}
	else
		mcxt_get_accounting(ctxs[s].ctx, true, &sub);
	drop_chunks_of(hit);
	if (children_only)
		mcxt_delete_children(ctxs[s].ctx);
	else if (rnd(2))
		mcxt_delete(ctxs[s].ctx);
	else
		MemoryContextDelete(ctxs[s].ctx);
	check_callbacks(hit, false);
	forget_contexts(hit);
	/* the deleted subtree's history moves to the parent */
	mcxt_get_accounting(ctxs[parent].ctx, false, &after);
	CHECK_EQ(after.bytes_alloc, pbefore.bytes_alloc + sub.bytes_alloc);
	CHECK_EQ(after.bytes_freed, pbefore.bytes_freed + sub.bytes_alloc);
	CHECK_EQ(after.mem_allocated, pbefore.mem_allocated);
	check_ctx(parent);
}

static void
op_create(void)
{
	int			slot = -1;
	int			parent = pick_ctx(true);
	int			pr = (int) rnd(sizeof(presets) / sizeof(presets[0]));
	mcxt_accounting_t a;

	for (int i = 1; i < MAX_CTX; i++)
		if (!ctxs[i].alive)
		{
			slot = i;
			break;
		}
	if (slot < 0)
		return;
	cur_op = "create";
	ctxs[slot].ctx = mcxt_aset_create(ctxs[parent].ctx, rnd(2) ? "ModelA" : "ModelB",
									  presets[pr].minsz, presets[pr].initsz, presets[pr].maxsz);
	ctxs[slot].parent = parent;
	ctxs[slot].alive = true;
	memset(&ctxs[slot].last, 0, sizeof(ctxs[slot].last));
	sim_init(&ctxs[slot].sim, presets[pr].minsz, presets[pr].initsz, presets[pr].maxsz);
	mcxt_get_accounting(ctxs[slot].ctx, false, &a);
	CHECK_EQ(a.bytes_alloc, ctxs[slot].sim.first_size);
	CHECK_EQ(a.bytes_freed, 0);
	CHECK(mcxt_is_empty(ctxs[slot].ctx));
	check_ctx(slot);
}

static void
op_reparent(void)
{
	volatile int x = pick_ctx(false);
	volatile int y = pick_ctx(true);

	if (x < 0)
		return;
	cur_op = "reparent";
	if (is_under(y, x))
	{
		EXPECT_ERROR(MCXT_ERR_MISUSE, mcxt_set_parent(ctxs[x].ctx, ctxs[y].ctx));
		CHECK(mcxt_parent(ctxs[x].ctx) == ctxs[ctxs[x].parent].ctx);
		return;
	}
	mcxt_set_parent(ctxs[x].ctx, ctxs[y].ctx);
	ctxs[x].parent = y;
	CHECK(mcxt_parent(ctxs[x].ctx) == ctxs[y].ctx);
	{
		size_t		sub = 0;

		for (int t = 0; t < MAX_CTX; t++)
			if (ctxs[t].alive && is_under(t, y))
				sub += ctxs[t].sim.total;
		CHECK_EQ(mcxt_mem_allocated(ctxs[y].ctx, true), sub);
	}
}

static void
op_callback(void)
{
	int			s = pick_ctx(true);
	int			free_slot = -1;
	int			reg[MAX_CBS];
	int			nreg = 0;

	for (int i = 0; i < MAX_CBS; i++)
	{
		if (cbs[i].ctx < 0 && free_slot < 0)
			free_slot = i;
		if (cbs[i].ctx >= 0)
			reg[nreg++] = i;
	}
	if (nreg > 0 && rnd(3) == 0)
	{
		int			i = reg[rnd((size_t) nreg)];

		cur_op = "unregister";
		CHECK(mcxt_unregister_reset_callback(ctxs[cbs[i].ctx].ctx, &cbs[i].cb));
		CHECK(!mcxt_unregister_reset_callback(ctxs[cbs[i].ctx].ctx, &cbs[i].cb));
		cbs[i].ctx = -1;
		return;
	}
	if (free_slot < 0)
		return;
	cur_op = "register";
	cbs[free_slot].cb.func = model_cb;
	cbs[free_slot].cb.arg = &cbs[free_slot];
	cbs[free_slot].ctx = s;
	cbs[free_slot].reg_seq = ++seq;
	cbs[free_slot].fire_seq = 0;
	cbs[free_slot].fired = 0;
	mcxt_register_reset_callback(ctxs[s].ctx, &cbs[free_slot].cb);
}

static void
op_peak(void)
{
	int			s = pick_ctx(true);
	mcxt_accounting_t a;

	cur_op = "reset_peak";
	mcxt_reset_peak(ctxs[s].ctx, rnd(2) != 0);
	mcxt_get_accounting(ctxs[s].ctx, false, &a);
	CHECK_EQ(a.max_bytes_held, a.mem_allocated);
}

/* ---- driver ---------------------------------------------------------------- */

static void
run_seed(uint64_t seed, long steps)
{
	mcxt_block_stats_t bs0, bs1;

	mcxt_block_stats(&bs0);
	rng_state = seed;
	cur_seed = seed;
	memset(ctxs, 0, sizeof(ctxs));
	nchunks = 0;
	for (int i = 0; i < MAX_CBS; i++)
		cbs[i].ctx = -1;
	ctxs[0].ctx = mcxt_aset_create(mcxt_top(), "ModelRoot", ALLOCSET_DEFAULT_SIZES);
	ctxs[0].parent = -1;
	ctxs[0].alive = true;
	sim_init(&ctxs[0].sim, ALLOCSET_DEFAULT_SIZES);

	for (cur_step = 1; cur_step <= steps; cur_step++)
	{
		size_t		r = rnd(1000);

		cur_op = "?";
		th_set_note("seed=%llu step=%ld", (unsigned long long) seed, cur_step);
		if (r < 470)
			op_alloc();
		else if (r < 640)
			op_free();
		else if (r < 800)
			op_realloc();
		else if (r < 804)
			op_reset(0);
		else if (r < 807)
			op_reset(1);
		else if (r < 810)
			op_reset(2);
		else if (r < 818)
			op_delete(false);
		else if (r < 820)
			op_delete(true);
		else if (r < 870)
			op_create();
		else if (r < 910)
			op_reparent();
		else if (r < 970)
			op_callback();
		else
			op_peak();
		if (getenv("MCXT_MODEL_TRACE"))
			fprintf(stderr, "step %ld: %s\n", cur_step, cur_op);
		if (nchunks > peak_chunks)
			peak_chunks = nchunks;
		{
			int			n = 0;

			for (int t = 0; t < MAX_CTX; t++)
				n += ctxs[t].alive;
			if (n > peak_ctxs)
				peak_ctxs = n;
		}
		/* the checker on the context the step touched, its subtree included */
		if (!FAILED() && touched >= 0 && ctxs[touched].alive)
			CHECK_MSG(mcxt_check(ctxs[touched].ctx) == 0, "mcxt_check found problems after %s", cur_op);
		touched = -1;
		if (!FAILED() && cur_step % SWEEP == 0)
			full_sweep(cur_step % (SWEEP * 8) == 0);
		if (FAILED())
		{
			fprintf(stderr, "  failed at seed %llu step %ld (op %s); reproduce with: "
					"test_model %llu %ld\n", (unsigned long long) seed, cur_step, cur_op,
					(unsigned long long) seed, cur_step);
			break;
		}
	}
	th_set_note("seed=%llu end", (unsigned long long) seed);
	fprintf(stderr, "\n  seed %llu: %ld steps, peak %d live chunks in %d contexts",
			(unsigned long long) seed, cur_step - 1, peak_chunks, peak_ctxs);
	peak_chunks = peak_ctxs = 0;
	if (!FAILED())
		full_sweep(true);
	/* the end: verify and drop everything */
	{
		bool		all[MAX_CTX];

		for (int t = 0; t < MAX_CTX; t++)
			all[t] = ctxs[t].alive;
		drop_chunks_of(all);
		if (!FAILED())
		{
			mcxt_delete(ctxs[0].ctx);
			check_callbacks(all, false);
		}
	}
	mcxt_block_cache_trim();
	mcxt_block_stats(&bs1);
	th_note[0] = '\0';
	/* everything the run took is back, except what sits in recycled contexts */
	CHECK(bs1.cached_blocks == 0);
	CHECK(bs1.live_bytes >= bs0.live_bytes - bs0.cached_bytes);
}

static uint64_t arg_seed;
static long arg_steps;
static bool have_seed;

static void
test_model_seeds(void)
{
	static const uint64_t seeds[] = {1, 2, 3, 0xC0FFEE, 20251121};
	long		steps = arg_steps > 0 ? arg_steps : 4000;

	if (have_seed)
	{
		fprintf(stderr, "(seed %llu, %ld steps) ", (unsigned long long) arg_seed, steps);
		run_seed(arg_seed, steps);
		return;
	}
	for (size_t i = 0; i < sizeof(seeds) / sizeof(seeds[0]) && !FAILED(); i++)
		run_seed(seeds[i], steps);
}

/* mcxt_thread_cleanup gives every block back, recycled contexts included. */
static void
test_cleanup(void)
{
	mcxt_block_stats_t bs;

	mcxt_thread_cleanup();
	mcxt_block_stats(&bs);
	CHECK_EQ(bs.live_blocks, 0);
	CHECK_EQ(bs.live_bytes, 0);
	CHECK_EQ(bs.cached_blocks, 0);
}

int
main(int argc, char **argv)
{
	const char *es = getenv("MCXT_MODEL_SEED");
	const char *en = getenv("MCXT_MODEL_STEPS");

	if (argc > 1)
		es = argv[1];
	if (argc > 2)
		en = argv[2];
	if (es != NULL && *es != '\0')
	{
		arg_seed = strtoull(es, NULL, 0);
		have_seed = true;
	}
	if (en != NULL && *en != '\0')
		arg_steps = strtol(en, NULL, 0);

	th_catch_errors();
	RUN(test_model_seeds);
	RUN(test_cleanup);
	return th_report();
}
