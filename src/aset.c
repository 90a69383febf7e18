/*
 * aset.c
 *	  AllocSet: the general-purpose context type, as PostgreSQL defines it.
 *
 * Small requests (up to alloc_chunk_limit) are rounded up to a power of two
 * from 8 B to 8 KB and carved from the active block; freed small chunks go
 * on one of 11 freelists and are reused for requests of the same class,
 * never handed back to the block source until the context is reset or
 * deleted.  The wasted space of power-of-two rounding is the price of a
 * freelist that never fragments.  Larger requests get a block of their own,
 * given back as soon as the chunk is freed.
 *
 * Blocks double from init_block_size up to max_block_size.  The first block
 * (the keeper) lives in the same allocation as the context header and is
 * only rewound on reset, so a per-tuple context that is reset after a few
 * small allocations never touches the block source.  Deleted contexts of
 * the two standard initial sizes are parked on small per-thread lists and
 * reused, so creating and deleting a context is cheap too.
 *
 * The chunk header, block and context structs are in chunk.h; the fast
 * paths are inlined from aset_fast.h.  See src/README.md for the design.
 */
#include <string.h>

#include "aset_fast.h"

/* Recycled contexts: one list per standard initial block size. */
#define ASET_MAX_FREE_CONTEXTS	100

typedef struct aset_freelist
{
	int			num_free;
	mcxt_aset  *first;			/* linked through header.nextchild */
} aset_freelist;

static MCXT_TLS aset_freelist aset_context_freelists[2];

/* The fast path's tables (aset_fast.h), filled in at compile time. */
#define C1(n)	(n)
#define C2(n)	C1(n), C1(n)
#define C4(n)	C2(n), C2(n)
#define C8(n)	C4(n), C4(n)
#define C16(n)	C8(n), C8(n)
#define C32(n)	C16(n), C16(n)
#define C64(n)	C32(n), C32(n)
#define C128(n) C64(n), C64(n)
#define C256(n) C128(n), C128(n)
#define C512(n) C256(n), C256(n)

#define H(i)	((uint64_t) MCXT_TYPE_ASET | ((uint64_t) (i) << MCXT_CHUNK_VALUE_SHIFT))

const mcxt_aset_classes mcxti_aset_classes = {
	.hdr = {H(0), H(1), H(2), H(3), H(4), H(5), H(6), H(7), H(8), H(9), H(10)},
	.need = {
		8 + 8, 16 + 8, 32 + 8, 64 + 8, 128 + 8, 256 + 8, 512 + 8, 1024 + 8, 2048 + 8,
		4096 + 8, 8192 + 8
	},
	/* index (size + 7) / 8: 0 and 1 -> class 0 (8 B), 2 -> 1 (16 B), 3-4 -> 2 ... */
	.class_of = {
		C2(0), C1(1), C2(2), C4(3), C8(4), C16(5), C32(6), C64(7), C128(8), C256(9), C512(10)
	},
};

#undef H

_Static_assert(sizeof(mcxti_aset_classes.class_of) == 1025, "one entry per 8 bytes up to 8 KB");
_Static_assert(MCXT_CHUNK_HDRSZ == 8 && MCXT_ASET_NUM_FREELISTS == 11,
			   "the class tables assume 8-byte headers and 11 classes");

static char *
aset_block_start(mcxt_aset_block *block)
{
	return (char *) block + MCXT_ASET_BLOCKHDRSZ;
}

static size_t
aset_block_size(const mcxt_aset_block *block)
{
	return (size_t) (block->endptr - (const char *) block);
}

static bool
aset_block_is_external(mcxt_aset_block *block)
{
	/* an external block holds one chunk, flagged in its header */
	return block->freeptr == block->endptr &&
		(mcxti_hdr_get(aset_block_start(block)) & MCXT_CHUNK_EXTERNAL) != 0;
}

static void
aset_block_init(mcxt_aset_block *block, mcxt_aset *set, size_t size)
{
	block->aset = set;
	block->prev = NULL;
	block->next = NULL;
	block->freeptr = aset_block_start(block);
	block->endptr = (char *) block + size;
	block->check = (uintptr_t) block ^ MCXT_BLOCK_MAGIC;
	MCXT_MEM_NOACCESS(block->freeptr, (size_t) (block->endptr - block->freeptr));
}

/* The freelist link, kept in the first 8 bytes of a free chunk's user area. */
static uint64_t *
aset_link_get(const uint64_t *chunk)
{
	uint64_t   *next;

	MCXT_MEM_DEFINED((void *) (chunk + 1), sizeof(uint64_t *));
	next = *(uint64_t *const *) (chunk + 1);
	MCXT_MEM_NOACCESS((void *) (chunk + 1), sizeof(uint64_t *));
	return next;
}

/* Push a chunk whose header says free onto its freelist. */
static void
aset_freelist_push(mcxt_aset *set, uint64_t *chunk, unsigned idx)
{
	MCXT_MEM_UNDEFINED(chunk + 1, aset_chunk_size(idx));
#if MCXT_DEBUG >= 2
	memset(chunk + 1, MCXT_FREED_BYTE, aset_chunk_size(idx));
#endif
	*(uint64_t **) (chunk + 1) = set->freelist[idx];
	MCXT_MEM_NOACCESS(chunk + 1, aset_chunk_size(idx));
	set->freelist[idx] = chunk;
}

/*
 * The largest chunk limit that still lets at least MCXT_ASET_CHUNK_FRACTION
 * chunks of that size fit in a maximum-size block, so a block never wastes
 * more than a quarter of itself on one leftover.
 */
static uint32_t
aset_chunk_limit(size_t max_block_size)
{
	size_t		limit = MCXT_ASET_CHUNK_LIMIT;

	while (limit > (1 << MCXT_ASET_MINBITS) &&
		   limit + MCXT_CHUNK_HDRSZ >
		   (max_block_size - MCXT_ASET_BLOCKHDRSZ) / MCXT_ASET_CHUNK_FRACTION)
		limit >>= 1;
	return (uint32_t) limit;
}

static mcxt_aset_block *aset_live_chunk_block(const char *op, const void *ptr, uint64_t hdr);

/* ---- checking builds ---------------------------------------------------- */

#if MCXT_ASET_CHECKED

/*
 * The requested size a checked build keeps in the header: for a small
 * chunk in the value's upper bits, for an external one the whole value
 * (0 when it was too big to keep).
 */
static size_t
aset_requested(uint64_t hdr, bool *known)
{
	uint64_t	value = mcxt_chunk_hdr_value(hdr);

	if (hdr & MCXT_CHUNK_EXTERNAL)
	{
		*known = value != 0;
		return (size_t) value;
	}
	*known = true;
	return (size_t) (value >> MCXT_ASET_IDX_BITS);
}

static uint64_t
aset_value(unsigned idx, size_t requested)
{
	return (uint64_t) idx | ((uint64_t) requested << MCXT_ASET_IDX_BITS);
}

/* Stop on a live chunk whose sentinel was overwritten. */
static void
aset_check_tail(mcxt_aset *set, const char *op, const void *ptr, uint64_t hdr)
{
#if MCXT_DEBUG >= 2
	bool		known;
	size_t		req = aset_requested(hdr, &known);

	if (known && !mcxti_sentinel_ok(ptr, req))
		mcxti_error(MCXT_ERR_CORRUPTION, &set->header,
					"%s: detected write past chunk end in memory context \"%s\": chunk %p, requested size %zu",
					op, set->header.name, ptr, req);
#else
	(void) set;
	(void) op;
	(void) ptr;
	(void) hdr;
#endif
}

#endif							/* MCXT_ASET_CHECKED */

/* ---- creation ----------------------------------------------------------- */

/*
 * Reuse a context parked on fl, if there is one: the keeper has the same
 * size (the list is per initial size); only the maximum block size may
 * differ.  The sizes must already be valid.  Parking left everything but
 * the tree links, the name and the magic as a new context's.
 */
static inline mcxt_context *
aset_reuse_body(mcxt_aset *set, aset_freelist *fl, size_t max_block_size, mcxt_context *parent,
				const char *name)
{
	fl->first = (mcxt_aset *) set->header.nextchild;
	fl->num_free--;
	if (set->max_block_size != max_block_size)
	{
		set->max_block_size = (uint32_t) max_block_size;
		set->alloc_chunk_limit = aset_chunk_limit(max_block_size);
	}
	/* aset_delete left the accounting as a new context's */
	MCXT_POOL_CREATE(set);
	return mcxti_context_init(&set->header, MCXT_TYPE_ASET, &mcxti_aset_methods, parent, name);
}

/*
 * A reuse under a subtree limit, out of line so that the common case pays
 * one test: the limit is asked for the keeper first, and the soft-limit
 * callbacks run once the context is linked.
 */
static mcxt_noinline mcxt_context *
aset_reuse_limited(mcxt_aset *set, aset_freelist *fl, size_t max_block_size,
				   mcxt_context *parent, const char *name)
{
	mcxt_context *ctx;

	mcxti_limit_create_check_slow(parent, set->keeper_size, name);
	ctx = aset_reuse_body(set, fl, max_block_size, parent, name);
	mcxti_limit_fire(ctx);
	return ctx;
}

static mcxt_context *
aset_reuse(aset_freelist *fl, size_t max_block_size, mcxt_context *parent, const char *name)
{
	mcxt_aset  *set = fl->first;

	if (set == NULL)
		return NULL;
	if (unlikely(parent != NULL && parent->limit != NULL))
		return aset_reuse_limited(set, fl, max_block_size, parent, name);
	return aset_reuse_body(set, fl, max_block_size, parent, name);
}

/*
 * Everything mcxt_aset_create's common case does not handle: non-standard
 * sizes (validated here), an empty recycle list, a different maximum block
 * size, and the errors.  Kept out of line so that the common case needs no
 * stack frame.
 */
static mcxt_noinline mcxt_context *
aset_create_general(mcxt_context *parent, const char *name, size_t min_context_size,
					size_t init_block_size, size_t max_block_size)
{
	mcxt_aset  *set;
	mcxt_aset_block *keeper;
	mcxt_context *reused;
	size_t		first_size;
	int			freelist_index = -1;

	if (name == NULL)
		mcxti_error(MCXT_ERR_MISUSE, parent, "memory context created without a name");
	if (parent != NULL && parent->magic != MCXT_CONTEXT_MAGIC)
		mcxti_error(MCXT_ERR_MISUSE, NULL,
					"memory context \"%s\" created under an invalid (deleted?) parent %p",
					name, (void *) parent);
	min_context_size = MCXT_ALIGN(min_context_size);
	init_block_size = MCXT_ALIGN(init_block_size);
	max_block_size = MCXT_ALIGN(max_block_size);
	if (init_block_size < 1024 || max_block_size < init_block_size ||
		max_block_size > ((size_t) 1 << 30) ||
		(min_context_size != 0 &&
		 (min_context_size < 1024 || min_context_size > max_block_size)))
		mcxti_error(MCXT_ERR_MISUSE, parent,
					"invalid block sizes for memory context \"%s\": min %zu, init %zu, max %zu "
					"(need init >= 1024, max >= init, max <= 1 GB, min 0 or 1024..max)",
					name, min_context_size, init_block_size, max_block_size);

	if (min_context_size == 0 && init_block_size == MCXT_DEFAULT_INITSIZE)
		freelist_index = 0;
	else if (min_context_size == 0 && init_block_size == MCXT_SMALL_INITSIZE)
		freelist_index = 1;

	if (freelist_index >= 0 &&
		(reused = aset_reuse(&aset_context_freelists[freelist_index], max_block_size,
							 parent, name)) != NULL)
		return reused;

	first_size = MCXT_ASET_KEEPER_OFFSET + MCXT_ASET_BLOCKHDRSZ + MCXT_CHUNK_HDRSZ;
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
	keeper = mcxt_aset_keeper(set);
	aset_block_init(keeper, set, first_size - MCXT_ASET_KEEPER_OFFSET);
	set->blocks = keeper;
	set->init_block_size = (uint32_t) init_block_size;
	set->max_block_size = (uint32_t) max_block_size;
	set->next_block_size = (uint32_t) init_block_size;
	set->alloc_chunk_limit = aset_chunk_limit(max_block_size);
	set->keeper_size = (uint32_t) first_size;
	set->freelist_index = freelist_index;
	set->header.mem_allocated = first_size;
	set->header.bytes_alloc = first_size;
	set->header.max_bytes_held = first_size;
	/* registered first: the end of mcxti_context_init may dump (walk) it */
	MCXT_POOL_CREATE(set);
	mcxti_context_init(&set->header, MCXT_TYPE_ASET, &mcxti_aset_methods, parent, name);
	mcxti_limit_after(&set->header);
	return &set->header;
}

/*
 * The common case, PostgreSQL's per-query and per-tuple contexts: standard
 * initial sizes, a context of the same maximum block size parked for reuse
 * (so the sizes are known to be valid), a name and a live parent outside
 * any limited subtree (so there is no limit to check or charge).  It only
 * pops the context and links it into the tree: aset_delete left the rest
 * as a new context's.
 */
mcxt_context_t *
mcxt_aset_create(mcxt_context_t *parent, const char *name,
				 size_t min_context_size, size_t init_block_size,
				 size_t max_block_size)
{
	if (likely(min_context_size == 0 && name != NULL &&
			   (parent == NULL ||
				(parent->magic == MCXT_CONTEXT_MAGIC && parent->limit == NULL))))
	{
		aset_freelist *fl = NULL;
		mcxt_aset  *set;

		if (init_block_size == MCXT_DEFAULT_INITSIZE)
			fl = &aset_context_freelists[0];
		else if (init_block_size == MCXT_SMALL_INITSIZE)
			fl = &aset_context_freelists[1];
		if (fl != NULL && (set = fl->first) != NULL && set->max_block_size == max_block_size)
		{
			fl->first = (mcxt_aset *) set->header.nextchild;
			fl->num_free--;
			MCXT_POOL_CREATE(set);
			return mcxti_context_init(&set->header, MCXT_TYPE_ASET, &mcxti_aset_methods,
									  parent, name);
		}
	}
	return aset_create_general(parent, name, min_context_size, init_block_size, max_block_size);
}

/* ---- allocation slow paths ---------------------------------------------- */

static void *
aset_alloc(mcxt_context *ctx, size_t size, int flags)
{
	return aset_alloc_fast((mcxt_aset *) ctx, size, flags);
}

/* A request above the chunk limit: a block of its own, second in the list. */
mcxt_noinline void *
mcxti_aset_alloc_large(mcxt_aset *set, size_t size, int flags)
{
	mcxt_aset_block *block;
	size_t		chunk_size;
	size_t		block_size;
	char	   *chunk;
	uint64_t	value = 0;

	if (unlikely((flags & MCXT_ALLOC_HUGE) ? size > MCXT_MAX_ALLOC_HUGE_SIZE
				 : size > MCXT_MAX_ALLOC_SIZE))
		mcxti_invalid_size(&set->header, size);

	/* size <= SIZE_MAX / 2, so none of this can overflow */
	chunk_size = MCXT_ALIGN(size + MCXT_TAIL_ROOM);
	block_size = chunk_size + MCXT_ASET_BLOCKHDRSZ + MCXT_CHUNK_HDRSZ;
	block = mcxti_ctx_source_alloc(&set->header, block_size);
	if (block == NULL)
		return mcxti_oom(&set->header, size, flags);

	mcxti_note_alloc(&set->header, block_size);
	aset_block_init(block, set, block_size);
	block->freeptr = block->endptr;

	/* keep the active block at the head, so its free space stays in use */
	block->prev = set->blocks;
	block->next = set->blocks->next;
	if (block->next != NULL)
		block->next->prev = block;
	set->blocks->next = block;

	chunk = aset_block_start(block);
#if MCXT_ASET_CHECKED
	if (size <= MCXT_CHUNK_VALUE_MASK)
		value = size;
#endif
	mcxti_hdr_set(chunk, mcxt_chunk_make_hdr(MCXT_TYPE_ASET, value, MCXT_ASET_BLOCKHDRSZ,
											 MCXT_CHUNK_EXTERNAL));
	chunk += MCXT_CHUNK_HDRSZ;
#if MCXT_ASET_CHECKED
	MCXT_POOL_ALLOC(set, chunk, size);
	mcxti_chunk_mark_new(chunk, 0, size);
	mcxti_chunk_mark_tail(chunk, size, chunk_size);
#endif
	mcxti_limit_after(&set->header);
	return chunk;
}

/*
 * Put the active block's remaining space on the freelists before a new
 * block becomes active: power-of-two chunks, largest first, each with its
 * header, as long as at least a minimum chunk fits.
 */
static void
aset_carve_remainder(mcxt_aset *set, mcxt_aset_block *block)
{
	size_t		avail = (size_t) (block->endptr - block->freeptr);

	while (avail >= MCXT_CHUNK_HDRSZ + (1 << MCXT_ASET_MINBITS))
	{
		size_t		usable = avail - MCXT_CHUNK_HDRSZ;
		unsigned	idx = aset_free_index(usable);
		uint64_t   *chunk = (uint64_t *) block->freeptr;

		/* round down: the chunk must fit in what is left */
		if (aset_chunk_size(idx) > usable)
			idx--;
		mcxti_hdr_set(chunk, mcxt_chunk_make_hdr(MCXT_TYPE_ASET, idx,
												 (uint64_t) ((char *) chunk - (char *) block),
												 MCXT_CHUNK_FREE));
		aset_freelist_push(set, chunk, idx);
		block->freeptr += MCXT_CHUNK_HDRSZ + aset_chunk_size(idx);
		avail -= MCXT_CHUNK_HDRSZ + aset_chunk_size(idx);
	}
}

mcxt_noinline void *
mcxti_aset_alloc_from_new_block(mcxt_aset *set, size_t size, int flags)
{
	/* the class is recomputed here: passing it would cost the fast path a move */
	unsigned	idx = aset_free_index(size + MCXT_TAIL_ROOM);
	mcxt_aset_block *block;
	size_t		need = aset_chunk_size(idx) + MCXT_CHUNK_HDRSZ;
	size_t		required = need + MCXT_ASET_BLOCKHDRSZ;
	size_t		block_size;
	char	   *p;

	aset_carve_remainder(set, set->blocks);

	block_size = set->next_block_size;
	set->next_block_size = block_size * 2 <= set->max_block_size
		? (uint32_t) (block_size * 2) : set->max_block_size;
	while (block_size < required)
		block_size <<= 1;

	block = mcxti_ctx_block_alloc(&set->header, block_size);
	/*
	 * As PostgreSQL: if a big block is refused, try smaller ones down to what
	 * we need.  Under a subtree limit any block may be refused, so there the
	 * halving goes all the way down: the last bytes below a limit are used.
	 */
	while (block == NULL && (block_size > 1024 * 1024 || set->header.limit != NULL) &&
		   (block_size >> 1) >= required)
	{
		block_size >>= 1;
		block = mcxti_ctx_block_alloc(&set->header, block_size);
	}
	if (block == NULL)
		return mcxti_oom(&set->header, size, flags);

	mcxti_note_alloc(&set->header, block_size);
	aset_block_init(block, set, block_size);
	block->next = set->blocks;
	set->blocks->prev = block;
	set->blocks = block;

	p = block->freeptr;
	block->freeptr = p + need;
	mcxti_hdr_set(p, mcxt_chunk_make_hdr(MCXT_TYPE_ASET, idx, (uint64_t) (p - (char *) block), 0));
#if !MCXT_ASET_CHECKED
	/* soft-limit callbacks: checked builds run them once the chunk is finished */
	mcxti_limit_after(&set->header);
#endif
	return p + MCXT_CHUNK_HDRSZ;
}

#if MCXT_ASET_CHECKED
/*
 * The allocation path of checking and memory-tool builds: the fast path's
 * logic with every header and free-space access through the memory tool,
 * room for a sentinel after every request, the requested size kept in the
 * header, and (level 2) fill and clobber checks.
 */
void *
mcxti_aset_alloc_checked(mcxt_aset *set, size_t size, int flags)
{
	unsigned	idx;
	uint64_t   *chunk;
	uint64_t	offset;
	char	   *p;

#if MCXT_DEBUG >= 1
	if (set == NULL || set->header.magic != MCXT_CONTEXT_MAGIC)
		mcxti_error(MCXT_ERR_MISUSE, NULL,
					"allocation of %zu bytes in an invalid (deleted?) memory context %p",
					size, (void *) set);
#endif
	if (size > set->alloc_chunk_limit - MCXT_TAIL_ROOM)
	{
		CTX_ENTER(&set->header, "palloc");
		p = mcxti_aset_alloc_large(set, size, flags);
		CTX_LEAVE(&set->header);
		return p;
	}

	CTX_ENTER(&set->header, "palloc");
	idx = aset_free_index(size + MCXT_TAIL_ROOM);
	chunk = set->freelist[idx];
	if (chunk != NULL)
	{
#if MCXT_DEBUG >= 2
		if (!mcxti_clobber_ok((char *) (chunk + 2), aset_chunk_size(idx) - sizeof(uint64_t)))
			mcxti_error(MCXT_ERR_CORRUPTION, &set->header,
						"detected write after pfree in chunk %p of memory context \"%s\"",
						(void *) (chunk + 1), set->header.name);
#endif
		set->freelist[idx] = aset_link_get(chunk);
		offset = mcxt_chunk_hdr_offset(mcxti_hdr_get(chunk));
	}
	else
	{
		mcxt_aset_block *block = set->blocks;
		size_t		need = aset_chunk_size(idx) + MCXT_CHUNK_HDRSZ;

		if ((size_t) (block->endptr - block->freeptr) >= need)
		{
			chunk = (uint64_t *) block->freeptr;
			block->freeptr += need;
			offset = (uint64_t) ((char *) chunk - (char *) block);
		}
		else
		{
			p = mcxti_aset_alloc_from_new_block(set, size, flags);
			if (p == NULL)
			{
				CTX_LEAVE(&set->header);
				return NULL;
			}
			chunk = (uint64_t *) p - 1;
			offset = mcxt_chunk_hdr_offset(mcxti_hdr_get(chunk));
		}
	}
	p = (char *) (chunk + 1);
	mcxti_hdr_set(chunk, mcxt_chunk_make_hdr(MCXT_TYPE_ASET, aset_value(idx, size), offset, 0));
	MCXT_POOL_ALLOC(set, p, size);
	mcxti_chunk_mark_new(p, 0, size);
	mcxti_chunk_mark_tail(p, size, aset_chunk_size(idx));
	CTX_LEAVE(&set->header);
	mcxti_limit_after(&set->header);
	return p;
}
#endif

/* ---- free and realloc --------------------------------------------------- */

static const char *
aset_ctx_name(mcxt_aset_block *block)
{
	return block->aset != NULL ? block->aset->header.name : "?";
}

/* Unlink and give back the dedicated block of a large chunk. */
static void
aset_free_large(mcxt_aset *set, mcxt_aset_block *block, uint64_t *chunk)
{
	size_t		size;

	if (block->prev != NULL)
		block->prev->next = block->next;
	else
		set->blocks = block->next;
	if (block->next != NULL)
		block->next->prev = block->prev;
	size = aset_block_size(block);
	mcxti_note_free(&set->header, size);
	block->check = 0;
	mcxti_hdr_set(chunk, 0);
	mcxti_source_free(block, size);
}

/*
 * Everything the fast path does not handle: a large chunk (freed here), or
 * a pointer that is not a live chunk (reported by aset_live_chunk_block;
 * never returns).
 */
mcxt_noinline void
mcxti_aset_free_slow(void *ptr, uint64_t hdr)
{
	uint64_t   *chunk = (uint64_t *) ptr - 1;
	mcxt_aset_block *block = aset_live_chunk_block("pfree", ptr, hdr);

	if (hdr & MCXT_CHUNK_EXTERNAL)
		aset_free_large(block->aset, block, chunk);
	else
	{
		/* a live small chunk: the fast path sends none here, but be exact */
		unsigned	idx = (unsigned) (mcxt_chunk_hdr_value(hdr) & MCXT_ASET_IDX_MASK);

		mcxti_hdr_set(chunk, mcxt_chunk_make_hdr(MCXT_TYPE_ASET, idx,
												 mcxt_chunk_hdr_offset(hdr), MCXT_CHUNK_FREE));
		aset_freelist_push(block->aset, chunk, idx);
	}
}

static void
aset_free(void *ptr, uint64_t hdr)
{
	aset_free_fast(ptr, hdr, mcxti_aset_free_slow);
}

#if MCXT_ASET_CHECKED
void
mcxti_aset_free_checked(void *ptr, uint64_t hdr)
{
	uint64_t   *chunk = (uint64_t *) ptr - 1;
	mcxt_aset_block *block = aset_live_chunk_block("pfree", ptr, hdr);	/* or reports */
	unsigned	idx = (unsigned) (mcxt_chunk_hdr_value(hdr) & MCXT_ASET_IDX_MASK);
	mcxt_aset  *set = block->aset;

	{
		CTX_ENTER(&set->header, "pfree");

		aset_check_tail(set, "pfree", ptr, hdr);
		MCXT_POOL_FREE(set, ptr);
		if (hdr & MCXT_CHUNK_EXTERNAL)
			aset_free_large(set, block, chunk);
		else
		{
			mcxti_hdr_set(chunk, mcxt_chunk_make_hdr(MCXT_TYPE_ASET, idx,
													 mcxt_chunk_hdr_offset(hdr), MCXT_CHUNK_FREE));
			aset_freelist_push(set, chunk, idx);
		}
		CTX_LEAVE(&set->header);
	}
}
#endif

/* The block of a chunk that must be live; reports the error otherwise. */
static mcxt_aset_block *
aset_live_chunk_block(const char *op, const void *ptr, uint64_t hdr)
{
	const uint64_t *chunk = (const uint64_t *) ptr - 1;
	mcxt_aset_block *block = (mcxt_aset_block *) ((char *) chunk - mcxt_chunk_hdr_offset(hdr));

	if (!aset_block_valid(block))
		mcxti_bad_pointer(op, ptr, hdr);
	if (hdr & MCXT_CHUNK_FREE)
	{
		mcxti_unpoison_rejected(ptr);
		mcxti_error(MCXT_ERR_BAD_POINTER, &block->aset->header,
					"%s called with already freed chunk %p in memory context \"%s\" (double free?)",
					op, ptr, aset_ctx_name(block));
	}
	if (hdr & MCXT_CHUNK_EXTERNAL)
	{
		if (mcxt_chunk_hdr_offset(hdr) != MCXT_ASET_BLOCKHDRSZ || block->freeptr != block->endptr)
			mcxti_bad_pointer(op, ptr, hdr);
		return block;
	}
	if ((const char *) chunk >= block->freeptr)
	{
		mcxti_unpoison_rejected(ptr);
		mcxti_error(MCXT_ERR_BAD_POINTER, &block->aset->header,
					"%s called with pointer %p beyond the allocated part of its block in memory context \"%s\" (chunk of a reset context?)",
					op, ptr, aset_ctx_name(block));
	}
	if ((mcxt_chunk_hdr_value(hdr) & MCXT_ASET_IDX_MASK) >= MCXT_ASET_NUM_FREELISTS)
		mcxti_bad_pointer(op, ptr, hdr);
	return block;
}

/* repalloc of a large chunk: its block is reallocated, whatever the new size. */
static void *
aset_realloc_large(mcxt_aset *set, mcxt_aset_block *block, void *ptr, uint64_t hdr,
				   size_t size, int flags)
{
	mcxt_aset_block *newblock;
	size_t		old_block_size = aset_block_size(block);
	size_t		new_block_size;
	size_t		new_chunk_size;
	char	   *newptr;
	uint64_t	value = 0;

	if ((flags & MCXT_ALLOC_HUGE) ? size > MCXT_MAX_ALLOC_HUGE_SIZE : size > MCXT_MAX_ALLOC_SIZE)
		mcxti_invalid_size(&set->header, size);
	new_chunk_size = MCXT_ALIGN(size + MCXT_TAIL_ROOM);
	new_block_size = new_chunk_size + MCXT_ASET_BLOCKHDRSZ + MCXT_CHUNK_HDRSZ;
#if MCXT_ASET_CHECKED
	{
		bool		known;
		size_t		old_req = aset_requested(hdr, &known);

		aset_check_tail(set, "repalloc", ptr, hdr);
		/* the block moves as a whole: open the header and tail for the copy */
		MCXT_MEM_DEFINED((char *) ptr - MCXT_CHUNK_HDRSZ, MCXT_CHUNK_HDRSZ);
		if (known)
			MCXT_MEM_UNDEFINED((char *) ptr + old_req,
							   (size_t) (block->endptr - ((char *) ptr + old_req)));
		newblock = mcxti_ctx_source_realloc(&set->header, block, old_block_size, new_block_size);
		if (newblock == NULL)
		{
			/*
			 * The block is untouched, so is the tail (sentinel and site
			 * word): only close again what was opened for the copy.
			 * mcxti_chunk_mark_tail would re-stamp the site word with this
			 * repalloc's site, and the chunk still belongs to its maker.
			 */
			MCXT_MEM_NOACCESS((char *) ptr - MCXT_CHUNK_HDRSZ, MCXT_CHUNK_HDRSZ);
			if (known)
				MCXT_MEM_NOACCESS((char *) ptr + old_req,
								  (size_t) (block->endptr - ((char *) ptr + old_req)));
			return mcxti_oom(&set->header, size, flags);
		}
		newptr = aset_block_start(newblock) + MCXT_CHUNK_HDRSZ;
		MCXT_POOL_CHANGE(set, ptr, newptr, size);
		if (known && size > old_req)
			mcxti_chunk_mark_new(newptr, old_req, size);
		if (size <= MCXT_CHUNK_VALUE_MASK)
			value = size;
	}
#else
	(void) hdr;
	newblock = mcxti_ctx_source_realloc(&set->header, block, old_block_size, new_block_size);
	if (newblock == NULL)
		return mcxti_oom(&set->header, size, flags);
	newptr = aset_block_start(newblock) + MCXT_CHUNK_HDRSZ;
#endif
	mcxti_note_resize(&set->header, old_block_size, new_block_size);
	newblock->check = (uintptr_t) newblock ^ MCXT_BLOCK_MAGIC;
	newblock->endptr = (char *) newblock + new_block_size;
	newblock->freeptr = newblock->endptr;
	if (newblock->prev != NULL)
		newblock->prev->next = newblock;
	else
		set->blocks = newblock;
	if (newblock->next != NULL)
		newblock->next->prev = newblock;
	mcxti_hdr_set(newptr - MCXT_CHUNK_HDRSZ,
				  mcxt_chunk_make_hdr(MCXT_TYPE_ASET, value, MCXT_ASET_BLOCKHDRSZ,
									  MCXT_CHUNK_EXTERNAL));
#if MCXT_ASET_CHECKED
	mcxti_chunk_mark_tail(newptr, size, new_chunk_size);
#endif
	mcxti_limit_after(&set->header);
	return newptr;
}

static void *
aset_realloc(void *ptr, uint64_t hdr, size_t size, int flags)
{
	mcxt_aset_block *block = aset_live_chunk_block("repalloc", ptr, hdr);
	mcxt_aset  *set = block->aset;
	unsigned	idx = (unsigned) (mcxt_chunk_hdr_value(hdr) & MCXT_ASET_IDX_MASK);
	size_t		oldsize = aset_chunk_size(idx);
	size_t		copy = oldsize;
	void	   *newptr;

	if (hdr & MCXT_CHUNK_EXTERNAL)
	{
		CTX_ENTER(&set->header, "repalloc");
		newptr = aset_realloc_large(set, block, ptr, hdr, size, flags);
		CTX_LEAVE(&set->header);
		return newptr;
	}

#if MCXT_ASET_CHECKED
	{
		bool		known;
		size_t		old_req = aset_requested(hdr, &known);

		aset_check_tail(set, "repalloc", ptr, hdr);
		if (size <= oldsize - MCXT_TAIL_ROOM)	/* oldsize >= 8: no wraparound */
		{
			/* it fits with room for the tail: keep the chunk */
			uint64_t   *chunk = (uint64_t *) ptr - 1;

			if (size > old_req)
			{
				MCXT_MEM_UNDEFINED((char *) ptr + old_req, size - old_req);
				mcxti_chunk_mark_new(ptr, old_req, size);
			}
			mcxti_chunk_mark_tail(ptr, size, oldsize);
			MCXT_POOL_CHANGE(set, ptr, ptr, size);
			mcxti_hdr_set(chunk, mcxt_chunk_make_hdr(MCXT_TYPE_ASET, aset_value(idx, size),
													 mcxt_chunk_hdr_offset(hdr), 0));
			return ptr;
		}
		copy = old_req;
	}
#else
	if (size <= oldsize)
		return ptr;				/* it fits: keep the chunk, as PostgreSQL */
#endif

	newptr = aset_alloc_fast(set, size, flags);
	if (newptr == NULL)
		return NULL;			/* MCXT_ALLOC_NO_OOM; ptr stays valid */
	memcpy(newptr, ptr, copy);
	aset_free_fast(ptr, hdr, mcxti_aset_free_slow);
	return newptr;
}

static mcxt_context *
aset_get_chunk_context(const void *ptr, uint64_t hdr)
{
	return &aset_live_chunk_block("GetMemoryChunkContext", ptr, hdr)->aset->header;
}

static size_t
aset_get_chunk_space(const void *ptr, uint64_t hdr)
{
	mcxt_aset_block *block = aset_live_chunk_block("GetMemoryChunkSpace", ptr, hdr);

	if (hdr & MCXT_CHUNK_EXTERNAL)
		return (size_t) (block->endptr - ((const char *) ptr - MCXT_CHUNK_HDRSZ));
	return aset_chunk_size((unsigned) (mcxt_chunk_hdr_value(hdr) & MCXT_ASET_IDX_MASK)) +
		MCXT_CHUNK_HDRSZ;
}

/* ---- reset and delete --------------------------------------------------- */

/*
 * Forget every free chunk.  Spelt out: gcc turns a loop (or a memset) of
 * these 88 bytes into a rep stos, which costs more than the stores, while
 * adjacent constant stores it merges into 16-byte ones.
 */
static inline void
aset_clear_freelists(mcxt_aset *set)
{
	_Static_assert(MCXT_ASET_NUM_FREELISTS == 11, "one store per freelist below");
	set->freelist[0] = NULL;
	set->freelist[1] = NULL;
	set->freelist[2] = NULL;
	set->freelist[3] = NULL;
	set->freelist[4] = NULL;
	set->freelist[5] = NULL;
	set->freelist[6] = NULL;
	set->freelist[7] = NULL;
	set->freelist[8] = NULL;
	set->freelist[9] = NULL;
	set->freelist[10] = NULL;
}

/* The part of a reset that has blocks other than the keeper to give back. */
static mcxt_noinline void
aset_reset_blocks(mcxt_aset *set)
{
	mcxt_aset_block *keeper = mcxt_aset_keeper(set);
	mcxt_aset_block *block = set->blocks;

	while (block != NULL)
	{
		mcxt_aset_block *next = block->next;

		if (block != keeper)
		{
			size_t		size = aset_block_size(block);
			bool		external = aset_block_is_external(block);

			mcxti_note_free(&set->header, size);
			block->check = 0;
			if (external)
				mcxti_source_free(block, size);
			else
				mcxti_block_free(block, size);
		}
		block = next;
	}
	keeper->prev = NULL;
	keeper->next = NULL;
	set->blocks = keeper;
}

/*
 * Give back every block but the keeper and rewind the keeper.  A context
 * that never grew past its keeper (the per-row case) costs a few stores.
 */
void
mcxti_aset_reset(mcxt_context *ctx)
{
	mcxt_aset  *set = (mcxt_aset *) ctx;
	mcxt_aset_block *keeper = mcxt_aset_keeper(set);

	/* every chunk of the pool is gone at once */
	MCXT_POOL_DESTROY(set);
	MCXT_POOL_CREATE(set);
	if (set->blocks != keeper || keeper->next != NULL)
		aset_reset_blocks(set);
	keeper->freeptr = aset_block_start(keeper);
	MCXT_MEM_NOACCESS(keeper->freeptr, (size_t) (keeper->endptr - keeper->freeptr));
	aset_clear_freelists(set);
	set->next_block_size = set->init_block_size;
}

/* Give a context's storage (header and keeper) back. */
static void
aset_release(mcxt_aset *set)
{
	mcxt_aset_keeper(set)->check = 0;
	set->header.magic = MCXT_CONTEXT_DEAD;
	MCXT_POOL_DESTROY(set);
	mcxti_block_free(set, set->keeper_size);
}

/* Give back every context parked on fl (rare: out of line). */
static mcxt_noinline void
aset_freelist_empty(aset_freelist *fl)
{
	while (fl->first != NULL)
	{
		mcxt_aset  *set = fl->first;

		fl->first = (mcxt_aset *) set->header.nextchild;
		mcxt_aset_keeper(set)->check = 0;
		mcxti_block_free(set, set->keeper_size);
	}
	fl->num_free = 0;
}

/*
 * Storage of a deleted context: parked for reuse when it has a standard
 * initial size and there is room, else given back.  As PostgreSQL, a full
 * list is emptied rather than trimmed, which keeps the oldest contexts and
 * the process memory map compact.
 *
 * A parked context is made ready for its next creation here: rewound, its
 * freelists cleared, its accounting a new context's, so that reuse only
 * pops it and links it in.  The generic layer has already run the
 * callbacks (none are left), deleted the children and unlinked it.
 */
static inline void
aset_park(mcxt_aset *set, aset_freelist *fl)
{
	mcxt_context *ctx = &set->header;
	mcxt_aset_block *keeper = mcxt_aset_keeper(set);

	/* as aset_reset, with the keeper's chunks gone from the pool */
	MCXT_POOL_DESTROY(set);
	keeper->freeptr = aset_block_start(keeper);
	MCXT_MEM_NOACCESS(keeper->freeptr, (size_t) (keeper->endptr - keeper->freeptr));
	aset_clear_freelists(set);
	set->next_block_size = set->init_block_size;
	if (ctx->bytes_alloc != set->keeper_size)
	{
		/* it held more than its keeper once; otherwise all this is already so */
		ctx->mem_allocated = set->keeper_size;
		ctx->bytes_alloc = set->keeper_size;
		ctx->bytes_freed = 0;
		ctx->max_bytes_held = set->keeper_size;
	}

	/*
	 * The generic layer unlinked it (parent and siblings NULL) and it has no
	 * children or callbacks; mcxti_context_init sets name, ident and flags
	 * when it is reused.
	 */
	ctx->magic = MCXT_CONTEXT_DEAD;
	ctx->nextchild = (mcxt_context *) fl->first;	/* header is the first member */
	fl->first = set;
	fl->num_free++;
}

/* aset_delete of a context with more than its keeper, or one not to park */
static mcxt_noinline void
aset_delete_slow(mcxt_aset *set)
{
	mcxt_aset_block *keeper = mcxt_aset_keeper(set);
	aset_freelist *fl;

	if (set->blocks != keeper || keeper->next != NULL)
		aset_reset_blocks(set);
	if (set->freelist_index < 0)
	{
		aset_release(set);
		return;
	}
	fl = &aset_context_freelists[set->freelist_index];
	if (fl->num_free >= ASET_MAX_FREE_CONTEXTS)
		aset_freelist_empty(fl);
	aset_park(set, fl);
}

static void
aset_delete(mcxt_context *ctx)
{
	mcxt_aset  *set = (mcxt_aset *) ctx;
	mcxt_aset_block *keeper = mcxt_aset_keeper(set);
	aset_freelist *fl;

	if (likely(set->blocks == keeper && keeper->next == NULL && set->freelist_index >= 0))
	{
		fl = &aset_context_freelists[set->freelist_index];
		if (likely(fl->num_free < ASET_MAX_FREE_CONTEXTS))
		{
			aset_park(set, fl);
			return;
		}
	}
	aset_delete_slow(set);
}

void
mcxti_aset_drop_freelists(void)
{
	for (int i = 0; i < 2; i++)
		aset_freelist_empty(&aset_context_freelists[i]);
}

/* ---- introspection ------------------------------------------------------ */

static bool
aset_is_empty(mcxt_context *ctx)
{
	mcxt_aset  *set = (mcxt_aset *) ctx;
	mcxt_aset_block *keeper = mcxt_aset_keeper(set);

	return set->blocks == keeper && keeper->next == NULL &&
		keeper->freeptr == aset_block_start(keeper);
}

static void
aset_stats(mcxt_context *ctx, mcxt_counters_t *totals)
{
	mcxt_aset  *set = (mcxt_aset *) ctx;
	size_t		nblocks = 0;
	size_t		freechunks = 0;
	size_t		totalspace = MCXT_ASET_KEEPER_OFFSET;
	size_t		freespace = 0;

	for (mcxt_aset_block *block = set->blocks; block != NULL; block = block->next)
	{
		nblocks++;
		totalspace += aset_block_size(block);
		freespace += (size_t) (block->endptr - block->freeptr);
	}
	for (unsigned i = 0; i < MCXT_ASET_NUM_FREELISTS; i++)
	{
		for (uint64_t *chunk = set->freelist[i]; chunk != NULL; chunk = aset_link_get(chunk))
		{
			freechunks++;
			freespace += aset_chunk_size(i) + MCXT_CHUNK_HDRSZ;
		}
	}
	totals->nblocks += nblocks;
	totals->freechunks += freechunks;
	totals->totalspace += totalspace;
	totals->freespace += freespace;
}

/*
 * Check every invariant of chunk.h for one AllocSet, and at level 2 every
 * live chunk's sentinel and every free chunk's clobber pattern.  Bounded:
 * chunk walks stop at the block's free pointer and freelist walks at the
 * number of free chunks seen in the blocks, so a corrupt list cannot loop
 * forever.
 */
static int
aset_check(mcxt_context *ctx)
{
	mcxt_aset  *set = (mcxt_aset *) ctx;
	mcxt_aset_block *keeper = mcxt_aset_keeper(set);
	mcxt_aset_block *prev = NULL;
	size_t		held = MCXT_ASET_KEEPER_OFFSET;
	size_t		nfree_seen[MCXT_ASET_NUM_FREELISTS] = {0};
	bool		keeper_seen = false;
	size_t		nblocks = 0;
	int			problems = 0;

#define PROBLEM(...) do { mcxti_check_warn(ctx, __VA_ARGS__); problems++; } while (0)

	for (mcxt_aset_block *block = set->blocks; block != NULL; block = block->next)
	{
		char	   *p = aset_block_start(block);

		if (++nblocks > ((size_t) 1 << 32))
		{
			PROBLEM("block list does not end (cycle?)");
			break;
		}
		if (block == keeper)
			keeper_seen = true;
		if (block->aset != set)
			PROBLEM("block %p belongs to %p", (void *) block, (void *) block->aset);
		if (!aset_block_valid(block))
			PROBLEM("block %p has a bad check word", (void *) block);
		if (block->prev != prev)
			PROBLEM("block %p has a bad prev link", (void *) block);
		if (block->freeptr < p || block->freeptr > block->endptr)
		{
			PROBLEM("block %p has free pointer %p outside [%p, %p]", (void *) block,
					(void *) block->freeptr, (void *) p, (void *) block->endptr);
			prev = block;
			continue;
		}
		held += aset_block_size(block);
		if (aset_block_is_external(block))
		{
			uint64_t	hdr = mcxti_hdr_get(p);

			if (mcxt_chunk_hdr_offset(hdr) != MCXT_ASET_BLOCKHDRSZ ||
				mcxt_chunk_hdr_type(hdr) != MCXT_TYPE_ASET)
				PROBLEM("external chunk in block %p has a bad header 0x%016llx",
						(void *) block, (unsigned long long) hdr);
#if MCXT_DEBUG >= 2
			else
			{
				bool		known;
				size_t		req = aset_requested(hdr, &known);

				if (known && !mcxti_sentinel_ok(p + MCXT_CHUNK_HDRSZ, req))
					PROBLEM("detected write past chunk end: chunk %p, requested size %zu",
							(void *) (p + MCXT_CHUNK_HDRSZ), req);
			}
#endif
			prev = block;
			continue;
		}
		while (p < block->freeptr)
		{
			uint64_t	hdr = mcxti_hdr_get(p);
			unsigned	idx = (unsigned) (mcxt_chunk_hdr_value(hdr) & MCXT_ASET_IDX_MASK);

			if (mcxt_chunk_hdr_type(hdr) != MCXT_TYPE_ASET ||
				(hdr & MCXT_CHUNK_EXTERNAL) ||
				idx >= MCXT_ASET_NUM_FREELISTS ||
				mcxt_chunk_hdr_offset(hdr) != (uint64_t) (p - (char *) block))
			{
				PROBLEM("bad chunk header 0x%016llx at %p in block %p",
						(unsigned long long) hdr, (void *) p, (void *) block);
				break;
			}
			if (p + MCXT_CHUNK_HDRSZ + aset_chunk_size(idx) > block->freeptr)
			{
				PROBLEM("chunk %p of size %zu runs past the free pointer of block %p",
						(void *) (p + MCXT_CHUNK_HDRSZ), aset_chunk_size(idx), (void *) block);
				break;
			}
			if (hdr & MCXT_CHUNK_FREE)
			{
				nfree_seen[idx]++;
#if MCXT_DEBUG >= 2
				if (!mcxti_clobber_ok(p + MCXT_CHUNK_HDRSZ + sizeof(uint64_t), aset_chunk_size(idx) - sizeof(uint64_t)))
					PROBLEM("free chunk %p was written after pfree", (void *) (p + MCXT_CHUNK_HDRSZ));
#endif
			}
#if MCXT_DEBUG >= 2
			else
			{
				bool		known;
				size_t		req = aset_requested(hdr, &known);

				if (req + MCXT_TAIL_ROOM > aset_chunk_size(idx))
					PROBLEM("chunk %p has requested size %zu larger than its chunk (%zu)",
							(void *) (p + MCXT_CHUNK_HDRSZ), req, aset_chunk_size(idx));
				else if (!mcxti_sentinel_ok(p + MCXT_CHUNK_HDRSZ, req))
					PROBLEM("detected write past chunk end: chunk %p, requested size %zu",
							(void *) (p + MCXT_CHUNK_HDRSZ), req);
			}
#endif
			p += MCXT_CHUNK_HDRSZ + aset_chunk_size(idx);
		}
		prev = block;
	}
	if (!keeper_seen)
		PROBLEM("keeper block %p is not on the block list", (void *) keeper);
	if (held != ctx->mem_allocated)
		PROBLEM("blocks hold %zu bytes but mem_allocated is %llu", held,
				(unsigned long long) ctx->mem_allocated);

	for (unsigned i = 0; i < MCXT_ASET_NUM_FREELISTS; i++)
	{
		size_t		n = 0;

		for (uint64_t *chunk = set->freelist[i]; chunk != NULL; chunk = aset_link_get(chunk))
		{
			uint64_t	hdr = mcxti_hdr_get(chunk);
			mcxt_aset_block *block;

			if (++n > nfree_seen[i])
			{
				PROBLEM("freelist %u is longer than the %zu free chunks of its size", i,
						nfree_seen[i]);
				break;
			}
			block = (mcxt_aset_block *) ((char *) chunk - mcxt_chunk_hdr_offset(hdr));
			if (!(hdr & MCXT_CHUNK_FREE) || mcxt_chunk_hdr_value(hdr) != i ||
				mcxt_chunk_hdr_type(hdr) != MCXT_TYPE_ASET ||
				!aset_block_valid(block) || block->aset != set)
			{
				PROBLEM("freelist %u holds a bad chunk %p (header 0x%016llx)", i,
						(void *) (chunk + 1), (unsigned long long) hdr);
				break;
			}
		}
		if (n < nfree_seen[i])
			PROBLEM("freelist %u has %zu chunks but %zu free chunks of its size are in the blocks",
					i, n, nfree_seen[i]);
	}
#undef PROBLEM
	return problems;
}

const mcxt_methods mcxti_aset_methods = {
	.name = "AllocSet",
	.alloc = aset_alloc,
	.free_p = aset_free,
	.realloc = aset_realloc,
	.reset = mcxti_aset_reset,
	.delete_context = aset_delete,
	.get_chunk_context = aset_get_chunk_context,
	.get_chunk_space = aset_get_chunk_space,
	.is_empty = aset_is_empty,
	.stats = aset_stats,
	.check = aset_check,
};
