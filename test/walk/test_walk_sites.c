/*
 * test_walk_sites.c
 *	  The forensics tool's reading of allocation sites (tools/mcxt/sitemap.c)
 *	  against the library's own (mcxt_chunk_site, mcxt_sites_foreach), on a
 *	  frozen copy of this process built with the sites library.
 *
 * Every context type the tool walks (AllocSet, Generation with its header
 * variants, Slab), small, large and aligned chunks, some freed: every live
 * chunk the walker hands out must have the site the library gives the same
 * pointer, and the tool's per-(context, site) totals must equal
 * mcxt_sites_foreach's, chunk for chunk and byte for byte.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <mcxt.h>

#include "../../src/chunk.h"
#include "layout.h"
#include "selfread.h"
#include "sitemap.h"
#include "testhelper.h"
#include "walk.h"

extern mcxt_registry_t mcxt_registry;

static mcxt_context_t *ctx_aset;
static mcxt_context_t *ctx_gen;
static mcxt_context_t *ctx_slab;
static int	lines[8];

static void
fill(void)
{
	void	   *drop[3];

	ctx_aset = mcxt_aset_create(mcxt_top(), "sites-aset", MCXT_DEFAULT_SIZES);
	ctx_gen = mcxt_generation_create(mcxt_top(), "sites-gen", MCXT_DEFAULT_SIZES);
	ctx_slab = mcxt_slab_create(mcxt_top(), "sites-slab", 8192, 48);
	for (int i = 0; i < 7; i++)
	{
		void	   *p = mcxt_alloc(ctx_aset, 40); lines[0] = __LINE__;

		if (i < 2)
			drop[i] = p;
	}
	for (int i = 0; i < 2; i++)
	{
		(void) mcxt_alloc(ctx_aset, 20000); lines[1] = __LINE__;
	}
	mcxt_free(drop[0]);
	mcxt_free(drop[1]);
	for (int i = 0; i < 5; i++)
	{
		(void) mcxt_alloc(ctx_gen, 70 + i); lines[2] = __LINE__;
	}
	(void) mcxt_alloc(ctx_gen, 2 << 20); lines[3] = __LINE__;
	(void) mcxt_alloc_aligned(ctx_gen, 100, 512, 0); lines[4] = __LINE__;
	for (int i = 0; i < 9; i++)
	{
		void	   *p = mcxt_alloc(ctx_slab, 48); lines[5] = __LINE__;

		if (i == 4)
			drop[2] = p;
	}
	mcxt_free(drop[2]);
	(void) mcxt_strdup(ctx_aset, "a string in the aset"); lines[6] = __LINE__;
}

typedef struct check_chunks
{
	mcxt_sitemap *sm;
	uint64_t	checked;
	uint64_t	mismatched;
} check_chunks;

static bool
check_chunk(mcxt_walk *w, const mcxt_chunk *c, void *arg)
{
	check_chunks *cc = arg;
	const mcxt_site_ref *tool;
	mcxt_site_stats_t lib;

	if (c->free)
		return true;
	tool = mcxt_sitemap_chunk(cc->sm, w, c);
	cc->checked++;
	if (tool == NULL || !mcxt_chunk_site((void *) (uintptr_t) c->ptr, &lib) ||
		tool->id != lib.id || tool->line != (uint32_t) lib.line ||
		(lib.id != 0 && (strcmp(tool->file, lib.file) != 0 || strcmp(tool->func, lib.func) != 0)))
	{
		cc->mismatched++;
		fprintf(stderr, "  chunk 0x%llx: tool %s:%u, library %s:%d\n", (unsigned long long) c->ptr,
				tool ? tool->file : "(none)", tool ? tool->line : 0, lib.file ? lib.file : "(none)",
				lib.line);
	}
	return true;
}

/* The library's totals of one context, to compare with the tool's rows. */
typedef struct lib_sites
{
	mcxt_site_stats_t s[32];
	int			n;
} lib_sites;

static void
lib_collect(const mcxt_site_stats_t *s, void *arg)
{
	lib_sites  *l = arg;

	if (l->n < 32)
		l->s[l->n++] = *s;
}

static void
test_tool_reads_sites(void)
{
	pid_t		pid;
	selfread	sr;
	mcxt_reader reader;
	mcxt_walk_opts opts;
	mcxt_walk  *w;
	mcxt_sitemap sm;
	check_chunks cc;
	int			ours = 0;

	fill();
	selfread_scrub_stack();
	pid = selfread_fork_snapshot();
	REQUIRE(pid > 0);
	REQUIRE(selfread_open(&sr, pid));
	reader = selfread_reader(&sr);
	memset(&opts, 0, sizeof(opts));
	opts.root_addr = (uint64_t) (uintptr_t) &mcxt_registry;
	w = mcxt_walk_new(&mcxt_layout_libmcxt, &reader, &opts);
	REQUIRE(w != NULL);
	for (size_t i = 0; i < w->nwarnings; i++)
		fprintf(stderr, "  walk warning: %s\n", w->warnings[i]);
	CHECK_EQ(w->nwarnings, 0);
	CHECK(!w->partial);

	REQUIRE(mcxt_sitemap_open(w, &sm));
	CHECK(sm.flavour & MCXT_FLAVOUR_SITES);
	CHECK_EQ(sm.nsites, mcxt_registry.nsites);

	memset(&cc, 0, sizeof(cc));
	cc.sm = &sm;
	(void) mcxt_walk_chunks(w, -1, false, check_chunk, &cc);
	/* 5 + 2 + 1 aset, 5 + 1 + 1 generation, 8 slab: at least ours */
	CHECK(cc.checked >= 23);
	CHECK_EQ(cc.mismatched, 0);

	REQUIRE(mcxt_sitemap_by_site(&sm, w));
	CHECK_EQ(sm.unreadable, 0);
	for (size_t k = 0; k < w->nctx; k++)
	{
		mcxt_context_t *ctx = (mcxt_context_t *) (uintptr_t) w->ctx[k].addr;
		lib_sites	l;
		int			rows = 0;

		if (w->ctx[k].name == NULL || strncmp(w->ctx[k].name, "sites-", 6) != 0)
			continue;
		ours++;
		memset(&l, 0, sizeof(l));
		CHECK(mcxt_sites_foreach(ctx, false, lib_collect, &l) > 0);
		for (size_t r = 0; r < sm.nrows; r++)
		{
			const mcxt_site_row *row = &sm.rows[r];
			bool		found = false;

			if (row->ctx != (int32_t) k)
				continue;
			rows++;
			for (int i = 0; i < l.n; i++)
				if (l.s[i].id == row->site->id)
				{
					found = true;
					CHECK_MSG(l.s[i].chunks == row->chunks && l.s[i].bytes == row->bytes &&
							  l.s[i].space == row->space,
							  "%s line %u: tool %llu chunks %llu bytes %llu space, library %llu %llu %llu",
							  w->ctx[k].name, row->site->line, (unsigned long long) row->chunks,
							  (unsigned long long) row->bytes, (unsigned long long) row->space,
							  (unsigned long long) l.s[i].chunks, (unsigned long long) l.s[i].bytes,
							  (unsigned long long) l.s[i].space);
				}
			CHECK_MSG(found, "%s: the tool's site %u is not the library's", w->ctx[k].name,
					  row->site->id);
		}
		CHECK_EQ(rows, l.n);
	}
	CHECK_EQ(ours, 3);

	/* the leaking lines by name: the aset's 40-byte chunks */
	{
		bool		seen = false;

		for (size_t r = 0; r < sm.nrows; r++)
			if (strcmp(w->ctx[sm.rows[r].ctx].name, "sites-aset") == 0 &&
				sm.rows[r].site->line == (uint32_t) lines[0])
			{
				seen = true;
				CHECK_EQ(sm.rows[r].chunks, 5);
				CHECK_EQ(sm.rows[r].bytes, 5 * 40);
				CHECK_STR(sm.rows[r].site->func, "fill");
				CHECK(strstr(sm.rows[r].site->file, "test_walk_sites.c") != NULL);
			}
		CHECK(seen);
	}
	mcxt_sitemap_close(&sm);
	mcxt_walk_free(w);
	selfread_close(&sr);
	selfread_kill(pid);
	mcxt_delete(ctx_aset);
	mcxt_delete(ctx_gen);
	mcxt_delete(ctx_slab);
}

int
main(void)
{
	RUN(test_tool_reads_sites);
	mcxt_thread_cleanup();
	return th_report();
}
