/*
 * test_pggen.c
 *	  The PostgreSQL 16-18 and Greenplum 6/7 descriptors (plain and
 *	  --enable-cassert) against cores the generator lays out byte for byte
 *	  (gen_pgcore.c), at the level of the walker: the core is opened as the
 *	  tool opens it (image layer, names read from the companion executable
 *	  the core leaves out), walked with the version's descriptor, and
 *	  compared with what the generator computed from its own books:
 *	   - every context's statistics, rendered in PostgreSQL's log format
 *	     (our rendering here; the CLI test checks the tool's own), the
 *	     "N more child contexts" summary and the grand total;
 *	   - a clean walk: no warnings but the "chunks not walked" notice;
 *	   - the planted leak ranks first: TopMemoryContext, 128-byte chunks,
 *	     family base/%u, the planted count, stride header + 128, all of them
 *	     unreferenced;
 *	   - Greenplum's named counters equal the planted values, and the
 *	     AllocSet-only ones are absent from Greenplum 7's Generation and
 *	     Slab contexts;
 *	   - the same image walked with the other header layout (cassert vs
 *	     plain) is flagged as inconsistent, never crashes: what automatic
 *	     detection relies on.
 *
 * Usage: test_pggen WORKDIR [VERSION...] (all versions when none given).
 */
#define _GNU_SOURCE
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "analyze.h"
#include "gen_pgcore.h"
#include "image.h"
#include "image_reader.h"
#include "layout.h"
#include "walk.h"

static int	failures;

static void
check(bool ok, const char *ver, const char *fmt,...)
{
	va_list		ap;

	if (ok)
		return;
	failures++;
	fprintf(stderr, "FAIL [%s]: ", ver);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
}

typedef struct vmap
{
	const char *key;
	const mcxt_layout *right;
	const mcxt_layout *wrong;	/* the other header layout, or NULL */
} vmap;

static const vmap layouts[] = {
	{"pg16", &mcxt_layout_pg16, &mcxt_layout_pg16_cassert},
	{"pg16-cassert", &mcxt_layout_pg16_cassert, &mcxt_layout_pg16},
	{"pg17", &mcxt_layout_pg17, &mcxt_layout_pg17_cassert},
	{"pg17-cassert", &mcxt_layout_pg17_cassert, &mcxt_layout_pg17},
	{"pg18", &mcxt_layout_pg18, &mcxt_layout_pg18_cassert},
	{"pg18-cassert", &mcxt_layout_pg18_cassert, &mcxt_layout_pg18},
	{"gp6", &mcxt_layout_gp6, &mcxt_layout_gp6_cassert},
	{"gp6-cassert", &mcxt_layout_gp6_cassert, &mcxt_layout_gp6},
	{"gp7", &mcxt_layout_gp7, &mcxt_layout_gp7_cassert},
	{"gp7-cassert", &mcxt_layout_gp7_cassert, &mcxt_layout_gp7},
};

/* growable text */
typedef struct text
{
	char	   *s;
	size_t		len;
	size_t		cap;
} text;

static void
tprintf(text *t, const char *fmt,...)
{
	va_list		ap;
	int			n;

	va_start(ap, fmt);
	n = vsnprintf(NULL, 0, fmt, ap);
	va_end(ap);
	if (t->len + (size_t) n + 1 > t->cap)
	{
		t->cap = (t->len + (size_t) n + 1) * 2;
		t->s = realloc(t->s, t->cap);
		if (t->s == NULL)
			abort();
	}
	va_start(ap, fmt);
	vsnprintf(t->s + t->len, (size_t) n + 1, fmt, ap);
	va_end(ap);
	t->len += (size_t) n;
}

typedef unsigned long long ull;

static void
stats_line(text *t, const mcxt_ctx_info *c)
{
	if (strcmp(c->type_name, "Generation") == 0)
		tprintf(t, "%llu total in %llu blocks (%llu chunks); %llu free (%llu chunks); %llu used",
				(ull) c->total_bytes, (ull) c->nblocks, (ull) c->nchunks, (ull) c->free_bytes,
				(ull) c->free_chunks, (ull) (c->total_bytes - c->free_bytes));
	else if (strcmp(c->type_name, "Slab") == 0 && c->has_nempty)
		/* 16+'s SlabStats; 10-15's and Greenplum 7's have AllocSet's form */
		tprintf(t, "%llu total in %llu blocks; %llu empty blocks; %llu free (%llu chunks); %llu used",
				(ull) c->total_bytes, (ull) c->nblocks, (ull) c->nempty_blocks,
				(ull) c->free_bytes, (ull) c->free_chunks,
				(ull) (c->total_bytes - c->free_bytes));
	else if (strcmp(c->type_name, "Bump") == 0)
		tprintf(t, "%llu total in %llu blocks; %llu free; %llu used",
				(ull) c->total_bytes, (ull) c->nblocks, (ull) c->free_bytes,
				(ull) (c->total_bytes - c->free_bytes));
	else
		tprintf(t, "%llu total in %llu blocks; %llu free (%llu chunks); %llu used",
				(ull) c->total_bytes, (ull) c->nblocks, (ull) c->free_bytes,
				(ull) c->free_chunks, (ull) (c->total_bytes - c->free_bytes));
}

/* PostgreSQL's MemoryContextStatsPrint / Internal rules over the walk. */
static void
render(text *t, const mcxt_walk *w, int32_t ci)
{
	const mcxt_ctx_info *c = &w->ctx[ci];
	const char *name = c->name ? c->name : "";
	const char *ident = c->ident;
	int			shown = 0;
	int			rest = 0;
	mcxt_walk_totals sum;

	if (ident && strcmp(name, "dynahash") == 0)
	{
		name = ident;
		ident = NULL;
	}
	tprintf(t, "level: %d; %s: ", c->level + w->layout->level_base, name);
	stats_line(t, c);
	if (ident)
	{
		size_t		n = strlen(ident);

		tprintf(t, ": ");
		for (size_t i = 0; i < n && i < 100; i++)
			tprintf(t, "%c", (unsigned char) ident[i] < ' ' ? ' ' : ident[i]);
		if (n > 100)
			tprintf(t, "...");
	}
	tprintf(t, "\n");
	memset(&sum, 0, sizeof(sum));
	for (int32_t k = c->first_child; k >= 0; k = w->ctx[k].next_sibling)
	{
		if (shown++ < 100)
			render(t, w, k);
		else
		{
			mcxt_walk_totals one;

			mcxt_walk_grand_total(w, k, &one);
			sum.total_bytes += one.total_bytes;
			sum.nblocks += one.nblocks;
			sum.free_bytes += one.free_bytes;
			sum.free_chunks += one.free_chunks;
			if (w->layout->summary_counts_descendants)
			{
				/* the subtree is a contiguous run in pre-order */
				for (size_t j = (size_t) k; j < w->nctx &&
					 (j == (size_t) k || w->ctx[j].level > w->ctx[k].level); j++)
					rest++;
			}
			else
				rest++;
		}
	}
	if (rest)
		tprintf(t, "level: %d; %d more child contexts containing %llu total in %llu blocks; %llu free (%llu chunks); %llu used\n",
				c->level + w->layout->level_base, rest, (ull) sum.total_bytes, (ull) sum.nblocks,
				(ull) sum.free_bytes, (ull) sum.free_chunks,
				(ull) (sum.total_bytes - sum.free_bytes));
}

static char *
slurp(const char *path)
{
	FILE	   *f = fopen(path, "r");
	char	   *s;
	long		n;

	if (f == NULL)
		return NULL;
	fseek(f, 0, SEEK_END);
	n = ftell(f);
	fseek(f, 0, SEEK_SET);
	s = calloc(1, (size_t) n + 1);
	if (s && fread(s, 1, (size_t) n, f) != (size_t) n)
	{
		free(s);
		s = NULL;
	}
	fclose(f);
	return s;
}

/* Compare two texts line by line; report the first difference. */
static void
check_text(const char *ver, const char *got, const char *want)
{
	int			line = 1;
	const char *g = got;
	const char *x = want;

	while (*g && *x)
	{
		const char *ge = strchr(g, '\n');
		const char *xe = strchr(x, '\n');
		size_t		gl = ge ? (size_t) (ge - g) : strlen(g);
		size_t		xl = xe ? (size_t) (xe - x) : strlen(x);

		if (gl != xl || memcmp(g, x, gl) != 0)
		{
			check(false, ver, "log line %d differs:\n  walk:     %.*s\n  expected: %.*s",
				  line, (int) gl, g, (int) xl, x);
			return;
		}
		g += gl + (ge ? 1 : 0);
		x += xl + (xe ? 1 : 0);
		line++;
	}
	check(*g == '\0' && *x == '\0', ver, "log has %s lines than expected at line %d",
		  *g ? "more" : "fewer", line);
}

/* Greenplum's named counters: "acct 0xADDR k=v k=v" lines of expected.facts */
static void
check_acct(const char *ver, const mcxt_walk *w, const char *facts)
{
	const char *p = facts;
	int			lines = 0;

	while ((p = strstr(p, "acct 0x")) != NULL)
	{
		unsigned long long addr = strtoull(p + 5, NULL, 16);
		const char *e = strchr(p, '\n');
		const mcxt_ctx_info *c = NULL;

		lines++;
		for (size_t i = 0; i < w->nctx; i++)
			if (w->ctx[i].addr == addr)
				c = &w->ctx[i];
		check(c != NULL, ver, "context 0x%llx of the facts not walked", addr);
		if (c == NULL)
			return;
		for (const char *q = strchr(p + 7, ' '); q && q < e; q = strchr(q + 1, ' '))
		{
			char		key[64];
			unsigned long long val;
			bool		found = false;

			if (sscanf(q + 1, "%63[^=]=%llu", key, &val) != 2)
				break;
			for (uint32_t a = 0; a < w->layout->nacct; a++)
				if (strcmp(w->layout->acct[a].name, key) == 0)
				{
					found = true;
					check(c->acct[a] == val, ver, "%s of \"%s\" is %llu, planted %llu", key,
						  c->name ? c->name : "", (ull) c->acct[a], val);
				}
			check(found, ver, "the layout has no counter %s", key);
		}
		p = e ? e : p + strlen(p);
	}
	check(lines == 0 || (size_t) lines == w->nctx, ver, "%d acct lines for %zu contexts", lines, w->nctx);

	/*
	 * "absent 0xADDR k k": counters the context's type does not have
	 * (Greenplum 7's AllocSet-only fields in a Generation or Slab context)
	 * must be reported absent, and the others present.
	 */
	for (p = facts; (p = strstr(p, "\nabsent 0x")) != NULL;)
	{
		unsigned long long addr = strtoull(p + 8, NULL, 16);
		const char *e = strchr(p + 1, '\n');
		const mcxt_ctx_info *c = NULL;
		uint32_t	want = 0;

		for (size_t i = 0; i < w->nctx; i++)
			if (w->ctx[i].addr == addr)
				c = &w->ctx[i];
		check(c != NULL, ver, "context 0x%llx of the facts not walked", addr);
		if (c == NULL)
			return;
		for (const char *q = strchr(p + 9, ' '); q && (e == NULL || q < e); q = strchr(q + 1, ' '))
		{
			char		key[64];
			bool		found = false;

			if (sscanf(q + 1, "%63[^ \n]", key) != 1)
				break;
			for (uint32_t a = 0; a < w->layout->nacct; a++)
				if (strcmp(w->layout->acct[a].name, key) == 0)
				{
					found = true;
					want |= UINT32_C(1) << a;
				}
			check(found, ver, "the layout has no counter %s", key);
		}
		check(c->acct_absent == want, ver, "\"%s\": absent counters 0x%x, expected 0x%x",
			  c->name ? c->name : "", (unsigned) c->acct_absent, (unsigned) want);
		p = e ? e : p + strlen(p);
	}
}

static bool
count_chunk(mcxt_walk *w, const mcxt_chunk *c, void *arg)
{
	(void) w;
	if (!c->free)
		(*(uint64_t *) arg)++;
	return true;
}

/* "walked_chunks NAME N": the chunk walk finds N live chunks in context NAME */
static void
check_walked_chunks(const char *ver, mcxt_walk *w, const char *facts)
{
	const char *p = strstr(facts, "walked_chunks ");
	char		line[160];
	char		name[128];
	unsigned long long want;
	const char *e;
	uint64_t	got = 0;
	bool		found = false;

	if (p == NULL)
		return;
	p += strlen("walked_chunks ");
	snprintf(line, sizeof(line), "%.*s", (int) strcspn(p, "\n"), p);
	p = line;
	e = strrchr(p, ' ');
	if (e == NULL || (size_t) (e - p) >= sizeof(name) || sscanf(e + 1, "%llu", &want) != 1)
	{
		check(false, ver, "bad walked_chunks line");
		return;
	}
	memcpy(name, p, (size_t) (e - p));
	name[e - p] = '\0';
	for (size_t i = 0; i < w->nctx; i++)
		if (w->ctx[i].name && strcmp(w->ctx[i].name, name) == 0)
		{
			found = true;
			mcxt_walk_chunks(w, (int32_t) i, false, count_chunk, &got);
		}
	check(found && got == want, ver, "the chunk walk found %llu chunks in \"%s\", made %llu",
		  (ull) got, name, want);
}

static bool
only_notices(const mcxt_walk *w)
{
	for (size_t i = 0; i < w->nwarnings; i++)
		if (strstr(w->warnings[i], "not walked yet") == NULL &&
			strstr(w->warnings[i], "storage is not walked") == NULL)
			return false;
	return w->warnings_dropped == 0;
}

static void
run(const char *workdir, const vmap *m)
{
	char		dir[4096];
	char		path[4200];
	char		exe[4200];
	gen_expect	ex;
	image_opts	io;
	image_t    *im;
	char		err[512];
	mcxt_reader rd;
	mcxt_walk  *w;
	mcxt_walk_totals tot;
	text		t = {0};
	char	   *facts;
	mcxt_suspects *s;

	snprintf(dir, sizeof(dir), "%s/%s", workdir, m->key);
	if (gen_pgcore_write(m->key, dir, &ex) != 0)
	{
		check(false, m->key, "generator failed");
		return;
	}
	snprintf(path, sizeof(path), "%s/core", dir);
	snprintf(exe, sizeof(exe), "%s/postgres", dir);
	memset(&io, 0, sizeof(io));
	io.exe = exe;
	im = image_open_core(path, &io, err, sizeof(err));
	check(im != NULL, m->key, "cannot open the core: %s", err);
	if (im == NULL)
		return;
	image_reader_init(&rd, im);
	w = mcxt_walk_new(m->right, &rd, NULL);
	check(w != NULL && w->nctx == (size_t) ex.nctx, m->key, "walked %zu contexts, made %d",
		  w ? w->nctx : 0, ex.nctx);
	if (w == NULL || w->nctx == 0)
	{
		image_close(im);
		return;
	}
	check(!w->partial && only_notices(w), m->key, "walk not clean: %zu warnings, first: %s",
		  w->nwarnings, w->nwarnings ? w->warnings[0] : "(partial)");
	for (size_t i = 0; i < w->nwarnings && i < 5; i++)
		if (strstr(w->warnings[i], "not walked") == NULL)
			fprintf(stderr, "  [%s] warning: %s\n", m->key, w->warnings[i]);

	render(&t, w, 0);
	mcxt_walk_grand_total(w, -1, &tot);
	tprintf(&t, "Grand total: %llu bytes in %llu blocks; %llu free (%llu chunks); %llu used\n",
			(ull) tot.total_bytes, (ull) tot.nblocks, (ull) tot.free_bytes,
			(ull) tot.free_chunks, (ull) (tot.total_bytes - tot.free_bytes));
	check_text(m->key, t.s, ex.log);
	check(tot.total_bytes == ex.grand.total && tot.nblocks == ex.grand.nblocks &&
		  tot.free_bytes == ex.grand.free && tot.free_chunks == ex.grand.free_chunks,
		  m->key, "grand total %llu/%llu/%llu/%llu, expected %llu/%llu/%llu/%llu",
		  (ull) tot.total_bytes, (ull) tot.nblocks, (ull) tot.free_bytes, (ull) tot.free_chunks,
		  (ull) ex.grand.total, (ull) ex.grand.nblocks, (ull) ex.grand.free,
		  (ull) ex.grand.free_chunks);

	s = mcxt_suspects_find(w, NULL);
	check(s != NULL && s->n > 0, m->key, "no suspects");
	if (s && s->n > 0)
	{
		const mcxt_suspect *top = &s->items[0];
		const char *cname = w->ctx[top->ctx].name;

		check(cname && strcmp(cname, "TopMemoryContext") == 0 && top->chunk_size == 128 &&
			  strcmp(top->family, "base/%u") == 0 && top->count == (uint64_t) ex.leak_count &&
			  top->stride == ex.leak_stride && top->unreferenced == ex.leak_count,
			  m->key, "top suspect: %s, %llu-byte chunks, \"%s\", count %llu, stride %llu, unreferenced %lld; "
			  "planted TopMemoryContext, 128, base/%%u, %d, %llu, %d",
			  cname ? cname : "?", (ull) top->chunk_size, top->family, (ull) top->count,
			  (ull) top->stride, (long long) top->unreferenced, ex.leak_count,
			  (ull) ex.leak_stride, ex.leak_count);
	}
	mcxt_suspects_free(s);

	snprintf(path, sizeof(path), "%s/expected.facts", dir);
	facts = slurp(path);
	check(facts != NULL, m->key, "no expected.facts");
	if (facts)
	{
		check_acct(m->key, w, facts);
		check_walked_chunks(m->key, w, facts);
	}
	free(facts);
	mcxt_walk_free(w);

	/* the other header layout: must be noticed, and must not crash */
	if (m->wrong)
	{
		w = mcxt_walk_new(m->wrong, &rd, NULL);
		if (w)
		{
			bool		bad = w->partial || !only_notices(w);

			/* chunk-level inconsistency shows when the chunks are walked */
			if (!bad)
			{
				mcxt_suspects_opts so = {0};

				so.no_ref_scan = true;
				s = mcxt_suspects_find(w, &so);
				mcxt_suspects_free(s);
				bad = w->partial || !only_notices(w);
			}
			check(bad, m->key, "walking it with the %s layout raised no warning", m->wrong->name);
			mcxt_walk_free(w);
		}
	}
	free(t.s);
	free(ex.log);
	image_close(im);
}

int
main(int argc, char **argv)
{
	int			ran = 0;

	if (argc < 2)
	{
		fprintf(stderr, "usage: test_pggen WORKDIR [VERSION...]\n");
		return 2;
	}
	for (size_t i = 0; i < sizeof(layouts) / sizeof(layouts[0]); i++)
	{
		bool		want = argc == 2;

		for (int a = 2; a < argc; a++)
			if (strcmp(argv[a], layouts[i].key) == 0)
				want = true;
		if (!want)
			continue;
		run(argv[1], &layouts[i]);
		ran++;
	}
	if (ran == 0)
	{
		fprintf(stderr, "test_pggen: no such version\n");
		return 2;
	}
	if (failures)
	{
		fprintf(stderr, "test_pggen: %d failures\n", failures);
		return 1;
	}
	printf("test_pggen: %d versions match the generator\n", ran);
	return 0;
}
