/*
 * chunk.h
 *	  The on-heap layout of libmcxt: chunk header bits, block headers, context
 *	  headers and the process-wide registry.
 *
 * This file is the single source of truth for everything libmcxt writes into
 * memory that somebody else may have to read back: the library itself (pfree
 * finds the owning block and context from the 8 bytes in front of a pointer)
 * and the forensics tool, which reads the same structures out of a core file
 * or a live process.  The tool builds its descriptor of this layout with
 * offsetof() on the structs below, so the two can never drift apart.  Any
 * change here that moves a field must bump MCXT_LAYOUT_VERSION.
 *
 * Only plain C11 types are used; nothing here depends on the library's
 * internal headers.
 *
 * Chunk header
 * ------------
 * Every chunk handed out by an AllocSet (and later Generation and Slab) is
 * preceded by one 64-bit word, the idea PostgreSQL 16 introduced with its
 * MemoryChunk (memutils_memorychunk.h); our bit assignment is our own:
 *
 *   63                     36 35                       6  5  4  3     0
 *  +-------------------------+--------------------------+--+--+--------+
 *  | block offset / 8        | value                    |F |E | type   |
 *  | (28 bits)               | (30 bits)                |  |  | (4)    |
 *  +-------------------------+--------------------------+--+--+--------+
 *
 *  type:   the context type id (MCXT_TYPE_*).  pfree dispatches on it.  Ids
 *          0..8, 14 and 15 are never used, so the commonest foreign words
 *          are rejected before anything else is read: 0 is zeroed memory,
 *          15 is 0xFF fill, and 0..7 is what glibc malloc keeps in front of
 *          its own pointers (the low bits of a chunk size word, whose bit 3 is
 *          always clear because malloc sizes are multiples of 16).
 *  E:      external chunk: it lives alone in a dedicated block (requests
 *          above the context's chunk limit); its size is taken from the block,
 *          and the block offset is always MCXT_ASET_BLOCKHDRSZ.
 *  F:      the chunk is free (on a freelist).  Set by pfree, cleared when the
 *          chunk is handed out again: this is how a double free is caught.
 *  value:  AllocSet small chunk: bits 0..3 the freelist index (chunk size
 *          = 8 << index), bits 4..29 the requested size in checking and
 *          memory-tool builds (MCXT_DEBUG >= 1, MCXT_VALGRIND, MCXT_ASAN),
 *          0 otherwise.  AllocSet external chunk: the requested size in
 *          those builds when it is below 2^30, else 0.  Generation, Slab,
 *          Bump and aligned chunks: see their sections below.
 *  offset: distance from the start of the owning block to the header, in
 *          8-byte units (28 bits: blocks up to 2 GB; maxBlockSize is limited
 *          to 1 GB).
 *
 * Every header and every user pointer is aligned to MCXT_MAXALIGN (8), as
 * PostgreSQL's MAXALIGN on 64-bit platforms, so a 128-byte palloc costs 136
 * bytes of block space (PostgreSQL 15 and Greenplum: 144).
 *
 * Block header
 * ------------
 * A block begins with struct mcxt_aset_block.  Its 'check' word holds
 * (address of the block) XOR MCXT_BLOCK_MAGIC while the block belongs to a
 * context and is cleared when the block is given back, so a stale or forged
 * chunk pointer whose header happens to decode is still caught, and the
 * forensics tool can find blocks by scanning when it has no symbols.
 *
 * Context header
 * --------------
 * Every context begins with struct mcxt_context (type-independent fields:
 * tree links, name, identifier, callbacks, accounting).  An AllocSet is a
 * struct mcxt_aset; its first block, the keeper, follows it in the same
 * allocation at MCXT_ASET_KEEPER_OFFSET and survives resets.
 *
 * Registry
 * --------
 * One static struct mcxt_registry per process, exported as the symbol
 * "mcxt_registry" and beginning with a 16-byte magic string, lists every
 * thread's top context.  It is how the forensics tool finds all trees in an
 * image, through the symbol table or, for stripped programs, by scanning
 * writable memory for the magic.
 */
#ifndef MCXT_CHUNK_H
#define MCXT_CHUNK_H

#include <stddef.h>
#include <stdint.h>

/* Bump when any struct or bit below changes meaning or position. */
#define MCXT_LAYOUT_VERSION		6

#define MCXT_MAXALIGN			8
#define MCXT_ALIGN(len)			(((uintptr_t) (len) + (MCXT_MAXALIGN - 1)) & ~((uintptr_t) (MCXT_MAXALIGN - 1)))

/* Context type ids, stored in the low 4 bits of every chunk header. */
#define MCXT_TYPE_ASET			9
#define MCXT_TYPE_GENERATION	10
#define MCXT_TYPE_SLAB			11
#define MCXT_TYPE_BUMP			12
#define MCXT_TYPE_ALIGNED		13
#define MCXT_TYPE_BITS			4
#define MCXT_TYPE_MASK			((UINT64_C(1) << MCXT_TYPE_BITS) - 1)

/* Chunk header fields. */
#define MCXT_CHUNK_HDRSZ		((size_t) sizeof(uint64_t))
#define MCXT_CHUNK_EXTERNAL		(UINT64_C(1) << 4)
#define MCXT_CHUNK_FREE			(UINT64_C(1) << 5)
#define MCXT_CHUNK_VALUE_SHIFT	6
#define MCXT_CHUNK_VALUE_BITS	30
#define MCXT_CHUNK_VALUE_MASK	((UINT64_C(1) << MCXT_CHUNK_VALUE_BITS) - 1)
#define MCXT_CHUNK_OFFSET_SHIFT	36
#define MCXT_CHUNK_OFFSET_BITS	28
#define MCXT_CHUNK_OFFSET_UNIT	MCXT_MAXALIGN
#define MCXT_CHUNK_MAX_OFFSET	((((uint64_t) 1 << MCXT_CHUNK_OFFSET_BITS) - 1) * MCXT_CHUNK_OFFSET_UNIT)

#define MCXT_ASET_IDX_BITS		4
#define MCXT_ASET_IDX_MASK		((UINT64_C(1) << MCXT_ASET_IDX_BITS) - 1)

/* Build a header word; offset must be a multiple of MCXT_MAXALIGN. */
static inline uint64_t
mcxt_chunk_make_hdr(unsigned type, uint64_t value, uint64_t offset, uint64_t flags)
{
	return (uint64_t) type | flags |
		(value << MCXT_CHUNK_VALUE_SHIFT) |
		((offset / MCXT_CHUNK_OFFSET_UNIT) << MCXT_CHUNK_OFFSET_SHIFT);
}

static inline unsigned
mcxt_chunk_hdr_type(uint64_t hdr)
{
	return (unsigned) (hdr & MCXT_TYPE_MASK);
}

static inline uint64_t
mcxt_chunk_hdr_value(uint64_t hdr)
{
	return (hdr >> MCXT_CHUNK_VALUE_SHIFT) & MCXT_CHUNK_VALUE_MASK;
}

static inline uint64_t
mcxt_chunk_hdr_offset(uint64_t hdr)
{
	return (hdr >> MCXT_CHUNK_OFFSET_SHIFT) * MCXT_CHUNK_OFFSET_UNIT;
}

/* Magic numbers.  Chosen to be unlikely in ordinary data and easy to spot in hex. */
#define MCXT_CONTEXT_MAGIC		UINT32_C(0x4D43584E)	/* "NXCM" in memory: a live context */
#define MCXT_CONTEXT_DEAD		UINT32_C(0x4D43584D)	/* deleted or parked for reuse */
#define MCXT_BLOCK_MAGIC		UINT64_C(0xB10C4D4358540000)
#define MCXT_REGISTRY_MAGIC		"mcxt-registry-v1"		/* 16 bytes, no NUL inside the struct */
#define MCXT_THREAD_MAGIC		UINT64_C(0x4D4358545448524D)

struct mcxt_callback;
struct mcxt_methods;
struct mcxt_limit;

/*
 * The type-independent context header.
 *
 * Invariants (checked by mcxt_check):
 *  - magic == MCXT_CONTEXT_MAGIC for every context reachable from a live tree;
 *  - parent == NULL, or this context is on parent's child list exactly once;
 *  - prevchild == NULL iff parent->firstchild == this;
 *  - bytes_alloc - bytes_freed == mem_allocated;
 *  - max_bytes_held >= mem_allocated;
 *  - mem_allocated == the sum of the sizes of the blocks the context holds,
 *    counting the allocation that carries the header and keeper block;
 *  - limit is the limit record of the nearest context at or above this one
 *    that has a limit (NULL if none does): the parent's limit, unless this
 *    context has one of its own (limit->owner == this).
 */
typedef struct mcxt_context
{
	uint32_t	magic;
	uint8_t		type;			/* MCXT_TYPE_* */
	uint8_t		pad;
	uint16_t	flags;			/* MCXT_CTXFLAG_* */
	/* checking builds: the thread inside an operation on this context, or 0 */
	uintptr_t	busy;
	const struct mcxt_methods *methods;
	struct mcxt_context *parent;
	struct mcxt_context *firstchild;	/* newest child first, as PostgreSQL */
	struct mcxt_context *prevchild;
	struct mcxt_context *nextchild;
	const char *name;			/* constant string, never freed */
	const char *ident;			/* optional, caller-owned or in this context */
	struct mcxt_callback *reset_cbs;	/* LIFO list */
	/* accounting, maintained per block, never per chunk */
	uint64_t	mem_allocated;	/* bytes of blocks held now */
	uint64_t	bytes_alloc;	/* cumulative bytes obtained, incl. deleted children */
	uint64_t	bytes_freed;	/* cumulative bytes given back, incl. deleted children */
	uint64_t	max_bytes_held; /* peak of mem_allocated since creation or peak reset */
	/* the nearest subtree limit at or above this context, or NULL (limits.c) */
	struct mcxt_limit *limit;
} mcxt_context;

#define MCXT_CTXFLAG_TOP		0x0001	/* a thread's top context */

/*
 * A subtree memory limit (mcxt_set_limit), allocated from the block source
 * when the limit is set and given back when it is removed or its context is
 * deleted.  Every context of the owner's subtree points at it (or at a
 * limit further down), so obtaining or giving back a block charges the
 * chain of limits above the context: this one, up, up->up ...
 *
 * Invariants (checked by mcxt_check):
 *  - owner->limit == this;
 *  - held == the sum of mem_allocated over the owner's live subtree;
 *  - up == the owner's parent's limit (NULL if the parent has none);
 *  - hard == 0 or held <= hard;
 *  - soft_over == (soft != 0 && held > soft) between library calls.
 */
typedef struct mcxt_limit
{
	struct mcxt_context *owner;
	struct mcxt_limit *up;		/* the next limit above the owner, or NULL */
	uint64_t	hard;			/* bytes; 0: none */
	uint64_t	soft;			/* bytes; 0: none */
	uint64_t	held;			/* block bytes of the owner's subtree */
	uint64_t	peak;			/* highest held since the limit was set */
	uint64_t	crossings;		/* upward crossings of soft */
	uint64_t	refusals;		/* blocks refused by hard */
	void		(*soft_callback) (struct mcxt_context *ctx, size_t held, size_t soft,
								  void *arg);
	void	   *soft_arg;
	uint8_t		soft_over;		/* held > soft since the last crossing */
	uint8_t		soft_pending;	/* crossed; the callback has not run yet */
} mcxt_limit;

/* AllocSet -------------------------------------------------------------- */

#define MCXT_ASET_MINBITS		3	/* smallest chunk is 8 bytes */
#define MCXT_ASET_NUM_FREELISTS 11	/* 8 B .. 8 KB */
#define MCXT_ASET_CHUNK_LIMIT	(1 << (MCXT_ASET_NUM_FREELISTS - 1 + MCXT_ASET_MINBITS))
#define MCXT_ASET_CHUNK_FRACTION 4	/* at least 4 max-size chunks per max-size block */

/*
 * An AllocSet block.  The usable space runs from the end of this header to
 * endptr; [header end, freeptr) is carved into chunks, [freeptr, endptr) is
 * free.  An external block holds exactly one chunk and freeptr == endptr.
 *
 * Invariants: aset owns the block; check == block ^ MCXT_BLOCK_MAGIC;
 * header end <= freeptr <= endptr; the blocks list is doubly linked with
 * blocks->prev == NULL; the keeper block is always on the list.
 */
typedef struct mcxt_aset_block
{
	struct mcxt_aset *aset;
	struct mcxt_aset_block *prev;
	struct mcxt_aset_block *next;
	char	   *freeptr;
	char	   *endptr;
	uintptr_t	check;
} mcxt_aset_block;

#define MCXT_ASET_BLOCKHDRSZ	MCXT_ALIGN(sizeof(mcxt_aset_block))

/*
 * An AllocSet context.  blocks points at the active block (the one new
 * chunks are carved from); every other block follows it.  freelist[i] heads
 * a list of free chunks of size 8 << i, linked through the first 8 bytes of
 * each free chunk's user area (a uint64_t * to the next chunk's header).
 */
typedef struct mcxt_aset
{
	mcxt_context header;
	mcxt_aset_block *blocks;
	uint64_t   *freelist[MCXT_ASET_NUM_FREELISTS];	/* chunk headers */
	/* 64 bits so that the fast path compares a request with it in memory */
	uint64_t	alloc_chunk_limit;
	uint32_t	init_block_size;
	uint32_t	max_block_size;
	uint32_t	next_block_size;
	uint32_t	keeper_size;	/* bytes of the allocation holding header + keeper */
	int32_t		freelist_index; /* which recycled-context list it goes to, or -1 */
	uint32_t	pad;
} mcxt_aset;

#define MCXT_ASET_KEEPER_OFFSET MCXT_ALIGN(sizeof(mcxt_aset))

static inline mcxt_aset_block *
mcxt_aset_keeper(mcxt_aset *set)
{
	return (mcxt_aset_block *) ((char *) set + MCXT_ASET_KEEPER_OFFSET);
}

/*
 * "Checking builds" below means MCXT_DEBUG >= 1 or a memory tool
 * (MCXT_VALGRIND, MCXT_ASAN): the builds in which every request gets
 * MCXT_TAIL_ROOM (1) byte of room after it and the requested size is kept
 * in the header.  In release builds the tail room is 0.
 */

/* Generation ------------------------------------------------------------ */

/*
 * Chunks are carved one after the other from the current block and never
 * reused: a freed chunk only counts towards its block's nfree, and when
 * nfree reaches nchunks the block is emptied (kept as the context's single
 * free block, or rewound if it is the keeper or the current block) or given
 * back.  Requests above alloc_chunk_limit get a block of their own.
 *
 * Chunk header: type MCXT_TYPE_GENERATION, F set once freed.  value: the
 * chunk size (MCXT_ALIGN of the request, at least 8) in release builds;
 * the requested size in checking builds, where the chunk size is
 * max(8, MCXT_ALIGN(value + 1)).  The next chunk header follows at
 * header + 8 + chunk size.  External (E) chunks: alone in a dedicated block
 * at offset MCXT_GEN_BLOCKHDRSZ, size up to the block's end; value as for
 * AllocSet external chunks.
 *
 * Invariants (checked by mcxt_check):
 *  - context owns the block; check == block ^ MCXT_BLOCK_MAGIC;
 *  - header end <= freeptr <= endptr; the chunks from the header end to
 *    freeptr are exactly nchunks chunks, nfree of them with F set;
 *  - nchunks == 0 implies freeptr == header end (an emptied block is
 *    rewound), and nfree < nchunks otherwise (a block whose chunks are all
 *    free is emptied at once);
 *  - an external block holds one chunk with E set, and freeptr == endptr;
 *  - the blocks list is doubly linked with blocks->prev == NULL and holds
 *    the keeper, the current block and the free block (if any);
 *  - freeblock, if set, is empty and is neither the keeper nor current.
 */
typedef struct mcxt_gen_block
{
	struct mcxt_generation *context;
	struct mcxt_gen_block *prev;
	struct mcxt_gen_block *next;
	uint32_t	nchunks;		/* chunks carved since the block was last empty */
	uint32_t	nfree;			/* of those, freed */
	char	   *freeptr;
	char	   *endptr;
	uintptr_t	check;
} mcxt_gen_block;

#define MCXT_GEN_BLOCKHDRSZ		MCXT_ALIGN(sizeof(mcxt_gen_block))
#define MCXT_GEN_CHUNK_FRACTION 8	/* chunk limit: max block size / 8 */

typedef struct mcxt_generation
{
	mcxt_context header;
	mcxt_gen_block *blocks;		/* every block, newest first */
	mcxt_gen_block *block;		/* the current block, chunks are carved from it */
	mcxt_gen_block *freeblock;	/* one emptied block kept for reuse, or NULL */
	uint32_t	init_block_size;
	uint32_t	max_block_size;
	uint32_t	next_block_size;
	uint32_t	alloc_chunk_limit;
	uint32_t	keeper_size;	/* bytes of the allocation holding header + keeper */
	uint32_t	pad;
} mcxt_generation;

#define MCXT_GEN_KEEPER_OFFSET	MCXT_ALIGN(sizeof(mcxt_generation))

static inline mcxt_gen_block *
mcxt_gen_keeper(mcxt_generation *set)
{
	return (mcxt_gen_block *) ((char *) set + MCXT_GEN_KEEPER_OFFSET);
}

/* Slab ------------------------------------------------------------------ */

/*
 * Every chunk of a slab has the same size.  A block is an array of
 * chunks_per_block slots of full_chunk_size bytes (header + chunk) after
 * the block header; the slots below 'unused' have been handed out at least
 * once, the rest never.  Freed slots are pushed on the block's freelist,
 * linked through the first 8 bytes of the user area (a uint64_t * to the
 * next free slot's header).  Allocation takes the freelist first, then the
 * unused slot.
 *
 * Blocks are kept on MCXT_SLAB_NLISTS lists by how many slots are free:
 * list 0 holds full blocks, a block with 0 < nfree < cpb (chunks per block)
 * is on list slab_list_of(nfree) = 1 + (nfree - 1) * (NLISTS - 1) / cpb,
 * so allocation from the lowest non-empty list above 0 fills the fullest
 * blocks first and lets the emptiest drain.  A block whose slots are all free goes to the empty
 * list, at most MCXT_SLAB_MAX_EMPTY of them; any more are given back.
 *
 * Chunk header: type MCXT_TYPE_SLAB, F set while on a freelist, value the
 * requested size (the context's chunk_size unless repalloc shrank it).
 *
 * Invariants (checked by mcxt_check):
 *  - slab owns the block; check == block ^ MCXT_BLOCK_MAGIC;
 *  - header end <= unused <= header end + cpb * full_chunk_size, at a slot
 *    boundary; nunused == slots from unused to the end of the array;
 *  - every slot below unused has a valid header; F is set exactly on the
 *    slots on the freelist; nfree == freelist length + nunused;
 *  - a block with 0 < nfree < cpb is on list slab_list_of(nfree), one with
 *    nfree == 0 on list 0, one with nfree == cpb on the empty list (rewound:
 *    unused at the header end, freelist empty), nempty of those,
 *    nempty <= MCXT_SLAB_MAX_EMPTY;
 *  - cur_list is the lowest non-empty list above 0, or 0 if there is none;
 *  - mem_allocated == header allocation + blocks * block_size.
 */
typedef struct mcxt_slab_block
{
	struct mcxt_slab *slab;
	struct mcxt_slab_block *prev;	/* on its list */
	struct mcxt_slab_block *next;
	uint64_t   *freehead;		/* free slot headers, LIFO */
	char	   *unused;			/* first never-used slot */
	uint32_t	nfree;			/* free slots: on the freelist or unused */
	uint32_t	nunused;		/* never-used slots */
	uintptr_t	check;
} mcxt_slab_block;

#define MCXT_SLAB_BLOCKHDRSZ	MCXT_ALIGN(sizeof(mcxt_slab_block))
#define MCXT_SLAB_NLISTS		4
#define MCXT_SLAB_MAX_EMPTY		10

typedef struct mcxt_slab
{
	mcxt_context header;
	uint32_t	chunk_size;		/* the one request size */
	uint32_t	full_chunk_size;	/* header + chunk, the slot stride */
	uint32_t	block_size;
	uint32_t	chunks_per_block;
	uint32_t	nempty;			/* blocks on the empty list */
	uint32_t	cur_list;		/* lowest non-empty list > 0, or 0 */
	uint32_t	nblocks;		/* blocks on all lists, empty list included */
	uint32_t	header_size;	/* bytes of the allocation holding this struct */
	mcxt_slab_block *empty;		/* completely free blocks, linked through next */
	mcxt_slab_block *lists[MCXT_SLAB_NLISTS];
} mcxt_slab;

/* Bump ------------------------------------------------------------------ */

/*
 * Chunks are carved from the active block (the head of the list) and never
 * freed one by one: pfree, repalloc, GetMemoryChunkContext and
 * GetMemoryChunkSpace are not supported.  In release builds a chunk has no
 * header at all: a request takes max(8, MCXT_ALIGN(size)) bytes.  In
 * checking builds each chunk has a header (type MCXT_TYPE_BUMP, value the
 * requested size; chunk size max(8, MCXT_ALIGN(value + 1))) so those calls
 * can be refused, and the check can walk the chunks.  Requests above
 * alloc_chunk_limit get a dedicated block, second in the list (E set in
 * checking builds).  Blocks are only given back by reset and delete.
 *
 * Invariants (checked by mcxt_check):
 *  - context owns the block; check == block ^ MCXT_BLOCK_MAGIC;
 *  - header end <= freeptr <= endptr; the keeper is on the list;
 *  - checking builds: the chunks from the header end to freeptr have valid
 *    headers that lead exactly to freeptr;
 *  - mem_allocated == the sizes of all blocks, the keeper allocation
 *    counted with the header.
 *
 * 'check' is the last field, so that in a release build the 8 bytes in
 * front of a block's first chunk decode to type 0 (the block address's low
 * bits): pfree of that chunk is reported as a bad pointer.
 */
typedef struct mcxt_bump_block
{
	struct mcxt_bump *context;
	struct mcxt_bump_block *next;
	char	   *freeptr;
	char	   *endptr;
	uintptr_t	check;
} mcxt_bump_block;

#define MCXT_BUMP_BLOCKHDRSZ	MCXT_ALIGN(sizeof(mcxt_bump_block))
#define MCXT_BUMP_CHUNK_FRACTION 8

typedef struct mcxt_bump
{
	mcxt_context header;
	mcxt_bump_block *blocks;	/* the active block first */
	uint32_t	init_block_size;
	uint32_t	max_block_size;
	uint32_t	next_block_size;
	uint32_t	alloc_chunk_limit;
	uint32_t	keeper_size;
	uint32_t	pad;
} mcxt_bump;

#define MCXT_BUMP_KEEPER_OFFSET MCXT_ALIGN(sizeof(mcxt_bump))

static inline mcxt_bump_block *
mcxt_bump_keeper(mcxt_bump *set)
{
	return (mcxt_bump_block *) ((char *) set + MCXT_BUMP_KEEPER_OFFSET);
}

/* Aligned chunks ------------------------------------------------------------ */

/*
 * mcxt_alloc_aligned over-allocates a chunk of size + alignto + 8 bytes in
 * the context and returns the first address A inside it, aligned to
 * alignto, with 16 bytes of room in front:
 *
 *   real chunk header | ... | size (8) | redirect header (8) | A: size bytes ... |
 *
 * The redirect header has type MCXT_TYPE_ALIGNED; its offset is the
 * distance from the redirect header back to the real chunk's header (at
 * least 16); its value holds log2(alignto) in bits 0..4 and the type id of
 * the owning context in bits 5..8 (so that pfree of an aligned bump chunk is
 * refused even in release builds).  The word before it holds the requested
 * size, for repalloc.  Alignments up to 8 are plain allocations.
 */
#define MCXT_ALIGNED_MAX		((size_t) 64 * 1024 * 1024)
#define MCXT_ALIGNED_SHIFT_BITS 5
#define MCXT_ALIGNED_MIN_OFFSET 16

/* Allocation sites (MCXT_SITES builds) --------------------------------------- */

/*
 * In a sites build every chunk handed out by any context type (Bump
 * included: a sites build is a checking build as far as headers go) ends
 * with an 8-byte site word, in the last MCXT_SITE_ROOM bytes of the chunk's
 * space, after the requested bytes (and the sentinel, when there is one):
 *
 *   header | user data (requested size) | [sentinel] ... | id (4) | check (4) |
 *                                                          ^ chunk end - 8
 *
 * where the chunk's space is what the walkers already compute (AllocSet:
 * 8 << index, or up to the block end for an external chunk; Generation and
 * Bump: max(8, MCXT_ALIGN(requested + tail room)), tail room being
 * MCXT_SITE_ROOM plus 1 for the sentinel in checking builds (the registry's
 * flavour says which); Slab: the slot minus its header).  check is
 * id ^ MCXT_SITE_MAGIC, so a reader can tell a site word from other bytes.
 * An aligned chunk's site is that of its real chunk.
 *
 * id indexes the process-wide site table: up to MCXT_SITE_MAX_PAGES pages
 * of MCXT_SITE_PAGE_SIZE entries, allocated with malloc (not the block
 * source) and never freed; entry 0 is "(unknown)", for chunks allocated
 * without a site.  The registry points to the page array and counts the
 * entries; file and func point to the program's own string constants.
 */
#define MCXT_SITE_MAGIC			UINT32_C(0x53495445)	/* "SITE" */
#define MCXT_SITE_ROOM_BYTES	8	/* the site word: MCXT_SITE_ROOM in sites builds */
#define MCXT_SITE_PAGE_BITS		10
#define MCXT_SITE_PAGE_SIZE		(1u << MCXT_SITE_PAGE_BITS)
#define MCXT_SITE_MAX_PAGES		256

typedef struct mcxt_site_entry
{
	const char *file;
	const char *func;
	uint32_t	line;
	uint32_t	pad;
} mcxt_site_entry;

/* Registry --------------------------------------------------------------- */

/*
 * The build flavour, in the registry, so that a reader need not guess how
 * chunks are laid out: the checking level, the memory tool, whether
 * headers keep the requested size, and whether chunks carry site words.
 */
#define MCXT_FLAVOUR_DEBUG_MASK	0x000F	/* MCXT_DEBUG */
#define MCXT_FLAVOUR_CHECKED	0x0010	/* requested sizes in headers, tail room */
#define MCXT_FLAVOUR_VALGRIND	0x0020
#define MCXT_FLAVOUR_ASAN		0x0040
#define MCXT_FLAVOUR_SITES		0x0080	/* site words at chunk ends */
#define MCXT_FLAVOUR_TAIL_SHIFT 8		/* bits 8..15: MCXT_TAIL_ROOM */

/*
 * One per thread that has used the library, linked from the registry while
 * the thread lives.  Allocated with the block source's allocator.
 */
typedef struct mcxt_thread_entry
{
	uint64_t	magic;			/* MCXT_THREAD_MAGIC */
	struct mcxt_thread_entry *next;
	mcxt_context *top;			/* the thread's top context */
	mcxt_context **current;		/* address of the thread's current-context variable */
	int64_t		tid;			/* kernel thread id */
} mcxt_thread_entry;

/*
 * The process-wide registry.  The size fields let a reader check that its
 * own idea of the layout matches the program's before it trusts anything.
 */
typedef struct mcxt_registry
{
	char		magic[16];		/* MCXT_REGISTRY_MAGIC, not NUL-terminated */
	uint32_t	layout_version; /* MCXT_LAYOUT_VERSION */
	uint32_t	sizeof_context;
	uint32_t	sizeof_aset;
	uint32_t	sizeof_aset_block;
	uint32_t	chunk_hdrsz;
	uint32_t	nthreads;		/* entries on the list */
	mcxt_thread_entry *threads;
	volatile int lock;			/* spinlock for the list */
	uint32_t	flavour;		/* MCXT_FLAVOUR_* of the library */
	/* allocation sites (MCXT_SITES builds; NULL and 0 otherwise) */
	mcxt_site_entry *const *site_pages;	/* MCXT_SITE_MAX_PAGES page pointers */
	uint32_t	nsites;			/* entries in use, "(unknown)" included */
	uint32_t	pad;
} mcxt_registry_t;

#endif							/* MCXT_CHUNK_H */
