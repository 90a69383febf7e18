/*
 * analyze.h
 *	  Analyses over a walk: leak suspects (with content families, strides and
 *	  a conservative reference scan), decoding the chunk at an address, and
 *	  the growth between two walks of the same program.
 *
 * Leak suspects.  Every live chunk is put in a group keyed by (context,
 * chunk size, content family).  The family is the chunk's leading printable
 * text with runs of digits replaced by %u, hex words by %x and 0x... by
 * 0x%x ("base/16392" and "base/16393" are both "base/%u"); for a chunk
 * that does not start with text, it is "hex:" and its first four words,
 * each 0, %p (a value that points into a mapped region of the image) or
 * %x.  Groups are ranked by total_bytes = count x (chunk size + header),
 * the bytes of blocks they occupy, the figure that explains where a
 * context's memory went; ties by count, then context order, size, family.
 * For each group: the dominant stride between consecutive members of one
 * block (address order), the number of blocks its members span, and, for
 * the top groups, how many members no word in writable memory points to
 * (a word equal to the user pointer or inside the user area, from outside
 * the chunk itself).  An unreferenced chunk in a long-lived context is
 * leaked for certain; a referenced one may still be leaked.
 *
 * Reference scan design: candidates are the members of the top groups,
 * collected in block address order (so already sorted) by a second chunk
 * walk that reads headers only: pass 1 recorded each live chunk's group
 * (and a run of like chunks is classified once); a bucket index over the
 * candidates' address range (about one bucket per two candidates) makes
 * each scanned word one range compare and, rarely, a short binary search;
 * one pass over each writable region.  Memory: 4 bytes per live chunk in
 * pass 1 (2 once ranked, freed before the scan), 8 per candidate (its
 * pointer and group in one word) plus 4 per bucket, and the group table
 * (bounded: at most MCXT_MAX_GROUPS families, then "(other)").
 */
#ifndef MCXT_TOOL_ANALYZE_H
#define MCXT_TOOL_ANALYZE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "walk.h"

#define MCXT_FAMILY_MAX		64	/* bytes of a family string, NUL included */
#define MCXT_SAMPLE_MAX		80	/* bytes of a sample, NUL included */
#define MCXT_MAX_GROUPS		(1u << 18)

struct mcxt_suspect_sites;		/* sitemap.h */
struct mcxt_site_ref;

typedef struct mcxt_suspect
{
	int32_t		ctx;			/* index into the walk's contexts */
	uint64_t	chunk_size;		/* usable bytes of each member */
	uint64_t	chunk_space;	/* chunk size + header: block bytes per member */
	uint64_t	count;
	uint64_t	total_bytes;	/* count * chunk_space */
	double		share;			/* total_bytes / the context's used bytes */
	char		family[MCXT_FAMILY_MAX];
	bool		is_text;		/* sample is text (else hex) */
	char		sample[MCXT_SAMPLE_MAX];	/* of the lowest-addressed member seen first */
	uint64_t	sample_addr;	/* its user pointer */
	uint64_t	stride;			/* dominant stride between neighbours in a block, 0 if none */
	uint64_t	stride_count;	/* neighbour pairs at that stride */
	uint64_t	blocks;			/* blocks the members span */
	int64_t		unreferenced;	/* -1: not scanned */
	/* allocation sites of the members (MCXT_SITES images; set by sitemap.c), or NULL */
	const struct mcxt_suspect_sites *sites;
	/* internal: the group's number in pass 1 (creation order), stride tracking */
	uint32_t	seq;
	uint64_t	last_ptr;
	int32_t		last_block;
	uint64_t	mg_stride[4];
	uint64_t	mg_count[4];
} mcxt_suspect;

typedef struct mcxt_suspects_opts
{
	size_t		scan_top;		/* groups to reference-scan (default 20; 0 = default) */
	bool		no_ref_scan;	/* skip the reference scan */
} mcxt_suspects_opts;

typedef struct mcxt_suspects
{
	mcxt_suspect *items;		/* every group, ranked */
	size_t		n;
	size_t		nscanned;		/* items[0 .. nscanned) have unreferenced >= 0 */
	uint64_t	live_chunks;
	uint64_t	live_bytes;		/* block bytes of live chunks */
	uint64_t	scanned_bytes;	/* writable memory the reference scan read */
	bool		groups_capped;	/* families beyond MCXT_MAX_GROUPS went to "(other)" */
} mcxt_suspects;

/* Group, rank and (unless disabled) reference-scan.  NULL only when out of memory. */
mcxt_suspects *mcxt_suspects_find(mcxt_walk *w, const mcxt_suspects_opts *opts);
void		mcxt_suspects_free(mcxt_suspects *s);

/*
 * The family and sample of len bytes of chunk content (len may be less
 * than the chunk); fam and sample must hold MCXT_FAMILY_MAX and
 * MCXT_SAMPLE_MAX bytes (sample may be NULL: no sample).  Returns true if
 * the content is text.
 */
bool		mcxt_family_of(mcxt_walk *w, const unsigned char *buf, size_t len,
						   char *fam, char *sample);

/* ---- chunk decode ----------------------------------------------------------- */

typedef enum mcxt_addr_kind
{
	MCXT_ADDR_UNKNOWN = 0,		/* in no walked context or block */
	MCXT_ADDR_CONTEXT,			/* inside a context header */
	MCXT_ADDR_BLOCK_HEADER,		/* inside a block header */
	MCXT_ADDR_CHUNK_HEADER,		/* inside a chunk header */
	MCXT_ADDR_CHUNK,			/* inside a chunk's user area */
	MCXT_ADDR_BLOCK_FREE,		/* in a block's unused space (after its free pointer) */
	MCXT_ADDR_BLOCK_UNWALKED	/* in a block whose chunks could not be walked this far */
} mcxt_addr_kind;

typedef struct mcxt_decoded
{
	uint64_t	addr;
	mcxt_addr_kind kind;
	int32_t		ctx;			/* -1 if none */
	int32_t		block;			/* -1 if none */
	bool		has_chunk;		/* chunk is valid (CHUNK, CHUNK_HEADER) */
	mcxt_chunk	chunk;
	uint64_t	offset;			/* addr - chunk.ptr (CHUNK) */
	bool		has_prev;
	mcxt_chunk	prev;
	bool		has_next;
	mcxt_chunk	next;
	/* the chunk's allocation site (MCXT_SITES images; set by the caller), or NULL */
	const struct mcxt_site_ref *site;
} mcxt_decoded;

/* Which context / block / chunk holds addr.  Returns true unless kind is UNKNOWN. */
bool		mcxt_decode_addr(mcxt_walk *w, uint64_t addr, mcxt_decoded *out);

/* ---- diff of two walks ---------------------------------------------------------- */

typedef struct mcxt_diff_ctx
{
	const char *path;			/* context path (owned by one of the walks) */
	uint64_t	a_n, b_n;		/* contexts with this path */
	uint64_t	a_total, b_total;
	uint64_t	a_used, b_used;
	uint64_t	a_nblocks, b_nblocks;
	int64_t		d_total;
	int64_t		d_used;
} mcxt_diff_ctx;

typedef struct mcxt_diff_family
{
	const char *context_path;
	uint64_t	chunk_size;
	const char *family;
	uint64_t	a_count, b_count;
	uint64_t	a_bytes, b_bytes;
	int64_t		d_count;
	int64_t		d_bytes;
} mcxt_diff_family;

typedef struct mcxt_diff
{
	mcxt_diff_ctx *ctx;			/* every path whose numbers changed, by d_total desc */
	size_t		nctx;
	mcxt_diff_family *fam;		/* every family whose count changed, by d_bytes desc */
	size_t		nfam;
	mcxt_walk_totals a_total, b_total;
} mcxt_diff;

/*
 * Growth from a to b (walks and their suspects; the walks and suspects
 * must outlive the diff).  Contexts and families are matched by context
 * path (names from the top), summed over contexts that share a path.
 * NULL only when out of memory.
 */
mcxt_diff  *mcxt_diff_compute(const mcxt_walk *a, const mcxt_suspects *sa,
							  const mcxt_walk *b, const mcxt_suspects *sb);
void		mcxt_diff_free(mcxt_diff *d);

#endif							/* MCXT_TOOL_ANALYZE_H */
