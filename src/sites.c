/*
 * sites.c
 *	  Allocation sites: which line of the program allocated the memory a
 *	  context holds.
 *
 * In a build with MCXT_SITES, the allocation macros of mcxt.h set the
 * thread's pending site (a static descriptor per call site) for the length
 * of the call, and every path that hands a chunk out stamps the chunk with
 * the site's id (mcxti_chunk_mark_tail in mcxt_int.h): 8 bytes at the end
 * of the chunk's space, reserved like the sentinel byte (chunk.h,
 * "Allocation sites").  The first use of a descriptor interns it: its file,
 * function and line are copied into a process-wide table of pages that the
 * registry points to, so the forensics tool can name a chunk's site in a
 * core without the program's help.
 *
 * The reports walk every chunk of the contexts asked for, using the same
 * rules as each type's check walk; nothing is allocated from a context
 * (the per-site counters are malloc'd), so a report can be made in the
 * middle of a leak hunt without changing what it measures.
 *
 * Decisions:
 *  - repalloc stamps the chunk with repalloc's own site, whether the chunk
 *    moves or stays: the site is the call that last sized the chunk (as
 *    heaptrack and massif attribute a realloc), so a buffer that keeps
 *    growing is blamed on the code that grows it.
 *  - chunks allocated without a site (code compiled without MCXT_SITES, a
 *    call through a function pointer) get id 0, "(unknown)".
 *  - the site table is malloc'd, never freed, and not counted in the
 *    block statistics: it belongs to the program's text, not to any context.
 *    When it is full (MCXT_SITE_MAX_PAGES pages) new sites get id 0.
 *
 * Without MCXT_SITES only the public entry points exist, and say so.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "mcxt_int.h"

extern MCXT_API mcxt_registry_t mcxt_registry;

#if MCXT_SITES

MCXT_API _Thread_local mcxt_site_t *mcxt_site_pending;

static mcxt_site_entry *site_pages[MCXT_SITE_MAX_PAGES];
static volatile char site_lock;

static void
site_lock_take(void)
{
	while (__atomic_test_and_set(&site_lock, __ATOMIC_ACQUIRE))
		;
}

static void
site_lock_release(void)
{
	__atomic_clear(&site_lock, __ATOMIC_RELEASE);
}

/* Append an entry; the lock is held.  Returns its id, or 0 when full. */
static uint32_t
site_append(const char *file, const char *func, int line)
{
	uint32_t	id = mcxt_registry.nsites;
	uint32_t	page = id >> MCXT_SITE_PAGE_BITS;
	mcxt_site_entry *e;

	if (page >= MCXT_SITE_MAX_PAGES)
		return 0;
	if (site_pages[page] == NULL)
	{
		site_pages[page] = calloc(MCXT_SITE_PAGE_SIZE, sizeof(mcxt_site_entry));
		if (site_pages[page] == NULL)
			return 0;
	}
	e = &site_pages[page][id & (MCXT_SITE_PAGE_SIZE - 1)];
	e->file = file;
	e->func = func;
	e->line = line > 0 ? (uint32_t) line : 0;
	/* readers load nsites first, then the entries below it */
	__atomic_store_n(&mcxt_registry.nsites, id + 1, __ATOMIC_RELEASE);
	return id;
}

uint32_t
mcxti_site_intern(mcxt_site_t *site)
{
	uint32_t	id;

	site_lock_take();
	id = site->id;
	if (id == 0)
	{
		if (mcxt_registry.nsites == 0)
		{
			mcxt_registry.site_pages = site_pages;
			(void) site_append("(unknown)", "(unknown)", 0);
		}
		if (mcxt_registry.nsites != 0)
			id = site_append(site->file, site->func, site->line);
		/* a full table leaves the descriptor at 0: it is tried again, and stays unknown */
		__atomic_store_n(&site->id, id, __ATOMIC_RELEASE);
	}
	site_lock_release();
	return id;
}

void
mcxti_site_clear(void)
{
	mcxt_site_pending = NULL;
}

static const mcxt_site_entry *
site_entry(uint32_t id)
{
	return &site_pages[id >> MCXT_SITE_PAGE_BITS][id & (MCXT_SITE_PAGE_SIZE - 1)];
}

/*
 * Read the site word at the end of a chunk's space into *id; false (and
 * *id 0) if it is not intact.
 */
static bool
site_word_read(const char *user, size_t chunk_size, uint32_t nsites, uint32_t *id)
{
	const char *word;
	uint32_t	w[2];

	*id = 0;
	if (chunk_size < MCXT_SITE_ROOM)
		return false;
	word = user + chunk_size - MCXT_SITE_ROOM;
	MCXT_MEM_DEFINED((void *) word, sizeof(w));
	memcpy(w, word, sizeof(w));
	MCXT_MEM_NOACCESS((void *) word, sizeof(w));
	if ((w[0] ^ MCXT_SITE_MAGIC) != w[1] || w[0] >= nsites)
		return false;
	*id = w[0];
	return true;
}

/* ---- walking the live chunks of one context ---------------------------- */

/* Called for every live chunk: its user pointer, requested size and chunk size. */
typedef void (*site_chunk_fn) (const char *user, size_t requested, size_t chunk_size, void *arg);

/* Chunk size of a Generation or Bump chunk from its requested size. */
static size_t
site_sized_chunk(size_t requested)
{
	size_t		n = MCXT_ALIGN(requested + MCXT_TAIL_ROOM);

	return n < MCXT_MAXALIGN ? MCXT_MAXALIGN : n;
}

static void
site_walk_aset(mcxt_aset *set, site_chunk_fn fn, void *arg)
{
	for (mcxt_aset_block *block = set->blocks; block != NULL; block = block->next)
	{
		char	   *p = (char *) block + MCXT_ASET_BLOCKHDRSZ;

		while (p + MCXT_CHUNK_HDRSZ <= block->freeptr)
		{
			uint64_t	hdr = mcxti_hdr_get(p);
			uint64_t	value = mcxt_chunk_hdr_value(hdr);
			size_t		chunk_size;
			size_t		req;

			if (mcxt_chunk_hdr_type(hdr) != MCXT_TYPE_ASET)
				break;			/* corrupt: mcxt_check says more */
			if (hdr & MCXT_CHUNK_EXTERNAL)
			{
				chunk_size = (size_t) (block->endptr - p) - MCXT_CHUNK_HDRSZ;
				req = value != 0 ? (size_t) value : chunk_size;
			}
			else
			{
				chunk_size = (size_t) 8 << (value & MCXT_ASET_IDX_MASK);
				req = (size_t) (value >> MCXT_ASET_IDX_BITS);
			}
			if (p + MCXT_CHUNK_HDRSZ + chunk_size > block->endptr)
				break;
			if (!(hdr & MCXT_CHUNK_FREE))
				fn(p + MCXT_CHUNK_HDRSZ, req, chunk_size, arg);
			p += MCXT_CHUNK_HDRSZ + chunk_size;
		}
	}
}

/* Generation and Bump: chunks one after the other up to the free pointer. */
static void
site_walk_run(char *p, char *freeptr, char *endptr, unsigned type, site_chunk_fn fn, void *arg)
{
	while (p + MCXT_CHUNK_HDRSZ <= freeptr)
	{
		uint64_t	hdr = mcxti_hdr_get(p);
		size_t		req = (size_t) mcxt_chunk_hdr_value(hdr);
		size_t		chunk_size;

		if (mcxt_chunk_hdr_type(hdr) != type)
			break;
		if (hdr & MCXT_CHUNK_EXTERNAL)
		{
			chunk_size = (size_t) (endptr - p) - MCXT_CHUNK_HDRSZ;
			if (req == 0)
				req = chunk_size;
		}
		else
			chunk_size = site_sized_chunk(req);
		if (p + MCXT_CHUNK_HDRSZ + chunk_size > endptr)
			break;
		if (!(hdr & MCXT_CHUNK_FREE))
			fn(p + MCXT_CHUNK_HDRSZ, req, chunk_size, arg);
		p += MCXT_CHUNK_HDRSZ + chunk_size;
	}
}

static void
site_walk_slab_block(mcxt_slab *slab, mcxt_slab_block *block, site_chunk_fn fn, void *arg)
{
	char	   *p = (char *) block + MCXT_SLAB_BLOCKHDRSZ;

	for (; p < block->unused; p += slab->full_chunk_size)
	{
		uint64_t	hdr = mcxti_hdr_get(p);

		if (mcxt_chunk_hdr_type(hdr) != MCXT_TYPE_SLAB)
			break;
		if (!(hdr & MCXT_CHUNK_FREE))
			fn(p + MCXT_CHUNK_HDRSZ, (size_t) mcxt_chunk_hdr_value(hdr),
			   slab->full_chunk_size - MCXT_CHUNK_HDRSZ, arg);
	}
}

static void
site_walk_context(mcxt_context *ctx, site_chunk_fn fn, void *arg)
{
	switch (ctx->type)
	{
		case MCXT_TYPE_ASET:
			site_walk_aset((mcxt_aset *) ctx, fn, arg);
			break;
		case MCXT_TYPE_GENERATION:
			for (mcxt_gen_block *b = ((mcxt_generation *) ctx)->blocks; b != NULL; b = b->next)
				site_walk_run((char *) b + MCXT_GEN_BLOCKHDRSZ, b->freeptr, b->endptr,
							  MCXT_TYPE_GENERATION, fn, arg);
			break;
		case MCXT_TYPE_BUMP:
			for (mcxt_bump_block *b = ((mcxt_bump *) ctx)->blocks; b != NULL; b = b->next)
				site_walk_run((char *) b + MCXT_BUMP_BLOCKHDRSZ, b->freeptr, b->endptr, MCXT_TYPE_BUMP, fn, arg);
			break;
		case MCXT_TYPE_SLAB:
			{
				mcxt_slab  *slab = (mcxt_slab *) ctx;

				/* blocks on the empty list have no live chunks */
				for (unsigned i = 0; i < MCXT_SLAB_NLISTS; i++)
					for (mcxt_slab_block *b = slab->lists[i]; b != NULL; b = b->next)
						site_walk_slab_block(slab, b, fn, arg);
			}
			break;
		default:
			break;
	}
}

/* ---- per-site totals ----------------------------------------------------- */

typedef struct site_tally
{
	uint64_t	chunks;
	uint64_t	bytes;
	uint64_t	space;
} site_tally;

typedef struct site_count
{
	site_tally *tally;			/* nsites entries */
	uint32_t	nsites;
} site_count;

static void
site_count_chunk(const char *user, size_t requested, size_t chunk_size, void *arg)
{
	site_count *sc = arg;
	uint32_t	id;

	(void) site_word_read(user, chunk_size, sc->nsites, &id);	/* not intact: unknown */
	sc->tally[id].chunks++;
	sc->tally[id].bytes += requested;
	sc->tally[id].space += MCXT_CHUNK_HDRSZ + chunk_size;
}

static void
site_fill(mcxt_site_stats_t *out, uint32_t id)
{
	const mcxt_site_entry *e = site_entry(id);

	memset(out, 0, sizeof(*out));
	out->id = id;
	out->file = e->file;
	out->func = e->func;
	out->line = (int) e->line;
}

/*
 * Count the live chunks of ctx (and its subtree) by site.  Returns the
 * tally array (nsites entries, malloc'd) or NULL when there is no memory
 * for it; *nsites is set.
 */
static site_tally *
site_count_tree(mcxt_context *ctx, bool recurse, uint32_t *nsites)
{
	site_count	sc;

	/* make sure entry 0 exists, so every chunk has somewhere to go */
	if (__atomic_load_n(&mcxt_registry.nsites, __ATOMIC_ACQUIRE) == 0)
	{
		static mcxt_site_t unknown_probe = {"(unknown)", "(unknown)", 0, 0};

		(void) mcxti_site_intern(&unknown_probe);
	}
	sc.nsites = __atomic_load_n(&mcxt_registry.nsites, __ATOMIC_ACQUIRE);
	if (sc.nsites == 0)
		return NULL;
	sc.tally = calloc(sc.nsites, sizeof(site_tally));
	if (sc.tally == NULL)
		return NULL;
	for (mcxt_context *c = ctx; c != NULL; c = recurse ? mcxti_traverse_next(c, ctx) : NULL)
		site_walk_context(c, site_count_chunk, &sc);
	*nsites = sc.nsites;
	return sc.tally;
}

bool
mcxt_sites_enabled(void)
{
	return true;
}

int
mcxt_sites_foreach(mcxt_context_t *ctx, bool recurse, mcxt_site_fn fn, void *arg)
{
	uint32_t	nsites = 0;
	site_tally *tally;
	int			n = 0;

	if (ctx == NULL || ctx->magic != MCXT_CONTEXT_MAGIC)
		mcxti_error(MCXT_ERR_MISUSE, NULL, "sites of an invalid (deleted?) memory context %p",
					(void *) ctx);
	tally = site_count_tree(ctx, recurse, &nsites);
	if (tally == NULL)
		return -1;
	for (uint32_t id = 0; id < nsites; id++)
	{
		mcxt_site_stats_t s;

		if (tally[id].chunks == 0)
			continue;
		site_fill(&s, id);
		s.chunks = tally[id].chunks;
		s.bytes = tally[id].bytes;
		s.space = tally[id].space;
		fn(&s, arg);
		n++;
	}
	free(tally);
	return n;
}

/* ---- reports --------------------------------------------------------------- */

typedef struct site_list
{
	mcxt_site_stats_t *items;
	size_t		n;
	size_t		cap;
	bool		failed;
	mcxt_site_stats_t total;
} site_list;

static void
site_list_add(const mcxt_site_stats_t *s, void *arg)
{
	site_list  *l = arg;

	l->total.chunks += s->chunks;
	l->total.bytes += s->bytes;
	l->total.space += s->space;
	if (l->n == l->cap)
	{
		size_t		cap = l->cap ? l->cap * 2 : 64;
		mcxt_site_stats_t *items = realloc(l->items, cap * sizeof(*items));

		if (items == NULL)
		{
			l->failed = true;
			return;
		}
		l->items = items;
		l->cap = cap;
	}
	l->items[l->n++] = *s;
}

/* Largest live bytes first; ties by id, so the order is stable. */
static int
site_cmp(const void *a, const void *b)
{
	const mcxt_site_stats_t *x = a;
	const mcxt_site_stats_t *y = b;

	if (x->bytes != y->bytes)
		return x->bytes > y->bytes ? -1 : 1;
	return x->id < y->id ? -1 : x->id > y->id;
}

static int
site_collect(mcxt_context *ctx, bool recurse, site_list *l)
{
	memset(l, 0, sizeof(*l));
	if (mcxt_sites_foreach(ctx, recurse, site_list_add, l) < 0 || l->failed)
	{
		free(l->items);
		return -1;
	}
	if (l->n > 1)
		qsort(l->items, l->n, sizeof(*l->items), site_cmp);
	return 0;
}

int
mcxt_sites_report(mcxt_context_t *ctx, bool recurse, int max_sites, FILE *out)
{
	site_list	l;
	size_t		shown;

	if (out == NULL)
		out = stderr;
	if (site_collect(ctx, recurse, &l) < 0)
		return -1;
	fprintf(out, "Allocation sites of memory context \"%s\"%s: %zu site%s, %llu bytes in %llu chunks (%llu bytes of block space)\n",
			ctx->name, recurse ? " and its descendants" : "", l.n, l.n == 1 ? "" : "s",
			(unsigned long long) l.total.bytes, (unsigned long long) l.total.chunks,
			(unsigned long long) l.total.space);
	fprintf(out, "%14s %10s %14s  %s\n", "bytes", "chunks", "space", "site");
	shown = max_sites > 0 && (size_t) max_sites < l.n ? (size_t) max_sites : l.n;
	for (size_t i = 0; i < shown; i++)
	{
		const mcxt_site_stats_t *s = &l.items[i];

		if (s->id == 0)
			fprintf(out, "%14llu %10llu %14llu  (unknown site)\n",
					(unsigned long long) s->bytes, (unsigned long long) s->chunks,
					(unsigned long long) s->space);
		else
			fprintf(out, "%14llu %10llu %14llu  %s:%d (%s)\n",
					(unsigned long long) s->bytes, (unsigned long long) s->chunks,
					(unsigned long long) s->space, mcxti_site_basename(s->file), s->line, s->func);
	}
	if (shown < l.n)
	{
		mcxt_site_stats_t rest = {0};

		for (size_t i = shown; i < l.n; i++)
		{
			rest.bytes += l.items[i].bytes;
			rest.chunks += l.items[i].chunks;
			rest.space += l.items[i].space;
		}
		fprintf(out, "%14llu %10llu %14llu  (%zu more sites)\n",
				(unsigned long long) rest.bytes, (unsigned long long) rest.chunks,
				(unsigned long long) rest.space, l.n - shown);
	}
	free(l.items);
	return ferror(out) ? -1 : 0;
}

int
mcxt_sites_json(mcxt_context_t *ctx, bool recurse, FILE *out)
{
	site_list	l;

	if (site_collect(ctx, recurse, &l) < 0)
		return -1;
	fputs("{\"context\":", out);
	mcxti_json_string(out, ctx->name);
	fprintf(out, ",\"recurse\":%s,\"sites\":[", recurse ? "true" : "false");
	for (size_t i = 0; i < l.n; i++)
	{
		const mcxt_site_stats_t *s = &l.items[i];

		fprintf(out, "%s{\"id\":%u,\"file\":", i ? "," : "", s->id);
		mcxti_json_string(out, s->id == 0 ? NULL : s->file);
		fprintf(out, ",\"line\":%d,\"func\":", s->line);
		mcxti_json_string(out, s->id == 0 ? NULL : s->func);
		fprintf(out, ",\"chunks\":%llu,\"bytes\":%llu,\"space\":%llu}",
				(unsigned long long) s->chunks, (unsigned long long) s->bytes,
				(unsigned long long) s->space);
	}
	fprintf(out, "],\"total\":{\"chunks\":%llu,\"bytes\":%llu,\"space\":%llu}}\n",
			(unsigned long long) l.total.chunks, (unsigned long long) l.total.bytes,
			(unsigned long long) l.total.space);
	free(l.items);
	return ferror(out) ? -1 : 0;
}

/* ---- one chunk --------------------------------------------------------------- */

bool
mcxt_chunk_site(const void *ptr, mcxt_site_stats_t *out)
{
	const char *user = ptr;
	uint64_t	hdr;
	size_t		space;
	uint32_t	nsites = __atomic_load_n(&mcxt_registry.nsites, __ATOMIC_ACQUIRE);
	uint32_t	id;

	memset(out, 0, sizeof(*out));
	if (ptr == NULL)
		return false;
	hdr = mcxti_hdr_get(user - MCXT_CHUNK_HDRSZ);
	if (mcxt_chunk_hdr_type(hdr) == MCXT_TYPE_ALIGNED)
	{
		/* the redirect leads back to the real chunk, which has the site */
		user -= mcxt_chunk_hdr_offset(hdr);
		hdr = mcxti_hdr_get(user - MCXT_CHUNK_HDRSZ);
	}
	if (mcxt_chunk_hdr_type(hdr) == MCXT_TYPE_BUMP)
	{
		/* Bump chunks cannot answer mcxt_chunk_space; the header has the size */
		if (hdr & MCXT_CHUNK_EXTERNAL)
			return false;		/* the block end is not reachable from here */
		space = MCXT_CHUNK_HDRSZ + site_sized_chunk((size_t) mcxt_chunk_hdr_value(hdr));
	}
	else
		space = mcxt_chunk_space(user);	/* validates the chunk (or reports) */
	if (!site_word_read(user, space - MCXT_CHUNK_HDRSZ, nsites, &id))
		return false;
	site_fill(out, id);
	out->space = space;
	return true;
}

#else							/* !MCXT_SITES */

bool
mcxt_sites_enabled(void)
{
	return false;
}

int
mcxt_sites_foreach(mcxt_context_t *ctx, bool recurse, mcxt_site_fn fn, void *arg)
{
	(void) ctx;
	(void) recurse;
	(void) fn;
	(void) arg;
	return -1;
}

int
mcxt_sites_report(mcxt_context_t *ctx, bool recurse, int max_sites, FILE *out)
{
	(void) ctx;
	(void) recurse;
	(void) max_sites;
	fputs("allocation sites are not recorded: libmcxt was built without MCXT_SITES\n",
		  out != NULL ? out : stderr);
	return -1;
}

int
mcxt_sites_json(mcxt_context_t *ctx, bool recurse, FILE *out)
{
	(void) ctx;
	(void) recurse;
	(void) out;
	return -1;
}

bool
mcxt_chunk_site(const void *ptr, mcxt_site_stats_t *out)
{
	(void) ptr;
	memset(out, 0, sizeof(*out));
	return false;
}

#endif							/* MCXT_SITES */
