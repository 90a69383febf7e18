/*
 * registry.h
 *	  Finding libmcxt's process-wide registry (src/chunk.h, struct
 *	  mcxt_registry) in an image: by the exported symbol "mcxt_registry", or,
 *	  for stripped programs, by scanning writable memory for its 16-byte
 *	  magic.  The registry lists every thread's top context: the roots the
 *	  context walker (next layer) starts from.
 */
#ifndef MCXT_TOOL_REGISTRY_H
#define MCXT_TOOL_REGISTRY_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "image.h"

#define REGISTRY_SYMBOL			"mcxt_registry"
#define REGISTRY_MAX_THREADS	4096	/* list walk bound (cycles, garbage) */

typedef struct registry_thread
{
	uint64_t	entry;			/* address of the mcxt_thread_entry */
	int64_t		tid;
	uint64_t	top;			/* the thread's top context */
	uint64_t	current;		/* address of its current-context variable */
} registry_thread;

typedef struct registry_info
{
	bool		found;
	uint64_t	addr;
	bool		by_symbol;		/* else found by magic scan */
	const char *symbol_file;	/* where the symbol came from (by_symbol) */
	size_t		candidates;		/* magic hits seen by the scan */
	uint32_t	layout_version;
	uint32_t	sizeof_context;
	uint32_t	sizeof_aset;
	uint32_t	sizeof_aset_block;
	uint32_t	chunk_hdrsz;
	bool		layout_matches; /* every field equals this tool's src/chunk.h */
	bool		has_flavour;	/* layout 4+: the registry records the build */
	uint32_t	flavour;		/* MCXT_FLAVOUR_* (src/chunk.h) */
	uint32_t	nsites;			/* allocation sites interned (MCXT_SITES builds) */
	uint32_t	nthreads;		/* as the registry says */
	registry_thread *threads;	/* as walked */
	size_t		nthreads_read;
} registry_info;

/*
 * Look for the registry.  Returns true if found (ri filled in); problems
 * (bad entries, cycles, layout mismatch) become image warnings.  Free with
 * registry_free.
 */
bool		registry_find(image_t *im, registry_info *ri);
void		registry_free(registry_info *ri);

#endif							/* MCXT_TOOL_REGISTRY_H */
