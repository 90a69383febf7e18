/*
 * sitemap.c
 *	  Allocation sites in an image of a MCXT_SITES build (see sitemap.h).
 *
 * The chunk walk hands out each chunk's user pointer and size; the site
 * word is the last 8 bytes of that size in every walked context type
 * (AllocSet, Generation, Slab; the tool does not walk Bump chunks).  The
 * site table is read one entry at a time, when an id is first met, so an
 * image with many sites but few live ones costs little.
 */
#define _GNU_SOURCE
#include <stdlib.h>
#include <string.h>

#include "../../src/chunk.h"
#include "layout.h"
#include "report.h"
#include "sitemap.h"

#define SITEMAP_STR_MAX		256		/* bytes of a file or function name read */
#define SITEMAP_NO_PAGE		UINT64_MAX

typedef unsigned long long ull;

/* The registry of a libmcxt walk, if it is readable and of this layout. */
static bool
sitemap_registry(mcxt_walk *w, mcxt_registry_t *reg)
{
	return w->layout == &mcxt_layout_libmcxt && w->registry_addr != 0 &&
		mcxt_walk_read(w, w->registry_addr, reg, sizeof(*reg)) == sizeof(*reg) &&
		memcmp(reg->magic, MCXT_REGISTRY_MAGIC, sizeof(reg->magic)) == 0 &&
		reg->layout_version == MCXT_LAYOUT_VERSION;
}

void
mcxt_flavour_apply(mcxt_walk *w)
{
	mcxt_registry_t reg;
	unsigned	tail;
	int			variant;

	if (!sitemap_registry(w, &reg))
		return;
	tail = (reg.flavour >> MCXT_FLAVOUR_TAIL_SHIFT) & 0xff;
	if (!(reg.flavour & MCXT_FLAVOUR_CHECKED))
		variant = 0;
	else if (tail == 1)
		variant = 1;
	else if (tail == MCXT_SITE_ROOM_BYTES)
		variant = 2;
	else if (tail == MCXT_SITE_ROOM_BYTES + 1)
		variant = 3;
	else
		return;
	for (uint32_t ti = 0; ti < w->layout->ntypes && ti < MCXT_LAYOUT_MAX_TYPES; ti++)
		if (w->layout->types[ti].tag == MCXT_TYPE_GENERATION && w->variant[ti] < 0 &&
			w->layout->types[ti].blocks != NULL &&
			(uint32_t) variant < w->layout->types[ti].blocks->nvariants)
			w->variant[ti] = variant;
}

bool
mcxt_sitemap_open(mcxt_walk *w, mcxt_sitemap *sm)
{
	mcxt_registry_t reg;

	memset(sm, 0, sizeof(*sm));
	if (!sitemap_registry(w, &reg))
		return false;
	mcxt_flavour_apply(w);
	sm->flavour = reg.flavour;
	if (!(reg.flavour & MCXT_FLAVOUR_SITES) || reg.site_pages == NULL || reg.nsites == 0 ||
		reg.nsites > (uint64_t) MCXT_SITE_MAX_PAGES * MCXT_SITE_PAGE_SIZE)
		return false;
	sm->nsites = reg.nsites;
	sm->pages_addr = (uint64_t) (uintptr_t) reg.site_pages;
	sm->pages = malloc(MCXT_SITE_MAX_PAGES * sizeof(uint64_t));
	sm->refs = calloc(sm->nsites, sizeof(mcxt_site_ref));
	if (sm->pages == NULL || sm->refs == NULL)
	{
		mcxt_sitemap_close(sm);
		return false;
	}
	for (size_t i = 0; i < MCXT_SITE_MAX_PAGES; i++)
		sm->pages[i] = SITEMAP_NO_PAGE;
	sm->present = true;
	return true;
}

void
mcxt_sitemap_close(mcxt_sitemap *sm)
{
	if (sm->refs != NULL)
	{
		for (uint32_t i = 0; i < sm->nsites; i++)
		{
			free(sm->refs[i].file);
			free(sm->refs[i].func);
		}
	}
	free(sm->refs);
	free(sm->pages);
	free(sm->suspect_sites);
	free(sm->rows);
	memset(sm, 0, sizeof(*sm));
}

/* A NUL-terminated string of at most SITEMAP_STR_MAX bytes at addr, or "?". */
static char *
sitemap_string(mcxt_walk *w, uint64_t addr)
{
	char		buf[SITEMAP_STR_MAX + 1];
	size_t		got = addr != 0 ? mcxt_walk_read(w, addr, buf, SITEMAP_STR_MAX) : 0;
	char	   *nul = memchr(buf, '\0', got);

	if (got == 0 || nul == NULL || nul == buf)
		return strdup("?");
	/* a name is text; anything else shown as '?' rather than trusted */
	for (char *p = buf; p < nul; p++)
		if ((unsigned char) *p < 0x20 || (unsigned char) *p >= 0x7f)
			*p = '?';
	return strdup(buf);
}

/* The table entry of id, resolved on first use; NULL when out of memory. */
static const mcxt_site_ref *
sitemap_ref(mcxt_sitemap *sm, mcxt_walk *w, uint32_t id)
{
	mcxt_site_ref *r = &sm->refs[id];
	uint32_t	page = id >> MCXT_SITE_PAGE_BITS;
	mcxt_site_entry e;

	if (r->file != NULL)
		return r;
	r->id = id;
	if (sm->pages[page] == SITEMAP_NO_PAGE)
	{
		uint64_t	pa = 0;

		if (mcxt_walk_read(w, sm->pages_addr + page * sizeof(uint64_t), &pa, sizeof(pa)) != sizeof(pa))
			pa = 0;
		sm->pages[page] = pa;
	}
	memset(&e, 0, sizeof(e));
	if (sm->pages[page] == 0 ||
		mcxt_walk_read(w, sm->pages[page] + (uint64_t) (id & (MCXT_SITE_PAGE_SIZE - 1)) * sizeof(e),
					   &e, sizeof(e)) != sizeof(e))
	{
		r->file = strdup("?");
		r->func = strdup("?");
	}
	else if (id == 0)
	{
		r->file = strdup("(unknown)");
		r->func = strdup("(unknown)");
	}
	else
	{
		r->file = sitemap_string(w, (uint64_t) (uintptr_t) e.file);
		r->func = sitemap_string(w, (uint64_t) (uintptr_t) e.func);
		r->line = e.line;
	}
	if (r->file == NULL || r->func == NULL)
	{
		free(r->file);
		free(r->func);
		r->file = r->func = NULL;
		return NULL;
	}
	return r;
}

/* The id in a chunk's site word; false if the word is not intact. */
static bool
sitemap_chunk_id(mcxt_sitemap *sm, mcxt_walk *w, const mcxt_chunk *c, uint32_t *id)
{
	uint32_t	word[2];
	uint64_t	at;
	const unsigned char *p;

	if (c->size < MCXT_SITE_ROOM_BYTES)
		return false;
	at = c->ptr + c->size - MCXT_SITE_ROOM_BYTES;
	p = mcxt_walk_peek(w, at, sizeof(word));
	if (p != NULL)
		memcpy(word, p, sizeof(word));
	else if (mcxt_walk_read(w, at, word, sizeof(word)) != sizeof(word))
		return false;
	if ((word[0] ^ MCXT_SITE_MAGIC) != word[1] || word[0] >= sm->nsites)
		return false;
	*id = word[0];
	return true;
}

const mcxt_site_ref *
mcxt_sitemap_chunk(mcxt_sitemap *sm, mcxt_walk *w, const mcxt_chunk *c)
{
	uint32_t	id;

	if (!sm->present || !sitemap_chunk_id(sm, w, c, &id))
		return NULL;
	return sitemap_ref(sm, w, id);
}

const char *
mcxt_site_label(const mcxt_site_ref *s, char *buf, size_t len)
{
	const char *slash;

	if (s == NULL)
		snprintf(buf, len, "(site not readable)");
	else if (s->id == 0)
		snprintf(buf, len, "(unknown site)");
	else
	{
		slash = strrchr(s->file, '/');
		snprintf(buf, len, "%s:%u (%s)", slash ? slash + 1 : s->file, s->line, s->func);
	}
	return buf;
}

/* ---- sites of suspect groups ------------------------------------------------- */

/* Per group: every site seen among its members, with counts (a small growing array). */
typedef struct sitemap_tally
{
	uint32_t   *ids;
	uint64_t   *counts;
	size_t		n;
	size_t		cap;
} sitemap_tally;

typedef struct sitemap_suspect_walk
{
	mcxt_sitemap *sm;
	mcxt_suspects *s;
	size_t		top;
	sitemap_tally *tally;		/* top entries */
	bool		oom;
} sitemap_suspect_walk;

static bool
sitemap_tally_add(sitemap_tally *t, uint32_t id)
{
	for (size_t i = 0; i < t->n; i++)
		if (t->ids[i] == id)
		{
			t->counts[i]++;
			return true;
		}
	if (t->n == t->cap)
	{
		size_t		nc = t->cap ? t->cap * 2 : 8;
		uint32_t   *ids = realloc(t->ids, nc * sizeof(*ids));
		uint64_t   *counts;

		if (ids == NULL)
			return false;
		t->ids = ids;
		counts = realloc(t->counts, nc * sizeof(*counts));
		if (counts == NULL)
			return false;
		t->counts = counts;
		t->cap = nc;
	}
	t->ids[t->n] = id;
	t->counts[t->n] = 1;
	t->n++;
	return true;
}

static bool
sitemap_suspect_chunk(mcxt_walk *w, const mcxt_chunk *c, void *arg)
{
	sitemap_suspect_walk *sw = arg;
	unsigned char buf[64];
	char		fam[MCXT_FAMILY_MAX];
	bool		classified = false;
	uint32_t	id;

	if (c->free)
		return true;
	for (size_t i = 0; i < sw->top; i++)
	{
		const mcxt_suspect *it = &sw->s->items[i];

		if (it->ctx != c->ctx || it->chunk_size != c->size)
			continue;
		if (!classified)
		{
			/* the same bytes the grouping looked at, so the same family */
			size_t		want = c->size < sizeof(buf) ? (size_t) c->size : sizeof(buf);
			const unsigned char *p = mcxt_walk_peek(w, c->ptr, want);
			size_t		got = want;

			if (p == NULL)
			{
				got = mcxt_walk_read(w, c->ptr, buf, want);
				p = buf;
			}
			(void) mcxt_family_of(w, p, got, fam, NULL);
			classified = true;
		}
		if (strcmp(it->family, fam) != 0)
			continue;
		if (!sitemap_chunk_id(sw->sm, w, c, &id))
			return true;
		if (!sitemap_tally_add(&sw->tally[i], id))
		{
			sw->oom = true;
			return false;
		}
		return true;
	}
	return true;
}

bool
mcxt_sitemap_suspects(mcxt_sitemap *sm, mcxt_walk *w, mcxt_suspects *s, size_t top)
{
	sitemap_suspect_walk sw;
	bool		ok = true;

	if (!sm->present)
		return true;
	if (top > s->n)
		top = s->n;
	if (top == 0)
		return true;
	memset(&sw, 0, sizeof(sw));
	sw.sm = sm;
	sw.s = s;
	sw.top = top;
	sw.tally = calloc(top, sizeof(sitemap_tally));
	free(sm->suspect_sites);
	sm->suspect_sites = calloc(top, sizeof(mcxt_suspect_sites));
	sm->nsuspect_sites = top;
	if (sw.tally == NULL || sm->suspect_sites == NULL)
	{
		free(sw.tally);
		return false;
	}
	(void) mcxt_walk_chunks(w, -1, false, sitemap_suspect_chunk, &sw);
	for (size_t i = 0; i < top && !sw.oom; i++)
	{
		sitemap_tally *t = &sw.tally[i];
		mcxt_suspect_sites *ss = &sm->suspect_sites[i];

		ss->nsites = t->n;
		for (size_t k = 0; k < t->n; k++)
			ss->counted += t->counts[k];
		/* the largest few, by count then id */
		while (ss->ntop < MCXT_SUSPECT_SITES)
		{
			size_t		best = SIZE_MAX;

			for (size_t k = 0; k < t->n; k++)
				if (t->counts[k] > 0 &&
					(best == SIZE_MAX || t->counts[k] > t->counts[best] ||
					 (t->counts[k] == t->counts[best] && t->ids[k] < t->ids[best])))
					best = k;
			if (best == SIZE_MAX)
				break;
			ss->top[ss->ntop].site = sitemap_ref(sm, w, t->ids[best]);
			ss->top[ss->ntop].chunks = t->counts[best];
			ss->ntop++;
			t->counts[best] = 0;
		}
		if (ss->counted > 0)
			s->items[i].sites = ss;
	}
	ok = !sw.oom;
	for (size_t i = 0; i < top; i++)
	{
		free(sw.tally[i].ids);
		free(sw.tally[i].counts);
	}
	free(sw.tally);
	return ok;
}

/* ---- live chunks by (context, site) -------------------------------------------- */

typedef struct sitemap_rows
{
	mcxt_sitemap *sm;
	uint64_t   *slots;			/* open addressing: row index + 1, or 0 */
	size_t		nslots;
	size_t		cap;
	bool		oom;
} sitemap_rows;

static uint64_t
sitemap_key_hash(int32_t ctx, uint32_t id)
{
	uint64_t	h = ((uint64_t) (uint32_t) ctx << 32 | id) * UINT64_C(0x9E3779B97F4A7C15);

	return h ^ (h >> 29);
}

static bool
sitemap_rows_grow(sitemap_rows *r)
{
	size_t		n = r->nslots ? r->nslots * 2 : 1024;
	uint64_t   *slots = calloc(n, sizeof(uint64_t));

	if (slots == NULL)
		return false;
	for (size_t i = 0; i < r->sm->nrows; i++)
	{
		const mcxt_site_row *row = &r->sm->rows[i];
		size_t		s = sitemap_key_hash(row->ctx, row->site ? row->site->id : 0) & (n - 1);

		while (slots[s] != 0)
			s = (s + 1) & (n - 1);
		slots[s] = i + 1;
	}
	free(r->slots);
	r->slots = slots;
	r->nslots = n;
	return true;
}

static bool
sitemap_row_chunk(mcxt_walk *w, const mcxt_chunk *c, void *arg)
{
	sitemap_rows *r = arg;
	mcxt_sitemap *sm = r->sm;
	uint32_t	id;
	size_t		s;
	mcxt_site_row *row;

	if (c->free)
		return true;
	if (!sitemap_chunk_id(sm, w, c, &id))
	{
		sm->unreadable++;
		return true;
	}
	if ((sm->nrows + 1) * 2 > r->nslots && !sitemap_rows_grow(r))
		goto oom;
	s = sitemap_key_hash(c->ctx, id) & (r->nslots - 1);
	for (; r->slots[s] != 0; s = (s + 1) & (r->nslots - 1))
	{
		row = &sm->rows[r->slots[s] - 1];
		if (row->ctx == c->ctx && row->site->id == id)
			goto found;
	}
	if (sm->nrows == r->cap)
	{
		size_t		nc = r->cap ? r->cap * 2 : 256;
		mcxt_site_row *rows = realloc(sm->rows, nc * sizeof(*rows));

		if (rows == NULL)
			goto oom;
		sm->rows = rows;
		r->cap = nc;
	}
	row = &sm->rows[sm->nrows];
	memset(row, 0, sizeof(*row));
	row->ctx = c->ctx;
	row->site = sitemap_ref(sm, w, id);
	if (row->site == NULL)
		goto oom;
	r->slots[s] = ++sm->nrows;
found:
	row->chunks++;
	row->bytes += c->requested ? c->requested : c->size;
	row->space += c->space;
	return true;
oom:
	r->oom = true;
	return false;
}

/* Largest space first; then context order and site id, so the order is stable. */
static int
sitemap_cmp_row(const void *a, const void *b)
{
	const mcxt_site_row *x = a;
	const mcxt_site_row *y = b;

	if (x->space != y->space)
		return x->space > y->space ? -1 : 1;
	if (x->ctx != y->ctx)
		return x->ctx < y->ctx ? -1 : 1;
	return x->site->id < y->site->id ? -1 : x->site->id > y->site->id;
}

bool
mcxt_sitemap_by_site(mcxt_sitemap *sm, mcxt_walk *w)
{
	sitemap_rows r;

	if (!sm->present)
		return true;
	memset(&r, 0, sizeof(r));
	r.sm = sm;
	(void) mcxt_walk_chunks(w, -1, false, sitemap_row_chunk, &r);
	free(r.slots);
	mcxt_sort(sm->rows, sm->nrows, sizeof(*sm->rows), sitemap_cmp_row);
	return !r.oom;
}

void
mcxt_report_sites_text(FILE *out, const mcxt_walk *w, const mcxt_sitemap *sm, size_t top)
{
	uint64_t	chunks = 0;
	uint64_t	space = 0;
	char		label[SITEMAP_STR_MAX * 2 + 32];

	if (top == 0 || top > sm->nrows)
		top = sm->nrows;
	for (size_t i = 0; i < sm->nrows; i++)
	{
		chunks += sm->rows[i].chunks;
		space += sm->rows[i].space;
	}
	fprintf(out, "Live chunks by allocation site: %llu chunks, %llu bytes, %zu (context, site) pairs, ranked by bytes\n",
			(ull) chunks, (ull) space, sm->nrows);
	fprintf(out, "%3s  %-32s %10s %12s %12s  %s\n", "#", "context", "count", "bytes", "requested", "site");
	for (size_t i = 0; i < top; i++)
	{
		const mcxt_site_row *row = &sm->rows[i];
		const char *path = w->ctx[row->ctx].path ? w->ctx[row->ctx].path : "";

		fprintf(out, "%3zu  %-32s %10llu %12llu %12llu  %s\n", i + 1, path, (ull) row->chunks,
				(ull) row->space, (ull) row->bytes, mcxt_site_label(row->site, label, sizeof(label)));
	}
	if (sm->unreadable)
		fprintf(out, "(%llu live chunks had no intact site word)\n", (ull) sm->unreadable);
}

void
mcxt_report_sites_json(FILE *out, const mcxt_walk *w, const mcxt_sitemap *sm, size_t top)
{
	if (top == 0 || top > sm->nrows)
		top = sm->nrows;
	fprintf(out, "{\"pairs\":%zu,\"unreadable\":%llu,\"ranking\":\"total_bytes\",\"by_site\":[",
			sm->nrows, (ull) sm->unreadable);
	for (size_t i = 0; i < top; i++)
	{
		const mcxt_site_row *row = &sm->rows[i];
		const mcxt_ctx_info *c = &w->ctx[row->ctx];

		fputs(i ? ",\n{" : "\n{", out);
		fputs("\"context\":", out);
		mcxt_report_json_string(out, c->name);
		fputs(",\"context_path\":", out);
		mcxt_report_json_string(out, c->path);
		fprintf(out, ",\"site_id\":%u,\"file\":", row->site->id);
		mcxt_report_json_string(out, row->site->id ? row->site->file : NULL);
		fprintf(out, ",\"line\":%u,\"func\":", row->site->line);
		mcxt_report_json_string(out, row->site->id ? row->site->func : NULL);
		fprintf(out, ",\"count\":%llu,\"total_bytes\":%llu,\"requested_bytes\":%llu}",
				(ull) row->chunks, (ull) row->space, (ull) row->bytes);
	}
	fputs("],\n", out);
	mcxt_report_json_warnings(out, w);
	fputs("}\n", out);
}
