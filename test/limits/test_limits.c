/*
 * test_limits.c
 *	  Subtree memory limits (mcxt_set_limit): the hard limit on every context
 *	  type, nested limits, reparenting, soft callbacks once per crossing, the
 *	  NO_OOM and error-handler paths with their message, exact accounting
 *	  after refusals, and the statistics' limit fields.
 *
 * "Exact" is checked three ways after every refusal: the limit's held bytes
 * equal mcxt_mem_allocated(ctx, true), mcxt_check() finds nothing wrong, and
 * the process-wide block statistics and the subtree's accounting are what
 * they were before the refused request (the block cache is off, so every
 * block is a request to the source, and the source is never asked for a
 * refused one).
 */
#include "../testhelper.h"
#include "../types/typesim.h"

#include <mcxt/palloc.h>

#define KB ((size_t) 1024)

/* ---- helpers ------------------------------------------------------------- */

typedef struct snapshot
{
	mcxt_block_stats_t blocks;
	mcxt_accounting_t acct;
	mcxt_limit_info_t limit;
} snapshot;

static void
take(snapshot *s, mcxt_context_t *limited)
{
	mcxt_block_stats(&s->blocks);
	mcxt_get_accounting(limited, true, &s->acct);
	(void) mcxt_get_limit(limited, &s->limit);
}

/* Everything as before, but the refusal counter, which went up by refused. */
static void
check_unchanged(const snapshot *a, mcxt_context_t *limited, uint64_t refused)
{
	snapshot	b;

	take(&b, limited);
	CHECK_EQ(b.blocks.live_blocks, a->blocks.live_blocks);
	CHECK_EQ(b.blocks.live_bytes, a->blocks.live_bytes);
	CHECK_EQ(b.acct.mem_allocated, a->acct.mem_allocated);
	CHECK_EQ(b.acct.bytes_alloc, a->acct.bytes_alloc);
	CHECK_EQ(b.acct.bytes_freed, a->acct.bytes_freed);
	CHECK_EQ(b.limit.held, a->limit.held);
	CHECK_EQ(b.limit.hard_refusals, a->limit.hard_refusals + refused);
}

/* The limit of ctx holds exactly its subtree's blocks, and the tree checks clean. */
static void
check_exact(mcxt_context_t *ctx)
{
	mcxt_limit_info_t li;

	CHECK(mcxt_get_limit(ctx, &li));
	CHECK_EQ(li.held, mcxt_mem_allocated(ctx, true));
	if (li.hard != 0)
		CHECK(li.held <= li.hard);
	CHECK_EQ(mcxt_check(ctx), 0);
}

static void
begin(void)
{
	mcxt_thread_cleanup();
	mcxt_block_cache_set_limit(0);
	th_catch_errors();
}

static void
end(void)
{
	mcxt_thread_cleanup();
	CHECK(ts_no_blocks_held());
	mcxt_block_cache_set_limit(32 * 1024 * 1024);
}

/* Soft callback bookkeeping. */
static int	ncalls;
static mcxt_context_t *last_ctx;
static size_t last_held;
static size_t last_soft;

static void
count_cb(mcxt_context_t *ctx, size_t held, size_t soft, void *arg)
{
	ncalls++;
	last_ctx = ctx;
	last_held = held;
	last_soft = soft;
	(*(int *) arg)++;
	CHECK(held > soft);
}

/* ---- the hard limit ------------------------------------------------------ */

/* NO_OOM: NULL at the limit, nothing charged, the source not even asked. */
static void
test_hard_no_oom(void)
{
	mcxt_context_t *q;
	mcxt_limit_info_t li;
	snapshot	s;
	void	   *p = NULL;
	size_t		n = 0;

	begin();
	q = mcxt_aset_create(mcxt_top(), "query", MCXT_DEFAULT_SIZES);
	REQUIRE(mcxt_set_limit(q, 256 * KB, 0, NULL, NULL));
	CHECK(mcxt_get_limit(q, &li));
	CHECK_EQ(li.hard, 256 * KB);
	CHECK_EQ(li.soft, 0);
	CHECK_EQ(li.held, 8 * KB);	/* the keeper */
	CHECK(mcxt_limited_ancestor(q) == q);
	CHECK(mcxt_limited_ancestor(mcxt_top()) == NULL);

	for (;;)
	{
		take(&s, q);
		mcxt_fault_inject(0, false);
		p = mcxt_alloc_extended(q, 1000, MCXT_ALLOC_NO_OOM);
		if (p == NULL)
			break;
		n++;
		REQUIRE(n < 1000);
	}
	CHECK_EQ(mcxt_fault_requests(), 0);
	check_unchanged(&s, q, 1);
	check_exact(q);
	/* 1000-byte requests are 1 KB chunks: at least 200 of them fit below 256 KB */
	CHECK(n >= 200);
	CHECK(mcxt_mem_allocated(q, true) > 256 * KB - 64 * KB);
	/* a large chunk (its own block) is refused the same way */
	take(&s, q);
	CHECK(mcxt_alloc_extended(q, 200 * KB, MCXT_ALLOC_NO_OOM) == NULL);
	check_unchanged(&s, q, 1);
	/* and after a reset the room is back */
	mcxt_reset(q);
	CHECK(mcxt_alloc_extended(q, 200 * KB, MCXT_ALLOC_NO_OOM) != NULL);
	check_exact(q);
	end();
}

/* Without NO_OOM: the error handler, with a message naming the limit. */
static void
test_hard_handler_message(void)
{
	mcxt_context_t *q;
	mcxt_context_t *sort;
	snapshot	s;
	char		expect[256];

	begin();
	q = mcxt_aset_create(mcxt_top(), "query", MCXT_DEFAULT_SIZES);
	sort = mcxt_aset_create(q, "sort", MCXT_DEFAULT_SIZES);
	REQUIRE(mcxt_set_limit(q, 100 * KB, 0, NULL, NULL));
	(void) mcxt_alloc(sort, 40 * KB);
	take(&s, q);
	EXPECT_ERROR(MCXT_ERR_OOM, (void) mcxt_alloc(sort, 70 * KB));
	CHECK(th_err_ctx == sort);
	snprintf(expect, sizeof(expect),
			 "out of memory: Failed on request of size %zu in memory context \"sort\": "
			 "memory limit of context \"query\" reached (%zu bytes held, limit %zu, "
			 "a new block needs %zu).",
			 70 * KB, s.limit.held, 100 * KB,
			 MCXT_ALIGN(70 * KB + TS_TAIL) + MCXT_ASET_BLOCKHDRSZ + MCXT_CHUNK_HDRSZ);
	CHECK_STR(th_err_msg, expect);
	check_unchanged(&s, q, 1);
	check_exact(q);

	/* a real out-of-memory in the same context keeps the plain message */
	mcxt_fault_inject(1, false);
	EXPECT_ERROR(MCXT_ERR_OOM, (void) mcxt_alloc(sort, 20 * KB));
	mcxt_fault_inject(0, false);
	CHECK_STR(th_err_msg, "out of memory: Failed on request of size 20480 in memory context \"sort\".");
	/* and a NO_OOM refusal followed by a real failure: still the plain one */
	CHECK(mcxt_alloc_extended(sort, 70 * KB, MCXT_ALLOC_NO_OOM) == NULL);
	mcxt_fault_inject(1, false);
	EXPECT_ERROR(MCXT_ERR_OOM, (void) mcxt_alloc(sort, 20 * KB));
	mcxt_fault_inject(0, false);
	CHECK_STR(th_err_msg, "out of memory: Failed on request of size 20480 in memory context \"sort\".");
	check_exact(q);
	end();
}

/* Creating a context whose keeper does not fit is refused; so is its memory. */
static void
test_create_refused(void)
{
	mcxt_context_t *q;
	mcxt_context_t *volatile c = NULL;
	snapshot	s;

	begin();
	q = mcxt_aset_create(mcxt_top(), "query", MCXT_DEFAULT_SIZES);
	REQUIRE(mcxt_set_limit(q, 8 * KB + 4 * KB, 0, NULL, NULL));
	c = mcxt_aset_create(q, "small", MCXT_SMALL_SIZES);	/* 1 KB keeper: fits */
	CHECK(c != NULL);
	take(&s, q);
	EXPECT_ERROR(MCXT_ERR_OOM, c = mcxt_aset_create(q, "big", MCXT_DEFAULT_SIZES));
	CHECK(strstr(th_err_msg, "Failed while creating memory context \"big\"") != NULL);
	CHECK(strstr(th_err_msg, "memory limit of context \"query\"") != NULL);
	check_unchanged(&s, q, 1);
	/* every type's creation asks the limit */
	EXPECT_ERROR(MCXT_ERR_OOM, c = mcxt_generation_create(q, "g", 0, 8192, 65536));
	EXPECT_ERROR(MCXT_ERR_OOM, c = mcxt_bump_create(q, "b", 0, 8192, 65536));
	check_unchanged(&s, q, 3);
	c = mcxt_slab_create(q, "s", 8192, 64);	/* its header alone fits */
	take(&s, q);
	EXPECT_ERROR(MCXT_ERR_OOM, (void) mcxt_alloc(c, 64));	/* its first 8 KB block does not */
	check_unchanged(&s, q, 1);
	check_exact(q);

	/* a recycled context of the standard sizes is refused too */
	mcxt_set_limit(q, 0, 0, NULL, NULL);
	mcxt_delete(mcxt_aset_create(q, "parked", MCXT_DEFAULT_SIZES));
	REQUIRE(mcxt_set_limit(q, mcxt_mem_allocated(q, true) + 4 * KB, 0, NULL, NULL));
	take(&s, q);
	EXPECT_ERROR(MCXT_ERR_OOM, c = mcxt_aset_create(q, "again", MCXT_DEFAULT_SIZES));
	check_unchanged(&s, q, 1);
	check_exact(q);
	end();
}

/* Every context type, and aligned chunks, stop at the limit with exact counts. */
static void
test_every_type(void)
{
	for (int t = 0; t < 5; t++)
	{
		mcxt_context_t *q;
		mcxt_context_t *c;
		snapshot	s;
		size_t		n = 0;
		size_t		req = t == 3 ? 48 : 700;

		begin();
		th_set_note("type %d", t);
		q = mcxt_aset_create(mcxt_top(), "query", MCXT_DEFAULT_SIZES);
		switch (t)
		{
			case 0:
				c = mcxt_aset_create(q, "c", MCXT_DEFAULT_SIZES);
				break;
			case 1:
			case 4:
				c = mcxt_generation_create(q, "c", 0, 8192, 65536);
				break;
			case 2:
				c = mcxt_bump_create(q, "c", 0, 8192, 65536);
				break;
			default:
				c = mcxt_slab_create(q, "c", 8192, req);
				break;
		}
		REQUIRE(mcxt_set_limit(q, 300 * KB, 0, NULL, NULL));
		for (;;)
		{
			void	   *p;

			take(&s, q);
			p = t == 4 ? mcxt_alloc_aligned(c, req, 256, MCXT_ALLOC_NO_OOM)
				: mcxt_alloc_extended(c, req, MCXT_ALLOC_NO_OOM);
			if (p == NULL)
				break;
			memset(p, 0x5A, req);
			n++;
			REQUIRE(n < 100000);
			if (t == 1 && n % 3 == 0)
				mcxt_free(p);	/* some churn, so Generation blocks empty */
		}
		check_unchanged(&s, q, 1);
		check_exact(q);
		CHECK(n > 100);
		CHECK(mcxt_mem_allocated(q, true) > 300 * KB - 80 * KB);
		/* large requests too (Slab has none) */
		if (t != 3)
		{
			take(&s, q);
			CHECK(mcxt_alloc_extended(c, 100 * KB, MCXT_ALLOC_NO_OOM) == NULL);
			check_unchanged(&s, q, 1);
		}
		mcxt_reset(c);
		check_exact(q);
		CHECK(mcxt_alloc_extended(c, req, MCXT_ALLOC_NO_OOM) != NULL);
		mcxt_delete(c);
		check_exact(q);
		CHECK_EQ(mcxt_mem_allocated(q, true), 8 * KB);
		end();
	}
	th_set_note("%s", "");
}

/* repalloc of a large chunk grows its block in place: the growth is what is limited. */
static void
test_realloc_large(void)
{
	mcxt_context_t *q;
	snapshot	s;
	char	   *p;
	char	   *r;

	begin();
	q = mcxt_aset_create(mcxt_top(), "query", MCXT_DEFAULT_SIZES);
	REQUIRE(mcxt_set_limit(q, 200 * KB, 0, NULL, NULL));
	p = mcxt_alloc(q, 100 * KB);
	ts_fill(p, 100 * KB, 3);
	take(&s, q);
	CHECK(mcxt_realloc_extended(p, 195 * KB, MCXT_ALLOC_NO_OOM) == NULL);
	check_unchanged(&s, q, 1);
	CHECK(ts_filled(p, 100 * KB, 3));
	r = mcxt_realloc(p, 150 * KB);
	CHECK(ts_filled(r, 100 * KB, 3));
	check_exact(q);
	r = mcxt_realloc(r, 10 * KB);	/* shrinking gives bytes back */
	check_exact(q);
	CHECK(mcxt_mem_allocated(q, true) < 30 * KB);
	mcxt_free(r);
	check_exact(q);
	CHECK_EQ(mcxt_mem_allocated(q, true), 8 * KB);
	end();
}

/* Near the limit, an AllocSet takes a smaller block than its doubling asks for. */
static void
test_aset_smaller_block(void)
{
	mcxt_context_t *q;
	mcxt_limit_info_t li;

	begin();
	q = mcxt_aset_create(mcxt_top(), "query", 0, 8 * KB, 1024 * KB);
	/* blocks 8 (keeper), 8, 16, 32, 64, 128: 256 KB held; the next would be 256 KB */
	REQUIRE(mcxt_set_limit(q, 300 * KB, 0, NULL, NULL));
	for (int i = 0; i < 240; i++)
		(void) mcxt_alloc(q, 1000);
	CHECK_EQ(mcxt_mem_allocated(q, false), 256 * KB);
	/* 44 KB of room: a 32 KB block is taken, then 8 KB, then 4 KB */
	/*
	 * 44 KB of room, the doubling asks for 256 KB: the 9 chunks left in the
	 * 128 KB block, then blocks of 32, 8 and 4 KB (31, 7 and 3 chunks) fill
	 * the limit exactly, where PostgreSQL's rule (halve only above 1 MB)
	 * would have stopped at the 128 KB block.
	 */
	for (int i = 0; i < 50; i++)
		CHECK(mcxt_alloc_extended(q, 1000, MCXT_ALLOC_NO_OOM) != NULL);
	CHECK(mcxt_alloc_extended(q, 1000, MCXT_ALLOC_NO_OOM) == NULL);
	CHECK(mcxt_get_limit(q, &li));
	CHECK_EQ(li.held, 300 * KB);
	CHECK_EQ(li.hard_refusals, 1);
	check_exact(q);
	end();
}

/* ---- nesting ------------------------------------------------------------- */

/* Bytes of the dedicated block of an n-byte AllocSet request above the chunk limit. */
static size_t
large_block(size_t n)
{
	return MCXT_ALIGN(n + TS_TAIL) + MCXT_ASET_BLOCKHDRSZ + MCXT_CHUNK_HDRSZ;
}

static void
test_nested(void)
{
	mcxt_context_t *q;
	mcxt_context_t *a;
	mcxt_context_t *a1;
	mcxt_context_t *b;
	mcxt_limit_info_t li;
	snapshot	s;
	void	   *p;

	begin();
	q = mcxt_aset_create(mcxt_top(), "query", MCXT_DEFAULT_SIZES);
	a = mcxt_aset_create(q, "a", MCXT_DEFAULT_SIZES);
	a1 = mcxt_aset_create(a, "a1", MCXT_DEFAULT_SIZES);
	b = mcxt_aset_create(q, "b", MCXT_DEFAULT_SIZES);
	REQUIRE(mcxt_set_limit(a, 64 * KB, 0, NULL, NULL));
	REQUIRE(mcxt_set_limit(q, 200 * KB, 0, NULL, NULL));	/* set after a: a's limit hangs below */
	CHECK(mcxt_limited_ancestor(a1) == a);
	CHECK(mcxt_limited_ancestor(b) == q);
	CHECK(mcxt_get_limit(q, &li));
	CHECK_EQ(li.held, 4 * 8 * KB);
	CHECK(mcxt_get_limit(a, &li));
	CHECK_EQ(li.held, 2 * 8 * KB);
	CHECK_EQ(mcxt_check(q), 0);

	/* the grandchild is held by a's limit (and charges q's too) */
	p = mcxt_alloc(a1, 40 * KB);
	CHECK(mcxt_get_limit(q, &li));
	CHECK_EQ(li.held, 4 * 8 * KB + large_block(40 * KB));
	take(&s, q);
	EXPECT_ERROR(MCXT_ERR_OOM, (void) mcxt_alloc(a1, 40 * KB));
	CHECK(strstr(th_err_msg, "memory limit of context \"a\"") != NULL);
	check_unchanged(&s, q, 0);
	CHECK(mcxt_get_limit(a, &li));
	CHECK_EQ(li.hard_refusals, 1);
	mcxt_free(p);

	/* the sibling only by q's; then q refuses a1 although a has room */
	(void) mcxt_alloc(b, 150 * KB);
	CHECK(mcxt_get_limit(q, &li));
	CHECK_EQ(li.held, 4 * 8 * KB + large_block(150 * KB));
	take(&s, q);
	EXPECT_ERROR(MCXT_ERR_OOM, (void) mcxt_alloc(a1, 20 * KB));
	CHECK(strstr(th_err_msg, "memory limit of context \"query\"") != NULL);
	check_unchanged(&s, q, 1);
	CHECK(mcxt_alloc_extended(a1, 20 * KB, MCXT_ALLOC_NO_OOM) == NULL);
	CHECK(mcxt_alloc_extended(a1, 10 * KB, MCXT_ALLOC_NO_OOM) != NULL);
	check_exact(a);
	check_exact(q);

	/* removing a's limit: a1 falls under q directly */
	CHECK(mcxt_set_limit(a, 0, 0, NULL, NULL));
	CHECK(!mcxt_get_limit(a, &li));
	CHECK_EQ(li.held, mcxt_mem_allocated(a, true));
	CHECK(mcxt_limited_ancestor(a1) == q);
	check_exact(q);
	/* a limit set on a again hangs below q's; deleting a gives it back */
	REQUIRE(mcxt_set_limit(a, 1024 * KB, 0, NULL, NULL));
	CHECK(mcxt_limited_ancestor(a1) == a);
	check_exact(a);
	check_exact(q);
	mcxt_delete(a);
	check_exact(q);
	CHECK(mcxt_get_limit(q, &li));
	CHECK_EQ(li.held, 2 * 8 * KB + large_block(150 * KB));
	end();
}

/* Setting a limit below what the subtree holds is refused; soft > hard is misuse. */
static void
test_set_limit_rules(void)
{
	mcxt_context_t *q;
	mcxt_limit_info_t li;
	int			calls = 0;

	begin();
	q = mcxt_aset_create(mcxt_top(), "query", MCXT_DEFAULT_SIZES);
	(void) mcxt_alloc(q, 50 * KB);
	CHECK(!mcxt_set_limit(q, 40 * KB, 0, NULL, NULL));
	CHECK(!mcxt_get_limit(q, &li));
	EXPECT_ERROR(MCXT_ERR_MISUSE, mcxt_set_limit(q, 100 * KB, 200 * KB, NULL, NULL));
	CHECK(!mcxt_get_limit(q, &li));
	/* a soft limit already exceeded calls back before mcxt_set_limit returns */
	ncalls = 0;
	CHECK(mcxt_set_limit(q, 0, 20 * KB, count_cb, &calls));
	CHECK_EQ(calls, 1);
	CHECK(last_ctx == q);
	CHECK_EQ(last_soft, 20 * KB);
	CHECK_EQ(last_held, mcxt_mem_allocated(q, true));
	/* replacing it with another exceeded one does not: no new crossing */
	CHECK(mcxt_set_limit(q, 0, 30 * KB, count_cb, &calls));
	CHECK_EQ(calls, 1);
	CHECK(mcxt_set_limit(q, 200 * KB, 100 * KB, count_cb, &calls));
	CHECK(mcxt_get_limit(q, &li));
	CHECK_EQ(li.hard, 200 * KB);
	CHECK_EQ(li.soft, 100 * KB);
	CHECK_EQ(li.soft_crossings, 1);
	check_exact(q);
	EXPECT_ERROR(MCXT_ERR_MISUSE, mcxt_set_limit(NULL, 1, 0, NULL, NULL));
	end();
}

/* ---- soft limits --------------------------------------------------------- */

static void
test_soft_once_per_crossing(void)
{
	mcxt_context_t *q;
	mcxt_context_t *c;
	mcxt_limit_info_t li;
	int			calls = 0;

	begin();
	q = mcxt_aset_create(mcxt_top(), "query", MCXT_DEFAULT_SIZES);
	c = mcxt_aset_create(q, "op", MCXT_DEFAULT_SIZES);
	REQUIRE(mcxt_set_limit(q, 0, 100 * KB, count_cb, &calls));
	for (int round = 1; round <= 3; round++)
	{
		/* climb well past the soft limit: one call */
		while (mcxt_mem_allocated(q, true) <= 300 * KB)
			(void) mcxt_alloc(c, 500);
		CHECK_EQ(calls, round);
		CHECK(last_ctx == q);
		CHECK(last_held > 100 * KB);
		CHECK_EQ(last_soft, 100 * KB);
		/* back below (a reset), and the next crossing calls again */
		mcxt_reset(c);
		CHECK_EQ(calls, round);
	}
	/* large chunks crossing and falling back: one call per crossing */
	calls = 0;
	for (int i = 0; i < 5; i++)
	{
		void	   *p = mcxt_alloc(c, 150 * KB);

		mcxt_free(p);
	}
	CHECK_EQ(calls, 5);
	CHECK(mcxt_get_limit(q, &li));
	CHECK_EQ(li.soft_crossings, 8);
	check_exact(q);
	end();
}

/* A callback may allocate, even in the subtree that crossed. */
static mcxt_context_t *spill_ctx;
static void *spill_buf;

static void
spill_cb(mcxt_context_t *ctx, size_t held, size_t soft, void *arg)
{
	(void) ctx;
	(void) held;
	(void) soft;
	(*(int *) arg)++;
	spill_buf = mcxt_alloc(spill_ctx, 64 * KB);	/* a new block in the limited subtree */
	memset(spill_buf, 1, 64 * KB);
}

static void
test_soft_callback_allocates(void)
{
	int			t;

	for (t = 0; t < 4; t++)
	{
		mcxt_context_t *q;
		mcxt_context_t *c;
		int			calls = 0;
		size_t		n = 0;

		begin();
		th_set_note("type %d", t);
		q = mcxt_aset_create(mcxt_top(), "query", MCXT_DEFAULT_SIZES);
		c = t == 0 ? mcxt_aset_create(q, "c", MCXT_DEFAULT_SIZES)
			: t == 1 ? mcxt_generation_create(q, "c", 0, 8192, 65536)
			: t == 2 ? mcxt_bump_create(q, "c", 0, 8192, 65536)
			: mcxt_slab_create(q, "c", 8192, 100);
		spill_ctx = c;
		if (t == 3)
			spill_ctx = q;		/* a slab only takes its one size */
		REQUIRE(mcxt_set_limit(q, 0, 64 * KB, spill_cb, &calls));
		while (calls == 0)
		{
			char	   *p = mcxt_alloc(c, 100);

			memset(p, 2, 100);
			n++;
			CHECK_EQ(mcxt_check(q), 0);
			REQUIRE(n < 10000);
		}
		for (int i = 0; i < 1000; i++)
			memset(mcxt_alloc(c, 100), 3, 100);
		CHECK_EQ(calls, 1);
		check_exact(q);
		end();
	}
	th_set_note("%s", "");
}

/* A callback may remove its own limit, or change another, while callbacks run. */
static mcxt_context_t *outer_ctx;

static void
remove_self_cb(mcxt_context_t *ctx, size_t held, size_t soft, void *arg)
{
	(void) held;
	(void) soft;
	(*(int *) arg)++;
	CHECK(mcxt_set_limit(ctx, 0, 0, NULL, NULL));
	/* the outer limit's soft limit goes up, so its pending crossing is withdrawn */
	CHECK(mcxt_set_limit(outer_ctx, 0, 100 * 1024 * KB, count_cb, arg));
}

static void
test_soft_callback_changes_limits(void)
{
	mcxt_context_t *outer;
	mcxt_context_t *inner;
	int			calls = 0;
	mcxt_limit_info_t li;

	begin();
	outer = mcxt_aset_create(mcxt_top(), "outer", MCXT_DEFAULT_SIZES);
	inner = mcxt_aset_create(outer, "inner", MCXT_DEFAULT_SIZES);
	outer_ctx = outer;
	REQUIRE(mcxt_set_limit(outer, 0, 40 * KB, count_cb, &calls));
	REQUIRE(mcxt_set_limit(inner, 0, 30 * KB, remove_self_cb, &calls));
	/* one large chunk crosses both; inner's callback (innermost first) runs, then none */
	(void) mcxt_alloc(inner, 50 * KB);
	CHECK_EQ(calls, 1);
	CHECK(!mcxt_get_limit(inner, &li));
	CHECK(mcxt_limited_ancestor(inner) == outer);
	CHECK(mcxt_get_limit(outer, &li));
	CHECK_EQ(li.soft, 100 * 1024 * KB);
	check_exact(outer);
	(void) mcxt_alloc(inner, 50 * KB);
	CHECK_EQ(calls, 1);
	check_exact(outer);
	end();
}

/* ---- reparenting --------------------------------------------------------- */

static void
test_reparent(void)
{
	mcxt_context_t *qa;
	mcxt_context_t *qb;
	mcxt_context_t *sub;
	mcxt_context_t *leaf;
	mcxt_limit_info_t la;
	mcxt_limit_info_t lb;
	size_t		bytes;
	snapshot	s;
	int			calls = 0;

	begin();
	qa = mcxt_aset_create(mcxt_top(), "qa", MCXT_DEFAULT_SIZES);
	qb = mcxt_aset_create(mcxt_top(), "qb", MCXT_DEFAULT_SIZES);
	sub = mcxt_aset_create(qa, "sub", MCXT_DEFAULT_SIZES);
	leaf = mcxt_generation_create(sub, "leaf", 0, 8192, 65536);
	(void) mcxt_alloc(leaf, 30 * KB);
	(void) mcxt_alloc(sub, 20 * KB);
	bytes = mcxt_mem_allocated(sub, true);
	REQUIRE(mcxt_set_limit(qa, 512 * KB, 0, NULL, NULL));
	REQUIRE(mcxt_set_limit(qb, 256 * KB, 100 * KB, count_cb, &calls));

	/* the subtree's bytes move from qa's limit to qb's; crossing qb's soft limit calls back */
	(void) mcxt_alloc(qb, 40 * KB);
	mcxt_set_parent(sub, qb);
	CHECK(mcxt_get_limit(qa, &la));
	CHECK(mcxt_get_limit(qb, &lb));
	CHECK_EQ(la.held, 8 * KB);
	CHECK_EQ(lb.held, mcxt_mem_allocated(qb, true));
	CHECK(lb.held > 100 * KB);
	CHECK_EQ(calls, 1);
	CHECK(mcxt_limited_ancestor(leaf) == qb);
	check_exact(qa);
	check_exact(qb);

	/* a move that would take qb over its hard limit is refused, nothing moves */
	(void) mcxt_alloc(sub, 50 * KB);
	mcxt_set_parent(sub, qa);
	(void) mcxt_alloc(qb, 150 * KB);
	bytes = mcxt_mem_allocated(sub, true);
	take(&s, qb);
	EXPECT_ERROR(MCXT_ERR_OOM, mcxt_set_parent(sub, qb));
	CHECK(strstr(th_err_msg, "cannot move memory context \"sub\"") != NULL);
	CHECK(strstr(th_err_msg, "memory limit of context \"qb\"") != NULL);
	CHECK(mcxt_parent(sub) == qa);
	CHECK(mcxt_limited_ancestor(leaf) == qa);
	check_unchanged(&s, qb, 1);
	check_exact(qa);
	CHECK(mcxt_get_limit(qa, &la));
	CHECK_EQ(la.held, 8 * KB + bytes);

	/* moving within one limited subtree changes no limit */
	{
		mcxt_context_t *other = mcxt_aset_create(qa, "other", MCXT_SMALL_SIZES);

		CHECK(mcxt_get_limit(qa, &la));
		mcxt_set_parent(sub, other);
		CHECK(mcxt_get_limit(qa, &lb));
		CHECK_EQ(lb.held, la.held);
		check_exact(qa);
		mcxt_set_parent(sub, qa);
	}

	/* a subtree with a limit of its own keeps it, its parent limit changes */
	REQUIRE(mcxt_set_limit(sub, 400 * KB, 0, NULL, NULL));
	mcxt_set_parent(sub, mcxt_top());
	CHECK(mcxt_limited_ancestor(leaf) == sub);
	check_exact(qa);
	check_exact(sub);
	/* and to a root of its own */
	mcxt_set_parent(sub, NULL);
	check_exact(sub);
	CHECK_EQ(mcxt_check(mcxt_top()), 0);
	mcxt_set_parent(sub, qa);
	check_exact(qa);
	check_exact(sub);
	end();
}

/* ---- statistics ---------------------------------------------------------- */


static void
test_stats(void)
{
	mcxt_context_t *q;
	mcxt_context_t *c;
	FILE	   *f;
	char		expect[256];
	const char *out;

	begin();
	q = mcxt_aset_create(mcxt_top(), "query", MCXT_DEFAULT_SIZES);
	c = mcxt_aset_create(q, "op", MCXT_DEFAULT_SIZES);
	mcxt_set_ident(q, "SELECT 1");
	REQUIRE(mcxt_set_limit(q, 1024 * KB, 512 * KB, NULL, NULL));
	(void) mcxt_alloc(c, 100);
	CHECK(mcxt_alloc_extended(c, 2000 * KB, MCXT_ALLOC_NO_OOM) == NULL);

	f = tmpfile();
	REQUIRE(f != NULL);
	mcxt_stats_print(q, 100, 100, f);
	out = th_slurp(f);
	CHECK_MSG(strncmp(out, "query: 8192 total in 1 blocks; ", 31) == 0, "got: %s", out);
	snprintf(expect, sizeof(expect),
			 " used; limit 1048576 hard, 524288 soft, 16384 held: SELECT 1\n  op: ");
	CHECK_MSG(strstr(out, expect) != NULL, "got: %s", out);
	/* the unlimited child's line is PostgreSQL's */
	CHECK(strstr(strstr(out, "  op: "), "limit") == NULL);

	f = tmpfile();
	REQUIRE(f != NULL);
	CHECK_EQ(mcxt_stats_json(q, f), 0);
	out = th_slurp(f);
	CHECK(strstr(out, "\"max_bytes_held\":8192,\"limit\":{\"hard\":1048576,\"soft\":524288,"
				  "\"held\":16384,\"peak\":16384,\"soft_crossings\":0,\"hard_refusals\":1}}") != NULL);
	/* only the limited context has the key */
	CHECK(strstr(strstr(out, "\"limit\"") + 1, "\"limit\"") == NULL);
	end();
}

int
main(void)
{
	RUN(test_hard_no_oom);
	RUN(test_hard_handler_message);
	RUN(test_create_refused);
	RUN(test_every_type);
	RUN(test_realloc_large);
	RUN(test_aset_smaller_block);
	RUN(test_nested);
	RUN(test_set_limit_rules);
	RUN(test_soft_once_per_crossing);
	RUN(test_soft_callback_allocates);
	RUN(test_soft_callback_changes_limits);
	RUN(test_reparent);
	RUN(test_stats);
	return th_report();
}
