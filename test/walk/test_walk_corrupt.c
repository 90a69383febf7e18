/*
 * test_walk_corrupt.c
 *	  The walker on damaged memory: a real libmcxt tree in this process,
 *	  read through a reader that overlays corrupted words (cycles in the
 *	  sibling, child, block, freelist and registry lists, wild pointers,
 *	  absurd sizes, bad chunk headers) or cuts a hole in memory (a truncated
 *	  core), then many random corruptions.  Each walk must end, report what
 *	  it found wrong as warnings, mark itself partial and still return what
 *	  it could trust; ASan, UBSan and valgrind runs check that nothing is
 *	  read out of bounds on the tool's side.
 *
 * The tree is never modified: only the reader lies.
 */
#define _GNU_SOURCE
#include "../testhelper.h"

#include <unistd.h>

#include "../../src/chunk.h"
#include "analyze.h"
#include "report.h"
#include "selfread.h"
#include "walk.h"

extern mcxt_registry_t mcxt_registry;

#define MAX_PATCHES 8

typedef struct patch
{
	uint64_t	addr;
	uint64_t	value;
} patch;

/* A reader over this process that overlays patches and a hole. */
typedef struct view
{
	selfread	sr;
	patch		patches[MAX_PATCHES];
	int			npatches;
	uint64_t	hole_lo;
	uint64_t	hole_hi;
} view;

static view v;
static const mcxt_layout *view_layout = &mcxt_layout_libmcxt;
static mcxt_context_t *redo;
static mcxt_context_t *child_a;
static mcxt_context_t *child_b;
static mcxt_context_t *grandchild;
static mcxt_context_t *gen;
static mcxt_context_t *slab;
static mcxt_context_t *bump;

#define NCTX 8
static FILE *devnull;

static size_t
view_read(void *arg, uint64_t addr, void *buf, size_t len)
{
	view	   *vw = arg;
	size_t		n;

	if (vw->hole_hi > vw->hole_lo)
	{
		if (addr >= vw->hole_lo && addr < vw->hole_hi)
			return 0;
		if (addr < vw->hole_lo && len > vw->hole_lo - addr)
			len = (size_t) (vw->hole_lo - addr);
	}
	n = selfread_read(&vw->sr, addr, buf, len);
	for (int i = 0; i < vw->npatches; i++)
	{
		const patch *p = &vw->patches[i];
		unsigned char bytes[8];

		memcpy(bytes, &p->value, 8);
		for (int k = 0; k < 8; k++)
			if (p->addr + (uint64_t) k >= addr && p->addr + (uint64_t) k < addr + n)
				((unsigned char *) buf)[p->addr + (uint64_t) k - addr] = bytes[k];
	}
	return n;
}

static bool
view_region(void *arg, size_t i, mcxt_region *out)
{
	return selfread_region(&((view *) arg)->sr, i, out);
}

static void
view_reset(void)
{
	v.npatches = 0;
	v.hole_lo = v.hole_hi = 0;
}

static void
view_patch(const void *addr, uint64_t value)
{
	if (v.npatches < MAX_PATCHES)
		v.patches[v.npatches++] = (patch) {(uint64_t) (uintptr_t) addr, value};
}

static uint64_t
u(const void *p)
{
	return (uint64_t) (uintptr_t) p;
}

/*
 * Walk through the view, run every analysis and report (to /dev/null), and
 * return the walk.  ref_scan: include the reference scan.
 */
static mcxt_walk *
walk_view(bool ref_scan)
{
	mcxt_reader r;
	mcxt_walk_opts opts;
	mcxt_walk  *w;
	mcxt_suspects *s;
	mcxt_suspects_opts so;
	mcxt_decoded d;

	memset(&r, 0, sizeof(r));
	r.arg = &v;
	r.read = view_read;
	r.region = view_region;
	memset(&opts, 0, sizeof(opts));
	opts.root_addr = u(&mcxt_registry);
	w = mcxt_walk_new(view_layout, &r, &opts);
	if (w == NULL)
		return NULL;
	memset(&so, 0, sizeof(so));
	so.no_ref_scan = !ref_scan;
	s = mcxt_suspects_find(w, &so);
	if (s != NULL)
	{
		mcxt_diff  *df = mcxt_diff_compute(w, s, w, s);

		mcxt_report_suspects_text(devnull, w, s, NULL);
		mcxt_report_suspects_json(devnull, w, s, NULL);
		if (df != NULL)
		{
			mcxt_report_diff_text(devnull, df, NULL);
			mcxt_report_diff_json(devnull, df);
		}
		mcxt_diff_free(df);
		mcxt_suspects_free(s);
	}
	for (size_t b = 0; b < w->nblocks && b < 4; b++)
	{
		mcxt_decode_addr(w, w->blocks[b].addr + 100, &d);
		mcxt_report_decoded_text(devnull, w, &d, 64);
		mcxt_report_decoded_json(devnull, w, &d, 64);
	}
	mcxt_report_contexts_text(devnull, w, NULL);
	mcxt_report_contexts_json(devnull, w);
	mcxt_report_warnings_text(devnull, w);
	return w;
}

static bool
has_warning(const mcxt_walk *w, const char *needle)
{
	for (size_t i = 0; i < w->nwarnings; i++)
		if (strstr(w->warnings[i], needle) != NULL)
			return true;
	return false;
}

static void
show_warnings(const mcxt_walk *w)
{
	for (size_t i = 0; i < w->nwarnings; i++)
		fprintf(stderr, "    warning: %s\n", w->warnings[i]);
}

#define CHECK_WARNING(w, needle) \
	do { if (!CHECK_MSG(has_warning((w), (needle)), "no warning containing \"%s\"", (needle))) \
			show_warnings(w); } while (0)

static int32_t
find_ctx(const mcxt_walk *w, const char *name)
{
	for (size_t i = 0; i < w->nctx; i++)
		if (w->ctx[i].name && strcmp(w->ctx[i].name, name) == 0)
			return (int32_t) i;
	return -1;
}

static mcxt_aset_block *
last_block(mcxt_context_t *ctx)
{
	mcxt_aset_block *b = ((mcxt_aset *) ctx)->blocks;

	while (b->next != NULL)
		b = b->next;
	return b;
}

static void
build_tree(void)
{
	char	   *to_free[100];
	int			nfree = 0;

	redo = mcxt_aset_create(mcxt_top(), "RedoContext", MCXT_DEFAULT_SIZES);
	child_a = mcxt_aset_create(redo, "ChildA", MCXT_SMALL_SIZES);
	child_b = mcxt_aset_create(redo, "ChildB", MCXT_DEFAULT_SIZES);
	grandchild = mcxt_aset_create(child_b, "GrandChild", MCXT_SMALL_SIZES);
	for (int i = 0; i < 1000; i++)
	{
		char	   *p = mcxt_sprintf(redo, "base/%u", 16384u + (unsigned) i);

		if (i % 10 == 3)
			to_free[nfree++] = p;
	}
	/* after the loop, so the freelist keeps them */
	for (int k = 0; k < nfree; k++)
		mcxt_free(to_free[k]);
	for (int i = 0; i < 50; i++)
		mcxt_alloc(child_a, 40);
	/* one context of each other type, so random damage reaches their walkers */
	gen = mcxt_generation_create(mcxt_top(), "Gen", MCXT_SMALL_SIZES);
	slab = mcxt_slab_create(mcxt_top(), "Slab", 4096, 100);
	bump = mcxt_bump_create(mcxt_top(), "Bump", MCXT_SMALL_SIZES);
	{
		void	   *p[200];

		for (int i = 0; i < 200; i++)
		{
			p[i] = mcxt_alloc(slab, 100);
			mcxt_alloc(gen, 30 + i);
			mcxt_alloc(bump, 30 + i);
		}
		for (int i = 0; i < 120; i++)
			mcxt_free(p[i]);
	}
	mcxt_alloc(child_b, 50000);
	mcxt_alloc(grandchild, 100);
}

/* ---- tests -------------------------------------------------------------------------- */

static void
test_clean_baseline(void)
{
	mcxt_walk  *w;
	mcxt_counters_t cnt;

	mcxt_mem_consumed(redo, false, &cnt);
	view_reset();
	w = walk_view(true);
	REQUIRE(w != NULL);
	show_warnings(w);
	/* one note: the chunks of the Bump context are not walked */
	CHECK_EQ(w->nwarnings, 1);
	CHECK_WARNING(w, "1 contexts of types whose chunks are not walked yet");
	CHECK(!w->partial);
	CHECK_EQ(w->nctx, NCTX);
	CHECK_EQ(w->ctx[find_ctx(w, "RedoContext")].nblocks, cnt.nblocks);
	mcxt_walk_free(w);
}

static void
test_sibling_cycle(void)
{
	mcxt_walk  *w;

	/* RedoContext's children: ChildB -> ChildA -> NULL; make it ChildB -> ChildA -> ChildB */
	view_reset();
	view_patch(&child_a->nextchild, u(child_b));
	w = walk_view(false);
	REQUIRE(w != NULL);
	CHECK(w->partial);
	CHECK_WARNING(w, "cycle");
	CHECK_EQ(w->nctx, NCTX);		/* every context once */
	mcxt_walk_free(w);
}

static void
test_tree_cycle(void)
{
	mcxt_walk  *w;

	/* GrandChild claims RedoContext as its child: reachable twice */
	view_reset();
	view_patch(&grandchild->firstchild, u(redo));
	w = walk_view(false);
	REQUIRE(w != NULL);
	CHECK(w->partial);
	CHECK_WARNING(w, "reachable twice");
	CHECK_EQ(w->nctx, NCTX);
	mcxt_walk_free(w);

	/* a context that is its own first child */
	view_reset();
	view_patch(&child_a->firstchild, u(child_a));
	w = walk_view(false);
	REQUIRE(w != NULL);
	CHECK_WARNING(w, "reachable twice");
	CHECK_EQ(w->nctx, NCTX);
	mcxt_walk_free(w);
}

static void
test_block_cycle(void)
{
	mcxt_walk  *w;
	mcxt_aset_block *first = ((mcxt_aset *) redo)->blocks;
	mcxt_aset_block *last = last_block(redo);
	mcxt_counters_t cnt;

	mcxt_mem_consumed(redo, false, &cnt);
	REQUIRE(first != last);
	view_reset();
	view_patch(&last->next, u(first));
	w = walk_view(true);
	REQUIRE(w != NULL);
	CHECK(w->partial);
	CHECK_WARNING(w, "block list has a cycle");
	CHECK(w->ctx[find_ctx(w, "RedoContext")].nblocks <= cnt.nblocks);
	CHECK_EQ(w->nctx, NCTX);
	mcxt_walk_free(w);

	/* a block that is its own successor */
	view_reset();
	view_patch(&first->next, u(first));
	w = walk_view(false);
	REQUIRE(w != NULL);
	CHECK_WARNING(w, "block list has a cycle");
	CHECK_EQ(w->ctx[find_ctx(w, "RedoContext")].nblocks, 1);
	mcxt_walk_free(w);
}

static void
test_freelist_cycle(void)
{
	mcxt_walk  *w;
	uint64_t   *head = ((mcxt_aset *) redo)->freelist[4];	/* 128-byte chunks */
	uint64_t   *second;
	mcxt_counters_t cnt;
	size_t		n4 = 0;

	mcxt_mem_consumed(redo, false, &cnt);
	for (uint64_t c = u(head); c != 0 && selfread_peek(c + 8, &c, 8);)
		n4++;
	REQUIRE(head != NULL);
	REQUIRE(selfread_peek(u(head) + 8, &second, sizeof(second)));
	REQUIRE(second != NULL);
	/* head -> second -> head */
	view_reset();
	view_patch(second + 1, u(head));
	w = walk_view(true);
	REQUIRE(w != NULL);
	CHECK(w->partial);
	CHECK_WARNING(w, "freelist 4 has a cycle");
	/* the two distinct members are counted once each (other lists intact) */
	CHECK_EQ(w->ctx[find_ctx(w, "RedoContext")].free_chunks, cnt.freechunks - n4 + 2);
	mcxt_walk_free(w);

	/* a link into foreign memory */
	view_reset();
	view_patch(head + 1, u(&v));
	w = walk_view(false);
	REQUIRE(w != NULL);
	CHECK_WARNING(w, "points outside its blocks");
	CHECK_EQ(w->ctx[find_ctx(w, "RedoContext")].free_chunks, cnt.freechunks - n4 + 1);
	mcxt_walk_free(w);
}

static void
test_wild_pointers(void)
{
	mcxt_walk  *w;

	view_reset();
	view_patch(&child_b->nextchild, UINT64_C(0xdead00000000));
	view_patch(&grandchild->name, UINT64_C(0x10));
	w = walk_view(false);
	REQUIRE(w != NULL);
	CHECK(w->partial);
	CHECK_WARNING(w, "0xdead00000000 is not readable");
	CHECK_WARNING(w, "name at 0x10 is not readable");
	/* ChildA is lost behind the wild sibling link; the rest is there */
	CHECK_EQ(w->nctx, NCTX - 1);
	CHECK(find_ctx(w, "ChildA") < 0);
	CHECK(find_ctx(w, "(unreadable)") >= 0);
	mcxt_walk_free(w);

	/* a wild top context in the registry */
	view_reset();
	view_patch(&mcxt_registry.threads->top, UINT64_C(0x7));
	w = walk_view(false);
	REQUIRE(w != NULL);
	CHECK_EQ(w->nctx, 0);
	CHECK_WARNING(w, "not readable");
	mcxt_walk_free(w);
}

static void
test_absurd_sizes(void)
{
	mcxt_walk  *w;
	mcxt_aset_block *first = ((mcxt_aset *) redo)->blocks;
	char	   *some_chunk;

	view_reset();
	view_patch(&first->endptr, u(first) + (UINT64_C(1) << 50));
	w = walk_view(true);
	REQUIRE(w != NULL);
	CHECK(w->partial);
	CHECK_WARNING(w, "absurd end");
	mcxt_walk_free(w);

	/* a free pointer beyond the block's end */
	view_reset();
	view_patch(&first->freeptr, u(first->endptr) + 4096);
	w = walk_view(true);
	REQUIRE(w != NULL);
	CHECK_WARNING(w, "free pointer");
	mcxt_walk_free(w);

	/* a chunk header with a freelist index of 15: the rest of its block is skipped */
	some_chunk = (char *) first + MCXT_ASET_BLOCKHDRSZ;
	for (int k = 0; k < 10; k++)
	{
		uint64_t	hdr = 0;

		REQUIRE(selfread_peek(u(some_chunk), &hdr, sizeof(hdr)));
		some_chunk += MCXT_CHUNK_HDRSZ + (8u << (mcxt_chunk_hdr_value(hdr) & MCXT_ASET_IDX_MASK));
	}
	REQUIRE(some_chunk < first->freeptr);
	view_reset();
	view_patch(some_chunk, mcxt_chunk_make_hdr(MCXT_TYPE_ASET, MCXT_ASET_IDX_MASK,
											   (uint64_t) (some_chunk - (char *) first), 0));
	w = walk_view(true);
	REQUIRE(w != NULL);
	CHECK(w->partial);
	CHECK_WARNING(w, "freelist index out of range");
	mcxt_walk_free(w);

	/* a context claiming an unknown type */
	view_reset();
	view_patch(&child_a->magic, (uint64_t) MCXT_CONTEXT_MAGIC | ((uint64_t) 3 << 32));
	w = walk_view(false);
	REQUIRE(w != NULL);
	CHECK_WARNING(w, "unknown type 3");
	CHECK_EQ(w->nctx, NCTX);
	mcxt_walk_free(w);

	/* an AllocSet that claims to be a Slab */
	view_reset();
	view_patch(&child_a->magic, (uint64_t) MCXT_CONTEXT_MAGIC | ((uint64_t) MCXT_TYPE_SLAB << 32));
	w = walk_view(false);
	REQUIRE(w != NULL);
	CHECK(w->partial);
	CHECK(has_warning(w, "slab geometry is absurd") || has_warning(w, "is not one of its blocks") ||
		  has_warning(w, "blocks on its lists"));
	CHECK_EQ(w->nctx, NCTX);
	mcxt_walk_free(w);

	/* a layout that knows a type but has no storage walker for it: tree only, said so */
	{
		mcxt_layout custom = mcxt_layout_libmcxt;

		for (uint32_t i = 0; i < custom.ntypes; i++)
			if (custom.types[i].tag == MCXT_TYPE_ASET)
				custom.types[i].kind = MCXT_KIND_OTHER;
		view_reset();
		view_layout = &custom;
		w = walk_view(false);
		view_layout = &mcxt_layout_libmcxt;
		REQUIRE(w != NULL);
		CHECK(w->partial);
		CHECK_WARNING(w, "AllocSet storage is not walked yet");
		CHECK_EQ(w->nctx, NCTX);
		CHECK_EQ(w->ctx[find_ctx(w, "ChildA")].total_bytes, 0);
		mcxt_walk_free(w);
	}

	/* an AllocSet that claims to be a Generation: its blocks do not pass */
	view_reset();
	view_patch(&child_a->magic, (uint64_t) MCXT_CONTEXT_MAGIC | ((uint64_t) MCXT_TYPE_GENERATION << 32));
	w = walk_view(false);
	REQUIRE(w != NULL);
	CHECK(w->partial);
	CHECK_WARNING(w, "is not one of its blocks");
	CHECK_EQ(w->nctx, NCTX);
	mcxt_walk_free(w);
}

static void
test_truncated(void)
{
	mcxt_walk  *w;
	mcxt_aset_block *b = ((mcxt_aset *) redo)->blocks->next;

	REQUIRE(b != NULL);
	/* as if the core ended inside RedoContext's second block */
	view_reset();
	v.hole_lo = u(b);
	v.hole_hi = u(b) + 4096;
	w = walk_view(true);
	REQUIRE(w != NULL);
	CHECK(w->partial);
	CHECK_WARNING(w, "is not readable");
	CHECK_EQ(w->nctx, NCTX);
	mcxt_walk_free(w);
}

static void
test_registry_damage(void)
{
	mcxt_walk  *w;

	view_reset();
	view_patch(&mcxt_registry.threads->next, u(mcxt_registry.threads));
	w = walk_view(false);
	REQUIRE(w != NULL);
	CHECK_WARNING(w, "thread list does not end");
	CHECK_EQ(w->nroots, 1);
	CHECK_EQ(w->nctx, NCTX);
	mcxt_walk_free(w);

	view_reset();
	view_patch(&mcxt_registry.layout_version, 99);
	w = walk_view(false);
	REQUIRE(w != NULL);
	CHECK_WARNING(w, "layout version 99");
	CHECK_EQ(w->nctx, 0);
	mcxt_walk_free(w);
}

/* Deterministic pseudo-random numbers (splitmix64). */
static uint64_t rng_state = 42;

static uint64_t
rng(void)
{
	uint64_t	z = (rng_state += UINT64_C(0x9E3779B97F4A7C15));

	z = (z ^ (z >> 30)) * UINT64_C(0xBF58476D1CE4E5B9);
	z = (z ^ (z >> 27)) * UINT64_C(0x94D049BB133111EB);
	return z ^ (z >> 31);
}

/* Random words over the structures the walker trusts least. */
static void
test_random_corruption(void)
{
	mcxt_context_t *ctxs[] = {mcxt_top(), redo, child_a, child_b, grandchild, gen, slab, bump};
	const uint64_t nctxs = sizeof(ctxs) / sizeof(ctxs[0]);
	uint64_t	targets[1024];
	int			nt = 0;
	int			iterations = getenv("MCXT_FUZZ_ITERATIONS") ? atoi(getenv("MCXT_FUZZ_ITERATIONS")) : 300;

	/* MCXT_FUZZ_SEED / MCXT_FUZZ_ITERATIONS: longer or other runs by hand */
	uint64_t	seed = getenv("MCXT_FUZZ_SEED") ? strtoull(getenv("MCXT_FUZZ_SEED"), NULL, 0) : 42;

	rng_state = seed;

	/* context headers and AllocSet fields, block headers, a few chunk headers */
	for (size_t c = 0; c < sizeof(ctxs) / sizeof(ctxs[0]); c++)
	{
		unsigned	type = ((mcxt_context *) ctxs[c])->type;

		for (size_t off = 0; off < sizeof(mcxt_aset) && nt < 900; off += 8)
			targets[nt++] = u(ctxs[c]) + off;
		if (type == MCXT_TYPE_ASET)
			for (mcxt_aset_block *b = ((mcxt_aset *) ctxs[c])->blocks; b != NULL && nt < 1000; b = b->next)
			{
				targets[nt++] = u(&b->next);
				targets[nt++] = u(&b->freeptr);
				targets[nt++] = u(&b->endptr);
				targets[nt++] = u(b) + MCXT_ASET_BLOCKHDRSZ;
			}
		else if (type == MCXT_TYPE_GENERATION)
			for (mcxt_gen_block *b = ((mcxt_generation *) ctxs[c])->blocks; b != NULL && nt < 1000; b = b->next)
			{
				targets[nt++] = u(&b->next);
				targets[nt++] = u(&b->freeptr);
				targets[nt++] = u(&b->endptr);
				targets[nt++] = u(&b->nchunks);
				targets[nt++] = u(b) + MCXT_GEN_BLOCKHDRSZ;	/* its first chunk header */
			}
		else if (type == MCXT_TYPE_BUMP)
			for (mcxt_bump_block *b = ((mcxt_bump *) ctxs[c])->blocks; b != NULL && nt < 1000; b = b->next)
			{
				targets[nt++] = u(&b->next);
				targets[nt++] = u(&b->freeptr);
				targets[nt++] = u(&b->endptr);
			}
		else if (type == MCXT_TYPE_SLAB)
		{
			mcxt_slab  *sl = (mcxt_slab *) ctxs[c];

			for (int l = 0; l <= MCXT_SLAB_NLISTS; l++)
				for (mcxt_slab_block *b = l < MCXT_SLAB_NLISTS ? sl->lists[l] : sl->empty;
					 b != NULL && nt < 1000; b = b->next)
				{
					targets[nt++] = u(&b->next);
					targets[nt++] = u(&b->nfree);
					targets[nt++] = u(&b->unused);
					targets[nt++] = u(b) + MCXT_SLAB_BLOCKHDRSZ;
				}
		}
	}
	targets[nt++] = u(&mcxt_registry.threads);
	targets[nt++] = u(&mcxt_registry.threads->next);
	targets[nt++] = u(&mcxt_registry.threads->top);

	for (int it = 0; it < iterations; it++)
	{
		mcxt_walk  *w;
		int			npatch = 1 + (int) (rng() % 3);

		th_set_note("MCXT_FUZZ_SEED=%llu iteration %d", (unsigned long long) seed, it);
		view_reset();
		for (int k = 0; k < npatch; k++)
		{
			uint64_t	where = targets[rng() % (uint64_t) nt];
			uint64_t	what;

			switch (rng() % 5)
			{
				case 0:
					what = rng();
					break;
				case 1:
					what = rng() % 4096;
					break;
				case 2:
					what = targets[rng() % (uint64_t) nt];	/* a pointer to another structure */
					break;
				case 3:
					what = where;	/* a pointer to itself */
					break;
				default:
					what = u(ctxs[rng() % nctxs]) + (rng() % 64) * 8;
					break;
			}
			view_patch((const void *) (uintptr_t) where, what);
		}
		w = walk_view(it % 50 == 0);
		if (!CHECK(w != NULL))
			break;
		CHECK(w->nctx <= NCTX);
		CHECK(w->nwarnings <= w->max_warnings);
		mcxt_walk_free(w);
	}
	th_set_note("%s", "");
}

int
main(void)
{
	devnull = fopen("/dev/null", "w");
	if (devnull == NULL)
		return 1;
	build_tree();
	if (!selfread_open(&v.sr, getpid()))
	{
		fprintf(stderr, "cannot read /proc/self/maps\n");
		return 1;
	}
	RUN(test_clean_baseline);
	RUN(test_sibling_cycle);
	RUN(test_tree_cycle);
	RUN(test_block_cycle);
	RUN(test_freelist_cycle);
	RUN(test_wild_pointers);
	RUN(test_absurd_sizes);
	RUN(test_truncated);
	RUN(test_registry_damage);
	RUN(test_random_corruption);
	selfread_close(&v.sr);
	fclose(devnull);
	mcxt_thread_cleanup();
	return th_report();
}
