/*
 * detect.h
 *	  Which allocator's contexts an image holds, and the walk with the
 *	  right layout: libmcxt (its registry, by symbol or magic) or PostgreSQL
 *	  / Greenplum (TopMemoryContext exported by the executable), with the
 *	  version from the executable's version string and the header layout
 *	  (plain or MEMORY_CONTEXT_CHECKING) from the image itself.
 *
 * Order: --pg-version forces PostgreSQL; else a symbol mcxt_registry means
 * libmcxt; else an executable exporting TopMemoryContext means PostgreSQL;
 * else libmcxt as before (the registry's magic is searched for).
 *
 * Errors (exit 1, with a sentence): the executable is missing or differs
 * from the one the image mapped, it has no version string and no
 * --pg-version was given, or the version has no descriptor.
 */
#ifndef MCXT_TOOL_DETECT_H
#define MCXT_TOOL_DETECT_H

#include <stdbool.h>
#include <stddef.h>

#include "image.h"
#include "layout.h"
#include "walk.h"

/* What the user forced (target options). */
typedef struct mcxt_alloc_opts
{
	int			pg_major;		/* --pg-version: 10..18, or 6/7 with pg_greenplum; 0 auto */
	bool		pg_greenplum;
	int			pg_cassert;		/* 1 --pg-cassert, 0 --no-pg-cassert (if pg_cassert_set) */
	bool		pg_cassert_set; /* --pg-cassert or --no-pg-cassert given */
} mcxt_alloc_opts;

typedef struct mcxt_detected
{
	bool		postgres;		/* PostgreSQL or Greenplum */
	int			major;
	bool		greenplum;
	char		version_string[160];	/* from the executable, "" if none */
	bool		version_forced; /* from --pg-version */
	bool		cassert;
	const char *cassert_how;	/* "detected", "--pg-cassert", "--no-pg-cassert", "assumed" */
	size_t		blocks_checked; /* cassert detection: blocks looked at */
	size_t		blocks_plain;	/* ... consistent with the plain header */
	size_t		blocks_cassert; /* ... with the checking header */
	uint64_t	root_var;		/* address of TopMemoryContext (the variable) */
	const mcxt_layout *layout;	/* the layout walked */
	mcxt_layout patched;		/* storage when NodeTags came from the root */
} mcxt_detected;

/*
 * Decide and walk.  Returns the walk (NULL after writing the reason into
 * err: an input error, or out of memory).  d is filled in either way as
 * far as it got.
 */
mcxt_walk  *mcxt_detect_walk(image_t *im, const mcxt_reader *reader, const mcxt_alloc_opts *o,
							 mcxt_detected *d, char *err, size_t errlen);

/*
 * Parse a --pg-version value: "10".."18", "gp6", "gp7" (also "greenplum6").
 * False if it is none of these.
 */
bool		mcxt_parse_pg_version(const char *s, int *major, bool *greenplum);

/*
 * Find PostgreSQL's version string in an executable's bytes: major version
 * (Greenplum's own major when greenplum) and the string itself.  False if
 * there is none.
 */
bool		mcxt_pg_version_from_bytes(const unsigned char *buf, size_t size, int *major,
									   bool *greenplum, char *str, size_t strlen_);

#endif							/* MCXT_TOOL_DETECT_H */
