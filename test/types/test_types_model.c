/*
 * test_types_model.c
 *	  Randomized model tests of the Generation, Slab and Bump context types
 *	  and of aligned allocations.
 *
 * Each run keeps a table of live chunks (pointer, size, fill seed) and does
 * random allocations, frees, reallocs, resets and delete/recreate cycles on
 * one context, verifying every chunk's contents against its seed, the
 * chunk's context and space, mcxt_check() == 0 after every step, and the
 * statistics against what the model can predict for the type.  Seeds are
 * fixed; a failure prints the seed and step.  MCXT_MODEL_SEED and
 * MCXT_MODEL_STEPS (or arguments: seed steps) run another seed by hand.
 *
 * With MCXT_MODEL_LIMITS=1 (the unit.types_model_limits test) every context
 * lives under a parent with a subtree limit: a hard limit the model never
 * reaches and a soft limit it crosses again and again.  Then after every
 * step the limit must hold exactly the subtree's blocks, and at the end the
 * soft callback must have run once per counted crossing.
 */
#include "../testhelper.h"
#include "typesim.h"

#include <mcxt/palloc.h>

#define NSLOTS		192

typedef enum kind
{
	K_GENERATION,
	K_SLAB,
	K_BUMP,
	K_ASET_ALIGNED,
	K_GENERATION_ALIGNED,
	K_BUMP_ALIGNED,
	K_COUNT
} kind;

static const char *const kind_names[K_COUNT] = {
	"Generation", "Slab", "Bump", "AllocSet+aligned", "Generation+aligned", "Bump+aligned"
};

typedef struct slot
{
	char	   *p;
	size_t		size;
	size_t		align;			/* 0: an ordinary chunk */
	unsigned	seed;
} slot;

static slot slots[NSLOTS];
static size_t nlive;
static size_t slab_chunk;

static uint64_t steps_override;
static uint64_t seed_override;

/* MCXT_MODEL_LIMITS: the limited parent of the model's contexts, and its callback count. */
static bool with_limits;
static mcxt_context_t *limited;
static uint64_t soft_calls;

static void
soft_cb(mcxt_context_t *ctx, size_t held, size_t soft, void *arg)
{
	(void) arg;
	soft_calls++;
	CHECK(ctx == limited);
	CHECK(held > soft);
}

static void
check_limit(void)
{
	mcxt_limit_info_t li;

	if (!with_limits)
		return;
	CHECK(mcxt_get_limit(limited, &li));
	CHECK_EQ(li.held, mcxt_mem_allocated(limited, true));
	CHECK(li.held <= li.hard);
	CHECK_EQ(li.soft_crossings, soft_calls);
	CHECK_EQ(li.hard_refusals, 0);
	CHECK_EQ(mcxt_check(limited), 0);
}

static mcxt_context_t *
make_context(kind k, uint64_t *rng)
{
	mcxt_context_t *top = with_limits ? limited : mcxt_top();

	switch (k)
	{
		case K_GENERATION:
		case K_GENERATION_ALIGNED:
			/* small blocks, so blocks empty and are given back often */
			return GenerationContextCreate(top, "gen", 0, 1024, 16384);
		case K_SLAB:
			slab_chunk = (size_t) (ts_rand(rng) % 200);
			return SlabContextCreate(top, "slab", 2048, slab_chunk);
		case K_BUMP:
		case K_BUMP_ALIGNED:
			return BumpContextCreate(top, "bump", 0, 1024, 16384);
		case K_ASET_ALIGNED:
		default:
			return AllocSetContextCreate(top, "aset", ALLOCSET_SMALL_SIZES);
	}
}

static bool
can_free(kind k)
{
	return k != K_BUMP && k != K_BUMP_ALIGNED;
}

static size_t
random_size(kind k, uint64_t *rng)
{
	uint64_t	r = ts_rand(rng) % 100;

	if (k == K_SLAB)
		return slab_chunk;
	if (r < 70)
		return (size_t) (ts_rand(rng) % 100);
	if (r < 95)
		return (size_t) (ts_rand(rng) % 1500);
	return 2000 + (size_t) (ts_rand(rng) % 6000);	/* above the chunk limit of 16 KB / 8 */
}

static size_t
random_align(kind k, uint64_t *rng)
{
	if (k != K_ASET_ALIGNED && k != K_GENERATION_ALIGNED && k != K_BUMP_ALIGNED)
		return 0;
	if (ts_rand(rng) % 3 == 0)
		return 0;
	return (size_t) 1 << (ts_rand(rng) % 12);	/* 1 .. 2048 */
}

static bool
verify_slot(const slot *s)
{
	if (s->align > 1 && ((uintptr_t) s->p % s->align) != 0)
		return false;
	return ts_filled(s->p, s->size, s->seed);
}

static void
verify_all(void)
{
	for (size_t i = 0; i < NSLOTS; i++)
		if (slots[i].p != NULL)
			CHECK_MSG(verify_slot(&slots[i]), "slot %zu (%zu bytes, align %zu) corrupted",
					  i, slots[i].size, slots[i].align);
}

static void
forget_all(void)
{
	memset(slots, 0, sizeof(slots));
	nlive = 0;
}

/* The statistics against the model, as far as the type makes them predictable. */
static void
check_stats(kind k, mcxt_context_t *ctx)
{
	mcxt_counters_t c;
	size_t		live_bytes = 0;

	mcxt_mem_consumed(ctx, false, &c);
	CHECK_EQ(c.totalspace, mcxt_mem_allocated(ctx, false));
	CHECK(c.freespace <= c.totalspace);
	for (size_t i = 0; i < NSLOTS; i++)
		if (slots[i].p != NULL && slots[i].align <= 8)
			live_bytes += ts_chunk_size(slots[i].size);
	switch (k)
	{
		case K_SLAB:
			{
				size_t		per = ts_slab_per_block(2048, slab_chunk);

				CHECK_EQ(c.freechunks, c.nblocks * per - nlive);
				CHECK_EQ(c.freespace, c.freechunks * ts_slab_slot(slab_chunk));
				/* blocks beyond the live chunks' needs: at most the 10 empty ones, and partials */
				CHECK(c.nblocks * per >= nlive);
				break;
			}
		case K_GENERATION:
			CHECK(c.totalspace - c.freespace >= live_bytes + nlive * MCXT_CHUNK_HDRSZ);
			if (nlive == 0)
				CHECK_EQ(c.freechunks, 0);	/* every block whose chunks are all freed is emptied */
			break;
		case K_BUMP:
			CHECK_EQ(c.freechunks, 0);
			CHECK(c.totalspace - c.freespace >= live_bytes);
			break;
		default:
			break;
	}
}

static void
step_alloc(kind k, mcxt_context_t *ctx, uint64_t *rng, size_t i, unsigned seed)
{
	slot	   *s = &slots[i];
	size_t		size = random_size(k, rng);
	size_t		align = random_align(k, rng);

	s->p = align ? MemoryContextAllocAligned(ctx, size, align, 0) : mcxt_alloc(ctx, size);
	s->size = size;
	s->align = align;
	s->seed = seed;
	ts_fill(s->p, size, seed);
	nlive++;
	if (can_free(k))
	{
		CHECK(GetMemoryChunkContext(s->p) == ctx);
		CHECK(GetMemoryChunkSpace(s->p) >= size + MCXT_CHUNK_HDRSZ);
	}
}

static void
run_model(kind k, uint64_t seed, uint64_t nsteps)
{
	uint64_t	rng = seed * 0x9E3779B97F4A7C15u + 1;
	mcxt_context_t *ctx;

	forget_all();
	if (with_limits)
	{
		soft_calls = 0;
		limited = mcxt_aset_create(mcxt_top(), "limited", MCXT_DEFAULT_SIZES);
		/* a slab of at most 192 chunks of under 200 bytes holds less */
		CHECK(mcxt_set_limit(limited, 256 * 1024 * 1024, k == K_SLAB ? 12 * 1024 : 48 * 1024,
							 soft_cb, NULL));
	}
	ctx = make_context(k, &rng);
	CHECK_STR(mcxt_type_name(ctx), k == K_SLAB ? "Slab" : k == K_BUMP || k == K_BUMP_ALIGNED ? "Bump" :
			  k == K_ASET_ALIGNED ? "AllocSet" : "Generation");
	for (uint64_t step = 0; step < nsteps; step++)
	{
		uint64_t	r = ts_rand(&rng) % 1000;
		size_t		i = (size_t) (ts_rand(&rng) % NSLOTS);
		slot	   *s = &slots[i];
		int			before = th_cur_failed;

		th_set_note("type=%s seed=%llu step=%llu", kind_names[k], (unsigned long long) seed,
					(unsigned long long) step);
		if (r < 3)
		{
			verify_all();
			mcxt_reset(ctx);
			forget_all();
			CHECK(mcxt_is_empty(ctx));
		}
		else if (r < 5)
		{
			verify_all();
			mcxt_delete(ctx);
			forget_all();
			ctx = make_context(k, &rng);
		}
		else if (s->p == NULL)
			step_alloc(k, ctx, &rng, i, (unsigned) step);
		else if (!can_free(k))
		{
			CHECK_MSG(verify_slot(s), "slot %zu corrupted", i);
			step_alloc(k, ctx, &rng, i, (unsigned) step);	/* the old one just stays */
			nlive--;
		}
		else if (r < 600)
		{
			CHECK_MSG(verify_slot(s), "slot %zu corrupted", i);
			pfree(s->p);
			s->p = NULL;
			nlive--;
		}
		else
		{
			size_t		newsize = k == K_SLAB ? (size_t) (ts_rand(&rng) % (slab_chunk + 1))
				: random_size(k, &rng);
			size_t		keep = newsize < s->size ? newsize : s->size;

			CHECK_MSG(verify_slot(s), "slot %zu corrupted", i);
			s->p = repalloc(s->p, newsize);
			CHECK_MSG(ts_filled(s->p, keep, s->seed), "repalloc lost the contents of slot %zu", i);
			if (s->align > 1)
				CHECK_MSG((uintptr_t) s->p % s->align == 0, "repalloc lost the alignment");
			s->size = newsize;
			s->seed = (unsigned) step * 7;
			ts_fill(s->p, newsize, s->seed);
			CHECK(GetMemoryChunkContext(s->p) == ctx);
		}
		CHECK_EQ(mcxt_check(ctx), 0);
		check_limit();
		if (step % 16 == 0)
			check_stats(k, ctx);
		if (step % 128 == 0)
			verify_all();
		if (th_cur_failed > before)
			break;
	}
	verify_all();
	check_stats(k, ctx);
	mcxt_delete(ctx);
	forget_all();
	if (with_limits)
	{
		check_limit();
		/* the model's live data swings well across the soft limit: it must have crossed */
		CHECK(soft_calls >= 2);
		mcxt_delete(limited);
		limited = NULL;
	}
	th_set_note("%s", "");
}

static void
run_kind(kind k)
{
	static const uint64_t seeds[] = {1, 2, 3};

	if (seed_override != 0)
	{
		run_model(k, seed_override, steps_override ? steps_override : 3000);
		return;
	}
	for (size_t i = 0; i < sizeof(seeds) / sizeof(seeds[0]); i++)
		run_model(k, seeds[i], steps_override ? steps_override : 1500);
	mcxt_thread_cleanup();
	CHECK(ts_no_blocks_held());
}

static void test_generation_model(void) { run_kind(K_GENERATION); }
static void test_slab_model(void) { run_kind(K_SLAB); }
static void test_bump_model(void) { run_kind(K_BUMP); }
static void test_aset_aligned_model(void) { run_kind(K_ASET_ALIGNED); }
static void test_generation_aligned_model(void) { run_kind(K_GENERATION_ALIGNED); }
static void test_bump_aligned_model(void) { run_kind(K_BUMP_ALIGNED); }

int
main(int argc, char **argv)
{
	const char *s = argc > 1 ? argv[1] : getenv("MCXT_MODEL_SEED");
	const char *n = argc > 2 ? argv[2] : getenv("MCXT_MODEL_STEPS");

	if (s != NULL)
		seed_override = strtoull(s, NULL, 0);
	if (n != NULL)
		steps_override = strtoull(n, NULL, 0);
	with_limits = getenv("MCXT_MODEL_LIMITS") != NULL && atoi(getenv("MCXT_MODEL_LIMITS")) != 0;
	RUN(test_generation_model);
	RUN(test_slab_model);
	RUN(test_bump_model);
	RUN(test_aset_aligned_model);
	RUN(test_generation_aligned_model);
	RUN(test_bump_aligned_model);
	return th_report();
}
