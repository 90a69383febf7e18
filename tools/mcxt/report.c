/*
 * report.c
 *	  Text and JSON renderings (see report.h).  Nothing here reads the
 *	  target except the chunk dump of a decoded address.
 */
#define _GNU_SOURCE
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

#include "report.h"
#include "sitemap.h"

#define REPORT_IDENT_CLIP	100
#define REPORT_MAX_DEPTH	1000

typedef unsigned long long ull;

/* ---- JSON strings (the same escaping as libmcxt's stats.c) ---------------- */

static size_t
report_utf8_len(const unsigned char *s, size_t n)
{
	size_t		len;

	if (s[0] < 0x80)
		return 1;
	if ((s[0] & 0xE0) == 0xC0 && s[0] >= 0xC2)
		len = 2;
	else if ((s[0] & 0xF0) == 0xE0)
		len = 3;
	else if ((s[0] & 0xF8) == 0xF0 && s[0] <= 0xF4)
		len = 4;
	else
		return 0;
	if (len > n)
		return 0;
	for (size_t i = 1; i < len; i++)
		if ((s[i] & 0xC0) != 0x80)
			return 0;
	return len;
}

void
mcxt_report_json_string(FILE *out, const char *s)
{
	const unsigned char *p = (const unsigned char *) s;
	size_t		n;

	if (s == NULL)
	{
		fputs("null", out);
		return;
	}
	n = strlen(s);
	fputc('"', out);
	while (n > 0)
	{
		size_t		len = report_utf8_len(p, n);

		if (len == 0)
		{
			fprintf(out, "\\u%04x", *p);
			len = 1;
		}
		else if (*p == '"' || *p == '\\')
			fprintf(out, "\\%c", *p);
		else if (*p < 0x20)
			fprintf(out, "\\u%04x", *p);
		else
			fwrite(p, 1, len, out);
		p += len;
		n -= len;
	}
	fputc('"', out);
}

void
mcxt_report_json_warnings(FILE *out, const mcxt_walk *w)
{
	fprintf(out, "\"partial\":%s,\"warnings_dropped\":%zu,\"warnings\":[",
			w->partial ? "true" : "false", w->warnings_dropped);
	for (size_t i = 0; i < w->nwarnings; i++)
	{
		if (i)
			fputc(',', out);
		mcxt_report_json_string(out, w->warnings[i]);
	}
	fputc(']', out);
}

void
mcxt_report_warnings_text(FILE *out, const mcxt_walk *w)
{
	for (size_t i = 0; i < w->nwarnings; i++)
		fprintf(out, "warning: %s\n", w->warnings[i]);
	if (w->warnings_dropped)
		fprintf(out, "warning: %zu more warnings not shown\n", w->warnings_dropped);
}

/* ---- contexts, text ---------------------------------------------------------- */

/* The ident as PostgreSQL logs it (": " + at most 100 bytes, "..." if clipped). */
static void
report_ident(FILE *out, const char *ident)
{
	size_t		len;
	bool		clipped = false;

	if (ident == NULL)
		return;
	len = strlen(ident);
	if (len > REPORT_IDENT_CLIP)
	{
		len = REPORT_IDENT_CLIP;
		while (len > 0 && ((unsigned char) ident[len] & 0xC0) == 0x80)
			len--;
		clipped = true;
	}
	fputs(": ", out);
	for (size_t k = 0; k < len; k++)
	{
		unsigned char c = (unsigned char) ident[k];

		fputc(c < ' ' ? ' ' : (int) c, out);
	}
	if (clipped)
		fputs("...", out);
}

static void
report_counters(FILE *out, uint64_t total, uint64_t nblocks, uint64_t freeb, uint64_t nfree)
{
	fprintf(out, "%llu total in %llu blocks; %llu free (%llu chunks); %llu used",
			(ull) total, (ull) nblocks, (ull) freeb, (ull) nfree,
			(ull) (total - (freeb < total ? freeb : total)));
}

static void
report_indent(FILE *out, int level)
{
	for (int i = 0; i < level; i++)
		fputs("  ", out);
}

/*
 * The name and ident a context is shown with: PostgreSQL labels a dynahash
 * context with its hash table's name (the ident) and no ident.
 */
static void
report_display(const mcxt_walk *w, const mcxt_ctx_info *c, const char **name, const char **ident)
{
	*name = c->name;
	*ident = c->ident;
	if (w->layout->dynahash_by_ident && c->ident != NULL && c->name != NULL &&
		strcmp(c->name, "dynahash") == 0)
	{
		*name = c->ident;
		*ident = NULL;
	}
}

static void
report_ctx_line(FILE *out, const mcxt_walk *w, int32_t ci, int level, const mcxt_report_opts *o)
{
	const mcxt_ctx_info *c = &w->ctx[ci];
	const char *name;
	const char *ident;

	report_display(w, c, &name, &ident);
	if (o->pg_log_format)
		fprintf(out, "level: %d; ", level + w->layout->level_base);
	else
		report_indent(out, level);
	fprintf(out, "%s: ", name ? name : "");
	if (c->has_nchunks)
	{
		/* Generation's own form: the chunk count follows the blocks */
		fprintf(out, "%llu total in %llu blocks (%llu chunks); %llu free (%llu chunks); %llu used",
				(ull) c->total_bytes, (ull) c->nblocks, (ull) c->nchunks, (ull) c->free_bytes,
				(ull) c->free_chunks,
				(ull) (c->total_bytes - (c->free_bytes < c->total_bytes ? c->free_bytes : c->total_bytes)));
	}
	else if (c->has_nempty)
	{
		/* PostgreSQL 16+ SlabStats: the empty blocks kept follow the blocks */
		fprintf(out, "%llu total in %llu blocks; %llu empty blocks; %llu free (%llu chunks); %llu used",
				(ull) c->total_bytes, (ull) c->nblocks, (ull) c->nempty_blocks,
				(ull) c->free_bytes, (ull) c->free_chunks,
				(ull) (c->total_bytes - (c->free_bytes < c->total_bytes ? c->free_bytes : c->total_bytes)));
	}
	else if (c->no_chunk_counts)
	{
		/* PostgreSQL's BumpStats: no chunk counts at all */
		fprintf(out, "%llu total in %llu blocks; %llu free; %llu used",
				(ull) c->total_bytes, (ull) c->nblocks, (ull) c->free_bytes,
				(ull) (c->total_bytes - (c->free_bytes < c->total_bytes ? c->free_bytes : c->total_bytes)));
	}
	else
		report_counters(out, c->total_bytes, c->nblocks, c->free_bytes, c->free_chunks);
	report_ident(out, ident);
	if (!o->pg_format && w->layout->nacct > 0)
	{
		bool		first = true;

		fputs(" [", out);
		for (uint32_t k = 0; k < w->layout->nacct; k++)
		{
			if (c->acct_absent & (UINT32_C(1) << k))
				continue;		/* not a field of this context's type */
			fprintf(out, "%s%s %llu", first ? "" : ", ", w->layout->acct[k].name, (ull) c->acct[k]);
			first = false;
		}
		fputc(']', out);
	}
	fputc('\n', out);
}

/* Count of contexts and totals of the subtrees of ci and its later siblings. */
static void
report_rest(const mcxt_walk *w, int32_t ci, size_t *n, mcxt_walk_totals *t)
{
	for (; ci >= 0; ci = w->ctx[ci].next_sibling)
	{
		mcxt_walk_totals st;
		size_t		end = (size_t) ci + 1;

		mcxt_walk_grand_total(w, ci, &st);
		while (end < w->nctx && w->ctx[end].level > w->ctx[ci].level &&
			   w->ctx[end].root == w->ctx[ci].root)
			end++;
		*n += w->layout->summary_counts_descendants ? end - (size_t) ci : 1;
		t->total_bytes += st.total_bytes;
		t->nblocks += st.nblocks;
		t->free_bytes += st.free_bytes;
		t->free_chunks += st.free_chunks;
	}
}

static void
report_tree(FILE *out, const mcxt_walk *w, int32_t ci, int level, int max_level,
			int max_children, const mcxt_report_opts *o)
{
	int32_t		child = w->ctx[ci].first_child;
	int			nchild = 0;

	report_ctx_line(out, w, ci, level, o);
	if (level + 1 < max_level)
	{
		for (; child >= 0 && nchild < max_children; child = w->ctx[child].next_sibling, nchild++)
			report_tree(out, w, child, level + 1, max_level, max_children, o);
	}
	if (child >= 0)
	{
		size_t		nrest = 0;
		mcxt_walk_totals rest;

		memset(&rest, 0, sizeof(rest));
		report_rest(w, child, &nrest, &rest);
		if (o->pg_log_format)
			fprintf(out, "level: %d; ", level + w->layout->level_base);
		else
			report_indent(out, level + 1);
		fprintf(out, "%zu more child contexts containing ", nrest);
		report_counters(out, rest.total_bytes, rest.nblocks, rest.free_bytes, rest.free_chunks);
		fputc('\n', out);
	}
}

void
mcxt_report_contexts_text(FILE *out, const mcxt_walk *w, const mcxt_report_opts *o)
{
	mcxt_report_opts defaults;
	mcxt_walk_totals g;
	int			max_level;
	int			max_children;

	if (o == NULL)
	{
		memset(&defaults, 0, sizeof(defaults));
		o = &defaults;
	}
	max_level = o->max_level > 0 ? o->max_level : 100;
	if (max_level > REPORT_MAX_DEPTH)
		max_level = REPORT_MAX_DEPTH;
	max_children = o->max_children > 0 ? o->max_children : 100;
	if (o->single_root)
	{
		memset(&g, 0, sizeof(g));
		if (o->root >= 0 && (size_t) o->root < w->nroots && w->roots[o->root].first_ctx >= 0)
		{
			report_tree(out, w, w->roots[o->root].first_ctx, 0, max_level, max_children, o);
			mcxt_walk_grand_total(w, w->roots[o->root].first_ctx, &g);
		}
		fprintf(out, "Grand total: %llu bytes in %llu blocks; %llu free (%llu chunks); %llu used\n",
				(ull) g.total_bytes, (ull) g.nblocks, (ull) g.free_bytes, (ull) g.free_chunks,
				(ull) (g.total_bytes - g.free_bytes));
		return;
	}
	for (size_t r = 0; r < w->nroots; r++)
	{
		if (w->nroots > 1)
			fprintf(out, "%sthread %lld (top context 0x%llx):\n", r ? "\n" : "",
					(long long) w->roots[r].tid, (ull) w->roots[r].top);
		if (w->roots[r].first_ctx >= 0)
			report_tree(out, w, w->roots[r].first_ctx, 0, max_level, max_children, o);
		else
			fprintf(out, "(top context 0x%llx not readable)\n", (ull) w->roots[r].top);
	}
	mcxt_walk_grand_total(w, -1, &g);
	fprintf(out, "Grand total: %llu bytes in %llu blocks; %llu free (%llu chunks); %llu used\n",
			(ull) g.total_bytes, (ull) g.nblocks, (ull) g.free_bytes, (ull) g.free_chunks,
			(ull) (g.total_bytes - g.free_bytes));
}

/* ---- contexts, JSON ---------------------------------------------------------- */

static const mcxt_walk *report_sort_walk;

/* "allocator", "version", "cassert": which layout the image was read with. */
static void
report_json_allocator(FILE *out, const mcxt_walk *w)
{
	fputs("\"allocator\":", out);
	mcxt_report_json_string(out, w->layout->allocator);
	if (w->layout->major > 0)
		fprintf(out, ",\"version\":%d", w->layout->major);
	else
		fputs(",\"version\":null", out);
	fprintf(out, ",\"cassert\":%s", w->layout->cassert ? "true" : "false");
}

/* Tree by tree, breadth-first within each (the library's order). */
static int
report_cmp_bfs(const void *a, const void *b)
{
	const mcxt_ctx_info *x = &report_sort_walk->ctx[*(const int32_t *) a];
	const mcxt_ctx_info *y = &report_sort_walk->ctx[*(const int32_t *) b];

	if (x->root != y->root)
		return x->root < y->root ? -1 : 1;
	return x->bfs_id < y->bfs_id ? -1 : x->bfs_id > y->bfs_id;
}

static void
report_ctx_json(FILE *out, const mcxt_walk *w, int32_t ci)
{
	const mcxt_ctx_info *c = &w->ctx[ci];
	uint32_t	path[REPORT_MAX_DEPTH];
	int			depth = 0;
	const char *name;
	const char *ident;
	const char *pname = NULL;
	const char *pident;

	report_display(w, c, &name, &ident);
	if (c->parent >= 0)
		report_display(w, &w->ctx[c->parent], &pname, &pident);
	fputs("\"name\":", out);
	mcxt_report_json_string(out, name);
	fputs(",\"ident\":", out);
	mcxt_report_json_string(out, ident);
	fputs(",\"type\":", out);
	mcxt_report_json_string(out, c->type_name);
	fprintf(out, ",\"level\":%d,\"parent\":", c->level + w->layout->level_base);
	mcxt_report_json_string(out, pname);
	for (int32_t k = ci; k >= 0 && depth < REPORT_MAX_DEPTH; k = w->ctx[k].parent)
		path[depth++] = w->ctx[k].bfs_id;
	fputs(",\"path\":[", out);
	for (int d = depth - 1; d >= 0; d--)
		fprintf(out, "%u%s", path[d], d ? "," : "");
	fprintf(out, "],\"total_bytes\":%llu,\"total_nblocks\":%llu,\"free_bytes\":%llu,"
			"\"free_chunks\":%llu,\"used_bytes\":%llu",
			(ull) c->total_bytes, (ull) c->nblocks, (ull) c->free_bytes, (ull) c->free_chunks,
			(ull) (c->total_bytes - (c->free_bytes < c->total_bytes ? c->free_bytes : c->total_bytes)));
	for (uint32_t k = 0; k < w->layout->nacct; k++)
		if (!(c->acct_absent & (UINT32_C(1) << k)))
			fprintf(out, ",\"%s\":%llu", w->layout->acct[k].name, (ull) c->acct[k]);
	fprintf(out, ",\"address\":\"0x%llx\",\"root\":%d}", (ull) c->addr, (int) c->root);
}

void
mcxt_report_contexts_json(FILE *out, const mcxt_walk *w)
{
	int32_t    *order = malloc((w->nctx + 1) * sizeof(int32_t));
	mcxt_walk_totals g;

	fputs("{\"layout\":", out);
	mcxt_report_json_string(out, w->layout->name);
	fputc(',', out);
	report_json_allocator(out, w);
	fputs(",\"roots\":[", out);
	for (size_t r = 0; r < w->nroots; r++)
		fprintf(out, "%s{\"tid\":%lld,\"top\":\"0x%llx\"}", r ? "," : "",
				(long long) w->roots[r].tid, (ull) w->roots[r].top);
	fputs("],\"contexts\":[", out);
	for (size_t i = 0; i < w->nctx; i++)
	{
		if (order)
			order[i] = (int32_t) i;
	}
	if (order)
	{
		report_sort_walk = w;
		mcxt_sort(order, w->nctx, sizeof(int32_t), report_cmp_bfs);
		report_sort_walk = NULL;
	}
	for (size_t i = 0; i < w->nctx; i++)
	{
		fputs(i ? ",\n{" : "\n{", out);
		report_ctx_json(out, w, order ? order[i] : (int32_t) i);
	}
	free(order);
	mcxt_walk_grand_total(w, -1, &g);
	fprintf(out, "],\n\"grand_total\":{\"total_bytes\":%llu,\"total_nblocks\":%llu,"
			"\"free_bytes\":%llu,\"free_chunks\":%llu,\"used_bytes\":%llu},\n",
			(ull) g.total_bytes, (ull) g.nblocks, (ull) g.free_bytes, (ull) g.free_chunks,
			(ull) (g.total_bytes - g.free_bytes));
	mcxt_report_json_warnings(out, w);
	fputs("}\n", out);
}

/* ---- suspects ------------------------------------------------------------------ */

static size_t
report_top(const mcxt_suspects *s, const mcxt_report_opts *o)
{
	size_t		top = o && o->top ? o->top : 20;

	return top < s->n ? top : s->n;
}

/* MCXT_SITES images: the sites of a group's members, most chunks first. */
static void
report_suspect_sites_text(FILE *out, const mcxt_suspect_sites *ss)
{
	char		label[600];

	fputs("     site", out);
	fputs(ss->nsites > 1 ? "s:" : ":", out);
	for (size_t k = 0; k < ss->ntop; k++)
		fprintf(out, "%s %s, %llu of %llu chunks", k ? ";" : "",
				mcxt_site_label(ss->top[k].site, label, sizeof(label)),
				(ull) ss->top[k].chunks, (ull) ss->counted);
	if (ss->nsites > ss->ntop)
		fprintf(out, "; %zu more sites", ss->nsites - ss->ntop);
	fputc('\n', out);
}

static void
report_site_json(FILE *out, const mcxt_site_ref *site)
{
	if (site == NULL)
	{
		fputs("null", out);
		return;
	}
	fprintf(out, "{\"site_id\":%u,\"file\":", site->id);
	mcxt_report_json_string(out, site->id ? site->file : NULL);
	fprintf(out, ",\"line\":%u,\"func\":", site->line);
	mcxt_report_json_string(out, site->id ? site->func : NULL);
}

static void
report_suspect_sites_json(FILE *out, const mcxt_suspect_sites *ss)
{
	fprintf(out, ",\"sites_counted\":%llu,\"nsites\":%zu,\"sites\":[", (ull) ss->counted,
			ss->nsites);
	for (size_t k = 0; k < ss->ntop; k++)
	{
		fputs(k ? "," : "", out);
		report_site_json(out, ss->top[k].site);
		if (ss->top[k].site != NULL)
			fprintf(out, ",\"count\":%llu}", (ull) ss->top[k].chunks);
	}
	fputc(']', out);
}

void
mcxt_report_suspects_text(FILE *out, const mcxt_walk *w, const mcxt_suspects *s,
						  const mcxt_report_opts *o)
{
	size_t		top = report_top(s, o);

	fprintf(out, "Leak suspects: %llu live chunks, %llu bytes, in %zu groups "
			"(context x chunk size x content family), ranked by bytes\n",
			(ull) s->live_chunks, (ull) s->live_bytes, s->n);
	if (s->nscanned > 0)
		fprintf(out, "Reference scan: %llu bytes of writable memory; \"unref\" = members no word points into\n",
				(ull) s->scanned_bytes);
	fprintf(out, "%3s  %-32s %8s %10s %12s %6s %7s %7s %7s  %s\n", "#", "context", "size",
			"count", "bytes", "share", "stride", "blocks", "unref", "family  sample");
	for (size_t i = 0; i < top; i++)
	{
		const mcxt_suspect *it = &s->items[i];
		const char *path = w->ctx[it->ctx].path ? w->ctx[it->ctx].path : "";
		char		unref[24];

		if (it->unreferenced >= 0)
			snprintf(unref, sizeof(unref), "%lld", (long long) it->unreferenced);
		else
			snprintf(unref, sizeof(unref), "-");
		fprintf(out, "%3zu  %-32s %8llu %10llu %12llu %5.1f%% %7llu %7llu %7s  %s  %s%s%s\n",
				i + 1, path, (ull) it->chunk_size, (ull) it->count, (ull) it->total_bytes,
				it->share * 100.0, (ull) it->stride, (ull) it->blocks, unref, it->family,
				it->is_text ? "\"" : "", it->sample, it->is_text ? "\"" : "");
		if (it->sites != NULL)
			report_suspect_sites_text(out, it->sites);
	}
	if (s->groups_capped)
		fprintf(out, "(more than %u families: the rest are counted as \"(other)\")\n", MCXT_MAX_GROUPS);
}

void
mcxt_report_suspects_json(FILE *out, const mcxt_walk *w, const mcxt_suspects *s,
						  const mcxt_report_opts *o)
{
	size_t		top = report_top(s, o);

	fputc('{', out);
	report_json_allocator(out, w);
	fprintf(out, ",\"live_chunks\":%llu,\"live_bytes\":%llu,\"groups\":%zu,\"scanned_bytes\":%llu,"
			"\"ranking\":\"total_bytes\",\"suspects\":[",
			(ull) s->live_chunks, (ull) s->live_bytes, s->n, (ull) s->scanned_bytes);
	for (size_t i = 0; i < top; i++)
	{
		const mcxt_suspect *it = &s->items[i];
		const mcxt_ctx_info *c = &w->ctx[it->ctx];

		const char *name;
		const char *ident;

		report_display(w, c, &name, &ident);
		fputs(i ? ",\n{" : "\n{", out);
		fputs("\"context\":", out);
		mcxt_report_json_string(out, name);
		fputs(",\"context_path\":", out);
		mcxt_report_json_string(out, c->path);
		fprintf(out, ",\"chunk_size\":%llu,\"count\":%llu,\"total_bytes\":%llu,\"share\":%.6f,"
				"\"family\":", (ull) it->chunk_size, (ull) it->count, (ull) it->total_bytes, it->share);
		mcxt_report_json_string(out, it->family);
		fputs(",\"sample\":", out);
		mcxt_report_json_string(out, it->sample);
		fprintf(out, ",\"stride\":%llu,\"unreferenced\":", (ull) it->stride);
		if (it->unreferenced >= 0)
			fprintf(out, "%lld", (long long) it->unreferenced);
		else
			fputs("null", out);
		fprintf(out, ",\"blocks\":%llu,\"chunk_space\":%llu,\"sample_is_text\":%s,"
				"\"sample_address\":\"0x%llx\"", (ull) it->blocks, (ull) it->chunk_space,
				it->is_text ? "true" : "false", (ull) it->sample_addr);
		if (it->sites != NULL)
			report_suspect_sites_json(out, it->sites);
		fputc('}', out);
	}
	fputs("],\n", out);
	mcxt_report_json_warnings(out, w);
	fputs("}\n", out);
}

/* ---- decoded address ------------------------------------------------------------- */

static const char *
report_kind(mcxt_addr_kind k)
{
	switch (k)
	{
		case MCXT_ADDR_CONTEXT:
			return "context_header";
		case MCXT_ADDR_BLOCK_HEADER:
			return "block_header";
		case MCXT_ADDR_CHUNK_HEADER:
			return "chunk_header";
		case MCXT_ADDR_CHUNK:
			return "chunk";
		case MCXT_ADDR_BLOCK_FREE:
			return "block_free_space";
		case MCXT_ADDR_BLOCK_UNWALKED:
			return "block_unwalked";
		case MCXT_ADDR_UNKNOWN:
			break;
	}
	return "unknown";
}

static void
report_chunk_text(FILE *out, const char *label, const mcxt_chunk *c)
{
	fprintf(out, "%s: header 0x%llx, pointer 0x%llx, size %llu (%llu with header), %s%s",
			label, (ull) c->hdr, (ull) c->ptr, (ull) c->size, (ull) c->space,
			c->free ? "free" : "allocated", c->external ? ", external (own block)" : "");
	if (c->requested)
		fprintf(out, ", requested %llu", (ull) c->requested);
	fputc('\n', out);
}

void
mcxt_report_decoded_text(FILE *out, mcxt_walk *w, const mcxt_decoded *d, size_t dump_bytes)
{
	const mcxt_ctx_info *c = d->ctx >= 0 ? &w->ctx[d->ctx] : NULL;

	fprintf(out, "address 0x%llx: %s\n", (ull) d->addr, report_kind(d->kind));
	if (c == NULL)
		return;
	fprintf(out, "context: %s (0x%llx, %s, level %d)\n", c->path ? c->path : "", (ull) c->addr,
			c->type_name, c->level);
	fputs("  ", out);
	report_ctx_line(out, w, d->ctx, 0, &(mcxt_report_opts) {0});
	if (d->block >= 0)
		fprintf(out, "block: 0x%llx .. 0x%llx, free pointer 0x%llx\n",
				(ull) w->blocks[d->block].addr, (ull) w->blocks[d->block].endptr,
				(ull) w->blocks[d->block].freeptr);
	if (!d->has_chunk)
		return;
	report_chunk_text(out, "chunk", &d->chunk);
	if (d->site != NULL)
	{
		char		label[600];

		fprintf(out, "site: %s\n", mcxt_site_label(d->site, label, sizeof(label)));
	}
	if (d->kind == MCXT_ADDR_CHUNK)
		fprintf(out, "offset: %llu bytes into the chunk\n", (ull) d->offset);
	if (d->has_prev)
		report_chunk_text(out, "previous", &d->prev);
	if (d->has_next)
		report_chunk_text(out, "next", &d->next);
	if (dump_bytes > 0)
	{
		size_t		n = d->chunk.size < dump_bytes ? (size_t) d->chunk.size : dump_bytes;
		unsigned char *buf = malloc(n + 1);
		size_t		got;

		if (buf == NULL)
			return;
		got = mcxt_walk_read(w, d->chunk.ptr, buf, n);
		for (size_t off = 0; off < got; off += 16)
		{
			fprintf(out, "  0x%llx:", (ull) (d->chunk.ptr + off));
			for (size_t k = off; k < off + 16; k++)
			{
				if (k < got)
					fprintf(out, " %02x", buf[k]);
				else
					fputs("   ", out);
			}
			fputs("  ", out);
			for (size_t k = off; k < off + 16 && k < got; k++)
				fputc(buf[k] >= 0x20 && buf[k] < 0x7f ? buf[k] : '.', out);
			fputc('\n', out);
		}
		if (got < n)
			fprintf(out, "  (%zu bytes not readable)\n", n - got);
		free(buf);
	}
}

static void
report_chunk_json(FILE *out, const mcxt_chunk *c)
{
	fprintf(out, "{\"header\":\"0x%llx\",\"pointer\":\"0x%llx\",\"size\":%llu,\"space\":%llu,"
			"\"state\":\"%s\",\"external\":%s,\"requested\":", (ull) c->hdr, (ull) c->ptr,
			(ull) c->size, (ull) c->space, c->free ? "free" : "allocated",
			c->external ? "true" : "false");
	if (c->requested)
		fprintf(out, "%llu}", (ull) c->requested);
	else
		fputs("null}", out);
}

void
mcxt_report_decoded_json(FILE *out, mcxt_walk *w, const mcxt_decoded *d, size_t dump_bytes)
{
	const mcxt_ctx_info *c = d->ctx >= 0 ? &w->ctx[d->ctx] : NULL;

	fprintf(out, "{\"address\":\"0x%llx\",\"kind\":\"%s\"", (ull) d->addr, report_kind(d->kind));
	if (c != NULL)
	{
		fputs(",\"context\":{", out);
		report_ctx_json(out, w, d->ctx);
	}
	else
		fputs(",\"context\":null", out);
	if (d->block >= 0)
		fprintf(out, ",\"block\":{\"address\":\"0x%llx\",\"freeptr\":\"0x%llx\",\"endptr\":\"0x%llx\"}",
				(ull) w->blocks[d->block].addr, (ull) w->blocks[d->block].freeptr,
				(ull) w->blocks[d->block].endptr);
	else
		fputs(",\"block\":null", out);
	fputs(",\"chunk\":", out);
	if (d->has_chunk)
	{
		report_chunk_json(out, &d->chunk);
		fprintf(out, ",\"offset\":%llu", (ull) d->offset);
	}
	else
		fputs("null", out);
	if (d->site != NULL)
	{
		fputs(",\"site\":", out);
		report_site_json(out, d->site);
		fputc('}', out);
	}
	fputs(",\"prev\":", out);
	if (d->has_prev)
		report_chunk_json(out, &d->prev);
	else
		fputs("null", out);
	fputs(",\"next\":", out);
	if (d->has_next)
		report_chunk_json(out, &d->next);
	else
		fputs("null", out);
	if (d->has_chunk && dump_bytes > 0)
	{
		size_t		n = d->chunk.size < dump_bytes ? (size_t) d->chunk.size : dump_bytes;
		unsigned char *buf = malloc(n + 1);

		if (buf != NULL)
		{
			size_t		got = mcxt_walk_read(w, d->chunk.ptr, buf, n);

			fputs(",\"dump_hex\":\"", out);
			for (size_t k = 0; k < got; k++)
				fprintf(out, "%02x", buf[k]);
			fputs("\",\"dump_text\":\"", out);
			for (size_t k = 0; k < got; k++)
				fputc(buf[k] >= 0x20 && buf[k] < 0x7f && buf[k] != '"' && buf[k] != '\\' ? buf[k] : '.', out);
			fputc('"', out);
			free(buf);
		}
	}
	fputs("}\n", out);
}

/* ---- diff -------------------------------------------------------------------------- */

void
mcxt_report_diff_text(FILE *out, const mcxt_diff *d, const mcxt_report_opts *o)
{
	size_t		top = o && o->top ? o->top : 20;

	fprintf(out, "Grand total: %llu -> %llu bytes (%+lld), used %llu -> %llu (%+lld)\n",
			(ull) d->a_total.total_bytes, (ull) d->b_total.total_bytes,
			(long long) (d->b_total.total_bytes - d->a_total.total_bytes),
			(ull) (d->a_total.total_bytes - d->a_total.free_bytes),
			(ull) (d->b_total.total_bytes - d->b_total.free_bytes),
			(long long) ((d->b_total.total_bytes - d->b_total.free_bytes) -
						 (d->a_total.total_bytes - d->a_total.free_bytes)));
	fputs("Contexts that changed (by growth of total bytes):\n", out);
	for (size_t i = 0; i < d->nctx && i < top; i++)
	{
		const mcxt_diff_ctx *e = &d->ctx[i];

		fprintf(out, "  %+12lld total (%llu -> %llu), %+12lld used, blocks %llu -> %llu  %s",
				(long long) e->d_total, (ull) e->a_total, (ull) e->b_total, (long long) e->d_used,
				(ull) e->a_nblocks, (ull) e->b_nblocks, e->path);
		if (e->a_n != e->b_n || e->a_n != 1)
			fprintf(out, "  (%llu -> %llu contexts)", (ull) e->a_n, (ull) e->b_n);
		fputc('\n', out);
	}
	fputs("Families that changed (by growth of bytes):\n", out);
	for (size_t i = 0; i < d->nfam && i < top; i++)
	{
		const mcxt_diff_family *e = &d->fam[i];

		fprintf(out, "  %+12lld bytes, %+10lld chunks (%llu -> %llu)  %s  size %llu  %s\n",
				(long long) e->d_bytes, (long long) e->d_count, (ull) e->a_count, (ull) e->b_count,
				e->context_path, (ull) e->chunk_size, e->family);
	}
}

void
mcxt_report_diff_json(FILE *out, const mcxt_diff *d)
{
	fprintf(out, "{\"grand_total\":{\"a_total_bytes\":%llu,\"b_total_bytes\":%llu,"
			"\"a_used_bytes\":%llu,\"b_used_bytes\":%llu},\"contexts\":[",
			(ull) d->a_total.total_bytes, (ull) d->b_total.total_bytes,
			(ull) (d->a_total.total_bytes - d->a_total.free_bytes),
			(ull) (d->b_total.total_bytes - d->b_total.free_bytes));
	for (size_t i = 0; i < d->nctx; i++)
	{
		const mcxt_diff_ctx *e = &d->ctx[i];

		fputs(i ? ",\n{" : "\n{", out);
		fputs("\"context_path\":", out);
		mcxt_report_json_string(out, e->path);
		fprintf(out, ",\"a_contexts\":%llu,\"b_contexts\":%llu,\"a_total_bytes\":%llu,"
				"\"b_total_bytes\":%llu,\"delta_total_bytes\":%lld,\"a_used_bytes\":%llu,"
				"\"b_used_bytes\":%llu,\"delta_used_bytes\":%lld,\"a_nblocks\":%llu,\"b_nblocks\":%llu}",
				(ull) e->a_n, (ull) e->b_n, (ull) e->a_total, (ull) e->b_total,
				(long long) e->d_total, (ull) e->a_used, (ull) e->b_used, (long long) e->d_used,
				(ull) e->a_nblocks, (ull) e->b_nblocks);
	}
	fputs("],\n\"families\":[", out);
	for (size_t i = 0; i < d->nfam; i++)
	{
		const mcxt_diff_family *e = &d->fam[i];

		fputs(i ? ",\n{" : "\n{", out);
		fputs("\"context_path\":", out);
		mcxt_report_json_string(out, e->context_path);
		fprintf(out, ",\"chunk_size\":%llu,\"family\":", (ull) e->chunk_size);
		mcxt_report_json_string(out, e->family);
		fprintf(out, ",\"a_count\":%llu,\"b_count\":%llu,\"delta_count\":%lld,"
				"\"a_bytes\":%llu,\"b_bytes\":%llu,\"delta_bytes\":%lld}",
				(ull) e->a_count, (ull) e->b_count, (long long) e->d_count,
				(ull) e->a_bytes, (ull) e->b_bytes, (long long) e->d_bytes);
	}
	fputs("]}\n", out);
}
