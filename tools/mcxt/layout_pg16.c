/*
 * layout_pg16.c
 *	  Layout descriptors of PostgreSQL 16, 17 and 18 on x86-64 (LP64,
 *	  MAXALIGN 8), release builds and builds with MEMORY_CONTEXT_CHECKING
 *	  (--enable-cassert).
 *
 * Every number below is a fact read from that version's sources (never
 * copied code); the comment next to it says where.  Sources:
 *   [16]  pganalyze/libpg_query branch 16-latest (PostgreSQL 16.1):
 *         src/postgres/include/nodes/memnodes.h, nodetags.h,
 *         include/utils/memutils_internal.h, memutils_memorychunk.h,
 *         src_backend_utils_mmgr_{aset,generation,slab}.c
 *   [17]  pganalyze/libpg_query branch 17-latest-dev (PostgreSQL 17.0):
 *         the same files plus src_backend_utils_mmgr_bump.c
 *   [18]  PostgreSQL 18.3 (configure.ac AC_INIT 18.3), vendored unmodified
 *         in Ananya-L/DBIS-Project-SemiJoins: src/include/nodes/memnodes.h,
 *         src/include/utils/memutils_{internal,memorychunk}.h and
 *         src/backend/utils/mmgr/{aset,generation,slab,bump}.c; its
 *         NodeTag values were generated with that tree's own
 *         src/backend/nodes/gen_node_support.pl (nodetags.h is a build
 *         product, not in the tree).
 * Offsets of structs were computed from the member lists in those files
 * with the x86-64 ABI (and checked by compiling the member lists).
 *
 * What is common to 16-18:
 *  - MemoryContextData (memnodes.h [16][17][18]), 80 bytes: type (NodeTag)
 *    @0, isReset @4, allowInCritSection @5, mem_allocated @8, methods @16,
 *    parent @24, firstchild @32, prevchild @40, nextchild @48, name @56,
 *    ident @64, reset_cbs @72.
 *  - MemoryChunk (memutils_memorychunk.h): { [Size requested_size;] uint64
 *    hdrmask; }, 8 bytes, 16 with MEMORY_CONTEXT_CHECKING; hdrmask bits:
 *    method id (3 bits in 16, 4 in 17+: MEMORY_CONTEXT_METHODID_BITS in
 *    memutils_internal.h), then the external bit, then a 30-bit value
 *    (MEMORYCHUNK_MAX_VALUE 0x3FFFFFFF), then the block offset at bit 34
 *    (16: VALUE_BASEBIT + 30; 17+: VALUE_BASEBIT + 29, sharing one always-
 *    zero bit with the value, MEMORYCHUNK_BLOCKOFFSET_MASK 0x3FFFFFFE).
 *    External chunks hold MEMORYCHUNK_MAGIC (0xB1A8DB858EB6EFBA with the
 *    low VALUE_BASEBIT bits cleared) above the external bit.  The offset is
 *    chunk - block, where chunk is the MemoryChunk's own address (the
 *    requested_size word in checking builds).
 *  - Method ids (enum MemoryContextMethodID): ASET 3, GENERATION 4, SLAB 5,
 *    ALIGNED_REDIRECT 6, BUMP 7 (17+).
 *  - AllocSet (aset.c): AllocBlockData {aset, prev, next, freeptr, endptr},
 *    ALLOC_BLOCKHDRSZ 40; blocks @80 and freelist[11] @88 in the context;
 *    ALLOC_MINBITS 3; a small chunk's value is its freelist index (size 8 <<
 *    index); a freed chunk's link (AllocFreeListLink) is the first word of
 *    its user area (GetFreeListLink: chunk + ALLOC_CHUNKHDRSZ) and the
 *    freelist heads point at the MemoryChunk (so at requested_size in
 *    checking builds); checking builds set requested_size to
 *    InvalidAllocSize (SIZE_MAX) in free chunks.  External chunks sit alone
 *    right after the block header (ExternalChunkGetBlock).  AllocSetStats
 *    counts MAXALIGN(sizeof(AllocSetContext)) plus every block.
 *  - Generation (generation.c): GenerationBlock {dlist_node node; context;
 *    Size blksize; int nchunks; int nfree; freeptr; endptr}, 56 bytes; the
 *    blocks are a dlist (lib/ilist.h: circular, the head in the context);
 *    a chunk's value is its MAXALIGNed size (MAXALIGN(size + 1) in checking
 *    builds), free chunks in checking builds have requested_size SIZE_MAX;
 *    GenerationStats: MAXALIGN(sizeof(GenerationContext)) + the sum of
 *    blksize, free = sum of (endptr - freeptr), free chunks = sum of nfree,
 *    and it prints the sum of nchunks.
 *  - Slab (slab.c): SlabBlock {slab @0; int32 nfree @8; int32 nunused @12;
 *    freehead @16; unused @24; dlist_node node @32}, Slab_BLOCKHDRSZ 48;
 *    blocklist[3] dlists and an emptyblocks dclist; SlabStats: header
 *    Slab_CONTEXT_HDRSZ (sizeof(SlabContext), + chunksPerBlock bytes of
 *    isChunkFree in checking builds), plus blockSize for every block on the
 *    blocklists and the empty list, blocks and free space from the
 *    blocklists only.  Slab chunks are not walked here.  (SlabContextCreate
 *    is not in the 16 and 17 copies; the counters need only the fields
 *    above and Slab_CONTEXT_HDRSZ, which they have.)
 */
#include <string.h>

#include "layout.h"

#define FLD(o, s)	{ (o), (s) }
#define PTR(o)		FLD((o), 8)

/* MemoryContextData, all of 16-18 (memnodes.h) */
#define PG_CTX_TYPE			FLD(0, 4)
#define PG_CTX_MEMALLOC		PTR(8)
#define PG_CTX_PARENT		PTR(24)
#define PG_CTX_FIRSTCHILD	PTR(32)
#define PG_CTX_NEXTCHILD	PTR(48)
#define PG_CTX_NAME			PTR(56)
#define PG_CTX_IDENT		PTR(64)

/* MemoryContextMethodID (memutils_internal.h [16][17][18]) */
#define PG_MCTX_ASET_ID			3
#define PG_MCTX_GENERATION_ID	4
#define PG_MCTX_BUMP_ID			7

#define PG_ALLOC_BLOCKHDRSZ		40	/* MAXALIGN(sizeof(AllocBlockData)), aset.c */
#define PG_GEN_BLOCKHDRSZ		56	/* MAXALIGN(sizeof(GenerationBlock)), generation.c */
#define PG_ALLOCSET_NUM_FREELISTS 11	/* aset.c */
#define PG_MEMORYCHUNK_MAX_VALUE UINT64_C(0x3FFFFFFF)	/* memutils_memorychunk.h */
#define PG_MEMORYCHUNK_MAGIC	UINT64_C(0xB1A8DB858EB6EFBA)	/* memutils_memorychunk.h */
#define PG_INVALID_ALLOC_SIZE	UINT64_MAX	/* InvalidAllocSize, memutils.h */

static uint64_t
pg16_rd64(const unsigned char *p)
{
	uint64_t	v = 0;

	for (int i = 7; i >= 0; i--)
		v = (v << 8) | p[i];
	return v;
}

/*
 * Decode a MemoryChunk.  bits: method id bits (3 in 16, 4 in 17+);
 * checked: MEMORY_CONTEXT_CHECKING (requested_size first); method: the
 * owning type's id; ext_offset: where an external chunk sits in its block.
 * For AllocSet (aset) the value is a freelist index, else the chunk size.
 */
static bool
pg16_decode_chunk(const unsigned char *hdr, uint64_t hdr_addr, uint64_t block_addr,
				  mcxt_hdr_info *out, const char **why, unsigned bits, bool checked,
				  uint64_t method, uint64_t ext_offset, bool aset)
{
	uint64_t	h = pg16_rd64(hdr + (checked ? 8 : 0));
	uint64_t	req = checked ? pg16_rd64(hdr) : 0;
	unsigned	value_base = bits + 1;
	uint64_t	offset_mask = bits == 3 ? UINT64_C(0x3FFFFFFF) : UINT64_C(0x3FFFFFFE);
	uint64_t	value;

	memset(out, 0, sizeof(*out));
	out->freelist = -1;
	if ((h & ((UINT64_C(1) << bits) - 1)) != method)
	{
		*why = "method id is not the context's";
		return false;
	}
	if (checked && req == PG_INVALID_ALLOC_SIZE)
	{
		out->free_flag = true;	/* checking builds mark free chunks so */
		req = 0;
	}
	if (h & (UINT64_C(1) << bits))
	{
		if ((h >> value_base << value_base) != (PG_MEMORYCHUNK_MAGIC >> value_base << value_base))
		{
			*why = "external chunk without MEMORYCHUNK_MAGIC";
			return false;
		}
		if (hdr_addr - block_addr != ext_offset)
		{
			*why = "external chunk not at the start of its block";
			return false;
		}
		out->external = true;
		out->requested = req;
		return true;
	}
	if (((h >> 34) & offset_mask) != hdr_addr - block_addr)
	{
		*why = "block offset does not match the block";
		return false;
	}
	value = (h >> value_base) & PG_MEMORYCHUNK_MAX_VALUE;
	if (aset)
	{
		if (value >= PG_ALLOCSET_NUM_FREELISTS)
		{
			*why = "freelist index out of range";
			return false;
		}
		out->freelist = (int) value;
		out->size = UINT64_C(8) << value;
	}
	else
	{
		if (value % 8 != 0)
		{
			*why = "chunk size is not MAXALIGNed";
			return false;
		}
		out->size = value;
	}
	if (req > out->size)
	{
		*why = "requested size larger than the chunk";
		return false;
	}
	out->requested = req;
	return true;
}

#define PG16_DECODER(fname, bits, checked, method, ext, aset) \
static bool \
fname(const mcxt_layout *L, const unsigned char *hdr, uint64_t hdr_addr, \
	  uint64_t block_addr, mcxt_hdr_info *out, const char **why, unsigned variant) \
{ \
	(void) L; \
	(void) variant; \
	return pg16_decode_chunk(hdr, hdr_addr, block_addr, out, why, bits, checked, \
							 method, ext, aset); \
}

PG16_DECODER(pg16_aset_decode, 3, false, PG_MCTX_ASET_ID, PG_ALLOC_BLOCKHDRSZ, true)
PG16_DECODER(pg16c_aset_decode, 3, true, PG_MCTX_ASET_ID, PG_ALLOC_BLOCKHDRSZ, true)
PG16_DECODER(pg17_aset_decode, 4, false, PG_MCTX_ASET_ID, PG_ALLOC_BLOCKHDRSZ, true)
PG16_DECODER(pg17c_aset_decode, 4, true, PG_MCTX_ASET_ID, PG_ALLOC_BLOCKHDRSZ, true)
PG16_DECODER(pg16_gen_decode, 3, false, PG_MCTX_GENERATION_ID, PG_GEN_BLOCKHDRSZ, false)
PG16_DECODER(pg16c_gen_decode, 3, true, PG_MCTX_GENERATION_ID, PG_GEN_BLOCKHDRSZ, false)
PG16_DECODER(pg17_gen_decode, 4, false, PG_MCTX_GENERATION_ID, PG_GEN_BLOCKHDRSZ, false)
PG16_DECODER(pg17c_gen_decode, 4, true, PG_MCTX_GENERATION_ID, PG_GEN_BLOCKHDRSZ, false)
/* Bump, checking builds only: value = chunk size, external after the 40-byte block header */
PG16_DECODER(pg17c_bump_decode, 4, true, PG_MCTX_BUMP_ID, 40, false)

/*
 * Generation.  GenerationContext [16]: header, Size initBlockSize @80,
 * maxBlockSize @88, nextBlockSize @96, allocChunkLimit @104, block @112,
 * freeblock @120, keeper @128, dlist_head blocks @136; 152 bytes.  The
 * keeper block shares the header's malloc (GenerationDelete [16] frees "the
 * context header and keeper block" at once); that it starts right after the
 * header is [17][18]'s KeeperBlock() and is assumed for 16, whose
 * GenerationContextCreate the libpg_query copy leaves out.  [17][18]: the four sizes
 * became uint32 (@80..92), block @96, freeblock @104, no keeper field
 * (KeeperBlock(set) = set + MAXALIGN(sizeof(GenerationContext))), blocks
 * @112; 128 bytes.
 */
#define PG_GEN(lname, head, ctxsize, hdrsz, dec) \
static const mcxt_layout_blocks lname = { \
	.set_blocks = PTR((head) + 8), \
	.keeper_offset = (ctxsize), \
	.stats_header_bytes = (ctxsize), \
	.hdr_size = PG_GEN_BLOCKHDRSZ, \
	.owner = PTR(16), \
	.prev = PTR(0), \
	.next = PTR(8), \
	.freeptr = PTR(40), \
	.endptr = PTR(48), \
	.nfree = FLD(36, 4), \
	.nchunks = FLD(32, 4), \
	.blksize = PTR(24), \
	.dlist = true, \
	.node_offset = 0, \
	.chunk_hdr_size = (hdrsz), \
	.decode = dec, \
	.nvariants = 1, \
}

PG_GEN(pg16_generation, 136, 152, 8, pg16_gen_decode);
PG_GEN(pg16c_generation, 136, 152, 16, pg16c_gen_decode);
PG_GEN(pg17_generation, 112, 128, 8, pg17_gen_decode);
PG_GEN(pg17c_generation, 112, 128, 16, pg17c_gen_decode);

/*
 * Slab.  SlabContext [16]: header, Size chunkSize @80, fullChunkSize @88,
 * blockSize @96, int32 chunksPerBlock @104, curBlocklistIndex @108, (checking
 * builds: bool *isChunkFree @112), int32 blocklist_shift, dclist_head
 * emptyblocks @120 (checking 128), dlist_head blocklist[3] @144 (checking
 * 152); 192 bytes (200).  [17][18]: chunkSize, fullChunkSize, blockSize
 * became uint32 @80, 84, 88, chunksPerBlock @92, emptyblocks @104 (checking
 * 120), blocklist @128 (144); 176 bytes (192).  A dclist_head is {dlist_head
 * dlist; uint32 count}: count 16 bytes in.
 */
#define PG_SLAB(lname, szf, emptyat, listsat, ctxsize, perslot) \
static const mcxt_layout_slab lname = { \
	.full_chunk_size = FLD((szf) == 8 ? 88 : 84, szf), \
	.block_size = FLD((szf) == 8 ? 96 : 88, szf), \
	.chunks_per_block = FLD((szf) == 8 ? 104 : 92, 4), \
	.empty = PTR((emptyat) + 8), \
	.empty_count = FLD((emptyat) + 16, 4), \
	.lists_offset = (listsat), \
	.nlists = 3, \
	.hdr_size = 48, \
	.owner = PTR(0), \
	.next = PTR(40), \
	.nfree = FLD(8, 4), \
	.dlist = true, \
	.node_offset = 32, \
	.header_bytes = (ctxsize), \
	.header_bytes_per_slot = (perslot), \
	.pg_empty_rule = true, \
}

PG_SLAB(pg16_slab, 8, 120, 144, 192, 0);
PG_SLAB(pg16c_slab, 8, 128, 152, 200, 1);
PG_SLAB(pg17_slab, 4, 104, 128, 176, 0);
PG_SLAB(pg17c_slab, 4, 120, 144, 192, 1);

/*
 * Bump [17][18] (bump.c): BumpContext {header; uint32 initBlockSize @80,
 * maxBlockSize @84, nextBlockSize @88, allocChunkLimit @92; dlist_head
 * blocks @96}, 112 bytes, keeper block at set + 112 (KeeperBlock);
 * BumpBlock {dlist_node node; (checking builds: BumpContext *context);
 * freeptr; endptr}: 32 bytes, 40 in checking builds.  Bump chunks have no
 * header in release builds (Bump_CHUNKHDRSZ 0), so they are not walked
 * there; checking builds give each one a MemoryChunk (BumpAllocChunkFromBlock:
 * value = chunk size, requested_size set; BumpAllocLarge: external, alone
 * after the block header), and those are walked.  Bump never frees a chunk.
 * BumpStats counts the blocks only (totalspace starts at 0, the context
 * header is not counted) and prints no chunk counts.
 */
static const mcxt_layout_blocks pg17_bump = {
	.set_blocks = PTR(104),
	.keeper_offset = 112,
	.stats_header_bytes = 0,
	.hdr_size = 32,
	.prev = PTR(0),
	.next = PTR(8),
	.freeptr = PTR(16),
	.endptr = PTR(24),
	.dlist = true,
	.no_chunk_counts = true,
};

static const mcxt_layout_blocks pg17c_bump = {
	.set_blocks = PTR(104),
	.keeper_offset = 112,
	.stats_header_bytes = 0,
	.hdr_size = 40,
	.owner = PTR(16),
	.prev = PTR(0),
	.next = PTR(8),
	.freeptr = PTR(24),
	.endptr = PTR(32),
	.dlist = true,
	.no_chunk_counts = true,
	.chunk_hdr_size = 16,
	.decode = pg17c_bump_decode,
	.nvariants = 1,
};

/*
 * AllocSetContext [16]: header, blocks @80, freelist[11] @88, Size
 * initBlockSize @176, maxBlockSize @184, nextBlockSize @192,
 * allocChunkLimit @200, AllocBlock keeper @208, int freeListIndex @216; 224
 * bytes, the keeper block right after it.  [17][18]: the four sizes became
 * uint32 (@176..188), the keeper field went (KeeperBlock(set) = set +
 * MAXALIGN(sizeof(AllocSetContext))), freeListIndex @192; 200 bytes.
 *
 * Display: a "dynahash" context is shown by its ident
 * (MemoryContextStatsPrint [16][17][18]); 18 starts the levels at 1
 * (MemoryContextStatsDetail calls MemoryContextStatsInternal(context, 1,
 * ...) [18]; 16 and 17 pass 0); from 17 the "N more child contexts" summary
 * counts whole subtrees (MemoryContextTraverseNext [17][18]), in 16 only the
 * children.
 *
 * NodeTags: [16] nodetags.h T_AllocSetContext 450, T_GenerationContext 451,
 * T_SlabContext 452; [17] nodetags.h 469, 470, 471, T_BumpContext 472; [18]
 * generated 474, 475, 476, 477.
 */
#define PG_LAYOUT(lname, label, maj, chk, tag0, asetsize, hdrsz, dec, gen, slab, bump, ntyp) \
const mcxt_layout lname = { \
	.name = label, \
	.allocator = "postgresql", \
	.major = (maj), \
	.cassert = (chk), \
	.dynahash_by_ident = true, \
	.level_base = (maj) >= 18 ? 1 : 0, \
	.summary_counts_descendants = (maj) >= 17, \
	.tags_verified = true, \
	.ptr_size = 8, \
	.maxalign = 8, \
	.root_kind = MCXT_ROOT_POINTER_VAR, \
	.root_symbol = "TopMemoryContext", \
	.ctx_size = 224,			/* the largest context struct read */ \
	.ctx_type = PG_CTX_TYPE, \
	.types = { \
		{(tag0), "AllocSet", MCXT_KIND_ASET, NULL, NULL}, \
		{(tag0) + 1, "Generation", MCXT_KIND_BLOCKS, (gen), NULL}, \
		{(tag0) + 2, "Slab", MCXT_KIND_SLAB, NULL, (slab)}, \
		{(tag0) + 3, "Bump", MCXT_KIND_BLOCKS, (bump), NULL}, \
	}, \
	.ntypes = (ntyp), \
	.ctx_parent = PG_CTX_PARENT, \
	.ctx_firstchild = PG_CTX_FIRSTCHILD, \
	.ctx_nextchild = PG_CTX_NEXTCHILD, \
	.ctx_name = PG_CTX_NAME, \
	.ctx_ident = PG_CTX_IDENT, \
	.acct = {{"mem_allocated", PG_CTX_MEMALLOC}}, \
	.nacct = 1, \
	.set_blocks = PTR(80), \
	.set_freelist_offset = 88, \
	.nfreelists = PG_ALLOCSET_NUM_FREELISTS, \
	.freelist_minbits = 3, \
	.keeper_offset = (asetsize), \
	.stats_header_bytes = (asetsize), \
	.blk_hdr_size = PG_ALLOC_BLOCKHDRSZ, \
	.blk_aset = PTR(0), \
	.blk_prev = PTR(8), \
	.blk_next = PTR(16), \
	.blk_freeptr = PTR(24), \
	.blk_endptr = PTR(32), \
	.chunk_hdr_size = (hdrsz), \
	.decode = dec, \
	.free_by_flag = false,		/* release builds: only the freelists say */ \
	.link_offset = (hdrsz),		/* GetFreeListLink: the user area */ \
	.fl_ptr_offset = 0,			/* heads point at the MemoryChunk */ \
	.max_block_size = (uint64_t) 1 << 40, \
}

PG_LAYOUT(mcxt_layout_pg16, "PostgreSQL 16", 16, false, 450, 224, 8, pg16_aset_decode,
		  &pg16_generation, &pg16_slab, NULL, 3);
PG_LAYOUT(mcxt_layout_pg16_cassert, "PostgreSQL 16 (cassert)", 16, true, 450, 224, 16, pg16c_aset_decode,
		  &pg16c_generation, &pg16c_slab, NULL, 3);
PG_LAYOUT(mcxt_layout_pg17, "PostgreSQL 17", 17, false, 469, 200, 8, pg17_aset_decode,
		  &pg17_generation, &pg17_slab, &pg17_bump, 4);
PG_LAYOUT(mcxt_layout_pg17_cassert, "PostgreSQL 17 (cassert)", 17, true, 469, 200, 16, pg17c_aset_decode,
		  &pg17c_generation, &pg17c_slab, &pg17c_bump, 4);

/*
 * 18 [18]: MemoryContextData, MemoryChunk, AllocSet, Generation, Slab and
 * Bump structs are as in 17 (diffed: only comments changed); only the
 * NodeTag values moved.
 */
PG_LAYOUT(mcxt_layout_pg18, "PostgreSQL 18", 18, false, 474, 200, 8, pg17_aset_decode,
		  &pg17_generation, &pg17_slab, &pg17_bump, 4);
PG_LAYOUT(mcxt_layout_pg18_cassert, "PostgreSQL 18 (cassert)", 18, true, 474, 200, 16, pg17c_aset_decode,
		  &pg17c_generation, &pg17c_slab, &pg17c_bump, 4);
