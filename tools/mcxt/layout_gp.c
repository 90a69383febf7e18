/*
 * layout_gp.c
 *	  Layout descriptors of Greenplum 6 (PostgreSQL 9.4 base) and Greenplum 7
 *	  (PostgreSQL 12 base) on x86-64, release builds and builds with
 *	  MEMORY_CONTEXT_CHECKING (--enable-cassert).
 *
 * Every number is a fact read from the sources named next to it (never
 * copied code).  Sources:
 *   [GP6] Greenplum 6.24.3 snapshot, vderic/gpdb6.24.3 @585e934:
 *         src/include/nodes/memnodes.h, nodes.h, src/include/utils/memutils.h,
 *         gp_alloc.h, palloc.h, src/backend/utils/mmgr/aset.c, mcxt.c
 *   [GP7] Greenplum 7 (greenplum-db/gpdb-archive, main):
 *         src/include/nodes/memnodes.h, src/backend/utils/mmgr/aset.c,
 *         generation.c and slab.c @2e58915 (slab.c also @0f5f663, the same
 *         structs), src/include/nodes/nodes.h @8a9fc72
 * Offsets were computed from the member lists with the x86-64 ABI (and
 * checked by compiling the member lists).
 *
 * Greenplum 6 differs from every PostgreSQL since 9.x in ways the walker
 * needed descriptor features for:
 *  - MemoryContextData [GP6 memnodes.h] embeds its MemoryContextMethods (10
 *    function pointers, 11 with MEMORY_CONTEXT_CHECKING: check) instead of
 *    pointing at it, so every later field moves by 8 in checking builds;
 *    there is no prevchild and no ident; the CDB lifetime counters
 *    allBytesAlloc, allBytesFreed, maxBytesHeld, localMinHeld follow isReset
 *    (CDB_PALLOC_CALLER_ID, which would add two fields, is commented out in
 *    palloc.h).  Context names are copied into the node's own allocation
 *    (MemoryContextCreate: name = node + size), which lives in
 *    TopMemoryContext, so they are in the heap, not in the executable.
 *  - AllocBlockData [GP6 aset.c] is {aset, prev, next, freeptr}: no endptr.
 *    Blocks come from gp_malloc, whose VmemHeader [gp_alloc.h] ({[int64
 *    checksum, assert builds only]; size_t size}) sits right before the
 *    block: the block ends at block + that size (UserPtr_GetEndPtr).
 *  - AllocChunkData [GP6 aset.c] is {SharedChunkHeader *sharedHeader; Size
 *    size; [Size requested_size]}: the context is reached through the shared
 *    header (memutils.h: {context, memoryAccountId, balance, prev, next}),
 *    and in a free chunk sharedHeader is the freelist link.
 *  - The context header is a chunk of TopMemoryContext, and the keeper block
 *    a separate gp_malloc (AllocSetContextCreate with minContextSize), so
 *    there is no keeper at a fixed offset; its own stats function
 *    (AllocSet_GetStats) reports allBytesAlloc/allBytesFreed/maxBytesHeld,
 *    which we show as named counters, and our counters follow PostgreSQL
 *    9.4's AllocSetStats: the blocks only, freelists at size + header.
 *
 * Greenplum 7 is PostgreSQL 12's aset.c with accounting fields added to
 * AllocSetContext, blocks from gp_malloc but with endptr kept.
 */
#include <string.h>

#include "layout.h"

#define FLD(o, s)	{ (o), (s) }
#define PTR(o)		FLD((o), 8)

static uint64_t
gp_rd64(const unsigned char *p)
{
	uint64_t	v = 0;

	for (int i = 7; i >= 0; i--)
		v = (v << 8) | p[i];
	return v;
}

/*
 * A 9.4/12-style AllocChunk: its size word (at size_at) is the usable size,
 * a power of two from 8 to 8192 for freelist chunks (ALLOC_MINBITS 3,
 * ALLOCSET_NUM_FREELISTS 11 in both aset.c), MAXALIGNed for a chunk alone
 * in its block; checking builds keep requested_size (at req_at), 0 in free
 * chunks.
 */
static bool
gp_decode_chunk(const unsigned char *hdr, mcxt_hdr_info *out, const char **why,
				unsigned size_at, int req_at)
{
	uint64_t	size = gp_rd64(hdr + size_at);

	memset(out, 0, sizeof(*out));
	out->freelist = -1;
	if (size < 8 || size % 8 != 0 || size > ((uint64_t) 1 << 40))
	{
		*why = "chunk size is not a MAXALIGNed size";
		return false;
	}
	out->size = size;
	if ((size & (size - 1)) == 0 && size <= 8192)
	{
		int			i = 0;

		while ((UINT64_C(8) << i) < size)
			i++;
		out->freelist = i;
	}
	if (req_at >= 0)
	{
		out->requested = gp_rd64(hdr + req_at);
		if (out->requested > size)
		{
			*why = "requested size larger than the chunk";
			return false;
		}
	}
	return true;
}

#define GP_DECODER(fname, size_at, req_at) \
static bool \
fname(const mcxt_layout *L, const unsigned char *hdr, uint64_t hdr_addr, \
	  uint64_t block_addr, mcxt_hdr_info *out, const char **why, unsigned variant) \
{ \
	(void) L; \
	(void) hdr_addr; \
	(void) block_addr; \
	(void) variant; \
	return gp_decode_chunk(hdr, out, why, size_at, req_at); \
}

/* [GP6 aset.c] AllocChunkData {sharedHeader @0, size @8, [requested_size @16]} */
GP_DECODER(gp6_decode, 8, -1)
GP_DECODER(gp6c_decode, 8, 16)
/* [GP7 aset.c] AllocChunkData {size @0, [requested_size @8], aset @8 / @16} */
GP_DECODER(gp7_decode, 0, -1)
GP_DECODER(gp7c_decode, 0, 8)

/*
 * Greenplum 6 [GP6].  MemoryContextData: type @0, methods (embedded) @8,
 * parent @88, firstchild @96, nextchild @104, name @112, isReset @120,
 * allBytesAlloc @128, allBytesFreed @136, maxBytesHeld @144, localMinHeld
 * @152; 160 bytes; checking builds +8 from parent on (168).
 * AllocSetContext [memutils.h]: header, blocks, freelist[11], four Size
 * parameters, keeper, sharedHeaderList, nullAccountHeader: blocks @160 and
 * freelist @168, 312 bytes (checking: @168, @176, 320).  NodeTag [nodes.h]:
 * T_MemoryContext = 600, T_AllocSetContext 601.  ALLOC_BLOCKHDRSZ 32,
 * ALLOC_CHUNKHDRSZ MAXALIGN(sizeof(AllocChunkData)) = 16 (24).
 */
#define GP6_LAYOUT(lname, label, d, hdrsz, dec) \
const mcxt_layout lname = { \
	.name = label, \
	.allocator = "greenplum", \
	.major = 6, \
	.cassert = (d) != 0, \
	.dynahash_by_ident = false,	/* no idents in 9.4 */ \
	.tags_verified = true, \
	.ptr_size = 8, \
	.maxalign = 8, \
	.root_kind = MCXT_ROOT_POINTER_VAR, \
	.root_symbol = "TopMemoryContext", \
	.ctx_size = 312 + (d), \
	.ctx_type = FLD(0, 4), \
	.types = {{601, "AllocSet", MCXT_KIND_ASET, NULL, NULL}}, \
	.ntypes = 1, \
	.ctx_parent = PTR(88 + (d)), \
	.ctx_firstchild = PTR(96 + (d)), \
	.ctx_nextchild = PTR(104 + (d)), \
	.ctx_name = PTR(112 + (d)), \
	.ctx_ident = FLD(0, 0),		/* no ident in 9.4 */ \
	.acct = { \
		{"allBytesAlloc", PTR(128 + (d))}, \
		{"allBytesFreed", PTR(136 + (d))}, \
		{"maxBytesHeld", PTR(144 + (d))}, \
	}, \
	.nacct = 3, \
	.set_blocks = PTR(160 + (d)), \
	.set_freelist_offset = 168 + (d), \
	.nfreelists = 11, \
	.freelist_minbits = 3, \
	.keeper_offset = -1,		/* a separate gp_malloc */ \
	.stats_header_bytes = 0,	/* 9.4's AllocSetStats counts blocks only */ \
	.blk_hdr_size = 32, \
	.blk_aset = PTR(0), \
	.blk_prev = PTR(8), \
	.blk_next = PTR(16), \
	.blk_freeptr = PTR(24), \
	.blk_endptr = FLD(0, 0), \
	.blk_size_before = 8,		/* VmemHeader.size, the word before the block */ \
	.chunk_hdr_size = (hdrsz), \
	.decode = dec, \
	.free_by_flag = false, \
	.link_offset = 0,			/* sharedHeader is the freelist link */ \
	.fl_ptr_offset = 0, \
	.max_block_size = (uint64_t) 1 << 40, \
}

GP6_LAYOUT(mcxt_layout_gp6, "Greenplum 6", 0, 16, gp6_decode);
GP6_LAYOUT(mcxt_layout_gp6_cassert, "Greenplum 6 (cassert)", 8, 24, gp6c_decode);

/*
 * Greenplum 7 [GP7].  MemoryContextData as PostgreSQL 13 (type @0,
 * mem_allocated @8, methods pointer @16, parent @24, firstchild @32,
 * prevchild @40, nextchild @48, name @56, ident @64, reset_cbs @72; 80
 * bytes).  AllocSetContext: blocks @80, freelist[11] @88, Size parameters
 * @176..200, keeper @208, int freeListIndex @216, then the GPDB accounting
 * fields accountingParent @224, localAllocated @232, currentAllocated @240,
 * peakAllocated @248; 256 bytes, the keeper block at set + 256
 * (AllocSetContextCreateInternal); AllocSetStats counts
 * MAXALIGN(sizeof(AllocSetContext)) plus the blocks.  AllocBlockData
 * {aset, prev, next, freeptr, endptr}, 40 bytes.  NodeTag [nodes.h]:
 * T_CdbMotionPath = 580 and four more, so T_MemoryContext 585,
 * T_AllocSetContext 586, T_SlabContext 587, T_GenerationContext 588.
 * The GPDB accounting fields are AllocSetContext's own (aset_only): a Slab
 * or Generation context has mem_allocated only.
 *
 * Its Generation and Slab [GP7 generation.c, slab.c] are PostgreSQL 12's
 * structs after Greenplum 7's 80-byte MemoryContextData, so at the offsets
 * of PostgreSQL 13's (layout_pg.c), and both malloc their blocks (not
 * gp_malloc):
 *  - GenerationContext {header, Size blockSize @80, block @88, dlist_head
 *    blocks @96 (its next pointer @104)}, 112 bytes, a malloc of its own
 *    (no keeper); GenerationBlock {dlist_node node, Size blksize @16, int
 *    nchunks @24, int nfree @28, freeptr @32, endptr @40}, 48 bytes;
 *    GenerationChunk {size, [requested_size,] block, context}, 24 bytes (32
 *    checking), context NULL once freed; a chunk over blockSize / 8 gets a
 *    block of its own, full (freeptr = endptr).  GenerationStats: total =
 *    MAXALIGN(sizeof(GenerationContext)) + the blksize of every block, free
 *    = the sum of endptr - freeptr, "(N chunks)" after the blocks.
 *  - SlabContext {header, Size chunkSize @80, fullChunkSize @88, blockSize
 *    @96, headerSize @104, int chunksPerBlock @112, minFreeChunks @116,
 *    nblocks @120, [bool *freechunks @128 (checking)], dlist_head
 *    freelist[chunksPerBlock + 1] @128 (@136)}; SlabBlock {dlist_node node,
 *    int nfree @16, int firstFreeChunk @20}, 24 bytes; fullChunkSize =
 *    16 + MAXALIGN(chunkSize).  SlabStats: total = headerSize + blockSize
 *    per block on the lists, free = fullChunkSize per free slot, the line
 *    without empty blocks (an empty block is freed at once).
 */
static const mcxt_layout_blocks gp7_gen = {
	.dlist = true,
	.set_blocks = PTR(104),
	.keeper_offset = -1,
	.stats_header_bytes = 112,
	.hdr_size = 48,
	.prev = PTR(0),
	.next = PTR(8),
	.blksize = PTR(16),
	.nchunks = FLD(24, 4),
	.nfree = FLD(28, 4),
	.freeptr = PTR(32),
	.endptr = PTR(40),
	.chunk_hdr_size = 24,
	.decode = mcxt_layout_pg_gen_decode,
	.nvariants = 1,
};

static const mcxt_layout_blocks gp7_gen_cassert = {
	.dlist = true,
	.set_blocks = PTR(104),
	.keeper_offset = -1,
	.stats_header_bytes = 112,
	.hdr_size = 48,
	.prev = PTR(0),
	.next = PTR(8),
	.blksize = PTR(16),
	.nchunks = FLD(24, 4),
	.nfree = FLD(28, 4),
	.freeptr = PTR(32),
	.endptr = PTR(40),
	.chunk_hdr_size = 32,
	.decode = mcxt_layout_pg_gen_decode_cassert,
	.nvariants = 1,
};

#define GP7_SLAB(lists_at) { \
	.full_chunk_size = PTR(88), \
	.block_size = PTR(96), \
	.header_size = PTR(104), \
	.chunks_per_block = FLD(112, 4), \
	.nblocks = FLD(120, 4), \
	.lists_offset = (lists_at), \
	.lists_from_cpb = true, \
	.dlist = true, \
	.node_offset = 0, \
	.hdr_size = 24, \
	.next = PTR(8), \
	.nfree = FLD(16, 4), \
}

static const mcxt_layout_slab gp7_slab = GP7_SLAB(128);
static const mcxt_layout_slab gp7_slab_cassert = GP7_SLAB(136);

#define GP7_LAYOUT(lname, label, hdrsz, dec) \
const mcxt_layout lname = { \
	.name = label, \
	.allocator = "greenplum", \
	.major = 7, \
	.cassert = (hdrsz) == 24, \
	.dynahash_by_ident = true,	/* PostgreSQL 12's MemoryContextStatsPrint */ \
	.tags_verified = true, \
	.ptr_size = 8, \
	.maxalign = 8, \
	.root_kind = MCXT_ROOT_POINTER_VAR, \
	.root_symbol = "TopMemoryContext", \
	.ctx_size = 256, \
	.ctx_type = FLD(0, 4), \
	.types = { \
		{586, "AllocSet", MCXT_KIND_ASET, NULL, NULL}, \
		{587, "Slab", MCXT_KIND_SLAB, NULL, (hdrsz) == 24 ? &gp7_slab_cassert : &gp7_slab}, \
		{588, "Generation", MCXT_KIND_BLOCKS, \
		 (hdrsz) == 24 ? &gp7_gen_cassert : &gp7_gen, NULL}, \
	}, \
	.ntypes = 3, \
	.ctx_parent = PTR(24), \
	.ctx_firstchild = PTR(32), \
	.ctx_nextchild = PTR(48), \
	.ctx_name = PTR(56), \
	.ctx_ident = PTR(64), \
	.acct = { \
		{"mem_allocated", PTR(8)}, \
		{"localAllocated", PTR(232), true}, \
		{"currentAllocated", PTR(240), true}, \
		{"peakAllocated", PTR(248), true}, \
	}, \
	.nacct = 4, \
	.set_blocks = PTR(80), \
	.set_freelist_offset = 88, \
	.nfreelists = 11, \
	.freelist_minbits = 3, \
	.keeper_offset = 256, \
	.stats_header_bytes = 256, \
	.blk_hdr_size = 40, \
	.blk_aset = PTR(0), \
	.blk_prev = PTR(8), \
	.blk_next = PTR(16), \
	.blk_freeptr = PTR(24), \
	.blk_endptr = PTR(32), \
	.chunk_hdr_size = (hdrsz), \
	.decode = dec, \
	.chunk_owner = PTR((hdrsz) - 8),	/* aset, right before the user pointer */ \
	.free_by_flag = false, \
	.link_offset = (hdrsz) - 8,	/* the aset word is the freelist link */ \
	.fl_ptr_offset = 0, \
	.max_block_size = (uint64_t) 1 << 40, \
}

GP7_LAYOUT(mcxt_layout_gp7, "Greenplum 7", 16, gp7_decode);
GP7_LAYOUT(mcxt_layout_gp7_cassert, "Greenplum 7 (cassert)", 24, gp7c_decode);
