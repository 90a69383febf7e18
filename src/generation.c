/*
 * generation.c
 *	  Generation: a context type for chunks with similar lifetimes (FIFO-ish
 *	  queues, buffered tuples), as PostgreSQL's.
 *
 * Chunks are carved one after the other from the current block, each with
 * the usual 8-byte header whose value is the chunk size (no power-of-two
 * rounding: a 40-byte request takes 48 bytes).  A freed chunk is never
 * reused; its block only counts it.  When every chunk of a block has been
 * freed the block is emptied at once: the keeper and the current block are
 * rewound in place, one other block is kept as the context's free block
 * (the next block to fill, so a steady queue does not go back to the block
 * source), and any further one is given back.  So memory follows the live
 * data block by block, without the fragmentation an AllocSet shows when
 * long- and short-lived chunks mix on its freelists.
 *
 * pfree finds the block from the header's offset, checks its check word,
 * the free bit and that the chunk lies below the block's free pointer, sets
 * the free bit and bumps the block's nfree.  Requests above max_block_size
 * / 8 get a dedicated block, given back when the chunk is freed.
 *
 * The first block, the keeper, shares the allocation of the context
 * header.  Structs and invariants are in chunk.h.
 */
#include "mcxt_int.h"

static char *
gen_block_start(mcxt_gen_block *block)
{
	return (char *) block + MCXT_GEN_BLOCKHDRSZ;
}

static size_t
gen_block_size(const mcxt_gen_block *block)
{
	return (size_t) (block->endptr - (const char *) block);
}

static bool
gen_block_valid(const mcxt_gen_block *block)
{
	return block->check == ((uintptr_t) block ^ MCXT_BLOCK_MAGIC);
}

/* Rewind a block: no chunks, all space free. */
static void
gen_block_mark_empty(mcxt_gen_block *block)
{
	block->nchunks = 0;
	block->nfree = 0;
	block->freeptr = gen_block_start(block);
	MCXT_MEM_NOACCESS(block->freeptr, (size_t) (block->endptr - block->freeptr));
}

static void
gen_block_init(mcxt_gen_block *block, mcxt_generation *set, size_t size)
{
	block->context = set;
	block->prev = NULL;
	block->next = NULL;
	block->endptr = (char *) block + size;
	block->check = (uintptr_t) block ^ MCXT_BLOCK_MAGIC;
	gen_block_mark_empty(block);
}

static void
gen_block_link(mcxt_generation *set, mcxt_gen_block *block)
{
	block->prev = NULL;
	block->next = set->blocks;
	if (set->blocks != NULL)
		set->blocks->prev = block;
	set->blocks = block;
}

static void
gen_block_unlink(mcxt_generation *set, mcxt_gen_block *block)
{
	if (block->prev != NULL)
		block->prev->next = block->next;
	else
		set->blocks = block->next;
	if (block->next != NULL)
		block->next->prev = block->prev;
}

static void
gen_block_release(mcxt_generation *set, mcxt_gen_block *block)
{
	size_t		size = gen_block_size(block);

	mcxti_note_free(&set->header, size);
	block->check = 0;
	mcxti_block_free(block, size);
}

/* Bytes a small chunk takes after its header: at least 8, aligned. */
static size_t
gen_chunk_size_for(size_t size)
{
	size_t		n = MCXT_ALIGN(size + MCXT_TAIL_ROOM);

	return n < MCXT_MAXALIGN ? MCXT_MAXALIGN : n;
}

/*
 * The header value of a chunk: its size in release builds, the requested
 * size in checking builds (from which the size follows).
 */
static uint64_t
gen_value(size_t size, size_t chunk_size)
{
#if MCXT_ASET_CHECKED
	(void) chunk_size;
	return size <= MCXT_CHUNK_VALUE_MASK ? size : 0;
#else
	(void) size;
	return chunk_size <= MCXT_CHUNK_VALUE_MASK ? chunk_size : 0;
#endif
}

/* Size of the chunk whose header is at p (external: up to the block end). */
static size_t
gen_chunk_size(const mcxt_gen_block *block, const char *p, uint64_t hdr)
{
	if (hdr & MCXT_CHUNK_EXTERNAL)
		return (size_t) (block->endptr - p) - MCXT_CHUNK_HDRSZ;
#if MCXT_ASET_CHECKED
	return gen_chunk_size_for((size_t) mcxt_chunk_hdr_value(hdr));
#else
	return (size_t) mcxt_chunk_hdr_value(hdr);
#endif
}

mcxt_context_t *
mcxt_generation_create(mcxt_context_t *parent, const char *name,
					   size_t min_context_size, size_t init_block_size,
					   size_t max_block_size)
{
	mcxt_generation *set;
	size_t		first_size;

	mcxti_check_create(parent, name, &min_context_size, &init_block_size, &max_block_size);
	first_size = MCXT_GEN_KEEPER_OFFSET + MCXT_GEN_BLOCKHDRSZ + MCXT_CHUNK_HDRSZ;
	if (min_context_size != 0)
		first_size = first_size > min_context_size ? first_size : min_context_size;
	else
		first_size = first_size > init_block_size ? first_size : init_block_size;

	mcxti_limit_create_check(parent, first_size, name);
	set = mcxti_block_alloc(first_size);
	if (set == NULL)
		mcxti_error(MCXT_ERR_OOM, parent,
					"out of memory: Failed while creating memory context \"%s\".", name);
	memset(set, 0, sizeof(*set));
	gen_block_init(mcxt_gen_keeper(set), set, first_size - MCXT_GEN_KEEPER_OFFSET);
	set->blocks = mcxt_gen_keeper(set);
	set->block = mcxt_gen_keeper(set);
	set->init_block_size = (uint32_t) init_block_size;
	set->max_block_size = (uint32_t) max_block_size;
	set->next_block_size = (uint32_t) init_block_size;
	set->alloc_chunk_limit = (uint32_t) (max_block_size / MCXT_GEN_CHUNK_FRACTION);
	set->keeper_size = (uint32_t) first_size;
	set->header.mem_allocated = first_size;
	set->header.bytes_alloc = first_size;
	set->header.max_bytes_held = first_size;
	/* registered first: the end of mcxti_context_init may dump (walk) it */
	MCXT_POOL_CREATE(set);
	mcxti_context_init(&set->header, MCXT_TYPE_GENERATION, &mcxti_generation_methods,
					   parent, name);
	mcxti_limit_after(&set->header);
	return &set->header;
}

/* ---- allocation --------------------------------------------------------- */

/* Write the header of a chunk at p and hand its user area out. */
static void *
gen_finish_chunk(mcxt_generation *set, mcxt_gen_block *block, char *p, size_t size,
				 size_t chunk_size, uint64_t flags)
{
	char	   *user = p + MCXT_CHUNK_HDRSZ;

	mcxti_hdr_set(p, mcxt_chunk_make_hdr(MCXT_TYPE_GENERATION, gen_value(size, chunk_size),
										 (uint64_t) (p - (char *) block), flags));
	block->nchunks++;
#if MCXT_ASET_CHECKED
	MCXT_POOL_ALLOC(set, user, size);
	mcxti_chunk_mark_new(user, 0, size);
	mcxti_chunk_mark_tail(user, size, chunk_size);
#else
	(void) set;
#endif
	return user;
}

static mcxt_noinline void *
gen_alloc_large(mcxt_generation *set, size_t size, int flags)
{
	mcxt_gen_block *block;
	size_t		chunk_size;
	size_t		block_size;
	void	   *user;

	mcxti_check_size(&set->header, size, flags);
	chunk_size = MCXT_ALIGN(size + MCXT_TAIL_ROOM);
	block_size = MCXT_GEN_BLOCKHDRSZ + MCXT_CHUNK_HDRSZ + chunk_size;
	block = mcxti_ctx_source_alloc(&set->header, block_size);
	if (block == NULL)
		return mcxti_oom(&set->header, size, flags);
	mcxti_note_alloc(&set->header, block_size);
	gen_block_init(block, set, block_size);
	block->freeptr = block->endptr;
	gen_block_link(set, block);
#if MCXT_ASET_CHECKED
	user = gen_finish_chunk(set, block, gen_block_start(block), size, chunk_size,
							MCXT_CHUNK_EXTERNAL);
#else
	/* the size comes from the block; the value is not needed */
	{
		char	   *p = gen_block_start(block);

		mcxti_hdr_set(p, mcxt_chunk_make_hdr(MCXT_TYPE_GENERATION, 0, MCXT_GEN_BLOCKHDRSZ,
											 MCXT_CHUNK_EXTERNAL));
		block->nchunks = 1;
		user = p + MCXT_CHUNK_HDRSZ;
	}
#endif
	mcxti_limit_after(&set->header);
	return user;
}

/*
 * The current block cannot hold the chunk: make the free block current if
 * it can, else the keeper if it is empty and can, else a new block.
 */
static mcxt_noinline void *
gen_alloc_from_new_block(mcxt_generation *set, size_t size, int flags, size_t chunk_size)
{
	mcxt_gen_block *block = NULL;
	mcxt_gen_block *keeper = mcxt_gen_keeper(set);
	size_t		required = MCXT_GEN_BLOCKHDRSZ + MCXT_CHUNK_HDRSZ + chunk_size;
	char	   *p;

	if (set->freeblock != NULL && gen_block_size(set->freeblock) >= required)
	{
		block = set->freeblock;
		set->freeblock = NULL;
	}
	else if (keeper != set->block && keeper->nchunks == 0 &&
			 (size_t) (keeper->endptr - gen_block_start(keeper)) >= MCXT_CHUNK_HDRSZ + chunk_size)
		block = keeper;
	else
	{
		size_t		block_size = set->next_block_size;

		set->next_block_size = block_size * 2 <= set->max_block_size
			? (uint32_t) (block_size * 2) : set->max_block_size;
		while (block_size < required)
			block_size <<= 1;
		block = mcxti_ctx_block_alloc(&set->header, block_size);
		if (block == NULL)
			return mcxti_oom(&set->header, size, flags);
		mcxti_note_alloc(&set->header, block_size);
		gen_block_init(block, set, block_size);
		gen_block_link(set, block);
	}

	/* the old current block stays where it is; if it is empty, it can be reused */
	if (set->block->nchunks == 0 && set->block != keeper && set->block != block)
	{
		if (set->freeblock == NULL)
			set->freeblock = set->block;
		else
		{
			gen_block_unlink(set, set->block);
			gen_block_release(set, set->block);
		}
	}
	set->block = block;
	p = block->freeptr;
	block->freeptr = p + MCXT_CHUNK_HDRSZ + chunk_size;
	p = gen_finish_chunk(set, block, p, size, chunk_size, 0);
	mcxti_limit_after(&set->header);
	return p;
}

static void *
gen_alloc_impl(mcxt_generation *set, size_t size, int flags)
{
	mcxt_gen_block *block = set->block;
	size_t		chunk_size;
	char	   *p;

	if (unlikely(size > set->alloc_chunk_limit))
		return gen_alloc_large(set, size, flags);
	chunk_size = gen_chunk_size_for(size);
	p = block->freeptr;
	if (unlikely((size_t) (block->endptr - p) < MCXT_CHUNK_HDRSZ + chunk_size))
		return gen_alloc_from_new_block(set, size, flags, chunk_size);
	block->freeptr = p + MCXT_CHUNK_HDRSZ + chunk_size;
	return gen_finish_chunk(set, block, p, size, chunk_size, 0);
}

static void *
gen_alloc(mcxt_context *ctx, size_t size, int flags)
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
		p = gen_alloc_impl((mcxt_generation *) ctx, size, flags);
		CTX_LEAVE(ctx);
	}
	return p;
}

/* ---- free and realloc --------------------------------------------------- */

/* The block of a chunk that must be live; reports the error otherwise. */
static mcxt_gen_block *
gen_live_chunk_block(const char *op, const void *ptr, uint64_t hdr)
{
	const char *chunk = (const char *) ptr - MCXT_CHUNK_HDRSZ;
	uint64_t	offset = mcxt_chunk_hdr_offset(hdr);
	mcxt_gen_block *block;

	if (offset < MCXT_GEN_BLOCKHDRSZ)
		mcxti_bad_pointer(op, ptr, hdr);
	block = (mcxt_gen_block *) (chunk - offset);
	if (!gen_block_valid(block))
		mcxti_bad_pointer(op, ptr, hdr);
	if (hdr & MCXT_CHUNK_FREE)
		mcxti_error(MCXT_ERR_BAD_POINTER, &block->context->header,
					"%s called with already freed chunk %p in memory context \"%s\"%s",
					op, ptr, block->context->header.name,
					strcmp(op, "pfree") == 0 ? " (double free)" : "");
	if (hdr & MCXT_CHUNK_EXTERNAL)
	{
		if (offset != MCXT_GEN_BLOCKHDRSZ || block->freeptr != block->endptr ||
			block->nchunks != 1)
			mcxti_bad_pointer(op, ptr, hdr);
	}
	else if (chunk >= block->freeptr)
		mcxti_error(MCXT_ERR_BAD_POINTER, &block->context->header,
					"%s called with pointer %p beyond the allocated part of its block in memory context \"%s\" (chunk of a reset context?)",
					op, ptr, block->context->header.name);
	else if (chunk + MCXT_CHUNK_HDRSZ + gen_chunk_size(block, chunk, hdr) > block->freeptr)
		mcxti_bad_pointer(op, ptr, hdr);
	return block;
}

#if MCXT_ASET_CHECKED
/* Level 2: stop on a live chunk whose sentinel was overwritten. */
static void
gen_check_tail(mcxt_generation *set, const char *op, const void *ptr, uint64_t hdr)
{
	size_t		req = (size_t) mcxt_chunk_hdr_value(hdr);

	if ((req != 0 || !(hdr & MCXT_CHUNK_EXTERNAL)) && !mcxti_sentinel_ok(ptr, req))
		mcxti_error(MCXT_ERR_CORRUPTION, &set->header,
					"%s: detected write past chunk end in memory context \"%s\": chunk %p, requested size %zu",
					op, set->header.name, ptr, req);
}
#endif

/*
 * Mark a chunk free.  When it was the last live chunk of its block, the
 * block is emptied: rewound if it is the keeper or current, kept as the
 * free block if there is none, else given back.
 */
static void
gen_free_chunk(mcxt_generation *set, mcxt_gen_block *block, void *ptr, uint64_t hdr)
{
	char	   *chunk = (char *) ptr - MCXT_CHUNK_HDRSZ;

#if MCXT_ASET_CHECKED
	gen_check_tail(set, "pfree", ptr, hdr);
	MCXT_POOL_FREE(set, ptr);
	if (!(hdr & MCXT_CHUNK_EXTERNAL))
		mcxti_chunk_clobber(ptr, gen_chunk_size(block, chunk, hdr));
#endif
	mcxti_hdr_set(chunk, hdr | MCXT_CHUNK_FREE);
	block->nfree++;
	if (block->nfree < block->nchunks)
		return;

	if (hdr & MCXT_CHUNK_EXTERNAL)
	{
		gen_block_unlink(set, block);
		gen_block_release(set, block);
	}
	else if (block == mcxt_gen_keeper(set) || block == set->block)
		gen_block_mark_empty(block);
	else if (set->freeblock == NULL)
	{
		gen_block_mark_empty(block);
		set->freeblock = block;
	}
	else
	{
		gen_block_unlink(set, block);
		gen_block_release(set, block);
	}
}

static void
gen_free(void *ptr, uint64_t hdr)
{
	mcxt_gen_block *block = gen_live_chunk_block("pfree", ptr, hdr);
	mcxt_generation *set = block->context;

	CTX_ENTER(&set->header, "pfree");
	gen_free_chunk(set, block, ptr, hdr);
	CTX_LEAVE(&set->header);
}

/*
 * repalloc: the chunk stays when the new size fits it (in checking builds
 * only when its footprint does not change, since the size follows from the
 * requested size kept in the header); otherwise allocate, copy, free.
 */
static void *
gen_realloc(void *ptr, uint64_t hdr, size_t size, int flags)
{
	mcxt_gen_block *block = gen_live_chunk_block("repalloc", ptr, hdr);
	mcxt_generation *set = block->context;
	char	   *chunk = (char *) ptr - MCXT_CHUNK_HDRSZ;
	size_t		chunk_size = gen_chunk_size(block, chunk, hdr);
	size_t		copy = chunk_size;
	void	   *newptr;
	bool		fits;

#if MCXT_ASET_CHECKED
	{
		size_t		req = (size_t) mcxt_chunk_hdr_value(hdr);

		gen_check_tail(set, "repalloc", ptr, hdr);
		if (hdr & MCXT_CHUNK_EXTERNAL)
			fits = size + MCXT_TAIL_ROOM <= chunk_size && size <= MCXT_CHUNK_VALUE_MASK &&
				req != 0 && size != 0;	/* value 0 means "not kept" */
		else
			fits = size <= MCXT_CHUNK_VALUE_MASK && gen_chunk_size_for(size) == chunk_size;
		if (fits)
		{
			if (size > req)
				mcxti_chunk_mark_new(ptr, req, size);
			mcxti_chunk_mark_tail(ptr, size, chunk_size);
			MCXT_POOL_CHANGE(set, ptr, ptr, size);
			mcxti_hdr_set(chunk, mcxt_chunk_make_hdr(MCXT_TYPE_GENERATION, size,
													 mcxt_chunk_hdr_offset(hdr),
													 hdr & MCXT_CHUNK_EXTERNAL));
			return ptr;
		}
		if (req != 0 || !(hdr & MCXT_CHUNK_EXTERNAL))
			copy = req;
	}
#else
	fits = size <= chunk_size;
	if (fits)
		return ptr;				/* as PostgreSQL: keep the chunk */
#endif
	if (copy > size)
		copy = size;
	newptr = gen_alloc(&set->header, size, flags);
	if (newptr == NULL)
		return NULL;			/* MCXT_ALLOC_NO_OOM; ptr stays valid */
	memcpy(newptr, ptr, copy);
	/* the new chunk may have emptied and reused nothing of ptr's block: free it now */
	{
		CTX_ENTER(&set->header, "repalloc");
		gen_free_chunk(set, block, ptr, hdr);
		CTX_LEAVE(&set->header);
	}
	return newptr;
}

static mcxt_context *
gen_get_chunk_context(const void *ptr, uint64_t hdr)
{
	return &gen_live_chunk_block("GetMemoryChunkContext", ptr, hdr)->context->header;
}

static size_t
gen_get_chunk_space(const void *ptr, uint64_t hdr)
{
	mcxt_gen_block *block = gen_live_chunk_block("GetMemoryChunkSpace", ptr, hdr);
	const char *chunk = (const char *) ptr - MCXT_CHUNK_HDRSZ;

	return MCXT_CHUNK_HDRSZ + gen_chunk_size(block, chunk, hdr);
}

/* ---- reset and delete --------------------------------------------------- */

static void
gen_reset(mcxt_context *ctx)
{
	mcxt_generation *set = (mcxt_generation *) ctx;
	mcxt_gen_block *keeper = mcxt_gen_keeper(set);
	mcxt_gen_block *block = set->blocks;

	MCXT_POOL_DESTROY(set);
	MCXT_POOL_CREATE(set);
	while (block != NULL)
	{
		mcxt_gen_block *next = block->next;

		if (block != keeper)
			gen_block_release(set, block);
		block = next;
	}
	keeper->prev = NULL;
	keeper->next = NULL;
	gen_block_mark_empty(keeper);
	set->blocks = keeper;
	set->block = keeper;
	set->freeblock = NULL;
	set->next_block_size = set->init_block_size;
}

static void
gen_delete(mcxt_context *ctx)
{
	mcxt_generation *set = (mcxt_generation *) ctx;

	gen_reset(ctx);
	mcxt_gen_keeper(set)->check = 0;
	ctx->magic = MCXT_CONTEXT_DEAD;
	MCXT_POOL_DESTROY(set);
	mcxti_block_free(set, set->keeper_size);
}

/* ---- introspection ------------------------------------------------------ */

static bool
gen_is_empty(mcxt_context *ctx)
{
	mcxt_generation *set = (mcxt_generation *) ctx;
	mcxt_gen_block *keeper = mcxt_gen_keeper(set);

	return set->blocks == keeper && keeper->next == NULL && keeper->nchunks == 0;
}

/*
 * As PostgreSQL's GenerationStats: free space is the unused end of every
 * block (freed chunks cannot be reused, so they count as used); free
 * chunks are the freed chunks still in their blocks.
 */
static void
gen_stats(mcxt_context *ctx, mcxt_counters_t *totals)
{
	mcxt_generation *set = (mcxt_generation *) ctx;

	totals->totalspace += MCXT_GEN_KEEPER_OFFSET;
	for (mcxt_gen_block *block = set->blocks; block != NULL; block = block->next)
	{
		totals->nblocks++;
		totals->freechunks += block->nfree;
		totals->totalspace += gen_block_size(block);
		totals->freespace += (size_t) (block->endptr - block->freeptr);
	}
}

/* Walk one block's chunks; count them and the free ones. */
static int
gen_check_chunks(mcxt_context *ctx, mcxt_gen_block *block)
{
	char	   *p = gen_block_start(block);
	uint32_t	nchunks = 0;
	uint32_t	nfree = 0;
	int			problems = 0;

	while (p < block->freeptr)
	{
		uint64_t	hdr = mcxti_hdr_get(p);
		size_t		chunk_size;

		if (mcxt_chunk_hdr_type(hdr) != MCXT_TYPE_GENERATION ||
			mcxt_chunk_hdr_offset(hdr) != (uint64_t) (p - (char *) block) ||
			((hdr & MCXT_CHUNK_EXTERNAL) &&
			 (p != gen_block_start(block) || block->freeptr != block->endptr)))
		{
			mcxti_check_warn(ctx, "bad chunk header 0x%016llx at %p in block %p",
							 (unsigned long long) hdr, (void *) p, (void *) block);
			return problems + 1;
		}
		chunk_size = gen_chunk_size(block, p, hdr);
		if (chunk_size < MCXT_MAXALIGN ||
			p + MCXT_CHUNK_HDRSZ + chunk_size > block->freeptr)
		{
			mcxti_check_warn(ctx, "chunk %p of size %zu runs past the free pointer of block %p",
							 (void *) (p + MCXT_CHUNK_HDRSZ), chunk_size, (void *) block);
			return problems + 1;
		}
		nchunks++;
		if (hdr & MCXT_CHUNK_FREE)
			nfree++;
#if MCXT_ASET_CHECKED
		if (hdr & MCXT_CHUNK_FREE)
		{
			if (!mcxti_clobber_ok(p + MCXT_CHUNK_HDRSZ, chunk_size))
			{
				mcxti_check_warn(ctx, "free chunk %p was written after pfree",
								 (void *) (p + MCXT_CHUNK_HDRSZ));
				problems++;
			}
		}
		else
		{
			size_t		req = (size_t) mcxt_chunk_hdr_value(hdr);

			if ((req != 0 || !(hdr & MCXT_CHUNK_EXTERNAL)) &&
				!mcxti_sentinel_ok(p + MCXT_CHUNK_HDRSZ, req))
			{
				mcxti_check_warn(ctx, "detected write past chunk end: chunk %p, requested size %zu",
								 (void *) (p + MCXT_CHUNK_HDRSZ), req);
				problems++;
			}
		}
#endif
		p += MCXT_CHUNK_HDRSZ + chunk_size;
	}
	if (nchunks != block->nchunks || nfree != block->nfree)
	{
		mcxti_check_warn(ctx, "block %p counts %u chunks (%u free) but holds %u (%u free)",
						 (void *) block, block->nchunks, block->nfree, nchunks, nfree);
		problems++;
	}
	return problems;
}

/* Every invariant written above struct mcxt_gen_block in chunk.h. */
static int
gen_check(mcxt_context *ctx)
{
	mcxt_generation *set = (mcxt_generation *) ctx;
	mcxt_gen_block *keeper = mcxt_gen_keeper(set);
	mcxt_gen_block *prev = NULL;
	size_t		held = MCXT_GEN_KEEPER_OFFSET;
	size_t		nblocks = 0;
	bool		keeper_seen = false;
	bool		current_seen = false;
	bool		free_seen = false;
	int			problems = 0;

#define PROBLEM(...) do { mcxti_check_warn(ctx, __VA_ARGS__); problems++; } while (0)

	for (mcxt_gen_block *block = set->blocks; block != NULL; block = block->next)
	{
		if (++nblocks > ((size_t) 1 << 32))
		{
			PROBLEM("block list does not end (cycle?)");
			break;
		}
		keeper_seen |= block == keeper;
		current_seen |= block == set->block;
		free_seen |= block == set->freeblock;
		if (block->context != set)
			PROBLEM("block %p belongs to %p", (void *) block, (void *) block->context);
		if (!gen_block_valid(block))
			PROBLEM("block %p has a bad check word", (void *) block);
		if (block->prev != prev)
			PROBLEM("block %p has a bad prev link", (void *) block);
		prev = block;
		if (block->freeptr < gen_block_start(block) || block->freeptr > block->endptr)
		{
			PROBLEM("block %p has free pointer %p outside [%p, %p]", (void *) block,
					(void *) block->freeptr, (void *) gen_block_start(block),
					(void *) block->endptr);
			continue;
		}
		held += gen_block_size(block);
		if (block->nchunks == 0 ? block->freeptr != gen_block_start(block)
			: block->nfree >= block->nchunks)
			PROBLEM("block %p has %u chunks, %u free: it should have been emptied",
					(void *) block, block->nchunks, block->nfree);
		problems += gen_check_chunks(ctx, block);
	}
	if (!keeper_seen)
		PROBLEM("keeper block %p is not on the block list", (void *) keeper);
	if (!current_seen)
		PROBLEM("current block %p is not on the block list", (void *) set->block);
	if (set->freeblock != NULL)
	{
		if (!free_seen)
			PROBLEM("free block %p is not on the block list", (void *) set->freeblock);
		else if (set->freeblock->nchunks != 0 || set->freeblock == keeper ||
				 set->freeblock == set->block)
			PROBLEM("free block %p is in use", (void *) set->freeblock);
	}
	if (held != ctx->mem_allocated)
		PROBLEM("blocks hold %zu bytes but mem_allocated is %llu", held,
				(unsigned long long) ctx->mem_allocated);
#undef PROBLEM
	return problems;
}

const mcxt_methods mcxti_generation_methods = {
	.name = "Generation",
	.alloc = gen_alloc,
	.free_p = gen_free,
	.realloc = gen_realloc,
	.reset = gen_reset,
	.delete_context = gen_delete,
	.get_chunk_context = gen_get_chunk_context,
	.get_chunk_space = gen_get_chunk_space,
	.is_empty = gen_is_empty,
	.stats = gen_stats,
	.check = gen_check,
};
