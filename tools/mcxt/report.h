/*
 * report.h
 *	  Text (for people) and JSON (for machines) renderings of a walk's
 *	  contexts, its leak suspects, a decoded address and a diff.
 *
 * Text contexts use PostgreSQL's MemoryContextStats lines, exactly as
 * libmcxt's mcxt_stats_print writes them (same limits on levels and
 * children, same "N more child contexts containing ..." summary, same
 * "Grand total" line), with the layout's accounting fields appended in
 * brackets unless pg_format is set.  JSON contexts carry the keys of
 * libmcxt's mcxt_stats_json in the same order and format (PostgreSQL's
 * view columns: name, ident, type, level, parent, path, total_bytes,
 * total_nblocks, free_bytes, free_chunks, used_bytes, then the accounting
 * fields), followed by "address" and "root" (index into "roots": one tree
 * per thread), listed tree by tree, breadth-first as the library does;
 * path ids are per tree.
 * Every JSON document also carries "partial" and the walk's "warnings".
 *
 * PostgreSQL's display rules apply where the layout says so
 * (dynahash_by_ident: a "dynahash" context shows its ident as its name and
 * no ident, in text and JSON, as MemoryContextStatsPrint and the view do);
 * a context type with per-block chunk counts (PostgreSQL's Generation)
 * prints "T total in B blocks (N chunks); ..." as its stats method does.
 * pg_log_format prints each line as pg_log_backend_memory_contexts() logs
 * it: "level: N; NAME: ...", no indentation, the "K more child contexts"
 * summary at the parent's level, then "Grand total: ...".
 */
#ifndef MCXT_TOOL_REPORT_H
#define MCXT_TOOL_REPORT_H

#include <stdbool.h>
#include <stdio.h>

#include "analyze.h"
#include "walk.h"

typedef struct mcxt_report_opts
{
	int			max_level;		/* text: levels shown (0: 100, as MemoryContextStats) */
	int			max_children;	/* text: children per parent (0: 100) */
	bool		pg_format;		/* text: PostgreSQL's lines only, no accounting */
	bool		pg_log_format;	/* text: pg_log_backend_memory_contexts' log lines */
	size_t		top;			/* suspects shown (0: 20) */
	bool		single_root;	/* text contexts: only tree `root`, as the library prints one */
	int			root;			/* index into the walk's roots (with single_root) */
} mcxt_report_opts;

/* `contexts` */
void		mcxt_report_contexts_text(FILE *out, const mcxt_walk *w, const mcxt_report_opts *o);
void		mcxt_report_contexts_json(FILE *out, const mcxt_walk *w);

/* `leaks` */
void		mcxt_report_suspects_text(FILE *out, const mcxt_walk *w, const mcxt_suspects *s,
									  const mcxt_report_opts *o);
void		mcxt_report_suspects_json(FILE *out, const mcxt_walk *w, const mcxt_suspects *s,
									  const mcxt_report_opts *o);

/* `chunk ADDR`: dump_bytes of the chunk's content are shown (hex + text). */
void		mcxt_report_decoded_text(FILE *out, mcxt_walk *w, const mcxt_decoded *d,
									 size_t dump_bytes);
void		mcxt_report_decoded_json(FILE *out, mcxt_walk *w, const mcxt_decoded *d,
									 size_t dump_bytes);

/* `diff A B` */
void		mcxt_report_diff_text(FILE *out, const mcxt_diff *d, const mcxt_report_opts *o);
void		mcxt_report_diff_json(FILE *out, const mcxt_diff *d);

/* The walk's warnings, one per line prefixed "warning: " (text). */
void		mcxt_report_warnings_text(FILE *out, const mcxt_walk *w);

/* "partial", "warnings_dropped" and "warnings" of a walk, as every JSON document ends. */
void		mcxt_report_json_warnings(FILE *out, const mcxt_walk *w);

/* A JSON string (NULL: null); invalid UTF-8 bytes as \u00XX, as libmcxt. */
void		mcxt_report_json_string(FILE *out, const char *s);

#endif							/* MCXT_TOOL_REPORT_H */
