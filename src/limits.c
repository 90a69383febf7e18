/*
 * limits.c
 *	  Subtree memory limits: a hard cap on the block bytes a context and its
 *	  descendants hold, and a soft threshold that calls back once per upward
 *	  crossing.
 *
 * PostgreSQL bounds memory per operation (work_mem) and has nothing per
 * query or per subtree; Greenplum needed a process-wide vmem tracker for
 * that.  Here a limit is a small record (struct mcxt_limit, chunk.h) owned
 * by one context.  Every context caches a pointer to the nearest limit at or
 * above it, so:
 *
 *  - in a tree without limits the pointer is NULL and the block paths pay
 *    one predictable branch; the chunk fast paths pay nothing, since limits
 *    are only looked at when a block is obtained or given back;
 *  - in a limited subtree, obtaining a block first asks every limit on the
 *    chain (this one, up, up->up ...) whether it fits under its hard limit,
 *    and only then goes to the block cache or source, so a refused block
 *    leaves every counter as it was; the accounting (mcxti_note_alloc) then
 *    charges the chain, and mcxti_note_free uncharges it.
 *
 * Soft crossings are only marked while a block is charged; the callbacks run
 * from mcxti_limit_after() at the end of the operation, when the chunk has
 * been handed out and the context is consistent again, so a callback may
 * allocate, even in the subtree that crossed.
 *
 * Setting or removing a limit, and moving a subtree between limited parents,
 * rewrite the cached pointers of the subtree: O(subtree), rare operations.
 * Like the rest of the library, a limit is not thread-safe: the subtree it
 * covers must be used by one thread at a time.
 */
#include <stdio.h>

#include "mcxt_int.h"

/*
 * The last block this thread's limits refused: mcxti_oom reports it in the
 * error message.  Set by mcxti_limit_allows_slow when it refuses, cleared
 * when a later block of a limited context is allowed and whenever it is
 * reported, so a stale refusal cannot decorate a real out-of-memory error.
 */
typedef struct limit_refusal
{
	mcxt_context *ctx;			/* the context that asked; NULL: none */
	mcxt_limit *limit;			/* the limit that refused */
	const char *owner_name;
	uint64_t	hard;
	uint64_t	held;
	size_t		bytes;
} limit_refusal;

static MCXT_TLS limit_refusal refusal;

static const char *
ctx_name(const mcxt_context *ctx)
{
	return ctx != NULL && ctx->name != NULL ? ctx->name : "?";
}

/* The first limit on l's chain that bytes more would take over its hard limit. */
static mcxt_limit *
limit_refuser(mcxt_limit *l, uint64_t bytes)
{
	for (; l != NULL; l = l->up)
		if (l->hard != 0 && (l->held + bytes > l->hard || l->held + bytes < l->held))
			return l;
	return NULL;
}

bool
mcxti_limit_allows_slow(mcxt_context *ctx, size_t bytes)
{
	mcxt_limit *l = limit_refuser(ctx->limit, bytes);

	if (l == NULL)
	{
		refusal.ctx = NULL;
		return true;
	}
	refusal.ctx = ctx;
	refusal.limit = l;
	refusal.owner_name = ctx_name(l->owner);
	refusal.hard = l->hard;
	refusal.held = l->held;
	refusal.bytes = bytes;
	return false;
}

void
mcxti_limit_report(mcxt_context *ctx, size_t size, int flags)
{
	limit_refusal r = refusal;

	refusal.ctx = NULL;
	if (r.ctx == NULL || r.ctx != ctx)
		return;
	/* counted here, once per failed request (an AllocSet may have tried several sizes) */
	r.limit->refusals++;
	if (flags & MCXT_ALLOC_NO_OOM)
		return;
	mcxti_error(MCXT_ERR_OOM, ctx,
				"out of memory: Failed on request of size %zu in memory context \"%s\": "
				"memory limit of context \"%s\" reached (%llu bytes held, limit %llu, "
				"a new block needs %zu).",
				size, ctx_name(ctx), r.owner_name, (unsigned long long) r.held,
				(unsigned long long) r.hard, r.bytes);
}

void
mcxti_limit_charge(mcxt_limit *l, size_t bytes)
{
	for (; l != NULL; l = l->up)
	{
		l->held += bytes;
		if (l->held > l->peak)
			l->peak = l->held;
		if (l->soft != 0 && !l->soft_over && l->held > l->soft)
		{
			l->soft_over = 1;
			l->soft_pending = 1;
			l->crossings++;
		}
	}
}

void
mcxti_limit_uncharge(mcxt_limit *l, size_t bytes)
{
	for (; l != NULL; l = l->up)
	{
		MCXT_ASSERT(l->held >= bytes);
		l->held -= bytes;
		if (l->soft_over && l->held <= l->soft)
		{
			/* back below: the next crossing calls again */
			l->soft_over = 0;
			l->soft_pending = 0;
		}
	}
}

void
mcxti_limit_fire(mcxt_context *ctx)
{
	/*
	 * Restart from ctx after every callback: a callback may change or remove
	 * limits on the chain, so the next pointer cannot be trusted.  Each pass
	 * clears one pending mark, so this ends.
	 */
	for (;;)
	{
		mcxt_limit *l;

		for (l = ctx->limit; l != NULL; l = l->up)
			if (l->soft_pending)
				break;
		if (l == NULL)
			return;
		l->soft_pending = 0;
		if (l->soft_callback != NULL)
			l->soft_callback(l->owner, (size_t) l->held, (size_t) l->soft, l->soft_arg);
	}
}

void
mcxti_limit_create_check_slow(mcxt_context *parent, size_t bytes, const char *name)
{
	mcxt_limit *l = limit_refuser(parent->limit, bytes);

	if (l == NULL)
		return;
	l->refusals++;
	refusal.ctx = NULL;
	mcxti_error(MCXT_ERR_OOM, parent,
				"out of memory: Failed while creating memory context \"%s\": "
				"memory limit of context \"%s\" reached (%llu bytes held, limit %llu, "
				"the new context needs %zu).",
				name != NULL ? name : "?", ctx_name(l->owner), (unsigned long long) l->held,
				(unsigned long long) l->hard, bytes);
}

/* Point every context of ctx's subtree that used from at to, and limits whose up was from. */
static void
limit_repoint(mcxt_context *ctx, mcxt_limit *from, mcxt_limit *to)
{
	for (mcxt_context *c = ctx; c != NULL; c = mcxti_traverse_next(c, ctx))
	{
		if (c->limit == from)
			c->limit = to;
		else if (c->limit != NULL && c->limit->owner == c && c->limit->up == from)
			c->limit->up = to;
	}
}

/* The limit ctx owns, or NULL. */
static mcxt_limit *
own_limit(mcxt_context *ctx)
{
	return ctx->limit != NULL && ctx->limit->owner == ctx ? ctx->limit : NULL;
}

/* The nearest limit strictly above ctx. */
static mcxt_limit *
limit_above(mcxt_context *ctx)
{
	mcxt_limit *own = own_limit(ctx);

	return own != NULL ? own->up : ctx->limit;
}

static bool
chain_contains(mcxt_limit *chain, mcxt_limit *l)
{
	for (; chain != NULL; chain = chain->up)
		if (chain == l)
			return true;
	return false;
}

void
mcxti_limit_detach(mcxt_context *ctx)
{
	mcxt_limit *own = own_limit(ctx);

	/* a leaf: its own limit holds exactly its own blocks */
	if (ctx->mem_allocated != 0)
		mcxti_limit_uncharge(ctx->limit, (size_t) ctx->mem_allocated);
	ctx->limit = NULL;
	if (own != NULL)
	{
		own->owner = NULL;
		mcxti_source_free(own, sizeof(*own));
	}
}

void
mcxti_limit_move(mcxt_context *ctx, mcxt_context *new_parent)
{
	mcxt_limit *old_above = limit_above(ctx);
	mcxt_limit *new_above = new_parent != NULL ? new_parent->limit : NULL;
	uint64_t	bytes;

	if (old_above == new_above)
		return;
	bytes = mcxt_mem_allocated(ctx, true);

	/* the limits the subtree enters (not those it stays under) must have room */
	for (mcxt_limit *l = new_above; l != NULL; l = l->up)
	{
		if (chain_contains(old_above, l))
			break;
		if (l->hard != 0 && l->held + bytes > l->hard)
		{
			l->refusals++;
			mcxti_error(MCXT_ERR_OOM, ctx,
						"out of memory: cannot move memory context \"%s\" (%llu bytes) under "
						"\"%s\": memory limit of context \"%s\" reached (%llu bytes held, "
						"limit %llu).",
						ctx_name(ctx), (unsigned long long) bytes, ctx_name(new_parent),
						ctx_name(l->owner), (unsigned long long) l->held,
						(unsigned long long) l->hard);
		}
	}
	for (mcxt_limit *l = old_above; l != NULL && !chain_contains(new_above, l); l = l->up)
	{
		l->held -= bytes;
		if (l->soft_over && l->held <= l->soft)
			l->soft_over = l->soft_pending = 0;
	}
	for (mcxt_limit *l = new_above; l != NULL && !chain_contains(old_above, l); l = l->up)
	{
		l->held += bytes;
		if (l->held > l->peak)
			l->peak = l->held;
		if (l->soft != 0 && !l->soft_over && l->held > l->soft)
		{
			l->soft_over = l->soft_pending = 1;
			l->crossings++;
		}
	}
	limit_repoint(ctx, old_above, new_above);
}

/* ---- the API ------------------------------------------------------------- */

static void
limit_check_live(mcxt_context *ctx, const char *op)
{
	if (ctx == NULL || ctx->magic != MCXT_CONTEXT_MAGIC)
		mcxti_error(MCXT_ERR_MISUSE, NULL, "%s called with an invalid (deleted?) memory context %p",
					op, (void *) ctx);
}

bool
mcxt_set_limit(mcxt_context_t *ctx, size_t hard_bytes, size_t soft_bytes,
			   mcxt_limit_callback_fn soft_callback, void *arg)
{
	mcxt_limit *own;
	uint64_t	held;

	limit_check_live(ctx, "mcxt_set_limit");
	if (hard_bytes != 0 && soft_bytes > hard_bytes)
		mcxti_error(MCXT_ERR_MISUSE, ctx,
					"soft memory limit %zu above the hard limit %zu of memory context \"%s\"",
					soft_bytes, hard_bytes, ctx_name(ctx));
	refusal.ctx = NULL;
	own = own_limit(ctx);
	if (hard_bytes == 0 && soft_bytes == 0)
	{
		if (own != NULL)
		{
			limit_repoint(ctx, own, own->up);
			own->owner = NULL;
			mcxti_source_free(own, sizeof(*own));
		}
		return true;
	}
	held = own != NULL ? own->held : mcxt_mem_allocated(ctx, true);
	if (hard_bytes != 0 && held > hard_bytes)
		return false;
	if (own == NULL)
	{
		own = mcxti_source_alloc(sizeof(*own));
		if (own == NULL)
			mcxti_error(MCXT_ERR_OOM, ctx,
						"out of memory: cannot set a memory limit on memory context \"%s\"",
						ctx_name(ctx));
		memset(own, 0, sizeof(*own));
		own->owner = ctx;
		own->up = ctx->limit;
		own->held = held;
		own->peak = held;
		limit_repoint(ctx, ctx->limit, own);
		/* limit_repoint skipped ctx itself when ctx->limit was NULL */
		ctx->limit = own;
	}
	own->hard = hard_bytes;
	own->soft = soft_bytes;
	own->soft_callback = soft_callback;
	own->soft_arg = arg;
	if (soft_bytes != 0 && held > soft_bytes)
	{
		if (!own->soft_over)
		{
			own->soft_over = own->soft_pending = 1;
			own->crossings++;
		}
	}
	else
		own->soft_over = own->soft_pending = 0;
	mcxti_limit_fire(ctx);
	return true;
}

bool
mcxt_get_limit(mcxt_context_t *ctx, mcxt_limit_info_t *out)
{
	mcxt_limit *own;

	limit_check_live(ctx, "mcxt_get_limit");
	own = own_limit(ctx);
	memset(out, 0, sizeof(*out));
	if (own == NULL)
	{
		out->held = mcxt_mem_allocated(ctx, true);
		return false;
	}
	out->hard = (size_t) own->hard;
	out->soft = (size_t) own->soft;
	out->held = (size_t) own->held;
	out->peak = (size_t) own->peak;
	out->soft_crossings = own->crossings;
	out->hard_refusals = own->refusals;
	return true;
}

mcxt_context_t *
mcxt_limited_ancestor(mcxt_context_t *ctx)
{
	limit_check_live(ctx, "mcxt_limited_ancestor");
	return ctx->limit != NULL ? ctx->limit->owner : NULL;
}

int
mcxti_limit_check(mcxt_context *ctx)
{
	mcxt_limit *own = own_limit(ctx);
	mcxt_limit *expect_above = ctx->parent != NULL ? ctx->parent->limit : NULL;
	int			problems = 0;

	if ((own != NULL ? own->up : ctx->limit) != expect_above)
	{
		mcxti_check_warn(ctx, "limit pointer %p is not the parent's limit %p",
						 (void *) (own != NULL ? own->up : ctx->limit), (void *) expect_above);
		problems++;
	}
	if (own != NULL)
	{
		uint64_t	sum = mcxt_mem_allocated(ctx, true);

		if (own->held != sum)
		{
			mcxti_check_warn(ctx, "limit holds %llu bytes, the subtree %llu",
							 (unsigned long long) own->held, (unsigned long long) sum);
			problems++;
		}
		if (own->hard != 0 && own->held > own->hard)
		{
			mcxti_check_warn(ctx, "limit holds %llu bytes, above its hard limit %llu",
							 (unsigned long long) own->held, (unsigned long long) own->hard);
			problems++;
		}
		if (own->soft_over != (own->soft != 0 && own->held > own->soft))
		{
			mcxti_check_warn(ctx, "soft limit state %u disagrees with %llu held, soft %llu",
							 (unsigned) own->soft_over, (unsigned long long) own->held,
							 (unsigned long long) own->soft);
			problems++;
		}
	}
	return problems;
}
