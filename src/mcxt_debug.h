/*
 * mcxt_debug.h
 *	  Every compile-time switch of libmcxt, in one place.
 *
 * MCXT_DEBUG (CMake -DMCXT_DEBUG=N, default 0), the checking level:
 *   0  release.  Only the cheap checks every build makes: NULL pointer,
 *      chunk header type id, block check word, free bit (double free),
 *      chunk beyond its block's free pointer, and the magic of a context
 *      being reset, deleted or reparented.
 *   1  plus API argument checks: the context of an allocation is live, and
 *      a context is not used by two threads at the same moment (each
 *      operation marks the context busy with an atomic exchange).
 *   2  plus the requested size kept in every chunk header, a sentinel byte
 *      after every allocation (requests are rounded up with room for it,
 *      also exact powers of two, unlike PostgreSQL), new memory filled with
 *      MCXT_NEW_BYTE, freed memory clobbered with MCXT_FREED_BYTE and
 *      verified when the chunk is reused, and internal asserts.
 *   3  plus a full check of the context (mcxt_check: blocks, chunks,
 *      sentinels, freelists, accounting) on every reset and delete.
 *
 * MCXT_VALGRIND (CMake -DMCXT_VALGRIND=ON): every context is a Valgrind
 * mempool; chunk headers, block headers and free space are NOACCESS, so
 * memcheck reports use-after-pfree, reads of uninitialised palloc memory and
 * leaked chunks inside contexts.  Needs valgrind's headers at build time
 * only (the client requests are no-ops outside valgrind).
 *
 * MCXT_ASAN (CMake -DMCXT_ASAN=ON, or automatic under -fsanitize=address):
 * the same regions are poisoned for AddressSanitizer, and the slack after
 * each chunk (at least one byte, as for the sentinel) is a redzone, so
 * ASan reports use-after-pfree, use-after-reset and overruns into the next
 * chunk.
 *
 * The memory-tool macros below compile to nothing when neither tool is on.
 */
#ifndef MCXT_DEBUG_H
#define MCXT_DEBUG_H

#include <stddef.h>

#ifndef MCXT_DEBUG
#define MCXT_DEBUG 0
#endif

#define MCXT_NEW_BYTE		0xA5	/* fills new chunks at level >= 2 */
#define MCXT_FREED_BYTE		0x7F	/* clobbers freed chunks (PostgreSQL's wipe byte) */
#define MCXT_SENTINEL_BYTE	0x7E	/* after the requested size (PostgreSQL's) */

#if MCXT_DEBUG >= 2
#define MCXT_ASSERT(cond) \
	do { if (!(cond)) mcxti_assert_failed(#cond, __FILE__, __LINE__); } while (0)
#else
#define MCXT_ASSERT(cond) ((void) 0)
#endif

#if defined(__SANITIZE_ADDRESS__) && !defined(MCXT_ASAN)
#define MCXT_ASAN 1
#endif
#if defined(__has_feature)
#if __has_feature(address_sanitizer) && !defined(MCXT_ASAN)
#define MCXT_ASAN 1
#endif
#endif

/*
 * MCXT_SITES (CMake -DMCXT_SITES=ON, or a library variant with SITES): every
 * allocation made through the macros of mcxt.h / mcxt/palloc.h records its
 * call site (file, line, function).  Each chunk keeps a site id in the last
 * 8 bytes of its space (MCXT_SITE_ROOM, reserved on top of the request like
 * the sentinel byte), and the ids index a process-wide table of call sites
 * that the registry points to (chunk.h, "Allocation sites").  A sites build
 * uses the checked paths of every context type (below), which keep the
 * requested size in the header: sites are for finding leaks, not for speed.
 * Off (0), nothing of it is compiled.
 */
#ifndef MCXT_SITES
#define MCXT_SITES 0
#endif

#if MCXT_SITES
#define MCXT_SITE_ROOM		8	/* chunk.h: MCXT_SITE_ROOM_BYTES */
#else
#define MCXT_SITE_ROOM		0
#endif

/*
 * Bytes reserved after every request: room for the sentinel in checking
 * builds, and for a redzone under a memory tool; then, in sites builds,
 * the site word at the very end of the chunk.
 */
#if MCXT_DEBUG >= 2 || defined(MCXT_ASAN) || defined(MCXT_VALGRIND)
#define MCXT_TAIL_ROOM		(1 + MCXT_SITE_ROOM)
#else
#define MCXT_TAIL_ROOM		(0 + MCXT_SITE_ROOM)
#endif

#if defined(MCXT_VALGRIND)
#include <valgrind/memcheck.h>
#define MCXT_MEM_NOACCESS(p, n)		VALGRIND_MAKE_MEM_NOACCESS((p), (n))
#define MCXT_MEM_UNDEFINED(p, n)	VALGRIND_MAKE_MEM_UNDEFINED((p), (n))
#define MCXT_MEM_DEFINED(p, n)		VALGRIND_MAKE_MEM_DEFINED((p), (n))
#define MCXT_POOL_CREATE(ctx)		VALGRIND_CREATE_MEMPOOL((ctx), 0, 0)
#define MCXT_POOL_DESTROY(ctx)		VALGRIND_DESTROY_MEMPOOL(ctx)
#define MCXT_POOL_ALLOC(ctx, p, n)	VALGRIND_MEMPOOL_ALLOC((ctx), (p), (n))
#define MCXT_POOL_FREE(ctx, p)		VALGRIND_MEMPOOL_FREE((ctx), (p))
#define MCXT_POOL_CHANGE(ctx, o, p, n) VALGRIND_MEMPOOL_CHANGE((ctx), (o), (p), (n))
#define MCXT_MEMTOOL 1
#elif defined(MCXT_ASAN)
#include <sanitizer/asan_interface.h>
#define MCXT_MEM_NOACCESS(p, n)		ASAN_POISON_MEMORY_REGION((p), (n))
#define MCXT_MEM_UNDEFINED(p, n)	ASAN_UNPOISON_MEMORY_REGION((p), (n))
#define MCXT_MEM_DEFINED(p, n)		ASAN_UNPOISON_MEMORY_REGION((p), (n))
#define MCXT_POOL_CREATE(ctx)		((void) 0)
#define MCXT_POOL_DESTROY(ctx)		((void) 0)
#define MCXT_POOL_ALLOC(ctx, p, n)	ASAN_UNPOISON_MEMORY_REGION((p), (n))
#define MCXT_POOL_FREE(ctx, p)		((void) 0)
#define MCXT_POOL_CHANGE(ctx, o, p, n) ASAN_UNPOISON_MEMORY_REGION((p), (n))
#define MCXT_MEMTOOL 1
#else
#define MCXT_MEM_NOACCESS(p, n)		((void) 0)
#define MCXT_MEM_UNDEFINED(p, n)	((void) 0)
#define MCXT_MEM_DEFINED(p, n)		((void) 0)
#define MCXT_POOL_CREATE(ctx)		((void) 0)
#define MCXT_POOL_DESTROY(ctx)		((void) 0)
#define MCXT_POOL_ALLOC(ctx, p, n)	((void) 0)
#define MCXT_POOL_FREE(ctx, p)		((void) 0)
#define MCXT_POOL_CHANGE(ctx, o, p, n) ((void) 0)
#define MCXT_MEMTOOL 0
#endif

/*
 * Checked AllocSet paths replace the inlined fast ones at level >= 1,
 * under a memory tool, or in a sites build; they also keep the requested
 * size in each header (and, in sites builds, write the site word).
 */
#if MCXT_DEBUG >= 1 || MCXT_MEMTOOL || MCXT_SITES
#define MCXT_ASET_CHECKED 1
#else
#define MCXT_ASET_CHECKED 0
#endif

#endif							/* MCXT_DEBUG_H */
