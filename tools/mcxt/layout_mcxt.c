/*
 * layout_mcxt.c
 *	  The layout descriptor of libmcxt, built with offsetof and sizeof on the
 *	  library's own on-heap structs (../../src/chunk.h), so a change there
 *	  changes the tool with it; MCXT_LAYOUT_VERSION is checked against the
 *	  registry of the image before anything else is trusted.
 */
#include <stddef.h>
#include <string.h>

#include "../../src/chunk.h"
#include "layout.h"

#define MCXT_LAYOUT_STR2(x) #x
#define MCXT_LAYOUT_STR(x) MCXT_LAYOUT_STR2(x)

#define F(type, member) \
	{ (uint32_t) offsetof(type, member), (uint32_t) sizeof(((type *) 0)->member) }

/*
 * An AllocSet chunk header: type id ASET, block offset equal to where we
 * are in the block, and either the external flag (then the chunk is the
 * block's only one, right after the block header) or a freelist index.
 */
static bool
layout_mcxt_decode(const mcxt_layout *L, const unsigned char *hdr, uint64_t hdr_addr,
				   uint64_t block_addr, mcxt_hdr_info *out, const char **why, unsigned variant)
{
	uint64_t	h;
	uint64_t	value;

	(void) variant;				/* the index and the requested size never overlap */
	memcpy(&h, hdr, sizeof(h));
	memset(out, 0, sizeof(*out));
	out->freelist = -1;
	if (mcxt_chunk_hdr_type(h) != MCXT_TYPE_ASET)
	{
		*why = "type id is not AllocSet";
		return false;
	}
	if (mcxt_chunk_hdr_offset(h) != hdr_addr - block_addr)
	{
		*why = "block offset does not match the block";
		return false;
	}
	out->free_flag = (h & MCXT_CHUNK_FREE) != 0;
	value = mcxt_chunk_hdr_value(h);
	if (h & MCXT_CHUNK_EXTERNAL)
	{
		if (hdr_addr - block_addr != MCXT_ASET_BLOCKHDRSZ)
		{
			*why = "external chunk not at the start of its block";
			return false;
		}
		out->external = true;
		out->requested = value;	/* checking builds; 0 otherwise */
		return true;
	}
	/* small chunk: the freelist index, and above it the requested size in checking builds */
	if ((value & MCXT_ASET_IDX_MASK) >= L->nfreelists)
	{
		*why = "freelist index out of range";
		return false;
	}
	out->freelist = (int) (value & MCXT_ASET_IDX_MASK);
	out->size = mcxt_layout_freelist_size(L, (unsigned) out->freelist);
	out->requested = value >> MCXT_ASET_IDX_BITS;
	if (out->requested > out->size)
	{
		*why = "requested size larger than the chunk";
		return false;
	}
	return true;
}

/*
 * A Generation chunk header.  Its value is the chunk size in release builds
 * (variant 0) and the requested size in checked builds, where the chunk is
 * max(8, MCXT_ALIGN(requested + tail room)) bytes: the tail room is 1 (the
 * sentinel) in a checking build (variant 1), 8 (the site word) in a sites
 * build (variant 2), 9 in a checking sites build (variant 3).  The
 * registry's flavour says which; the walker finds it from the chunks.
 */
static const unsigned layout_mcxt_gen_tail[] = {0, 1, MCXT_SITE_ROOM_BYTES, MCXT_SITE_ROOM_BYTES + 1};

static bool
layout_mcxt_gen_decode(const mcxt_layout *L, const unsigned char *hdr, uint64_t hdr_addr,
					   uint64_t block_addr, mcxt_hdr_info *out, const char **why,
					   unsigned variant)
{
	uint64_t	h;
	uint64_t	value;

	(void) L;
	memcpy(&h, hdr, sizeof(h));
	memset(out, 0, sizeof(*out));
	out->freelist = -1;
	if (mcxt_chunk_hdr_type(h) != MCXT_TYPE_GENERATION)
	{
		*why = "type id is not Generation";
		return false;
	}
	if (mcxt_chunk_hdr_offset(h) != hdr_addr - block_addr)
	{
		*why = "block offset does not match the block";
		return false;
	}
	out->free_flag = (h & MCXT_CHUNK_FREE) != 0;
	value = mcxt_chunk_hdr_value(h);
	if (h & MCXT_CHUNK_EXTERNAL)
	{
		if (hdr_addr - block_addr != MCXT_GEN_BLOCKHDRSZ)
		{
			*why = "external chunk not at the start of its block";
			return false;
		}
		out->external = true;
		out->requested = variant != 0 ? value : 0;
		return true;
	}
	if (variant == 0)
	{
		if (value < MCXT_MAXALIGN || value % MCXT_MAXALIGN != 0)
		{
			*why = "chunk size is not a positive multiple of 8";
			return false;
		}
		out->size = value;
	}
	else
	{
		uint64_t	n = MCXT_ALIGN(value + layout_mcxt_gen_tail[variant & 3]);

		out->size = n < MCXT_MAXALIGN ? MCXT_MAXALIGN : n;
		out->requested = value;
	}
	return true;
}

static const mcxt_layout_blocks layout_mcxt_generation = {
	.set_blocks = F(mcxt_generation, blocks),
	.keeper_offset = (int64_t) MCXT_GEN_KEEPER_OFFSET,
	.stats_header_bytes = (uint32_t) MCXT_GEN_KEEPER_OFFSET,
	.hdr_size = (uint32_t) MCXT_GEN_BLOCKHDRSZ,
	.owner = F(mcxt_gen_block, context),
	.prev = F(mcxt_gen_block, prev),
	.next = F(mcxt_gen_block, next),
	.freeptr = F(mcxt_gen_block, freeptr),
	.endptr = F(mcxt_gen_block, endptr),
	.check = F(mcxt_gen_block, check),
	.check_xor = MCXT_BLOCK_MAGIC,
	.nfree = F(mcxt_gen_block, nfree),
	.chunk_hdr_size = (uint32_t) MCXT_CHUNK_HDRSZ,
	.decode = layout_mcxt_gen_decode,
	.nvariants = 4,
};

static const mcxt_layout_blocks layout_mcxt_bump = {
	.set_blocks = F(mcxt_bump, blocks),
	.keeper_offset = (int64_t) MCXT_BUMP_KEEPER_OFFSET,
	.stats_header_bytes = (uint32_t) MCXT_BUMP_KEEPER_OFFSET,
	.hdr_size = (uint32_t) MCXT_BUMP_BLOCKHDRSZ,
	.owner = F(mcxt_bump_block, context),
	.next = F(mcxt_bump_block, next),
	.freeptr = F(mcxt_bump_block, freeptr),
	.endptr = F(mcxt_bump_block, endptr),
	.check = F(mcxt_bump_block, check),
	.check_xor = MCXT_BLOCK_MAGIC,
};

/* A Slab slot header: the slot size comes from the context, not from here. */
static bool
layout_mcxt_slab_decode(const mcxt_layout *L, const unsigned char *hdr, uint64_t hdr_addr,
						uint64_t block_addr, mcxt_hdr_info *out, const char **why,
						unsigned variant)
{
	uint64_t	h;

	(void) L;
	(void) variant;
	memcpy(&h, hdr, sizeof(h));
	memset(out, 0, sizeof(*out));
	out->freelist = -1;
	if (mcxt_chunk_hdr_type(h) != MCXT_TYPE_SLAB || (h & MCXT_CHUNK_EXTERNAL))
	{
		*why = "type id is not Slab";
		return false;
	}
	if (mcxt_chunk_hdr_offset(h) != hdr_addr - block_addr)
	{
		*why = "block offset does not match the block";
		return false;
	}
	out->free_flag = (h & MCXT_CHUNK_FREE) != 0;
	out->requested = mcxt_chunk_hdr_value(h);
	return true;
}

static const mcxt_layout_slab layout_mcxt_slab = {
	.full_chunk_size = F(mcxt_slab, full_chunk_size),
	.block_size = F(mcxt_slab, block_size),
	.chunks_per_block = F(mcxt_slab, chunks_per_block),
	.nempty = F(mcxt_slab, nempty),
	.nblocks = F(mcxt_slab, nblocks),
	.header_size = F(mcxt_slab, header_size),
	.empty = F(mcxt_slab, empty),
	.lists_offset = (uint32_t) offsetof(mcxt_slab, lists),
	.nlists = MCXT_SLAB_NLISTS,
	.hdr_size = (uint32_t) MCXT_SLAB_BLOCKHDRSZ,
	.owner = F(mcxt_slab_block, slab),
	.next = F(mcxt_slab_block, next),
	.nfree = F(mcxt_slab_block, nfree),
	.check = F(mcxt_slab_block, check),
	.check_xor = MCXT_BLOCK_MAGIC,
	.unused = F(mcxt_slab_block, unused),
	.chunk_hdr_size = (uint32_t) MCXT_CHUNK_HDRSZ,
	.decode = layout_mcxt_slab_decode,
};

#define LAYOUT_MAX(a, b)	((a) > (b) ? (a) : (b))

const mcxt_layout mcxt_layout_libmcxt = {
	.name = "libmcxt v" MCXT_LAYOUT_STR(MCXT_LAYOUT_VERSION),
	.allocator = "libmcxt",
	.summary_counts_descendants = true,
	.ptr_size = sizeof(void *),
	.maxalign = MCXT_MAXALIGN,

	.root_kind = MCXT_ROOT_REGISTRY,
	.root_symbol = "mcxt_registry",
	.reg_magic = MCXT_REGISTRY_MAGIC,
	.reg_magic_len = sizeof(((mcxt_registry_t *) 0)->magic),
	.reg_size = sizeof(mcxt_registry_t),
	.reg_version = F(mcxt_registry_t, layout_version),
	.reg_version_value = MCXT_LAYOUT_VERSION,
	.reg_threads = F(mcxt_registry_t, threads),
	.thr_size = sizeof(mcxt_thread_entry),
	.thr_magic = F(mcxt_thread_entry, magic),
	.thr_magic_value = MCXT_THREAD_MAGIC,
	.thr_next = F(mcxt_thread_entry, next),
	.thr_top = F(mcxt_thread_entry, top),
	.thr_tid = F(mcxt_thread_entry, tid),

	.ctx_size = LAYOUT_MAX(LAYOUT_MAX(sizeof(mcxt_aset), sizeof(mcxt_slab)),
						   LAYOUT_MAX(sizeof(mcxt_generation), sizeof(mcxt_bump))),
	.ctx_magic = F(mcxt_context, magic),
	.ctx_magic_value = MCXT_CONTEXT_MAGIC,
	.ctx_type = F(mcxt_context, type),
	.types = {
		{MCXT_TYPE_ASET, "AllocSet", MCXT_KIND_ASET, NULL, NULL},
		{MCXT_TYPE_GENERATION, "Generation", MCXT_KIND_BLOCKS, &layout_mcxt_generation, NULL},
		{MCXT_TYPE_SLAB, "Slab", MCXT_KIND_SLAB, NULL, &layout_mcxt_slab},
		{MCXT_TYPE_BUMP, "Bump", MCXT_KIND_BLOCKS, &layout_mcxt_bump, NULL},
	},
	.ntypes = 4,
	.ctx_parent = F(mcxt_context, parent),
	.ctx_firstchild = F(mcxt_context, firstchild),
	.ctx_nextchild = F(mcxt_context, nextchild),
	.ctx_name = F(mcxt_context, name),
	.ctx_ident = F(mcxt_context, ident),
	.acct = {
		{"mem_allocated", F(mcxt_context, mem_allocated)},
		{"bytes_alloc", F(mcxt_context, bytes_alloc)},
		{"bytes_freed", F(mcxt_context, bytes_freed)},
		{"max_bytes_held", F(mcxt_context, max_bytes_held)},
	},
	.nacct = 4,

	.set_blocks = F(mcxt_aset, blocks),
	.set_freelist_offset = (uint32_t) offsetof(mcxt_aset, freelist),
	.nfreelists = MCXT_ASET_NUM_FREELISTS,
	.freelist_minbits = MCXT_ASET_MINBITS,
	.keeper_offset = (int64_t) MCXT_ASET_KEEPER_OFFSET,
	.stats_header_bytes = (uint32_t) MCXT_ASET_KEEPER_OFFSET,

	.blk_hdr_size = (uint32_t) MCXT_ASET_BLOCKHDRSZ,
	.blk_aset = F(mcxt_aset_block, aset),
	.blk_prev = F(mcxt_aset_block, prev),
	.blk_next = F(mcxt_aset_block, next),
	.blk_freeptr = F(mcxt_aset_block, freeptr),
	.blk_endptr = F(mcxt_aset_block, endptr),
	.blk_check = F(mcxt_aset_block, check),
	.blk_check_xor = MCXT_BLOCK_MAGIC,

	.chunk_hdr_size = (uint32_t) MCXT_CHUNK_HDRSZ,
	.decode = layout_mcxt_decode,
	.free_by_flag = true,
	.link_offset = (uint32_t) MCXT_CHUNK_HDRSZ,
	.fl_ptr_offset = 0,			/* freelists point at the header word */
	.max_block_size = (uint64_t) 1 << 40,
};
