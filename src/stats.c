/*
 * stats.c
 *	  Statistics of a context subtree: PostgreSQL's MemoryContextStats text
 *	  format, and JSON with the column names of pg_backend_memory_contexts.
 *
 * The text format is PostgreSQL's, line for line, so that output from a
 * libmcxt program reads like a server log and tools that parse one parse
 * the other: the printed context is level 0, two spaces of indent per
 * level, children newest first, at most max_children per parent and
 * max_level levels with the rest summed into "N more child contexts" lines,
 * then a grand total.  Nothing here allocates from a context: statistics
 * are what the out-of-memory path prints.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "mcxt_int.h"

/* Printed recursion is bounded by max_level; this bounds max_level. */
#define STATS_MAX_DEPTH		1000
#define IDENT_CLIP			100

void
mcxti_context_counters(mcxt_context *ctx, mcxt_counters_t *out)
{
	memset(out, 0, sizeof(*out));
	ctx->methods->stats(ctx, out);
}

void
mcxt_mem_consumed(mcxt_context_t *ctx, bool recurse, mcxt_counters_t *out)
{
	mcxt_context *c = ctx;

	memset(out, 0, sizeof(*out));
	while (c != NULL)
	{
		c->methods->stats(c, out);
		c = recurse ? mcxti_traverse_next(c, ctx) : NULL;
	}
}

static void
counters_add(mcxt_counters_t *to, const mcxt_counters_t *from)
{
	to->nblocks += from->nblocks;
	to->freechunks += from->freechunks;
	to->totalspace += from->totalspace;
	to->freespace += from->freespace;
}

/*
 * The identifier as PostgreSQL logs it: ": " and at most 100 bytes, cut at
 * a UTF-8 character boundary, control characters shown as spaces, "..."
 * when clipped.  buf must hold IDENT_CLIP + 6 bytes.
 */
static void
format_ident(const char *ident, char *buf)
{
	size_t		len;
	size_t		i = 0;
	bool		clipped = false;

	buf[0] = '\0';
	if (ident == NULL)
		return;
	len = strlen(ident);
	if (len > IDENT_CLIP)
	{
		len = IDENT_CLIP;
		/* back up over continuation bytes to a character start */
		while (len > 0 && ((unsigned char) ident[len] & 0xC0) == 0x80)
			len--;
		clipped = true;
	}
	buf[i++] = ':';
	buf[i++] = ' ';
	for (size_t k = 0; k < len; k++)
	{
		unsigned char c = (unsigned char) ident[k];

		buf[i++] = c < ' ' ? ' ' : (char) c;
	}
	if (clipped)
	{
		memcpy(buf + i, "...", 3);
		i += 3;
	}
	buf[i] = '\0';
}

static void
print_indent(FILE *out, int level)
{
	for (int i = 0; i < level; i++)
		fputs("  ", out);
}

static void
print_counters_line(FILE *out, const mcxt_counters_t *c)
{
	fprintf(out, "%zu total in %zu blocks; %zu free (%zu chunks); %zu used",
			c->totalspace, c->nblocks, c->freespace, c->freechunks,
			c->totalspace - c->freespace);
}

/*
 * A limited context's line gets its limit after the counters (before the
 * identifier): "; limit H hard, S soft, X held", the figures of
 * mcxt_get_limit.  PostgreSQL has no limits, so its lines never have this.
 */
static void
print_limit(FILE *out, mcxt_context *ctx)
{
	mcxt_limit *l = ctx->limit;

	if (l == NULL || l->owner != ctx)
		return;
	fputs("; limit", out);
	if (l->hard != 0)
		fprintf(out, " %llu hard,", (unsigned long long) l->hard);
	if (l->soft != 0)
		fprintf(out, " %llu soft,", (unsigned long long) l->soft);
	fprintf(out, " %llu held", (unsigned long long) l->held);
}

static void
stats_print_one(mcxt_context *ctx, int level, int max_level, int max_children,
				FILE *out, mcxt_counters_t *totals)
{
	mcxt_counters_t own;
	char		ident[IDENT_CLIP + 8];
	mcxt_context *child;
	int			nchild = 0;

	mcxti_context_counters(ctx, &own);
	counters_add(totals, &own);
	format_ident(ctx->ident, ident);
	print_indent(out, level);
	fprintf(out, "%s: ", ctx->name != NULL ? ctx->name : "");
	print_counters_line(out, &own);
	print_limit(out, ctx);
	fprintf(out, "%s\n", ident);

	child = ctx->firstchild;
	if (level + 1 < max_level)
	{
		for (; child != NULL && nchild < max_children; child = child->nextchild, nchild++)
			stats_print_one(child, level + 1, max_level, max_children, out, totals);
	}
	if (child != NULL)
	{
		/* sum the rest, their subtrees included, without recursion */
		mcxt_counters_t rest;
		int			nrest = 0;

		memset(&rest, 0, sizeof(rest));
		for (; child != NULL; child = mcxti_traverse_next(child, ctx))
		{
			child->methods->stats(child, &rest);
			nrest++;
		}
		print_indent(out, level + 1);
		fprintf(out, "%d more child contexts containing ", nrest);
		print_counters_line(out, &rest);
		fputc('\n', out);
		counters_add(totals, &rest);
	}
}

void
mcxt_stats_print(mcxt_context_t *ctx, int max_level, int max_children, FILE *out)
{
	mcxt_counters_t totals;

	if (out == NULL)
		out = stderr;
	if (max_level > STATS_MAX_DEPTH)
		max_level = STATS_MAX_DEPTH;
	if (max_level < 1)
		max_level = 1;
	if (max_children < 0)
		max_children = 0;
	memset(&totals, 0, sizeof(totals));
	stats_print_one(ctx, 0, max_level, max_children, out, &totals);
	fprintf(out, "Grand total: %zu bytes in %zu blocks; %zu free (%zu chunks); %zu used\n",
			totals.totalspace, totals.nblocks, totals.freespace, totals.freechunks,
			totals.totalspace - totals.freespace);
	fflush(out);
}

void
mcxt_stats(mcxt_context_t *ctx)
{
	mcxt_stats_print(ctx, 100, 100, stderr);
}

/* ---- JSON ----------------------------------------------------------------- */

/* Length of the valid UTF-8 sequence at s (max n bytes), or 0 if invalid. */
static size_t
utf8_seq_len(const unsigned char *s, size_t n)
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

/* A JSON string; bytes that are not valid UTF-8 are written as \u00XX. */
void
mcxti_json_string(FILE *out, const char *s)
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
		size_t		len = utf8_seq_len(p, n);

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

typedef struct json_entry
{
	mcxt_context *ctx;
	size_t		parent;			/* index into the array; SIZE_MAX for the root */
	int			level;
} json_entry;

int
mcxt_stats_json(mcxt_context_t *ctx, FILE *out)
{
	json_entry *entries;
	size_t		n = 1;
	size_t		cap = 64;
	mcxt_counters_t grand;
	size_t	   *path;
	int			maxlevel = 0;

	/* breadth-first, so ids near the root stay stable as PostgreSQL 18's */
	entries = malloc(cap * sizeof(*entries));
	if (entries == NULL)
		return -1;
	entries[0] = (json_entry) {ctx, SIZE_MAX, 0};
	for (size_t i = 0; i < n; i++)
	{
		for (mcxt_context *c = entries[i].ctx->firstchild; c != NULL; c = c->nextchild)
		{
			if (n == cap)
			{
				json_entry *bigger = realloc(entries, 2 * cap * sizeof(*entries));

				if (bigger == NULL)
				{
					free(entries);
					return -1;
				}
				entries = bigger;
				cap *= 2;
			}
			entries[n] = (json_entry) {c, i, entries[i].level + 1};
			if (entries[n].level > maxlevel)
				maxlevel = entries[n].level;
			n++;
		}
	}
	path = malloc(((size_t) maxlevel + 1) * sizeof(*path));
	if (path == NULL)
	{
		free(entries);
		return -1;
	}

	memset(&grand, 0, sizeof(grand));
	fputs("{\"contexts\":[", out);
	for (size_t i = 0; i < n; i++)
	{
		mcxt_context *c = entries[i].ctx;
		mcxt_counters_t own;
		int			depth = 0;

		mcxti_context_counters(c, &own);
		counters_add(&grand, &own);
		fputs(i ? ",\n{" : "\n{", out);
		fputs("\"name\":", out);
		mcxti_json_string(out, c->name);
		fputs(",\"ident\":", out);
		mcxti_json_string(out, c->ident);
		fputs(",\"type\":", out);
		mcxti_json_string(out, c->methods->name);
		fprintf(out, ",\"level\":%d,\"parent\":", entries[i].level);
		mcxti_json_string(out, entries[i].parent == SIZE_MAX ? NULL
					: entries[entries[i].parent].ctx->name);
		for (size_t k = i; k != SIZE_MAX; k = entries[k].parent)
			path[depth++] = k + 1;
		fputs(",\"path\":[", out);
		for (int d = depth - 1; d >= 0; d--)
			fprintf(out, "%zu%s", path[d], d ? "," : "");
		fprintf(out, "],\"total_bytes\":%zu,\"total_nblocks\":%zu,\"free_bytes\":%zu,"
				"\"free_chunks\":%zu,\"used_bytes\":%zu,\"mem_allocated\":%llu,"
				"\"bytes_alloc\":%llu,\"bytes_freed\":%llu,\"max_bytes_held\":%llu",
				own.totalspace, own.nblocks, own.freespace, own.freechunks,
				own.totalspace - own.freespace,
				(unsigned long long) c->mem_allocated,
				(unsigned long long) c->bytes_alloc,
				(unsigned long long) c->bytes_freed,
				(unsigned long long) c->max_bytes_held);
		if (c->limit != NULL && c->limit->owner == c)
		{
			mcxt_limit *l = c->limit;

			/* only limited contexts have the key, so other output is unchanged */
			fprintf(out, ",\"limit\":{\"hard\":%llu,\"soft\":%llu,\"held\":%llu,"
					"\"peak\":%llu,\"soft_crossings\":%llu,\"hard_refusals\":%llu}",
					(unsigned long long) l->hard, (unsigned long long) l->soft,
					(unsigned long long) l->held, (unsigned long long) l->peak,
					(unsigned long long) l->crossings, (unsigned long long) l->refusals);
		}
		fputc('}', out);
	}
	fprintf(out, "],\n\"grand_total\":{\"total_bytes\":%zu,\"total_nblocks\":%zu,"
			"\"free_bytes\":%zu,\"free_chunks\":%zu,\"used_bytes\":%zu}}\n",
			grand.totalspace, grand.nblocks, grand.freespace, grand.freechunks,
			grand.totalspace - grand.freespace);
	free(path);
	free(entries);
	return ferror(out) ? -1 : 0;
}
