/*
 * test_types_semantics.c
 *	  What makes each context type what it is: a Generation block is given
 *	  back (or kept as the free block) once all its chunks are freed; a Slab
 *	  fills its fullest block first, keeps at most 10 empty blocks and
 *	  refuses any other size; a Bump chunk costs no header in release builds;
 *	  aligned pointers are aligned, can be freed and reallocated, and know
 *	  their context.  Also the type names in the statistics and JSON, and
 *	  the misuse errors of the constructors.
 */
#include "../testhelper.h"
#include "typesim.h"

#include <mcxt/palloc.h>


static void
test_generation_frees_empty_blocks(void)
{
	/* 8 KB blocks: 100-byte requests take 112 bytes each, about 70 per block */
	mcxt_context_t *ctx = GenerationContextCreate(mcxt_top(), "gen", 0, 8192, 8192);
	size_t		keeper_total = mcxt_mem_allocated(ctx, false);
	char	   *p[400];
	mcxt_counters_t c;

	for (int i = 0; i < 400; i++)
		p[i] = MemoryContextAlloc(ctx, 100);
	mcxt_mem_consumed(ctx, false, &c);
	CHECK(c.nblocks >= 6);
	CHECK_EQ(c.freechunks, 0);
	CHECK_EQ(mcxt_check(ctx), 0);

	/* freed space is not reused: freeing chunks of a block leaves it alone */
	for (int i = 0; i < 400; i += 2)
		pfree(p[i]);
	mcxt_mem_consumed(ctx, false, &c);
	CHECK_EQ(c.freechunks, 200);
	CHECK(c.nblocks >= 6);
	{
		size_t		before = mcxt_mem_allocated(ctx, false);
		char	   *q = MemoryContextAlloc(ctx, 100);

		CHECK(mcxt_mem_allocated(ctx, false) >= before);
		pfree(q);
	}

	/* the other half: every block but the keeper, the current and one free block goes */
	for (int i = 1; i < 400; i += 2)
		pfree(p[i]);
	mcxt_mem_consumed(ctx, false, &c);
	CHECK_EQ(c.freechunks, 0);
	CHECK(c.nblocks <= 3);
	CHECK(mcxt_mem_allocated(ctx, false) <= keeper_total + 2 * 8192);
	CHECK_EQ(mcxt_check(ctx), 0);

	/* a FIFO queue runs in constant memory */
	{
		char	   *q[64] = {0};
		size_t		peak;

		for (int i = 0; i < 20000; i++)
		{
			if (q[i % 64] != NULL)
				pfree(q[i % 64]);
			q[i % 64] = MemoryContextAlloc(ctx, 200);
		}
		peak = mcxt_mem_allocated(ctx, false);
		CHECK(peak <= keeper_total + 4 * 8192);
		for (int i = 0; i < 64; i++)
			pfree(q[i]);
	}

	/* a large chunk has a block of its own, given back by pfree */
	{
		size_t		before = mcxt_mem_allocated(ctx, false);
		char	   *big = MemoryContextAlloc(ctx, 5000);	/* > 8192 / 8 */

		CHECK(mcxt_mem_allocated(ctx, false) >= before + 5000);
		CHECK(GetMemoryChunkSpace(big) >= 5008);
		big = repalloc(big, 3000);
		pfree(big);
		CHECK_EQ(mcxt_mem_allocated(ctx, false), before);
	}

	/* double free and stale pointers are caught */
	{
		char	   *a = MemoryContextAlloc(ctx, 16);
		char	   *b = MemoryContextAlloc(ctx, 16);

		pfree(a);
		EXPECT_ERROR(MCXT_ERR_BAD_POINTER, pfree(a));
		CHECK(strstr(th_err_msg, "\"gen\"") != NULL);
		mcxt_reset(ctx);
		EXPECT_ERROR(MCXT_ERR_BAD_POINTER, pfree(b));
	}
	CHECK(mcxt_is_empty(ctx));
	CHECK_EQ(mcxt_mem_allocated(ctx, false), keeper_total);
	mcxt_delete(ctx);
}

/* Fill n blocks of a slab completely; returns the chunks. */
static void
slab_fill(mcxt_context_t *ctx, void **chunks, size_t n)
{
	for (size_t i = 0; i < n; i++)
		chunks[i] = MemoryContextAlloc(ctx, 64);
}

static void
test_slab_fullest_block_first(void)
{
	size_t		per = ts_slab_per_block(4096, 64);
	mcxt_context_t *ctx = SlabContextCreate(mcxt_top(), "slab", 4096, 64);
	void	   *chunks[3 * 64];
	void	   *p;

	REQUIRE(per >= 8 && per <= 64);
	slab_fill(ctx, chunks, 3 * per);	/* blocks A, B, C */
	/* A: 1 free slot; B: almost all free; C: half free */
	pfree(chunks[0]);
	for (size_t i = per; i < 2 * per - 1; i++)
		pfree(chunks[i]);
	for (size_t i = 2 * per; i < 2 * per + per / 2; i++)
		pfree(chunks[i]);
	CHECK_EQ(mcxt_check(ctx), 0);

	/* the next allocation fills A (the fullest), reusing the freed slot */
	p = MemoryContextAlloc(ctx, 64);
	CHECK(p == chunks[0]);
	/* then C, the fuller of the other two, not B */
	p = MemoryContextAlloc(ctx, 64);
	CHECK((char *) p >= (char *) chunks[2 * per] - MCXT_SLAB_BLOCKHDRSZ &&
		  (char *) p < (char *) chunks[3 * per - 1] + 64);
	CHECK_EQ(mcxt_check(ctx), 0);
	mcxt_delete(ctx);
}

static void
test_slab_bounded_empty_blocks(void)
{
	size_t		per = ts_slab_per_block(1024, 100);
	mcxt_context_t *ctx = SlabContextCreate(mcxt_top(), "slab", 1024, 100);
	size_t		n = 30 * per;
	void	  **chunks = malloc(n * sizeof(void *));
	size_t		header;
	mcxt_counters_t c;

	REQUIRE(chunks != NULL);
	header = mcxt_mem_allocated(ctx, false);
	for (size_t i = 0; i < n; i++)
		chunks[i] = MemoryContextAlloc(ctx, 100);
	CHECK_EQ(mcxt_mem_allocated(ctx, false), header + 30 * 1024);
	for (size_t i = 0; i < n; i++)
		pfree(chunks[i]);
	/* 30 blocks emptied: 10 kept, 20 given back */
	CHECK_EQ(mcxt_mem_allocated(ctx, false), header + 10 * 1024);
	mcxt_mem_consumed(ctx, false, &c);
	CHECK_EQ(c.nblocks, 10);
	CHECK_EQ(c.freechunks, 10 * per);
	CHECK_EQ(mcxt_check(ctx), 0);
	/* the kept blocks are reused before any new one */
	for (size_t i = 0; i < 10 * per; i++)
		chunks[i] = MemoryContextAlloc(ctx, 100);
	CHECK_EQ(mcxt_mem_allocated(ctx, false), header + 10 * 1024);
	mcxt_reset(ctx);
	CHECK_EQ(mcxt_mem_allocated(ctx, false), header);
	CHECK(mcxt_is_empty(ctx));
	free(chunks);
	mcxt_delete(ctx);
}

static void
test_slab_misuse(void)
{
	mcxt_context_t *ctx = SlabContextCreate(mcxt_top(), "fixed", SLAB_DEFAULT_BLOCK_SIZE, 48);
	char	   *p = MemoryContextAlloc(ctx, 48);
	char	   *volatile q;

	EXPECT_ERROR(MCXT_ERR_MISUSE, (void) MemoryContextAlloc(ctx, 40));
	CHECK(strstr(th_err_msg, "unexpected alloc chunk size 40 (expected 48)") != NULL);
	CHECK(strstr(th_err_msg, "\"fixed\"") != NULL);
	EXPECT_ERROR(MCXT_ERR_MISUSE, (void) MemoryContextAlloc(ctx, 49));
	EXPECT_ERROR(MCXT_ERR_MISUSE, (void) mcxt_alloc_extended(ctx, 100, MCXT_ALLOC_NO_OOM));
	EXPECT_ERROR(MCXT_ERR_MISUSE, (void) repalloc(p, 49));
	CHECK(strstr(th_err_msg, "does not support realloc()") != NULL);
	EXPECT_ERROR(MCXT_ERR_MISUSE, (void) MemoryContextAllocAligned(ctx, 48, 64, 0));
	/* shrinking keeps the slot */
	memcpy(p, "slab", 5);
	q = repalloc(p, 10);
	CHECK(q == p);
	CHECK_STR(q, "slab");
	q = repalloc(q, 48);
	CHECK(q == p);
	CHECK_EQ(GetMemoryChunkSpace(q), ts_slab_slot(48));
	CHECK(GetMemoryChunkContext(q) == ctx);
	pfree(q);
	EXPECT_ERROR(MCXT_ERR_BAD_POINTER, pfree(q));
	/* bad constructor arguments */
	EXPECT_ERROR(MCXT_ERR_MISUSE, (void) SlabContextCreate(mcxt_top(), "s", 64, 100));
	CHECK(strstr(th_err_msg, "too small") != NULL);
	EXPECT_ERROR(MCXT_ERR_MISUSE, (void) SlabContextCreate(mcxt_top(), NULL, 8192, 100));
	EXPECT_ERROR(MCXT_ERR_MISUSE, (void) GenerationContextCreate(mcxt_top(), "g", 0, 100, 8192));
	EXPECT_ERROR(MCXT_ERR_MISUSE, (void) BumpContextCreate(mcxt_top(), "b", 0, 8192, 4096));
	CHECK_EQ(mcxt_check(mcxt_top()), 0);
	mcxt_delete(ctx);
}

static void
test_bump_dense(void)
{
	mcxt_context_t *ctx = BumpContextCreate(mcxt_top(), "bump", 0, 8192, 8192);
	mcxt_counters_t before;
	mcxt_counters_t after;
	char	   *a;
	char	   *b;

	mcxt_mem_consumed(ctx, false, &before);
	a = MemoryContextAlloc(ctx, 24);
	b = MemoryContextAlloc(ctx, 24);
	mcxt_mem_consumed(ctx, false, &after);
	/* consecutive, no header in release builds */
	CHECK_EQ((size_t) (b - a), ts_bump_footprint(24));
	CHECK_EQ(before.freespace - after.freespace, 2 * ts_bump_footprint(24));
	CHECK_EQ(after.freechunks, 0);
	/* large chunks and many blocks; all given back on reset */
	for (int i = 0; i < 1000; i++)
		ts_fill(MemoryContextAlloc(ctx, 200), 200, (unsigned) i);
	a = MemoryContextAlloc(ctx, 100000);
	ts_fill(a, 100000, 5);
	b = MemoryContextAlloc(ctx, 10);
	CHECK_EQ(mcxt_check(ctx), 0);
	CHECK(ts_filled(a, 100000, 5));
	mcxt_mem_consumed(ctx, false, &after);
	CHECK(after.nblocks > 10);
	mcxt_reset(ctx);
	CHECK(mcxt_is_empty(ctx));
	mcxt_mem_consumed(ctx, false, &after);
	CHECK_EQ(after.nblocks, 1);
	CHECK_EQ(after.totalspace, before.totalspace);
	CHECK_EQ(mcxt_check(ctx), 0);
	mcxt_delete(ctx);
}

/* One aligned chunk in ctx: aligned, zeroed, and (unless bump) reallocated and freed. */
static void
aligned_round(mcxt_context_t *ctx, bool bump, size_t align)
{
	char	   *volatile p = MemoryContextAllocAligned(ctx, 100, align, MCXT_ALLOC_ZERO);

	CHECK_EQ((uintptr_t) p % align, 0);
	for (int i = 0; i < 100; i++)
		CHECK_EQ(p[i], 0);
	ts_fill(p, 100, (unsigned) align);
	if (bump)
		return;					/* nothing more to do with it */
	CHECK(GetMemoryChunkContext(p) == ctx);
	CHECK(GetMemoryChunkSpace(p) >= 108);
	p = repalloc(p, 5000);
	CHECK_EQ((uintptr_t) p % align, 0);
	CHECK(ts_filled(p, 100, (unsigned) align));
	p = repalloc(p, 50);
	CHECK_EQ((uintptr_t) p % align, 0);
	CHECK(ts_filled(p, 50, (unsigned) align));
	pfree(p);
	if (align > 8)
		EXPECT_ERROR(MCXT_ERR_BAD_POINTER, pfree(p));
}

static void
test_aligned(void)
{
	mcxt_context_t *kinds[3];

	kinds[0] = AllocSetContextCreate(mcxt_top(), "aset", ALLOCSET_DEFAULT_SIZES);
	kinds[1] = GenerationContextCreate(mcxt_top(), "gen", 0, 8192, 65536);
	kinds[2] = BumpContextCreate(mcxt_top(), "bump", 0, 8192, 65536);
	for (int k = 0; k < 3; k++)
	{
		mcxt_context_t *ctx = kinds[k];

		th_set_note("context %s", mcxt_name(ctx));
		for (size_t align = 1; align <= 65536; align <<= 1)
			aligned_round(ctx, k == 2, align);
		CHECK_EQ(mcxt_check(ctx), 0);
		{
			MemoryContext old = MemoryContextSwitchTo(ctx);
			char	   *p = palloc_aligned(300, 4096, 0);

			MemoryContextSwitchTo(old);
			CHECK_EQ((uintptr_t) p % 4096, 0);
			if (k != 2)
				CHECK(GetMemoryChunkContext(p) == ctx);
		}
		EXPECT_ERROR(MCXT_ERR_MISUSE, (void) MemoryContextAllocAligned(ctx, 10, 24, 0));
		CHECK(strstr(th_err_msg, "invalid alignment 24") != NULL);
		EXPECT_ERROR(MCXT_ERR_MISUSE, (void) MemoryContextAllocAligned(ctx, 10, 0, 0));
		EXPECT_ERROR(MCXT_ERR_MISUSE,
					 (void) MemoryContextAllocAligned(ctx, 10, MCXT_ALIGNED_MAX * 2, 0));
		EXPECT_ERROR(MCXT_ERR_INVALID_SIZE,
					 (void) MemoryContextAllocAligned(ctx, MaxAllocSize + 1, 64, 0));
		CHECK(MemoryContextAllocAligned(ctx, 10, 64, MCXT_ALLOC_NO_OOM) != NULL);
	}
	th_set_note("%s", "");
	/* an aligned bump chunk is refused in every build, with the bump message */
	{
		char	   *p = MemoryContextAllocAligned(kinds[2], 10, 64, 0);

		EXPECT_ERROR(MCXT_ERR_MISUSE, pfree(p));
		CHECK(strstr(th_err_msg, "not supported by the bump memory allocator") != NULL);
		EXPECT_ERROR(MCXT_ERR_MISUSE, (void) repalloc(p, 20));
		EXPECT_ERROR(MCXT_ERR_MISUSE, (void) GetMemoryChunkContext(p));
	}
	for (int k = 0; k < 3; k++)
		mcxt_delete(kinds[k]);
}

static void
test_stats_type_names(void)
{
	mcxt_context_t *root = AllocSetContextCreate(NULL, "root", ALLOCSET_DEFAULT_SIZES);
	mcxt_context_t *g = GenerationContextCreate(root, "G", 0, 8192, 8192);
	mcxt_context_t *s = SlabContextCreate(root, "S", 8192, 32);
	mcxt_context_t *b = BumpContextCreate(root, "B", 0, 8192, 8192);
	const char *text;
	FILE	   *f;

	(void) MemoryContextAlloc(g, 10);
	(void) MemoryContextAlloc(s, 32);
	(void) MemoryContextAlloc(b, 10);
	CHECK_STR(mcxt_type_name(g), "Generation");
	CHECK_STR(mcxt_type_name(s), "Slab");
	CHECK_STR(mcxt_type_name(b), "Bump");

	f = tmpfile();
	REQUIRE(f != NULL);
	REQUIRE(mcxt_stats_json(root, f) == 0);
	text = th_slurp(f);
	CHECK(strstr(text, "\"name\":\"G\"") != NULL);
	CHECK(strstr(text, "\"type\":\"Generation\"") != NULL);
	CHECK(strstr(text, "\"type\":\"Slab\"") != NULL);
	CHECK(strstr(text, "\"type\":\"Bump\"") != NULL);

	f = tmpfile();
	REQUIRE(f != NULL);
	mcxt_stats_print(root, 100, 100, f);
	text = th_slurp(f);
	CHECK(strstr(text, "  G: ") != NULL);
	CHECK(strstr(text, "  S: ") != NULL);
	CHECK(strstr(text, "  B: ") != NULL);
	CHECK(strstr(text, "Grand total: ") != NULL);
	CHECK_EQ(mcxt_check(root), 0);
	mcxt_delete(root);
}

/* Unused ids stay bad pointers; the new ids check their block before trusting it. */
static void
test_forged_headers(void)
{
	/* one buffer per type, written before any call: memory tools close the header once read */
	static uint64_t buf[4][64];

	for (unsigned type = MCXT_TYPE_GENERATION; type <= MCXT_TYPE_ALIGNED; type++)
		buf[type - MCXT_TYPE_GENERATION][40] = mcxt_chunk_make_hdr(type, 8, 40 * 8, 0);
	for (volatile unsigned i = 0; i < 4; i++)
	{
		/* the "block" is the buffer itself: no check word */
		EXPECT_ERROR(MCXT_ERR_BAD_POINTER, pfree(&buf[i][41]));
		EXPECT_ERROR(MCXT_ERR_BAD_POINTER, (void) GetMemoryChunkContext(&buf[i][41]));
		EXPECT_ERROR(MCXT_ERR_BAD_POINTER, (void) repalloc(&buf[i][41], 10));
	}
}

static void
test_cleanup(void)
{
	mcxt_thread_cleanup();
	CHECK(ts_no_blocks_held());
}

int
main(void)
{
	RUN(test_generation_frees_empty_blocks);
	RUN(test_slab_fullest_block_first);
	RUN(test_slab_bounded_empty_blocks);
	RUN(test_slab_misuse);
	RUN(test_bump_dense);
	RUN(test_aligned);
	RUN(test_stats_type_names);
	RUN(test_forged_headers);
	RUN(test_cleanup);
	return th_report();
}
