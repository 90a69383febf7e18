/*
 * layout_pg.c
 *	  Layout descriptors of PostgreSQL 10-15 memory contexts (x86-64, LP64,
 *	  MAXALIGN 8), with and without MEMORY_CONTEXT_CHECKING, and the table
 *	  that selects a descriptor by major version (mcxt_layout_pg_find);
 *	  other files add their versions' rows to that table (layout.h says how).
 *
 * Every offset below is a fact read from that version's headers and mmgr
 * sources (nodes/memnodes.h, nodes/nodes.h, utils/mmgr/aset.c and
 * generation.c; PostgreSQL 15's also checked with offsetof against
 * /usr/include/postgresql/15/server and exactly reproduced on real cores).
 * Nothing here is PostgreSQL code; the structs are described, not copied.
 *
 * What differs between versions (offsets for 64-bit builds):
 *
 *   MemoryContextData       10       11-12    13-15
 *     type (NodeTag, u32)   0        0        0
 *     mem_allocated         -        -        8
 *     parent                16       16       24
 *     firstchild            24       24       32
 *     nextchild             40       40       48
 *     name                  48       48       56
 *     ident                 -        56       64
 *     sizeof                64       72       80
 *
 *   AllocSetContext = header, blocks, freelist[11], initBlockSize,
 *   maxBlockSize, nextBlockSize, allocChunkLimit, keeper, and from 11 on
 *   freeListIndex (int).  From 11 the context header and the keeper block
 *   share one malloc: the keeper is at context + MAXALIGN(sizeof), and
 *   AllocSetStats counts that header in totalspace; in 10 the header is a
 *   chunk of the parent and stats count blocks only.
 *
 *   AllocBlockData {aset, prev, next, freeptr, endptr}: 40 bytes, all
 *   versions.  AllocChunkData {size, [requested_size,] aset}: 16 bytes, 24
 *   with MEMORY_CONTEXT_CHECKING; aset is the word right before the user
 *   pointer and, in a free chunk, the freelist link (heads point at the
 *   chunk header).  Small chunks are powers of two from 8 to 8192 (freelist
 *   index log2(size) - 3); larger ones sit alone in their own block with
 *   their MAXALIGNed size in the header.
 *
 *   GenerationContext (11+): 11-14 {header, blockSize, block, dlist_head
 *   blocks}, header counted in stats; 15 {header, initBlockSize,
 *   maxBlockSize, nextBlockSize, allocChunkLimit, block, freeblock, keeper,
 *   blocks}, 152 bytes, keeper block right after it.  GenerationBlock
 *   {dlist_node node, Size blksize, int nchunks, int nfree, freeptr,
 *   endptr}: 48 bytes.  GenerationChunk {size, [requested_size,] block,
 *   context}: 24/32 bytes; context is NULL in a freed chunk.  Stats:
 *   total = MAXALIGN(sizeof(GenerationContext)) + sum of blksize, free =
 *   sum of (endptr - freeptr), free chunks = sum of nfree, and the printed
 *   line has "(N chunks)" after the blocks (sum of nchunks).
 *
 *   NodeTags: 10 AllocSet 209, Slab 210; 13: 217, 218, Generation 219;
 *   14: 222, 223, 224; 15: 223, 224, 225 (compiled from each nodes.h).
 *   11 and 12 are not known here: their descriptors say so
 *   (tags_verified false) and the selection takes the AllocSet tag from
 *   TopMemoryContext, which is always an AllocSet, and the others from
 *   their fixed order after it (Slab, Generation).
 *
 *   Slab: 11-15 as described at PG_SLAB_OLD (counters exact, slots not
 *   walked); 10's Slab is a known type whose storage is not walked: its
 *   contexts appear in the tree with zero counters and a warning.
 */
#include <string.h>

#include "layout.h"

/* ---- chunk decoders -------------------------------------------------------- */

/* A little-endian 64-bit word (the only kind of target read here). */
static inline uint64_t
pg_word(const unsigned char *p, uint32_t off)
{
	uint64_t	v;

	memcpy(&v, p + off, sizeof(v));
	return v;
}

/*
 * An AllocSet chunk header {size, [requested_size,] aset}.  The header
 * carries no type or offset, so all that can be checked is that the size
 * is a plausible chunk size (the walk checks that the chunks of a block
 * lead exactly to its free pointer) and, in checked builds, that the
 * requested size fits the chunk.
 */
static bool
pg_aset_decode(const mcxt_layout *L, const unsigned char *hdr, uint64_t hdr_addr,
			   uint64_t block_addr, mcxt_hdr_info *out, const char **why, unsigned variant)
{
	uint64_t	size = pg_word(hdr, 0);

	(void) hdr_addr;
	(void) block_addr;
	(void) variant;
	memset(out, 0, sizeof(*out));
	out->freelist = -1;
	if (size < 8 || size % L->maxalign != 0 || size > L->max_block_size)
	{
		*why = "chunk size is not a plausible AllocSet chunk size";
		return false;
	}
	if (L->cassert)
	{
		out->requested = pg_word(hdr, 8);
		if (out->requested > size)
		{
			*why = "requested size larger than the chunk";
			return false;
		}
	}
	out->size = size;
	/* a power of two from 8: freelist log2(size) - 3 (this runs for every chunk) */
	if ((size & (size - 1)) == 0 &&
		size <= mcxt_layout_freelist_size(L, L->nfreelists - 1))
		out->freelist = __builtin_ctzll(size) - (int) L->freelist_minbits;
	return true;
}

/*
 * A Generation chunk header {size, [requested_size,] block, context}: the
 * block word must be the block being walked; a NULL context marks a freed
 * chunk.  palloc(0) makes a chunk of size 0 here.
 */
static bool
pg_gen_decode_common(const mcxt_layout *L, const unsigned char *hdr, uint64_t block_addr,
					 mcxt_hdr_info *out, const char **why, bool cassert)
{
	uint32_t	ptrs = cassert ? 16 : 8;
	uint64_t	size = pg_word(hdr, 0);

	memset(out, 0, sizeof(*out));
	out->freelist = -1;
	if (pg_word(hdr, ptrs) != block_addr)
	{
		*why = "chunk's block word is not its block";
		return false;
	}
	if (size % L->maxalign != 0 || size > L->max_block_size)
	{
		*why = "chunk size is not a multiple of 8";
		return false;
	}
	out->size = size;
	out->free_flag = pg_word(hdr, ptrs + 8) == 0;
	if (cassert)
	{
		out->requested = pg_word(hdr, 8);
		if (out->requested > size)
		{
			*why = "requested size larger than the chunk";
			return false;
		}
	}
	return true;
}

bool
mcxt_layout_pg_gen_decode(const mcxt_layout *L, const unsigned char *hdr, uint64_t hdr_addr,
						  uint64_t block_addr, mcxt_hdr_info *out, const char **why, unsigned variant)
{
	(void) hdr_addr;
	(void) variant;
	return pg_gen_decode_common(L, hdr, block_addr, out, why, false);
}

bool
mcxt_layout_pg_gen_decode_cassert(const mcxt_layout *L, const unsigned char *hdr,
								  uint64_t hdr_addr, uint64_t block_addr, mcxt_hdr_info *out,
								  const char **why, unsigned variant)
{
	(void) hdr_addr;
	(void) variant;
	return pg_gen_decode_common(L, hdr, block_addr, out, why, true);
}

/* ---- Generation ---------------------------------------------------------- */

/* GenerationBlock, the same in 11-15 */
#define PG_GEN_BLOCK_FIELDS \
	.hdr_size = 48, \
	.prev = {0, 8}, \
	.next = {8, 8}, \
	.blksize = {16, 8}, \
	.nchunks = {24, 4}, \
	.nfree = {28, 4}, \
	.freeptr = {32, 8}, \
	.endptr = {40, 8}, \
	.nvariants = 1

/* 11-14: {header, blockSize, block, blocks}; H is sizeof(MemoryContextData) */
#define PG_GEN_OLD(H, cassert_) { \
	.dlist = true, \
	.set_blocks = {(H) + 24, 8}, \
	.keeper_offset = -1, \
	.stats_header_bytes = (H) + 32, \
	.chunk_hdr_size = (cassert_) ? 32 : 24, \
	.decode = (cassert_) ? mcxt_layout_pg_gen_decode_cassert : mcxt_layout_pg_gen_decode, \
	PG_GEN_BLOCK_FIELDS }

static const mcxt_layout_blocks pg_gen_11 = PG_GEN_OLD(72, false);
static const mcxt_layout_blocks pg_gen_11_cassert = PG_GEN_OLD(72, true);
static const mcxt_layout_blocks pg_gen_13 = PG_GEN_OLD(80, false);
static const mcxt_layout_blocks pg_gen_13_cassert = PG_GEN_OLD(80, true);

/* 15: blocks at 136, sizeof 152, keeper block right after the context */
#define PG_GEN_15(cassert_) { \
	.dlist = true, \
	.set_blocks = {144, 8}, \
	.keeper_offset = 152, \
	.stats_header_bytes = 152, \
	.chunk_hdr_size = (cassert_) ? 32 : 24, \
	.decode = (cassert_) ? mcxt_layout_pg_gen_decode_cassert : mcxt_layout_pg_gen_decode, \
	PG_GEN_BLOCK_FIELDS }

static const mcxt_layout_blocks pg_gen_15 = PG_GEN_15(false);
static const mcxt_layout_blocks pg_gen_15_cassert = PG_GEN_15(true);

/* ---- Slab (11-15) -------------------------------------------------------- */

/*
 * SlabContext 11-15: {header, chunkSize, fullChunkSize, blockSize,
 * headerSize, int chunksPerBlock, int minFreeChunks, int nblocks,
 * [bool *freechunks (checking builds),] dlist_head freelist[chunksPerBlock
 * + 1]}; freelist[k] holds the blocks with k free chunks.  SlabBlock {dlist_node
 * node, int nfree, int firstFreeChunk}: 24 bytes, slots right after it, each
 * fullChunkSize bytes with a {block, slab} header.  SlabStats: total =
 * headerSize + blockSize per block on the lists, free = fullChunkSize per
 * free slot.  A free slot is known only through the block's chain of slot
 * indexes, so slots are not walked (counters only).
 */
#define PG_SLAB_OLD(H, cassert_) { \
	.full_chunk_size = {(H) + 8, 8}, \
	.block_size = {(H) + 16, 8}, \
	.header_size = {(H) + 24, 8}, \
	.chunks_per_block = {(H) + 32, 4}, \
	.nblocks = {(H) + 40, 4}, \
	.lists_offset = (H) + ((cassert_) ? 56 : 48), \
	.lists_from_cpb = true, \
	.dlist = true, \
	.node_offset = 0, \
	.hdr_size = 24, \
	.next = {8, 8}, \
	.nfree = {16, 4}, \
}

static const mcxt_layout_slab pg_slab_11 = PG_SLAB_OLD(72, false);
static const mcxt_layout_slab pg_slab_11_cassert = PG_SLAB_OLD(72, true);
static const mcxt_layout_slab pg_slab_13 = PG_SLAB_OLD(80, false);
static const mcxt_layout_slab pg_slab_13_cassert = PG_SLAB_OLD(80, true);

/* ---- the descriptors ------------------------------------------------------- */

/*
 * One descriptor.  H: sizeof(MemoryContextData), where AllocSetContext's
 * own fields start; P: offset of parent (firstchild, prevchild, nextchild,
 * name follow it, then ident when ID); MA: offset of mem_allocated (0:
 * none); ASZ: MAXALIGN(sizeof(AllocSetContext)); KEEPER: the AllocSet
 * header shares its malloc with the keeper block (11+); TA, TS, TG: the
 * AllocSet, Slab and Generation tags; GEN, SLAB: the Generation and Slab
 * descriptors or NULL; VERIFIED: the tags were read from that version's
 * nodes.h; NT: how many of the three types exist (10: 2, and its Slab is
 * not walked).
 */
#define PG_LAYOUT(NAME, MAJOR, CASSERT, H, P, MA, ID, ASZ, KEEPER, TA, TS, TG, GEN, SLAB, VERIFIED, NT) { \
	.name = NAME, \
	.allocator = "postgresql", \
	.major = MAJOR, \
	.cassert = CASSERT, \
	.dynahash_by_ident = true, \
	.tags_verified = VERIFIED, \
	.ptr_size = 8, \
	.maxalign = 8, \
	.root_kind = MCXT_ROOT_POINTER_VAR, \
	.root_symbol = "TopMemoryContext", \
	.ctx_size = ASZ, \
	.ctx_type = {0, 4}, \
	.types = { \
		{TA, "AllocSet", MCXT_KIND_ASET, NULL, NULL}, \
		{TS, "Slab", (NT) > 2 ? MCXT_KIND_SLAB : MCXT_KIND_OTHER, NULL, SLAB}, \
		{TG, "Generation", MCXT_KIND_BLOCKS, GEN, NULL}, \
	}, \
	.ntypes = NT, \
	.ctx_parent = {(P), 8}, \
	.ctx_firstchild = {(P) + 8, 8}, \
	.ctx_nextchild = {(P) + 24, 8}, \
	.ctx_name = {(P) + 32, 8}, \
	.ctx_ident = {(P) + 40, (ID) ? 8 : 0}, \
	.acct = {{"mem_allocated", {(MA), (MA) ? 8 : 0}}}, \
	.nacct = (MA) ? 1 : 0, \
	.set_blocks = {(H), 8}, \
	.set_freelist_offset = (H) + 8, \
	.nfreelists = 11, \
	.freelist_minbits = 3, \
	.keeper_offset = (KEEPER) ? (ASZ) : -1, \
	.stats_header_bytes = (KEEPER) ? (ASZ) : 0, \
	.blk_hdr_size = 40, \
	.blk_aset = {0, 8}, \
	.blk_prev = {8, 8}, \
	.blk_next = {16, 8}, \
	.blk_freeptr = {24, 8}, \
	.blk_endptr = {32, 8}, \
	.chunk_hdr_size = (CASSERT) ? 24 : 16, \
	.decode = pg_aset_decode, \
	.chunk_owner = {(CASSERT) ? 16 : 8, 8}, \
	.free_by_flag = false, \
	.link_offset = (CASSERT) ? 16 : 8, \
	.fl_ptr_offset = 0, \
	.max_block_size = (uint64_t) 1 << 40, \
}

/* 10: no ident, no mem_allocated, no Generation; header a chunk of the parent */
const mcxt_layout mcxt_layout_pg10 =
PG_LAYOUT("PostgreSQL 10", 10, false, 64, 16, 0, false, 200, false, 209, 210, 0, NULL, NULL, true, 2);
const mcxt_layout mcxt_layout_pg10_cassert =
PG_LAYOUT("PostgreSQL 10 (cassert)", 10, true, 64, 16, 0, false, 200, false, 209, 210, 0, NULL, NULL, true, 2);

/* 11 and 12: ident, Generation, header in the keeper; tags from TopMemoryContext */
const mcxt_layout mcxt_layout_pg11 =
PG_LAYOUT("PostgreSQL 11", 11, false, 72, 16, 0, true, 216, true, 0, 1, 2, &pg_gen_11, &pg_slab_11, false, 3);
const mcxt_layout mcxt_layout_pg11_cassert =
PG_LAYOUT("PostgreSQL 11 (cassert)", 11, true, 72, 16, 0, true, 216, true, 0, 1, 2, &pg_gen_11_cassert, &pg_slab_11_cassert, false, 3);
const mcxt_layout mcxt_layout_pg12 =
PG_LAYOUT("PostgreSQL 12", 12, false, 72, 16, 0, true, 216, true, 0, 1, 2, &pg_gen_11, &pg_slab_11, false, 3);
const mcxt_layout mcxt_layout_pg12_cassert =
PG_LAYOUT("PostgreSQL 12 (cassert)", 12, true, 72, 16, 0, true, 216, true, 0, 1, 2, &pg_gen_11_cassert, &pg_slab_11_cassert, false, 3);

/* 13 and 14: mem_allocated */
const mcxt_layout mcxt_layout_pg13 =
PG_LAYOUT("PostgreSQL 13", 13, false, 80, 24, 8, true, 224, true, 217, 218, 219, &pg_gen_13, &pg_slab_13, true, 3);
const mcxt_layout mcxt_layout_pg13_cassert =
PG_LAYOUT("PostgreSQL 13 (cassert)", 13, true, 80, 24, 8, true, 224, true, 217, 218, 219, &pg_gen_13_cassert, &pg_slab_13_cassert, true, 3);
const mcxt_layout mcxt_layout_pg14 =
PG_LAYOUT("PostgreSQL 14", 14, false, 80, 24, 8, true, 224, true, 222, 223, 224, &pg_gen_13, &pg_slab_13, true, 3);
const mcxt_layout mcxt_layout_pg14_cassert =
PG_LAYOUT("PostgreSQL 14 (cassert)", 14, true, 80, 24, 8, true, 224, true, 222, 223, 224, &pg_gen_13_cassert, &pg_slab_13_cassert, true, 3);

/* 15: the reworked Generation context */
const mcxt_layout mcxt_layout_pg15 =
PG_LAYOUT("PostgreSQL 15", 15, false, 80, 24, 8, true, 224, true, 223, 224, 225, &pg_gen_15, &pg_slab_13, true, 3);
const mcxt_layout mcxt_layout_pg15_cassert =
PG_LAYOUT("PostgreSQL 15 (cassert)", 15, true, 80, 24, 8, true, 224, true, 223, 224, 225, &pg_gen_15_cassert, &pg_slab_13_cassert, true, 3);

/* ---- selection ------------------------------------------------------------- */

typedef struct pg_layout_row
{
	int			major;
	bool		greenplum;
	const mcxt_layout *plain;
	const mcxt_layout *cassert;
} pg_layout_row;

/*
 * The selection table.  A version without a row has no descriptor (the
 * tool says so).  Rows for other versions are added here, pointing at
 * descriptors defined in their own files and declared in layout.h.
 */
static const pg_layout_row pg_layouts[] = {
	{10, false, &mcxt_layout_pg10, &mcxt_layout_pg10_cassert},
	{11, false, &mcxt_layout_pg11, &mcxt_layout_pg11_cassert},
	{12, false, &mcxt_layout_pg12, &mcxt_layout_pg12_cassert},
	{13, false, &mcxt_layout_pg13, &mcxt_layout_pg13_cassert},
	{14, false, &mcxt_layout_pg14, &mcxt_layout_pg14_cassert},
	{15, false, &mcxt_layout_pg15, &mcxt_layout_pg15_cassert},
	/* layout_pg16.c and layout_gp.c */
	{16, false, &mcxt_layout_pg16, &mcxt_layout_pg16_cassert},
	{17, false, &mcxt_layout_pg17, &mcxt_layout_pg17_cassert},
	{18, false, &mcxt_layout_pg18, &mcxt_layout_pg18_cassert},
	{6, true, &mcxt_layout_gp6, &mcxt_layout_gp6_cassert},
	{7, true, &mcxt_layout_gp7, &mcxt_layout_gp7_cassert},
};

const mcxt_layout *
mcxt_layout_pg_find(int major, bool greenplum, bool cassert)
{
	for (size_t i = 0; i < sizeof(pg_layouts) / sizeof(pg_layouts[0]); i++)
		if (pg_layouts[i].major == major && pg_layouts[i].greenplum == greenplum)
			return cassert ? pg_layouts[i].cassert : pg_layouts[i].plain;
	return NULL;
}
