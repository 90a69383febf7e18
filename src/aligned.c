/*
 * aligned.c
 *	  Allocations aligned beyond MCXT_MAXALIGN, for any context type that can
 *	  hand out a chunk larger than asked (AllocSet, Generation, Bump).
 *
 * The idea is PostgreSQL's redirect chunk (PG 16): over-allocate an
 * ordinary chunk, return the first suitably aligned address inside it that
 * leaves room in front, and write there a header of type MCXT_TYPE_ALIGNED
 * whose offset leads back to the real chunk.  pfree, repalloc,
 * GetMemoryChunkContext and GetMemoryChunkSpace of the aligned pointer
 * dispatch on that type like any other and act on the real chunk.  Unlike
 * PostgreSQL we also keep the requested size (the word in front of the
 * redirect header, so repalloc copies exactly the caller's bytes) and the
 * owner's type id (so a bump owner is refused in every build).  The layout
 * is in chunk.h.
 *
 * A Slab has one chunk size and cannot over-allocate: aligned requests in a
 * slab are a misuse error.  In a Bump context they work, but as with any
 * bump chunk the result cannot be freed or reallocated.
 */
#include "mcxt_int.h"

#define ALIGNED_SHIFT_MASK	((UINT64_C(1) << MCXT_ALIGNED_SHIFT_BITS) - 1)

void *
mcxt_alloc_aligned(mcxt_context_t *ctx, size_t size, size_t alignto, int flags)
{
	char	   *real;
	char	   *aligned;
	size_t		total;
	int			inner_flags;
	unsigned	shift;

	if (ctx == NULL || ctx->magic != MCXT_CONTEXT_MAGIC)
		mcxti_error(MCXT_ERR_MISUSE, NULL,
					"aligned allocation of %zu bytes in an invalid (deleted?) memory context %p",
					size, (void *) ctx);
	if (alignto == 0 || (alignto & (alignto - 1)) != 0 || alignto > MCXT_ALIGNED_MAX)
		mcxti_error(MCXT_ERR_MISUSE, ctx,
					"invalid alignment %zu for an allocation in memory context \"%s\" "
					"(need a power of two up to %zu)", alignto, ctx->name, MCXT_ALIGNED_MAX);
	if (alignto <= MCXT_MAXALIGN)
		return mcxt_alloc_extended(ctx, size, flags);
	if (ctx->type == MCXT_TYPE_SLAB)
		mcxti_error(MCXT_ERR_MISUSE, ctx,
					"aligned allocations are not supported by the slab memory allocator (memory context \"%s\")",
					ctx->name);
	mcxti_check_size(ctx, size, flags);

	/* size <= SIZE_MAX / 2 and alignto <= 64 MB: no overflow */
	total = size + alignto + MCXT_ALIGNED_MIN_OFFSET - MCXT_MAXALIGN;
	inner_flags = flags & ~MCXT_ALLOC_ZERO;
	if (total > MCXT_MAX_ALLOC_SIZE)
		inner_flags |= MCXT_ALLOC_HUGE;
	real = mcxt_alloc_extended(ctx, total, inner_flags);
	if (real == NULL)
		return NULL;

	aligned = (char *) (((uintptr_t) real + MCXT_ALIGNED_MIN_OFFSET + alignto - 1) &
						~((uintptr_t) alignto - 1));
	shift = (unsigned) __builtin_ctzll((unsigned long long) alignto);
	/* the slack in front and behind belongs to nobody */
	MCXT_MEM_NOACCESS(real, (size_t) (aligned - MCXT_ALIGNED_MIN_OFFSET - real));
	MCXT_MEM_NOACCESS(aligned + size, (size_t) (real + total - (aligned + size)));
	mcxti_hdr_set(aligned - 2 * MCXT_CHUNK_HDRSZ, (uint64_t) size);
	mcxti_hdr_set(aligned - MCXT_CHUNK_HDRSZ,
				  mcxt_chunk_make_hdr(MCXT_TYPE_ALIGNED,
									  shift | ((uint64_t) ctx->type << MCXT_ALIGNED_SHIFT_BITS),
									  (uint64_t) (aligned - real), 0));
	if (flags & MCXT_ALLOC_ZERO)
		memset(aligned, 0, size);
	return aligned;
}

/*
 * The real chunk behind an aligned pointer, after checking that the
 * redirect header is plausible and that the owner supports the operation.
 */
static char *
aligned_real_chunk(const char *op, const void *ptr, uint64_t hdr, size_t *alignto)
{
	uint64_t	offset = mcxt_chunk_hdr_offset(hdr);
	uint64_t	value = mcxt_chunk_hdr_value(hdr);
	unsigned	shift = (unsigned) (value & ALIGNED_SHIFT_MASK);
	unsigned	owner = (unsigned) (value >> MCXT_ALIGNED_SHIFT_BITS);
	char	   *real;

	if ((hdr & (MCXT_CHUNK_EXTERNAL | MCXT_CHUNK_FREE)) != 0 ||
		shift < 4 || ((size_t) 1 << shift) > MCXT_ALIGNED_MAX ||
		((uintptr_t) ptr & (((uintptr_t) 1 << shift) - 1)) != 0 ||
		offset < MCXT_ALIGNED_MIN_OFFSET ||
		offset > ((uint64_t) 1 << shift) + MCXT_ALIGNED_MIN_OFFSET - MCXT_MAXALIGN ||
		owner >= 16 || owner == MCXT_TYPE_ALIGNED || mcxti_methods[owner]->is_empty == NULL)
		mcxti_bad_pointer(op, ptr, hdr);
	if (owner == MCXT_TYPE_BUMP)
		mcxti_error(MCXT_ERR_MISUSE, NULL,
					"%s is not supported by the bump memory allocator (aligned chunk %p)", op, ptr);
	real = (char *) ptr - offset;
	if (mcxt_chunk_hdr_type(mcxti_hdr_get(real - MCXT_CHUNK_HDRSZ)) != owner)
		mcxti_bad_pointer(op, ptr, hdr);
	*alignto = (size_t) 1 << shift;
	return real;
}

static void
aligned_free(void *ptr, uint64_t hdr)
{
	size_t		alignto;
	char	   *real = aligned_real_chunk("pfree", ptr, hdr, &alignto);

	/* a second pfree of ptr then finds no redirect header */
	mcxti_hdr_set((char *) ptr - MCXT_CHUNK_HDRSZ, 0);
	mcxt_free(real);
}

/* repalloc: a new aligned chunk in the same context, a copy, a free. */
static void *
aligned_realloc(void *ptr, uint64_t hdr, size_t size, int flags)
{
	size_t		alignto;
	char	   *real = aligned_real_chunk("repalloc", ptr, hdr, &alignto);
	size_t		old_size = (size_t) mcxti_hdr_get((char *) ptr - 2 * MCXT_CHUNK_HDRSZ);
	void	   *newptr;

	newptr = mcxt_alloc_aligned(mcxt_chunk_context(real), size, alignto, flags);
	if (newptr == NULL)
		return NULL;			/* MCXT_ALLOC_NO_OOM; ptr stays valid */
	memcpy(newptr, ptr, old_size < size ? old_size : size);
	aligned_free(ptr, hdr);
	return newptr;
}

static mcxt_context *
aligned_get_chunk_context(const void *ptr, uint64_t hdr)
{
	size_t		alignto;

	return mcxt_chunk_context(aligned_real_chunk("GetMemoryChunkContext", ptr, hdr, &alignto));
}

static size_t
aligned_get_chunk_space(const void *ptr, uint64_t hdr)
{
	size_t		alignto;

	return mcxt_chunk_space(aligned_real_chunk("GetMemoryChunkSpace", ptr, hdr, &alignto));
}

const mcxt_methods mcxti_aligned_methods = {
	.name = "AlignedRedirect",
	.free_p = aligned_free,
	.realloc = aligned_realloc,
	.get_chunk_context = aligned_get_chunk_context,
	.get_chunk_space = aligned_get_chunk_space,
};
