/*
 * source.c
 *	  The one place libmcxt gets memory from the system: the block source,
 *	  and in front of it a small per-thread cache of freed blocks.
 *
 * The block source defaults to malloc/realloc/free and can be replaced (by
 * tests, for fault injection, or by a program with its own page allocator).
 * Process-wide counters of live blocks and bytes are kept here, and only
 * here, so a test can prove that a teardown gave everything back.
 *
 * The cache exists because PostgreSQL's reset-heavy workloads spend half
 * their time in page faults: AllocSetReset frees every block but the keeper,
 * glibc gives the top of the heap (or an mmap'd 8 MB block) back to the
 * kernel, and the next cycle faults the same pages in again.  We keep freed
 * blocks whose size is a power of two between 1 KB and 8 MB (every block an
 * AllocSet grows by has such a size when its initial size is one) on
 * per-size LIFO lists, up to a byte limit per thread; anything else goes
 * straight back to the source.  The cache is never touched by the chunk
 * fast paths.
 */
#include <stdatomic.h>
#include <stdlib.h>

#include "mcxt_int.h"

#define CACHE_MIN_SHIFT		10	/* 1 KB */
#define CACHE_MAX_SHIFT		23	/* 8 MB */
#define CACHE_NCLASSES		(CACHE_MAX_SHIFT - CACHE_MIN_SHIFT + 1)
#define CACHE_DEFAULT_LIMIT ((size_t) 32 * 1024 * 1024)

typedef struct cached_block
{
	struct cached_block *next;
} cached_block;

typedef struct block_cache
{
	cached_block *head[CACHE_NCLASSES];
	size_t		bytes;
	size_t		nblocks;
	size_t		limit;
} block_cache;

static MCXT_TLS block_cache cache = {.limit = CACHE_DEFAULT_LIMIT};

static _Atomic uint64_t live_blocks;
static _Atomic uint64_t live_bytes;

/* Fault injection: requests seen, and which one fails (0: none). */
static _Atomic uint64_t fault_requests;
static _Atomic uint64_t fault_nth;
static _Atomic bool fault_repeat;

void
mcxt_fault_inject(uint64_t nth, bool repeat)
{
	atomic_store(&fault_nth, nth);
	atomic_store(&fault_repeat, repeat);
	atomic_store(&fault_requests, 0);
}

uint64_t
mcxt_fault_requests(void)
{
	return atomic_load(&fault_requests);
}

/* Count a request to the source; true if it must fail. */
static bool
fault_fail(void)
{
	uint64_t	n = atomic_fetch_add_explicit(&fault_requests, 1, memory_order_relaxed) + 1;
	uint64_t	nth = atomic_load_explicit(&fault_nth, memory_order_relaxed);

	if (nth == 0)
		return false;
	return n == nth || (n > nth && atomic_load_explicit(&fault_repeat, memory_order_relaxed));
}

static void *
default_alloc(size_t size, void *arg)
{
	(void) arg;
	return malloc(size);
}

static void *
default_realloc(void *block, size_t old_size, size_t new_size, void *arg)
{
	(void) arg;
	(void) old_size;
	return realloc(block, new_size);
}

static void
default_free(void *block, size_t size, void *arg)
{
	(void) arg;
	(void) size;
	free(block);
}

static mcxt_block_source_t source = {
	.alloc = default_alloc,
	.realloc = default_realloc,
	.free = default_free,
};

void
mcxt_set_block_source(const mcxt_block_source_t *src)
{
	/* cached blocks came from the old source and must go back to it */
	mcxt_block_cache_trim();
	if (src == NULL)
	{
		source.alloc = default_alloc;
		source.realloc = default_realloc;
		source.free = default_free;
		source.arg = NULL;
	}
	else
		source = *src;
}

void *
mcxti_source_alloc(size_t size)
{
	mcxti_sigdump_poll();		/* a safe point (see sigdump.c) */
	void	   *block = fault_fail() ? NULL : source.alloc(size, source.arg);

	if (block != NULL)
	{
		atomic_fetch_add_explicit(&live_blocks, 1, memory_order_relaxed);
		atomic_fetch_add_explicit(&live_bytes, size, memory_order_relaxed);
	}
	return block;
}

void *
mcxti_source_realloc(void *block, size_t old_size, size_t new_size)
{
	void	   *nblock = fault_fail() ? NULL : source.realloc(block, old_size, new_size, source.arg);

	if (nblock != NULL)
	{
		atomic_fetch_sub_explicit(&live_bytes, old_size, memory_order_relaxed);
		atomic_fetch_add_explicit(&live_bytes, new_size, memory_order_relaxed);
	}
	return nblock;
}

void
mcxti_source_free(void *block, size_t size)
{
	/* whatever a memory tool had closed in it is the allocator's again */
	MCXT_MEM_UNDEFINED(block, size);
	atomic_fetch_sub_explicit(&live_blocks, 1, memory_order_relaxed);
	atomic_fetch_sub_explicit(&live_bytes, size, memory_order_relaxed);
	source.free(block, size, source.arg);
}

/* The cache class of a block size, or -1 if such blocks are not cached. */
static int
cache_class(size_t size)
{
	int			shift;

	if ((size & (size - 1)) != 0 ||
		size < ((size_t) 1 << CACHE_MIN_SHIFT) || size > ((size_t) 1 << CACHE_MAX_SHIFT))
		return -1;
	shift = __builtin_ctzll((unsigned long long) size);
	return shift - CACHE_MIN_SHIFT;
}

void *
mcxti_block_alloc(size_t size)
{
	int			cls = cache_class(size);

	mcxti_sigdump_poll();		/* a safe point (see sigdump.c) */
	if (cls >= 0 && cache.head[cls] != NULL)
	{
		cached_block *b = cache.head[cls];

		MCXT_MEM_DEFINED(b, sizeof(*b));
		cache.head[cls] = b->next;
		cache.bytes -= size;
		cache.nblocks--;
		MCXT_MEM_UNDEFINED(b, size);
		return b;
	}
	return mcxti_source_alloc(size);
}

void
mcxti_block_free(void *block, size_t size)
{
	int			cls = cache_class(size);

	if (cls >= 0 && cache.bytes + size <= cache.limit)
	{
		cached_block *b = block;

		/* a cached block is out of bounds but for its link */
		MCXT_MEM_UNDEFINED(b, sizeof(*b));
		b->next = cache.head[cls];
		MCXT_MEM_NOACCESS(b, size);
		cache.head[cls] = b;
		cache.bytes += size;
		cache.nblocks++;
		return;
	}
	mcxti_source_free(block, size);
}

void
mcxt_block_cache_trim(void)
{
	for (int cls = 0; cls < CACHE_NCLASSES; cls++)
	{
		size_t		size = (size_t) 1 << (cls + CACHE_MIN_SHIFT);

		while (cache.head[cls] != NULL)
		{
			cached_block *b = cache.head[cls];

			MCXT_MEM_DEFINED(b, sizeof(*b));
			cache.head[cls] = b->next;
			mcxti_source_free(b, size);
		}
	}
	cache.bytes = 0;
	cache.nblocks = 0;
}

void
mcxt_block_cache_set_limit(size_t bytes)
{
	cache.limit = bytes;
	if (cache.bytes > bytes)
		mcxt_block_cache_trim();
}

void
mcxt_block_stats(mcxt_block_stats_t *out)
{
	out->live_blocks = atomic_load_explicit(&live_blocks, memory_order_relaxed);
	out->live_bytes = atomic_load_explicit(&live_bytes, memory_order_relaxed);
	out->cached_blocks = cache.nblocks;
	out->cached_bytes = cache.bytes;
}
