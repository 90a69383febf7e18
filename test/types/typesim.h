/*
 * typesim.h
 *	  What the type tests need to know about the library's build: whether
 *	  chunks carry the checking-build header and tail room, and the layout
 *	  constants of src/chunk.h.
 *
 * The test targets get the library's MCXT_DEBUG and MCXT_VALGRIND as
 * MCXT_TEST_LIB_DEBUG and MCXT_TEST_LIB_VALGRIND; ASan is seen directly
 * (tests and library are compiled with the same flags).  "Checked" builds
 * (MCXT_DEBUG >= 1 or a memory tool) give Bump chunks a header and keep the
 * requested size; "tail" builds (MCXT_DEBUG >= 2 or a memory tool) reserve
 * one byte after every request.
 */
#ifndef MCXT_TYPESIM_H
#define MCXT_TYPESIM_H

#include <stddef.h>
#include <stdint.h>

#include <mcxt.h>
#include "../../src/chunk.h"

#if defined(__SANITIZE_ADDRESS__)
#define TS_MEMTOOL 1
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
#define TS_MEMTOOL 1
#endif
#endif
#if !defined(TS_MEMTOOL) && defined(MCXT_TEST_LIB_VALGRIND)
#define TS_MEMTOOL 1
#endif
#ifndef TS_MEMTOOL
#define TS_MEMTOOL 0
#endif
#ifndef MCXT_TEST_LIB_DEBUG
#define MCXT_TEST_LIB_DEBUG 0
#endif

#define TS_CHECKED	(MCXT_TEST_LIB_DEBUG >= 1 || TS_MEMTOOL)
#define TS_TAIL		((size_t) ((MCXT_TEST_LIB_DEBUG >= 2 || TS_MEMTOOL) ? 1 : 0))

/* Bytes a Generation or Bump chunk of n requested bytes takes after its header. */
static inline size_t
ts_chunk_size(size_t n)
{
	size_t		c = MCXT_ALIGN(n + TS_TAIL);

	return c < 8 ? 8 : c;
}

/* Bytes a Bump chunk takes in its block, header included. */
static inline size_t
ts_bump_footprint(size_t n)
{
	return ts_chunk_size(n) + (TS_CHECKED ? MCXT_CHUNK_HDRSZ : 0);
}

/* Slot stride of a slab of chunk_size-byte chunks, and slots per block. */
static inline size_t
ts_slab_slot(size_t chunk_size)
{
	return ts_chunk_size(chunk_size) + MCXT_CHUNK_HDRSZ;
}

static inline size_t
ts_slab_per_block(size_t block_size, size_t chunk_size)
{
	return (block_size - MCXT_SLAB_BLOCKHDRSZ) / ts_slab_slot(chunk_size);
}

/* A small deterministic generator (xorshift64*). */
static inline uint64_t
ts_rand(uint64_t *state)
{
	uint64_t	x = *state;

	x ^= x >> 12;
	x ^= x << 25;
	x ^= x >> 27;
	*state = x;
	return x * UINT64_C(2685821657736338717);
}

static inline void
ts_fill(void *p, size_t n, unsigned seed)
{
	unsigned char *b = p;

	for (size_t i = 0; i < n; i++)
		b[i] = (unsigned char) (seed + i * 13);
}

static inline bool
ts_filled(const void *p, size_t n, unsigned seed)
{
	const unsigned char *b = p;

	for (size_t i = 0; i < n; i++)
		if (b[i] != (unsigned char) (seed + i * 13))
			return false;
	return true;
}

static inline bool
ts_no_blocks_held(void)
{
	mcxt_block_stats_t bs;

	mcxt_block_stats(&bs);
	return bs.live_blocks == 0 && bs.live_bytes == 0;
}

#endif							/* MCXT_TYPESIM_H */
