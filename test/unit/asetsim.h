/*
 * asetsim.h
 *	  A paper model of one AllocSet's block arithmetic, for the tests.
 *
 * The tests compare the library's statistics (mcxt_mem_consumed, the stats
 * text, JSON) with numbers computed here from the documented rules alone:
 * the context header and keeper block share one allocation of
 * firstBlockSize bytes; small requests are rounded up to a power of two
 * (8 B .. 8 KB) and cost that plus an 8-byte header; freed small chunks go
 * on a per-size freelist (LIFO) and are reused before any block space; when
 * the active block cannot hold a chunk, its remainder is carved into
 * power-of-two freelist chunks (largest first) and a new block is taken,
 * init_block_size first, then doubling up to max_block_size (doubled further
 * when a chunk would not fit); requests above allocChunkLimit get a block of
 * their own of BLOCKHDRSZ + 8 + MAXALIGN(size) bytes; reset keeps only the
 * keeper and restarts at init_block_size.
 *
 * Checking and memory-tool builds of the library (MCXT_DEBUG >= 2, ASan,
 * MCXT_VALGRIND; see src/mcxt_debug.h) reserve MCXT_TAIL_ROOM = 1 byte
 * after every request for a sentinel or redzone, so a request of n bytes is
 * placed as n + 1: SIM_TAIL below follows the same rule, from the same
 * settings (the test targets get the library's MCXT_DEBUG and MCXT_VALGRIND
 * as MCXT_TEST_LIB_DEBUG and MCXT_TEST_LIB_VALGRIND; ASan is seen directly,
 * tests and library being compiled with the same flags).
 *
 * Only sizes are modelled, never addresses, so the numbers are independent
 * of where the library puts things.  The layout constants come from
 * src/chunk.h, never from this file.
 */
#ifndef MCXT_ASETSIM_H
#define MCXT_ASETSIM_H

#include <stdbool.h>
#include <stddef.h>
#include <string.h>

#include <mcxt.h>
#include "../../src/chunk.h"

#if defined(__SANITIZE_ADDRESS__)
#define SIM_TAIL		((size_t) 1)
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
#define SIM_TAIL		((size_t) 1)
#endif
#endif
#if !defined(SIM_TAIL) && defined(MCXT_TEST_LIB_DEBUG)
#if MCXT_TEST_LIB_DEBUG >= 2
#define SIM_TAIL		((size_t) 1)
#endif
#endif
#if !defined(SIM_TAIL) && defined(MCXT_TEST_LIB_VALGRIND)
#define SIM_TAIL		((size_t) 1)
#endif
#ifndef SIM_TAIL
#define SIM_TAIL		((size_t) 0)
#endif

#define SIM_NCLASSES	MCXT_ASET_NUM_FREELISTS
#define SIM_HDR			MCXT_CHUNK_HDRSZ
#define SIM_BLOCKHDR	((size_t) MCXT_ASET_BLOCKHDRSZ)
#define SIM_KEEPEROFF	((size_t) MCXT_ASET_KEEPER_OFFSET)

typedef struct asetsim
{
	size_t		first_size;		/* header + keeper allocation */
	size_t		init_size;
	size_t		max_size;
	size_t		next_size;
	size_t		chunk_limit;
	size_t		total;			/* bytes of all blocks */
	size_t		nblocks;
	size_t		active_free;	/* endptr - freeptr of the active block */
	size_t		frozen_free;	/* same, summed over the other small-chunk blocks */
	size_t		freelist[SIM_NCLASSES]; /* number of chunks on each list */
} asetsim;

static inline size_t
sim_align(size_t n)
{
	return (size_t) MCXT_ALIGN(n);
}

/* The freelist index of a small request: the smallest class holding it. */
static inline int
sim_class(size_t size)
{
	int			idx = 0;

	while (((size_t) 8 << idx) < size)
		idx++;
	return idx;
}

static inline size_t
sim_class_size(int idx)
{
	return (size_t) 8 << idx;
}

static inline size_t
sim_chunk_limit(size_t max_block_size)
{
	size_t		limit = MCXT_ASET_CHUNK_LIMIT;

	while (limit + SIM_HDR > (max_block_size - SIM_BLOCKHDR) / MCXT_ASET_CHUNK_FRACTION)
		limit >>= 1;
	return limit;
}

static inline size_t
sim_first_block_size(size_t min_size, size_t init_size)
{
	size_t		first = min_size != 0 ? min_size : init_size;
	size_t		least = SIM_KEEPEROFF + SIM_BLOCKHDR + SIM_HDR;

	return sim_align(first > least ? first : least);
}

static inline void
sim_init(asetsim *s, size_t min_size, size_t init_size, size_t max_size)
{
	memset(s, 0, sizeof(*s));
	s->init_size = sim_align(init_size);
	s->max_size = sim_align(max_size);
	s->first_size = sim_first_block_size(sim_align(min_size), s->init_size);
	s->chunk_limit = sim_chunk_limit(s->max_size);
	s->next_size = s->init_size;
	s->total = s->first_size;
	s->nblocks = 1;
	s->active_free = s->first_size - SIM_KEEPEROFF - SIM_BLOCKHDR;
}

/* Does a request of size bytes get a block of its own? */
static inline bool
sim_is_large_limit(size_t limit, size_t size)
{
	return size + SIM_TAIL > limit;
}

static inline bool
sim_is_large(const asetsim *s, size_t size)
{
	return sim_is_large_limit(s->chunk_limit, size);
}

/* The freelist index of the chunk a small request gets. */
static inline int
sim_req_class(size_t size)
{
	return sim_class(size + SIM_TAIL);
}

/* What mcxt_chunk_space() must say for a new chunk of this request size. */
static inline size_t
sim_space(size_t limit, size_t size)
{
	if (sim_is_large_limit(limit, size))
		return sim_align(size + SIM_TAIL) + SIM_HDR;
	return sim_class_size(sim_req_class(size)) + SIM_HDR;
}

static inline size_t
sim_chunk_space(const asetsim *s, size_t size)
{
	return sim_space(s->chunk_limit, size);
}

/* Does a request of size bytes fit a small chunk of chunk_size bytes? */
static inline bool
sim_fits(size_t chunk_size, size_t size)
{
	return size + SIM_TAIL <= chunk_size;
}

static inline size_t
sim_large_block(size_t size)
{
	return SIM_BLOCKHDR + SIM_HDR + sim_align(size + SIM_TAIL);
}

/* Carve the active block's remainder into freelist chunks, largest first. */
static inline void
sim_carve(asetsim *s)
{
	size_t		avail = s->active_free;

	while (avail >= 8 + SIM_HDR)
	{
		size_t		chunk = avail - SIM_HDR;
		int			idx = SIM_NCLASSES - 1;

		while (idx > 0 && sim_class_size(idx) > chunk)
			idx--;
		s->freelist[idx]++;
		avail -= sim_class_size(idx) + SIM_HDR;
	}
	s->frozen_free += avail;
	s->active_free = 0;
}

/* Returns true if the allocation took a new block. */
static inline bool
sim_alloc(asetsim *s, size_t size)
{
	int			idx;
	size_t		need;
	size_t		blk;

	if (sim_is_large(s, size))
	{
		s->total += sim_large_block(size);
		s->nblocks++;
		return true;
	}
	idx = sim_req_class(size);
	if (s->freelist[idx] > 0)
	{
		s->freelist[idx]--;
		return false;
	}
	need = sim_class_size(idx) + SIM_HDR;
	if (s->active_free >= need)
	{
		s->active_free -= need;
		return false;
	}
	sim_carve(s);
	blk = s->next_size;
	s->next_size <<= 1;
	if (s->next_size > s->max_size)
		s->next_size = s->max_size;
	while (blk < need + SIM_BLOCKHDR)
		blk <<= 1;
	s->total += blk;
	s->nblocks++;
	s->active_free = blk - SIM_BLOCKHDR - need;
	return true;
}

static inline void
sim_free(asetsim *s, size_t size)
{
	if (sim_is_large(s, size))
	{
		s->total -= sim_large_block(size);
		s->nblocks--;
		return;
	}
	s->freelist[sim_req_class(size)]++;
}

/*
 * repalloc of a chunk allocated with old_size.  A small chunk stays in place
 * when the new size fits its class; otherwise a new chunk is allocated
 * before the old one is freed.  A large chunk's block is reallocated,
 * unless it is asked to become small and the library moved it (the caller
 * tells which, from the chunk header: still_external).
 */
static inline void
sim_realloc(asetsim *s, size_t old_size, size_t new_size, bool still_external)
{
	if (!sim_is_large(s, old_size))
	{
		if (!sim_is_large(s, new_size) && sim_fits(sim_class_size(sim_req_class(old_size)), new_size))
			return;
		sim_alloc(s, new_size);
		sim_free(s, old_size);
		return;
	}
	if (still_external)
	{
		s->total -= sim_large_block(old_size);
		s->total += sim_large_block(new_size);
		return;
	}
	sim_alloc(s, new_size);
	sim_free(s, old_size);
}

static inline void
sim_reset(asetsim *s)
{
	size_t		min_first = s->first_size;

	memset(s->freelist, 0, sizeof(s->freelist));
	s->total = min_first;
	s->nblocks = 1;
	s->frozen_free = 0;
	s->active_free = s->first_size - SIM_KEEPEROFF - SIM_BLOCKHDR;
	s->next_size = s->init_size;
}

static inline size_t
sim_freespace(const asetsim *s)
{
	size_t		free = s->active_free + s->frozen_free;

	for (int i = 0; i < SIM_NCLASSES; i++)
		free += s->freelist[i] * (sim_class_size(i) + SIM_HDR);
	return free;
}

static inline size_t
sim_freechunks(const asetsim *s)
{
	size_t		n = 0;

	for (int i = 0; i < SIM_NCLASSES; i++)
		n += s->freelist[i];
	return n;
}

static inline void
sim_counters(const asetsim *s, mcxt_counters_t *out)
{
	out->nblocks = s->nblocks;
	out->freechunks = sim_freechunks(s);
	out->totalspace = s->total;
	out->freespace = sim_freespace(s);
}

#endif							/* MCXT_ASETSIM_H */
