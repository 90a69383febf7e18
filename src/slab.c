/*
 * slab.c
 *	  Slab: a context type for many chunks of one fixed size, as
 *	  PostgreSQL's.
 *
 * Each block is an array of equal slots (an 8-byte header and the chunk).
 * A freed slot goes on its block's freelist and is reused before the
 * block's never-used slots (the 'unused' high-water pointer), so a block
 * is only written where it has been used.  Allocation always comes from
 * one of the fullest blocks that still have room: blocks are kept on
 * MCXT_SLAB_NLISTS lists by their number of free slots, and the lowest
 * non-empty list is used, so the emptiest blocks are left to drain and be
 * given back.  A block whose slots are all free goes to the empty list (at
 * most MCXT_SLAB_MAX_EMPTY blocks, reused before any new block is
 * obtained); further ones are given back at once.
 *
 * Only requests of exactly the chunk size are accepted; repalloc may keep
 * or shrink the size (the slot stays), never grow it.  Anything else is a
 * misuse error.  pfree finds the block from the header's offset, checks its
 * check word, the free bit, and that the slot lies on a slot boundary below
 * the block's high-water pointer.
 *
 * The context header is an allocation of its own; there is no keeper
 * block.  Structs and invariants are in chunk.h.
 */
#include "mcxt_int.h"

static char *
slab_block_start(mcxt_slab_block *block)
{
	return (char *) block + MCXT_SLAB_BLOCKHDRSZ;
}

static bool
slab_block_valid(const mcxt_slab_block *block)
{
	return block->check == ((uintptr_t) block ^ MCXT_BLOCK_MAGIC);
}

/* The list a block with nfree free slots belongs on (not for empty blocks). */
static unsigned
slab_list_of(const mcxt_slab *slab, uint32_t nfree)
{
	if (nfree == 0)
		return 0;
	return 1 + (unsigned) (((uint64_t) (nfree - 1) * (MCXT_SLAB_NLISTS - 1)) /
						   slab->chunks_per_block);
}

static void
slab_list_push(mcxt_slab *slab, unsigned list, mcxt_slab_block *block)
{
	block->prev = NULL;
	block->next = slab->lists[list];
	if (block->next != NULL)
		block->next->prev = block;
	slab->lists[list] = block;
}

static void
slab_list_remove(mcxt_slab *slab, unsigned list, mcxt_slab_block *block)
{
	if (block->prev != NULL)
		block->prev->next = block->next;
	else
		slab->lists[list] = block->next;
	if (block->next != NULL)
		block->next->prev = block->prev;
}

/* Recompute the lowest non-empty list above 0. */
static void
slab_update_cur_list(mcxt_slab *slab)
{
	slab->cur_list = 0;
	for (unsigned i = 1; i < MCXT_SLAB_NLISTS; i++)
		if (slab->lists[i] != NULL)
		{
			slab->cur_list = i;
			break;
		}
}

/* Every slot free and never used; freelist empty. */
static void
slab_block_rewind(mcxt_slab *slab, mcxt_slab_block *block)
{
	block->freehead = NULL;
	block->unused = slab_block_start(block);
	block->nfree = slab->chunks_per_block;
	block->nunused = slab->chunks_per_block;
	MCXT_MEM_NOACCESS(block->unused, (size_t) slab->block_size - MCXT_SLAB_BLOCKHDRSZ);
}

static void
slab_block_release(mcxt_slab *slab, mcxt_slab_block *block)
{
	mcxti_note_free(&slab->header, slab->block_size);
	block->check = 0;
	slab->nblocks--;
	mcxti_block_free(block, slab->block_size);
}

/* The freelist link in the first 8 bytes of a free slot's user area. */
static uint64_t *
slab_link_get(const uint64_t *chunk)
{
	uint64_t   *next;

	MCXT_MEM_DEFINED((void *) (chunk + 1), sizeof(uint64_t *));
	next = *(uint64_t *const *) (chunk + 1);
	MCXT_MEM_NOACCESS((void *) (chunk + 1), sizeof(uint64_t *));
	return next;
}

static void
slab_link_set(uint64_t *chunk, uint64_t *next)
{
	MCXT_MEM_UNDEFINED(chunk + 1, sizeof(uint64_t *));
	*(uint64_t **) (chunk + 1) = next;
	MCXT_MEM_NOACCESS(chunk + 1, sizeof(uint64_t *));
}

mcxt_context_t *
mcxt_slab_create(mcxt_context_t *parent, const char *name, size_t block_size,
				 size_t chunk_size)
{
	mcxt_slab  *slab;
	size_t		slot;
	size_t		header_size = MCXT_ALIGN(sizeof(mcxt_slab));

	if (name == NULL)
		mcxti_error(MCXT_ERR_MISUSE, parent, "memory context created without a name");
	if (parent != NULL && parent->magic != MCXT_CONTEXT_MAGIC)
		mcxti_error(MCXT_ERR_MISUSE, NULL,
					"memory context \"%s\" created under an invalid (deleted?) parent %p",
					name, (void *) parent);
	block_size = MCXT_ALIGN(block_size);
	if (chunk_size > MCXT_CHUNK_VALUE_MASK || block_size > ((size_t) 1 << 30))
		mcxti_error(MCXT_ERR_MISUSE, parent,
					"invalid sizes for slab memory context \"%s\": block %zu, chunk %zu "
					"(need chunk < 1 GB, block <= 1 GB)", name, block_size, chunk_size);
	slot = MCXT_ALIGN(chunk_size + MCXT_TAIL_ROOM);
	if (slot < MCXT_MAXALIGN)
		slot = MCXT_MAXALIGN;	/* room for the freelist link */
	slot += MCXT_CHUNK_HDRSZ;
	if (block_size < MCXT_SLAB_BLOCKHDRSZ + slot)
		mcxti_error(MCXT_ERR_MISUSE, parent,
					"block size %zu for slab memory context \"%s\" is too small for %zu-byte chunks",
					block_size, name, chunk_size);

	mcxti_limit_create_check(parent, header_size, name);
	slab = mcxti_source_alloc(header_size);
	if (slab == NULL)
		mcxti_error(MCXT_ERR_OOM, parent,
					"out of memory: Failed while creating memory context \"%s\".", name);
	memset(slab, 0, sizeof(*slab));
	slab->chunk_size = (uint32_t) chunk_size;
	slab->full_chunk_size = (uint32_t) slot;
	slab->block_size = (uint32_t) block_size;
	slab->chunks_per_block = (uint32_t) ((block_size - MCXT_SLAB_BLOCKHDRSZ) / slot);
	slab->header_size = (uint32_t) header_size;
	slab->header.mem_allocated = header_size;
	slab->header.bytes_alloc = header_size;
	slab->header.max_bytes_held = header_size;
	/* registered first: the end of mcxti_context_init may dump (walk) it */
	MCXT_POOL_CREATE(slab);
	mcxti_context_init(&slab->header, MCXT_TYPE_SLAB, &mcxti_slab_methods, parent, name);
	mcxti_limit_after(&slab->header);
	return &slab->header;
}

/* ---- allocation --------------------------------------------------------- */

static mcxt_noinline mcxt_noreturn void
slab_wrong_size(mcxt_slab *slab, size_t size)
{
	mcxti_error(MCXT_ERR_MISUSE, &slab->header,
				"unexpected alloc chunk size %zu (expected %u) in slab memory context \"%s\"",
				size, slab->chunk_size, slab->header.name);
}

/* No block has a free slot: reuse an empty one, or get a new one. */
static mcxt_noinline mcxt_slab_block *
slab_new_block(mcxt_slab *slab)
{
	mcxt_slab_block *block = slab->empty;

	if (block != NULL)
	{
		slab->empty = block->next;
		slab->nempty--;
		return block;
	}
	block = mcxti_ctx_block_alloc(&slab->header, slab->block_size);
	if (block == NULL)
		return NULL;
	mcxti_note_alloc(&slab->header, slab->block_size);
	slab->nblocks++;
	block->slab = slab;
	block->check = (uintptr_t) block ^ MCXT_BLOCK_MAGIC;
	slab_block_rewind(slab, block);
	if (unlikely(slab->header.limit != NULL))
	{
		/*
		 * Soft-limit callbacks run here, not after the chunk is carved (that
		 * is the fast path).  The new block waits on the empty list while they
		 * run, so the slab is consistent whether they allocate in it, check
		 * it or longjmp out; then the allocation starts over from that list.
		 */
		block->next = slab->empty;
		slab->empty = block;
		slab->nempty++;
		mcxti_limit_after(&slab->header);
		return slab_new_block(slab);
	}
	return block;
}

static void *
slab_alloc_impl(mcxt_slab *slab, size_t size, int flags)
{
	mcxt_slab_block *block;
	uint64_t   *chunk;
	unsigned	old_list;
	unsigned	new_list;
	char	   *user;

	if (unlikely(size != slab->chunk_size))
		slab_wrong_size(slab, size);

	if (slab->cur_list != 0)
	{
		block = slab->lists[slab->cur_list];
		old_list = slab->cur_list;
	}
	else
	{
		block = slab_new_block(slab);
		if (block == NULL)
			return mcxti_oom(&slab->header, size, flags);
		old_list = MCXT_SLAB_NLISTS;	/* on no list yet */
	}

	if (block->freehead != NULL)
	{
		chunk = block->freehead;
#if MCXT_DEBUG >= 2
		if (!mcxti_clobber_ok((char *) (chunk + 2),
							  slab->full_chunk_size - MCXT_CHUNK_HDRSZ - sizeof(uint64_t *)))
			mcxti_error(MCXT_ERR_CORRUPTION, &slab->header,
						"detected write after pfree in chunk %p of memory context \"%s\"",
						(void *) (chunk + 1), slab->header.name);
#endif
		block->freehead = slab_link_get(chunk);
	}
	else
	{
		chunk = (uint64_t *) block->unused;
		block->unused += slab->full_chunk_size;
		block->nunused--;
	}
	block->nfree--;

	new_list = slab_list_of(slab, block->nfree);
	if (new_list != old_list)
	{
		if (old_list < MCXT_SLAB_NLISTS)
			slab_list_remove(slab, old_list, block);
		slab_list_push(slab, new_list, block);
		slab_update_cur_list(slab);
	}

	mcxti_hdr_set(chunk, mcxt_chunk_make_hdr(MCXT_TYPE_SLAB, size,
											 (uint64_t) ((char *) chunk - (char *) block), 0));
	user = (char *) (chunk + 1);
#if MCXT_ASET_CHECKED
	MCXT_POOL_ALLOC(slab, user, size);
	mcxti_chunk_mark_new(user, 0, size);
	mcxti_chunk_mark_tail(user, size, slab->full_chunk_size - MCXT_CHUNK_HDRSZ);
#endif
	return user;
}

static void *
slab_alloc(mcxt_context *ctx, size_t size, int flags)
{
	void	   *p;

#if MCXT_DEBUG >= 1
	if (ctx == NULL || ctx->magic != MCXT_CONTEXT_MAGIC)
		mcxti_error(MCXT_ERR_MISUSE, NULL,
					"allocation of %zu bytes in an invalid (deleted?) memory context %p",
					size, (void *) ctx);
#endif
	{
		CTX_ENTER(ctx, "palloc");
		p = slab_alloc_impl((mcxt_slab *) ctx, size, flags);
		CTX_LEAVE(ctx);
	}
	return p;
}

/* ---- free and realloc --------------------------------------------------- */

/* The block of a slot that must be live; reports the error otherwise. */
static mcxt_slab_block *
slab_live_chunk_block(const char *op, const void *ptr, uint64_t hdr)
{
	const char *chunk = (const char *) ptr - MCXT_CHUNK_HDRSZ;
	uint64_t	offset = mcxt_chunk_hdr_offset(hdr);
	mcxt_slab_block *block;
	mcxt_slab  *slab;

	if (offset < MCXT_SLAB_BLOCKHDRSZ || (hdr & MCXT_CHUNK_EXTERNAL))
		mcxti_bad_pointer(op, ptr, hdr);
	block = (mcxt_slab_block *) (chunk - offset);
	if (!slab_block_valid(block))
		mcxti_bad_pointer(op, ptr, hdr);
	slab = block->slab;
	if (hdr & MCXT_CHUNK_FREE)
		mcxti_error(MCXT_ERR_BAD_POINTER, &slab->header,
					"%s called with already freed chunk %p in memory context \"%s\"%s",
					op, ptr, slab->header.name,
					strcmp(op, "pfree") == 0 ? " (double free)" : "");
	if (chunk >= block->unused)
		mcxti_error(MCXT_ERR_BAD_POINTER, &slab->header,
					"%s called with pointer %p beyond the used part of its block in memory context \"%s\" (chunk of a reset context?)",
					op, ptr, slab->header.name);
	if ((offset - MCXT_SLAB_BLOCKHDRSZ) % slab->full_chunk_size != 0 ||
		mcxt_chunk_hdr_value(hdr) > slab->chunk_size)
		mcxti_bad_pointer(op, ptr, hdr);
	return block;
}

#if MCXT_ASET_CHECKED
static void
slab_check_tail(mcxt_slab *slab, const char *op, const void *ptr, uint64_t hdr)
{
	size_t		req = (size_t) mcxt_chunk_hdr_value(hdr);

	if (!mcxti_sentinel_ok(ptr, req))
		mcxti_error(MCXT_ERR_CORRUPTION, &slab->header,
					"%s: detected write past chunk end in memory context \"%s\": chunk %p, requested size %zu",
					op, slab->header.name, ptr, req);
}
#endif

static void
slab_free(void *ptr, uint64_t hdr)
{
	mcxt_slab_block *block = slab_live_chunk_block("pfree", ptr, hdr);
	mcxt_slab  *slab = block->slab;
	uint64_t   *chunk = (uint64_t *) ptr - 1;
	unsigned	old_list;
	unsigned	new_list;

	CTX_ENTER(&slab->header, "pfree");
#if MCXT_ASET_CHECKED
	slab_check_tail(slab, "pfree", ptr, hdr);
	MCXT_POOL_FREE(slab, ptr);
	mcxti_chunk_clobber(ptr, slab->full_chunk_size - MCXT_CHUNK_HDRSZ);
#endif
	mcxti_hdr_set(chunk, hdr | MCXT_CHUNK_FREE);
	slab_link_set(chunk, block->freehead);
	block->freehead = chunk;
	old_list = slab_list_of(slab, block->nfree);
	block->nfree++;

	if (block->nfree == slab->chunks_per_block)
	{
		/* completely free: keep it on the empty list, or give it back */
		slab_list_remove(slab, old_list, block);
		if (slab->nempty < MCXT_SLAB_MAX_EMPTY)
		{
			slab_block_rewind(slab, block);
			block->prev = NULL;
			block->next = slab->empty;
			slab->empty = block;
			slab->nempty++;
		}
		else
			slab_block_release(slab, block);
		slab_update_cur_list(slab);
	}
	else
	{
		new_list = slab_list_of(slab, block->nfree);
		if (new_list != old_list)
		{
			slab_list_remove(slab, old_list, block);
			slab_list_push(slab, new_list, block);
			slab_update_cur_list(slab);
		}
	}
	CTX_LEAVE(&slab->header);
}

/*
 * repalloc: a slot cannot grow, so only sizes up to the chunk size are
 * allowed (the slot stays); anything larger is a misuse error, as in
 * PostgreSQL.
 */
static void *
slab_realloc(void *ptr, uint64_t hdr, size_t size, int flags)
{
	mcxt_slab_block *block = slab_live_chunk_block("repalloc", ptr, hdr);
	mcxt_slab  *slab = block->slab;

	(void) flags;
	if (size > slab->chunk_size)
		mcxti_error(MCXT_ERR_MISUSE, &slab->header,
					"slab allocator does not support realloc() to a larger size (%zu > chunk size %u in memory context \"%s\")",
					size, slab->chunk_size, slab->header.name);
#if MCXT_ASET_CHECKED
	{
		size_t		req = (size_t) mcxt_chunk_hdr_value(hdr);

		slab_check_tail(slab, "repalloc", ptr, hdr);
		if (size > req)
			mcxti_chunk_mark_new(ptr, req, size);
		mcxti_chunk_mark_tail(ptr, size, slab->full_chunk_size - MCXT_CHUNK_HDRSZ);
		MCXT_POOL_CHANGE(slab, ptr, ptr, size);
	}
#endif
	mcxti_hdr_set((uint64_t *) ptr - 1,
				  mcxt_chunk_make_hdr(MCXT_TYPE_SLAB, size, mcxt_chunk_hdr_offset(hdr), 0));
	return ptr;
}

static mcxt_context *
slab_get_chunk_context(const void *ptr, uint64_t hdr)
{
	return &slab_live_chunk_block("GetMemoryChunkContext", ptr, hdr)->slab->header;
}

static size_t
slab_get_chunk_space(const void *ptr, uint64_t hdr)
{
	return slab_live_chunk_block("GetMemoryChunkSpace", ptr, hdr)->slab->full_chunk_size;
}

/* ---- reset and delete --------------------------------------------------- */

/* Every block is given back, the empty ones too. */
static void
slab_reset(mcxt_context *ctx)
{
	mcxt_slab  *slab = (mcxt_slab *) ctx;

	MCXT_POOL_DESTROY(slab);
	MCXT_POOL_CREATE(slab);
	for (unsigned i = 0; i < MCXT_SLAB_NLISTS; i++)
	{
		while (slab->lists[i] != NULL)
		{
			mcxt_slab_block *block = slab->lists[i];

			slab->lists[i] = block->next;
			slab_block_release(slab, block);
		}
	}
	while (slab->empty != NULL)
	{
		mcxt_slab_block *block = slab->empty;

		slab->empty = block->next;
		slab_block_release(slab, block);
	}
	slab->nempty = 0;
	slab->cur_list = 0;
}

static void
slab_delete(mcxt_context *ctx)
{
	mcxt_slab  *slab = (mcxt_slab *) ctx;

	slab_reset(ctx);
	ctx->magic = MCXT_CONTEXT_DEAD;
	MCXT_POOL_DESTROY(slab);
	mcxti_source_free(slab, slab->header_size);
}

/* ---- introspection ------------------------------------------------------ */

static bool
slab_is_empty(mcxt_context *ctx)
{
	return ((mcxt_slab *) ctx)->nblocks == 0;
}

/*
 * As PostgreSQL's SlabStats: free space is the free slots of every block
 * (the unusable end of a block after its last slot counts as used).  Unlike
 * PostgreSQL, blocks on the empty list count as blocks with every slot free
 * (PostgreSQL adds them to the total only, so they show as used).
 */
static void
slab_stats(mcxt_context *ctx, mcxt_counters_t *totals)
{
	mcxt_slab  *slab = (mcxt_slab *) ctx;

	totals->totalspace += slab->header_size + (size_t) slab->nblocks * slab->block_size;
	totals->nblocks += slab->nblocks;
	for (unsigned i = 0; i < MCXT_SLAB_NLISTS; i++)
		for (mcxt_slab_block *block = slab->lists[i]; block != NULL; block = block->next)
		{
			totals->freechunks += block->nfree;
			totals->freespace += (size_t) block->nfree * slab->full_chunk_size;
		}
	totals->freechunks += (size_t) slab->nempty * slab->chunks_per_block;
	totals->freespace += (size_t) slab->nempty * slab->chunks_per_block * slab->full_chunk_size;
}

/* One block's slots, freelist and counters. */
static int
slab_check_block(mcxt_slab *slab, mcxt_slab_block *block)
{
	mcxt_context *ctx = &slab->header;
	char	   *start = slab_block_start(block);
	char	   *end = start + (size_t) slab->chunks_per_block * slab->full_chunk_size;
	uint32_t	nfree_seen = 0;
	uint32_t	nlist = 0;
	int			problems = 0;

#define PROBLEM(...) do { mcxti_check_warn(ctx, __VA_ARGS__); problems++; } while (0)

	if (block->slab != slab)
		PROBLEM("block %p belongs to %p", (void *) block, (void *) block->slab);
	if (!slab_block_valid(block))
		PROBLEM("block %p has a bad check word", (void *) block);
	if (block->unused < start || block->unused > end ||
		(size_t) (block->unused - start) % slab->full_chunk_size != 0 ||
		(size_t) (end - block->unused) / slab->full_chunk_size != block->nunused)
	{
		PROBLEM("block %p has unused pointer %p (%u unused) outside [%p, %p] or off a slot",
				(void *) block, (void *) block->unused, block->nunused, (void *) start, (void *) end);
		return problems;
	}
	for (char *p = start; p < block->unused; p += slab->full_chunk_size)
	{
		uint64_t	hdr = mcxti_hdr_get(p);
		size_t		req = (size_t) mcxt_chunk_hdr_value(hdr);

		if (mcxt_chunk_hdr_type(hdr) != MCXT_TYPE_SLAB || (hdr & MCXT_CHUNK_EXTERNAL) ||
			mcxt_chunk_hdr_offset(hdr) != (uint64_t) (p - (char *) block) ||
			req > slab->chunk_size)
		{
			PROBLEM("bad chunk header 0x%016llx at %p in block %p",
					(unsigned long long) hdr, (void *) p, (void *) block);
			return problems;
		}
		if (hdr & MCXT_CHUNK_FREE)
		{
			nfree_seen++;
#if MCXT_ASET_CHECKED
			if (!mcxti_clobber_ok(p + MCXT_CHUNK_HDRSZ + sizeof(uint64_t *),
								  slab->full_chunk_size - MCXT_CHUNK_HDRSZ - sizeof(uint64_t *)))
				PROBLEM("free chunk %p was written after pfree", (void *) (p + MCXT_CHUNK_HDRSZ));
#endif
		}
#if MCXT_ASET_CHECKED
		else if (!mcxti_sentinel_ok(p + MCXT_CHUNK_HDRSZ, req))
			PROBLEM("detected write past chunk end: chunk %p, requested size %zu",
					(void *) (p + MCXT_CHUNK_HDRSZ), req);
#endif
	}
	for (uint64_t *c = block->freehead; c != NULL; c = slab_link_get(c))
	{
		if (++nlist > nfree_seen || (char *) c < start || (char *) c >= block->unused ||
			(size_t) ((char *) c - start) % slab->full_chunk_size != 0 ||
			!(mcxti_hdr_get(c) & MCXT_CHUNK_FREE))
		{
			PROBLEM("freelist of block %p holds a bad chunk %p", (void *) block, (void *) (c + 1));
			return problems;
		}
	}
	if (nlist != nfree_seen || block->nfree != nfree_seen + block->nunused)
		PROBLEM("block %p counts %u free slots but has %u on its freelist, %u freed and %u unused",
				(void *) block, block->nfree, nlist, nfree_seen, block->nunused);
#undef PROBLEM
	return problems;
}

/* Every invariant written above struct mcxt_slab_block in chunk.h. */
static int
slab_check(mcxt_context *ctx)
{
	mcxt_slab  *slab = (mcxt_slab *) ctx;
	uint32_t	nblocks = 0;
	uint32_t	nempty = 0;
	int			problems = 0;

#define PROBLEM(...) do { mcxti_check_warn(ctx, __VA_ARGS__); problems++; } while (0)

	for (unsigned i = 0; i < MCXT_SLAB_NLISTS; i++)
	{
		mcxt_slab_block *prev = NULL;

		for (mcxt_slab_block *block = slab->lists[i]; block != NULL; block = block->next)
		{
			if (++nblocks > slab->nblocks)
			{
				PROBLEM("list %u holds more blocks than the %u counted", i, slab->nblocks);
				return problems;
			}
			if (block->prev != prev)
				PROBLEM("block %p has a bad prev link", (void *) block);
			prev = block;
			if (block->nfree >= slab->chunks_per_block || slab_list_of(slab, block->nfree) != i)
				PROBLEM("block %p with %u free slots is on list %u", (void *) block,
						block->nfree, i);
			problems += slab_check_block(slab, block);
		}
		if (i > 0 && slab->lists[i] != NULL && (slab->cur_list == 0 || slab->cur_list > i))
			PROBLEM("current list %u but list %u is not empty", slab->cur_list, i);
	}
	if (slab->cur_list != 0 && slab->lists[slab->cur_list] == NULL)
		PROBLEM("current list %u is empty", slab->cur_list);
	for (mcxt_slab_block *block = slab->empty; block != NULL; block = block->next)
	{
		if (++nempty > MCXT_SLAB_MAX_EMPTY || ++nblocks > slab->nblocks)
		{
			PROBLEM("empty list holds too many blocks");
			return problems;
		}
		if (block->nfree != slab->chunks_per_block || block->freehead != NULL ||
			block->unused != slab_block_start(block))
			PROBLEM("block %p on the empty list is not rewound", (void *) block);
		problems += slab_check_block(slab, block);
	}
	if (nempty != slab->nempty || nblocks != slab->nblocks)
		PROBLEM("counted %u blocks (%u empty) but found %u (%u empty)",
				slab->nblocks, slab->nempty, nblocks, nempty);
	if (slab->header_size + (uint64_t) slab->nblocks * slab->block_size != ctx->mem_allocated)
		PROBLEM("blocks hold %llu bytes but mem_allocated is %llu",
				(unsigned long long) (slab->header_size + (uint64_t) slab->nblocks * slab->block_size),
				(unsigned long long) ctx->mem_allocated);
#undef PROBLEM
	return problems;
}

const mcxt_methods mcxti_slab_methods = {
	.name = "Slab",
	.alloc = slab_alloc,
	.free_p = slab_free,
	.realloc = slab_realloc,
	.reset = slab_reset,
	.delete_context = slab_delete,
	.get_chunk_context = slab_get_chunk_context,
	.get_chunk_space = slab_get_chunk_space,
	.is_empty = slab_is_empty,
	.stats = slab_stats,
	.check = slab_check,
};
