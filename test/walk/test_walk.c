/*
 * test_walk.c
 *	  The walker, analyses and reports on a real libmcxt tree that this
 *	  program builds in its own memory, shaped like the seed story: a
 *	  long-lived context full of psprintf("base/%u") chunks interleaved with
 *	  other allocations, some freed, some still referenced, some dropped.
 *
 * The tree is read from a forked, frozen copy of this process (same
 * addresses, same bytes), so nothing the walker allocates can show up in
 * the memory it scans.  Every expected value is computed here from what
 * the program did or from the library's own statistics (mcxt_stats_json,
 * mcxt_stats_print, mcxt_mem_consumed, mcxt_get_accounting): the walker's
 * numbers must equal them exactly.
 *
 * Pointers the test must remember without them counting as references
 * (the dropped chunks) are stored XOR-ed with a mask, so no word in memory
 * equals them.
 */
#define _GNU_SOURCE
#include "../testhelper.h"

#include <pthread.h>
#include <unistd.h>

#include "../../src/chunk.h"
#include "analyze.h"
#include "report.h"
#include "selfread.h"
#include "walk.h"

/*
 * Under valgrind with a MCXT_VALGRIND library, valgrind's own bookkeeping of
 * every mempool chunk is in the snapshot's memory too and points at every
 * chunk, so the conservative reference scan rightly finds each one
 * referenced: exact unreferenced counts hold only outside valgrind, and
 * inside it the count is only checked to be sane.
 */
#ifdef MCXT_TEST_LIB_VALGRIND
#include <valgrind/valgrind.h>
#define UNREF_EXACT()	(!RUNNING_ON_VALGRIND)
#else
#define UNREF_EXACT()	1
#endif
#define CHECK_UNREF(got, want) \
	do { \
		if (UNREF_EXACT()) \
			CHECK_EQ((got), (want)); \
		else \
			CHECK((got) >= 0); \
	} while (0)

/* the library's registry (exported; its type is in chunk.h) */
extern mcxt_registry_t mcxt_registry;

#define NBASE		2000		/* base/%u chunks in phase 1 */
#define NMORE		500			/* more in phase 2 */
#define NWORDS		1500		/* distinct letter-only strings: 1500 families */
#define MASK		UINT64_C(0xA5A5F00DDEADBEEF)

static mcxt_context_t *redo;	/* TopMemoryContext/RedoContext */
static mcxt_context_t *child_a;
static mcxt_context_t *child_b;
static mcxt_context_t *grandchild;
static mcxt_context_t *cache;
static mcxt_context_t *selfref;	/* TopMemoryContext/SelfRef */
static mcxt_context_t *gen;		/* a Generation context */
static size_t gen_space;		/* what the library says one gen/%u chunk occupies */

#define NGEN		400
static mcxt_context_t *bump;	/* a Bump context */
static mcxt_context_t *slab;	/* a Slab context */
static size_t slab_space;

#define NSELF		50
#define NRING		30

/*
 * References the test keeps on purpose, in writable memory (.bss).  Written
 * but hardly read: volatile, so the compiler cannot drop the stores.
 */
static char *volatile keep[NBASE + NMORE];
static char *volatile keep_inner[NBASE + NMORE];	/* pointers into the middle of chunks */
static char *volatile others[NBASE];
static char *volatile big_chunk;

/* every base chunk ever made, XOR-ed; and its state */
static uint64_t enc[NBASE + NMORE];
static bool is_freed[NBASE + NMORE];
static bool is_dropped[NBASE + NMORE];	/* no plain pointer kept */
static int	nbase;
static size_t base_space;		/* what the library says one base/%u chunk occupies */
static size_t big_space;

static uint64_t
dec(uint64_t v)
{
	return v ^ MASK;
}

/* One base/%u chunk, kept, kept by an interior pointer, or dropped. */
/*
 * Not inlined, like the phases that call it: a leaked pointer held in a
 * callee-saved register of main() would be pushed onto the stack by the
 * fork of snap_fork, after the scrub, and count as a reference (gcc -O3).
 */
static __attribute__((noinline)) void
leak_one(int i)
{
	char	   *p = mcxt_sprintf(redo, "base/%u", 16384u + (unsigned) i);

	if (base_space == 0)
		base_space = mcxt_chunk_space(p);
	enc[nbase] = (uint64_t) (uintptr_t) p ^ MASK;
	if (i % 3 != 0)
		keep[nbase] = p;
	else if (i % 9 == 0)
		keep_inner[nbase] = p + 5;
	else
		is_dropped[nbase] = true;
	nbase++;
}

static __attribute__((noinline)) void
build_tree(void)
{
	char	   *volatile to_free[NBASE / 100 + 1];
	int			nfree = 0;

	redo = mcxt_aset_create(mcxt_top(), "RedoContext", MCXT_DEFAULT_SIZES);
	cache = mcxt_aset_create(mcxt_top(), "CacheMemoryContext", MCXT_DEFAULT_SIZES);
	child_a = mcxt_aset_create(redo, "ChildA", MCXT_SMALL_SIZES);
	mcxt_set_ident(child_a, "ident of child A");
	child_b = mcxt_aset_create(redo, "ChildB", MCXT_DEFAULT_SIZES);
	grandchild = mcxt_aset_create(child_b, "GrandChild", MCXT_SMALL_SIZES);

	for (int i = 0; i < NBASE; i++)
	{
		int			idx = nbase;

		leak_one(i);
		if (i % 100 == 7)
		{
			/* freed below; no reference to it stays behind */
			to_free[nfree++] = (char *) (uintptr_t) dec(enc[idx]);
			keep[idx] = NULL;
			keep_inner[idx] = NULL;
			is_freed[idx] = true;
		}
		if (i % 50 == 49)
		{
			/* interleaved: a 40-byte record and a string in the same context */
			others[i] = mcxt_alloc_zero(redo, 40);
			mcxt_strdup(redo, "relation pg_class");
		}
		if (i % 10 == 0)
			mcxt_sprintf(cache, "rel_%u", 1000u + (unsigned) i);
	}
	for (int k = 0; k < nfree; k++)
		mcxt_free(to_free[k]);
	memset((char *) to_free, 0, sizeof(to_free));

	/* many families: names made of letters only, each its own family */
	for (int i = 0; i < NWORDS; i++)
	{
		char		word[16];
		int			v = i;
		int			k = 0;

		do
		{
			word[k++] = (char) ('a' + v % 26);
			v /= 26;
		} while (v > 0 && k < 15);
		word[k] = '\0';
		mcxt_sprintf(cache, "key_%s", word);
	}

	/*
	 * Pointers between leaked chunks: 50 that point only into themselves
	 * (not a reference), and a ring of 30 that point at each other (each
	 * is referenced, from another leaked chunk: the scan is conservative).
	 */
	selfref = mcxt_aset_create(mcxt_top(), "SelfRef", MCXT_DEFAULT_SIZES);
	for (int i = 0; i < NSELF; i++)
	{
		uint64_t   *c = mcxt_alloc_zero(selfref, 256);

		c[0] = (uint64_t) (uintptr_t) c + 16;
	}
	{
		uint64_t   *first = mcxt_alloc_zero(selfref, 512);
		uint64_t   *prev = first;

		for (int i = 1; i < NRING; i++)
		{
			uint64_t   *c = mcxt_alloc_zero(selfref, 512);

			prev[0] = (uint64_t) (uintptr_t) c;
			prev = c;
		}
		prev[0] = (uint64_t) (uintptr_t) first;
	}

	/* the other context types: their counters come from their blocks */
	gen = mcxt_generation_create(mcxt_top(), "GenContext", MCXT_DEFAULT_SIZES);
	{
		void	   *g[300];

		for (int i = 0; i < 300; i++)
			g[i] = mcxt_alloc(gen, 50 + i % 100);
		for (int i = 0; i < 300; i += 3)
			mcxt_free(g[i]);
		mcxt_alloc(gen, 100000);
		/* a leak in a Generation context: its chunks are walked too */
		for (int i = 0; i < NGEN; i++)
		{
			char	   *p = mcxt_sprintf(gen, "gen/%u", 7000u + (unsigned) i);

			if (gen_space == 0)
				gen_space = mcxt_chunk_space(p);
		}
	}
	slab = mcxt_slab_create(mcxt_top(), "SlabContext", 8192, 64);
	{
		void	   *sl[1000];

		for (int i = 0; i < 1000; i++)
		{
			sl[i] = mcxt_alloc(slab, 64);
			snprintf(sl[i], 64, "slab/%d", i);
		}
		slab_space = mcxt_chunk_space(sl[999]);
		/* whole blocks freed (the empty list) and a few slots here and there */
		for (int i = 0; i < 1000; i++)
			if (i < 300 || i % 7 == 0)
				mcxt_free(sl[i]);
	}
	bump = mcxt_bump_create(mcxt_top(), "BumpContext", MCXT_DEFAULT_SIZES);
	for (int i = 0; i < 500; i++)
		mcxt_alloc(bump, 40);

	/* children: small chunks, a freed one, an external chunk */
	for (int i = 0; i < 30; i++)
		mcxt_alloc(child_a, 24);
	mcxt_free(mcxt_alloc(child_a, 100));
	big_chunk = mcxt_alloc(child_b, 20000);
	memset((char *) big_chunk, 'x', 20000);
	big_space = mcxt_chunk_space(big_chunk);
	mcxt_alloc(grandchild, 300);
}

/* ---- a second thread with its own tree ------------------------------------------ */

static pthread_t worker;
static pthread_mutex_t worker_mu = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t worker_cv = PTHREAD_COND_INITIALIZER;
static int	worker_state;		/* 0 starting, 1 tree built, 2 told to exit */
static int64_t worker_tid;
static mcxt_context_t *worker_top;
static char *worker_json;		/* what the library says about the worker's tree */
static char *worker_text;

static void *
worker_main(void *arg)
{
	mcxt_context_t *c = mcxt_aset_create(mcxt_top(), "WorkerContext", MCXT_SMALL_SIZES);
	size_t		len;
	FILE	   *f;

	(void) arg;
	for (unsigned i = 0; i < 100; i++)
		mcxt_sprintf(c, "worker %u", i);
	mcxt_aset_create(c, "WorkerChild", MCXT_SMALL_SIZES);
	worker_top = mcxt_top();
	worker_tid = gettid();
	f = open_memstream(&worker_json, &len);
	mcxt_stats_json(worker_top, f);
	fclose(f);
	f = open_memstream(&worker_text, &len);
	mcxt_stats_print(worker_top, 100, 100, f);
	fclose(f);
	pthread_mutex_lock(&worker_mu);
	worker_state = 1;
	pthread_cond_broadcast(&worker_cv);
	while (worker_state != 2)
		pthread_cond_wait(&worker_cv, &worker_mu);
	pthread_mutex_unlock(&worker_mu);
	return NULL;				/* the library deletes the tree at thread exit */
}

static void
worker_start(void)
{
	pthread_create(&worker, NULL, worker_main, NULL);
	pthread_mutex_lock(&worker_mu);
	while (worker_state != 1)
		pthread_cond_wait(&worker_cv, &worker_mu);
	pthread_mutex_unlock(&worker_mu);
}

static void
worker_stop(void)
{
	pthread_mutex_lock(&worker_mu);
	worker_state = 2;
	pthread_cond_broadcast(&worker_cv);
	pthread_mutex_unlock(&worker_mu);
	pthread_join(worker, NULL);
	free(worker_json);
	free(worker_text);
}

/* ---- expected values, computed from the test's own records --------------------- */

typedef struct expect
{
	uint64_t	live;			/* live base chunks */
	uint64_t	unref;			/* live and dropped */
	uint64_t	blocks;			/* distinct blocks holding live ones */
	uint64_t	stride;			/* most common gap between neighbours in one block */
} expect;

static uint64_t
block_of(uint64_t ptr)
{
	uint64_t	hdr = 0;

	selfread_peek(ptr - MCXT_CHUNK_HDRSZ, &hdr, sizeof(hdr));
	return ptr - MCXT_CHUNK_HDRSZ - mcxt_chunk_hdr_offset(hdr);
}

static int
cmp_u64(const void *a, const void *b)
{
	uint64_t	x = *(const uint64_t *) a;
	uint64_t	y = *(const uint64_t *) b;

	return x < y ? -1 : x > y;
}

static void
compute_expect(expect *e)
{
	static uint64_t addrs[NBASE + NMORE];
	static uint64_t blocks[NBASE + NMORE];
	static uint64_t gaps[NBASE + NMORE];
	size_t		n = 0;
	size_t		ng = 0;
	uint64_t	best = 0;
	size_t		bestn = 0;

	memset(e, 0, sizeof(*e));
	/*
	 * Sorted as (address / 8) with the top bit set: same order, and no word
	 * that looks like a pointer is left behind in qsort's scratch memory.
	 */
	for (int i = 0; i < nbase; i++)
	{
		if (is_freed[i])
			continue;
		addrs[n++] = (dec(enc[i]) >> 3) | (UINT64_C(1) << 63);
		e->live++;
		if (is_dropped[i])
			e->unref++;
	}
	qsort(addrs, n, sizeof(uint64_t), cmp_u64);
	for (size_t k = 0; k < n; k++)
		addrs[k] = (addrs[k] & ~(UINT64_C(1) << 63)) << 3;
	for (size_t k = 0; k < n; k++)
		blocks[k] = block_of(addrs[k]);
	for (size_t k = 1; k < n; k++)
		if (blocks[k] == blocks[k - 1])
			gaps[ng++] = addrs[k] - addrs[k - 1];
	qsort(gaps, ng, sizeof(uint64_t), cmp_u64);
	for (size_t k = 0; k < ng;)
	{
		size_t		j = k;

		while (j < ng && gaps[j] == gaps[k])
			j++;
		if (j - k > bestn)
		{
			bestn = j - k;
			best = gaps[k];
		}
		k = j;
	}
	e->stride = best;
	qsort(blocks, n, sizeof(uint64_t), cmp_u64);
	for (size_t k = 0; k < n; k++)
		if (k == 0 || blocks[k] != blocks[k - 1])
			e->blocks++;
	memset(addrs, 0, sizeof(addrs));
}

/* ---- walking a snapshot ---------------------------------------------------------- */

typedef struct snap
{
	pid_t		pid;
	selfread	sr;
	mcxt_reader reader;
	mcxt_walk  *w;
	mcxt_suspects *s;
} snap;

/* Freeze a copy of this process as it is now (stale pointers scrubbed first). */
static bool
snap_fork(snap *sn)
{
	memset(sn, 0, sizeof(*sn));
	selfread_scrub_stack();
	sn->pid = selfread_fork_snapshot();
	if (sn->pid < 0)
		return false;
	if (!selfread_open(&sn->sr, sn->pid))
		return false;
	sn->reader = selfread_reader(&sn->sr);
	return true;
}

/* Walk the copy (from the registry's address, or by its magic) and find suspects. */
static mcxt_walk *
snap_walk(snap *sn, bool by_magic)
{
	mcxt_walk_opts opts;

	memset(&opts, 0, sizeof(opts));
	if (!by_magic)
		opts.root_addr = (uint64_t) (uintptr_t) &mcxt_registry;
	return mcxt_walk_new(&mcxt_layout_libmcxt, &sn->reader, &opts);
}

static void
snap_drop(snap *sn)
{
	mcxt_suspects_free(sn->s);
	mcxt_walk_free(sn->w);
	selfread_close(&sn->sr);
	if (sn->pid > 0)
		selfread_kill(sn->pid);
	memset(sn, 0, sizeof(*sn));
}

/* Index of the root whose thread id is tid, or -1. */
static int
root_of(const mcxt_walk *w, int64_t tid)
{
	for (size_t r = 0; r < w->nroots; r++)
		if (w->roots[r].tid == tid)
			return (int) r;
	return -1;
}

/* A context of the main thread's tree by name. */
static int32_t
find_ctx(const mcxt_walk *w, const char *name)
{
	int			root = root_of(w, gettid());

	for (size_t i = 0; i < w->nctx; i++)
		if (w->ctx[i].root == root && w->ctx[i].name && strcmp(w->ctx[i].name, name) == 0)
			return (int32_t) i;
	return -1;
}

/* Contexts in tree root. */
static size_t
count_root(const mcxt_walk *w, int root)
{
	size_t		n = 0;

	for (size_t i = 0; i < w->nctx; i++)
		n += w->ctx[i].root == root;
	return n;
}

/*
 * Two snapshots, both taken before anything is walked, so that no array
 * of chunk addresses the walker builds can be in the memory it scans: s1
 * after building the tree, s2 after growing it.  What the library says
 * about the tree at each point is recorded here.
 */
static snap s1;
static snap s2;

#define NCTX 10
typedef struct lib_state
{
	char	   *json;			/* mcxt_stats_json(top) */
	char	   *text;			/* mcxt_stats_print(top, 100, 100) */
	char	   *text_limited;	/* mcxt_stats_print(top, 2, 1) */
	mcxt_counters_t cnt[NCTX];
	mcxt_accounting_t acc[NCTX];
	expect		e;
	mcxt_counters_t redo_cnt;
	mcxt_counters_t new_cnt;	/* NewContext (s2 only) */
} lib_state;

static lib_state lib1;
static lib_state lib2;

static mcxt_context_t **
all_contexts(void)
{
	static mcxt_context_t *all[NCTX];

	all[0] = mcxt_top();
	all[1] = redo;
	all[2] = cache;
	all[3] = child_a;
	all[4] = child_b;
	all[5] = grandchild;
	all[6] = selfref;
	all[7] = gen;
	all[8] = bump;
	all[9] = slab;
	return all;
}

static void
record_lib_state(lib_state *ls)
{
	FILE	   *f;
	size_t		len;

	f = open_memstream(&ls->json, &len);
	mcxt_stats_json(mcxt_top(), f);
	fclose(f);
	f = open_memstream(&ls->text, &len);
	mcxt_stats_print(mcxt_top(), 100, 100, f);
	fclose(f);
	f = open_memstream(&ls->text_limited, &len);
	mcxt_stats_print(mcxt_top(), 2, 1, f);
	fclose(f);
	for (int k = 0; k < NCTX; k++)
	{
		mcxt_mem_consumed(all_contexts()[k], false, &ls->cnt[k]);
		mcxt_get_accounting(all_contexts()[k], false, &ls->acc[k]);
	}
	compute_expect(&ls->e);
	mcxt_mem_consumed(redo, false, &ls->redo_cnt);
}

static void
free_lib_state(lib_state *ls)
{
	free(ls->json);
	free(ls->text);
	free(ls->text_limited);
}

static void
dump_warnings(const mcxt_walk *w)
{
	if (w->nwarnings > 1)
		mcxt_report_warnings_text(stderr, w);
}

/*
 * The only warning a walk of an intact tree gives: the chunks of the Bump
 * context are not walked (its counters are).
 */
static bool
only_expected_warning(const mcxt_walk *w)
{
	return w->nwarnings == 1 &&
		strstr(w->warnings[0], "1 contexts of types whose chunks are not walked yet") != NULL;
}

/* ---- tests ---------------------------------------------------------------------- */

static void
test_tree(void)
{
	static const struct
	{
		const char *name;
		const char *parent;
		int			level;
		const char *path;
	}			want[] = {
		{"TopMemoryContext", NULL, 0, "TopMemoryContext"},
		{"RedoContext", "TopMemoryContext", 1, "TopMemoryContext/RedoContext"},
		{"CacheMemoryContext", "TopMemoryContext", 1, "TopMemoryContext/CacheMemoryContext"},
		{"ChildA", "RedoContext", 2, "TopMemoryContext/RedoContext/ChildA"},
		{"ChildB", "RedoContext", 2, "TopMemoryContext/RedoContext/ChildB"},
		{"GrandChild", "ChildB", 3, "TopMemoryContext/RedoContext/ChildB/GrandChild"},
		{"SelfRef", "TopMemoryContext", 1, "TopMemoryContext/SelfRef"},
		{"GenContext", "TopMemoryContext", 1, "TopMemoryContext/GenContext"},
		{"BumpContext", "TopMemoryContext", 1, "TopMemoryContext/BumpContext"},
		{"SlabContext", "TopMemoryContext", 1, "TopMemoryContext/SlabContext"},
	};
	mcxt_walk  *w = s1.w;

	dump_warnings(w);
	CHECK(only_expected_warning(w));
	CHECK(!w->partial);
	CHECK_EQ(w->nroots, 2);
	CHECK_EQ(w->registry_addr, (uint64_t) (uintptr_t) &mcxt_registry);
	REQUIRE(root_of(w, gettid()) >= 0);
	REQUIRE(root_of(w, worker_tid) >= 0);
	CHECK_EQ(w->roots[root_of(w, gettid())].top, (uint64_t) (uintptr_t) mcxt_top());
	CHECK_EQ(w->roots[root_of(w, worker_tid)].top, (uint64_t) (uintptr_t) worker_top);
	CHECK_EQ(count_root(w, root_of(w, gettid())), sizeof(want) / sizeof(want[0]));
	CHECK_EQ(w->nctx, sizeof(want) / sizeof(want[0]) + 3);
	{
		int32_t		top = w->roots[root_of(w, worker_tid)].first_ctx;

		REQUIRE(top >= 0);
		CHECK_STR(w->ctx[top].name, "TopMemoryContext");
		CHECK_EQ(w->ctx[top].bfs_id, 1);
		if (CHECK(w->ctx[top].first_child >= 0))
			CHECK_STR(w->ctx[w->ctx[top].first_child].path, "TopMemoryContext/WorkerContext");
	}
	for (size_t k = 0; k < sizeof(want) / sizeof(want[0]); k++)
	{
		int32_t		ci = find_ctx(w, want[k].name);

		th_set_note("context %s", want[k].name);
		if (!CHECK(ci >= 0))
			continue;
		CHECK_EQ(w->ctx[ci].level, want[k].level);
		CHECK_STR(w->ctx[ci].path, want[k].path);
		CHECK_STR(w->ctx[ci].type_name, strcmp(want[k].name, "GenContext") == 0 ? "Generation" :
				  strcmp(want[k].name, "BumpContext") == 0 ? "Bump" :
				  strcmp(want[k].name, "SlabContext") == 0 ? "Slab" : "AllocSet");
		if (want[k].parent == NULL)
			CHECK_EQ(w->ctx[ci].parent, -1);
		else if (CHECK(w->ctx[ci].parent >= 0))
			CHECK_STR(w->ctx[w->ctx[ci].parent].name, want[k].parent);
	}
	th_set_note("%s", "");
	CHECK_STR(w->ctx[find_ctx(w, "ChildA")].ident, "ident of child A");
	CHECK(w->ctx[find_ctx(w, "ChildB")].ident == NULL);
	CHECK_EQ(w->ctx[find_ctx(w, "RedoContext")].addr, (uint64_t) (uintptr_t) redo);
	/* children newest first, as the tree links them */
	CHECK_STR(w->ctx[w->ctx[find_ctx(w, "RedoContext")].first_child].name, "ChildB");
}

/* Each of the library's JSON objects (up to its closing brace) appears in ours. */
static void
check_json_matches(const char *lib, const char *ours, size_t nobj_want)
{
	size_t		nobj = 0;
	char	   *copy = strdup(lib);

	REQUIRE(copy != NULL);
	for (char *p = strstr(copy, "\n{\"name\""); p != NULL; p = strstr(p + 1, "\n{\"name\""))
	{
		char	   *end = strchr(p, '}');
		char		save;

		if (!CHECK(end != NULL))
			break;
		save = *end;
		*end = '\0';
		nobj++;
		CHECK_MSG(strstr(ours, p) != NULL, "library context %s not in ours:\n%s", p, ours);
		*end = save;
	}
	CHECK_EQ(nobj, nobj_want);
	free(copy);
}

/* Every context's numbers equal the library's own statistics. */
static void
check_stats_equal_library(mcxt_walk *w, const lib_state *ls)
{
	FILE	   *f;
	size_t		len = 0;
	char	   *ours = NULL;

	/* JSON: the library's keys, values and order (ours adds "address") */
	int			me = root_of(w, gettid());
	int			other = root_of(w, worker_tid);

	REQUIRE(me >= 0 && other >= 0);
	f = open_memstream(&ours, &len);
	REQUIRE(f != NULL);
	mcxt_report_contexts_json(f, w);
	fclose(f);
	check_json_matches(ls->json, ours, count_root(w, me));
	check_json_matches(worker_json, ours, count_root(w, other));
	free(ours);

	/* text: identical to mcxt_stats_print in PostgreSQL format, tree by tree */
	ours = NULL;
	f = open_memstream(&ours, &len);
	REQUIRE(f != NULL);
	mcxt_report_contexts_text(f, w, &(mcxt_report_opts) {.pg_format = true, .single_root = true,
				.root = me});
	fclose(f);
	CHECK_STR(ours, ls->text);
	free(ours);
	ours = NULL;
	f = open_memstream(&ours, &len);
	mcxt_report_contexts_text(f, w, &(mcxt_report_opts) {.pg_format = true, .single_root = true,
				.root = other});
	fclose(f);
	CHECK_STR(ours, worker_text);
	free(ours);

	/* and with limits: 1 child per parent, 2 levels, summarised as the library does */
	ours = NULL;
	f = open_memstream(&ours, &len);
	mcxt_report_contexts_text(f, w, &(mcxt_report_opts) {.pg_format = true, .max_level = 2,
				.max_children = 1, .single_root = true, .root = me});
	fclose(f);
	CHECK_STR(ours, ls->text_limited);
	CHECK(strstr(ours, "more child contexts containing") != NULL);
	free(ours);

	/* per context through the API: counters and accounting */
	for (size_t k = 0; k < NCTX; k++)
	{
		int32_t		ci = find_ctx(w, mcxt_name(all_contexts()[k]));

		th_set_note("context %s", mcxt_name(all_contexts()[k]));
		if (!CHECK(ci >= 0))
			continue;
		CHECK_EQ(w->ctx[ci].total_bytes, ls->cnt[k].totalspace);
		CHECK_EQ(w->ctx[ci].nblocks, ls->cnt[k].nblocks);
		CHECK_EQ(w->ctx[ci].free_bytes, ls->cnt[k].freespace);
		CHECK_EQ(w->ctx[ci].free_chunks, ls->cnt[k].freechunks);
		CHECK_EQ(w->ctx[ci].acct[0], ls->acc[k].mem_allocated);
		CHECK_EQ(w->ctx[ci].acct[1], ls->acc[k].bytes_alloc);
		CHECK_EQ(w->ctx[ci].acct[2], ls->acc[k].bytes_freed);
		CHECK_EQ(w->ctx[ci].acct[3], ls->acc[k].max_bytes_held);
	}
	th_set_note("%s", "");
}

static void
test_stats_equal_library(void)
{
	check_stats_equal_library(s1.w, &lib1);
	/* the freed base chunks are on RedoContext's freelist */
	CHECK(s1.w->ctx[find_ctx(s1.w, "RedoContext")].free_chunks >= NBASE / 100);
}

static void
test_stats_equal_library_grown(void)
{
	check_stats_equal_library(s2.w, &lib2);
}

/* Roots: the registry found without its address (stripped programs), or given tops. */
static void
test_registry_by_magic(void)
{
	mcxt_walk  *w = snap_walk(&s1, true);

	REQUIRE(w != NULL);
	CHECK_EQ(w->registry_addr, (uint64_t) (uintptr_t) &mcxt_registry);
	CHECK_EQ(w->nctx, s1.w->nctx);
	CHECK(only_expected_warning(w));
	mcxt_walk_free(w);

	/* roots given by the caller (e.g. from the CLI's own registry lookup) */
	{
		uint64_t	tops[2] = {(uint64_t) (uintptr_t) mcxt_top(), (uint64_t) (uintptr_t) worker_top};
		int64_t		tids[2] = {gettid(), worker_tid};
		mcxt_walk_opts opts;

		memset(&opts, 0, sizeof(opts));
		opts.tops = tops;
		opts.tids = tids;
		opts.ntops = 2;
		w = mcxt_walk_new(&mcxt_layout_libmcxt, &s1.reader, &opts);
		REQUIRE(w != NULL);
		CHECK_EQ(w->registry_addr, 0);
		CHECK_EQ(w->nroots, 2);
		CHECK_EQ(w->nctx, s1.w->nctx);
		CHECK(only_expected_warning(w));
		CHECK_EQ(root_of(w, gettid()), 0);
		CHECK_EQ(root_of(w, worker_tid), 1);
		mcxt_walk_free(w);
	}
}

static void
test_suspects(void)
{
	mcxt_walk  *w = s1.w;
	mcxt_suspects *s = s1.s;
	const mcxt_suspect *top;
	expect		e = lib1.e;
	mcxt_counters_t cnt = lib1.redo_cnt;

	dump_warnings(w);
	REQUIRE(s->n > 0);
	top = &s->items[0];
	CHECK_STR(top->family, "base/%u");
	CHECK_STR(w->ctx[top->ctx].name, "RedoContext");
	CHECK_STR(w->ctx[top->ctx].path, "TopMemoryContext/RedoContext");
	/*
	 * psprintf's 128-byte guess: a 128-byte chunk, 136 bytes with its header,
	 * in plain builds; a checked library (ASan here) keeps a sentinel byte
	 * after the request, so the chunk is the next size class up.
	 */
#if !defined(__SANITIZE_ADDRESS__) && !defined(MCXT_TEST_LIB_VALGRIND)
	CHECK_EQ(base_space, 136);
#endif
	CHECK_EQ(top->chunk_size, base_space - MCXT_CHUNK_HDRSZ);
	CHECK_EQ(top->chunk_space, base_space);
	CHECK_EQ(top->count, e.live);
	CHECK_EQ(top->count, NBASE - NBASE / 100);
	CHECK_EQ(top->total_bytes, e.live * base_space);
	CHECK_EQ(top->stride, e.stride);
	CHECK_EQ(top->stride, base_space);
	CHECK_EQ(top->blocks, e.blocks);
	CHECK_UNREF(top->unreferenced, (int64_t) e.unref);
	CHECK(top->is_text);
	CHECK(strncmp(top->sample, "base/", 5) == 0);
	{
		unsigned	v = (unsigned) strtoul(top->sample + 5, NULL, 10);

		CHECK(v >= 16384 && v < 16384 + NBASE);
		/* the sample is the text of the chunk at sample_addr */
		CHECK_STR((const char *) (uintptr_t) top->sample_addr, top->sample);
	}
	CHECK(top->share > 0.0 && top->share <= 1.0);
	CHECK_EQ((uint64_t) (top->share * (double) (cnt.totalspace - cnt.freespace) + 0.5),
			 top->total_bytes);
	/* ranked by total bytes */
	for (size_t i = 1; i < s->n; i++)
		CHECK(s->items[i - 1].total_bytes >= s->items[i].total_bytes);
	/* pointers into the chunk itself are no reference; from another leaked chunk they are */
	{
		int			seen = 0;

		for (size_t i = 0; i < s->n; i++)
		{
			const mcxt_suspect *it = &s->items[i];

			if (strcmp(w->ctx[it->ctx].name, "SelfRef") != 0)
				continue;
			seen++;
			CHECK_STR(it->family, "hex:%p,0,0,0");
			CHECK(!it->is_text);
			if (it->count == NSELF)
				CHECK_UNREF(it->unreferenced, NSELF);
			else if (CHECK_EQ(it->count, NRING))
				CHECK_UNREF(it->unreferenced, 0);
		}
		CHECK_EQ(seen, 2);
	}
	/* the Generation context's leak: a family of its own, every member found */
	{
		bool		found = false;

		for (size_t i = 0; i < s->n; i++)
			if (strcmp(s->items[i].family, "gen/%u") == 0)
			{
				found = true;
				CHECK_STR(w->ctx[s->items[i].ctx].name, "GenContext");
				CHECK_EQ(s->items[i].count, NGEN);
				CHECK_EQ(s->items[i].chunk_space, gen_space);
				CHECK_EQ(s->items[i].stride, gen_space);
			}
		CHECK(found);
	}
	/* the Slab context's live slots: 1000 made, 300 + every 7th of the rest freed */
	{
		bool		found = false;
		uint64_t	live = 0;

		for (int i = 300; i < 1000; i++)
			live += i % 7 != 0;
		for (size_t i = 0; i < s->n; i++)
			if (strcmp(s->items[i].family, "slab/%u") == 0)
			{
				found = true;
				CHECK_STR(w->ctx[s->items[i].ctx].name, "SlabContext");
				CHECK_EQ(s->items[i].count, live);
				CHECK_EQ(s->items[i].chunk_space, slab_space);
				CHECK_EQ(s->items[i].stride, slab_space);
			}
		CHECK(found);
	}
	/* every distinct word is a group of its own */
	{
		size_t		nkey = 0;

		for (size_t i = 0; i < s->n; i++)
			if (strncmp(s->items[i].family, "key_", 4) == 0)
			{
				nkey++;
				CHECK_EQ(s->items[i].count, 1);
			}
		CHECK_EQ(nkey, NWORDS);
		CHECK(!s->groups_capped);
	}
	/* the cache strings form their own family */
	{
		bool		found = false;

		for (size_t i = 0; i < s->n; i++)
			if (strcmp(s->items[i].family, "rel_%u") == 0)
			{
				found = true;
				CHECK_EQ(s->items[i].count, NBASE / 10);
				CHECK_EQ(s->items[i].chunk_size, base_space - MCXT_CHUNK_HDRSZ);
				CHECK_STR(w->ctx[s->items[i].ctx].name, "CacheMemoryContext");
			}
		CHECK(found);
	}
	/* reports mention it */
	{
		FILE	   *f;
		char	   *buf = NULL;
		size_t		len = 0;
		char		want[256];

		f = open_memstream(&buf, &len);
		mcxt_report_suspects_json(f, w, s, NULL);
		fclose(f);
		snprintf(want, sizeof(want), "{\"context\":\"RedoContext\",\"context_path\":"
				 "\"TopMemoryContext/RedoContext\",\"chunk_size\":%zu,\"count\":%llu,",
				 base_space - MCXT_CHUNK_HDRSZ, (unsigned long long) e.live);
		CHECK_MSG(strstr(buf, want) != NULL, "%s not in\n%s", want, buf);
		CHECK(strstr(buf, "\"family\":\"base/%u\"") != NULL);
		if (UNREF_EXACT())
			snprintf(want, sizeof(want), "\"stride\":%zu,\"unreferenced\":%llu,", base_space,
					 (unsigned long long) e.unref);
		else
			snprintf(want, sizeof(want), "\"stride\":%zu,\"unreferenced\":", base_space);
		CHECK_MSG(strstr(buf, want) != NULL, "%s not in\n%s", want, buf);
		free(buf);
		buf = NULL;
		f = open_memstream(&buf, &len);
		mcxt_report_suspects_text(f, w, s, NULL);
		fclose(f);
		CHECK(strstr(buf, "base/%u") != NULL);
		free(buf);
	}
}

static void
test_family_rules(void)
{
	char		fam[MCXT_FAMILY_MAX];
	char		sample[MCXT_SAMPLE_MAX];
	uint64_t	words[4];

	CHECK(mcxt_family_of(s1.w, (const unsigned char *) "base/16392", 11, fam, sample));
	CHECK_STR(fam, "base/%u");
	CHECK_STR(sample, "base/16392");
	mcxt_family_of(s1.w, (const unsigned char *) "base/16392/t_12_fsm", 20, fam, sample);
	CHECK_STR(fam, "base/%u/t_%u_fsm");
	mcxt_family_of(s1.w, (const unsigned char *) "ptr 0x7f00aa12 id deadbeef01", 29, fam, sample);
	CHECK_STR(fam, "ptr 0x%x id %x");
	mcxt_family_of(s1.w, (const unsigned char *) "100% done", 10, fam, sample);
	CHECK_STR(fam, "%u%% done");
	/* binary: pointers into the image are %p */
	words[0] = (uint64_t) (uintptr_t) redo;
	words[1] = 0;
	words[2] = 12345;
	words[3] = (uint64_t) (uintptr_t) &keep[0];
	CHECK(!mcxt_family_of(s1.w, (const unsigned char *) words, sizeof(words), fam, sample));
	CHECK_STR(fam, "hex:%p,0,%x,%p");
}

static void
test_decode(void)
{
	mcxt_walk  *w = s1.w;
	mcxt_decoded d;
	char	   *p = keep[4];
	uint64_t	freed = 0;

	REQUIRE(p != NULL);
	CHECK(mcxt_decode_addr(w, (uint64_t) (uintptr_t) p + 17, &d));
	CHECK_EQ(d.kind, MCXT_ADDR_CHUNK);
	CHECK_EQ(d.chunk.ptr, (uint64_t) (uintptr_t) p);
	CHECK_EQ(d.chunk.hdr, (uint64_t) (uintptr_t) p - 8);
	CHECK_EQ(d.chunk.space, base_space);
	CHECK(d.chunk.requested == 0 || d.chunk.requested == strlen(p) + 1 ||
		  d.chunk.requested == 128);
	CHECK_EQ(d.offset, 17);
	CHECK(!d.chunk.free);
	CHECK_STR(w->ctx[d.ctx].name, "RedoContext");
	CHECK_EQ(w->blocks[d.block].addr, block_of((uint64_t) (uintptr_t) p));
	if (CHECK(d.has_prev))
		CHECK_EQ(d.prev.ptr + d.prev.size, d.chunk.hdr);
	if (CHECK(d.has_next))
		CHECK_EQ(d.next.hdr, d.chunk.ptr + d.chunk.size);

	/* the header of the same chunk */
	CHECK(mcxt_decode_addr(w, (uint64_t) (uintptr_t) p - 3, &d));
	CHECK_EQ(d.kind, MCXT_ADDR_CHUNK_HEADER);
	CHECK_EQ(d.chunk.ptr, (uint64_t) (uintptr_t) p);

	/* a freed one */
	for (int i = 0; i < nbase; i++)
		if (is_freed[i])
		{
			freed = dec(enc[i]);
			break;
		}
	REQUIRE(freed != 0);
	CHECK(mcxt_decode_addr(w, freed, &d));
	CHECK_EQ(d.kind, MCXT_ADDR_CHUNK);
	CHECK(d.chunk.free);
	CHECK_EQ(d.chunk.ptr, freed);

	/* the external chunk */
	CHECK(mcxt_decode_addr(w, (uint64_t) (uintptr_t) big_chunk + 19999, &d));
	CHECK_EQ(d.kind, MCXT_ADDR_CHUNK);
	CHECK(d.chunk.external);
	CHECK_EQ(d.chunk.space, big_space);
	CHECK(d.chunk.size >= 20000);
	CHECK_STR(w->ctx[d.ctx].name, "ChildB");

	/* a context header, and memory that is no context's */
	CHECK(mcxt_decode_addr(w, (uint64_t) (uintptr_t) cache + 8, &d));
	CHECK_EQ(d.kind, MCXT_ADDR_CONTEXT);
	CHECK_STR(w->ctx[d.ctx].name, "CacheMemoryContext");
	CHECK(!mcxt_decode_addr(w, (uint64_t) (uintptr_t) &keep[0], &d));
	CHECK_EQ(d.kind, MCXT_ADDR_UNKNOWN);

	/* reports render */
	{
		FILE	   *f;
		char	   *buf = NULL;
		size_t		len = 0;

		mcxt_decode_addr(w, (uint64_t) (uintptr_t) p, &d);
		f = open_memstream(&buf, &len);
		mcxt_report_decoded_text(f, w, &d, 64);
		mcxt_report_decoded_json(f, w, &d, 64);
		fclose(f);
		CHECK(strstr(buf, "allocated") != NULL);
		CHECK(strstr(buf, p) != NULL);	/* the dump shows the text */
		CHECK(strstr(buf, "\"kind\":\"chunk\"") != NULL);
		free(buf);
	}
}

/*
 * The same snapshot copied into this process's memory and read zero-copy,
 * as the tool reads a mapped core file: every number must be the same.
 */
typedef struct copyread
{
	mcxt_region *regions;
	size_t		n;
} copyread;

static size_t
copyread_read(void *arg, uint64_t addr, void *buf, size_t len)
{
	copyread   *c = arg;

	for (size_t i = 0; i < c->n; i++)
		if (addr >= c->regions[i].start && addr < c->regions[i].end)
		{
			size_t		n = c->regions[i].end - addr < len ? (size_t) (c->regions[i].end - addr) : len;

			memcpy(buf, (const char *) c->regions[i].data + (addr - c->regions[i].start), n);
			return n;
		}
	return 0;
}

static bool
copyread_region(void *arg, size_t i, mcxt_region *out)
{
	copyread   *c = arg;

	if (i >= c->n)
		return false;
	*out = c->regions[i];
	return true;
}

static void
test_zero_copy(void)
{
	copyread	c;
	mcxt_reader r;
	mcxt_walk_opts opts;
	mcxt_walk  *w;
	mcxt_suspects *s;

	memset(&c, 0, sizeof(c));
	c.regions = calloc(s1.sr.nregions, sizeof(mcxt_region));
	REQUIRE(c.regions != NULL);
	for (size_t i = 0; i < s1.sr.nregions; i++)
	{
		mcxt_region rg = s1.sr.regions[i];
		size_t		size = (size_t) (rg.end - rg.start);
		void	   *copy;

		if (size > ((size_t) 64 << 20))
			continue;			/* sanitizer reservations; nothing of ours */
		copy = malloc(size);
		if (!CHECK(copy != NULL))
			break;
		if (selfread_read(&s1.sr, rg.start, copy, size) != size)
		{
			free(copy);
			continue;
		}
		rg.data = copy;
		c.regions[c.n++] = rg;
	}
	memset(&r, 0, sizeof(r));
	r.arg = &c;
	r.read = copyread_read;
	r.region = copyread_region;
	memset(&opts, 0, sizeof(opts));
	opts.root_addr = (uint64_t) (uintptr_t) &mcxt_registry;
	w = mcxt_walk_new(&mcxt_layout_libmcxt, &r, &opts);
	REQUIRE(w != NULL);
	s = mcxt_suspects_find(w, NULL);
	REQUIRE(s != NULL);
	dump_warnings(w);
	CHECK(only_expected_warning(w));
	CHECK_EQ(w->nctx, s1.w->nctx);
	for (size_t i = 0; i < w->nctx && i < s1.w->nctx; i++)
	{
		CHECK_EQ(w->ctx[i].addr, s1.w->ctx[i].addr);
		CHECK_EQ(w->ctx[i].total_bytes, s1.w->ctx[i].total_bytes);
		CHECK_EQ(w->ctx[i].free_bytes, s1.w->ctx[i].free_bytes);
		CHECK_EQ(w->ctx[i].free_chunks, s1.w->ctx[i].free_chunks);
	}
	CHECK_EQ(s->n, s1.s->n);
	CHECK_EQ(s->live_chunks, s1.s->live_chunks);
	if (CHECK(s->n > 0))
	{
		CHECK_STR(s->items[0].family, "base/%u");
		CHECK_EQ(s->items[0].count, lib1.e.live);
		CHECK_EQ(s->items[0].stride, lib1.e.stride);
		CHECK_EQ(s->items[0].blocks, lib1.e.blocks);
		CHECK_UNREF(s->items[0].unreferenced, (int64_t) lib1.e.unref);
	}
	mcxt_suspects_free(s);
	mcxt_walk_free(w);
	for (size_t i = 0; i < c.n; i++)
		free((void *) c.regions[i].data);
	free(c.regions);
}

static void
test_diff(void)
{
	mcxt_diff  *d;
	bool		seen_new = false;
	bool		seen_redo = false;

	dump_warnings(s2.w);
	d = mcxt_diff_compute(s1.w, s1.s, s2.w, s2.s);
	REQUIRE(d != NULL);
	REQUIRE(d->nfam > 0);
	CHECK_STR(d->fam[0].context_path, "TopMemoryContext/RedoContext");
	CHECK_STR(d->fam[0].family, "base/%u");
	CHECK_EQ(d->fam[0].chunk_size, base_space - MCXT_CHUNK_HDRSZ);
	CHECK_EQ(d->fam[0].d_count, NMORE);
	CHECK_EQ(d->fam[0].d_bytes, NMORE * base_space);
	CHECK_EQ(d->fam[0].b_count, lib2.e.live);
	CHECK_EQ(d->fam[0].a_count, lib1.e.live);
	for (size_t i = 0; i < d->nctx; i++)
	{
		if (strcmp(d->ctx[i].path, "TopMemoryContext/NewContext") == 0)
		{
			seen_new = true;
			CHECK_EQ(d->ctx[i].a_n, 0);
			CHECK_EQ(d->ctx[i].b_n, 1);
			CHECK_EQ(d->ctx[i].d_total, lib2.new_cnt.totalspace);
			CHECK_EQ(d->ctx[i].d_used, lib2.new_cnt.totalspace - lib2.new_cnt.freespace);
		}
		else if (strcmp(d->ctx[i].path, "TopMemoryContext/RedoContext") == 0)
		{
			seen_redo = true;
			CHECK_EQ(d->ctx[i].d_total,
					 (int64_t) (lib2.redo_cnt.totalspace - lib1.redo_cnt.totalspace));
			CHECK_EQ(d->ctx[i].d_used,
					 (int64_t) ((lib2.redo_cnt.totalspace - lib2.redo_cnt.freespace) -
								(lib1.redo_cnt.totalspace - lib1.redo_cnt.freespace)));
		}
		else
			CHECK_MSG(false, "unexpected change in %s", d->ctx[i].path);
	}
	CHECK(seen_new);
	CHECK(seen_redo);
	/* only the families we grew changed: base/%u and NewContext's chunks */
	for (size_t i = 1; i < d->nfam; i++)
		CHECK_STR(d->fam[i].context_path, "TopMemoryContext/NewContext");
	{
		FILE	   *f;
		char	   *buf = NULL;
		size_t		len = 0;
		char		want[256];

		f = open_memstream(&buf, &len);
		mcxt_report_diff_text(f, d, NULL);
		mcxt_report_diff_json(f, d);
		fclose(f);
		snprintf(want, sizeof(want),
				 "\"family\":\"base/%%u\",\"a_count\":%llu,\"b_count\":%llu,\"delta_count\":%d",
				 (unsigned long long) lib1.e.live, (unsigned long long) lib2.e.live, NMORE);
		CHECK_MSG(strstr(buf, want) != NULL, "%s not in\n%s", want, buf);
		free(buf);
	}
	/* the grown tree's suspects are exact too */
	CHECK_STR(s2.s->items[0].family, "base/%u");
	CHECK_EQ(s2.s->items[0].count, lib2.e.live);
	CHECK_UNREF(s2.s->items[0].unreferenced, (int64_t) lib2.e.unref);
	CHECK_EQ(s2.s->items[0].blocks, lib2.e.blocks);
	CHECK_EQ(s2.s->items[0].stride, lib2.e.stride);
	mcxt_diff_free(d);
}

/* Phase 2: more of the same leak, and a new context. */
static __attribute__((noinline)) void
grow_tree(void)
{
	mcxt_context_t *newctx;

	for (int i = 0; i < NMORE; i++)
		leak_one(NBASE + i);
	newctx = mcxt_aset_create(mcxt_top(), "NewContext", MCXT_DEFAULT_SIZES);
	for (int i = 0; i < 10; i++)
		mcxt_alloc(newctx, 1000);
	mcxt_mem_consumed(newctx, false, &lib2.new_cnt);
}

int
main(void)
{
	worker_start();
	build_tree();
	record_lib_state(&lib1);
	if (!snap_fork(&s1))
	{
		fprintf(stderr, "cannot take a snapshot of this process\n");
		return 1;
	}
	grow_tree();
	record_lib_state(&lib2);
	if (!snap_fork(&s2))
	{
		fprintf(stderr, "cannot take a snapshot of this process\n");
		return 1;
	}
	s1.w = snap_walk(&s1, false);
	s2.w = snap_walk(&s2, false);
	if (s1.w == NULL || s2.w == NULL ||
		(s1.s = mcxt_suspects_find(s1.w, NULL)) == NULL ||
		(s2.s = mcxt_suspects_find(s2.w, NULL)) == NULL)
	{
		fprintf(stderr, "out of memory walking the snapshots\n");
		return 1;
	}
	RUN(test_tree);
	RUN(test_stats_equal_library);
	RUN(test_stats_equal_library_grown);
	RUN(test_registry_by_magic);
	RUN(test_suspects);
	RUN(test_family_rules);
	RUN(test_decode);
	RUN(test_diff);
	RUN(test_zero_copy);
	snap_drop(&s1);
	snap_drop(&s2);
	free_lib_state(&lib1);
	free_lib_state(&lib2);
	worker_stop();
	mcxt_thread_cleanup();
	return th_report();
}
