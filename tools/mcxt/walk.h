/*
 * walk.h
 *	  The generic walker: from the roots of an image, the context tree, each
 *	  context's blocks, freelists and chunks, driven by a layout descriptor
 *	  (layout.h), with PostgreSQL's per-context statistics.
 *
 * Memory is read only through mcxt_reader, so the walker does not care
 * whether bytes come from a core file, a live process or a test's own
 * memory.  Every byte is untrusted: every list walk is bounded and checked
 * for cycles (Brent's algorithm on the addresses, plus a visited set for
 * the context tree), every size is checked against the layout's limits and
 * against what is readable, and every problem becomes a warning in the
 * walk (never printed here) while the walk goes on with what it could
 * trust.  Memory use is bounded by the number of contexts, blocks and free
 * chunks, never by what a corrupt length field claims.
 *
 * Counters are computed as each context type's stats method does (for
 * libmcxt: aset_stats, gen_stats, slab_stats, bump_stats), so they equal
 * what the library itself prints.  Chunks are walked for AllocSet,
 * Generation and Slab contexts; Bump chunks have no header in release
 * builds and are not walked (a warning says so).
 *
 * Ownership: mcxt_walk_new returns a walk that owns everything it points to
 * (free with mcxt_walk_free); the reader and the layout must outlive it.
 *
 * How the commands use the pipeline (see analyze.h and report.h):
 *   contexts:  w = mcxt_walk_new(&mcxt_layout_libmcxt, &reader, &opts);
 *              mcxt_report_contexts_text(out, w, &ropts) or _json(out, w);
 *   leaks:     s = mcxt_suspects_find(w, &sopts);
 *              mcxt_report_suspects_text(out, w, s, &ropts) or _json;
 *   chunk:     mcxt_decode_addr(w, addr, &d);
 *              mcxt_report_decoded_text(out, w, &d, dump_bytes) or _json;
 *   diff:      a walk and suspects per image, df = mcxt_diff_compute(wa, sa, wb, sb);
 *              mcxt_report_diff_text(out, df, &ropts) or _json(out, df);
 *   always:    mcxt_report_warnings_text(stderr, w) (JSON output embeds them);
 *              w->partial says the answer is incomplete.
 */
#ifndef MCXT_TOOL_WALK_H
#define MCXT_TOOL_WALK_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>

#include "layout.h"

/* A mapped range of the target, for the reference scan and "%p" detection. */
typedef struct mcxt_region
{
	uint64_t	start;
	uint64_t	end;			/* exclusive */
	bool		writable;		/* scanned for references */
	const void *data;			/* optional zero-copy bytes of [start, end), else NULL */
} mcxt_region;

/*
 * The only way anything here reads the target.
 *  read:   copy up to len bytes at addr into buf; return how many consecutive
 *          bytes from addr were available (0: addr unmapped).  Required.
 *  region: the i-th mapped region (sorted by address, not overlapping);
 *          false past the last.  Optional: without it there is no reference
 *          scan, no registry magic scan and "%p" means "readable".
 *  symbol: address of a symbol; optional.
 */
typedef struct mcxt_reader
{
	void	   *arg;
	size_t		(*read) (void *arg, uint64_t addr, void *buf, size_t len);
	bool		(*region) (void *arg, size_t i, mcxt_region *out);
	bool		(*symbol) (void *arg, const char *name, uint64_t *addr);
} mcxt_reader;

/* One walked context.  Indexes refer to mcxt_walk arrays; -1: none. */
typedef struct mcxt_ctx_info
{
	uint64_t	addr;
	int32_t		parent;
	int32_t		first_child;	/* in list order (newest first, as the tree links) */
	int32_t		next_sibling;
	int32_t		root;			/* index into roots */
	int			level;			/* 0 at the root */
	uint32_t	bfs_id;			/* 1-based breadth-first id within its tree (PostgreSQL 18's path ids) */
	char	   *name;			/* NULL if the pointer was NULL */
	char	   *ident;
	char	   *path;			/* "TopMemoryContext/Child/Grandchild" */
	const char *type_name;		/* from the layout, or "?" */
	int32_t		type_index;		/* into the layout's types, or -1 */
	uint64_t	slot_size;		/* slab kinds: bytes per slot, header included */
	mcxt_ctx_kind kind;
	/* PostgreSQL's counters (MemoryContextCounters of this context alone) */
	uint64_t	total_bytes;
	uint64_t	nblocks;
	uint64_t	free_bytes;
	uint64_t	free_chunks;
	/* what some PostgreSQL stats lines print besides: chunks held (Generation),
	 * empty blocks kept (Slab, 16+) */
	uint64_t	nchunks;
	uint64_t	nempty_blocks;
	bool		has_nchunks;	/* the type counts chunks per block (print nchunks) */
	bool		has_nempty;		/* the type's stats line prints its empty blocks
								 * (PostgreSQL 16+ Slab) */
	bool		no_chunk_counts;	/* the type's stats line has no chunk counts
									 * (PostgreSQL's Bump) */
	/* accounting fields of the layout, in its order */
	uint64_t	acct[MCXT_LAYOUT_MAX_ACCT];
	uint32_t	acct_absent;	/* bit k: this context's type has no acct[k]
								 * (an aset_only field of a non-AllocSet) */
	/* blocks of this context: blocks[first_block .. first_block + nblocks_walked) */
	uint32_t	first_block;
	uint32_t	nblocks_walked;
	uint32_t	nwarnings;		/* warnings about this context */
} mcxt_ctx_info;

typedef struct mcxt_block_info
{
	uint64_t	addr;
	uint64_t	freeptr;
	uint64_t	endptr;
	int32_t		ctx;
	uint32_t	hdr_size;		/* the first chunk starts at addr + hdr_size */
	bool		chunks_ok;		/* its chunk walk so far found no bad header */
} mcxt_block_info;

typedef struct mcxt_root
{
	uint64_t	top;			/* top context address */
	int64_t		tid;			/* thread id, or 0 */
	int32_t		first_ctx;		/* index of the root context, or -1 if unreadable */
} mcxt_root;

/* One chunk, as the chunk iterator hands it out. */
typedef struct mcxt_chunk
{
	uint64_t	hdr;			/* address of the header (chunk start) */
	uint64_t	ptr;			/* user pointer */
	uint64_t	size;			/* usable bytes */
	uint64_t	space;			/* header + usable: bytes of block it occupies */
	int32_t		ctx;
	int32_t		block;
	uint64_t	requested;		/* size asked for, when the header records it; else 0 */
	bool		free;
	bool		external;
} mcxt_chunk;

/* Options; zero-initialised means defaults. */
typedef struct mcxt_walk_opts
{
	/* Roots: explicit top contexts, or else a registry/root-variable address, or else the symbol. */
	const uint64_t *tops;
	const int64_t *tids;		/* optional, parallel to tops */
	size_t		ntops;
	uint64_t	root_addr;		/* address of the registry (or of the root variable) */
	bool		no_magic_scan;	/* do not scan regions for the registry magic */
	size_t		max_contexts;	/* default 1 << 20 */
	size_t		max_warnings;	/* kept in full; more are counted; default 1000 */
} mcxt_walk_opts;

typedef struct mcxt_walk
{
	const mcxt_layout *layout;
	mcxt_reader reader;
	uint64_t	registry_addr;	/* where the roots came from, 0 if given */

	mcxt_root  *roots;
	size_t		nroots;
	mcxt_ctx_info *ctx;			/* depth-first pre-order, children in list order */
	size_t		nctx;
	mcxt_block_info *blocks;	/* grouped by context */
	size_t		nblocks;
	uint32_t   *blocks_by_addr; /* indexes into blocks, sorted by address */

	/* freelist members (header addresses), sorted, for layouts without a free flag */
	uint64_t   *freeset;
	size_t		nfree;

	/* regions (copied from the reader at walk time), sorted */
	mcxt_region *regions;
	size_t		nregions;

	char	  **warnings;
	size_t		nwarnings;
	size_t		warnings_dropped;
	size_t		max_warnings;
	bool		partial;		/* something could not be walked */
	bool		oom;			/* the tool itself ran out of memory */

	/* per layout type: the header variant its blocks were found to use, -1 unknown */
	int			variant[MCXT_LAYOUT_MAX_TYPES];
	bool		variant_warned[MCXT_LAYOUT_MAX_TYPES];

	/* zero-copy: the region of the last read (data used when the reader gives it) */
	const mcxt_region *last_region;

	/* read cache */
	unsigned char *cache;
	uint64_t	cache_addr;
	size_t		cache_len;
} mcxt_walk;

/*
 * Walk everything reachable from the roots.  Returns NULL only when out of
 * memory; a walk that found nothing has nctx == 0 and warnings saying why.
 */
mcxt_walk  *mcxt_walk_new(const mcxt_layout *layout, const mcxt_reader *reader,
						  const mcxt_walk_opts *opts);
void		mcxt_walk_free(mcxt_walk *w);

/* Add a warning (printf format); bounded by max_warnings. */
void		mcxt_walk_warn(mcxt_walk *w, const char *fmt,...) __attribute__((format(printf, 2, 3)));

/*
 * Call fn for every chunk of context ctx (-1: of all contexts), block by
 * block in the order blocks were walked (by_address: in address order of
 * the blocks), each block's chunks in address order.  A bad header ends
 * that block's walk with a warning.  fn returns false to stop.  Returns
 * false if stopped by fn.
 */
typedef bool (*mcxt_chunk_fn) (mcxt_walk *w, const mcxt_chunk *c, void *arg);
bool		mcxt_walk_chunks(mcxt_walk *w, int32_t ctx, bool by_address,
							 mcxt_chunk_fn fn, void *arg);

/* The chunks of one block (the block's index), as above. */
bool		mcxt_walk_block_chunks(mcxt_walk *w, int32_t block, mcxt_chunk_fn fn, void *arg);

/* Read through the walk's cache: as mcxt_reader.read. */
size_t		mcxt_walk_read(mcxt_walk *w, uint64_t addr, void *buf, size_t len);

/*
 * Zero-copy read: the address of len bytes at addr inside the image's own
 * bytes (a mapped core), valid as long as the reader; NULL when the reader
 * offers no such bytes there (a live process, a hole, a range that crosses
 * a region's end): then read with mcxt_walk_read.  The inline part is the
 * chunk walks' hot path: one compare when addr is in the last region used.
 */
const unsigned char *mcxt_walk_peek_slow(mcxt_walk *w, uint64_t addr, size_t len);

static inline const unsigned char *
mcxt_walk_peek(mcxt_walk *w, uint64_t addr, size_t len)
{
	const mcxt_region *r = w->last_region;

	if (r != NULL && r->data != NULL && addr >= r->start && addr < r->end && r->end - addr >= len)
		return (const unsigned char *) r->data + (addr - r->start);
	return mcxt_walk_peek_slow(w, addr, len);
}

/* Index of the block containing addr (header included), or -1. */
int32_t		mcxt_walk_find_block(const mcxt_walk *w, uint64_t addr);

/* True if addr lies in a mapped region (or, without regions, is readable). */
bool		mcxt_walk_is_mapped(mcxt_walk *w, uint64_t addr);

/* Is the chunk whose header is at hdr on a freelist?  (Layouts without a free flag.) */
bool		mcxt_walk_in_freeset(const mcxt_walk *w, uint64_t hdr);

/*
 * How well the image's AllocSet blocks read under layout alt's chunk
 * header (alt shares the walk's context and block layout and differs only
 * in its chunks, e.g. PostgreSQL with and without MEMORY_CONTEXT_CHECKING).
 * Looks at up to max_blocks blocks holding chunks, and at the first 64
 * chunks of each; a block counts as consistent when those chunks decode,
 * each chunk's owner word (alt->chunk_owner) names the context, is NULL, or
 * points into the context's own blocks (a freelist link), and a chain that
 * ends before 64 chunks ends exactly at the block's free pointer.  Returns the
 * consistent ones; *checked says how many were looked at.
 */
size_t		mcxt_walk_chunk_consistency(mcxt_walk *w, const mcxt_layout *alt, size_t max_blocks,
										size_t *checked);

/* Sums over all contexts (PostgreSQL's "Grand total"). */
typedef struct mcxt_walk_totals
{
	uint64_t	total_bytes;
	uint64_t	nblocks;
	uint64_t	free_bytes;
	uint64_t	free_chunks;
} mcxt_walk_totals;

void		mcxt_walk_grand_total(const mcxt_walk *w, int32_t subtree, mcxt_walk_totals *out);

/* qsort that accepts an empty (possibly NULL) array. */
static inline void
mcxt_sort(void *base, size_t n, size_t size, int (*cmp) (const void *, const void *))
{
	if (n > 1)
		qsort(base, n, size, cmp);
}

#endif							/* MCXT_TOOL_WALK_H */
