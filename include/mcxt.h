/*
 * mcxt.h
 *	  libmcxt: PostgreSQL-style hierarchical memory contexts for C.
 *
 * A memory context owns every chunk allocated in it.  Contexts form a tree
 * per thread under that thread's top context; resetting a context frees all
 * its chunks at once (and deletes its children), deleting it also removes the
 * context itself.  mcxt_free() and mcxt_realloc() find the owning context
 * from the chunk alone.  See src/README.md for the design and for how this
 * differs from malloc and from PostgreSQL; include/mcxt/palloc.h offers the
 * PostgreSQL spellings (palloc, pfree, MemoryContextSwitchTo, ...).
 *
 * Errors: allocation never returns NULL unless MCXT_ALLOC_NO_OOM is given.
 * Out of memory, an invalid size, and misuse that a cheap check can see (a
 * pointer that is not a live chunk, a double free) call the error handler,
 * which by default prints a message (for out of memory, the statistics of
 * the top context first) and aborts.  A handler may longjmp out; if it
 * returns, the library aborts.
 *
 * Threads: the current and top contexts are per thread.  A context, and all
 * chunks in it, must be used by one thread at a time.
 */
#ifndef MCXT_H
#define MCXT_H

#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#ifdef __cplusplus
extern "C" {
#endif

#if defined(__GNUC__)
#define MCXT_API __attribute__((visibility("default")))
#define MCXT_PRINTF(f, a) __attribute__((format(printf, f, a)))
#define MCXT_MALLOC __attribute__((malloc))
#else
#define MCXT_API
#define MCXT_PRINTF(f, a)
#define MCXT_MALLOC
#endif

#define MCXT_VERSION_MAJOR 0
#define MCXT_VERSION_MINOR 1
#define MCXT_VERSION_PATCH 0

typedef struct mcxt_context mcxt_context_t;

/* Allocation flags (same values as PostgreSQL's MCXT_ALLOC_*). */
#define MCXT_ALLOC_HUGE		0x01	/* allow sizes above MCXT_MAX_ALLOC_SIZE */
#define MCXT_ALLOC_NO_OOM	0x02	/* return NULL instead of calling the handler */
#define MCXT_ALLOC_ZERO		0x04	/* zero the memory */

#define MCXT_MAX_ALLOC_SIZE ((size_t) 0x3fffffff)	/* 1 GB - 1 */
#define MCXT_MAX_ALLOC_HUGE_SIZE (SIZE_MAX / 2)

/* Block size presets for mcxt_aset_create (min_context_size, init, max). */
#define MCXT_DEFAULT_MINSIZE	0
#define MCXT_DEFAULT_INITSIZE	(8 * 1024)
#define MCXT_DEFAULT_MAXSIZE	(8 * 1024 * 1024)
#define MCXT_SMALL_MINSIZE		0
#define MCXT_SMALL_INITSIZE		(1 * 1024)
#define MCXT_SMALL_MAXSIZE		(8 * 1024)
#define MCXT_DEFAULT_SIZES	MCXT_DEFAULT_MINSIZE, MCXT_DEFAULT_INITSIZE, MCXT_DEFAULT_MAXSIZE
#define MCXT_SMALL_SIZES	MCXT_SMALL_MINSIZE, MCXT_SMALL_INITSIZE, MCXT_SMALL_MAXSIZE
#define MCXT_START_SMALL_SIZES MCXT_SMALL_MINSIZE, MCXT_SMALL_INITSIZE, MCXT_DEFAULT_MAXSIZE

/* ---- the current and top context ---------------------------------------- */

/*
 * The calling thread's current context.  NULL until the thread first uses
 * the library; mcxt_current() initialises lazily and never returns NULL.
 * Exported so that palloc.h can read and assign it without a call.
 */
extern MCXT_API _Thread_local mcxt_context_t *mcxt_current_context;

/* Create the calling thread's top context if needed; idempotent. */
MCXT_API void mcxt_init(void);
/* The calling thread's top context ("TopMemoryContext"), created lazily. */
MCXT_API mcxt_context_t *mcxt_top(void);
/* The calling thread's current context, created lazily (the top context). */
MCXT_API mcxt_context_t *mcxt_current(void);

/* Make ctx current; returns the previous current context. */
static inline mcxt_context_t *
mcxt_switch_to(mcxt_context_t *ctx)
{
	mcxt_context_t *old = mcxt_current_context;

	mcxt_current_context = ctx;
	return old;
}

/*
 * Delete the calling thread's whole tree (top context included), empty its
 * recycled-context lists and block cache, and unregister the thread.  Runs
 * automatically when a thread that used the library exits; call it from the
 * main thread before exit to free everything.  The library can be used
 * again afterwards (a new top context is created lazily).
 */
MCXT_API void mcxt_thread_cleanup(void);

/* ---- creating and destroying contexts ----------------------------------- */

/*
 * Create an AllocSet context under parent.  parent NULL makes a root with no
 * parent, as in PostgreSQL (use mcxt_top() for the thread's top context; a
 * root is not listed in the registry, so the forensics tool only finds it
 * when something reachable points to it).  name must stay valid for the
 * context's lifetime (use a string literal).
 * min_context_size sizes the first block (0: init_block_size); blocks then
 * double from init_block_size up to max_block_size.  Sizes are rounded to
 * the alignment; init >= 1024 and max >= init are enforced (a bad
 * combination is a misuse error).  Never returns NULL.
 */
MCXT_API mcxt_context_t *mcxt_aset_create(mcxt_context_t *parent, const char *name,
										  size_t min_context_size,
										  size_t init_block_size,
										  size_t max_block_size);

/* Free all chunks; delete all children.  The context stays usable. */
MCXT_API void mcxt_reset(mcxt_context_t *ctx);
/* Free all chunks of ctx itself; children are left alone. */
MCXT_API void mcxt_reset_only(mcxt_context_t *ctx);
/* Reset every descendant of ctx (not ctx itself); none is deleted. */
MCXT_API void mcxt_reset_children(mcxt_context_t *ctx);
/* Delete ctx and all its descendants; pointers into them become invalid. */
MCXT_API void mcxt_delete(mcxt_context_t *ctx);
/* Delete every descendant of ctx; ctx itself stays. */
MCXT_API void mcxt_delete_children(mcxt_context_t *ctx);
/*
 * Move ctx (with its subtree) under new_parent, or make it a root with NULL.
 * Moving a context under itself or one of its descendants is a misuse error.
 */
MCXT_API void mcxt_set_parent(mcxt_context_t *ctx, mcxt_context_t *new_parent);
/* Attach an identifier shown after the name in statistics (not copied). */
MCXT_API void mcxt_set_ident(mcxt_context_t *ctx, const char *ident);

MCXT_API const char *mcxt_name(const mcxt_context_t *ctx);
MCXT_API const char *mcxt_ident(const mcxt_context_t *ctx);
MCXT_API mcxt_context_t *mcxt_parent(const mcxt_context_t *ctx);
/* "AllocSet", "Generation", "Slab" or "Bump". */
MCXT_API const char *mcxt_type_name(const mcxt_context_t *ctx);

/* ---- reset callbacks ---------------------------------------------------- */

typedef void (*mcxt_callback_fn)(void *arg);

/*
 * A callback runs once, just before the next reset or delete of its
 * context: newest first, children's before their parent's.  The caller
 * owns the struct (usually allocated in the same context) and must keep it
 * alive until it runs or is unregistered.
 */
typedef struct mcxt_callback
{
	mcxt_callback_fn func;
	void	   *arg;
	struct mcxt_callback *next;
} mcxt_callback_t;

MCXT_API void mcxt_register_reset_callback(mcxt_context_t *ctx, mcxt_callback_t *cb);
/* Remove a registered callback that has not run; returns false if absent. */
MCXT_API bool mcxt_unregister_reset_callback(mcxt_context_t *ctx, mcxt_callback_t *cb);

/* ---- allocation --------------------------------------------------------- */

MCXT_API MCXT_MALLOC void *mcxt_alloc(mcxt_context_t *ctx, size_t size);
MCXT_API MCXT_MALLOC void *mcxt_alloc_zero(mcxt_context_t *ctx, size_t size);
MCXT_API MCXT_MALLOC void *mcxt_alloc_extended(mcxt_context_t *ctx, size_t size, int flags);
/* Free a chunk.  NULL is an error, as in PostgreSQL. */
MCXT_API void mcxt_free(void *ptr);
/* Resize a chunk within its own context; the old pointer is invalid after. */
MCXT_API void *mcxt_realloc(void *ptr, size_t size);
/* As mcxt_realloc; with MCXT_ALLOC_NO_OOM a failure returns NULL and ptr stays valid. */
MCXT_API void *mcxt_realloc_extended(void *ptr, size_t size, int flags);

MCXT_API char *mcxt_strdup(mcxt_context_t *ctx, const char *s);
MCXT_API char *mcxt_strndup(mcxt_context_t *ctx, const char *s, size_t n);
MCXT_API char *mcxt_sprintf(mcxt_context_t *ctx, const char *fmt, ...) MCXT_PRINTF(2, 3);
MCXT_API char *mcxt_vsprintf(mcxt_context_t *ctx, const char *fmt, va_list args) MCXT_PRINTF(2, 0);
/*
 * PostgreSQL's pvsnprintf: format into buf of len bytes.  Returns the
 * number of bytes written (without the NUL) if it fit, otherwise the buffer
 * size needed to hold the result (always > len).
 */
MCXT_API size_t mcxt_vsnprintf(char *buf, size_t len, const char *fmt, va_list args) MCXT_PRINTF(3, 0);

/* ---- chunks ------------------------------------------------------------- */

/* The context owning a live chunk (O(1), from the chunk header). */
MCXT_API mcxt_context_t *mcxt_chunk_context(const void *ptr);
/* Bytes the chunk occupies in its context, header included. */
MCXT_API size_t mcxt_chunk_space(const void *ptr);

/* ---- statistics and accounting ------------------------------------------ */

/* PostgreSQL's MemoryContextCounters. */
typedef struct mcxt_counters
{
	size_t		nblocks;
	size_t		freechunks;
	size_t		totalspace;
	size_t		freespace;
} mcxt_counters_t;

/* Greenplum-style accounting of one context, or of a subtree. */
typedef struct mcxt_accounting
{
	uint64_t	mem_allocated;	/* bytes of blocks held now */
	uint64_t	bytes_alloc;	/* cumulative bytes obtained */
	uint64_t	bytes_freed;	/* cumulative bytes given back */
	uint64_t	max_bytes_held; /* peak (for a subtree: the sum of peaks, an upper bound) */
} mcxt_accounting_t;

/* True if nothing was allocated since creation or the last reset, and no children (as PostgreSQL). */
MCXT_API bool mcxt_is_empty(mcxt_context_t *ctx);
/* Bytes of blocks held by ctx (and its descendants if recurse). */
MCXT_API size_t mcxt_mem_allocated(mcxt_context_t *ctx, bool recurse);
/* Totals of the context's own statistics (and its descendants' if recurse). */
MCXT_API void mcxt_mem_consumed(mcxt_context_t *ctx, bool recurse, mcxt_counters_t *out);
MCXT_API void mcxt_get_accounting(mcxt_context_t *ctx, bool recurse, mcxt_accounting_t *out);
/* Restart peak tracking of ctx (and descendants if recurse) at the current size. */
MCXT_API void mcxt_reset_peak(mcxt_context_t *ctx, bool recurse);

/*
 * Print statistics in PostgreSQL's MemoryContextStats format to out (NULL:
 * stderr): one line per context, indented two spaces per level, at most
 * max_level levels and max_children children per parent (the rest summed
 * in a "N more child contexts containing ..." line), then "Grand total".
 * A context with a limit of its own gets "; limit H hard, S soft, X held"
 * after its counters (before the identifier).
 */
MCXT_API void mcxt_stats_print(mcxt_context_t *ctx, int max_level, int max_children, FILE *out);
/* mcxt_stats_print(ctx, 100, 100, stderr), as MemoryContextStats. */
MCXT_API void mcxt_stats(mcxt_context_t *ctx);
/*
 * Write the subtree's statistics as one JSON object:
 * {"contexts": [{name, ident, type, level, parent, path, total_bytes,
 *   total_nblocks, free_bytes, free_chunks, used_bytes, mem_allocated,
 *   bytes_alloc, bytes_freed, max_bytes_held}, ...], "grand_total": {...}}
 * A context with a limit of its own (mcxt_set_limit) also has "limit":
 * {hard, soft, held, peak, soft_crossings, hard_refusals}.
 * Levels start at 0 at ctx; path lists breadth-first ids from ctx down.
 * Returns 0, or -1 if writing failed.
 */
MCXT_API int mcxt_stats_json(mcxt_context_t *ctx, FILE *out);

/*
 * Walk the subtree checking every invariant in src/chunk.h (block lists,
 * chunk headers, freelists, accounting, tree links).  Each problem is
 * reported as a warning on stderr naming the context and address; returns
 * the number of problems found.
 */
MCXT_API int mcxt_check(mcxt_context_t *ctx);

/* ---- snapshots, growth and dumps on request ------------------------------ */

/*
 * A snapshot: the statistics and accounting of a subtree at one moment, in
 * an object of its own (malloc'd, never in a context, so taking one changes
 * nothing it measures).  Contexts are keyed by their path of names from the
 * snapshot's root ("TopMemoryContext/CacheMemoryContext"); contexts with
 * the same path (siblings of the same name) are summed into one entry.  A
 * '/' or '%' inside a name is written %2F or %25.  In a library built with
 * MCXT_SITES the snapshot also holds the live bytes and chunks of every
 * allocation site in the subtree.
 */
typedef struct mcxt_snapshot mcxt_snapshot_t;

/* One path of a snapshot (summed over the contexts that share it). */
typedef struct mcxt_snapshot_entry
{
	const char *path;			/* owned by the snapshot */
	const char *type;			/* "AllocSet", ...; of the first context seen */
	int			level;			/* 0: the snapshot's root */
	size_t		ncontexts;		/* contexts with this path */
	mcxt_counters_t counters;	/* as mcxt_mem_consumed(ctx, false, ...) */
	mcxt_accounting_t accounting;	/* as mcxt_get_accounting(ctx, false, ...) */
} mcxt_snapshot_entry_t;

/* One allocation site of a snapshot (MCXT_SITES builds). */
typedef struct mcxt_snapshot_site
{
	const char *file;			/* owned by the snapshot */
	const char *func;
	int			line;
	uint64_t	chunks;			/* live chunks allocated there */
	uint64_t	bytes;			/* their requested sizes */
	uint64_t	space;			/* what they take in their blocks, headers included */
} mcxt_snapshot_site_t;

/*
 * Capture ctx and its descendants: one pass over the subtree, the same work
 * as mcxt_stats_print without the printing.  ctx must be live (misuse error
 * otherwise) and, like any context, not in use by another thread meanwhile;
 * if malloc fails, the error handler gets MCXT_ERR_OOM.  Free the result
 * with mcxt_snapshot_free (NULL is accepted there).  Snapshots are
 * independent objects: any thread may diff or free them.
 */
MCXT_API mcxt_snapshot_t *mcxt_snapshot(mcxt_context_t *ctx);
MCXT_API void mcxt_snapshot_free(mcxt_snapshot_t *snap);
/* Entries sorted by path; index < mcxt_snapshot_count(snap). */
MCXT_API size_t mcxt_snapshot_count(const mcxt_snapshot_t *snap);
MCXT_API const mcxt_snapshot_entry_t *mcxt_snapshot_entry(const mcxt_snapshot_t *snap, size_t i);
/* The entry with this path, or NULL. */
MCXT_API const mcxt_snapshot_entry_t *mcxt_snapshot_find(const mcxt_snapshot_t *snap,
														 const char *path);
/* Sites, largest space first; 0 unless the library is built with MCXT_SITES. */
MCXT_API size_t mcxt_snapshot_site_count(const mcxt_snapshot_t *snap);
MCXT_API const mcxt_snapshot_site_t *mcxt_snapshot_site(const mcxt_snapshot_t *snap, size_t i);

/* mcxt_snapshot_diff flags */
#define MCXT_DIFF_JSON		0x01	/* JSON instead of text */
#define MCXT_DIFF_ALL		0x02	/* list unchanged contexts and sites too */

/*
 * Write what changed from snapshot a to snapshot b: per path, the growth of
 * used bytes, total bytes, blocks and contexts, largest growth of used bytes
 * first (shrinking ones last), contexts that appeared ("new") or went away
 * ("removed"); then the same per allocation site when the snapshots have
 * sites.  a may be NULL (everything in b is new).  out NULL: stderr.
 * Returns 0, or -1 if writing failed.  Bad arguments are misuse errors.
 */
MCXT_API int mcxt_snapshot_diff(const mcxt_snapshot_t *a, const mcxt_snapshot_t *b, int flags,
								FILE *out);
/* The same into a malloc'd string (free() it); NULL if memory ran out. */
MCXT_API char *mcxt_snapshot_diff_string(const mcxt_snapshot_t *a, const mcxt_snapshot_t *b,
										 int flags);

/*
 * Dump on request.  After this, signal signo makes every thread that uses
 * the library append the statistics of its own tree (its top context; and
 * the sites report in MCXT_SITES builds) to path ("-": stderr), headed by a
 * line with the time, pid, thread id and signal, at its next safe point:
 * the next slow-path call into the library (a new block, a large chunk, a
 * context created, reset or deleted, or mcxt_check_signal).  The handler
 * itself only counts the signal.  Signals that arrive before a thread's
 * next safe point give one dump.  The handler replaces whatever the program
 * had for signo; calling this again replaces the path, and with another
 * signal gives the first one its previous action back.  signo must be a signal a handler can catch and that is not a
 * fault (not SIGKILL, SIGSTOP, SIGSEGV, SIGBUS, SIGFPE, SIGILL); path must
 * be non-empty and shorter than 4096 bytes: otherwise a misuse error.
 */
MCXT_API void mcxt_stats_on_signal(int signo, const char *path);
/*
 * A safe point: if a dump was requested since this thread's last one,
 * dump now.  For loops that could otherwise be served from freelists for a
 * long time; costs one load and a compare when nothing is pending.
 */
MCXT_API void mcxt_check_signal(void);

/* ---- subtree memory limits ---------------------------------------------- */

/*
 * Called when the block bytes held by a limited context's subtree rise above
 * its soft limit: once per upward crossing, again only after the subtree has
 * fallen back to the soft limit or below.  ctx is the limited context, held
 * what its subtree holds now.  It runs inside the allocation (or context
 * creation, reparent, mcxt_set_limit) that crossed, after that operation's
 * block is in place: it may allocate (anywhere, the limited subtree
 * included), read statistics, and change or remove limits, but must not
 * reset or delete a context of the limited subtree.  It may longjmp.
 */
typedef void (*mcxt_limit_callback_fn)(mcxt_context_t *ctx, size_t held, size_t soft_limit,
									   void *arg);

/*
 * Limit the block bytes held by ctx and all its descendants (the sum of
 * their mcxt_mem_allocated).  hard_bytes: obtaining a block that would take
 * the subtree above it fails as if the system were out of memory (the error
 * handler with MCXT_ERR_OOM and a message naming ctx and its limit, or NULL
 * with MCXT_ALLOC_NO_OOM); creating a context, or moving one in with
 * mcxt_set_parent, is refused the same way.  soft_bytes: soft_callback(ctx,
 * held, soft_bytes, arg) on each upward crossing (NULL: crossings are only
 * counted); if the subtree already holds more, it runs before this returns.
 * 0 means no limit; both 0 removes ctx's limit.  Calling it again replaces
 * ctx's limits.  Limits nest: every limit above a context holds as well.
 * Limits are checked only when a block is obtained or given back, never per
 * chunk.  Returns false, changing nothing, if the subtree already holds
 * more than hard_bytes.  soft_bytes above a nonzero hard_bytes is a misuse
 * error.  A limited subtree must be used by one thread at a time.
 */
MCXT_API bool mcxt_set_limit(mcxt_context_t *ctx, size_t hard_bytes, size_t soft_bytes,
							 mcxt_limit_callback_fn soft_callback, void *arg);

/* A context's own limit, as mcxt_get_limit reports it. */
typedef struct mcxt_limit_info
{
	size_t		hard;			/* bytes; 0: none */
	size_t		soft;			/* bytes; 0: none */
	size_t		held;			/* block bytes of the subtree now */
	size_t		peak;			/* the highest held since the limit was set */
	uint64_t	soft_crossings; /* upward crossings of soft */
	uint64_t	hard_refusals;	/* blocks (and moves, creations) refused by hard */
} mcxt_limit_info_t;

/*
 * Fill *out with ctx's own limit and return true; false if ctx has no limit
 * of its own (then only out->held is set: what the subtree holds).
 */
MCXT_API bool mcxt_get_limit(mcxt_context_t *ctx, mcxt_limit_info_t *out);

/* The nearest context at or above ctx that has a limit, or NULL. */
MCXT_API mcxt_context_t *mcxt_limited_ancestor(mcxt_context_t *ctx);

/* ---- other context types (see src/README.md for when to use which) ------- */

/*
 * Create a Generation context: for chunks with similar lifetimes, freed
 * roughly in the order they were allocated (queues, buffered rows).  Chunks
 * are carved one after the other with no size rounding; freed space is not
 * reused until every chunk of its block is freed, then the whole block is
 * (one emptied block is kept for reuse, the rest given back).  Requests
 * above max_block_size / 8 get a block of their own.  Sizes as for
 * mcxt_aset_create; bad ones are a misuse error.  Never returns NULL.
 */
MCXT_API mcxt_context_t *mcxt_generation_create(mcxt_context_t *parent, const char *name,
												size_t min_context_size,
												size_t init_block_size,
												size_t max_block_size);

/*
 * Create a Slab context: every allocation in it must be exactly chunk_size
 * bytes (anything else is a misuse error), and blocks are block_size bytes.
 * Allocation fills the fullest blocks first so that sparse ones drain and
 * are given back; up to 10 completely free blocks are kept for reuse.
 * repalloc may keep or shrink a chunk's size but never grow it (misuse
 * error).  chunk_size < 1 GB, block_size <= 1 GB and large enough for one
 * chunk with its header.  Never returns NULL.
 */
MCXT_API mcxt_context_t *mcxt_slab_create(mcxt_context_t *parent, const char *name,
										  size_t block_size, size_t chunk_size);

/*
 * Create a Bump context: the densest packing (no chunk header in release
 * builds), for chunks that are all freed together by a reset or delete.
 * mcxt_free, mcxt_realloc, mcxt_chunk_context and mcxt_chunk_space must not
 * be called on its chunks: checking builds (MCXT_DEBUG >= 1, memory tools)
 * refuse them with MCXT_ERR_MISUSE, release builds cannot tell and the
 * outcome is undefined.  Sizes as for mcxt_aset_create.  Never returns NULL.
 */
MCXT_API mcxt_context_t *mcxt_bump_create(mcxt_context_t *parent, const char *name,
										  size_t min_context_size,
										  size_t init_block_size,
										  size_t max_block_size);

/*
 * Allocate size bytes in ctx at an address that is a multiple of alignto (a
 * power of two, at most 64 MB; anything else is a misuse error).  The
 * pointer can be passed to mcxt_free, mcxt_realloc (which keeps the
 * alignment), mcxt_chunk_context and mcxt_chunk_space like any other.  It
 * costs up to alignto + 8 extra bytes.  flags as for mcxt_alloc_extended.
 * Not supported in a Slab context (misuse error); in a Bump context the
 * pointer cannot be freed, as any bump chunk.
 */
MCXT_API MCXT_MALLOC void *mcxt_alloc_aligned(mcxt_context_t *ctx, size_t size, size_t alignto,
											  int flags);

/* ---- allocation sites (MCXT_SITES builds) -------------------------------- */

/*
 * A call site, as the allocation macros below record it: one static
 * descriptor per call site, made by MCXT_SITE_HERE.  The library gives it
 * a small id the first time it is used (id 0 until then) and copies file,
 * func and line into its site table, which the forensics tool reads.
 */
typedef struct mcxt_site
{
	const char *file;
	const char *func;
	int			line;
	uint32_t	id;				/* set by the library; 0 = not interned yet */
} mcxt_site_t;

/* Live chunks of one site in a context (tree), as mcxt_sites_foreach reports them. */
typedef struct mcxt_site_stats
{
	uint32_t	id;				/* 0: chunks allocated without a site (see below) */
	const char *file;			/* "(unknown)" for id 0 */
	const char *func;
	int			line;
	uint64_t	chunks;			/* live chunks */
	uint64_t	bytes;			/* the sizes they were requested with */
	uint64_t	space;			/* what they take in their blocks, headers included */
} mcxt_site_stats_t;

typedef void (*mcxt_site_fn) (const mcxt_site_stats_t *site, void *arg);

/* True if this library records allocation sites (built with MCXT_SITES). */
MCXT_API bool mcxt_sites_enabled(void);

/*
 * Call fn once for every site that has live chunks in ctx (and its
 * descendants if recurse), in site-id order, with their totals; site 0
 * collects chunks allocated without a site (by code compiled without
 * MCXT_SITES, or through a function pointer).  Nothing is allocated from a
 * context, and fn must not allocate in or free from the contexts walked.
 * Returns the number of sites reported, or -1 if the library is not a
 * sites build (fn is then never called) or memory for the per-site
 * counters could not be had.  This is the contract the snapshot code
 * relies on: totals are exact for the moment of the call.
 */
MCXT_API int mcxt_sites_foreach(mcxt_context_t *ctx, bool recurse, mcxt_site_fn fn, void *arg);

/*
 * The sites of ctx (and its descendants if recurse), largest live bytes
 * first, at most max_sites lines (0: all) and a total, as text to out (NULL:
 * stderr).  Returns 0, or -1 if not a sites build or writing failed.
 */
MCXT_API int mcxt_sites_report(mcxt_context_t *ctx, bool recurse, int max_sites, FILE *out);
/*
 * The same as one JSON object: {"context": name, "recurse": bool,
 * "sites": [{id, file, line, func, chunks, bytes, space}, ...],
 * "total": {chunks, bytes, space}}, sites largest bytes first.
 */
MCXT_API int mcxt_sites_json(mcxt_context_t *ctx, bool recurse, FILE *out);

/*
 * The site of a live chunk (of any context type; an aligned pointer
 * answers for its real chunk; space is the chunk's, header included).
 * Returns false, with *out zeroed, if the library is not a sites build or
 * the chunk's site word is not intact (a Bump chunk alone in its block
 * cannot be sized from its pointer: false too).  A pointer that is not a
 * live chunk is reported as mcxt_chunk_space reports it.  chunks and bytes
 * of *out are left 0.
 */
MCXT_API bool mcxt_chunk_site(const void *ptr, mcxt_site_stats_t *out);

#if defined(MCXT_SITES) && MCXT_SITES && !defined(MCXT_NO_SITE_MACROS)
/*
 * In a program compiled with MCXT_SITES (the CMake targets of a sites
 * library export it), every allocating call below, and every palloc.h
 * spelling built on them, names its call site for the duration of the
 * call.  A program compiled so must link a sites build of the library
 * (mcxt_site_pending exists only there): a mismatch is a link error, not
 * silent loss of sites.
 */
extern MCXT_API _Thread_local mcxt_site_t *mcxt_site_pending;

#define MCXT_SITE_HERE \
	(__extension__ ({ static mcxt_site_t mcxt_site_ = {__FILE__, __func__, __LINE__, 0}; &mcxt_site_; }))
/*
 * Run call with the site set, restoring the previous one (nested calls).
 * The temporaries are named with __COUNTER__, unique per expansion: a call
 * nested in another's arguments, palloc(strlen(pstrdup(x))), would
 * otherwise declare the same names inside their own scope, which -Wshadow
 * reports in the user's code.  Two levels, so that __COUNTER__ is expanded
 * before it is pasted.
 */
#define MCXT_SITE_CALL(type, call)	MCXT_SITE_CALL_(type, call, __COUNTER__)
#define MCXT_SITE_CALL_(type, call, n)	MCXT_SITE_CALL__(type, call, n)
#define MCXT_SITE_CALL__(type, call, n) \
	(__extension__ ({ mcxt_site_t *mcxt_site_prev_##n = mcxt_site_pending; \
		mcxt_site_pending = MCXT_SITE_HERE; \
		type mcxt_site_ret_##n = (call); \
		mcxt_site_pending = mcxt_site_prev_##n; \
		mcxt_site_ret_##n; }))

#define mcxt_alloc(ctx, size)			MCXT_SITE_CALL(void *, mcxt_alloc((ctx), (size)))
#define mcxt_alloc_zero(ctx, size)		MCXT_SITE_CALL(void *, mcxt_alloc_zero((ctx), (size)))
#define mcxt_alloc_extended(ctx, size, flags) \
	MCXT_SITE_CALL(void *, mcxt_alloc_extended((ctx), (size), (flags)))
#define mcxt_realloc(ptr, size)			MCXT_SITE_CALL(void *, mcxt_realloc((ptr), (size)))
#define mcxt_realloc_extended(ptr, size, flags) \
	MCXT_SITE_CALL(void *, mcxt_realloc_extended((ptr), (size), (flags)))
#define mcxt_strdup(ctx, s)				MCXT_SITE_CALL(char *, mcxt_strdup((ctx), (s)))
#define mcxt_strndup(ctx, s, n)			MCXT_SITE_CALL(char *, mcxt_strndup((ctx), (s), (n)))
#define mcxt_sprintf(ctx, ...)			MCXT_SITE_CALL(char *, mcxt_sprintf((ctx), __VA_ARGS__))
#define mcxt_vsprintf(ctx, fmt, args)	MCXT_SITE_CALL(char *, mcxt_vsprintf((ctx), (fmt), (args)))
#define mcxt_alloc_aligned(ctx, size, alignto, flags) \
	MCXT_SITE_CALL(void *, mcxt_alloc_aligned((ctx), (size), (alignto), (flags)))
#endif

/* ---- errors ------------------------------------------------------------- */

typedef enum mcxt_error
{
	MCXT_ERR_OOM = 1,			/* the block source failed */
	MCXT_ERR_INVALID_SIZE,		/* request above the size limit */
	MCXT_ERR_BAD_POINTER,		/* not a live chunk (foreign, interior, freed) */
	MCXT_ERR_MISUSE,			/* bad argument, e.g. a cycle in set_parent */
	MCXT_ERR_CORRUPTION			/* checking builds: a write past a chunk's end or after pfree */
} mcxt_error_t;

/*
 * Called on every error with a complete one-line message.  ctx is the
 * context involved, when known.  May longjmp; if it returns, the library
 * aborts.
 */
typedef void (*mcxt_error_handler_t)(mcxt_error_t code, mcxt_context_t *ctx,
									 const char *message);

/* Install a handler (NULL: the default); returns the previous one.  Process-wide. */
MCXT_API mcxt_error_handler_t mcxt_set_error_handler(mcxt_error_handler_t handler);
/* The default: for MCXT_ERR_OOM print the top context's statistics; then print message; abort. */
MCXT_API void mcxt_default_error_handler(mcxt_error_t code, mcxt_context_t *ctx, const char *message);

/* ---- the block source --------------------------------------------------- */

/*
 * Where contexts get their blocks.  The default uses malloc/realloc/free.
 * Set it only while no context exists (before first use, or after every
 * thread's mcxt_thread_cleanup); it is process-wide and must be
 * thread-safe.  alloc/realloc return NULL on failure.
 */
typedef struct mcxt_block_source
{
	void	   *(*alloc) (size_t size, void *arg);
	void	   *(*realloc) (void *block, size_t old_size, size_t new_size, void *arg);
	void		(*free) (void *block, size_t size, void *arg);
	void	   *arg;
} mcxt_block_source_t;

MCXT_API void mcxt_set_block_source(const mcxt_block_source_t *source);

/* Blocks (and bytes) obtained from the block source and not yet given back. */
typedef struct mcxt_block_stats
{
	uint64_t	live_blocks;
	uint64_t	live_bytes;
	uint64_t	cached_blocks;	/* of those, held in this thread's block cache */
	uint64_t	cached_bytes;
} mcxt_block_stats_t;

MCXT_API void mcxt_block_stats(mcxt_block_stats_t *out);

/*
 * Fault injection at the block source, for tests: make the nth request
 * for memory from now on (1 = the next one) fail, and with repeat every
 * request after it too; 0 turns it off.  Requests served by the block
 * cache are not requests to the source: set the cache limit to 0 to see
 * every one.  mcxt_fault_requests() counts the requests since the last
 * mcxt_fault_inject call.  Process-wide.
 */
MCXT_API void mcxt_fault_inject(uint64_t nth, bool repeat);
MCXT_API uint64_t mcxt_fault_requests(void);

/*
 * Per-thread cache of freed blocks, so that reset-heavy code does not give
 * memory back to malloc (and the kernel) only to fault it in again.
 * Default limit: 32 MB per thread.  trim gives every cached block back.
 */
MCXT_API void mcxt_block_cache_set_limit(size_t bytes);
MCXT_API void mcxt_block_cache_trim(void);

#ifdef __cplusplus
}
#endif

#endif							/* MCXT_H */
