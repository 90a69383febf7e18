/*
 * layout.h
 *	  A table-driven description of one allocator family and version: where
 *	  the fields of its context, AllocSet and block headers are, how its
 *	  chunk headers decode, how its freelists are linked, and how to find the
 *	  roots of its context trees in an image.
 *
 * The walker (walk.c) is generic and reads memory only through this
 * descriptor, so supporting another allocator is writing one more
 * descriptor (and, where the rules differ, one small chunk decoder), never
 * touching the walker.  libmcxt's descriptor (layout_mcxt.c) is built with
 * offsetof on ../../src/chunk.h so the tool and the library cannot drift;
 * PostgreSQL's (layout_pg.c, 10-15) are tables of facts read from each
 * version's sources, selected by mcxt_layout_pg_find.  Context types come in three storage kinds:
 * AllocSet (blocks, chunks, power-of-two freelists; the layout's own
 * fields), block-list types (Generation, Bump: mcxt_layout_blocks) and
 * slab types (mcxt_layout_slab); each may have a chunk decoder, and a
 * decoder may have variants for checked and release builds, chosen from
 * the image.  The fields were chosen so that these fit without new code
 * in the walker (facts: /work/shared/research):
 *
 *  - PostgreSQL 10-15: MemoryContextData {NodeTag type at 0, ...}; AllocSet
 *    blocks {aset, prev, next, freeptr, endptr}; 16-byte chunk header
 *    {Size size; void *aset}, the aset word right before the user pointer
 *    and, in a free chunk, the freelist link (link_offset 8 from the
 *    header); free chunks have no flag (free_by_flag false: the walker
 *    marks them from the freelists); chunk size from the header; no block
 *    check word (blk_check.size 0); the NodeTag as ctx_type; mem_allocated
 *    (13+) in acct[]; the root is the pointer variable TopMemoryContext.
 *  - PostgreSQL 16/17: 8-byte MemoryChunk {method id 3/4 bits, external,
 *    30-bit value = freelist index, block offset}; the link in the user area;
 *    with MEMORY_CONTEXT_CHECKING requested_size comes first (chunk_hdr_size
 *    16; the freelist heads still point at the MemoryChunk, i.e. at
 *    requested_size, and the link is the first word of the user area:
 *    fl_ptr_offset 0, link_offset 16; aset.c GetFreeListLink), a separate
 *    descriptor (layout_pg16.c).
 *  - PostgreSQL Generation (11+) and Bump (17+): block-list types; Slab
 *    (10+) a slab type whose counters come from its own header.
 *  - Greenplum 6: AllocChunk {SharedChunkHeader *sharedHeader; Size size},
 *    accounting fields allBytesAlloc/allBytesFreed/maxBytesHeld in the
 *    context header (acct[] below).
 *
 * All offsets are byte offsets in the target's memory; all target pointers
 * are ptr_size bytes, little-endian (the only kind we read today).
 */
#ifndef MCXT_TOOL_LAYOUT_H
#define MCXT_TOOL_LAYOUT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* A field in a target struct: offset and size in bytes (size 0: absent). */
typedef struct mcxt_layout_field
{
	uint32_t	offset;
	uint32_t	size;
} mcxt_layout_field;

/* A named accounting counter of the context header (shown as is). */
typedef struct mcxt_layout_acct
{
	const char *name;			/* JSON key and text label, e.g. "mem_allocated" */
	mcxt_layout_field field;

	/*
	 * The field belongs to the AllocSet context struct, not to the common
	 * header (Greenplum 7's accounting fields): other context types do not
	 * have it, and their contexts report it as absent.
	 */
	bool		aset_only;
} mcxt_layout_acct;

#define MCXT_LAYOUT_MAX_ACCT	6
#define MCXT_LAYOUT_MAX_TYPES	8
#define MCXT_LAYOUT_MAX_FREELISTS 32

/* What kind of storage a context type has (only ASET is walked today). */
typedef enum mcxt_ctx_kind
{
	MCXT_KIND_UNKNOWN = 0,
	MCXT_KIND_ASET,				/* AllocSet: blocks, chunks, power-of-two freelists */
	MCXT_KIND_BLOCKS,			/* a block list gives the counters; chunks not walked */
	MCXT_KIND_SLAB,				/* fixed-size slots in equal blocks; chunks not walked */
	MCXT_KIND_OTHER				/* known type without a storage walker: tree only */
} mcxt_ctx_kind;

/*
 * A decoded chunk header.  The walker fills addr fields; the decoder says
 * what the header claims.
 */
typedef struct mcxt_hdr_info
{
	uint64_t	size;			/* usable bytes after the header (0 when external: from the block) */
	uint64_t	requested;		/* requested size if the header records it (checking builds), else 0 */
	bool		external;		/* alone in its block: size = block end - user pointer */
	bool		free_flag;		/* the header itself says "free" (free_by_flag layouts) */
	int			freelist;		/* freelist index the size maps to, or -1 */
} mcxt_hdr_info;

struct mcxt_layout;

/*
 * Decode the chunk header whose hdr_size bytes are at hdr (read from the
 * target at hdr_addr; block_addr is the block being walked).  Returns false
 * when the bytes are not a valid header of this layout for this block, with
 * a short reason in *why.  Must not read outside hdr[0 .. hdr_size).
 * variant: for headers that read differently in checked and release builds
 * (the image does not say which it is), which reading to apply; the walker
 * keeps the first variant under which a block's chunks lead exactly to its
 * free pointer.
 */
typedef bool (*mcxt_chunk_decode_fn) (const struct mcxt_layout *L, const unsigned char *hdr,
									  uint64_t hdr_addr, uint64_t block_addr,
									  mcxt_hdr_info *out, const char **why, unsigned variant);

/*
 * A context type whose counters come from one list of blocks (Generation,
 * Bump): total = stats_header_bytes + the sum of (endptr - block), free =
 * the sum of (endptr - freeptr), free chunks = the sum of nfree if present.
 * Absent fields have size 0.
 */
typedef struct mcxt_layout_blocks
{
	mcxt_layout_field set_blocks;	/* head of the list, in the context */
	int64_t		keeper_offset;	/* keeper block at context + this, or -1 */
	uint32_t	stats_header_bytes;
	uint32_t	hdr_size;		/* chunks start at block + this */
	mcxt_layout_field owner;	/* must equal the context (size 0: no owner
								 * field, as in PostgreSQL 17's release-build Bump) */
	mcxt_layout_field prev;
	mcxt_layout_field next;
	mcxt_layout_field freeptr;
	mcxt_layout_field endptr;
	mcxt_layout_field check;	/* check == block ^ check_xor */
	uint64_t	check_xor;
	mcxt_layout_field nfree;	/* freed chunks still in the block */
	mcxt_layout_field nchunks;	/* chunks in the block (PostgreSQL's Generation
								 * prints their sum), summed into nchunks */

	/*
	 * PostgreSQL's dlist (lib/ilist.h) instead of a NULL-terminated list:
	 * set_blocks is the head's next pointer (the head node starts one
	 * pointer before it), each block's next/prev point at the dlist_node
	 * node_offset bytes into the next/previous block, and the list ends when
	 * a link leads back to the head node.  A head never used may hold NULL.
	 */
	bool		dlist;
	uint32_t	node_offset;

	/*
	 * Greenplum 6 (gp_malloc): no endptr field; the block's size is the word
	 * size_before bytes before the block (its VmemHeader) and endptr = block
	 * + that size.  0: use endptr.
	 */
	uint32_t	size_before;

	mcxt_layout_field blksize;	/* the block's size as its stats count it (else
								 * endptr - block; PostgreSQL's Generation) */

	/* the type's stats line prints no chunk counts (PostgreSQL 17's BumpStats) */
	bool		no_chunk_counts;

	/* chunks, if they can be walked: header size, decoder and its variants */
	uint32_t	chunk_hdr_size;
	mcxt_chunk_decode_fn decode;	/* NULL: chunks are not walked */
	uint32_t	nvariants;
} mcxt_layout_blocks;

/*
 * A slab context (libmcxt's Slab, after PostgreSQL's SlabStats): total =
 * header_size + nblocks * block_size; free slots are the nfree of every
 * block on the lists plus nempty * chunks_per_block, each full_chunk_size
 * bytes.  Blocks are found on lists[0 .. nlists) and the empty list.
 */
typedef struct mcxt_layout_slab
{
	mcxt_layout_field full_chunk_size;
	mcxt_layout_field block_size;
	mcxt_layout_field chunks_per_block;
	mcxt_layout_field nempty;
	mcxt_layout_field nblocks;
	mcxt_layout_field header_size;
	mcxt_layout_field empty;	/* head of the empty list */
	uint32_t	lists_offset;	/* nlists block pointers in the context */
	uint32_t	nlists;
	uint32_t	hdr_size;		/* block header */
	mcxt_layout_field owner;
	mcxt_layout_field next;
	mcxt_layout_field nfree;
	mcxt_layout_field check;
	uint64_t	check_xor;
	/* chunks: slots of full_chunk_size from the block header to 'unused' */
	mcxt_layout_field unused;
	uint32_t	chunk_hdr_size;
	mcxt_chunk_decode_fn decode;	/* NULL: chunks are not walked */

	/*
	 * PostgreSQL 16+ (slab.c, SlabStats): the block lists are dlists (each
	 * head 2 pointers at lists_offset, the empty list a dclist whose head's
	 * next pointer is 'empty' and whose count is empty_count), blocks found
	 * through their node at node_offset; there is no nblocks or header_size
	 * field: the header counts header_bytes + chunks_per_block *
	 * header_bytes_per_slot (checking builds add an isChunkFree array), and
	 * empty blocks add to the total only, not to the block count or the free
	 * space (pg_empty_rule).
	 */
	bool		dlist;
	uint32_t	node_offset;
	mcxt_layout_field empty_count;
	uint32_t	header_bytes;
	uint32_t	header_bytes_per_slot;
	bool		pg_empty_rule;

	/*
	 * PostgreSQL 11-15 (slab.c before 16): the block lists are an array of
	 * chunks_per_block + 1 dlist heads at lists_offset (freelist[k] holds
	 * the blocks with k free slots), beyond the fixed header: nlists is then
	 * read from the context, the heads from memory.
	 */
	bool		lists_from_cpb;
} mcxt_layout_slab;

/* One context type: the value of the type field that identifies it. */
typedef struct mcxt_layout_type
{
	uint64_t	tag;			/* value of ctx_type */
	const char *name;			/* "AllocSet" */
	mcxt_ctx_kind kind;
	const mcxt_layout_blocks *blocks;	/* MCXT_KIND_BLOCKS */
	const mcxt_layout_slab *slab;	/* MCXT_KIND_SLAB */
} mcxt_layout_type;



/* How the roots (top contexts) are found. */
typedef enum mcxt_root_kind
{
	MCXT_ROOT_REGISTRY,			/* libmcxt: a registry struct listing every thread's top */
	MCXT_ROOT_POINTER_VAR		/* PostgreSQL: a global variable holding TopMemoryContext */
} mcxt_root_kind;

typedef struct mcxt_layout
{
	const char *name;			/* "libmcxt v1", "PostgreSQL 15" */
	const char *allocator;		/* "libmcxt", "postgresql", "greenplum" (JSON) */
	int			major;			/* PostgreSQL/Greenplum major version, 0 for libmcxt */
	bool		cassert;		/* MEMORY_CONTEXT_CHECKING header layout */
	bool		dynahash_by_ident;	/* show a "dynahash" context by its ident (PostgreSQL) */
	int			level_base;		/* level of the root in the log and the view (18: 1) */
	bool		summary_counts_descendants; /* "K more child contexts": K counts the
											 * whole subtrees (libmcxt, PostgreSQL
											 * 17+), not the children only (10-16) */
	bool		tags_verified;	/* types[].tag are that version's NodeTags; if false they
								 * are relative to types[0] (AllocSet) and the selection
								 * takes the real ones from the root context */
	uint32_t	ptr_size;		/* 8 */
	uint32_t	maxalign;		/* 8 */

	/* roots */
	mcxt_root_kind root_kind;
	const char *root_symbol;	/* "mcxt_registry" / "TopMemoryContext" */
	/* registry (MCXT_ROOT_REGISTRY) */
	const char *reg_magic;		/* bytes at offset 0 */
	uint32_t	reg_magic_len;
	uint32_t	reg_size;		/* bytes of the registry struct */
	mcxt_layout_field reg_version;	/* must equal reg_version_value */
	uint32_t	reg_version_value;
	mcxt_layout_field reg_threads;	/* head of the thread list */
	uint32_t	thr_size;
	mcxt_layout_field thr_magic;
	uint64_t	thr_magic_value;
	mcxt_layout_field thr_next;
	mcxt_layout_field thr_top;
	mcxt_layout_field thr_tid;

	/* context header */
	uint32_t	ctx_size;		/* bytes read for one context header (the largest type's struct) */
	mcxt_layout_field ctx_magic;	/* optional: a live-context magic */
	uint64_t	ctx_magic_value;
	mcxt_layout_field ctx_type;
	mcxt_layout_type types[MCXT_LAYOUT_MAX_TYPES];
	uint32_t	ntypes;
	mcxt_layout_field ctx_parent;
	mcxt_layout_field ctx_firstchild;
	mcxt_layout_field ctx_nextchild;
	mcxt_layout_field ctx_name;
	mcxt_layout_field ctx_ident;
	mcxt_layout_acct acct[MCXT_LAYOUT_MAX_ACCT];
	uint32_t	nacct;

	/* AllocSet */
	mcxt_layout_field set_blocks;
	uint32_t	set_freelist_offset;	/* array of nfreelists pointers */
	uint32_t	nfreelists;
	uint32_t	freelist_minbits;	/* freelist i holds chunks of 1 << (minbits + i) bytes */
	int64_t		keeper_offset;	/* keeper block at context + this, or -1 */
	/* bytes PostgreSQL's stats count for the context itself, on top of its blocks */
	uint32_t	stats_header_bytes;

	/* block header */
	uint32_t	blk_hdr_size;	/* chunks start at block + this */
	mcxt_layout_field blk_aset;
	mcxt_layout_field blk_prev;
	mcxt_layout_field blk_next;
	mcxt_layout_field blk_freeptr;
	mcxt_layout_field blk_endptr;
	mcxt_layout_field blk_check;	/* optional: check == block ^ blk_check_xor */
	uint64_t	blk_check_xor;
	uint32_t	blk_size_before;	/* no endptr: size word this far before the block
									 * (Greenplum 6; see mcxt_layout_blocks) */

	/* chunks */
	uint32_t	chunk_hdr_size;	/* user pointer = header + this */
	mcxt_chunk_decode_fn decode;
	/*
	 * The word of an allocated chunk's header that names its context
	 * (PostgreSQL 10-15: aset, right before the user pointer; size 0: no
	 * such word).  Not checked by the chunk walk (a free chunk holds its
	 * freelist link there); used to tell header layouts apart (see
	 * mcxt_walk_chunk_consistency).
	 */
	mcxt_layout_field chunk_owner;
	bool		free_by_flag;	/* a free chunk's header says so (else: freelists only) */
	uint32_t	link_offset;	/* freelist link: at header + this */
	uint32_t	fl_ptr_offset;	/* freelist heads and links point at header + this
								 * (0 for every layout so far, PostgreSQL 16+
								 * cassert included: aset.c links the MemoryChunk,
								 * whose first word is requested_size) */
	uint64_t	max_block_size; /* sanity limit on one block */
} mcxt_layout;

/* libmcxt, MCXT_LAYOUT_VERSION of ../../src/chunk.h (layout_mcxt.c). */
extern const mcxt_layout mcxt_layout_libmcxt;

/*
 * PostgreSQL and Greenplum.
 *
 * mcxt_layout_pg_find returns the descriptor of a major version (10..18;
 * Greenplum: 6, 7 with greenplum true) in its plain or
 * MEMORY_CONTEXT_CHECKING (cassert) form, or NULL when there is none.  The
 * caller (detect.c) picks the version from the executable's version
 * string or --pg-version, and plain or cassert from the image (both are
 * walked; the one whose chunk chains are consistent wins, see
 * mcxt_walk_chunk_consistency) or --pg-cassert / --no-pg-cassert.
 *
 * Adding a version:
 *  1. read its structs (MemoryContextData, the AllocSet/Generation/Slab/
 *     Bump contexts, blocks and chunk headers, the NodeTags or method ids,
 *     each stats function) from its sources;
 *  2. write const mcxt_layout mcxt_layout_pgNN and mcxt_layout_pgNN_cassert
 *     in a layout_*.c file (layout_pg.c shows the pattern: a chunk decoder
 *     per header format, mcxt_layout_blocks for block-list types), declare
 *     them below, and add the file to forensics.cmake;
 *  3. add one row to pg_layouts[] in layout_pg.c.
 * A header format the walker cannot express (e.g. an owner found through a
 * shared header) gets a new field here and a few lines in walk.c, kept
 * generic: the walker never tests a version number.
 */
extern const mcxt_layout mcxt_layout_pg10;
extern const mcxt_layout mcxt_layout_pg10_cassert;
extern const mcxt_layout mcxt_layout_pg11;
extern const mcxt_layout mcxt_layout_pg11_cassert;
extern const mcxt_layout mcxt_layout_pg12;
extern const mcxt_layout mcxt_layout_pg12_cassert;
extern const mcxt_layout mcxt_layout_pg13;
extern const mcxt_layout mcxt_layout_pg13_cassert;
extern const mcxt_layout mcxt_layout_pg14;
extern const mcxt_layout mcxt_layout_pg14_cassert;
extern const mcxt_layout mcxt_layout_pg15;
extern const mcxt_layout mcxt_layout_pg15_cassert;

const mcxt_layout *mcxt_layout_pg_find(int major, bool greenplum, bool cassert);

/*
 * PostgreSQL 11-15's Generation chunk header {size, [requested_size,]
 * block, context} (layout_pg.c), shared with Greenplum 7, whose
 * generation.c is PostgreSQL 12's.
 */
bool		mcxt_layout_pg_gen_decode(const struct mcxt_layout *L, const unsigned char *hdr,
									  uint64_t hdr_addr, uint64_t block_addr,
									  mcxt_hdr_info *out, const char **why, unsigned variant);
bool		mcxt_layout_pg_gen_decode_cassert(const struct mcxt_layout *L,
											  const unsigned char *hdr,
											  uint64_t hdr_addr, uint64_t block_addr,
											  mcxt_hdr_info *out, const char **why,
											  unsigned variant);

/*
 * PostgreSQL 16, 17, 18 (layout_pg16.c) and Greenplum 6, 7 (layout_gp.c),
 * x86-64; _cassert: built with --enable-cassert (MEMORY_CONTEXT_CHECKING),
 * whose chunk headers carry requested_size.  Each file names the sources of
 * its facts.
 */
extern const mcxt_layout mcxt_layout_pg16;
extern const mcxt_layout mcxt_layout_pg16_cassert;
extern const mcxt_layout mcxt_layout_pg17;
extern const mcxt_layout mcxt_layout_pg17_cassert;
extern const mcxt_layout mcxt_layout_pg18;
extern const mcxt_layout mcxt_layout_pg18_cassert;
extern const mcxt_layout mcxt_layout_gp6;
extern const mcxt_layout mcxt_layout_gp6_cassert;
extern const mcxt_layout mcxt_layout_gp7;
extern const mcxt_layout mcxt_layout_gp7_cassert;

/* Chunk size of freelist i. */
static inline uint64_t
mcxt_layout_freelist_size(const mcxt_layout *L, unsigned i)
{
	return (uint64_t) 1 << (L->freelist_minbits + i);
}

/* Read an unsigned little-endian field of size 1, 2, 4 or 8 from buf; 0 if absent. */
static inline uint64_t
mcxt_layout_get(const unsigned char *buf, mcxt_layout_field f)
{
	uint64_t	v = 0;

	for (uint32_t i = 0; i < f.size && i < 8; i++)
		v |= (uint64_t) buf[f.offset + i] << (8 * i);
	return v;
}

#endif							/* MCXT_TOOL_LAYOUT_H */
