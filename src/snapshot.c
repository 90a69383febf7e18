/*
 * snapshot.c
 *	  Snapshots of a context subtree and the growth between two of them.
 *
 * The question a slow leak poses is not "how big is it" but "what grows":
 * a process that holds 6 GB after two weeks held 400 MB after one hour, and
 * the context (and, with MCXT_SITES, the line of code) that accounts for
 * the difference is the answer.  A snapshot is therefore the per-context
 * figures of mcxt_stats_print plus the accounting counters, keyed by the
 * context's path of names, and a diff joins two snapshots on that key.
 *
 * Design decisions:
 *  - A snapshot lives in malloc'd memory, never in a context and never
 *    from the block source: taking one changes neither the contexts it
 *    measures nor mcxt_block_stats, and it outlives any context.
 *  - Contexts are matched by path, not address: a context deleted and
 *    created again (PostgreSQL's per-query contexts, recycled ones here)
 *    is "the same" context to the reader.  Siblings of the same name are
 *    summed into one entry with a count, so a pile-up of contexts shows
 *    as growth of that count.  A '/' or '%' inside a name is
 *    percent-encoded so that a path is unambiguous.
 *  - The cost is one walk of the subtree with each type's stats method
 *    (blocks and freelists), the same as MemoryContextStats, plus a sort.
 *  - Growth is ranked by used bytes (total minus free): a leak of small
 *    chunks shows there at once, while total bytes move in whole blocks.
 *  - Sites: in a library built with MCXT_SITES, the snapshot also copies
 *    the live totals per allocation site of the subtree; otherwise that
 *    part of the struct stays empty and no sites code is compiled in.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "mcxt_int.h"

#define SNAPSHOT_MAGIC	UINT64_C(0x6d6378742d736e70)	/* "mcxt-snp" */

struct mcxt_snapshot
{
	uint64_t	magic;
	uint64_t	seq;			/* process-wide number, from 1 */
	struct timespec taken;		/* CLOCK_REALTIME */
	size_t		nentries;
	mcxt_snapshot_entry_t *entries; /* sorted by path, paths unique */
	size_t		nsites;
	mcxt_snapshot_site_t *sites;	/* largest bytes first */
	char	   *strings;		/* every path (and site name) the entries point to */
};

static uint64_t snapshot_seq;

/* ---- building --------------------------------------------------------------- */

/* A growable byte buffer on malloc; ok goes false on the first failure. */
typedef struct snap_buf
{
	char	   *data;
	size_t		len;
	size_t		cap;
	bool		ok;
} snap_buf;

static void
buf_reserve(snap_buf *b, size_t more)
{
	size_t		cap = b->cap ? b->cap : 1024;
	char	   *data;

	if (!b->ok || b->len + more <= b->cap)
		return;
	while (cap < b->len + more)
		cap *= 2;
	data = realloc(b->data, cap);
	if (data == NULL)
	{
		b->ok = false;
		return;
	}
	b->data = data;
	b->cap = cap;
}

static void
buf_put(snap_buf *b, const char *s, size_t n)
{
	if (n == 0)
		return;
	buf_reserve(b, n);
	if (!b->ok)
		return;
	memcpy(b->data + b->len, s, n);
	b->len += n;
}

/* A context name as a path component: '/' and '%' percent-encoded. */
static void
buf_put_name(snap_buf *b, const char *name)
{
	if (name == NULL)
		name = "?";
	for (const char *p = name; *p != '\0'; p++)
	{
		if (*p == '/')
			buf_put(b, "%2F", 3);
		else if (*p == '%')
			buf_put(b, "%25", 3);
		else
			buf_put(b, p, 1);
	}
}

/* While building, paths are offsets into the string buffer. */
typedef struct snap_raw
{
	size_t		order;			/* pre-order position, to break ties */
	size_t		path_off;
	mcxt_snapshot_entry_t e;
} snap_raw;

/* qsort_r comparator: arg is the string buffer (threads may take snapshots at once). */
static int
raw_cmp(const void *a, const void *b, void *arg)
{
	const char *strings = arg;
	const snap_raw *x = a;
	const snap_raw *y = b;
	int			c = strcmp(strings + x->path_off, strings + y->path_off);

	/* equal paths keep tree order, so the first one names the type */
	if (c == 0)
		return x->order < y->order ? -1 : (x->order > y->order);
	return c;
}

static void
entry_add(mcxt_snapshot_entry_t *to, const mcxt_snapshot_entry_t *from)
{
	to->ncontexts += from->ncontexts;
	to->counters.nblocks += from->counters.nblocks;
	to->counters.freechunks += from->counters.freechunks;
	to->counters.totalspace += from->counters.totalspace;
	to->counters.freespace += from->counters.freespace;
	to->accounting.mem_allocated += from->accounting.mem_allocated;
	to->accounting.bytes_alloc += from->accounting.bytes_alloc;
	to->accounting.bytes_freed += from->accounting.bytes_freed;
	to->accounting.max_bytes_held += from->accounting.max_bytes_held;
}

static mcxt_noreturn void
snapshot_oom(mcxt_context *ctx, void *a, void *b, void *c, void *d)
{
	free(a);
	free(b);
	free(c);
	free(d);
	mcxti_error(MCXT_ERR_OOM, ctx, "out of memory: cannot take a snapshot of memory context \"%s\"",
				ctx->name != NULL ? ctx->name : "?");
}

#if MCXT_SITES
/* Collecting the sites of a subtree from mcxt_sites_foreach. */
typedef struct site_collect
{
	mcxt_snapshot_site_t *sites;
	size_t		n;
	size_t		cap;
	snap_buf   *strings;
	size_t	   *file_off;		/* offsets into strings, fixed up at the end */
	size_t	   *func_off;
	bool		ok;
} site_collect;

static void
site_collect_one(const mcxt_site_stats_t *site, void *arg)
{
	site_collect *sc = arg;

	if (!sc->ok)
		return;
	if (sc->n == sc->cap)
	{
		size_t		cap = sc->cap ? sc->cap * 2 : 64;
		mcxt_snapshot_site_t *s1 = realloc(sc->sites, cap * sizeof(*s1));
		size_t	   *f1 = s1 ? realloc(sc->file_off, cap * sizeof(*f1)) : NULL;
		size_t	   *f2 = f1 ? realloc(sc->func_off, cap * sizeof(*f2)) : NULL;

		if (s1 != NULL)
			sc->sites = s1;
		if (f1 != NULL)
			sc->file_off = f1;
		if (f2 == NULL)
		{
			sc->ok = false;
			return;
		}
		sc->func_off = f2;
		sc->cap = cap;
	}
	memset(&sc->sites[sc->n], 0, sizeof(sc->sites[sc->n]));
	sc->sites[sc->n].line = site->line;
	sc->sites[sc->n].chunks = site->chunks;
	sc->sites[sc->n].bytes = site->bytes;
	sc->sites[sc->n].space = site->space;
	/* copied: a site's strings may belong to a library that is unloaded later */
	sc->file_off[sc->n] = sc->strings->len;
	buf_put(sc->strings, site->file ? site->file : "?", strlen(site->file ? site->file : "?") + 1);
	sc->func_off[sc->n] = sc->strings->len;
	buf_put(sc->strings, site->func ? site->func : "?", strlen(site->func ? site->func : "?") + 1);
	sc->ok = sc->strings->ok;
	sc->n++;
}

static int
site_space_desc(const void *x, const void *y)
{
	const mcxt_snapshot_site_t *a = x;
	const mcxt_snapshot_site_t *b = y;

	return a->space > b->space ? -1 : (a->space < b->space);
}
#endif

mcxt_snapshot_t *
mcxt_snapshot(mcxt_context_t *ctx)
{
	mcxt_snapshot_t *snap;
	snap_raw   *raw = NULL;
	size_t		nraw = 0;
	size_t		capraw = 0;
	snap_buf	strings = {.ok = true};
	snap_buf	path = {.ok = true};
	size_t	   *pathlen = NULL;	/* path length up to each level */
	size_t		caplevels = 0;
	mcxt_context *c = ctx;
	int			level = 0;
	size_t		n;
	mcxt_snapshot_site_t *sites = NULL;
	size_t		nsites = 0;

	if (ctx == NULL || ctx->magic != MCXT_CONTEXT_MAGIC)
		mcxti_error(MCXT_ERR_MISUSE, NULL,
					"mcxt_snapshot called with an invalid (deleted?) memory context %p",
					(void *) ctx);

	/* pre-order walk, keeping the path of the current context in path */
	while (c != NULL)
	{
		snap_raw   *r;

		if ((size_t) level >= caplevels)
		{
			size_t		cap = caplevels ? caplevels * 2 : 16;
			size_t	   *bigger = realloc(pathlen, cap * sizeof(*pathlen));

			if (bigger == NULL)
				snapshot_oom(ctx, raw, strings.data, path.data, pathlen);
			pathlen = bigger;
			caplevels = cap;
		}
		path.len = level > 0 ? pathlen[level - 1] : 0;
		if (level > 0)
			buf_put(&path, "/", 1);
		buf_put_name(&path, c->name);
		pathlen[level] = path.len;

		if (nraw == capraw)
		{
			size_t		cap = capraw ? capraw * 2 : 64;
			snap_raw   *bigger = realloc(raw, cap * sizeof(*raw));

			if (bigger == NULL)
				path.ok = false;
			else
			{
				raw = bigger;
				capraw = cap;
			}
		}
		if (!path.ok)
			snapshot_oom(ctx, raw, strings.data, path.data, pathlen);
		r = &raw[nraw++];
		memset(r, 0, sizeof(*r));
		r->order = nraw - 1;
		r->path_off = strings.len;
		buf_put(&strings, path.data, path.len);
		buf_put(&strings, "", 1);
		r->e.type = c->methods->name;
		r->e.level = level;
		r->e.ncontexts = 1;
		mcxti_context_counters(c, &r->e.counters);
		r->e.accounting.mem_allocated = c->mem_allocated;
		r->e.accounting.bytes_alloc = c->bytes_alloc;
		r->e.accounting.bytes_freed = c->bytes_freed;
		r->e.accounting.max_bytes_held = c->max_bytes_held;

		/* next in pre-order, tracking the level */
		if (c->firstchild != NULL)
		{
			c = c->firstchild;
			level++;
			continue;
		}
		while (c != ctx && c->nextchild == NULL)
		{
			c = c->parent;
			level--;
		}
		c = c == ctx ? NULL : c->nextchild;
	}
	free(pathlen);
	free(path.data);
#if MCXT_SITES
	/* the sites' names go into the same string buffer, before it is final */
	{
		site_collect sc = {.strings = &strings, .ok = true};

		if (mcxt_sites_foreach(ctx, true, site_collect_one, &sc) < 0)
			sc.ok = false;
		if (!sc.ok)
		{
			free(sc.file_off);
			free(sc.func_off);
			free(sc.sites);
			snapshot_oom(ctx, raw, strings.data, NULL, NULL);
		}
		for (size_t i = 0; i < sc.n; i++)
		{
			/* file and func hold offsets until the buffer stops moving */
			sc.sites[i].file = (const char *) (uintptr_t) sc.file_off[i];
			sc.sites[i].func = (const char *) (uintptr_t) sc.func_off[i];
		}
		free(sc.file_off);
		free(sc.func_off);
		sites = sc.sites;
		nsites = sc.n;
	}
#endif
	if (!strings.ok)
		snapshot_oom(ctx, raw, strings.data, sites, NULL);

	snap = malloc(sizeof(*snap));
	if (snap == NULL)
		snapshot_oom(ctx, raw, strings.data, sites, NULL);
	memset(snap, 0, sizeof(*snap));
	snap->magic = SNAPSHOT_MAGIC;
	snap->seq = __atomic_add_fetch(&snapshot_seq, 1, __ATOMIC_RELAXED);
	clock_gettime(CLOCK_REALTIME, &snap->taken);
	snap->entries = malloc(nraw * sizeof(*snap->entries));
	if (snap->entries == NULL)
		snapshot_oom(ctx, raw, strings.data, snap, sites);

	/* sort by path and sum the entries that share one */
	qsort_r(raw, nraw, sizeof(*raw), raw_cmp, strings.data);
	n = 0;
	for (size_t i = 0; i < nraw; i++)
	{
		if (n > 0 && strcmp(strings.data + raw[i].path_off,
							snap->entries[n - 1].path) == 0)
		{
			entry_add(&snap->entries[n - 1], &raw[i].e);
			continue;
		}
		snap->entries[n] = raw[i].e;
		/* the buffer is final: pointers into it stay valid */
		snap->entries[n].path = strings.data + raw[i].path_off;
		n++;
	}
	snap->nentries = n;
	snap->strings = strings.data;
	free(raw);
	for (size_t i = 0; i < nsites; i++)
	{
		sites[i].file = strings.data + (uintptr_t) sites[i].file;
		sites[i].func = strings.data + (uintptr_t) sites[i].func;
	}
	snap->sites = sites;
	snap->nsites = nsites;
#if MCXT_SITES
	if (snap->nsites > 1)
		qsort(snap->sites, snap->nsites, sizeof(*snap->sites), site_space_desc);
#endif
	return snap;
}

static void
snapshot_check(const mcxt_snapshot_t *snap, const char *op)
{
	if (snap == NULL || snap->magic != SNAPSHOT_MAGIC)
		mcxti_error(MCXT_ERR_MISUSE, NULL, "%s called with an invalid (freed?) snapshot %p",
					op, (const void *) snap);
}

void
mcxt_snapshot_free(mcxt_snapshot_t *snap)
{
	if (snap == NULL)
		return;
	snapshot_check(snap, "mcxt_snapshot_free");
	snap->magic = 0;
	free(snap->entries);
	free(snap->sites);
	free(snap->strings);
	free(snap);
}

size_t
mcxt_snapshot_count(const mcxt_snapshot_t *snap)
{
	snapshot_check(snap, "mcxt_snapshot_count");
	return snap->nentries;
}

const mcxt_snapshot_entry_t *
mcxt_snapshot_entry(const mcxt_snapshot_t *snap, size_t i)
{
	snapshot_check(snap, "mcxt_snapshot_entry");
	if (i >= snap->nentries)
		mcxti_error(MCXT_ERR_MISUSE, NULL, "mcxt_snapshot_entry: index %zu out of range (%zu entries)",
					i, snap->nentries);
	return &snap->entries[i];
}

const mcxt_snapshot_entry_t *
mcxt_snapshot_find(const mcxt_snapshot_t *snap, const char *path)
{
	size_t		lo = 0;
	size_t		hi;

	snapshot_check(snap, "mcxt_snapshot_find");
	if (path == NULL)
		mcxti_error(MCXT_ERR_MISUSE, NULL, "mcxt_snapshot_find called with a NULL path");
	hi = snap->nentries;
	while (lo < hi)
	{
		size_t		mid = lo + (hi - lo) / 2;
		int			c = strcmp(snap->entries[mid].path, path);

		if (c == 0)
			return &snap->entries[mid];
		if (c < 0)
			lo = mid + 1;
		else
			hi = mid;
	}
	return NULL;
}

size_t
mcxt_snapshot_site_count(const mcxt_snapshot_t *snap)
{
	snapshot_check(snap, "mcxt_snapshot_site_count");
	return snap->nsites;
}

const mcxt_snapshot_site_t *
mcxt_snapshot_site(const mcxt_snapshot_t *snap, size_t i)
{
	snapshot_check(snap, "mcxt_snapshot_site");
	if (i >= snap->nsites)
		mcxti_error(MCXT_ERR_MISUSE, NULL, "mcxt_snapshot_site: index %zu out of range (%zu sites)",
					i, snap->nsites);
	return &snap->sites[i];
}

/* ---- diffs -------------------------------------------------------------------- */

typedef enum diff_status
{
	DIFF_UNCHANGED,
	DIFF_GROWN,
	DIFF_SHRUNK,
	DIFF_NEW,
	DIFF_REMOVED
} diff_status;

static const char *const diff_status_names[] = {"unchanged", "grown", "shrunk", "new", "removed"};

/* One row of a diff: a path in a, in b, or in both. */
typedef struct diff_row
{
	const mcxt_snapshot_entry_t *a;	/* NULL: new */
	const mcxt_snapshot_entry_t *b;	/* NULL: removed */
	int64_t		d_used;
	int64_t		d_total;
	diff_status status;
} diff_row;

/* Same, for a site: keyed by (file, line, func). */
typedef struct diff_site
{
	const mcxt_snapshot_site_t *a;
	const mcxt_snapshot_site_t *b;
	int64_t		d_space;
	int64_t		d_chunks;
	diff_status status;
} diff_site;

static const mcxt_snapshot_entry_t zero_entry;
static const mcxt_snapshot_site_t zero_site;

static uint64_t
entry_used(const mcxt_snapshot_entry_t *e)
{
	return (uint64_t) (e->counters.totalspace - e->counters.freespace);
}

static int
cmp_i64_desc(int64_t x, int64_t y)
{
	return x > y ? -1 : (x < y);
}

static int
row_cmp(const void *x, const void *y)
{
	const diff_row *a = x;
	const diff_row *b = y;
	int			c = cmp_i64_desc(a->d_used, b->d_used);

	if (c == 0)
		c = cmp_i64_desc(a->d_total, b->d_total);
	if (c == 0)
		c = strcmp(a->a ? a->a->path : a->b->path, b->a ? b->a->path : b->b->path);
	return c;
}

static int
site_key_cmp(const mcxt_snapshot_site_t *a, const mcxt_snapshot_site_t *b)
{
	int			c = strcmp(a->file, b->file);

	if (c == 0)
		c = a->line < b->line ? -1 : (a->line > b->line);
	if (c == 0)
		c = strcmp(a->func, b->func);
	return c;
}

static int
site_ptr_cmp(const void *x, const void *y)
{
	return site_key_cmp(*(const mcxt_snapshot_site_t *const *) x,
						*(const mcxt_snapshot_site_t *const *) y);
}

static int
site_row_cmp(const void *x, const void *y)
{
	const diff_site *a = x;
	const diff_site *b = y;
	int			c = cmp_i64_desc(a->d_space, b->d_space);

	if (c == 0)
		c = cmp_i64_desc(a->d_chunks, b->d_chunks);
	if (c == 0)
		c = site_key_cmp(a->a ? a->a : a->b, b->a ? b->a : b->b);
	return c;
}

static diff_status
status_of(bool in_a, bool in_b, int64_t d1, int64_t d2, int64_t d3)
{
	if (!in_a)
		return DIFF_NEW;
	if (!in_b)
		return DIFF_REMOVED;
	if (d1 == 0)
		d1 = d2;
	if (d1 == 0)
		d1 = d3;
	return d1 > 0 ? DIFF_GROWN : d1 < 0 ? DIFF_SHRUNK : DIFF_UNCHANGED;
}

/* The rows of a diff: a merge join on path, then sorted by growth.  NULL if out of memory. */
static diff_row *
diff_rows(const mcxt_snapshot_t *a, const mcxt_snapshot_t *b, int flags, size_t *nrows)
{
	size_t		na = a ? a->nentries : 0;
	size_t		nb = b->nentries;
	size_t		i = 0,
				j = 0,
				n = 0;
	diff_row   *rows = malloc((na + nb + 1) * sizeof(*rows));

	if (rows == NULL)
		return NULL;
	while (i < na || j < nb)
	{
		int			c = i >= na ? 1 : j >= nb ? -1 : strcmp(a->entries[i].path, b->entries[j].path);
		const mcxt_snapshot_entry_t *ea = c <= 0 ? &a->entries[i++] : NULL;
		const mcxt_snapshot_entry_t *eb = c >= 0 ? &b->entries[j++] : NULL;
		const mcxt_snapshot_entry_t *xa = ea ? ea : &zero_entry;
		const mcxt_snapshot_entry_t *xb = eb ? eb : &zero_entry;
		diff_row   *r = &rows[n];
		int64_t		d_ctx = (int64_t) xb->ncontexts - (int64_t) xa->ncontexts;

		r->a = ea;
		r->b = eb;
		r->d_used = (int64_t) (entry_used(xb) - entry_used(xa));
		r->d_total = (int64_t) (xb->counters.totalspace - xa->counters.totalspace);
		r->status = status_of(ea != NULL, eb != NULL, r->d_used, r->d_total, d_ctx);
		if (r->status != DIFF_UNCHANGED || (flags & MCXT_DIFF_ALL))
			n++;
	}
	qsort(rows, n, sizeof(*rows), row_cmp);
	*nrows = n;
	return rows;
}

/* The site rows: sites are sorted by size in a snapshot, so sort keys first. */
static diff_site *
diff_sites(const mcxt_snapshot_t *a, const mcxt_snapshot_t *b, int flags, size_t *nrows)
{
	size_t		na = a ? a->nsites : 0;
	size_t		nb = b->nsites;
	const mcxt_snapshot_site_t **sa = malloc((na + 1) * sizeof(*sa));
	const mcxt_snapshot_site_t **sb = malloc((nb + 1) * sizeof(*sb));
	diff_site  *rows = malloc((na + nb + 1) * sizeof(*rows));
	size_t		i = 0,
				j = 0,
				n = 0;

	if (sa == NULL || sb == NULL || rows == NULL)
	{
		free(sa);
		free(sb);
		free(rows);
		return NULL;
	}
	for (size_t k = 0; k < na; k++)
		sa[k] = &a->sites[k];
	for (size_t k = 0; k < nb; k++)
		sb[k] = &b->sites[k];
	qsort(sa, na, sizeof(*sa), site_ptr_cmp);
	qsort(sb, nb, sizeof(*sb), site_ptr_cmp);
	while (i < na || j < nb)
	{
		int			c = i >= na ? 1 : j >= nb ? -1 : site_key_cmp(sa[i], sb[j]);
		const mcxt_snapshot_site_t *xa = c <= 0 ? sa[i++] : NULL;
		const mcxt_snapshot_site_t *xb = c >= 0 ? sb[j++] : NULL;
		diff_site  *r = &rows[n];

		r->a = xa;
		r->b = xb;
		xa = xa ? xa : &zero_site;
		xb = xb ? xb : &zero_site;
		r->d_space = (int64_t) (xb->space - xa->space);
		r->d_chunks = (int64_t) (xb->chunks - xa->chunks);
		r->status = status_of(r->a != NULL, r->b != NULL, r->d_space, r->d_chunks,
							  (int64_t) (xb->bytes - xa->bytes));
		/* a site that was and is empty is noise, even a "new" one */
		if (r->status != DIFF_UNCHANGED || (flags & MCXT_DIFF_ALL))
			n++;
	}
	free(sa);
	free(sb);
	qsort(rows, n, sizeof(*rows), site_row_cmp);
	*nrows = n;
	return rows;
}

/* Sums over every entry of a snapshot (NULL: zero). */
typedef struct snap_totals
{
	uint64_t	used;
	uint64_t	total;
	uint64_t	nblocks;
	uint64_t	ncontexts;
} snap_totals;

static snap_totals
totals_of(const mcxt_snapshot_t *s)
{
	snap_totals t = {0, 0, 0, 0};

	for (size_t i = 0; s != NULL && i < s->nentries; i++)
	{
		t.used += entry_used(&s->entries[i]);
		t.total += s->entries[i].counters.totalspace;
		t.nblocks += s->entries[i].counters.nblocks;
		t.ncontexts += s->entries[i].ncontexts;
	}
	return t;
}

static void
format_time(const struct timespec *ts, char *buf, size_t len)
{
	struct tm	tm;
	time_t		t = ts->tv_sec;

	gmtime_r(&t, &tm);
	strftime(buf, len, "%Y-%m-%dT%H:%M:%SZ", &tm);
}

static double
interval_of(const mcxt_snapshot_t *a, const mcxt_snapshot_t *b)
{
	if (a == NULL)
		return 0.0;
	return (double) (b->taken.tv_sec - a->taken.tv_sec)
		+ (double) (b->taken.tv_nsec - a->taken.tv_nsec) / 1e9;
}

static const char *
signed_str(int64_t v, char *buf, size_t len)
{
	snprintf(buf, len, "%+lld", (long long) v);
	return buf;
}

static void
diff_text(const mcxt_snapshot_t *a, const mcxt_snapshot_t *b, const diff_row *rows, size_t nrows,
		  const diff_site *sites, size_t nsites, FILE *out)
{
	snap_totals ta = totals_of(a);
	snap_totals tb = totals_of(b);
	size_t		count[5] = {0, 0, 0, 0, 0};
	char		s1[32],
				s2[32],
				s3[32],
				s4[32];

	for (size_t i = 0; i < nrows; i++)
		count[rows[i].status]++;
	if (a != NULL)
		fprintf(out, "memory growth from snapshot %llu to snapshot %llu (%.1f s):",
				(unsigned long long) a->seq, (unsigned long long) b->seq, interval_of(a, b));
	else
		fprintf(out, "memory in snapshot %llu:", (unsigned long long) b->seq);
	fprintf(out, " used %s bytes (%llu -> %llu), total %s bytes in %s blocks, %s contexts\n",
			signed_str((int64_t) (tb.used - ta.used), s1, sizeof(s1)),
			(unsigned long long) ta.used, (unsigned long long) tb.used,
			signed_str((int64_t) (tb.total - ta.total), s2, sizeof(s2)),
			signed_str((int64_t) (tb.nblocks - ta.nblocks), s3, sizeof(s3)),
			signed_str((int64_t) (tb.ncontexts - ta.ncontexts), s4, sizeof(s4)));
	fprintf(out, "contexts: %zu grown, %zu shrunk, %zu new, %zu removed\n",
			count[DIFF_GROWN], count[DIFF_SHRUNK], count[DIFF_NEW], count[DIFF_REMOVED]);
	for (size_t i = 0; i < nrows; i++)
	{
		const diff_row *r = &rows[i];
		const mcxt_snapshot_entry_t *xa = r->a ? r->a : &zero_entry;
		const mcxt_snapshot_entry_t *xb = r->b ? r->b : &zero_entry;
		const mcxt_snapshot_entry_t *e = r->b ? r->b : r->a;

		fprintf(out, "  %s used, %s total in %s blocks; %s %llu used of %llu: %s",
				signed_str(r->d_used, s1, sizeof(s1)),
				signed_str(r->d_total, s2, sizeof(s2)),
				signed_str((int64_t) (xb->counters.nblocks - xa->counters.nblocks), s3, sizeof(s3)),
				r->b ? "now" : "was",
				(unsigned long long) entry_used(e),
				(unsigned long long) e->counters.totalspace, e->path);
		if (xa->ncontexts > 1 || xb->ncontexts > 1)
		{
			if (xa->ncontexts != xb->ncontexts && r->a && r->b)
				fprintf(out, " (%zu contexts, was %zu)", xb->ncontexts, xa->ncontexts);
			else
				fprintf(out, " (%zu contexts)", e->ncontexts);
		}
		if (r->status == DIFF_NEW || r->status == DIFF_REMOVED)
			fprintf(out, " (%s)", diff_status_names[r->status]);
		fputc('\n', out);
	}
	if (nsites > 0)
		fputs("sites:\n", out);
	for (size_t i = 0; i < nsites; i++)
	{
		const diff_site *r = &sites[i];
		const mcxt_snapshot_site_t *e = r->b ? r->b : r->a;

		fprintf(out, "  %s space, %s bytes in %s chunks; %s %llu space, %llu bytes in %llu chunks: "
				"%s:%d (%s)",
				signed_str(r->d_space, s1, sizeof(s1)),
				signed_str((int64_t) ((r->b ? r->b->bytes : 0) - (r->a ? r->a->bytes : 0)),
						   s3, sizeof(s3)),
				signed_str(r->d_chunks, s2, sizeof(s2)),
				r->b ? "now" : "was",
				(unsigned long long) e->space, (unsigned long long) e->bytes,
				(unsigned long long) e->chunks, mcxti_site_basename(e->file), e->line, e->func);
		if (r->status == DIFF_NEW || r->status == DIFF_REMOVED)
			fprintf(out, " (%s)", diff_status_names[r->status]);
		fputc('\n', out);
	}
}

/* "name":value,"name_delta":delta */
static void
json_pair(FILE *out, const char *name, uint64_t from, uint64_t to)
{
	fprintf(out, ",\"%s\":%llu,\"%s_delta\":%lld", name, (unsigned long long) to,
			name, (long long) (to - from));
}

static void
json_snapshot_head(FILE *out, const mcxt_snapshot_t *s)
{
	char		when[40];

	if (s == NULL)
	{
		fputs("null", out);
		return;
	}
	format_time(&s->taken, when, sizeof(when));
	fprintf(out, "{\"seq\":%llu,\"time\":\"%s\",\"root\":", (unsigned long long) s->seq, when);
	/* every other path extends the root's, so it sorts first */
	mcxti_json_string(out, s->nentries > 0 ? s->entries[0].path : NULL);
	fputc('}', out);
}

static void
diff_json(const mcxt_snapshot_t *a, const mcxt_snapshot_t *b, const diff_row *rows, size_t nrows,
		  const diff_site *sites, size_t nsites, FILE *out)
{
	snap_totals ta = totals_of(a);
	snap_totals tb = totals_of(b);

	fputs("{\"from\":", out);
	json_snapshot_head(out, a);
	fputs(",\"to\":", out);
	json_snapshot_head(out, b);
	fprintf(out, ",\"interval_seconds\":%.3f,\n\"totals\":{\"contexts\":%llu", interval_of(a, b),
			(unsigned long long) tb.ncontexts);
	fprintf(out, ",\"contexts_delta\":%lld", (long long) (tb.ncontexts - ta.ncontexts));
	json_pair(out, "total_bytes", ta.total, tb.total);
	json_pair(out, "total_nblocks", ta.nblocks, tb.nblocks);
	json_pair(out, "used_bytes", ta.used, tb.used);
	fputs("},\n\"contexts\":[", out);
	for (size_t i = 0; i < nrows; i++)
	{
		const diff_row *r = &rows[i];
		const mcxt_snapshot_entry_t *xa = r->a ? r->a : &zero_entry;
		const mcxt_snapshot_entry_t *xb = r->b ? r->b : &zero_entry;
		const mcxt_snapshot_entry_t *e = r->b ? r->b : r->a;

		fputs(i ? ",\n{\"path\":" : "\n{\"path\":", out);
		mcxti_json_string(out, e->path);
		fputs(",\"type\":", out);
		mcxti_json_string(out, e->type);
		fprintf(out, ",\"level\":%d,\"status\":\"%s\"", e->level, diff_status_names[r->status]);
		json_pair(out, "contexts", xa->ncontexts, xb->ncontexts);
		json_pair(out, "total_bytes", xa->counters.totalspace, xb->counters.totalspace);
		json_pair(out, "total_nblocks", xa->counters.nblocks, xb->counters.nblocks);
		json_pair(out, "free_bytes", xa->counters.freespace, xb->counters.freespace);
		json_pair(out, "free_chunks", xa->counters.freechunks, xb->counters.freechunks);
		json_pair(out, "used_bytes", entry_used(xa), entry_used(xb));
		json_pair(out, "bytes_alloc", xa->accounting.bytes_alloc, xb->accounting.bytes_alloc);
		json_pair(out, "bytes_freed", xa->accounting.bytes_freed, xb->accounting.bytes_freed);
		json_pair(out, "max_bytes_held", xa->accounting.max_bytes_held,
				  xb->accounting.max_bytes_held);
		fputc('}', out);
	}
	fputs("],\n\"sites\":[", out);
	for (size_t i = 0; i < nsites; i++)
	{
		const diff_site *r = &sites[i];
		const mcxt_snapshot_site_t *xa = r->a ? r->a : &zero_site;
		const mcxt_snapshot_site_t *xb = r->b ? r->b : &zero_site;
		const mcxt_snapshot_site_t *e = r->b ? r->b : r->a;

		fputs(i ? ",\n{\"file\":" : "\n{\"file\":", out);
		mcxti_json_string(out, e->file);
		fprintf(out, ",\"line\":%d,\"func\":", e->line);
		mcxti_json_string(out, e->func);
		fprintf(out, ",\"status\":\"%s\"", diff_status_names[r->status]);
		json_pair(out, "chunks", xa->chunks, xb->chunks);
		json_pair(out, "bytes", xa->bytes, xb->bytes);
		json_pair(out, "space", xa->space, xb->space);
		fputc('}', out);
	}
	fputs("]}\n", out);
}

int
mcxt_snapshot_diff(const mcxt_snapshot_t *a, const mcxt_snapshot_t *b, int flags, FILE *out)
{
	diff_row   *rows;
	diff_site  *sites;
	size_t		nrows,
				nsites;

	if (a != NULL)
		snapshot_check(a, "mcxt_snapshot_diff");
	snapshot_check(b, "mcxt_snapshot_diff");
	if ((flags & ~(MCXT_DIFF_JSON | MCXT_DIFF_ALL)) != 0)
		mcxti_error(MCXT_ERR_MISUSE, NULL, "mcxt_snapshot_diff: unknown flags 0x%x", (unsigned) flags);
	if (out == NULL)
		out = stderr;
	rows = diff_rows(a, b, flags, &nrows);
	sites = diff_sites(a, b, flags, &nsites);
	if (rows == NULL || sites == NULL)
	{
		free(rows);
		free(sites);
		errno = ENOMEM;
		return -1;
	}
	if (flags & MCXT_DIFF_JSON)
		diff_json(a, b, rows, nrows, sites, nsites, out);
	else
		diff_text(a, b, rows, nrows, sites, nsites, out);
	free(rows);
	free(sites);
	fflush(out);
	return ferror(out) ? -1 : 0;
}

char *
mcxt_snapshot_diff_string(const mcxt_snapshot_t *a, const mcxt_snapshot_t *b, int flags)
{
	char	   *buf = NULL;
	size_t		len = 0;
	FILE	   *f;
	int			rc;

	if (a != NULL)
		snapshot_check(a, "mcxt_snapshot_diff_string");
	snapshot_check(b, "mcxt_snapshot_diff_string");
	f = open_memstream(&buf, &len);
	if (f == NULL)
		return NULL;
	rc = mcxt_snapshot_diff(a, b, flags, f);
	if (fclose(f) != 0 || rc != 0)
	{
		free(buf);
		return NULL;
	}
	return buf;
}
