/*
 * alloc_bump.c
 *	  The floor: a trivial bump allocator, called out of line as a library
 *	  would be.  A context is a header at the start of its first 8 KB
 *	  block; blocks double up to 8 MB; a request larger than a quarter of
 *	  the block it would go to gets a block of its own.  Chunks are 8-byte aligned
 *	  and have no header.  free is a no-op, realloc is alloc + memcpy, reset
 *	  rewinds to the first block and keeps every ordinary block (dedicated
 *	  blocks are freed), delete frees everything.  No hierarchy: the
 *	  template deletes children itself.  Blocks come from malloc.
 */
#include <stdlib.h>
#include <string.h>

#include "bench.h"

#define BUMP_INIT	(8 * 1024)
#define BUMP_MAX	(8 * 1024 * 1024)

typedef struct bump_block
{
	struct bump_block *next;
	size_t		size;
} bump_block;

typedef struct bump_ctx
{
	char	   *free;
	char	   *end;
	bump_block *cur;			/* block free/end point into */
	bump_block *first;			/* the block holding this header */
	bump_block *big;			/* dedicated blocks */
	size_t		next_size;
	uint64_t	bytes;
} bump_ctx;

#define BUMP_ALIGN(n) (((n) + 7) & ~(size_t) 7)

static bump_ctx *bump_root_ctx;

__attribute__((noinline)) static bump_ctx *
bump_create(void)
{
	bump_block *b = malloc(BUMP_INIT);
	bump_ctx   *c;

	if (b == NULL)
		bench_fail("bump: out of memory");
	b->next = NULL;
	b->size = BUMP_INIT;
	c = (bump_ctx *) (b + 1);
	c->free = (char *) (c + 1);
	c->end = (char *) b + BUMP_INIT;
	c->cur = c->first = b;
	c->big = NULL;
	c->next_size = 2 * BUMP_INIT;
	c->bytes = BUMP_INIT;
	return c;
}

__attribute__((noinline)) static void *
bump_alloc_slow(bump_ctx *c, size_t n)
{
	bump_block *b;
	char	   *start;

	b = c->cur->next;			/* a block kept by a reset, if any */
	if (n > (b ? b->size : c->next_size) / 4)
	{
		b = malloc(sizeof(bump_block) + n);
		if (b == NULL)
			bench_fail("bump: out of memory");
		b->size = sizeof(bump_block) + n;
		b->next = c->big;
		c->big = b;
		c->bytes += b->size;
		return b + 1;
	}
	if (b == NULL)
	{
		b = malloc(c->next_size);
		if (b == NULL)
			bench_fail("bump: out of memory");
		b->size = c->next_size;
		b->next = NULL;
		c->cur->next = b;
		c->bytes += b->size;
		if (c->next_size < BUMP_MAX)
			c->next_size *= 2;
	}
	c->cur = b;
	start = (char *) (b + 1);
	c->free = start + n;
	c->end = (char *) b + b->size;
	return start;
}

__attribute__((noinline)) static void *
bump_alloc(bump_ctx *c, size_t n)
{
	char	   *p = c->free;

	n = BUMP_ALIGN(n);
	if ((size_t) (c->end - p) < n)
		return bump_alloc_slow(c, n);
	c->free = p + n;
	return p;
}

__attribute__((noinline)) static void
bump_reset(bump_ctx *c)
{
	while (c->big)
	{
		bump_block *b = c->big;

		c->big = b->next;
		c->bytes -= b->size;
		free(b);
	}
	c->cur = c->first;
	c->free = (char *) (c + 1);
	c->end = (char *) c->first + BUMP_INIT;
}

__attribute__((noinline)) static void
bump_delete(bump_ctx *c)
{
	bump_block *b = c->first->next;

	bump_reset(c);
	while (b)
	{
		bump_block *next = b->next;

		free(b);
		b = next;
	}
	free(c->first);
}

typedef bump_ctx *a_ctx;

#define A_HAS_CONTEXTS	1
#define A_HIERARCHY		0

static inline a_ctx
a_root(void)
{
	return bump_root_ctx;
}

static inline a_ctx
a_create(a_ctx parent)
{
	return bump_create();
}

static inline void
a_switch(a_ctx c)
{
}

static inline void *
a_alloc(a_ctx c, size_t n)
{
	return bump_alloc(c, n);
}

static inline void
a_free(a_ctx c, void *p)
{
}

static inline void *
a_realloc(a_ctx c, void *p, size_t old, size_t n)
{
	void	   *q = bump_alloc(c, n);

	memcpy(q, p, old < n ? old : n);
	return q;
}

static inline void
a_reset(a_ctx c)
{
	bump_reset(c);
}

static inline void
a_delete(a_ctx c)
{
	bump_delete(c);
}

static inline uint64_t
a_ctx_bytes(a_ctx c)
{
	return c->bytes;
}

#include "workloads.h"

static int
bump_init(const char *config)
{
	bump_root_ctx = bump_create();
	return 0;
}

const bench_allocator bench_alloc_bump = {
	"bump", "trivial bump allocator, out of line (the floor): no free, reset keeps blocks", 0,
	bump_init, bench_run, bench_finish
};
