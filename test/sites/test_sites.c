/*
 * test_sites.c
 *	  Allocation sites (MCXT_SITES): every chunk names the line that made it.
 *
 * Built twice: against a sites build of the library (MCXT_SITES comes with
 * it), where a program that leaks from two known lines must see exactly
 * those two sites with the right counts and bytes, across every context
 * type; and against the default library, whose site entry points must say
 * that sites are not recorded.  The line numbers are taken with __LINE__ on
 * the same line as the allocation, so the test cannot drift from its code.
 */
#define _GNU_SOURCE
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <mcxt.h>
#include <mcxt/palloc.h>

#include "chunk.h"
#include "testhelper.h"

extern mcxt_registry_t mcxt_registry;

#if defined(MCXT_SITES) && MCXT_SITES

/* One site as seen by mcxt_sites_foreach. */
typedef struct seen_site
{
	mcxt_site_stats_t s;
} seen_site;

typedef struct seen
{
	seen_site	sites[64];
	int			n;
} seen;

static void
collect(const mcxt_site_stats_t *s, void *arg)
{
	seen	   *v = arg;

	if (v->n < 64)
		v->sites[v->n++].s = *s;
}

static int
sites_of(mcxt_context_t *ctx, bool recurse, seen *v)
{
	memset(v, 0, sizeof(*v));
	return mcxt_sites_foreach(ctx, recurse, collect, v);
}

/* The entry for (func, line), or NULL. */
static const mcxt_site_stats_t *
find_site(const seen *v, const char *func, int line)
{
	for (int i = 0; i < v->n; i++)
		if (v->sites[i].s.id != 0 && strcmp(v->sites[i].s.func, func) == 0 &&
			v->sites[i].s.line == line)
			return &v->sites[i].s;
	return NULL;
}

static int	line_a;
static int	line_b;

/* The two leaking lines. */
static void
leak_a(mcxt_context_t *ctx, int n)
{
	for (int i = 0; i < n; i++)
	{
		char	   *p = mcxt_alloc(ctx, 40); line_a = __LINE__;

		memset(p, 'a', 40);
	}
}

static void
leak_b(int n)
{
	for (int i = 0; i < n; i++)
	{
		char	   *p = palloc(100); line_b = __LINE__;

		memset(p, 'b', 100);
	}
}

static void
test_two_sites(void)
{
	mcxt_context_t *ctx = mcxt_aset_create(mcxt_top(), "leaky", MCXT_DEFAULT_SIZES);
	mcxt_context_t *old = MemoryContextSwitchTo(ctx);
	seen		v;
	const mcxt_site_stats_t *a;
	const mcxt_site_stats_t *b;

	CHECK(mcxt_sites_enabled());
	leak_a(ctx, 3);
	leak_b(5);
	MemoryContextSwitchTo(old);

	CHECK_EQ(sites_of(ctx, false, &v), 2);
	CHECK_EQ(v.n, 2);
	a = find_site(&v, "leak_a", line_a);
	b = find_site(&v, "leak_b", line_b);
	REQUIRE(a != NULL && b != NULL);
	CHECK(strstr(a->file, "test_sites.c") != NULL);
	CHECK(strstr(b->file, "test_sites.c") != NULL);
	CHECK_EQ(a->chunks, 3);
	CHECK_EQ(a->bytes, 3 * 40);
	CHECK_EQ(b->chunks, 5);
	CHECK_EQ(b->bytes, 5 * 100);
	/* each chunk's space is its header plus a power-of-two chunk that holds the site word */
	CHECK(a->space >= 3 * (40 + 8 + 8) && a->space <= 3 * (8 + 128));
	CHECK(b->space >= 5 * (100 + 8 + 8) && b->space <= 5 * (8 + 256));
	/* the same site twice gets the same id; ids index the registry's table */
	CHECK(a->id != b->id);
	CHECK(a->id < mcxt_registry.nsites && b->id < mcxt_registry.nsites);
	mcxt_delete(ctx);
}

static void
test_free_leaves_report(void)
{
	mcxt_context_t *ctx = mcxt_aset_create(mcxt_top(), "frees", MCXT_DEFAULT_SIZES);
	void	   *keep[4];
	void	   *gone[4];
	int			lk = 0;
	int			lg = 0;
	seen		v;

	for (int i = 0; i < 4; i++)
	{
		keep[i] = mcxt_alloc(ctx, 24); lk = __LINE__;
		gone[i] = mcxt_alloc(ctx, 3000); lg = __LINE__;
	}
	CHECK_EQ(sites_of(ctx, false, &v), 2);
	for (int i = 0; i < 4; i++)
		mcxt_free(gone[i]);
	CHECK_EQ(sites_of(ctx, false, &v), 1);
	REQUIRE(find_site(&v, __func__, lk) != NULL);
	CHECK_EQ(find_site(&v, __func__, lk)->chunks, 4);
	CHECK(find_site(&v, __func__, lg) == NULL);
	/* a freed chunk reused by another site takes that site */
	mcxt_free(keep[0]);
	{
		int			lr;
		void	   *p = mcxt_alloc(ctx, 24); lr = __LINE__;

		CHECK(p == keep[0]);	/* LIFO freelist: the same chunk */
		sites_of(ctx, false, &v);
		REQUIRE(find_site(&v, __func__, lr) != NULL);
		CHECK_EQ(find_site(&v, __func__, lr)->chunks, 1);
		CHECK_EQ(find_site(&v, __func__, lk)->chunks, 3);
	}
	mcxt_reset(ctx);
	CHECK_EQ(sites_of(ctx, false, &v), 0);
	mcxt_delete(ctx);
}

/* repalloc stamps the chunk with its own site, whether the chunk moves or stays. */
static void
test_realloc_moves_site(void)
{
	mcxt_context_t *ctx = mcxt_aset_create(mcxt_top(), "realloc", MCXT_DEFAULT_SIZES);
	mcxt_site_stats_t s;
	int			la;
	int			lgrow;
	int			lshrink;
	int			lbig;
	char	   *p = mcxt_alloc(ctx, 30); la = __LINE__;
	seen		v;

	REQUIRE(mcxt_chunk_site(p, &s));
	CHECK_EQ(s.line, la);
	CHECK_STR(s.func, "test_realloc_moves_site");
	memset(p, 'x', 30);
	p = mcxt_realloc(p, 500); lgrow = __LINE__;
	CHECK(p[0] == 'x' && p[29] == 'x');
	REQUIRE(mcxt_chunk_site(p, &s));
	CHECK_EQ(s.line, lgrow);
	p = mcxt_realloc(p, 200); lshrink = __LINE__;	/* stays in its chunk */
	REQUIRE(mcxt_chunk_site(p, &s));
	CHECK_EQ(s.line, lshrink);
	/* a large (external) chunk, reallocated as a block */
	p = mcxt_realloc(p, 100000); lbig = __LINE__;
	REQUIRE(mcxt_chunk_site(p, &s));
	CHECK_EQ(s.line, lbig);
	CHECK_EQ(sites_of(ctx, false, &v), 1);
	REQUIRE(find_site(&v, __func__, lbig) != NULL);
	CHECK_EQ(find_site(&v, __func__, lbig)->bytes, 100000);
	mcxt_delete(ctx);
}

/*
 * A repalloc that fails under MCXT_ALLOC_NO_OOM leaves the old chunk as it
 * was, its site included: the chunk still belongs to the line that made it,
 * not to the repalloc that could not move it.  A large (external) chunk is
 * reallocated as a block, so the injected fault hits its block's realloc.
 */
static void
test_failed_realloc_keeps_site(void)
{
	mcxt_context_t *ctx = mcxt_aset_create(mcxt_top(), "failed realloc", MCXT_DEFAULT_SIZES);
	mcxt_site_stats_t s;
	seen		v;
	int			lbig;
	void	   *q;
	char	   *p = mcxt_alloc(ctx, 100000); lbig = __LINE__;

	memset(p, 'y', 100000);
	mcxt_fault_inject(1, true);
	q = mcxt_realloc_extended(p, 200000, MCXT_ALLOC_NO_OOM);
	mcxt_fault_inject(0, false);
	REQUIRE(q == NULL);
	CHECK(p[0] == 'y' && p[99999] == 'y');
	REQUIRE(mcxt_chunk_site(p, &s));
	CHECK_EQ(s.line, lbig);
	CHECK_STR(s.func, "test_failed_realloc_keeps_site");
	CHECK_EQ(sites_of(ctx, false, &v), 1);
	REQUIRE(find_site(&v, __func__, lbig) != NULL);
	CHECK_EQ(find_site(&v, __func__, lbig)->bytes, 100000);
	/* the chunk is intact: it can still be reallocated and freed */
	p = mcxt_realloc(p, 150000);
	CHECK(p[0] == 'y' && p[99999] == 'y');
	mcxt_free(p);
	mcxt_delete(ctx);
}

/* Every context type, aligned chunks, and the palloc.h string helpers. */
static void
test_types(void)
{
	mcxt_context_t *top = mcxt_aset_create(mcxt_top(), "types", MCXT_DEFAULT_SIZES);
	mcxt_context_t *gen = mcxt_generation_create(top, "gen", MCXT_DEFAULT_SIZES);
	mcxt_context_t *slab = mcxt_slab_create(top, "slab", 8192, 48);
	mcxt_context_t *bump = mcxt_bump_create(top, "bump", MCXT_DEFAULT_SIZES);
	mcxt_site_stats_t s;
	int			lg, lgbig, ls, lb, lbbig, lal, lalg, lstr, lpr;
	void	   *g = mcxt_alloc(gen, 70); lg = __LINE__;
	void	   *gbig = mcxt_alloc(gen, 2 << 20); lgbig = __LINE__;
	void	   *sl = mcxt_alloc(slab, 48); ls = __LINE__;
	void	   *b = mcxt_alloc(bump, 33); lb = __LINE__;
	void	   *bbig = mcxt_alloc(bump, 2 << 20); lbbig = __LINE__;
	void	   *al = mcxt_alloc_aligned(top, 100, 256, 0); lal = __LINE__;
	void	   *alg = MemoryContextAllocAligned(gen, 64, 4096, MCXT_ALLOC_ZERO); lalg = __LINE__;
	mcxt_context_t *old = MemoryContextSwitchTo(top);
	char	   *str = pstrdup("a string"); lstr = __LINE__;
	char	   *pr = psprintf("%s-%d", "formatted", 42); lpr = __LINE__;
	seen		v;

	MemoryContextSwitchTo(old);
	CHECK(((uintptr_t) al & 255) == 0 && ((uintptr_t) alg & 4095) == 0);
	(void) bbig;

	REQUIRE(mcxt_chunk_site(g, &s));
	CHECK_EQ(s.line, lg);
	REQUIRE(mcxt_chunk_site(gbig, &s));
	CHECK_EQ(s.line, lgbig);
	REQUIRE(mcxt_chunk_site(sl, &s));
	CHECK_EQ(s.line, ls);
	REQUIRE(mcxt_chunk_site(b, &s));
	CHECK_EQ(s.line, lb);
	REQUIRE(mcxt_chunk_site(al, &s));
	CHECK_EQ(s.line, lal);
	REQUIRE(mcxt_chunk_site(alg, &s));
	CHECK_EQ(s.line, lalg);
	REQUIRE(mcxt_chunk_site(str, &s));
	CHECK_EQ(s.line, lstr);
	CHECK_STR(str, "a string");
	REQUIRE(mcxt_chunk_site(pr, &s));
	CHECK_EQ(s.line, lpr);
	CHECK_STR(pr, "formatted-42");

	/* per context, then the subtree */
	CHECK_EQ(sites_of(gen, false, &v), 3);
	CHECK(find_site(&v, __func__, lg) != NULL && find_site(&v, __func__, lgbig) != NULL &&
		  find_site(&v, __func__, lalg) != NULL);
	CHECK_EQ(find_site(&v, __func__, lgbig)->bytes, 2 << 20);
	CHECK_EQ(sites_of(slab, false, &v), 1);
	CHECK_EQ(find_site(&v, __func__, ls)->bytes, 48);
	CHECK_EQ(sites_of(bump, false, &v), 2);
	CHECK(find_site(&v, __func__, lb) != NULL && find_site(&v, __func__, lbbig) != NULL);
	CHECK_EQ(find_site(&v, __func__, lb)->bytes, 33);
	CHECK_EQ(sites_of(top, false, &v), 3);
	CHECK_EQ(sites_of(top, true, &v), 9);

	/* freeing in each type takes the chunk out */
	mcxt_free(g);
	mcxt_free(sl);
	mcxt_free(alg);
	CHECK_EQ(sites_of(top, true, &v), 6);
	CHECK(find_site(&v, __func__, lg) == NULL && find_site(&v, __func__, ls) == NULL);
	CHECK_EQ(mcxt_check(top), 0);
	mcxt_delete(top);
}

/* Chunks allocated without the macros are counted under site 0. */
static void
test_unknown_site(void)
{
	mcxt_context_t *ctx = mcxt_aset_create(mcxt_top(), "unknown", MCXT_DEFAULT_SIZES);
	void	   *(*plain_alloc) (mcxt_context_t *, size_t) = mcxt_alloc;
	mcxt_site_stats_t s;
	void	   *p = plain_alloc(ctx, 64);
	seen		v;

	REQUIRE(mcxt_chunk_site(p, &s));
	CHECK_EQ(s.id, 0);
	CHECK_STR(s.file, "(unknown)");
	CHECK_EQ(sites_of(ctx, false, &v), 1);
	CHECK_EQ(v.sites[0].s.id, 0);
	CHECK_EQ(v.sites[0].s.chunks, 1);
	CHECK_EQ(v.sites[0].s.bytes, 64);
	mcxt_delete(ctx);
}

/* An error that longjmps out of an allocation leaves no stale site behind. */
static void
test_error_clears_site(void)
{
	mcxt_context_t *ctx = mcxt_aset_create(mcxt_top(), "errors", MCXT_DEFAULT_SIZES);
	void	   *(*plain_alloc) (mcxt_context_t *, size_t) = mcxt_alloc;
	mcxt_site_stats_t s;
	void	   *p;

	EXPECT_ERROR(MCXT_ERR_INVALID_SIZE, (void) mcxt_alloc(ctx, MCXT_MAX_ALLOC_SIZE + 1));
	p = plain_alloc(ctx, 16);
	REQUIRE(mcxt_chunk_site(p, &s));
	CHECK_EQ(s.id, 0);
	mcxt_delete(ctx);
}

static void
test_reports(void)
{
	mcxt_context_t *ctx = mcxt_aset_create(mcxt_top(), "report \"q\"", MCXT_DEFAULT_SIZES);
	mcxt_context_t *child = mcxt_aset_create(ctx, "child", MCXT_SMALL_SIZES);
	char	   *buf = NULL;
	size_t		len = 0;
	FILE	   *f;
	char		want[256];
	int			l1, l2;

	for (int i = 0; i < 10; i++)
	{
		(void) mcxt_alloc(ctx, 16); l1 = __LINE__;
	}
	(void) mcxt_alloc(child, 1000); l2 = __LINE__;

	f = open_memstream(&buf, &len);
	REQUIRE(f != NULL);
	CHECK_EQ(mcxt_sites_report(ctx, true, 0, f), 0);
	fclose(f);
	CHECK(strstr(buf, "Allocation sites of memory context \"report \"q\"\" and its descendants: 2 sites, 1160 bytes in 11 chunks") != NULL);
	/* largest first: the child's 1000 bytes before the ten 16-byte chunks */
	snprintf(want, sizeof(want), "test_sites.c:%d (test_reports)", l2);
	CHECK(strstr(buf, want) != NULL);
	snprintf(want, sizeof(want), "test_sites.c:%d (test_reports)", l1);
	CHECK(strstr(buf, want) != NULL);
	{
		char		w1[64], w2[64];

		snprintf(w1, sizeof(w1), ":%d (", l1);
		snprintf(w2, sizeof(w2), ":%d (", l2);
		CHECK(strstr(buf, w2) != NULL && strstr(buf, w1) != NULL && strstr(buf, w2) < strstr(buf, w1));
	}
	free(buf);

	/* max_sites: the rest summed */
	buf = NULL;
	f = open_memstream(&buf, &len);
	REQUIRE(f != NULL);
	CHECK_EQ(mcxt_sites_report(ctx, true, 1, f), 0);
	fclose(f);
	CHECK(strstr(buf, "(1 more sites)") != NULL);
	free(buf);

	buf = NULL;
	f = open_memstream(&buf, &len);
	REQUIRE(f != NULL);
	CHECK_EQ(mcxt_sites_json(ctx, false, f), 0);
	fclose(f);
	snprintf(want, sizeof(want), "{\"context\":\"report \\\"q\\\"\",\"recurse\":false,\"sites\":[{\"id\":");
	CHECK(strncmp(buf, want, strlen(want)) == 0);
	snprintf(want, sizeof(want), ",\"line\":%d,\"func\":\"test_reports\",\"chunks\":10,\"bytes\":160,", l1);
	CHECK(strstr(buf, want) != NULL);
	CHECK(strstr(buf, "\"total\":{\"chunks\":10,\"bytes\":160,") != NULL);
	free(buf);
	mcxt_delete(ctx);
}

/* What the forensics tool relies on: the registry says "sites" and points to the table. */
static void
test_registry(void)
{
	mcxt_context_t *ctx = mcxt_aset_create(mcxt_top(), "registry", MCXT_DEFAULT_SIZES);
	char	   *p = mcxt_alloc(ctx, 8); int l = __LINE__;
	mcxt_site_stats_t s;
	const mcxt_site_entry *e;

	CHECK(mcxt_registry.flavour & MCXT_FLAVOUR_SITES);
	CHECK(mcxt_registry.flavour & MCXT_FLAVOUR_CHECKED);
	CHECK(((mcxt_registry.flavour >> MCXT_FLAVOUR_TAIL_SHIFT) & 0xff) >= 8);
	REQUIRE(mcxt_chunk_site(p, &s));
	REQUIRE(mcxt_registry.site_pages != NULL && s.id < mcxt_registry.nsites);
	e = &mcxt_registry.site_pages[s.id >> MCXT_SITE_PAGE_BITS][s.id & (MCXT_SITE_PAGE_SIZE - 1)];
	CHECK_EQ(e->line, l);
	CHECK_STR(e->func, "test_registry");
	CHECK_STR(mcxt_registry.site_pages[0][0].file, "(unknown)");
	mcxt_delete(ctx);
}

int
main(void)
{
	RUN(test_two_sites);
	RUN(test_free_leaves_report);
	RUN(test_realloc_moves_site);
	RUN(test_failed_realloc_keeps_site);
	RUN(test_types);
	RUN(test_unknown_site);
	RUN(test_error_clears_site);
	RUN(test_reports);
	RUN(test_registry);
	mcxt_thread_cleanup();
	return th_report();
}

#else							/* the default library */

static void
test_sites_off(void)
{
	mcxt_context_t *ctx = mcxt_aset_create(mcxt_top(), "off", MCXT_DEFAULT_SIZES);
	void	   *p = mcxt_alloc(ctx, 10);
	mcxt_site_stats_t s;
	FILE	   *devnull = fopen("/dev/null", "w");

	CHECK(!mcxt_sites_enabled());
	CHECK_EQ(mcxt_sites_foreach(ctx, true, NULL, NULL), -1);
	CHECK(!mcxt_chunk_site(p, &s));
	REQUIRE(devnull != NULL);
	CHECK_EQ(mcxt_sites_report(ctx, true, 0, devnull), -1);
	CHECK_EQ(mcxt_sites_json(ctx, true, devnull), -1);
	fclose(devnull);
	CHECK(!(mcxt_registry.flavour & MCXT_FLAVOUR_SITES));
	CHECK(mcxt_registry.site_pages == NULL && mcxt_registry.nsites == 0);
	mcxt_delete(ctx);
}

int
main(void)
{
	RUN(test_sites_off);
	mcxt_thread_cleanup();
	return th_report();
}

#endif
