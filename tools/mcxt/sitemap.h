/*
 * sitemap.h
 *	  Allocation sites in an image of a libmcxt program built with
 *	  MCXT_SITES: the site word at the end of every chunk, and the site
 *	  table the registry points to (../../src/chunk.h, "Allocation sites").
 *
 * The registry's flavour says whether the image has sites; nothing here
 * guesses.  Every read is checked: a site word must carry its check
 * (id ^ MCXT_SITE_MAGIC) and an id below the table's count, a table entry
 * must be readable, and its file and function strings are read with a
 * bound (from the image, or from the executable on disk when the core does
 * not hold the program's read-only data: the image layer does that).  What
 * cannot be read becomes "?" and the rest goes on.
 *
 * Ownership: the sitemap owns every string and array it hands out; close it
 * after the last report that uses them.
 */
#ifndef MCXT_TOOL_SITEMAP_H
#define MCXT_TOOL_SITEMAP_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "analyze.h"
#include "walk.h"

/* One site of the table, resolved. */
typedef struct mcxt_site_ref
{
	uint32_t	id;				/* 0: allocated without a site */
	uint32_t	line;
	char	   *file;			/* "(unknown)" for id 0, "?" if unreadable */
	char	   *func;
} mcxt_site_ref;

/* The sites of a suspect group's members, most chunks first. */
#define MCXT_SUSPECT_SITES	3
typedef struct mcxt_suspect_sites
{
	uint64_t	counted;		/* members whose site word was intact */
	size_t		nsites;			/* distinct sites among them */
	size_t		ntop;			/* entries of top[] in use */
	struct
	{
		const mcxt_site_ref *site;
		uint64_t	chunks;
	}			top[MCXT_SUSPECT_SITES];
} mcxt_suspect_sites;

/* Live chunks of one context from one site (mcxt leaks --by-site). */
typedef struct mcxt_site_row
{
	int32_t		ctx;
	const mcxt_site_ref *site;
	uint64_t	chunks;
	uint64_t	bytes;			/* requested sizes (the headers record them in sites builds) */
	uint64_t	space;			/* block bytes, headers included */
} mcxt_site_row;

typedef struct mcxt_sitemap
{
	bool		present;		/* the image is a sites build with a readable table */
	uint32_t	flavour;		/* the registry's MCXT_FLAVOUR_* */
	uint32_t	nsites;
	uint64_t	pages_addr;
	uint64_t   *pages;			/* page addresses, read on demand (~0: not yet) */
	mcxt_site_ref *refs;		/* nsites, resolved on demand (file NULL: not yet) */
	mcxt_suspect_sites *suspect_sites;	/* for mcxt_sitemap_suspects */
	size_t		nsuspect_sites;
	mcxt_site_row *rows;		/* for mcxt_sitemap_by_site */
	size_t		nrows;
	uint64_t	unreadable;		/* live chunks whose site word was not intact */
} mcxt_sitemap;

/*
 * Read the registry of a libmcxt walk.  Returns true if the image records
 * sites (sm->present); false for a plain build, another allocator, or an
 * unreadable table (no warning: a plain build is the usual case).
 */
bool		mcxt_sitemap_open(mcxt_walk *w, mcxt_sitemap *sm);

/*
 * A libmcxt image's registry says how its Generation headers read (the
 * build's tail room: layout_mcxt.c's variants); make the walk use that
 * reading rather than infer it from the first block with chunks, which can
 * be a dedicated block that reads the same under every variant.  Does
 * nothing for other allocators, older layouts, or once the walk decided.
 * Call before the first chunk walk; mcxt_sitemap_open calls it.
 */
void		mcxt_flavour_apply(mcxt_walk *w);
void		mcxt_sitemap_close(mcxt_sitemap *sm);

/* The site of a chunk, or NULL if its site word is not intact. */
const mcxt_site_ref *mcxt_sitemap_chunk(mcxt_sitemap *sm, mcxt_walk *w, const mcxt_chunk *c);

/*
 * Find the sites of the members of the first top suspects (one more chunk
 * walk; each chunk of a suspect's context and size is classified again)
 * and point each suspect's sites at them.  False when out of memory.
 */
bool		mcxt_sitemap_suspects(mcxt_sitemap *sm, mcxt_walk *w, mcxt_suspects *s, size_t top);

/* Live chunks grouped by (context, site), largest space first, into sm->rows. */
bool		mcxt_sitemap_by_site(mcxt_sitemap *sm, mcxt_walk *w);

/* "file:line (func)" with the file's directories dropped, into buf. */
const char *mcxt_site_label(const mcxt_site_ref *s, char *buf, size_t len);

/* mcxt leaks --by-site: the table, as text or JSON. */
void		mcxt_report_sites_text(FILE *out, const mcxt_walk *w, const mcxt_sitemap *sm, size_t top);
void		mcxt_report_sites_json(FILE *out, const mcxt_walk *w, const mcxt_sitemap *sm, size_t top);

#endif							/* MCXT_TOOL_SITEMAP_H */
