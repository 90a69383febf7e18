/*
 * aset_fast.h
 *	  The AllocSet fast paths, inlined into the public entry points.
 *
 * mcxt_alloc() and mcxt_free() test for the AllocSet type first and run
 * these inline, falling back to the method table for other types; that
 * saves the two dependent loads and the indirect call of a method dispatch
 * on every palloc/pfree.  Only the common case is here: a chunk from a
 * freelist or from the active block's free space, and the return of a small
 * chunk to its freelist.  Everything else (new blocks, large chunks,
 * errors) is in noinline functions in aset.c.
 *
 * Measured cost (callgrind, including the call): a small alloc from a
 * freelist about 18 instructions, from the active block about 30, one of
 * them a hard-to-predict branch (freelist empty or not); a small free about
 * 30: the header load, the block check (one load of the block header, which
 * pfree needs anyway for the owning set), the freeptr check and a freelist
 * push.  docs/BENCHMARKS.md has where the rest of the budget goes.
 */
#ifndef MCXT_ASET_FAST_H
#define MCXT_ASET_FAST_H

#include "mcxt_int.h"

_Static_assert(MCXT_CHUNK_OFFSET_UNIT == 8, "the fast path assumes 8-byte offset units");
_Static_assert(MCXT_CHUNK_VALUE_SHIFT == 6 && (MCXT_CHUNK_FREE >> 4) == 2 &&
			   (MCXT_CHUNK_EXTERNAL >> 4) == 1, "aset_free_fast's key assumes this bit layout");

/* aset.c: the slow paths. */
void	   *mcxti_aset_alloc_large(mcxt_aset *set, size_t size, int flags) MCXT_HIDDEN;
void	   *mcxti_aset_alloc_from_new_block(mcxt_aset *set, size_t size, int flags,
											unsigned idx) MCXT_HIDDEN;
void		mcxti_aset_free_slow(void *ptr, uint64_t hdr) MCXT_HIDDEN;
/* aset.c: what replaces the fast paths in checking and memory-tool builds. */
void	   *mcxti_aset_alloc_checked(mcxt_aset *set, size_t size, int flags) MCXT_HIDDEN;
void		mcxti_aset_free_checked(void *ptr, uint64_t hdr) MCXT_HIDDEN;

/*
 * Per size class, precomputed (aset.c): the class of every request up to
 * the largest chunk limit, in 8-byte steps; the bytes a chunk of the class
 * takes with its header; and the type and value bits of its header.  Table
 * loads replace a bit scan and two shifts on the fast path.
 */
extern const uint8_t mcxti_aset_class_of[(MCXT_ASET_CHUNK_LIMIT >> MCXT_ASET_MINBITS) + 1] MCXT_HIDDEN;
extern const uint32_t mcxti_aset_class_need[MCXT_ASET_NUM_FREELISTS] MCXT_HIDDEN;

/* Freelist index of a request: the smallest i with size <= 8 << i. */
static inline unsigned
aset_free_index(size_t size)
{
	if (size <= (1 << MCXT_ASET_MINBITS))
		return 0;
	return (unsigned) (64 - MCXT_ASET_MINBITS) - (unsigned) __builtin_clzll((unsigned long long) (size - 1));
}

static inline size_t
aset_chunk_size(unsigned idx)
{
	return (size_t) 1 << (idx + MCXT_ASET_MINBITS);
}

#if MCXT_ASET_CHECKED

static inline void *
aset_alloc_fast(mcxt_aset *set, size_t size, int flags)
{
	return mcxti_aset_alloc_checked(set, size, flags);
}

#else

static inline void *
aset_alloc_fast(mcxt_aset *set, size_t size, int flags)
{
	size_t		idx;
	uint64_t   *chunk;
	mcxt_aset_block *block;
	char	   *p;
	size_t		need;

	if (unlikely(size > set->alloc_chunk_limit))
		return mcxti_aset_alloc_large(set, size, flags);

	/* size <= alloc_chunk_limit <= MCXT_ASET_CHUNK_LIMIT: in the table */
	idx = mcxti_aset_class_of[(size + (MCXT_MAXALIGN - 1)) >> MCXT_ASET_MINBITS];
	chunk = set->freelist[idx];
	if (chunk != NULL)
	{
		/* the link to the next free chunk is in the user area */
		set->freelist[idx] = *(uint64_t **) (chunk + 1);
		*chunk &= ~MCXT_CHUNK_FREE;
		return chunk + 1;
	}

	block = set->blocks;
	p = block->freeptr;
	need = mcxti_aset_class_need[idx];
	if (unlikely((size_t) (block->endptr - p) < need))
		return mcxti_aset_alloc_from_new_block(set, size, flags, (unsigned) idx);

	block->freeptr = p + need;
	/* the offset is a multiple of 8: offset / 8 << 36 is offset << 33 */
	*(uint64_t *) p = (MCXT_TYPE_ASET | ((uint64_t) idx << MCXT_CHUNK_VALUE_SHIFT)) |
		((uint64_t) (p - (char *) block) << (MCXT_CHUNK_OFFSET_SHIFT - 3));
	return p + MCXT_CHUNK_HDRSZ;
}

#endif

static inline bool
aset_block_valid(const mcxt_aset_block *block)
{
	return block->check == ((uintptr_t) block ^ MCXT_BLOCK_MAGIC);
}

#if MCXT_ASET_CHECKED

static inline void
aset_free_fast(void *ptr, uint64_t hdr)
{
	mcxti_aset_free_checked(ptr, hdr);
}

#else

/*
 * Free a chunk whose header says AllocSet.  Anything but a live small chunk
 * in a live block (free bit set, external, a bad freelist index, a block
 * that fails its check, a chunk beyond the block's free pointer) goes to
 * the slow path, which either frees a large chunk or reports the error.
 *
 * Header bits 4..35 are E, F and the value.  Shifted down by 4 and rotated
 * right by 2 within 32 bits, they become value | E << 30 | F << 31, which
 * is a valid freelist index (<= 10) exactly when E and F are clear: one
 * comparison checks all three.
 */
static inline void
aset_free_fast(void *ptr, uint64_t hdr)
{
	uint64_t   *chunk = (uint64_t *) ptr - 1;
	mcxt_aset_block *block;
	uint32_t	key = (uint32_t) (hdr >> 4);
	uint64_t  **slot;

	key = (key >> 2) | (key << 30);
	block = (mcxt_aset_block *) ((char *) chunk - mcxt_chunk_hdr_offset(hdr));
	if (unlikely(key >= MCXT_ASET_NUM_FREELISTS ||
				 !aset_block_valid(block) ||
				 (char *) chunk >= block->freeptr))
	{
		mcxti_aset_free_slow(ptr, hdr);
		return;
	}
	slot = &block->aset->freelist[key];
	*(uint64_t **) ptr = *slot;
	*slot = chunk;
	*chunk = hdr | MCXT_CHUNK_FREE;
}

#endif

#endif							/* MCXT_ASET_FAST_H */
