/*
 * mcxt_int.h
 *	  Internal interfaces of libmcxt, grouped by the file that defines them.
 *
 * Everything declared here is hidden (-fvisibility=hidden): nothing outside
 * the library can link against it.  The on-heap structs themselves are in
 * chunk.h, which the forensics tool shares.
 */
#ifndef MCXT_INT_H
#define MCXT_INT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

/* the library calls its own functions, never the site-recording macros */
#define MCXT_NO_SITE_MACROS 1
#include "mcxt.h"
#include "chunk.h"
#include "mcxt_debug.h"

#define likely(x)		__builtin_expect(!!(x), 1)
#define unlikely(x)		__builtin_expect(!!(x), 0)
#define mcxt_noinline	__attribute__((noinline))
#define mcxt_noreturn	_Noreturn
#define MCXT_HIDDEN		__attribute__((visibility("hidden")))
/* Internal TLS is never exported, so the cheap model is always valid. */
#define MCXT_TLS		_Thread_local __attribute__((tls_model("initial-exec")))

/*
 * The method table of one context type.  The generic layer (mcxt.c) does
 * everything that is the same for all types: the tree, callbacks, accounting
 * folds, argument checks; a type implements only its storage.
 */
typedef struct mcxt_methods
{
	const char *name;			/* "AllocSet", shown in stats */
	void	   *(*alloc) (mcxt_context *ctx, size_t size, int flags);
	/* free/realloc receive the chunk's header word, already read. */
	void		(*free_p) (void *ptr, uint64_t hdr);
	void	   *(*realloc) (void *ptr, uint64_t hdr, size_t size, int flags);
	void		(*reset) (mcxt_context *ctx);
	/* release the context's storage; the generic layer has unlinked it */
	void		(*delete_context) (mcxt_context *ctx);
	mcxt_context *(*get_chunk_context) (const void *ptr, uint64_t hdr);
	size_t		(*get_chunk_space) (const void *ptr, uint64_t hdr);
	bool		(*is_empty) (mcxt_context *ctx);
	void		(*stats) (mcxt_context *ctx, mcxt_counters_t *totals);
	int			(*check) (mcxt_context *ctx);
} mcxt_methods;

/* mcxt.c ------------------------------------------------------------------ */

/* Indexed by the 4-bit type id of a chunk header; unused ids report errors. */
extern const mcxt_methods *const mcxti_methods[16] MCXT_HIDDEN;

/* The calling thread's top context, or NULL if it has none (never creates one). */
mcxt_context *mcxti_thread_top(void) MCXT_HIDDEN;

/*
 * Link a fresh context into the tree and fill the generic header fields;
 * returns ctx.  Its end is a safe point for a requested dump, which walks
 * the new context: call it last, once the context is complete and
 * registered with the memory tool (MCXT_POOL_CREATE).
 */
mcxt_context *mcxti_context_init(mcxt_context *ctx, unsigned type, const mcxt_methods *methods,
							   mcxt_context *parent, const char *name) MCXT_HIDDEN;

/* Report an error through the handler; never returns. */
mcxt_noreturn void mcxti_error(mcxt_error_t code, mcxt_context *ctx, const char *fmt, ...)
			__attribute__((format(printf, 3, 4))) MCXT_HIDDEN;
/* A pointer whose header does not decode to a live chunk. */
mcxt_noreturn void mcxti_bad_pointer(const char *op, const void *ptr, uint64_t hdr) MCXT_HIDDEN;
/* Out of memory: NULL with MCXT_ALLOC_NO_OOM, otherwise the error handler. */
void	   *mcxti_oom(mcxt_context *ctx, size_t size, int flags) MCXT_HIDDEN;
/* A size over the limit for these flags: always an error, as in PostgreSQL. */
mcxt_noreturn void mcxti_invalid_size(mcxt_context *ctx, size_t size) MCXT_HIDDEN;

/* An internal assertion failed (MCXT_ASSERT, level >= 2). */
mcxt_noreturn void mcxti_assert_failed(const char *cond, const char *file, int line) MCXT_HIDDEN;

/*
 * Chunk header access.  In checked builds under a memory tool, headers are
 * NOACCESS and every read or write opens them for the moment it takes; in
 * other builds these are plain loads and stores.
 */
static inline uint64_t
mcxti_hdr_get(const void *chunk)
{
	uint64_t	hdr;

	MCXT_MEM_DEFINED((void *) chunk, sizeof(uint64_t));
	hdr = *(const uint64_t *) chunk;
	MCXT_MEM_NOACCESS((void *) chunk, sizeof(uint64_t));
	return hdr;
}

/*
 * A pointer was rejected: the 8 bytes in front of it, which mcxti_hdr_get
 * closed after reading, may be the caller's own memory (an interior or stack
 * pointer), so they are left open rather than poisoned under the caller.
 */
static inline void
mcxti_unpoison_rejected(const void *ptr)
{
	if (ptr != NULL)
		MCXT_MEM_DEFINED((char *) ptr - sizeof(uint64_t), sizeof(uint64_t));
}

static inline void
mcxti_hdr_set(void *chunk, uint64_t hdr)
{
	MCXT_MEM_UNDEFINED(chunk, sizeof(uint64_t));
	*(uint64_t *) chunk = hdr;
	MCXT_MEM_NOACCESS(chunk, sizeof(uint64_t));
}

#if MCXT_DEBUG >= 1
/*
 * Level >= 1: mark a context busy for the length of an operation, so that a
 * second thread using it at the same moment is caught.  Nesting on one
 * thread (an allocation from a reset callback) is allowed.  Returns whether
 * this call took the mark (and must release it).
 */
bool		mcxti_ctx_enter(mcxt_context *ctx, const char *op) MCXT_HIDDEN;
void		mcxti_ctx_leave(mcxt_context *ctx, bool taken) MCXT_HIDDEN;
#define CTX_ENTER(ctx, op)	bool ctx_taken_ = mcxti_ctx_enter((ctx), (op))
#define CTX_LEAVE(ctx)		mcxti_ctx_leave((ctx), ctx_taken_)
#else
#define CTX_ENTER(ctx, op)	((void) 0)
#define CTX_LEAVE(ctx)		((void) 0)
#endif

/* limits.c (the inline parts are below, with the accounting) ------------- */

/* Would the limits above ctx allow another block of bytes?  Records a refusal. */
bool		mcxti_limit_allows_slow(mcxt_context *ctx, size_t bytes) MCXT_HIDDEN;
/* Add (subtract) bytes to every limit from l up; marks soft crossings pending. */
void		mcxti_limit_charge(mcxt_limit *l, size_t bytes) MCXT_HIDDEN;
void		mcxti_limit_uncharge(mcxt_limit *l, size_t bytes) MCXT_HIDDEN;
/* Run the soft callbacks of the crossings pending on the limits above ctx. */
void		mcxti_limit_fire(mcxt_context *ctx) MCXT_HIDDEN;
/* A new context of bytes under parent: an OOM error if a limit refuses it. */
void		mcxti_limit_create_check_slow(mcxt_context *parent, size_t bytes,
										  const char *name) MCXT_HIDDEN;
/* Before a leaf is deleted: uncharge it, and free its own limit. */
void		mcxti_limit_detach(mcxt_context *ctx) MCXT_HIDDEN;
/* Before ctx moves under new_parent: move its bytes (an OOM error if refused). */
void		mcxti_limit_move(mcxt_context *ctx, mcxt_context *new_parent) MCXT_HIDDEN;
/* From mcxti_oom: raise the limit's error if ctx's last block was refused by one. */
void		mcxti_limit_report(mcxt_context *ctx, size_t size, int flags) MCXT_HIDDEN;
/* mcxt_check's part: ctx's limit pointer, and its own limit's invariants. */
int			mcxti_limit_check(mcxt_context *ctx) MCXT_HIDDEN;

/*
 * Accounting, called by the types whenever a block is obtained or given
 * back.  A context under a limit also charges the limits above it; in an
 * unlimited tree that is one predictable branch per block.
 */
static inline void
mcxti_note_alloc(mcxt_context *ctx, size_t bytes)
{
	ctx->mem_allocated += bytes;
	ctx->bytes_alloc += bytes;
	if (ctx->mem_allocated > ctx->max_bytes_held)
		ctx->max_bytes_held = ctx->mem_allocated;
	if (unlikely(ctx->limit != NULL))
		mcxti_limit_charge(ctx->limit, bytes);
}

static inline void
mcxti_note_free(mcxt_context *ctx, size_t bytes)
{
	ctx->mem_allocated -= bytes;
	ctx->bytes_freed += bytes;
	if (unlikely(ctx->limit != NULL))
		mcxti_limit_uncharge(ctx->limit, bytes);
}

/*
 * A block of ctx changed size in place (realloc of a large chunk): the
 * limits see only the difference, so a block that was already above a soft
 * limit does not cross it again.
 */
static inline void
mcxti_note_resize(mcxt_context *ctx, size_t old_bytes, size_t new_bytes)
{
	mcxt_limit *l = ctx->limit;

	ctx->limit = NULL;
	mcxti_note_free(ctx, old_bytes);
	mcxti_note_alloc(ctx, new_bytes);
	ctx->limit = l;
	if (unlikely(l != NULL))
	{
		if (new_bytes > old_bytes)
			mcxti_limit_charge(l, new_bytes - old_bytes);
		else if (new_bytes < old_bytes)
			mcxti_limit_uncharge(l, old_bytes - new_bytes);
	}
}

/* May ctx obtain another block of bytes?  Always, outside limited subtrees. */
static inline bool
mcxti_limit_allows(mcxt_context *ctx, size_t bytes)
{
	return likely(ctx->limit == NULL) || mcxti_limit_allows_slow(ctx, bytes);
}

/*
 * Where an operation that obtained a block is complete (the chunk handed
 * out, the context linked): run the soft callbacks it made due.
 */
static inline void
mcxti_limit_after(mcxt_context *ctx)
{
	if (unlikely(ctx->limit != NULL))
		mcxti_limit_fire(ctx);
}

/* A context of bytes is about to be created under parent. */
static inline void
mcxti_limit_create_check(mcxt_context *parent, size_t bytes, const char *name)
{
	if (parent != NULL && unlikely(parent->limit != NULL))
		mcxti_limit_create_check_slow(parent, bytes, name);
}

/*
 * Depth-first pre-order successor of curr within the subtree of top, or
 * NULL when the subtree is done.  Never leaves the subtree: top's own
 * siblings are not part of it.
 */
static inline mcxt_context *
mcxti_traverse_next(mcxt_context *curr, mcxt_context *top)
{
	if (curr->firstchild != NULL)
		return curr->firstchild;
	while (curr != top && curr != NULL)
	{
		if (curr->nextchild != NULL)
			return curr->nextchild;
		curr = curr->parent;
	}
	return NULL;
}

/* Problems found by a check walk are reported through this (stderr). */
void		mcxti_check_warn(const mcxt_context *ctx, const char *fmt, ...)
			__attribute__((format(printf, 2, 3))) MCXT_HIDDEN;

/* aset.c ------------------------------------------------------------------ */

extern const mcxt_methods mcxti_aset_methods MCXT_HIDDEN;
/* Give back every context parked on this thread's recycle lists. */
void		mcxti_aset_drop_freelists(void) MCXT_HIDDEN;

/* generation.c, slab.c, bump.c, aligned.c ------------------------------- */

extern const mcxt_methods mcxti_generation_methods MCXT_HIDDEN;
extern const mcxt_methods mcxti_slab_methods MCXT_HIDDEN;
extern const mcxt_methods mcxti_bump_methods MCXT_HIDDEN;
/* Only reached through redirect headers; an aligned chunk is not a context. */
extern const mcxt_methods mcxti_aligned_methods MCXT_HIDDEN;

/* A request size above the limit for these flags is an error (never returns). */
static inline void
mcxti_check_size(mcxt_context *ctx, size_t size, int flags)
{
	if (unlikely((flags & MCXT_ALLOC_HUGE) ? size > MCXT_MAX_ALLOC_HUGE_SIZE
				 : size > MCXT_MAX_ALLOC_SIZE))
		mcxti_invalid_size(ctx, size);
}

/*
 * Arguments of a context creation with AllocSet-style block sizes
 * (Generation, Bump): a name, a live parent, and sizes as for
 * mcxt_aset_create; the sizes are rounded to the alignment in place.  Bad
 * arguments are a misuse error.
 */
static inline void
mcxti_check_create(mcxt_context *parent, const char *name, size_t *min_context_size,
				   size_t *init_block_size, size_t *max_block_size)
{
	if (name == NULL)
		mcxti_error(MCXT_ERR_MISUSE, parent, "memory context created without a name");
	if (parent != NULL && parent->magic != MCXT_CONTEXT_MAGIC)
		mcxti_error(MCXT_ERR_MISUSE, NULL,
					"memory context \"%s\" created under an invalid (deleted?) parent %p",
					name, (void *) parent);
	*min_context_size = MCXT_ALIGN(*min_context_size);
	*init_block_size = MCXT_ALIGN(*init_block_size);
	*max_block_size = MCXT_ALIGN(*max_block_size);
	if (*init_block_size < 1024 || *max_block_size < *init_block_size ||
		*max_block_size > ((size_t) 1 << 30) ||
		(*min_context_size != 0 &&
		 (*min_context_size < 1024 || *min_context_size > *max_block_size)))
		mcxti_error(MCXT_ERR_MISUSE, parent,
					"invalid block sizes for memory context \"%s\": min %zu, init %zu, max %zu "
					"(need init >= 1024, max >= init, max <= 1 GB, min 0 or 1024..max)",
					name, *min_context_size, *init_block_size, *max_block_size);
}

/* sites.c ----------------------------------------------------------------- */

/*
 * A site's file as the text reports print it: without its directories, as
 * compilers print file names in diagnostics (JSON keeps the full path).
 */
static inline const char *
mcxti_site_basename(const char *file)
{
	const char *slash = file != NULL ? strrchr(file, '/') : NULL;

	return slash != NULL ? slash + 1 : (file != NULL ? file : "?");
}

#if MCXT_SITES
extern MCXT_API _Thread_local mcxt_site_t *mcxt_site_pending;

/* The id of a site, interning it on first use; 0 if the table is full. */
uint32_t	mcxti_site_intern(mcxt_site_t *site) MCXT_HIDDEN;
/* Forget the pending site (the error path: a handler may longjmp past the macro). */
void		mcxti_site_clear(void) MCXT_HIDDEN;

/*
 * Write the site word of a chunk being handed out, at the last
 * MCXT_SITE_ROOM bytes of its space: the pending site's id, and the id
 * XOR MCXT_SITE_MAGIC as a check for readers.
 */
static inline void
mcxti_site_stamp(char *word)
{
	mcxt_site_t *site = mcxt_site_pending;
	uint32_t	id = 0;
	uint32_t	w[2];

	if (site != NULL)
	{
		id = __atomic_load_n(&site->id, __ATOMIC_ACQUIRE);
		if (id == 0)
			id = mcxti_site_intern(site);
	}
	w[0] = id;
	w[1] = id ^ MCXT_SITE_MAGIC;
	MCXT_MEM_UNDEFINED(word, sizeof(w));
	memcpy(word, w, sizeof(w));
}
#endif

/*
 * Chunk contents in checking builds, shared by the context types other than
 * AllocSet (which keeps its own copies next to its fast paths): new memory
 * is filled (level 2) and undefined; everything after the requested size is
 * the sentinel (level 2) and out of bounds; freed memory is clobbered
 * (level 2) and out of bounds.
 */
#if MCXT_ASET_CHECKED
static inline void
mcxti_chunk_mark_new(char *ptr, size_t from, size_t to)
{
	MCXT_MEM_UNDEFINED(ptr + from, to - from);
#if MCXT_DEBUG >= 2
	memset(ptr + from, MCXT_NEW_BYTE, to - from);
	MCXT_MEM_UNDEFINED(ptr + from, to - from);
#endif
}

static inline void
mcxti_chunk_mark_tail(char *ptr, size_t size, size_t chunk_size)
{
#if MCXT_DEBUG >= 2
	MCXT_MEM_UNDEFINED(ptr + size, 1);
	ptr[size] = (char) MCXT_SENTINEL_BYTE;
#endif
#if MCXT_SITES
	/* every path that hands a chunk out ends here: stamp its site */
	mcxti_site_stamp(ptr + chunk_size - MCXT_SITE_ROOM);
#endif
	MCXT_MEM_NOACCESS(ptr + size, chunk_size - size);
}

/* Level 2: is the sentinel after size bytes intact?  Always true below. */
static inline bool
mcxti_sentinel_ok(const char *ptr, size_t size)
{
#if MCXT_DEBUG >= 2
	bool		ok;

	MCXT_MEM_DEFINED((void *) (ptr + size), 1);
	ok = (unsigned char) ptr[size] == MCXT_SENTINEL_BYTE;
	MCXT_MEM_NOACCESS((void *) (ptr + size), 1);
	return ok;
#else
	(void) ptr;
	(void) size;
	return true;
#endif
}

static inline void
mcxti_chunk_clobber(char *ptr, size_t n)
{
#if MCXT_DEBUG >= 2
	MCXT_MEM_UNDEFINED(ptr, n);
	memset(ptr, MCXT_FREED_BYTE, n);
#endif
	MCXT_MEM_NOACCESS(ptr, n);
}

/* Level 2: is [ptr, ptr + n) still the clobber pattern?  Always true below. */
static inline bool
mcxti_clobber_ok(const char *ptr, size_t n)
{
#if MCXT_DEBUG >= 2
	bool		ok = true;

	MCXT_MEM_DEFINED((void *) ptr, n);
	for (size_t i = 0; i < n; i++)
		if ((unsigned char) ptr[i] != MCXT_FREED_BYTE)
		{
			ok = false;
			break;
		}
	MCXT_MEM_NOACCESS((void *) ptr, n);
	return ok;
#else
	(void) ptr;
	(void) n;
	return true;
#endif
}
#endif							/* MCXT_ASET_CHECKED */

/* source.c ---------------------------------------------------------------- */

/* Blocks for contexts: from this thread's cache when possible. NULL on failure. */
void	   *mcxti_block_alloc(size_t size) MCXT_HIDDEN;
void		mcxti_block_free(void *block, size_t size) MCXT_HIDDEN;
/* Straight to the block source, bypassing the cache (odd-sized blocks). */
void	   *mcxti_source_alloc(size_t size) MCXT_HIDDEN;
void	   *mcxti_source_realloc(void *block, size_t old_size, size_t new_size) MCXT_HIDDEN;
void		mcxti_source_free(void *block, size_t size) MCXT_HIDDEN;

/* sigdump.c --------------------------------------------------------------- */

/* Requests for a dump (signals counted by the handler), and this thread's last served. */
extern uint64_t mcxti_sigdump_requests MCXT_HIDDEN;	/* __atomic builtins only */
extern MCXT_TLS uint64_t mcxti_sigdump_seen MCXT_HIDDEN;
/* Dump this thread's tree if a request is pending (never from the handler). */
void		mcxti_sigdump_run(void) MCXT_HIDDEN;

/*
 * A safe point for a requested dump: called only from slow paths (block
 * acquisition, tree operations), never from the chunk fast paths.  One
 * relaxed load and a compare when nothing is pending.
 */
/* Whether a dump has been requested that this thread has not made yet. */
static inline bool
mcxti_sigdump_pending(void)
{
	return __atomic_load_n(&mcxti_sigdump_requests, __ATOMIC_RELAXED) != mcxti_sigdump_seen;
}

static inline void
mcxti_sigdump_poll(void)
{
	if (unlikely(__atomic_load_n(&mcxti_sigdump_requests, __ATOMIC_RELAXED)
				 != mcxti_sigdump_seen))
		mcxti_sigdump_run();
}

/*
 * A block for ctx: the limits above it are asked first, so a refused block
 * never reaches the cache or the source (NULL, and mcxti_oom reports the
 * limit).  The caller charges what it got with mcxti_note_alloc.
 */
static inline void *
mcxti_ctx_block_alloc(mcxt_context *ctx, size_t size)
{
	return mcxti_limit_allows(ctx, size) ? mcxti_block_alloc(size) : NULL;
}

static inline void *
mcxti_ctx_source_alloc(mcxt_context *ctx, size_t size)
{
	return mcxti_limit_allows(ctx, size) ? mcxti_source_alloc(size) : NULL;
}

static inline void *
mcxti_ctx_source_realloc(mcxt_context *ctx, void *block, size_t old_size, size_t new_size)
{
	if (new_size > old_size && !mcxti_limit_allows(ctx, new_size - old_size))
		return NULL;
	return mcxti_source_realloc(block, old_size, new_size);
}

/* stats.c ----------------------------------------------------------------- */

/* Counters of ctx alone. */
void		mcxti_context_counters(mcxt_context *ctx, mcxt_counters_t *out) MCXT_HIDDEN;
/* s as a JSON string (null for NULL); invalid UTF-8 bytes as \u00XX. */
void		mcxti_json_string(FILE *out, const char *s) MCXT_HIDDEN;

#endif							/* MCXT_INT_H */
