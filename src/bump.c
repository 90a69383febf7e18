/*
 * bump.c
 *	  Bump: the densest context type, for chunks that all die together.
 *
 * A request is carved from the active block by moving a pointer; nothing
 * is ever freed one chunk at a time.  In release builds a chunk has no
 * header at all, so 1,000 requests of 24 bytes take 24,000 bytes of block
 * space (an AllocSet: 32,000).  The price is that pfree, repalloc,
 * GetMemoryChunkContext and GetMemoryChunkSpace cannot work on a bump
 * chunk: in checking builds (MCXT_DEBUG >= 1, memory tools) every chunk has
 * a header of type MCXT_TYPE_BUMP and those calls are refused with a misuse
 * error; in release builds they read whatever is in front of the chunk and
 * their behaviour is undefined (usually a bad-pointer error), as in
 * PostgreSQL.
 *
 * Blocks double from init_block_size up to max_block_size and are given
 * back only on reset and delete.  The first block, the keeper, shares the
 * allocation of the context header and is only rewound.  Requests above
 * max_block_size / 8 get a dedicated block, placed second in the list so
 * the active block keeps its free space.  The layout is in chunk.h.
 */
#include "mcxt_int.h"

#if MCXT_ASET_CHECKED
#define BUMP_CHUNK_HDRSZ	MCXT_CHUNK_HDRSZ
#else
#define BUMP_CHUNK_HDRSZ	0
#endif

static char *
bump_block_start(mcxt_bump_block *block)
{
	return (char *) block + MCXT_BUMP_BLOCKHDRSZ;
}

static size_t
bump_block_size(const mcxt_bump_block *block)
{
	return (size_t) (block->endptr - (const char *) block);
}

static bool
bump_block_valid(const mcxt_bump_block *block)
{
	return block->check == ((uintptr_t) block ^ MCXT_BLOCK_MAGIC);
}

static void
bump_block_init(mcxt_bump_block *block, mcxt_bump *set, size_t size)
{
	block->context = set;
	block->next = NULL;
	block->freeptr = bump_block_start(block);
	block->endptr = (char *) block + size;
	block->check = (uintptr_t) block ^ MCXT_BLOCK_MAGIC;
	MCXT_MEM_NOACCESS(block->freeptr, (size_t) (block->endptr - block->freeptr));
}

/* Bytes a small request takes after its header: at least 8, aligned. */
static size_t
bump_chunk_size(size_t size)
{
	size_t		n = MCXT_ALIGN(size + MCXT_TAIL_ROOM);

	return n < MCXT_MAXALIGN ? MCXT_MAXALIGN : n;
}

mcxt_context_t *
mcxt_bump_create(mcxt_context_t *parent, const char *name,
				 size_t min_context_size, size_t init_block_size, size_t max_block_size)
{
	mcxt_bump  *set;
	size_t		first_size;
	size_t		limit;

	mcxti_check_create(parent, name, &min_context_size, &init_block_size, &max_block_size);
	first_size = MCXT_BUMP_KEEPER_OFFSET + MCXT_BUMP_BLOCKHDRSZ + MCXT_CHUNK_HDRSZ;
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
	bump_block_init(mcxt_bump_keeper(set), set, first_size - MCXT_BUMP_KEEPER_OFFSET);
	set->blocks = mcxt_bump_keeper(set);
	set->init_block_size = (uint32_t) init_block_size;
	set->max_block_size = (uint32_t) max_block_size;
	set->next_block_size = (uint32_t) init_block_size;
	limit = max_block_size / MCXT_BUMP_CHUNK_FRACTION;
	set->alloc_chunk_limit = (uint32_t) limit;
	set->keeper_size = (uint32_t) first_size;
	set->header.mem_allocated = first_size;
	set->header.bytes_alloc = first_size;
	set->header.max_bytes_held = first_size;
	/* registered first: the end of mcxti_context_init may dump (walk) it */
	MCXT_POOL_CREATE(set);
	mcxti_context_init(&set->header, MCXT_TYPE_BUMP, &mcxti_bump_methods, parent, name);
	mcxti_limit_after(&set->header);
	return &set->header;
}

/* ---- allocation --------------------------------------------------------- */

/*
 * Hand out [p, p + chunk_size) with its header (checking builds) at p - 8;
 * returns the user pointer.
 */
static void *
bump_finish_chunk(mcxt_bump *set, mcxt_bump_block *block, char *p, size_t size,
				  size_t chunk_size, uint64_t flags)
{
#if MCXT_ASET_CHECKED
	uint64_t	value = size <= MCXT_CHUNK_VALUE_MASK ? size : 0;

	mcxti_hdr_set(p - MCXT_CHUNK_HDRSZ,
				  mcxt_chunk_make_hdr(MCXT_TYPE_BUMP, value,
									  (uint64_t) (p - MCXT_CHUNK_HDRSZ - (char *) block), flags));
	MCXT_POOL_ALLOC(set, p, size);
	mcxti_chunk_mark_new(p, 0, size);
	mcxti_chunk_mark_tail(p, size, chunk_size);
#else
	(void) set;
	(void) block;
	(void) size;
	(void) chunk_size;
	(void) flags;
#endif
	return p;
}

/* A request above the chunk limit: a block of its own, second in the list. */
static mcxt_noinline void *
bump_alloc_large(mcxt_bump *set, size_t size, int flags)
{
	mcxt_bump_block *block;
	size_t		chunk_size;
	size_t		block_size;
	char	   *p;

	mcxti_check_size(&set->header, size, flags);
	chunk_size = MCXT_ALIGN(size + MCXT_TAIL_ROOM);
	block_size = MCXT_BUMP_BLOCKHDRSZ + BUMP_CHUNK_HDRSZ + chunk_size;
	block = mcxti_ctx_source_alloc(&set->header, block_size);
	if (block == NULL)
		return mcxti_oom(&set->header, size, flags);
	mcxti_note_alloc(&set->header, block_size);
	bump_block_init(block, set, block_size);
	block->freeptr = block->endptr;
	block->next = set->blocks->next;
	set->blocks->next = block;
	p = bump_block_start(block) + BUMP_CHUNK_HDRSZ;
	p = bump_finish_chunk(set, block, p, size, chunk_size, MCXT_CHUNK_EXTERNAL);
	mcxti_limit_after(&set->header);
	return p;
}

/* The active block is full: a new one, twice the last, becomes active. */
static mcxt_noinline void *
bump_alloc_from_new_block(mcxt_bump *set, size_t size, int flags, size_t chunk_size)
{
	mcxt_bump_block *block;
	size_t		required = MCXT_BUMP_BLOCKHDRSZ + BUMP_CHUNK_HDRSZ + chunk_size;
	size_t		block_size = set->next_block_size;
	char	   *p;

	set->next_block_size = block_size * 2 <= set->max_block_size
		? (uint32_t) (block_size * 2) : set->max_block_size;
	while (block_size < required)
		block_size <<= 1;
	block = mcxti_ctx_block_alloc(&set->header, block_size);
	if (block == NULL)
		return mcxti_oom(&set->header, size, flags);
	mcxti_note_alloc(&set->header, block_size);
	bump_block_init(block, set, block_size);
	block->next = set->blocks;
	set->blocks = block;
	p = block->freeptr + BUMP_CHUNK_HDRSZ;
	block->freeptr = p + chunk_size;
	p = bump_finish_chunk(set, block, p, size, chunk_size, 0);
	mcxti_limit_after(&set->header);
	return p;
}

static void *
bump_alloc_impl(mcxt_bump *set, size_t size, int flags)
{
	mcxt_bump_block *block = set->blocks;
	size_t		chunk_size;
	char	   *p;

	if (unlikely(size > set->alloc_chunk_limit))
		return bump_alloc_large(set, size, flags);
	chunk_size = bump_chunk_size(size);
	if (unlikely((size_t) (block->endptr - block->freeptr) < BUMP_CHUNK_HDRSZ + chunk_size))
		return bump_alloc_from_new_block(set, size, flags, chunk_size);
	p = block->freeptr + BUMP_CHUNK_HDRSZ;
	block->freeptr = p + chunk_size;
	return bump_finish_chunk(set, block, p, size, chunk_size, 0);
}

static void *
bump_alloc(mcxt_context *ctx, size_t size, int flags)
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
		p = bump_alloc_impl((mcxt_bump *) ctx, size, flags);
		CTX_LEAVE(ctx);
	}
	return p;
}

/* ---- what a bump chunk does not support --------------------------------- */

/*
 * pfree, repalloc, GetMemoryChunkContext and GetMemoryChunkSpace of a chunk
 * whose header says Bump: refused, naming the context when the header leads
 * to a live bump block; a forged or stale header is a bad pointer.
 */
static mcxt_noreturn void
bump_refuse(const char *op, const void *ptr, uint64_t hdr)
{
	uint64_t	offset = mcxt_chunk_hdr_offset(hdr);

	if (offset >= MCXT_BUMP_BLOCKHDRSZ)
	{
		const mcxt_bump_block *block =
			(const mcxt_bump_block *) ((const char *) ptr - MCXT_CHUNK_HDRSZ - offset);

		if (bump_block_valid(block) && block->context != NULL)
			mcxti_error(MCXT_ERR_MISUSE, &block->context->header,
						"%s is not supported by the bump memory allocator (chunk %p in memory context \"%s\")",
						op, ptr, block->context->header.name);
	}
	mcxti_bad_pointer(op, ptr, hdr);
}

static void
bump_free(void *ptr, uint64_t hdr)
{
	bump_refuse("pfree", ptr, hdr);
}

static void *
bump_realloc(void *ptr, uint64_t hdr, size_t size, int flags)
{
	(void) size;
	(void) flags;
	bump_refuse("repalloc", ptr, hdr);
}

static mcxt_context *
bump_get_chunk_context(const void *ptr, uint64_t hdr)
{
	bump_refuse("GetMemoryChunkContext", ptr, hdr);
}

static size_t
bump_get_chunk_space(const void *ptr, uint64_t hdr)
{
	bump_refuse("GetMemoryChunkSpace", ptr, hdr);
}

/* ---- reset and delete --------------------------------------------------- */

/* Give back every block but the keeper, and rewind the keeper. */
static void
bump_reset(mcxt_context *ctx)
{
	mcxt_bump  *set = (mcxt_bump *) ctx;
	mcxt_bump_block *keeper = mcxt_bump_keeper(set);
	mcxt_bump_block *block = set->blocks;

	MCXT_POOL_DESTROY(set);
	MCXT_POOL_CREATE(set);
	while (block != NULL)
	{
		mcxt_bump_block *next = block->next;

		if (block != keeper)
		{
			size_t		size = bump_block_size(block);

			mcxti_note_free(&set->header, size);
			block->check = 0;
			mcxti_block_free(block, size);
		}
		block = next;
	}
	keeper->next = NULL;
	keeper->freeptr = bump_block_start(keeper);
	MCXT_MEM_NOACCESS(keeper->freeptr, (size_t) (keeper->endptr - keeper->freeptr));
	set->blocks = keeper;
	set->next_block_size = set->init_block_size;
}

static void
bump_delete(mcxt_context *ctx)
{
	mcxt_bump  *set = (mcxt_bump *) ctx;

	bump_reset(ctx);
	mcxt_bump_keeper(set)->check = 0;
	ctx->magic = MCXT_CONTEXT_DEAD;
	MCXT_POOL_DESTROY(set);
	mcxti_block_free(set, set->keeper_size);
}

/* ---- introspection ------------------------------------------------------ */

static bool
bump_is_empty(mcxt_context *ctx)
{
	mcxt_bump  *set = (mcxt_bump *) ctx;
	mcxt_bump_block *keeper = mcxt_bump_keeper(set);

	return set->blocks == keeper && keeper->next == NULL &&
		keeper->freeptr == bump_block_start(keeper);
}

/* As PostgreSQL's BumpStats: free space is the unused end of every block. */
static void
bump_stats(mcxt_context *ctx, mcxt_counters_t *totals)
{
	mcxt_bump  *set = (mcxt_bump *) ctx;

	totals->totalspace += MCXT_BUMP_KEEPER_OFFSET;
	for (mcxt_bump_block *block = set->blocks; block != NULL; block = block->next)
	{
		totals->nblocks++;
		totals->totalspace += bump_block_size(block);
		totals->freespace += (size_t) (block->endptr - block->freeptr);
	}
}

#if MCXT_ASET_CHECKED
/* Walk one block's chunk headers up to its free pointer. */
static int
bump_check_chunks(mcxt_context *ctx, mcxt_bump_block *block)
{
	char	   *p = bump_block_start(block);
	int			problems = 0;

	while (p < block->freeptr)
	{
		uint64_t	hdr = mcxti_hdr_get(p);
		size_t		req = (size_t) mcxt_chunk_hdr_value(hdr);
		size_t		chunk_size;

		if (mcxt_chunk_hdr_type(hdr) != MCXT_TYPE_BUMP || (hdr & MCXT_CHUNK_FREE) ||
			mcxt_chunk_hdr_offset(hdr) != (uint64_t) (p - (char *) block))
		{
			mcxti_check_warn(ctx, "bad chunk header 0x%016llx at %p in block %p",
							 (unsigned long long) hdr, (void *) p, (void *) block);
			return problems + 1;
		}
		if (hdr & MCXT_CHUNK_EXTERNAL)
		{
			chunk_size = (size_t) (block->endptr - p) - MCXT_CHUNK_HDRSZ;
			if (p != bump_block_start(block) || block->freeptr != block->endptr)
			{
				mcxti_check_warn(ctx, "external chunk %p is not alone in block %p",
								 (void *) (p + MCXT_CHUNK_HDRSZ), (void *) block);
				return problems + 1;
			}
			if (req == 0)
				return problems;	/* size not kept: nothing more to check */
		}
		else
			chunk_size = bump_chunk_size(req);
		if (p + MCXT_CHUNK_HDRSZ + chunk_size > block->freeptr ||
			req + MCXT_TAIL_ROOM > chunk_size)
		{
			mcxti_check_warn(ctx, "chunk %p of size %zu runs past the free pointer of block %p",
							 (void *) (p + MCXT_CHUNK_HDRSZ), chunk_size, (void *) block);
			return problems + 1;
		}
		if (!mcxti_sentinel_ok(p + MCXT_CHUNK_HDRSZ, req))
		{
			mcxti_check_warn(ctx, "detected write past chunk end: chunk %p, requested size %zu",
							 (void *) (p + MCXT_CHUNK_HDRSZ), req);
			problems++;
		}
		p += MCXT_CHUNK_HDRSZ + chunk_size;
	}
	return problems;
}
#endif

/* Every invariant written above struct mcxt_bump_block in chunk.h. */
static int
bump_check(mcxt_context *ctx)
{
	mcxt_bump  *set = (mcxt_bump *) ctx;
	mcxt_bump_block *keeper = mcxt_bump_keeper(set);
	size_t		held = MCXT_BUMP_KEEPER_OFFSET;
	size_t		nblocks = 0;
	bool		keeper_seen = false;
	int			problems = 0;

#define PROBLEM(...) do { mcxti_check_warn(ctx, __VA_ARGS__); problems++; } while (0)

	for (mcxt_bump_block *block = set->blocks; block != NULL; block = block->next)
	{
		if (++nblocks > ((size_t) 1 << 32))
		{
			PROBLEM("block list does not end (cycle?)");
			break;
		}
		if (block == keeper)
			keeper_seen = true;
		if (block->context != set)
			PROBLEM("block %p belongs to %p", (void *) block, (void *) block->context);
		if (!bump_block_valid(block))
			PROBLEM("block %p has a bad check word", (void *) block);
		if (block->freeptr < bump_block_start(block) || block->freeptr > block->endptr)
		{
			PROBLEM("block %p has free pointer %p outside [%p, %p]", (void *) block,
					(void *) block->freeptr, (void *) bump_block_start(block),
					(void *) block->endptr);
			continue;
		}
		held += bump_block_size(block);
#if MCXT_ASET_CHECKED
		problems += bump_check_chunks(ctx, block);
#endif
	}
	if (!keeper_seen)
		PROBLEM("keeper block %p is not on the block list", (void *) keeper);
	if (held != ctx->mem_allocated)
		PROBLEM("blocks hold %zu bytes but mem_allocated is %llu", held,
				(unsigned long long) ctx->mem_allocated);
#undef PROBLEM
	return problems;
}

const mcxt_methods mcxti_bump_methods = {
	.name = "Bump",
	.alloc = bump_alloc,
	.free_p = bump_free,
	.realloc = bump_realloc,
	.reset = bump_reset,
	.delete_context = bump_delete,
	.get_chunk_context = bump_get_chunk_context,
	.get_chunk_space = bump_get_chunk_space,
	.is_empty = bump_is_empty,
	.stats = bump_stats,
	.check = bump_check,
};
