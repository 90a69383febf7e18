/*
 * mcxt.c
 *	  The type-independent layer: the per-thread current and top contexts,
 *	  the process-wide registry, the context tree (create, reset, delete,
 *	  reparent), reset callbacks, error reporting, and the public allocation
 *	  entry points that dispatch on the chunk header's type id.
 *
 * Design decisions:
 *  - CurrentMemoryContext is an exported thread-local so that palloc.h can
 *    read it without a call.  The top context is created on first use.
 *  - Trees are walked without recursion (as PostgreSQL 17 does), so a deep
 *    tree cannot overflow the stack during reset or delete.
 *  - pfree/repalloc/GetMemoryChunkContext read the 8-byte header in front
 *    of the pointer and dispatch on its 4-bit type id; ids that no context
 *    type uses map to methods that report the bad pointer, which catches
 *    malloc'd and zeroed memory in every build.
 *  - Errors go through one process-wide handler; the library never returns
 *    NULL from an allocation unless the caller asked with MCXT_ALLOC_NO_OOM.
 */
#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "aset_fast.h"

/* ---- per-thread state and the registry ----------------------------------- */

MCXT_API _Thread_local mcxt_context_t *mcxt_current_context;

static MCXT_TLS mcxt_context *thread_top;
static MCXT_TLS mcxt_thread_entry *thread_entry;

/* Which memory tool the library was built for, for the registry's flavour. */
#if defined(MCXT_VALGRIND)
#define MCXT_FLAVOUR_TOOL	MCXT_FLAVOUR_VALGRIND
#elif defined(MCXT_ASAN)
#define MCXT_FLAVOUR_TOOL	MCXT_FLAVOUR_ASAN
#else
#define MCXT_FLAVOUR_TOOL	0
#endif

MCXT_API mcxt_registry_t mcxt_registry = {
	.magic = MCXT_REGISTRY_MAGIC,
	.layout_version = MCXT_LAYOUT_VERSION,
	.sizeof_context = sizeof(mcxt_context),
	.sizeof_aset = sizeof(mcxt_aset),
	.sizeof_aset_block = sizeof(mcxt_aset_block),
	.chunk_hdrsz = MCXT_CHUNK_HDRSZ,
	.flavour = (uint32_t) MCXT_DEBUG |
	(MCXT_ASET_CHECKED ? MCXT_FLAVOUR_CHECKED : 0) |
	MCXT_FLAVOUR_TOOL |
	(MCXT_SITES ? MCXT_FLAVOUR_SITES : 0) |
	((uint32_t) MCXT_TAIL_ROOM << MCXT_FLAVOUR_TAIL_SHIFT),
};

static pthread_once_t thread_key_once = PTHREAD_ONCE_INIT;
static pthread_key_t thread_key;

static void
registry_lock(void)
{
	while (__atomic_test_and_set(&mcxt_registry.lock, __ATOMIC_ACQUIRE))
		sched_yield();
}

static void
registry_unlock(void)
{
	__atomic_clear(&mcxt_registry.lock, __ATOMIC_RELEASE);
}

static void
thread_exit_cb(void *arg)
{
	(void) arg;
	mcxt_thread_cleanup();
}

static void
thread_key_create(void)
{
	if (pthread_key_create(&thread_key, thread_exit_cb) != 0)
	{
		fputs("mcxt: cannot create the thread cleanup key\n", stderr);
		abort();
	}
}

/* List this thread in the registry, so the forensics tool finds its tree. */
static void
registry_add_thread(mcxt_context *top)
{
	mcxt_thread_entry *entry = thread_entry;

	if (entry == NULL)
	{
		entry = mcxti_source_alloc(sizeof(*entry));
		if (entry == NULL)
			mcxti_error(MCXT_ERR_OOM, NULL, "out of memory: cannot register thread");
		memset(entry, 0, sizeof(*entry));
		entry->magic = MCXT_THREAD_MAGIC;
		entry->current = &mcxt_current_context;
		entry->tid = (int64_t) syscall(SYS_gettid);
		registry_lock();
		entry->next = mcxt_registry.threads;
		mcxt_registry.threads = entry;
		mcxt_registry.nthreads++;
		registry_unlock();
		thread_entry = entry;
		pthread_once(&thread_key_once, thread_key_create);
		pthread_setspecific(thread_key, entry);
	}
	entry->top = top;
}

static void
registry_remove_thread(void)
{
	mcxt_thread_entry *entry = thread_entry;

	if (entry == NULL)
		return;
	registry_lock();
	for (mcxt_thread_entry **p = &mcxt_registry.threads; *p != NULL; p = &(*p)->next)
	{
		if (*p == entry)
		{
			*p = entry->next;
			mcxt_registry.nthreads--;
			break;
		}
	}
	registry_unlock();
	entry->magic = 0;
	mcxti_source_free(entry, sizeof(*entry));
	thread_entry = NULL;
	pthread_setspecific(thread_key, NULL);
}

void
mcxt_init(void)
{
	mcxt_context *top;

	if (thread_top != NULL)
	{
		if (mcxt_current_context == NULL)
			mcxt_current_context = thread_top;
		return;
	}
	/* register first: if either step fails, nothing is left half done */
	registry_add_thread(NULL);
	top = mcxt_aset_create(NULL, "TopMemoryContext", MCXT_DEFAULT_SIZES);
	top->flags |= MCXT_CTXFLAG_TOP;
	thread_top = top;
	thread_entry->top = top;
	if (mcxt_current_context == NULL)
		mcxt_current_context = top;
}

mcxt_context_t *
mcxt_top(void)
{
	if (unlikely(thread_top == NULL))
		mcxt_init();
	return thread_top;
}

mcxt_context *
mcxti_thread_top(void)
{
	return thread_top;
}

mcxt_context_t *
mcxt_current(void)
{
	if (unlikely(mcxt_current_context == NULL))
		mcxt_init();
	return mcxt_current_context;
}

void
mcxt_thread_cleanup(void)
{
	if (thread_top != NULL)
		mcxt_delete(thread_top);	/* clears thread_top */
	mcxt_current_context = NULL;
	mcxti_aset_drop_freelists();
	mcxt_block_cache_trim();
	registry_remove_thread();
}

/* ---- errors ------------------------------------------------------------- */

static mcxt_error_handler_t error_handler = mcxt_default_error_handler;

mcxt_error_handler_t
mcxt_set_error_handler(mcxt_error_handler_t handler)
{
	mcxt_error_handler_t old = error_handler;

	error_handler = handler != NULL ? handler : mcxt_default_error_handler;
	return old;
}

void
mcxt_default_error_handler(mcxt_error_t code, mcxt_context_t *ctx, const char *message)
{
	(void) ctx;
	/* as PostgreSQL: show where the memory went before giving up */
	if (code == MCXT_ERR_OOM && thread_top != NULL)
		mcxt_stats(thread_top);
	fprintf(stderr, "mcxt: %s\n", message);
	fflush(stderr);
	abort();
}

#if MCXT_DEBUG >= 1
/* The contexts this thread has marked busy, so an error can release them. */
#define MAX_HELD 32
static MCXT_TLS char thread_token;
static MCXT_TLS mcxt_context *held[MAX_HELD];
static MCXT_TLS int nheld;

bool
mcxti_ctx_enter(mcxt_context *ctx, const char *op)
{
	uintptr_t	me = (uintptr_t) &thread_token;
	uintptr_t	expected = 0;

	if (__atomic_compare_exchange_n(&ctx->busy, &expected, me, false,
									__ATOMIC_ACQUIRE, __ATOMIC_RELAXED))
	{
		if (nheld < MAX_HELD)
			held[nheld++] = ctx;
		return true;
	}
	if (expected == me)
		return false;			/* nested on this thread: fine */
	mcxti_error(MCXT_ERR_MISUSE, ctx,
				"%s: memory context \"%s\" is being used by another thread at the same time",
				op, ctx->name != NULL ? ctx->name : "?");
}

void
mcxti_ctx_leave(mcxt_context *ctx, bool taken)
{
	if (!taken)
		return;
	__atomic_store_n(&ctx->busy, 0, __ATOMIC_RELEASE);
	for (int i = nheld - 1; i >= 0; i--)
	{
		if (held[i] == ctx)
		{
			held[i] = held[--nheld];
			break;
		}
	}
}

/* An error unwinds (or aborts): nothing this thread marked stays busy. */
static void
release_held(void)
{
	uintptr_t	me = (uintptr_t) &thread_token;

	for (int i = 0; i < nheld; i++)
		if (__atomic_load_n(&held[i]->busy, __ATOMIC_RELAXED) == me)
			__atomic_store_n(&held[i]->busy, 0, __ATOMIC_RELEASE);
	nheld = 0;
}
#else
#define release_held() ((void) 0)
#endif

void
mcxti_assert_failed(const char *cond, const char *file, int line)
{
	fprintf(stderr, "mcxt: internal assertion failed: %s (%s:%d)\n", cond, file, line);
	abort();
}

void
mcxti_error(mcxt_error_t code, mcxt_context *ctx, const char *fmt, ...)
{
	/* no allocation here: we may be out of memory */
	static MCXT_TLS char message[512];
	va_list		args;

	release_held();
#if MCXT_SITES
	mcxti_site_clear();
#endif
	va_start(args, fmt);
	vsnprintf(message, sizeof(message), fmt, args);
	va_end(args);
	error_handler(code, ctx, message);
	fprintf(stderr, "mcxt: error handler returned; aborting after: %s\n", message);
	abort();
}

void
mcxti_bad_pointer(const char *op, const void *ptr, uint64_t hdr)
{
	mcxti_unpoison_rejected(ptr);
	mcxti_error(MCXT_ERR_BAD_POINTER, NULL,
				"%s called with invalid pointer %p (header 0x%016llx)",
				op, ptr, (unsigned long long) hdr);
}

void *
mcxti_oom(mcxt_context *ctx, size_t size, int flags)
{
	/* a block refused by a subtree limit is reported as such */
	mcxti_limit_report(ctx, size, flags);
	if (flags & MCXT_ALLOC_NO_OOM)
		return NULL;
	mcxti_error(MCXT_ERR_OOM, ctx,
				"out of memory: Failed on request of size %zu in memory context \"%s\".",
				size, ctx != NULL && ctx->name != NULL ? ctx->name : "?");
}

void
mcxti_invalid_size(mcxt_context *ctx, size_t size)
{
	mcxti_error(MCXT_ERR_INVALID_SIZE, ctx, "invalid memory alloc request size %zu in memory context \"%s\"",
				size, ctx != NULL && ctx->name != NULL ? ctx->name : "?");
}

void
mcxti_check_warn(const mcxt_context *ctx, const char *fmt, ...)
{
	va_list		args;

	fprintf(stderr, "WARNING: problem in memory context \"%s\" (%p): ",
			ctx->name != NULL ? ctx->name : "?", (const void *) ctx);
	va_start(args, fmt);
	vfprintf(stderr, fmt, args);
	va_end(args);
	fputc('\n', stderr);
}

/* ---- method dispatch for unused type ids --------------------------------- */

static void *
bogus_alloc(mcxt_context *ctx, size_t size, int flags)
{
	mcxti_error(MCXT_ERR_MISUSE, NULL, "allocation in an invalid memory context %p", (void *) ctx);
}

static void
bogus_free(void *ptr, uint64_t hdr)
{
	mcxti_bad_pointer("pfree", ptr, hdr);
}

static void *
bogus_realloc(void *ptr, uint64_t hdr, size_t size, int flags)
{
	mcxti_bad_pointer("repalloc", ptr, hdr);
}

static mcxt_context *
bogus_get_chunk_context(const void *ptr, uint64_t hdr)
{
	mcxti_bad_pointer("GetMemoryChunkContext", ptr, hdr);
}

static size_t
bogus_get_chunk_space(const void *ptr, uint64_t hdr)
{
	mcxti_bad_pointer("GetMemoryChunkSpace", ptr, hdr);
}

static const mcxt_methods bogus_methods = {
	.name = "invalid",
	.alloc = bogus_alloc,
	.free_p = bogus_free,
	.realloc = bogus_realloc,
	.get_chunk_context = bogus_get_chunk_context,
	.get_chunk_space = bogus_get_chunk_space,
};

const mcxt_methods *const mcxti_methods[16] = {
	&bogus_methods, &bogus_methods, &bogus_methods, &bogus_methods,
	&bogus_methods, &bogus_methods, &bogus_methods, &bogus_methods,
	&bogus_methods,
	[MCXT_TYPE_ASET] = &mcxti_aset_methods,
	[MCXT_TYPE_GENERATION] = &mcxti_generation_methods,
	[MCXT_TYPE_SLAB] = &mcxti_slab_methods,
	[MCXT_TYPE_BUMP] = &mcxti_bump_methods,
	[MCXT_TYPE_ALIGNED] = &mcxti_aligned_methods,
	&bogus_methods, &bogus_methods,
};

/*
 * The header word in front of a user pointer.  A NULL pointer is reported
 * here, before anything is read through it; a misaligned one is read
 * (x86 and arm64 allow it) and then fails the header checks.
 */
static inline uint64_t
chunk_header(const char *op, const void *ptr)
{
	if (unlikely(ptr == NULL))
		mcxti_bad_pointer(op, ptr, 0);
	return mcxti_hdr_get((const uint64_t *) ptr - 1);
}

/* ---- allocation entry points --------------------------------------------- */

#if !MCXT_ASET_CHECKED
/*
 * A Bump allocation in release builds, where its chunks have no header: a
 * pointer bump in the active block.  A request of 0 or above the chunk
 * limit, or one that does not fit, goes to bump.c by the method.
 */
static inline void *
bump_alloc_inline(mcxt_context *ctx, size_t size)
{
	mcxt_bump  *set = (mcxt_bump *) ctx;
	mcxt_bump_block *block = set->blocks;
	char	   *p = block->freeptr;
	size_t		n = MCXT_ALIGN(size);

	if (likely(size - 1 < set->alloc_chunk_limit && (size_t) (block->endptr - p) >= n))
	{
		block->freeptr = p + n;
		return p;
	}
	return ctx->methods->alloc(ctx, size, 0);
}
#endif

void *
mcxt_alloc(mcxt_context_t *ctx, size_t size)
{
	if (likely(ctx->type == MCXT_TYPE_ASET))
		return aset_alloc_fast((mcxt_aset *) ctx, size, 0);
#if !MCXT_ASET_CHECKED
	/* read again (volatile), so that the test above stays one compare with memory */
	if (((volatile mcxt_context *) ctx)->type == MCXT_TYPE_BUMP)
		return bump_alloc_inline(ctx, size);
#endif
	return ctx->methods->alloc(ctx, size, 0);
}

void *
mcxt_alloc_zero(mcxt_context_t *ctx, size_t size)
{
	void	   *p = mcxt_alloc(ctx, size);

	memset(p, 0, size);
	return p;
}

void *
mcxt_alloc_extended(mcxt_context_t *ctx, size_t size, int flags)
{
	void	   *p;

	if (unlikely((flags & MCXT_ALLOC_HUGE) ? size > MCXT_MAX_ALLOC_HUGE_SIZE
				 : size > MCXT_MAX_ALLOC_SIZE))
		mcxti_invalid_size(ctx, size);
	if (likely(ctx->type == MCXT_TYPE_ASET))
		p = aset_alloc_fast((mcxt_aset *) ctx, size, flags);
	else
		p = ctx->methods->alloc(ctx, size, flags);
	if (p != NULL && (flags & MCXT_ALLOC_ZERO))
		memset(p, 0, size);
	return p;
}

/*
 * What mcxt_free's inline AllocSet path does not take: another type (by
 * its method), or an AllocSet chunk the fast path refused (a large chunk,
 * or a bad pointer to report).
 */
static mcxt_noinline void
free_dispatch(void *ptr, uint64_t hdr)
{
	if (mcxt_chunk_hdr_type(hdr) == MCXT_TYPE_ASET)
		mcxti_aset_free_slow(ptr, hdr);
	else
		mcxti_methods[mcxt_chunk_hdr_type(hdr)]->free_p(ptr, hdr);
}

void
mcxt_free(void *ptr)
{
	aset_free_fast(ptr, chunk_header("pfree", ptr), free_dispatch);
}

void *
mcxt_realloc_extended(void *ptr, size_t size, int flags)
{
	uint64_t	hdr = chunk_header("repalloc", ptr);

	return mcxti_methods[mcxt_chunk_hdr_type(hdr)]->realloc(ptr, hdr, size, flags);
}

void *
mcxt_realloc(void *ptr, size_t size)
{
	return mcxt_realloc_extended(ptr, size, 0);
}

mcxt_context_t *
mcxt_chunk_context(const void *ptr)
{
	uint64_t	hdr = chunk_header("GetMemoryChunkContext", ptr);

	return mcxti_methods[mcxt_chunk_hdr_type(hdr)]->get_chunk_context(ptr, hdr);
}

size_t
mcxt_chunk_space(const void *ptr)
{
	uint64_t	hdr = chunk_header("GetMemoryChunkSpace", ptr);

	return mcxti_methods[mcxt_chunk_hdr_type(hdr)]->get_chunk_space(ptr, hdr);
}

/* ---- the tree ------------------------------------------------------------ */

/*
 * Every tree operation first checks that its context is live: a deleted
 * context is caught while its memory is still ours (contexts of the
 * standard sizes are parked for reuse, so usually it is).  At level 3 the
 * whole subtree is checked before it is reset or deleted.
 */
static mcxt_noinline mcxt_noreturn void
check_live_failed(mcxt_context *ctx, const char *op)
{
	mcxti_error(MCXT_ERR_MISUSE, NULL, "%s called with an invalid (deleted?) memory context %p",
				op, (void *) ctx);
}

/* Inlined into every tree operation; the error is out of line. */
static inline __attribute__((always_inline)) void
check_live(mcxt_context *ctx, const char *op)
{
	/* a tree operation is a safe point for a dump requested by signal */
	mcxti_sigdump_poll();
	if (unlikely(ctx == NULL || ctx->magic != MCXT_CONTEXT_MAGIC))
		check_live_failed(ctx, op);
#if MCXT_DEBUG >= 3
	if (mcxt_check(ctx) != 0)
		mcxti_error(MCXT_ERR_CORRUPTION, ctx,
					"%s: memory context \"%s\" failed its check (see the warnings above)",
					op, ctx->name);
#endif
}

static void
context_link(mcxt_context *ctx, mcxt_context *parent)
{
	ctx->parent = parent;
	ctx->prevchild = NULL;
	if (parent != NULL)
	{
		ctx->nextchild = parent->firstchild;
		if (parent->firstchild != NULL)
			parent->firstchild->prevchild = ctx;
		parent->firstchild = ctx;
	}
	else
		ctx->nextchild = NULL;
}

static void
context_unlink(mcxt_context *ctx)
{
	mcxt_context *parent = ctx->parent;

	if (parent == NULL)
		return;
	if (ctx->prevchild != NULL)
		ctx->prevchild->nextchild = ctx->nextchild;
	else
		parent->firstchild = ctx->nextchild;
	if (ctx->nextchild != NULL)
		ctx->nextchild->prevchild = ctx->prevchild;
	ctx->parent = NULL;
	ctx->prevchild = NULL;
	ctx->nextchild = NULL;
}

/*
 * The end of mcxti_context_init when there is a limit to charge or a dump
 * to make, out of line so that the common case needs no stack frame.  A new
 * context takes its parent's limit, and its first allocation is charged to
 * it.
 */
static mcxt_noinline mcxt_context *
context_init_finish(mcxt_context *ctx)
{
	/* the creator checked the limits with mcxti_limit_create_check */
	if (ctx->limit != NULL)
		mcxti_limit_charge(ctx->limit, (size_t) ctx->mem_allocated);
	/*
	 * A safe point for a requested dump: the new context is complete, linked
	 * and registered with the memory tool (every creator calls
	 * mcxti_context_init last, after MCXT_POOL_CREATE).
	 */
	mcxti_sigdump_poll();
	return ctx;
}

mcxt_context *
mcxti_context_init(mcxt_context *ctx, unsigned type, const mcxt_methods *methods,
				   mcxt_context *parent, const char *name)
{
	ctx->magic = MCXT_CONTEXT_MAGIC;
	ctx->type = (uint8_t) type;
	ctx->flags = 0;
	ctx->methods = methods;
	ctx->firstchild = NULL;
	ctx->name = name;
	ctx->ident = NULL;
	ctx->reset_cbs = NULL;
	context_link(ctx, parent);
	ctx->limit = parent != NULL ? parent->limit : NULL;
	if (unlikely(ctx->limit != NULL || mcxti_sigdump_pending()))
		return context_init_finish(ctx);
	return ctx;
}

static void
run_callbacks(mcxt_context *ctx)
{
	mcxt_callback_t *cb;

	/* pop each before calling it, so it runs once even if it longjmps */
	while ((cb = ctx->reset_cbs) != NULL)
	{
		ctx->reset_cbs = cb->next;
		cb->func(cb->arg);
	}
}

/*
 * An AllocSet is reset without asking whether it is empty first: resetting
 * an empty one is as cheap as the question (it rewinds the keeper), and the
 * call is direct.
 */
static void
reset_only(mcxt_context *ctx)
{
	run_callbacks(ctx);
	if (likely(ctx->type == MCXT_TYPE_ASET))
	{
		CTX_ENTER(ctx, "MemoryContextReset");
		mcxti_aset_reset(ctx);
		CTX_LEAVE(ctx);
	}
	else if (!ctx->methods->is_empty(ctx))
	{
		CTX_ENTER(ctx, "MemoryContextReset");
		ctx->methods->reset(ctx);
		CTX_LEAVE(ctx);
	}
}

void
mcxt_reset_only(mcxt_context_t *ctx)
{
	check_live(ctx, "MemoryContextResetOnly");
	reset_only(ctx);
}

static mcxt_noinline void
reset_general(mcxt_context *ctx)
{
	check_live(ctx, "MemoryContextReset");
	if (ctx->firstchild != NULL)
		mcxt_delete_children(ctx);
	reset_only(ctx);
}

/*
 * The per-row case, a live AllocSet without children or callbacks while no
 * dump is pending, is one direct call (release builds: the checking levels
 * mark the context busy, or check it, around the reset); the rest is in
 * reset_general.
 */
void
mcxt_reset(mcxt_context_t *ctx)
{
	if (likely(MCXT_DEBUG == 0 && ctx != NULL && ctx->magic == MCXT_CONTEXT_MAGIC &&
			   ctx->type == MCXT_TYPE_ASET && !mcxti_sigdump_pending() &&
			   ctx->firstchild == NULL && ctx->reset_cbs == NULL))
	{
		mcxti_aset_reset(ctx);
		return;
	}
	reset_general(ctx);
}

void
mcxt_reset_children(mcxt_context_t *ctx)
{
	check_live(ctx, "MemoryContextResetChildren");
	for (mcxt_context *c = ctx->firstchild; c != NULL; c = mcxti_traverse_next(c, ctx))
		reset_only(c);
}

/*
 * Delete one context that has no children, no callbacks left and no limit
 * above it: fold its history into the parent, unlink it, and let its type
 * release it.
 */
static inline void
delete_unlimited(mcxt_context *ctx)
{
	mcxt_context *parent = ctx->parent;

	if (parent != NULL)
	{
		/* the parent's history keeps what its descendants ever held */
		parent->bytes_alloc += ctx->bytes_alloc;
		parent->bytes_freed += ctx->bytes_alloc;
	}
	context_unlink(ctx);
	if (unlikely(ctx == thread_top))
	{
		thread_top = NULL;
		if (thread_entry != NULL)
			thread_entry->top = NULL;
	}
	if (ctx == mcxt_current_context)
		mcxt_current_context = NULL;
	{
		/* nobody else may be inside; the mark goes before the storage does */
		CTX_ENTER(ctx, "MemoryContextDelete");
		CTX_LEAVE(ctx);
	}
	ctx->methods->delete_context(ctx);
}

/* Delete one context that has no children and no callbacks left. */
static inline void
delete_childless(mcxt_context *ctx)
{
	/* the limits above see the whole context go; its blocks follow uncharged */
	if (unlikely(ctx->limit != NULL))
		mcxti_limit_detach(ctx);
	delete_unlimited(ctx);
}

/*
 * Delete one context that has no children.  Returns false, deleting
 * nothing, if its callbacks created children: those must go first.
 */
static bool
delete_leaf(mcxt_context *ctx)
{
	run_callbacks(ctx);
	if (ctx->firstchild != NULL)
		return false;
	delete_childless(ctx);
	return true;
}

/*
 * Delete ctx and its subtree bottom-up without recursion: descend to a
 * leaf, delete it, continue from its parent.
 */
static mcxt_noinline void
delete_subtree(mcxt_context *ctx)
{
	mcxt_context *curr = ctx;

	for (;;)
	{
		mcxt_context *parent;

		while (curr->firstchild != NULL)
			curr = curr->firstchild;
		parent = curr->parent;
		if (!delete_leaf(curr))
			continue;			/* a callback made children; delete them first */
		if (curr == ctx)
			break;
		curr = parent;
	}
}

static mcxt_noinline void
delete_general(mcxt_context *ctx)
{
	check_live(ctx, "MemoryContextDelete");
	if (ctx->firstchild == NULL && ctx->reset_cbs == NULL)
	{
		/* a leaf with no callbacks: no tree walk */
		delete_childless(ctx);
		return;
	}
	delete_subtree(ctx);
}

/*
 * The common case, a live leaf with no callbacks outside any limited
 * subtree while no dump is pending (at level 3 every delete checks the
 * tree first), is taken here without a stack frame; everything else,
 * errors included, in delete_general.
 */
void
mcxt_delete(mcxt_context_t *ctx)
{
	if (likely(MCXT_DEBUG < 3 && !mcxti_sigdump_pending() && ctx != NULL &&
			   ctx->magic == MCXT_CONTEXT_MAGIC && ctx->firstchild == NULL &&
			   ctx->reset_cbs == NULL && ctx->limit == NULL))
	{
		delete_unlimited(ctx);
		return;
	}
	delete_general(ctx);
}

void
mcxt_delete_children(mcxt_context_t *ctx)
{
	check_live(ctx, "MemoryContextDeleteChildren");
	while (ctx->firstchild != NULL)
		mcxt_delete(ctx->firstchild);
}

void
mcxt_set_parent(mcxt_context_t *ctx, mcxt_context_t *new_parent)
{
	check_live(ctx, "MemoryContextSetParent");
	if (new_parent != NULL)
		check_live(new_parent, "MemoryContextSetParent");
	for (mcxt_context *p = new_parent; p != NULL; p = p->parent)
	{
		if (p == ctx)
			mcxti_error(MCXT_ERR_MISUSE, ctx,
						"cannot make memory context \"%s\" a child of itself or of its descendant \"%s\"",
						ctx->name, new_parent->name);
	}
	if (ctx->parent == new_parent)
		return;
	/* the subtree's bytes leave the old parent's limits and join the new one's */
	if (ctx->limit != NULL || (new_parent != NULL && new_parent->limit != NULL))
		mcxti_limit_move(ctx, new_parent);
	context_unlink(ctx);
	context_link(ctx, new_parent);
	mcxti_limit_after(ctx);
}

void
mcxt_set_ident(mcxt_context_t *ctx, const char *ident)
{
	ctx->ident = ident;
}

const char *
mcxt_name(const mcxt_context_t *ctx)
{
	return ctx->name;
}

const char *
mcxt_ident(const mcxt_context_t *ctx)
{
	return ctx->ident;
}

mcxt_context_t *
mcxt_parent(const mcxt_context_t *ctx)
{
	return ctx->parent;
}

const char *
mcxt_type_name(const mcxt_context_t *ctx)
{
	return ctx->methods->name;
}

void
mcxt_register_reset_callback(mcxt_context_t *ctx, mcxt_callback_t *cb)
{
	cb->next = ctx->reset_cbs;
	ctx->reset_cbs = cb;
}

bool
mcxt_unregister_reset_callback(mcxt_context_t *ctx, mcxt_callback_t *cb)
{
	for (mcxt_callback_t **p = &ctx->reset_cbs; *p != NULL; p = &(*p)->next)
	{
		if (*p == cb)
		{
			*p = cb->next;
			cb->next = NULL;
			return true;
		}
	}
	return false;
}

/* ---- accounting and checks ----------------------------------------------- */

/* As PostgreSQL: a context with children is not empty. */
bool
mcxt_is_empty(mcxt_context_t *ctx)
{
	if (ctx->firstchild != NULL)
		return false;
	return ctx->methods->is_empty(ctx);
}

size_t
mcxt_mem_allocated(mcxt_context_t *ctx, bool recurse)
{
	size_t		total = ctx->mem_allocated;

	if (recurse)
	{
		for (mcxt_context *c = ctx->firstchild; c != NULL; c = mcxti_traverse_next(c, ctx))
			total += c->mem_allocated;
	}
	return total;
}

void
mcxt_get_accounting(mcxt_context_t *ctx, bool recurse, mcxt_accounting_t *out)
{
	mcxt_context *c = ctx;

	memset(out, 0, sizeof(*out));
	while (c != NULL)
	{
		out->mem_allocated += c->mem_allocated;
		out->bytes_alloc += c->bytes_alloc;
		out->bytes_freed += c->bytes_freed;
		out->max_bytes_held += c->max_bytes_held;
		c = recurse ? mcxti_traverse_next(c, ctx) : NULL;
	}
}

void
mcxt_reset_peak(mcxt_context_t *ctx, bool recurse)
{
	mcxt_context *c = ctx;

	while (c != NULL)
	{
		c->max_bytes_held = c->mem_allocated;
		c = recurse ? mcxti_traverse_next(c, ctx) : NULL;
	}
}

/* Generic invariants of one context header (chunk.h). */
static int
check_header(mcxt_context *ctx)
{
	int			problems = 0;

	if (ctx->magic != MCXT_CONTEXT_MAGIC)
	{
		fprintf(stderr, "WARNING: memory context %p has bad magic 0x%08x\n",
				(void *) ctx, (unsigned) ctx->magic);
		return 1;
	}
	if (ctx->parent != NULL)
	{
		if ((ctx->prevchild == NULL) != (ctx->parent->firstchild == ctx))
		{
			mcxti_check_warn(ctx, "sibling links disagree with the parent's first child");
			problems++;
		}
		if (ctx->prevchild != NULL && ctx->prevchild->nextchild != ctx)
		{
			mcxti_check_warn(ctx, "previous sibling does not link back");
			problems++;
		}
	}
	if (ctx->bytes_alloc - ctx->bytes_freed != ctx->mem_allocated)
	{
		mcxti_check_warn(ctx, "bytes_alloc %llu - bytes_freed %llu != mem_allocated %llu",
						 (unsigned long long) ctx->bytes_alloc,
						 (unsigned long long) ctx->bytes_freed,
						 (unsigned long long) ctx->mem_allocated);
		problems++;
	}
	if (ctx->max_bytes_held < ctx->mem_allocated)
	{
		mcxti_check_warn(ctx, "peak %llu below current %llu",
						 (unsigned long long) ctx->max_bytes_held,
						 (unsigned long long) ctx->mem_allocated);
		problems++;
	}
	problems += mcxti_limit_check(ctx);
	for (mcxt_context *c = ctx->firstchild; c != NULL; c = c->nextchild)
	{
		if (c->parent != ctx)
		{
			mcxti_check_warn(ctx, "child %p names another parent", (void *) c);
			problems++;
			break;
		}
	}
	return problems;
}

int
mcxt_check(mcxt_context_t *ctx)
{
	int			problems = 0;

	for (mcxt_context *c = ctx; c != NULL; c = mcxti_traverse_next(c, ctx))
	{
		int			p = check_header(c);

		problems += p;
		if (p == 0 || c->magic == MCXT_CONTEXT_MAGIC)
			problems += c->methods->check(c);
	}
	return problems;
}
