/*
 * test_walk_pg.c
 *	  The PostgreSQL 10-15 descriptors on generated memory: a small tree laid
 *	  out byte by byte as PostgreSQL 15 lays it out (AllocSet contexts with
 *	  their keeper blocks, chunks with and without MEMORY_CONTEXT_CHECKING's
 *	  requested_size word, freelists linked through the aset word, a large
 *	  chunk alone in its block, a dynahash context, a Generation context
 *	  with a freed chunk), built here from the struct facts in the test's
 *	  own words, with the expected statistics computed while building.
 *
 * For each of the plain and the checking build: the walk with the right
 * descriptor gives exactly the expected counters, marks exactly the freed
 * chunks free and finds every allocated chunk with its size; the
 * consistency probe that decides a core's build prefers the right layout
 * on every block; the wrong layout walks without crashing.  Real PostgreSQL
 * 15 cores are compared with the server's own log in test/pg/.
 */
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "layout.h"
#include "walk.h"

static int	failures;

#define CHECK(cond) do { \
	if (!(cond)) { fprintf(stderr, "%s:%d: CHECK failed: %s\n", __FILE__, __LINE__, #cond); failures++; } \
} while (0)
#define CHECK_EQ(a, b) do { \
	unsigned long long a_ = (unsigned long long) (a), b_ = (unsigned long long) (b); \
	if (a_ != b_) { fprintf(stderr, "%s:%d: %s == %llu, expected %s == %llu\n", \
							__FILE__, __LINE__, #a, a_, #b, b_); failures++; } \
} while (0)

/* ---- the arena: the "target memory" ---------------------------------------- */

#define ARENA_SIZE	(1 << 20)

static unsigned char *arena;
static uint64_t arena_base;
static size_t arena_used;

static uint64_t
arena_alloc(size_t n)
{
	uint64_t	a = arena_base + arena_used;

	arena_used += (n + 15) & ~(size_t) 15;
	if (arena_used > ARENA_SIZE)
	{
		fprintf(stderr, "arena too small\n");
		exit(1);
	}
	return a;
}

static void
put64(uint64_t addr, uint64_t v)
{
	memcpy(arena + (addr - arena_base), &v, 8);
}

static void
put32(uint64_t addr, uint32_t v)
{
	memcpy(arena + (addr - arena_base), &v, 4);
}

static uint64_t
put_string(const char *s)
{
	uint64_t	a = arena_alloc(strlen(s) + 1);

	memcpy(arena + (a - arena_base), s, strlen(s) + 1);
	return a;
}

static size_t
arena_read(void *arg, uint64_t addr, void *buf, size_t len)
{
	(void) arg;
	if (addr < arena_base || addr >= arena_base + ARENA_SIZE)
		return 0;
	if (len > arena_base + ARENA_SIZE - addr)
		len = (size_t) (arena_base + ARENA_SIZE - addr);
	memcpy(buf, arena + (addr - arena_base), len);
	return len;
}

static bool
arena_region(void *arg, size_t i, mcxt_region *out)
{
	(void) arg;
	if (i > 0)
		return false;
	out->start = arena_base;
	out->end = arena_base + ARENA_SIZE;
	out->writable = true;
	out->data = NULL;
	return true;
}

/* ---- PostgreSQL 15 structs, as offsets (64-bit) --------------------------- */

/* MemoryContextData */
#define MC_TYPE		0
#define MC_MEMALLOC	8
#define MC_PARENT	24
#define MC_FIRSTCHILD 32
#define MC_PREVCHILD 40
#define MC_NEXTCHILD 48
#define MC_NAME		56
#define MC_IDENT	64
/* AllocSetContext */
#define AS_BLOCKS	80
#define AS_FREELIST 88
#define AS_KEEPER	208
#define AS_SIZE		224
/* AllocBlockData */
#define AB_ASET		0
#define AB_PREV		8
#define AB_NEXT		16
#define AB_FREEPTR	24
#define AB_ENDPTR	32
#define AB_SIZE		40
/* GenerationContext (15) and GenerationBlock */
#define GC_BLOCKS	136			/* dlist_head {prev, next} */
#define GC_KEEPER	128
#define GC_SIZE		152
#define GB_BLKSIZE	16
#define GB_NCHUNKS	24
#define GB_NFREE	28
#define GB_FREEPTR	32
#define GB_ENDPTR	40
#define GB_SIZE		48

#define T_ALLOCSET	223
#define T_GENERATION 225

typedef struct expect
{
	uint64_t	total;
	uint64_t	nblocks;
	uint64_t	free;
	uint64_t	free_chunks;
	uint64_t	nchunks;		/* Generation */
} expect;

typedef struct built
{
	uint64_t	root_var;
	uint64_t	ctx[3];			/* TopMemoryContext, the dynahash, the Generation */
	expect		exp[3];
	size_t		nalloc;			/* allocated chunks in the whole tree */
	size_t		nfree;			/* chunks on freelists or freed */
	uint64_t	alloc_bytes;	/* sum of their sizes */
	uint64_t	big_ptr;		/* the large chunk's user pointer */
	uint64_t	freed_hdr[8];
	size_t		nfreed_hdr;
} built;

static void
context_header(uint64_t ctx, uint32_t tag, uint64_t parent, const char *name, const char *ident)
{
	put32(ctx + MC_TYPE, tag);
	put64(ctx + MC_PARENT, parent);
	put64(ctx + MC_NAME, put_string(name));
	put64(ctx + MC_IDENT, ident ? put_string(ident) : 0);
}

/* One AllocSet block with chunks of the given sizes; freed ones go on the freelists. */
static void
aset_block(built *b, int ci, uint64_t ctx, uint64_t block, uint64_t blksize, const uint64_t *sizes,
		   const bool *freed, int n, bool cassert)
{
	uint64_t	hdr = cassert ? 24 : 16;
	uint64_t	p = block + AB_SIZE;

	put64(block + AB_ASET, ctx);
	put64(block + AB_ENDPTR, block + blksize);
	for (int i = 0; i < n; i++)
	{
		put64(p, sizes[i]);
		if (cassert)
			put64(p + 8, freed[i] ? 0 : sizes[i] - 3);
		if (freed[i])
		{
			/* push on freelist log2(size) - 3: the link lives in the aset word */
			int			idx = 0;
			uint64_t	head;

			while (((uint64_t) 8 << idx) < sizes[i])
				idx++;
			memcpy(&head, arena + (ctx + AS_FREELIST + 8 * idx - arena_base), 8);
			put64(p + hdr - 8, head);
			put64(ctx + AS_FREELIST + 8 * idx, p);
			b->exp[ci].free += sizes[i] + hdr;
			b->exp[ci].free_chunks++;
			b->nfree++;
			b->freed_hdr[b->nfreed_hdr++] = p;
		}
		else
		{
			put64(p + hdr - 8, ctx);
			memset(arena + (p + hdr - arena_base), 'a' + i % 26, sizes[i] > 16 ? 16 : sizes[i]);
			b->nalloc++;
			b->alloc_bytes += sizes[i];
		}
		p += hdr + sizes[i];
	}
	put64(block + AB_FREEPTR, p);
	b->exp[ci].total += blksize;
	b->exp[ci].nblocks++;
	b->exp[ci].free += block + blksize - p;
}

static void
build(built *b, bool cassert)
{
	static const uint64_t s1[] = {64, 128, 128, 8, 1024, 32, 128};
	static const bool f1[] = {false, true, false, false, true, false, false};
	static const uint64_t s2[] = {256, 16, 16, 512};
	static const bool f2[] = {false, false, true, false};
	static const uint64_t s3[] = {256, 8};
	static const bool f3[] = {false, false};
	uint64_t	top;
	uint64_t	hash;
	uint64_t	gen;
	uint64_t	blk2;
	uint64_t	big;
	uint64_t	hdr = cassert ? 24 : 16;
	uint64_t	gblk;
	uint64_t	p;

	memset(arena, 0, ARENA_SIZE);
	arena_used = 0;
	memset(b, 0, sizeof(*b));
	b->root_var = arena_alloc(8);

	/* TopMemoryContext: header + keeper block (8 KB in all), and one more block */
	top = arena_alloc(8192);
	b->ctx[0] = top;
	context_header(top, T_ALLOCSET, 0, "TopMemoryContext", NULL);
	put64(b->root_var, top);
	b->exp[0].total = AS_SIZE;
	put64(top + AS_KEEPER, top + AS_SIZE);
	aset_block(b, 0, top, top + AS_SIZE, 8192 - AS_SIZE, s1, f1, 7, cassert);
	blk2 = arena_alloc(16384);
	aset_block(b, 0, top, blk2, 16384, s2, f2, 4, cassert);
	/* blocks list: newest first (blk2, keeper) */
	put64(top + AS_BLOCKS, blk2);
	put64(blk2 + AB_NEXT, top + AS_SIZE);
	put64(top + AS_SIZE + AB_PREV, blk2);
	put64(top + 8 /* mem_allocated */ , 8192 + 16384);

	/* a dynahash context with a large chunk alone in its block */
	hash = arena_alloc(2048);
	b->ctx[1] = hash;
	context_header(hash, T_ALLOCSET, top, "dynahash", "LOCALLOCK hash");
	b->exp[1].total = AS_SIZE;
	put64(hash + AS_KEEPER, hash + AS_SIZE);
	aset_block(b, 1, hash, hash + AS_SIZE, 2048 - AS_SIZE, s3, f3, 2, cassert);
	big = arena_alloc(AB_SIZE + hdr + 20000);
	put64(big + AB_ASET, hash);
	put64(big + AB_FREEPTR, big + AB_SIZE + hdr + 20000);
	put64(big + AB_ENDPTR, big + AB_SIZE + hdr + 20000);
	put64(big + AB_SIZE, 20000);
	if (cassert)
		put64(big + AB_SIZE + 8, 19999);
	put64(big + AB_SIZE + hdr - 8, hash);
	b->big_ptr = big + AB_SIZE + hdr;
	b->nalloc++;
	b->alloc_bytes += 20000;
	b->exp[1].total += AB_SIZE + hdr + 20000;
	b->exp[1].nblocks++;
	put64(hash + AS_BLOCKS, big);
	put64(big + AB_NEXT, hash + AS_SIZE);
	put64(hash + AS_SIZE + AB_PREV, big);

	/* a Generation context (15): header, keeper block right after, one chunk freed */
	gen = arena_alloc(GC_SIZE + 4096);
	b->ctx[2] = gen;
	context_header(gen, T_GENERATION, top, "Caller tuples", NULL);
	gblk = gen + GC_SIZE;
	put64(gen + GC_KEEPER, gblk);
	put64(gen + GC_BLOCKS, gblk);	/* head.prev */
	put64(gen + GC_BLOCKS + 8, gblk);	/* head.next */
	put64(gblk + 0, gen + GC_BLOCKS);	/* node.prev */
	put64(gblk + 8, gen + GC_BLOCKS);	/* node.next */
	put64(gblk + GB_BLKSIZE, 4096);
	put64(gblk + GB_ENDPTR, gblk + 4096);
	p = gblk + GB_SIZE;
	for (int i = 0; i < 3; i++)
	{
		uint64_t	ghdr = cassert ? 32 : 24;
		uint64_t	size = 40 + 8 * (uint64_t) i;

		put64(p, size);
		if (cassert)
			put64(p + 8, i == 1 ? 0 : size - 1);
		put64(p + ghdr - 16, gblk);
		put64(p + ghdr - 8, i == 1 ? 0 : gen);
		if (i == 1)
		{
			b->nfree++;
			b->freed_hdr[b->nfreed_hdr++] = p;
		}
		else
		{
			b->nalloc++;
			b->alloc_bytes += size;
		}
		p += ghdr + size;
	}
	put32(gblk + GB_NCHUNKS, 3);
	put32(gblk + GB_NFREE, 1);
	put64(gblk + GB_FREEPTR, p);
	b->exp[2] = (expect) {GC_SIZE + 4096, 1, gblk + 4096 - p, 1, 3};

	/* children of TopMemoryContext, newest first: gen, hash */
	put64(top + MC_FIRSTCHILD, gen);
	put64(gen + MC_NEXTCHILD, hash);
	put64(hash + MC_PREVCHILD, gen);
}

/* ---- checks ---------------------------------------------------------------- */

typedef struct chunk_count
{
	size_t		nalloc;
	size_t		nfree;
	uint64_t	alloc_bytes;
	bool		saw_big;
	const built *b;
	bool		free_ok;
} chunk_count;

static bool
count_chunk(mcxt_walk *w, const mcxt_chunk *c, void *arg)
{
	chunk_count *cc = arg;
	bool		expected_free = false;

	(void) w;
	for (size_t i = 0; i < cc->b->nfreed_hdr; i++)
		if (cc->b->freed_hdr[i] == c->hdr)
			expected_free = true;
	if (expected_free != c->free)
		cc->free_ok = false;
	if (c->free)
		cc->nfree++;
	else
	{
		cc->nalloc++;
		cc->alloc_bytes += c->size;
	}
	if (c->ptr == cc->b->big_ptr && c->size == 20000)
		cc->saw_big = true;
	return true;
}

static int32_t
find_ctx(const mcxt_walk *w, uint64_t addr)
{
	for (size_t i = 0; i < w->nctx; i++)
		if (w->ctx[i].addr == addr)
			return (int32_t) i;
	return -1;
}

static void
run(bool cassert)
{
	const mcxt_layout *right = mcxt_layout_pg_find(15, false, cassert);
	const mcxt_layout *wrong = mcxt_layout_pg_find(15, false, !cassert);
	mcxt_reader rd = {NULL, arena_read, arena_region, NULL};
	mcxt_walk_opts opts;
	built		b;
	mcxt_walk  *w;
	size_t		checked = 0;
	size_t		ok_right;
	size_t		ok_wrong;
	chunk_count cc;

	if (right == NULL || wrong == NULL)
	{
		fprintf(stderr, "no PostgreSQL 15 layouts\n");
		failures++;
		return;
	}
	CHECK(right->cassert == cassert);
	build(&b, cassert);
	memset(&opts, 0, sizeof(opts));
	opts.root_addr = b.root_var;
	w = mcxt_walk_new(right, &rd, &opts);
	if (w == NULL)
	{
		failures++;
		return;
	}
	for (size_t i = 0; i < w->nwarnings; i++)
		fprintf(stderr, "unexpected warning (%s): %s\n", cassert ? "cassert" : "plain", w->warnings[i]);
	CHECK_EQ(w->nwarnings, 0);
	CHECK(!w->partial);
	CHECK_EQ(w->nctx, 3);
	for (int k = 0; k < 3; k++)
	{
		int32_t		ci = find_ctx(w, b.ctx[k]);

		CHECK(ci >= 0);
		if (ci < 0)
			continue;
		CHECK_EQ(w->ctx[ci].total_bytes, b.exp[k].total);
		CHECK_EQ(w->ctx[ci].nblocks, b.exp[k].nblocks);
		CHECK_EQ(w->ctx[ci].free_bytes, b.exp[k].free);
		CHECK_EQ(w->ctx[ci].free_chunks, b.exp[k].free_chunks);
		if (k == 2)
		{
			CHECK(w->ctx[ci].has_nchunks);
			CHECK_EQ(w->ctx[ci].nchunks, b.exp[k].nchunks);
		}
	}
	/* the dynahash context's path is its ident, as PostgreSQL names it */
	CHECK(find_ctx(w, b.ctx[1]) >= 0 &&
		  strcmp(w->ctx[find_ctx(w, b.ctx[1])].path, "TopMemoryContext/LOCALLOCK hash") == 0);
	/* children newest first, as the tree links them */
	CHECK(w->ctx[0].first_child >= 0 && w->ctx[w->ctx[0].first_child].addr == b.ctx[2]);

	memset(&cc, 0, sizeof(cc));
	cc.b = &b;
	cc.free_ok = true;
	CHECK(mcxt_walk_chunks(w, -1, false, count_chunk, &cc));
	CHECK_EQ(cc.nalloc, b.nalloc);
	CHECK_EQ(cc.nfree, b.nfree);
	CHECK_EQ(cc.alloc_bytes, b.alloc_bytes);
	CHECK(cc.saw_big);
	CHECK(cc.free_ok);
	CHECK_EQ(w->nwarnings, 0);

	/* the probe that picks a core's build */
	ok_right = mcxt_walk_chunk_consistency(w, right, 256, &checked);
	ok_wrong = mcxt_walk_chunk_consistency(w, wrong, 256, NULL);
	CHECK_EQ(checked, 4);		/* the AllocSet blocks with chunks */
	CHECK_EQ(ok_right, checked);
	CHECK(ok_wrong < ok_right);
	mcxt_walk_free(w);

	/* the wrong layout: a walk with warnings, never a crash */
	w = mcxt_walk_new(wrong, &rd, &opts);
	CHECK(w != NULL);
	if (w != NULL)
	{
		memset(&cc, 0, sizeof(cc));
		cc.b = &b;
		(void) mcxt_walk_chunks(w, -1, true, count_chunk, &cc);
		mcxt_walk_free(w);
	}
}

int
main(void)
{
	arena = aligned_alloc(4096, ARENA_SIZE);
	if (arena == NULL)
		return 1;
	arena_base = (uint64_t) (uintptr_t) arena;
	run(false);
	run(true);
	/* every version 10..15 has both descriptors; 9 and 19 none */
	for (int v = 10; v <= 15; v++)
	{
		CHECK(mcxt_layout_pg_find(v, false, false) != NULL);
		CHECK(mcxt_layout_pg_find(v, false, true) != NULL);
		CHECK_EQ(mcxt_layout_pg_find(v, false, false)->major, v);
	}
	CHECK(mcxt_layout_pg_find(9, false, false) == NULL);
	CHECK(mcxt_layout_pg_find(19, false, false) == NULL);
	free(arena);
	if (failures)
	{
		fprintf(stderr, "%d checks failed\n", failures);
		return 1;
	}
	printf("ok: PostgreSQL 15 plain and cassert layouts on generated memory\n");
	return 0;
}
