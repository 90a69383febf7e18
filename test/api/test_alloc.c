/*
 * test_alloc.c
 *	  API tests: creating AllocSets, allocating, freeing, resizing, strings,
 *	  and what mcxt_chunk_space / mcxt_chunk_context / mcxt_mem_consumed say
 *	  about the result.
 *
 * Expected numbers come from test/unit/asetsim.h, a paper model of the
 * documented block rules, fed with the layout constants of src/chunk.h.
 * Every chunk handed out is written over its whole length, so ASan and
 * valgrind see any chunk that is smaller than promised.
 */
#include "../testhelper.h"
#include "../unit/asetsim.h"

#include <mcxt/palloc.h>

static mcxt_counters_t
own_counters(mcxt_context_t *ctx)
{
	mcxt_counters_t c;

	memset(&c, 0xEE, sizeof(c));
	mcxt_mem_consumed(ctx, false, &c);
	return c;
}

/* Compare the context's own statistics with the model, naming the call site. */
#define CHECK_SIM(ctx, sim) check_sim((ctx), (sim), __FILE__, __LINE__)
static bool
check_sim(mcxt_context_t *ctx, const asetsim *sim, const char *file, int line)
{
	mcxt_counters_t got = own_counters(ctx);
	mcxt_counters_t want;
	bool		ok;

	sim_counters(sim, &want);
	ok = got.totalspace == want.totalspace && got.nblocks == want.nblocks &&
		got.freespace == want.freespace && got.freechunks == want.freechunks;
	th_check_msg(ok, file, line,
				 "stats of %s: got %zu total in %zu blocks; %zu free (%zu chunks), "
				 "expected %zu total in %zu blocks; %zu free (%zu chunks)",
				 mcxt_name(ctx), got.totalspace, got.nblocks, got.freespace, got.freechunks,
				 want.totalspace, want.nblocks, want.freespace, want.freechunks);
	ok &= th_check_eq(mcxt_mem_allocated(ctx, false), want.totalspace,
					  "mcxt_mem_allocated(ctx, false)", "model total", file, line);
	return ok;
}

static void
fill(void *p, size_t n, unsigned seed)
{
	unsigned char *b = p;

	for (size_t i = 0; i < n; i++)
		b[i] = (unsigned char) (seed + i * 7 + (i >> 8));
}

static bool
verify(const void *p, size_t n, unsigned seed)
{
	const unsigned char *b = p;

	for (size_t i = 0; i < n; i++)
		if (b[i] != (unsigned char) (seed + i * 7 + (i >> 8)))
			return false;
	return true;
}

static bool
all_bytes(const void *p, size_t n, unsigned char v)
{
	const unsigned char *b = p;

	for (size_t i = 0; i < n; i++)
		if (b[i] != v)
			return false;
	return true;
}

/* ---- creation ------------------------------------------------------------ */

static void
check_fresh(size_t minsz, size_t initsz, size_t maxsz)
{
	mcxt_context_t *ctx = mcxt_aset_create(mcxt_top(), "Fresh", minsz, initsz, maxsz);
	asetsim		sim;
	mcxt_accounting_t acc;

	sim_init(&sim, minsz, initsz, maxsz);
	CHECK(ctx != NULL);
	CHECK_STR(mcxt_name(ctx), "Fresh");
	CHECK(mcxt_ident(ctx) == NULL);
	CHECK(mcxt_parent(ctx) == mcxt_top());
	CHECK_STR(mcxt_type_name(ctx), "AllocSet");
	CHECK(mcxt_is_empty(ctx));
	CHECK_SIM(ctx, &sim);
	mcxt_get_accounting(ctx, false, &acc);
	CHECK_EQ(acc.mem_allocated, sim.first_size);
	CHECK_EQ(acc.bytes_alloc, sim.first_size);
	CHECK_EQ(acc.bytes_freed, 0);
	CHECK_EQ(acc.max_bytes_held, sim.first_size);
	CHECK_EQ(mcxt_check(ctx), 0);
	mcxt_delete(ctx);
}

static void
test_create_presets(void)
{
	check_fresh(ALLOCSET_DEFAULT_SIZES);
	check_fresh(ALLOCSET_SMALL_SIZES);
	check_fresh(ALLOCSET_START_SMALL_SIZES);
	/* min_context_size sizes the keeper: one allocation of 64 KB */
	check_fresh(64 * 1024, 8 * 1024, 1024 * 1024);
	/* a min size too small for header + keeper is raised to fit */
	check_fresh(1024, 1024, 8 * 1024);
	check_fresh(0, 4096, 4096);
}

/* The keeper lives in the same allocation as the context, right behind it. */
static void
test_keeper_is_inline(void)
{
	mcxt_context_t *ctx = AllocSetContextCreate(TopMemoryContext, "Inline", ALLOCSET_DEFAULT_SIZES);
	char	   *p = mcxt_alloc(ctx, 16);
	char	   *lo = (char *) ctx + SIM_KEEPEROFF + SIM_BLOCKHDR;

	CHECK(p >= lo + SIM_HDR);
	CHECK(p < (char *) ctx + sim_first_block_size(0, ALLOCSET_DEFAULT_INITSIZE));
	/* the first chunk is the first thing in the keeper */
	CHECK(p == lo + SIM_HDR);
	mcxt_delete(ctx);
}

static void
test_bad_create_params(void)
{
	mcxt_context_t *volatile ctx = NULL;

	EXPECT_ERROR(MCXT_ERR_MISUSE, ctx = mcxt_aset_create(mcxt_top(), "TooSmallInit", 0, 512, 8192));
	EXPECT_ERROR(MCXT_ERR_MISUSE, ctx = mcxt_aset_create(mcxt_top(), "MaxBelowInit", 0, 16384, 8192));
	CHECK(ctx == NULL);
	CHECK_EQ(mcxt_check(mcxt_top()), 0);
}

/* ---- allocation ---------------------------------------------------------- */

static void
test_sizes_and_alignment(void)
{
	mcxt_context_t *ctx = mcxt_aset_create(mcxt_top(), "Sizes", ALLOCSET_DEFAULT_SIZES);
	asetsim		sim;
	static const size_t sizes[] = {0, 1, 7, 8, 9, 15, 16, 17, 31, 32, 33, 100, 127, 128, 129,
		255, 256, 257, 511, 512, 513, 1000, 1024, 1025, 2047, 2048, 2049,
		4095, 4096, 4097, 8191, 8192, 8193, 10000, 65536, 100001};
	void	   *ptrs[sizeof(sizes) / sizeof(sizes[0])];

	sim_init(&sim, ALLOCSET_DEFAULT_SIZES);
	CHECK_EQ(sim.chunk_limit, 8192);
	for (size_t i = 0; i < sizeof(sizes) / sizeof(sizes[0]); i++)
	{
		char	   *p = mcxt_alloc(ctx, sizes[i]);

		ptrs[i] = p;
		sim_alloc(&sim, sizes[i]);
		CHECK(p != NULL);
		CHECK_EQ((uintptr_t) p % 8, 0);
		CHECK(mcxt_chunk_context(p) == ctx);
		th_set_note("size %zu", sizes[i]);
		CHECK_EQ(mcxt_chunk_space(p), sim_chunk_space(&sim, sizes[i]));
		fill(p, sizes[i], (unsigned) i);
		CHECK_SIM(ctx, &sim);
	}
	th_note[0] = '\0';
	/* palloc(0) is an 8-byte chunk; two of them are distinct */
	CHECK_EQ(mcxt_chunk_space(ptrs[0]), sim_space(8192, 0));
	CHECK(SIM_TAIL != 0 || mcxt_chunk_space(ptrs[0]) == 16);
	{
		void	   *z = mcxt_alloc(ctx, 0);

		sim_alloc(&sim, 0);
		CHECK(z != ptrs[0]);
		CHECK_EQ(mcxt_chunk_space(z), sim_space(8192, 0));
	}
	CHECK(!mcxt_is_empty(ctx));
	for (size_t i = 0; i < sizeof(sizes) / sizeof(sizes[0]); i++)
	{
		th_set_note("size %zu", sizes[i]);
		CHECK(verify(ptrs[i], sizes[i], (unsigned) i));
		mcxt_free(ptrs[i]);
		sim_free(&sim, sizes[i]);
		CHECK_SIM(ctx, &sim);
	}
	th_note[0] = '\0';
	CHECK_EQ(mcxt_check(ctx), 0);
	/* freeing everything does not make the context empty (PostgreSQL: isReset) */
	CHECK(!mcxt_is_empty(ctx));
	mcxt_reset(ctx);
	sim_reset(&sim);
	CHECK(mcxt_is_empty(ctx));
	CHECK_SIM(ctx, &sim);
	mcxt_delete(ctx);
}

/* Block growth: init, doubling to max, keeper remainder carved on the way. */
static void
run_growth(size_t minsz, size_t initsz, size_t maxsz, size_t reqsize, int count)
{
	mcxt_context_t *ctx = mcxt_aset_create(mcxt_top(), "Growth", minsz, initsz, maxsz);
	asetsim		sim;
	int			newblocks = 0;

	sim_init(&sim, minsz, initsz, maxsz);
	for (int i = 0; i < count; i++)
	{
		void	   *p = mcxt_alloc(ctx, reqsize);

		newblocks += sim_alloc(&sim, reqsize);
		memset(p, 0x5A, reqsize);
		th_set_note("min %zu init %zu max %zu req %zu, alloc #%d", minsz, initsz, maxsz, reqsize, i);
		if (!CHECK_SIM(ctx, &sim))
			break;
	}
	th_note[0] = '\0';
	CHECK(newblocks > 3);
	CHECK_EQ(mcxt_check(ctx), 0);
	/* reset restores the keeper only and the next block is init again */
	mcxt_reset(ctx);
	sim_reset(&sim);
	CHECK_SIM(ctx, &sim);
	for (int i = 0; i < count / 2; i++)
	{
		mcxt_alloc(ctx, reqsize);
		sim_alloc(&sim, reqsize);
	}
	CHECK_SIM(ctx, &sim);
	mcxt_delete(ctx);
}

static void
test_block_growth(void)
{
	run_growth(ALLOCSET_DEFAULT_SIZES, 1000, 3000);
	run_growth(ALLOCSET_SMALL_SIZES, 200, 400);
	run_growth(ALLOCSET_START_SMALL_SIZES, 3000, 1500);
	/* chunk larger than init: the block doubles until the chunk fits */
	run_growth(0, 1024, 65536, 1024, 200);
	run_growth(16 * 1024, 2048, 32 * 1024, 700, 300);
	/* mixed classes exercise the carving of remainders */
	{
		mcxt_context_t *ctx = mcxt_aset_create(mcxt_top(), "Mixed", ALLOCSET_SMALL_SIZES);
		asetsim		sim;
		unsigned	x = 12345;

		sim_init(&sim, ALLOCSET_SMALL_SIZES);
		for (int i = 0; i < 2000; i++)
		{
			size_t		sz;

			x = x * 1103515245u + 12345u;
			sz = (x >> 16) % (sim.chunk_limit + 1);
			mcxt_alloc(ctx, sz);
			sim_alloc(&sim, sz);
			th_set_note("mixed alloc #%d size %zu", i, sz);
			if (!CHECK_SIM(ctx, &sim))
				break;
		}
		th_note[0] = '\0';
		CHECK_EQ(mcxt_check(ctx), 0);
		mcxt_delete(ctx);
	}
}

/* allocChunkLimit: halved until 4 max-size chunks fit in a max-size block. */
static void
test_chunk_limit(void)
{
	static const size_t maxes[] = {8192, 16384, 32768, 65536, 1024 * 1024};

	for (size_t i = 0; i < sizeof(maxes) / sizeof(maxes[0]); i++)
	{
		mcxt_context_t *ctx = mcxt_aset_create(mcxt_top(), "Limit", 0, 1024, maxes[i]);
		size_t		limit = sim_chunk_limit(maxes[i]);
		size_t		before = mcxt_mem_allocated(ctx, false);
		void	   *a;
		void	   *b;

		th_set_note("max %zu limit %zu", maxes[i], limit);
		/* the largest small request (limit, less the tail room of checking builds) */
		a = mcxt_alloc(ctx, limit - SIM_TAIL);
		CHECK_EQ(mcxt_chunk_space(a), limit + 8);
		b = mcxt_alloc(ctx, limit - SIM_TAIL + 1);
		/* above the limit: a dedicated block, exactly sized */
		CHECK_EQ(mcxt_chunk_space(b), sim_align(limit + 1) + 8);
		{
			size_t		with_b = mcxt_mem_allocated(ctx, false);

			mcxt_free(b);
			/* given back at once */
			CHECK_EQ(with_b - mcxt_mem_allocated(ctx, false), sim_large_block(limit - SIM_TAIL + 1));
		}
		mcxt_free(a);
		CHECK(mcxt_mem_allocated(ctx, false) >= before);
		mcxt_delete(ctx);
	}
	th_note[0] = '\0';
}

static void
test_freelist_lifo(void)
{
	mcxt_context_t *ctx = mcxt_aset_create(mcxt_top(), "Lifo", ALLOCSET_DEFAULT_SIZES);
	void	   *a = mcxt_alloc(ctx, 100);
	void	   *b = mcxt_alloc(ctx, 120);
	void	   *c = mcxt_alloc(ctx, 60);
	size_t		held = mcxt_mem_allocated(ctx, false);

	CHECK(a != b && b != c);
	mcxt_free(a);
	mcxt_free(b);
	/* same class (128): b comes back first, then a */
	CHECK(mcxt_alloc(ctx, 127) == b);
	CHECK(mcxt_alloc(ctx, 65) == a);
	/* a different class does not take from the 128 list */
	mcxt_free(c);
	CHECK(mcxt_alloc(ctx, 33) == c);
	/* freed small chunks never go back to the block source */
	CHECK_EQ(mcxt_mem_allocated(ctx, false), held);
	mcxt_delete(ctx);
}

static void
test_zero_and_flags(void)
{
	mcxt_context_t *ctx = mcxt_aset_create(mcxt_top(), "Flags", ALLOCSET_DEFAULT_SIZES);
	mcxt_context_t *old;
	unsigned char *p;
	unsigned char *q;

	/* dirty a chunk, free it, and get the same chunk back zeroed */
	p = mcxt_alloc(ctx, 200);
	memset(p, 0xAA, 200);
	mcxt_free(p);
	q = mcxt_alloc_zero(ctx, 200);
	CHECK(q == p);
	CHECK(all_bytes(q, 200, 0));
	memset(q, 0xAB, 200);
	mcxt_free(q);
	q = mcxt_alloc_extended(ctx, 190, MCXT_ALLOC_ZERO);
	CHECK(q == p);
	CHECK(all_bytes(q, 190, 0));
	memset(q, 0xAC, 190);
	mcxt_free(q);
	q = mcxt_alloc_extended(ctx, 180, MCXT_ALLOC_ZERO | MCXT_ALLOC_NO_OOM | MCXT_ALLOC_HUGE);
	CHECK(q == p);
	CHECK(all_bytes(q, 180, 0));
	mcxt_free(q);
	/* large chunks are zeroed too */
	q = mcxt_alloc_extended(ctx, 50000, MCXT_ALLOC_ZERO);
	CHECK(all_bytes(q, 50000, 0));
	mcxt_free(q);
	q = MemoryContextAllocZero(ctx, 30000);
	CHECK(all_bytes(q, 30000, 0));
	mcxt_free(q);
	/* no flags: plain allocation, usable over its whole length */
	q = mcxt_alloc_extended(ctx, 77, 0);
	memset(q, 1, 77);
	CHECK_EQ(mcxt_chunk_space(q), sim_space(8192, 77));
	mcxt_free(q);

	/* the PostgreSQL spellings go to CurrentMemoryContext */
	old = MemoryContextSwitchTo(ctx);
	CHECK(CurrentMemoryContext == ctx);
	p = palloc(200);
	memset(p, 0xAA, 200);
	pfree(p);
	q = palloc0(200);
	CHECK(q == p);
	CHECK(all_bytes(q, 200, 0));
	CHECK(GetMemoryChunkContext(q) == ctx);
	pfree(q);
	q = palloc_extended(100, MCXT_ALLOC_ZERO);
	CHECK(all_bytes(q, 100, 0));
	CHECK(GetMemoryChunkContext(q) == ctx);
	pfree(q);
	{
		int		   *arr = palloc_array(int, 10);
		int		   *arr0 = palloc0_array(int, 10);
		int		   *big;

		CHECK_EQ(GetMemoryChunkSpace(arr), sim_space(8192, 10 * sizeof(int)));
		for (int i = 0; i < 10; i++)
		{
			CHECK_EQ(arr0[i], 0);
			arr[i] = i;
		}
		big = repalloc_array(arr, int, 1000);
		for (int i = 0; i < 10; i++)
			CHECK_EQ(big[i], i);
		CHECK_EQ(GetMemoryChunkSpace(big), sim_space(8192, 1000 * sizeof(int)));
		pfree(big);
		pfree(arr0);
	}
	q = MemoryContextAlloc(ctx, 10);
	CHECK(GetMemoryChunkContext(q) == ctx);
	pfree(q);
	q = MemoryContextAllocExtended(ctx, 10, MCXT_ALLOC_ZERO);
	CHECK(all_bytes(q, 10, 0));
	pfree(q);
	q = MemoryContextAllocHuge(ctx, 100);
	CHECK(GetMemoryChunkContext(q) == ctx);
	pfree(q);
	MemoryContextSwitchTo(old);
	CHECK(CurrentMemoryContext == old);
	CHECK_EQ(mcxt_check(ctx), 0);
	mcxt_delete(ctx);
}

/* ---- repalloc ------------------------------------------------------------ */

static void
test_realloc_small(void)
{
	mcxt_context_t *ctx = mcxt_aset_create(mcxt_top(), "ReallocSmall", ALLOCSET_DEFAULT_SIZES);
	asetsim		sim;
	const size_t top = 128 - SIM_TAIL;	/* the largest request a 128-byte chunk holds */
	char	   *p;
	char	   *q;

	sim_init(&sim, ALLOCSET_DEFAULT_SIZES);
	p = mcxt_alloc(ctx, 100);
	sim_alloc(&sim, 100);
	fill(p, 100, 1);
	/* grow within the chunk: same pointer */
	q = mcxt_realloc(p, top);
	sim_realloc(&sim, 100, top, false);
	CHECK(q == p);
	CHECK(verify(q, 100, 1));
	fill(q, top, 2);
	/* any shrink: same pointer, same chunk */
	q = mcxt_realloc(p, 10);
	sim_realloc(&sim, top, 10, false);
	CHECK(q == p);
	CHECK_EQ(mcxt_chunk_space(q), 128 + 8);
	CHECK(verify(q, 10, 2));
	q = mcxt_realloc(p, 0);
	CHECK(q == p);
	/* back up to the chunk's size, though the last request was 0 */
	q = mcxt_realloc(p, top);
	CHECK(q == p);
	fill(q, top, 3);
	CHECK_SIM(ctx, &sim);
	/* grow past the chunk: moves, content kept, old chunk on its freelist */
	q = mcxt_realloc(p, top + 1);
	sim_realloc(&sim, top, top + 1, false);
	CHECK(q != p);
	CHECK(verify(q, top, 3));
	CHECK_EQ(mcxt_chunk_space(q), 256 + 8);
	CHECK(mcxt_chunk_context(q) == ctx);
	CHECK_SIM(ctx, &sim);
	CHECK(mcxt_alloc(ctx, top) == p);	/* LIFO: the old chunk is reused */
	sim_alloc(&sim, top);
	fill(q, top + 1, 4);
	/* small -> large */
	p = mcxt_realloc(q, 20000);
	sim_realloc(&sim, top + 1, 20000, false);
	CHECK(verify(p, top + 1, 4));
	CHECK_EQ(mcxt_chunk_space(p), sim_space(8192, 20000));
	CHECK_SIM(ctx, &sim);
	fill(p, 20000, 5);
	/* large -> larger: the block is reallocated */
	q = mcxt_realloc(p, 70001);
	sim_realloc(&sim, 20000, 70001, true);
	CHECK(verify(q, 20000, 5));
	CHECK_EQ(mcxt_chunk_space(q), sim_space(8192, 70001));
	CHECK(mcxt_chunk_context(q) == ctx);
	CHECK_SIM(ctx, &sim);
	fill(q, 70001, 6);
	/* large -> smaller but still large: block shrinks, mem_allocated drops */
	p = mcxt_realloc(q, 9000);
	sim_realloc(&sim, 70001, 9000, true);
	CHECK(verify(p, 9000, 6));
	CHECK_EQ(mcxt_chunk_space(p), sim_space(8192, 9000));
	CHECK_SIM(ctx, &sim);
	/* large -> small: stays external (src/README.md, as PostgreSQL) */
	q = mcxt_realloc(p, 50);
	sim_realloc(&sim, 9000, 50, true);
	CHECK(verify(q, 50, 6));
	CHECK_EQ(mcxt_chunk_space(q), sim_align(50 + SIM_TAIL) + 8);
	CHECK_SIM(ctx, &sim);
	mcxt_free(q);
	sim.total -= sim_large_block(50);	/* its block goes back whatever its size */
	sim.nblocks--;
	CHECK_SIM(ctx, &sim);
	CHECK_EQ(mcxt_check(ctx), 0);
	mcxt_delete(ctx);
}

/* repalloc keeps the chunk in its own context whatever the current one is. */
static void
test_realloc_keeps_context(void)
{
	mcxt_context_t *a = mcxt_aset_create(mcxt_top(), "A", ALLOCSET_SMALL_SIZES);
	mcxt_context_t *b = mcxt_aset_create(mcxt_top(), "B", ALLOCSET_SMALL_SIZES);
	mcxt_context_t *old = MemoryContextSwitchTo(b);
	char	   *p = MemoryContextAlloc(a, 10);
	char	   *q;

	strcpy(p, "keepme");
	q = repalloc(p, 5000);
	CHECK(GetMemoryChunkContext(q) == a);
	CHECK_STR(q, "keepme");
	q = repalloc(q, 100);
	CHECK(GetMemoryChunkContext(q) == a);
	CHECK_STR(q, "keepme");
	CHECK(mcxt_is_empty(b));
	MemoryContextSwitchTo(old);
	mcxt_delete(a);
	mcxt_delete(b);
}

/* ---- strings ------------------------------------------------------------- */

static size_t
call_pvsnprintf(char *buf, size_t len, const char *fmt, ...) MCXT_PRINTF(3, 4);

static size_t
call_pvsnprintf(char *buf, size_t len, const char *fmt, ...)
{
	va_list		ap;
	size_t		r;

	va_start(ap, fmt);
	r = pvsnprintf(buf, len, fmt, ap);
	va_end(ap);
	return r;
}

static char *
call_vsprintf(mcxt_context_t *ctx, const char *fmt, ...) MCXT_PRINTF(2, 3);

static char *
call_vsprintf(mcxt_context_t *ctx, const char *fmt, ...)
{
	va_list		ap;
	char	   *r;

	va_start(ap, fmt);
	r = mcxt_vsprintf(ctx, fmt, ap);
	va_end(ap);
	return r;
}

static void
test_strings(void)
{
	mcxt_context_t *ctx = mcxt_aset_create(mcxt_top(), "Strings", ALLOCSET_DEFAULT_SIZES);
	mcxt_context_t *old = MemoryContextSwitchTo(ctx);
	static char big[20001];
	char	   *s;
	char		buf[16];

	s = pstrdup("hello");
	CHECK_STR(s, "hello");
	CHECK(GetMemoryChunkContext(s) == ctx);
	CHECK_EQ(GetMemoryChunkSpace(s), sim_space(8192, 6));
	s = pstrdup("");
	CHECK_STR(s, "");
	s = pnstrdup("hello world", 5);
	CHECK_STR(s, "hello");
	s = pnstrdup("abc", 10);
	CHECK_STR(s, "abc");
	s = pnstrdup("abc", 0);
	CHECK_STR(s, "");
	s = MemoryContextStrdup(ctx, "via MemoryContextStrdup");
	CHECK_STR(s, "via MemoryContextStrdup");
	s = mcxt_strndup(ctx, "xyzzy", 3);
	CHECK_STR(s, "xyz");
	s = mcxt_strdup(ctx, "plain");
	CHECK_STR(s, "plain");
	CHECK(GetMemoryChunkContext(s) == ctx);

	s = psprintf("%d-%s-%c-%05.1f", 42, "x", 'y', 3.5);
	CHECK_STR(s, "42-x-y-003.5");
	CHECK(GetMemoryChunkContext(s) == ctx);
	s = psprintf("%s", "");
	CHECK_STR(s, "");
	memset(big, 'q', sizeof(big) - 1);
	s = psprintf("<%s>", big);
	CHECK_EQ(strlen(s), sizeof(big) + 1);
	CHECK(s[0] == '<' && s[sizeof(big)] == '>' && s[1] == 'q' && s[sizeof(big) - 1] == 'q');
	s = call_vsprintf(ctx, "%s/%u", "base", 16392u);
	CHECK_STR(s, "base/16392");
	s = mcxt_sprintf(ctx, "%zu", (size_t) 123456789);
	CHECK_STR(s, "123456789");

	/* pvsnprintf: bytes written if it fit, else the size needed (> len) */
	memset(buf, 'Z', sizeof(buf));
	CHECK_EQ(call_pvsnprintf(buf, sizeof(buf), "%s", "hello"), 5);
	CHECK_STR(buf, "hello");
	CHECK_EQ(call_pvsnprintf(buf, 6, "%s", "hello"), 5);
	CHECK_EQ(call_pvsnprintf(buf, 5, "%s", "hello"), 6);
	CHECK_EQ(call_pvsnprintf(buf, 4, "%s", "hello"), 6);
	CHECK_EQ(call_pvsnprintf(buf, 1, "%d", 1234567), 8);
	CHECK_EQ(call_pvsnprintf(buf, 0, "%d", 12), 3);
	CHECK_EQ(call_pvsnprintf(buf, sizeof(buf), "%s", ""), 0);
	CHECK_STR(buf, "");

	MemoryContextSwitchTo(old);
	CHECK_EQ(mcxt_check(ctx), 0);
	mcxt_delete(ctx);
}

/* ---- chunk queries on large chunks and in several contexts --------------- */

static void
test_chunk_queries(void)
{
	mcxt_context_t *a = mcxt_aset_create(mcxt_top(), "QA", ALLOCSET_SMALL_SIZES);
	mcxt_context_t *b = mcxt_aset_create(a, "QB", ALLOCSET_DEFAULT_SIZES);
	void	   *pa = mcxt_alloc(a, 3000);	/* large in a SMALL set */
	void	   *pb = mcxt_alloc(b, 3000);	/* small in a DEFAULT set */

	CHECK(mcxt_chunk_context(pa) == a);
	CHECK(mcxt_chunk_context(pb) == b);
	CHECK_EQ(mcxt_chunk_space(pa), sim_space(sim_chunk_limit(ALLOCSET_SMALL_MAXSIZE), 3000));
	CHECK_EQ(mcxt_chunk_space(pb), sim_space(8192, 3000));
	CHECK(SIM_TAIL != 0 || (mcxt_chunk_space(pa) == 3008 && mcxt_chunk_space(pb) == 4104));
	mcxt_free(pa);
	mcxt_free(pb);
	mcxt_delete(a);
}

int
main(void)
{
	th_catch_errors();
	RUN(test_create_presets);
	RUN(test_keeper_is_inline);
	RUN(test_bad_create_params);
	RUN(test_sizes_and_alignment);
	RUN(test_block_growth);
	RUN(test_chunk_limit);
	RUN(test_freelist_lifo);
	RUN(test_zero_and_flags);
	RUN(test_realloc_small);
	RUN(test_realloc_keeps_context);
	RUN(test_strings);
	RUN(test_chunk_queries);
	mcxt_thread_cleanup();
	return th_report();
}
