/*
 * mcxt/palloc.h
 *	  PostgreSQL's memory-context spellings over libmcxt.
 *
 * Code written for PostgreSQL's palloc.h and memutils.h compiles unchanged
 * against this header: MemoryContext, CurrentMemoryContext,
 * TopMemoryContext, AllocSetContextCreate, palloc, pfree, repalloc, ...
 * Everything here is a macro or a static inline over the mcxt_* API, so
 * the library itself exports no unprefixed symbol.
 *
 * Differences from PostgreSQL worth knowing:
 *  - CurrentMemoryContext and TopMemoryContext are per thread and created
 *    on first use, so MemoryContextInit() is optional.
 *  - Errors call the mcxt error handler (default: message and abort)
 *    instead of elog(ERROR); install a handler that longjmps to get
 *    PostgreSQL's recover-and-continue behaviour.
 *  - MemoryContextStatsDetail's print_to_stderr = false prints to stdout
 *    (there is no server log).
 *  - MemoryContextUnregisterResetCallback exists (PostgreSQL 19 adds it).
 */
#ifndef MCXT_PALLOC_H
#define MCXT_PALLOC_H

#include <mcxt.h>

typedef mcxt_context_t *MemoryContext;
typedef mcxt_callback_fn MemoryContextCallbackFunction;
typedef mcxt_callback_t MemoryContextCallback;
typedef mcxt_counters_t MemoryContextCounters;
#ifndef MCXT_NO_SIZE_TYPEDEF
typedef size_t Size;
#endif

#define MaxAllocSize		MCXT_MAX_ALLOC_SIZE
#define MaxAllocHugeSize	MCXT_MAX_ALLOC_HUGE_SIZE
#define InvalidAllocSize	SIZE_MAX
#define AllocSizeIsValid(size)		((Size) (size) <= MaxAllocSize)
#define AllocHugeSizeIsValid(size)	((Size) (size) <= MaxAllocHugeSize)

#define ALLOCSET_DEFAULT_MINSIZE	MCXT_DEFAULT_MINSIZE
#define ALLOCSET_DEFAULT_INITSIZE	MCXT_DEFAULT_INITSIZE
#define ALLOCSET_DEFAULT_MAXSIZE	MCXT_DEFAULT_MAXSIZE
#define ALLOCSET_DEFAULT_SIZES		MCXT_DEFAULT_SIZES
#define ALLOCSET_SMALL_MINSIZE		MCXT_SMALL_MINSIZE
#define ALLOCSET_SMALL_INITSIZE		MCXT_SMALL_INITSIZE
#define ALLOCSET_SMALL_MAXSIZE		MCXT_SMALL_MAXSIZE
#define ALLOCSET_SMALL_SIZES		MCXT_SMALL_SIZES
#define ALLOCSET_START_SMALL_SIZES	MCXT_START_SMALL_SIZES
#define ALLOCSET_SEPARATE_THRESHOLD 8192

/* CurrentMemoryContext is an lvalue, as in PostgreSQL, created on first use. */
static inline mcxt_context_t **
mcxt_current_ref_(void)
{
	if (__builtin_expect(mcxt_current_context == NULL, 0))
		mcxt_init();
	return &mcxt_current_context;
}
#define CurrentMemoryContext	(*mcxt_current_ref_())
#define TopMemoryContext		(mcxt_top())

#define MemoryContextInit()		mcxt_init()

static inline MemoryContext
MemoryContextSwitchTo(MemoryContext context)
{
	MemoryContext old = CurrentMemoryContext;

	mcxt_current_context = context;
	return old;
}

#define AllocSetContextCreate(parent, name, ...) \
	mcxt_aset_create((parent), (name), __VA_ARGS__)
#define AllocSetContextCreateInternal(parent, name, minsize, initsize, maxsize) \
	mcxt_aset_create((parent), (name), (minsize), (initsize), (maxsize))

#define MemoryContextAlloc(context, size)			mcxt_alloc((context), (size))
#define MemoryContextAllocZero(context, size)		mcxt_alloc_zero((context), (size))
#define MemoryContextAllocExtended(context, size, flags) \
	mcxt_alloc_extended((context), (size), (flags))
#define MemoryContextAllocHuge(context, size) \
	mcxt_alloc_extended((context), (size), MCXT_ALLOC_HUGE)
#define MemoryContextStrdup(context, string)		mcxt_strdup((context), (string))

#define palloc(size)					mcxt_alloc(CurrentMemoryContext, (size))
#define palloc0(size)					mcxt_alloc_zero(CurrentMemoryContext, (size))
#define palloc_extended(size, flags)	mcxt_alloc_extended(CurrentMemoryContext, (size), (flags))
#define pfree(pointer)					mcxt_free(pointer)
#define repalloc(pointer, size)			mcxt_realloc((pointer), (size))
#define repalloc_extended(pointer, size, flags) \
	mcxt_realloc_extended((pointer), (size), (flags))
#define repalloc_huge(pointer, size)	mcxt_realloc_extended((pointer), (size), MCXT_ALLOC_HUGE)

#define palloc_object(type)				((type *) palloc(sizeof(type)))
#define palloc0_object(type)			((type *) palloc0(sizeof(type)))
#define palloc_array(type, count)		((type *) palloc(sizeof(type) * (count)))
#define palloc0_array(type, count)		((type *) palloc0(sizeof(type) * (count)))
#define repalloc_array(pointer, type, count) \
	((type *) repalloc((pointer), sizeof(type) * (count)))

#define pstrdup(in)						mcxt_strdup(CurrentMemoryContext, (in))
#define pnstrdup(in, len)				mcxt_strndup(CurrentMemoryContext, (in), (len))
#define psprintf(...)					mcxt_sprintf(CurrentMemoryContext, __VA_ARGS__)
#define pvsnprintf(buf, len, fmt, args) mcxt_vsnprintf((buf), (len), (fmt), (args))

#define MemoryContextReset(context)			mcxt_reset(context)
#define MemoryContextResetOnly(context)		mcxt_reset_only(context)
#define MemoryContextResetChildren(context) mcxt_reset_children(context)
#define MemoryContextDelete(context)		mcxt_delete(context)
#define MemoryContextDeleteChildren(context) mcxt_delete_children(context)
#define MemoryContextSetParent(context, new_parent) \
	mcxt_set_parent((context), (new_parent))
#define MemoryContextSetIdentifier(context, id) mcxt_set_ident((context), (id))
#define MemoryContextCopyAndSetIdentifier(cxt, id) \
	mcxt_set_ident((cxt), mcxt_strdup((cxt), (id)))
#define MemoryContextGetParent(context)		mcxt_parent(context)
#define MemoryContextRegisterResetCallback(context, cb) \
	mcxt_register_reset_callback((context), (cb))
#define MemoryContextUnregisterResetCallback(context, cb) \
	((void) mcxt_unregister_reset_callback((context), (cb)))

#define MemoryContextIsEmpty(context)		mcxt_is_empty(context)
#define MemoryContextMemAllocated(context, recurse) \
	mcxt_mem_allocated((context), (recurse))
#define MemoryContextMemConsumed(context, consumed) \
	mcxt_mem_consumed((context), true, (consumed))
#define MemoryContextStats(context)			mcxt_stats(context)
#define MemoryContextStatsDetail(context, max_level, max_children, print_to_stderr) \
	mcxt_stats_print((context), (max_level), (max_children), \
					 (print_to_stderr) ? stderr : stdout)
#define MemoryContextCheck(context)			((void) mcxt_check(context))

#define GetMemoryChunkContext(pointer)		mcxt_chunk_context(pointer)
#define GetMemoryChunkSpace(pointer)		mcxt_chunk_space(pointer)

/* The other context types and aligned allocations, with PostgreSQL's argument orders. */
#define SLAB_DEFAULT_BLOCK_SIZE		(8 * 1024)
#define SLAB_LARGE_BLOCK_SIZE		(8 * 1024 * 1024)

#define GenerationContextCreate(parent, name, minContextSize, initBlockSize, maxBlockSize) \
	mcxt_generation_create((parent), (name), (minContextSize), (initBlockSize), (maxBlockSize))
#define SlabContextCreate(parent, name, blockSize, chunkSize) \
	mcxt_slab_create((parent), (name), (blockSize), (chunkSize))
#define BumpContextCreate(parent, name, minContextSize, initBlockSize, maxBlockSize) \
	mcxt_bump_create((parent), (name), (minContextSize), (initBlockSize), (maxBlockSize))

#define MemoryContextAllocAligned(context, size, alignto, flags) \
	mcxt_alloc_aligned((context), (size), (alignto), (flags))
#define palloc_aligned(size, alignto, flags) \
	mcxt_alloc_aligned(CurrentMemoryContext, (size), (alignto), (flags))

#endif							/* MCXT_PALLOC_H */
