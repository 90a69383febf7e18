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
 * Measured cost (callgrind, x86-64, gcc 12 -O2, the ret included, the call
 * not): a small alloc from a freelist 14 instructions, carved from the
 * active block 25, one of them a hard-to-predict branch (freelist empty or
 * not); a small free 26 with mcxt_free's NULL check: the header load, one
 * folded check of type, flags and index, the block check word (one load of
 * the block header, which pfree needs anyway for the owning set), the
 * freeptr check and a freelist push.  docs/BENCHMARKS.md has where the rest
 * of the budget goes.
 */
#ifndef MCXT_ASET_FAST_H
#define MCXT_ASET_FAST_H

#include "mcxt_int.h"

_Static_assert(MCXT_CHUNK_OFFSET_UNIT == 8, "the fast path assumes 8-byte offset units");
_Static_assert(MCXT_CHUNK_VALUE_SHIFT == 6 && MCXT_CHUNK_FREE == 32 &&
			   MCXT_CHUNK_EXTERNAL == 16 && MCXT_CHUNK_OFFSET_SHIFT == 36,
			   "aset_free_fast's key assumes this bit layout");

/* aset.c: the slow paths. */
void	   *mcxti_aset_alloc_large(mcxt_aset *set, size_t size, int flags) MCXT_HIDDEN;
void	   *mcxti_aset_alloc_from_new_block(mcxt_aset *set, size_t size, int flags) MCXT_HIDDEN;
void		mcxti_aset_free_slow(void *ptr, uint64_t hdr) MCXT_HIDDEN;
/* aset.c: the reset method, called directly by mcxt_reset for an AllocSet. */
void		mcxti_aset_reset(mcxt_context *ctx) MCXT_HIDDEN;
/* aset.c: what replaces the fast paths in checking and memory-tool builds. */
void	   *mcxti_aset_alloc_checked(mcxt_aset *set, size_t size, int flags) MCXT_HIDDEN;
void		mcxti_aset_free_checked(void *ptr, uint64_t hdr) MCXT_HIDDEN;

/*
 * Precomputed (aset.c), in one struct so that the fast path addresses all
 * of it from one base register: per size class, the type and value bits of
 * a chunk's header and the bytes the chunk takes with its header; and the
 * class of every request up to the largest chunk limit, in 8-byte steps.
 * Table loads replace a bit scan and two shifts on the fast path.
 */
typedef struct mcxt_aset_classes
{
	uint64_t	hdr[MCXT_ASET_NUM_FREELISTS];	/* MCXT_TYPE_ASET | class << 6 */
	uint32_t	need[MCXT_ASET_NUM_FREELISTS];	/* (8 << class) + header */
	uint8_t		class_of[(MCXT_ASET_CHUNK_LIMIT >> MCXT_ASET_MINBITS) + 1];
} mcxt_aset_classes;

extern const mcxt_aset_classes mcxti_aset_classes MCXT_HIDDEN;

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
	const mcxt_aset_classes *cl = &mcxti_aset_classes;
	size_t		idx;
	uint64_t   *chunk;
	mcxt_aset_block *block;
	char	   *p;
	char	   *end;

	if (unlikely(size > set->alloc_chunk_limit))
		return mcxti_aset_alloc_large(set, size, flags);

	/* size <= alloc_chunk_limit <= MCXT_ASET_CHUNK_LIMIT: in the table */
	idx = cl->class_of[(size + (MCXT_MAXALIGN - 1)) >> MCXT_ASET_MINBITS];
	chunk = set->freelist[idx];
	if (chunk != NULL)
	{
		/*
		 * The link to the next free chunk is in the user area.  The empty
		 * asm hides idx's value from the compiler, so that it addresses
		 * the slot again rather than keeping a precomputed index in a
		 * register for both accesses, which would cost the carve path below
		 * an instruction.
		 */
		__asm__("" : "+r"(idx));
		set->freelist[idx] = *(uint64_t **) (chunk + 1);
		*chunk &= ~MCXT_CHUNK_FREE;
		return chunk + 1;
	}

	block = set->blocks;
	p = block->freeptr;
	end = p + cl->need[idx];
	if (unlikely(end > block->endptr))
		return mcxti_aset_alloc_from_new_block(set, size, flags);

	block->freeptr = end;
	/* the offset is a multiple of 8 below 2^31: offset / 8 << 36 is offset << 33 */
	*(uint64_t *) p = ((uint64_t) (p - (char *) block) << (MCXT_CHUNK_OFFSET_SHIFT - 3)) +
		cl->hdr[idx];
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
aset_free_fast(void *ptr, uint64_t hdr, void (*slow) (void *ptr, uint64_t hdr))
{
	if (mcxt_chunk_hdr_type(hdr) == MCXT_TYPE_ASET)
		mcxti_aset_free_checked(ptr, hdr);
	else
		slow(ptr, hdr);
}

#else

/*
 * Free a chunk, given its header word, or hand it to 'slow' (the type
 * dispatch of mcxt_free, or aset.c's slow path).  Anything but a live small
 * AllocSet chunk in a live block (another type id, the free bit set,
 * external, a bad freelist index, a block that fails its check, a chunk
 * beyond the block's free pointer) goes to the slow path, which frees a
 * large chunk, dispatches another type, or reports the error.
 *
 * The low 32 header bits are the type, E, F and the value's low 26 bits.
 * XORed with MCXT_TYPE_ASET and rotated right by 6 within 32 bits, they
 * become value | type' << 26 | E << 30 | F << 31 (type' = type ^ ASET),
 * which is a valid freelist index (<= 10) exactly when the type is
 * AllocSet, E and F are clear and the value's low bits are a bare index:
 * one comparison checks all of that.  The block is then found with
 * hdr >> 33 rather than (hdr >> 36) * 8: the same when the value's top
 * three bits are clear, as in every header this path accepts from the
 * library; in a forged one they misalign the block, whose check word then
 * fails.
 */
static inline void
aset_free_fast(void *ptr, uint64_t hdr, void (*slow) (void *ptr, uint64_t hdr))
{
	uint64_t   *chunk = (uint64_t *) ptr - 1;
	mcxt_aset_block *block;
	uint32_t	key = (uint32_t) hdr ^ MCXT_TYPE_ASET;
	size_t		idx;
	mcxt_aset  *set;

	key = (key >> 6) | (key << 26);
	block = (mcxt_aset_block *) ((char *) chunk - (hdr >> (MCXT_CHUNK_OFFSET_SHIFT - 3)));
	if (unlikely(key >= MCXT_ASET_NUM_FREELISTS ||
				 !aset_block_valid(block) ||
				 (char *) chunk >= block->freeptr))
	{
		slow(ptr, hdr);
		return;
	}
	set = block->aset;
	idx = key;
	*(uint64_t **) ptr = set->freelist[idx];
	__asm__("" : "+r"(idx));	/* as in aset_alloc_fast: address the slot twice */
	set->freelist[idx] = chunk;
	*chunk = hdr | MCXT_CHUNK_FREE;
}

#endif

#endif							/* MCXT_ASET_FAST_H */
