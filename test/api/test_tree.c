/*
 * test_tree.c
 *	  API tests of the context tree: reset, reset_only, reset_children,
 *	  delete, delete_children, set_parent, identifiers, reset callbacks,
 *	  is_empty, mem_allocated / mem_consumed over subtrees, accounting,
 *	  and the per-thread current / top contexts.
 *
 * The library offers no iteration over children, so a context's presence
 * in the tree is observed through what it must do: its callbacks fire
 * exactly when it is reset or deleted, its memory shows in its ancestors'
 * recursive totals, and chunks in contexts that must survive keep their
 * contents.
 */
#include "../testhelper.h"
#include "../unit/asetsim.h"

#include <mcxt/palloc.h>

/* ---- a log of callback calls --------------------------------------------- */

#define LOG_MAX 64
static const char *cb_log[LOG_MAX];
static int	cb_nlog;

/* What a callback checks when it runs: a chunk of its context, still intact. */
typedef struct cb_probe
{
	const char *tag;
	const char *chunk;			/* a string allocated in the context, or NULL */
	const char *expect;
	int			chunk_ok;
} cb_probe;

static void
log_cb(void *arg)
{
	cb_probe   *pr = arg;

	if (cb_nlog < LOG_MAX)
		cb_log[cb_nlog++] = pr->tag;
	if (pr->chunk != NULL)
		pr->chunk_ok = strcmp(pr->chunk, pr->expect) == 0;
}

static void
log_clear(void)
{
	cb_nlog = 0;
}

/* The log as one string "a,b,c" in buf. */
static const char *
log_str(char *buf, size_t len)
{
	size_t		off = 0;

	buf[0] = '\0';
	for (int i = 0; i < cb_nlog && off < len; i++)
		off += (size_t) snprintf(buf + off, len - off, "%s%s", i ? "," : "", cb_log[i]);
	return buf;
}

#define CHECK_LOG(expected) \
	do { char lb_[512]; CHECK_STR(log_str(lb_, sizeof(lb_)), (expected)); } while (0)

/*
 * Register a logging callback whose struct lives in ctx itself, as
 * PostgreSQL code does; the probe it fills in lives outside, so the test can
 * read it after the context is gone.
 */
static cb_probe probes[64];
static int	nprobes;

static cb_probe *
add_cb(mcxt_context_t *ctx, const char *tag)
{
	mcxt_callback_t *cb = mcxt_alloc(ctx, sizeof(mcxt_callback_t));
	cb_probe   *pr = &probes[nprobes++ % 64];

	pr->tag = tag;
	pr->expect = tag;
	pr->chunk = mcxt_strdup(ctx, tag);
	pr->chunk_ok = -1;
	cb->func = log_cb;
	cb->arg = pr;
	mcxt_register_reset_callback(ctx, cb);
	return pr;
}

static size_t
first_size(size_t minsz, size_t initsz)
{
	return sim_first_block_size(minsz, initsz);
}

/* ---- current and top ----------------------------------------------------- */

static void
test_current_and_top(void)
{
	mcxt_context_t *top = mcxt_top();
	mcxt_context_t *ctx;
	mcxt_context_t *old;

	mcxt_init();
	mcxt_init();				/* idempotent */
	CHECK(mcxt_top() == top);
	CHECK(top != NULL);
	CHECK(mcxt_parent(top) == NULL);
	CHECK_STR(mcxt_name(top), "TopMemoryContext");
	CHECK(TopMemoryContext == top);
	CHECK(mcxt_current() == top);
	CHECK(CurrentMemoryContext == top);
	ctx = mcxt_aset_create(top, "Cur", ALLOCSET_SMALL_SIZES);
	old = mcxt_switch_to(ctx);
	CHECK(old == top);
	CHECK(mcxt_current() == ctx);
	CHECK(mcxt_current_context == ctx);
	old = MemoryContextSwitchTo(top);
	CHECK(old == ctx);
	/* CurrentMemoryContext is an lvalue as in PostgreSQL */
	CurrentMemoryContext = ctx;
	CHECK(mcxt_current() == ctx);
	CurrentMemoryContext = top;
	mcxt_delete(ctx);
}

/* ---- reset and delete ---------------------------------------------------- */

static void
test_reset_deletes_children(void)
{
	mcxt_context_t *p = mcxt_aset_create(mcxt_top(), "P", ALLOCSET_DEFAULT_SIZES);
	mcxt_context_t *c = mcxt_aset_create(p, "C", ALLOCSET_SMALL_SIZES);
	mcxt_context_t *g = mcxt_aset_create(c, "G", ALLOCSET_SMALL_SIZES);
	size_t		pfirst = first_size(ALLOCSET_DEFAULT_MINSIZE, ALLOCSET_DEFAULT_INITSIZE);
	size_t		sfirst = first_size(ALLOCSET_SMALL_MINSIZE, ALLOCSET_SMALL_INITSIZE);
	cb_probe   *pc;
	cb_probe   *pg;
	cb_probe   *pp;

	CHECK(mcxt_parent(c) == p);
	CHECK(mcxt_parent(g) == c);
	CHECK(mcxt_is_empty(g));
	mcxt_alloc(p, 50000);
	mcxt_alloc(c, 100);
	CHECK_EQ(mcxt_mem_allocated(p, true),
			 pfirst + sim_large_block(50000) + sfirst * 2);
	log_clear();
	pg = add_cb(g, "g");
	pc = add_cb(c, "c");
	pp = add_cb(p, "p");
	mcxt_reset(p);
	/* children's callbacks before the parent's, deepest first */
	CHECK_LOG("g,c,p");
	CHECK_EQ(pg->chunk_ok, 1);
	CHECK_EQ(pc->chunk_ok, 1);
	CHECK_EQ(pp->chunk_ok, 1);
	CHECK(mcxt_is_empty(p));
	/* children are gone: only the keeper of p remains anywhere below p */
	CHECK_EQ(mcxt_mem_allocated(p, true), pfirst);
	CHECK_EQ(mcxt_mem_allocated(p, false), pfirst);
	/* callbacks run once: a second reset runs nothing */
	log_clear();
	mcxt_reset(p);
	CHECK_LOG("");
	/* the context stays usable */
	CHECK(mcxt_chunk_context(mcxt_alloc(p, 10)) == p);
	CHECK_EQ(mcxt_check(p), 0);
	mcxt_delete(p);
}

static void
test_reset_only(void)
{
	mcxt_context_t *p = mcxt_aset_create(mcxt_top(), "P", ALLOCSET_DEFAULT_SIZES);
	mcxt_context_t *c = mcxt_aset_create(p, "C", ALLOCSET_SMALL_SIZES);
	char	   *cs = mcxt_strdup(c, "child data survives");
	size_t		call;

	mcxt_alloc(p, 100);
	mcxt_alloc(p, 30000);
	call = mcxt_mem_allocated(c, true);
	log_clear();
	add_cb(c, "c");
	add_cb(p, "p");
	mcxt_reset_only(p);
	CHECK_LOG("p");
	CHECK_STR(cs, "child data survives");
	CHECK(mcxt_parent(c) == p);
	CHECK_EQ(mcxt_mem_allocated(p, false), first_size(ALLOCSET_DEFAULT_MINSIZE, ALLOCSET_DEFAULT_INITSIZE));
	CHECK_EQ(mcxt_mem_allocated(c, true), call);	/* c untouched (add_cb fits its keeper) */
	CHECK(mcxt_mem_allocated(p, true) > mcxt_mem_allocated(p, false));
	log_clear();
	mcxt_delete(p);
	CHECK_LOG("c");
}

static void
test_reset_children(void)
{
	mcxt_context_t *p = mcxt_aset_create(mcxt_top(), "P", ALLOCSET_DEFAULT_SIZES);
	mcxt_context_t *c1 = mcxt_aset_create(p, "C1", ALLOCSET_SMALL_SIZES);
	mcxt_context_t *c2 = mcxt_aset_create(p, "C2", ALLOCSET_SMALL_SIZES);
	mcxt_context_t *g = mcxt_aset_create(c1, "G", ALLOCSET_SMALL_SIZES);
	size_t		sfirst = first_size(ALLOCSET_SMALL_MINSIZE, ALLOCSET_SMALL_INITSIZE);
	char	   *ps = mcxt_strdup(p, "parent data survives");
	char	   *ps_big = mcxt_alloc(p, 40000);
	size_t		pown;

	memset(ps_big, 0x11, 40000);
	mcxt_alloc(c1, 5000);
	mcxt_alloc(c2, 200);
	mcxt_alloc(g, 9000);
	pown = mcxt_mem_allocated(p, false);
	log_clear();
	add_cb(p, "p");
	add_cb(c1, "c1");
	add_cb(g, "g");
	mcxt_reset_children(p);
	/*
	 * every descendant reset once, none deleted, p untouched.  The order of
	 * g's and c1's callbacks is not fixed: PostgreSQL up to 16 resets
	 * bottom-up, 17 top-down.
	 */
	CHECK(cb_nlog == 2);
	CHECK((strcmp(cb_log[0], "g") == 0 && strcmp(cb_log[1], "c1") == 0) ||
		  (strcmp(cb_log[0], "c1") == 0 && strcmp(cb_log[1], "g") == 0));
	CHECK_STR(ps, "parent data survives");
	CHECK(ps_big[39999] == 0x11);
	CHECK_EQ(mcxt_mem_allocated(p, false), pown);
	CHECK(mcxt_parent(g) == c1);
	CHECK(mcxt_parent(c1) == p && mcxt_parent(c2) == p);
	CHECK(mcxt_is_empty(c2));
	CHECK(mcxt_is_empty(g));
	CHECK_EQ(mcxt_mem_allocated(c1, true), 2 * sfirst);
	CHECK_EQ(mcxt_mem_allocated(p, true), pown + 3 * sfirst);
	log_clear();
	mcxt_delete(p);
	CHECK_LOG("p");
}

static void
test_delete_and_delete_children(void)
{
	mcxt_context_t *p = mcxt_aset_create(mcxt_top(), "P", ALLOCSET_DEFAULT_SIZES);
	mcxt_context_t *c1 = mcxt_aset_create(p, "C1", ALLOCSET_SMALL_SIZES);
	mcxt_context_t *c2 = mcxt_aset_create(p, "C2", ALLOCSET_SMALL_SIZES);
	mcxt_context_t *g = mcxt_aset_create(c2, "G", ALLOCSET_SMALL_SIZES);
	char	   *ps = mcxt_strdup(p, "parent");
	size_t		pfirst = first_size(ALLOCSET_DEFAULT_MINSIZE, ALLOCSET_DEFAULT_INITSIZE);
	size_t		sfirst = first_size(ALLOCSET_SMALL_MINSIZE, ALLOCSET_SMALL_INITSIZE);
	size_t		top_before;

	log_clear();
	add_cb(c1, "c1");
	add_cb(c2, "c2");
	add_cb(g, "g");
	add_cb(p, "p");
	/* delete one child: its subtree goes, its sibling stays */
	mcxt_delete(c2);
	CHECK_LOG("g,c2");
	CHECK_EQ(mcxt_mem_allocated(p, true), mcxt_mem_allocated(p, false) + sfirst);
	CHECK(mcxt_parent(c1) == p);
	log_clear();
	mcxt_delete_children(p);
	CHECK_LOG("c1");
	CHECK_STR(ps, "parent");
	CHECK(mcxt_is_empty(p) == false);	/* p itself has allocations */
	CHECK_EQ(mcxt_mem_allocated(p, true), mcxt_mem_allocated(p, false));
	CHECK_EQ(mcxt_mem_allocated(p, false), pfirst);
	top_before = mcxt_mem_allocated(mcxt_top(), true);
	log_clear();
	mcxt_delete(p);
	CHECK_LOG("p");
	CHECK_EQ(top_before - mcxt_mem_allocated(mcxt_top(), true), pfirst);
	CHECK_EQ(mcxt_check(mcxt_top()), 0);
}

/* A root made with parent NULL lives until deleted, outside the top's totals. */
static void
test_root_context(void)
{
	size_t		top_before = mcxt_mem_allocated(mcxt_top(), true);
	mcxt_context_t *r = mcxt_aset_create(NULL, "Root", ALLOCSET_SMALL_SIZES);
	mcxt_context_t *c = mcxt_aset_create(r, "RootChild", ALLOCSET_SMALL_SIZES);

	CHECK(mcxt_parent(r) == NULL);
	CHECK(mcxt_parent(c) == r);
	mcxt_alloc(c, 100);
	CHECK_EQ(mcxt_mem_allocated(mcxt_top(), true), top_before);
	CHECK_EQ(mcxt_mem_allocated(r, true), 2 * first_size(ALLOCSET_SMALL_MINSIZE, ALLOCSET_SMALL_INITSIZE));
	CHECK_EQ(mcxt_check(r), 0);
	mcxt_delete(r);
}

/*
 * MemoryContextIsEmpty as PostgreSQL defines it: nothing allocated since
 * creation or the last reset, and no children.  Freeing every chunk does
 * not make a context empty.
 */
static void
test_is_empty(void)
{
	mcxt_context_t *p = mcxt_aset_create(mcxt_top(), "EmptyP", ALLOCSET_SMALL_SIZES);
	mcxt_context_t *c;

	CHECK(mcxt_is_empty(p));
	CHECK(MemoryContextIsEmpty(p));
	mcxt_free(mcxt_alloc(p, 10));
	CHECK(!mcxt_is_empty(p));
	mcxt_reset(p);
	CHECK(mcxt_is_empty(p));
	c = mcxt_aset_create(p, "EmptyC", ALLOCSET_SMALL_SIZES);
	CHECK(mcxt_is_empty(c));
	CHECK_MSG(!mcxt_is_empty(p), "a context with a child is not empty (PostgreSQL's MemoryContextIsEmpty)");
	mcxt_reset_only(p);
	CHECK(!mcxt_is_empty(p));
	mcxt_reset(p);				/* deletes the child */
	CHECK(mcxt_is_empty(p));
	mcxt_delete(p);
}

/* ---- set_parent ---------------------------------------------------------- */

static void
test_set_parent(void)
{
	mcxt_context_t *p1 = mcxt_aset_create(mcxt_top(), "P1", ALLOCSET_SMALL_SIZES);
	mcxt_context_t *p2 = mcxt_aset_create(mcxt_top(), "P2", ALLOCSET_SMALL_SIZES);
	mcxt_context_t *c = mcxt_aset_create(p1, "C", ALLOCSET_SMALL_SIZES);
	mcxt_context_t *g = mcxt_aset_create(c, "G", ALLOCSET_SMALL_SIZES);
	size_t		s = first_size(ALLOCSET_SMALL_MINSIZE, ALLOCSET_SMALL_INITSIZE);
	char	   *gs = mcxt_strdup(g, "grandchild");

	CHECK_EQ(mcxt_mem_allocated(p1, true), 3 * s);
	CHECK_EQ(mcxt_mem_allocated(p2, true), s);
	mcxt_set_parent(c, p2);
	CHECK(mcxt_parent(c) == p2);
	CHECK(mcxt_parent(g) == c);
	CHECK_EQ(mcxt_mem_allocated(p1, true), s);
	CHECK_EQ(mcxt_mem_allocated(p2, true), 3 * s);
	CHECK(mcxt_is_empty(p1));
	/* deleting the old parent leaves the moved subtree alone */
	log_clear();
	add_cb(c, "c");
	mcxt_delete(p1);
	CHECK_LOG("");
	CHECK_STR(gs, "grandchild");
	/* same parent again: nothing changes */
	mcxt_set_parent(c, p2);
	CHECK(mcxt_parent(c) == p2);
	CHECK_EQ(mcxt_mem_allocated(p2, true), 3 * s);

	/* cycles are refused and leave the tree as it was */
	EXPECT_ERROR(MCXT_ERR_MISUSE, mcxt_set_parent(c, c));
	EXPECT_ERROR(MCXT_ERR_MISUSE, mcxt_set_parent(c, g));
	EXPECT_ERROR(MCXT_ERR_MISUSE, MemoryContextSetParent(p2, g));
	CHECK(mcxt_parent(c) == p2);
	CHECK(mcxt_parent(g) == c);
	CHECK(mcxt_parent(p2) == mcxt_top());
	CHECK_EQ(mcxt_check(mcxt_top()), 0);

	/* detach into a root, then back */
	mcxt_set_parent(c, NULL);
	CHECK(mcxt_parent(c) == NULL);
	CHECK_EQ(mcxt_mem_allocated(p2, true), s);
	CHECK_EQ(mcxt_check(c), 0);
	MemoryContextSetParent(c, p2);
	CHECK(MemoryContextGetParent(c) == p2);
	log_clear();
	mcxt_delete(p2);
	CHECK_LOG("c");
	CHECK_EQ(mcxt_check(mcxt_top()), 0);
}

/* ---- identifiers --------------------------------------------------------- */

static void
test_identifiers(void)
{
	mcxt_context_t *ctx = AllocSetContextCreate(TopMemoryContext, "Named", ALLOCSET_SMALL_SIZES);
	static const char ident[] = "SELECT 1";
	char		local[32];

	CHECK_STR(mcxt_name(ctx), "Named");
	CHECK(mcxt_ident(ctx) == NULL);
	MemoryContextSetIdentifier(ctx, ident);
	CHECK(mcxt_ident(ctx) == ident);	/* not copied */
	strcpy(local, "copied ident");
	MemoryContextCopyAndSetIdentifier(ctx, local);
	local[0] = 'X';
	CHECK_STR(mcxt_ident(ctx), "copied ident");
	CHECK(mcxt_chunk_context(mcxt_ident(ctx)) == ctx);
	mcxt_set_ident(ctx, NULL);
	CHECK(mcxt_ident(ctx) == NULL);
	mcxt_delete(ctx);
}

/* ---- callbacks ----------------------------------------------------------- */

static void
test_callbacks(void)
{
	mcxt_context_t *ctx = mcxt_aset_create(mcxt_top(), "Cb", ALLOCSET_SMALL_SIZES);
	static cb_probe pr[4] = {{"one", NULL, NULL, 0}, {"two", NULL, NULL, 0},
	{"three", NULL, NULL, 0}, {"four", NULL, NULL, 0}};
	static mcxt_callback_t cb[4];

	for (int i = 0; i < 4; i++)
	{
		cb[i].func = log_cb;
		cb[i].arg = &pr[i];
		cb[i].next = NULL;
	}
	/* LIFO; each once */
	log_clear();
	mcxt_register_reset_callback(ctx, &cb[0]);
	mcxt_register_reset_callback(ctx, &cb[1]);
	MemoryContextRegisterResetCallback(ctx, &cb[2]);
	mcxt_reset(ctx);
	CHECK_LOG("three,two,one");
	mcxt_reset(ctx);
	mcxt_reset_only(ctx);
	CHECK_LOG("three,two,one");

	/* unregister the middle one, the first and a missing one */
	log_clear();
	mcxt_register_reset_callback(ctx, &cb[0]);
	mcxt_register_reset_callback(ctx, &cb[1]);
	mcxt_register_reset_callback(ctx, &cb[2]);
	mcxt_register_reset_callback(ctx, &cb[3]);
	CHECK(mcxt_unregister_reset_callback(ctx, &cb[2]));
	CHECK(mcxt_unregister_reset_callback(ctx, &cb[3]));
	CHECK(!mcxt_unregister_reset_callback(ctx, &cb[2]));
	MemoryContextUnregisterResetCallback(ctx, &cb[0]);
	CHECK(!mcxt_unregister_reset_callback(ctx, &cb[0]));
	mcxt_reset_only(ctx);
	CHECK_LOG("two");
	/* after running, a callback is no longer registered */
	CHECK(!mcxt_unregister_reset_callback(ctx, &cb[1]));

	/* a callback registered on an untouched context still runs (PostgreSQL
	 * marks the context non-reset on registration) */
	log_clear();
	mcxt_reset(ctx);
	CHECK(mcxt_is_empty(ctx));
	mcxt_register_reset_callback(ctx, &cb[0]);
	mcxt_reset(ctx);
	CHECK_LOG("one");

	/* on delete too */
	log_clear();
	mcxt_register_reset_callback(ctx, &cb[1]);
	mcxt_register_reset_callback(ctx, &cb[0]);
	mcxt_delete(ctx);
	CHECK_LOG("one,two");
}

/* Callbacks of a whole subtree: every child's run before its parent's. */
static void
test_callback_order_tree(void)
{
	mcxt_context_t *p = mcxt_aset_create(mcxt_top(), "P", ALLOCSET_SMALL_SIZES);
	mcxt_context_t *a = mcxt_aset_create(p, "A", ALLOCSET_SMALL_SIZES);
	mcxt_context_t *b = mcxt_aset_create(p, "B", ALLOCSET_SMALL_SIZES);
	mcxt_context_t *a1 = mcxt_aset_create(a, "A1", ALLOCSET_SMALL_SIZES);
	int			ia = -1, ib = -1, ia1 = -1, ip1 = -1, ip2 = -1;

	log_clear();
	add_cb(p, "p1");
	add_cb(a, "a");
	add_cb(b, "b");
	add_cb(a1, "a1");
	add_cb(p, "p2");
	mcxt_delete(p);
	CHECK_EQ(cb_nlog, 5);
	for (int i = 0; i < cb_nlog; i++)
	{
		if (strcmp(cb_log[i], "a") == 0) ia = i;
		if (strcmp(cb_log[i], "b") == 0) ib = i;
		if (strcmp(cb_log[i], "a1") == 0) ia1 = i;
		if (strcmp(cb_log[i], "p1") == 0) ip1 = i;
		if (strcmp(cb_log[i], "p2") == 0) ip2 = i;
	}
	CHECK(ia1 >= 0 && ia1 < ia);
	CHECK(ia >= 0 && ia < ip2);
	CHECK(ib >= 0 && ib < ip2);
	CHECK(ip2 == 3 && ip1 == 4);	/* the parent's, LIFO, last */
}

/*
 * A callback may allocate in its context and create children of it while
 * the context is being deleted; those children (and their callbacks) go
 * too, and nothing leaks (the sanitizer and valgrind runs see leaks).
 */
static mcxt_context_t *late_child;

static void
late_cb(void *arg)
{
	mcxt_context_t *ctx = arg;
	char	   *s = mcxt_strdup(ctx, "allocated by a callback");

	log_cb(&probes[63]);
	late_child = mcxt_aset_create(ctx, "LateChild", ALLOCSET_SMALL_SIZES);
	mcxt_alloc(late_child, 50000);
	add_cb(late_child, "late-child");
	(void) s;
}

static void
test_callback_creates_children(void)
{
	mcxt_context_t *ctx = mcxt_aset_create(mcxt_top(), "Busy", ALLOCSET_SMALL_SIZES);
	mcxt_callback_t *cb = mcxt_alloc(ctx, sizeof(*cb));
	size_t		top_before = mcxt_mem_allocated(mcxt_top(), true);

	probes[63].tag = "late";
	probes[63].chunk = NULL;
	cb->func = late_cb;
	cb->arg = ctx;
	mcxt_register_reset_callback(ctx, cb);
	log_clear();
	late_child = NULL;
	mcxt_delete(ctx);
	CHECK_LOG("late,late-child");
	CHECK(late_child != NULL);
	CHECK(mcxt_mem_allocated(mcxt_top(), true) < top_before);
	CHECK_EQ(mcxt_check(mcxt_top()), 0);

	/*
	 * A reset deletes the children before running the callbacks, so a
	 * child a reset callback creates stays until the next reset or delete.
	 */
	ctx = mcxt_aset_create(mcxt_top(), "Busy2", ALLOCSET_SMALL_SIZES);
	cb = mcxt_alloc(ctx, sizeof(*cb));
	cb->func = late_cb;
	cb->arg = ctx;
	mcxt_register_reset_callback(ctx, cb);
	log_clear();
	mcxt_reset(ctx);
	CHECK_LOG("late");
	CHECK(mcxt_check(ctx) == 0);
	log_clear();
	mcxt_delete(ctx);
	CHECK_LOG("late-child");
}

/* ---- accounting ---------------------------------------------------------- */

static mcxt_accounting_t
acct(mcxt_context_t *ctx, bool recurse)
{
	mcxt_accounting_t a;

	memset(&a, 0xEE, sizeof(a));
	mcxt_get_accounting(ctx, recurse, &a);
	return a;
}

static void
test_accounting(void)
{
	mcxt_context_t *p = mcxt_aset_create(mcxt_top(), "AccP", ALLOCSET_DEFAULT_SIZES);
	size_t		kp = first_size(ALLOCSET_DEFAULT_MINSIZE, ALLOCSET_DEFAULT_INITSIZE);
	size_t		ks = first_size(ALLOCSET_SMALL_MINSIZE, ALLOCSET_SMALL_INITSIZE);
	size_t		l1 = sim_large_block(20000);
	size_t		l2 = sim_large_block(100000);
	mcxt_context_t *c;
	mcxt_accounting_t a;
	void	   *x;
	void	   *y;

	a = acct(p, false);
	CHECK(a.mem_allocated == kp && a.bytes_alloc == kp && a.bytes_freed == 0 && a.max_bytes_held == kp);

	x = mcxt_alloc(p, 20000);
	y = mcxt_alloc(p, 100000);
	a = acct(p, false);
	CHECK_EQ(a.mem_allocated, kp + l1 + l2);
	CHECK_EQ(a.bytes_alloc, kp + l1 + l2);
	CHECK_EQ(a.bytes_freed, 0);
	CHECK_EQ(a.max_bytes_held, kp + l1 + l2);
	mcxt_free(y);
	a = acct(p, false);
	CHECK_EQ(a.mem_allocated, kp + l1);
	CHECK_EQ(a.bytes_freed, l2);
	CHECK_EQ(a.bytes_alloc - a.bytes_freed, a.mem_allocated);
	CHECK_EQ(a.max_bytes_held, kp + l1 + l2);	/* the peak stays */
	mcxt_reset_peak(p, false);
	a = acct(p, false);
	CHECK_EQ(a.max_bytes_held, kp + l1);
	mcxt_free(x);
	a = acct(p, false);
	CHECK_EQ(a.max_bytes_held, kp + l1);
	CHECK_EQ(a.mem_allocated, kp);

	/* a child: subtree sums, then its cumulative counts move to the parent */
	c = mcxt_aset_create(p, "AccC", ALLOCSET_SMALL_SIZES);
	x = mcxt_alloc(c, 20000);
	a = acct(p, true);
	CHECK_EQ(a.mem_allocated, kp + ks + l1);
	CHECK_EQ(a.bytes_alloc, kp + l1 + l2 + ks + l1);
	CHECK_EQ(a.bytes_freed, l1 + l2);
	CHECK_EQ(a.max_bytes_held, kp + l1 + ks + l1);
	CHECK_EQ(mcxt_mem_allocated(p, true), kp + ks + l1);
	mcxt_free(x);
	{
		mcxt_accounting_t before_p = acct(p, false);
		mcxt_accounting_t before_c = acct(c, true);

		mcxt_delete(c);
		a = acct(p, false);
		CHECK_EQ(a.bytes_alloc, before_p.bytes_alloc + before_c.bytes_alloc);
		CHECK_EQ(a.bytes_freed, before_p.bytes_freed + before_c.bytes_alloc);
		CHECK_EQ(a.mem_allocated, kp);
		CHECK_EQ(a.bytes_alloc - a.bytes_freed, a.mem_allocated);
		CHECK_EQ(acct(p, true).mem_allocated, kp);
	}

	/* reset: non-keeper blocks given back, children folded in */
	c = mcxt_aset_create(p, "AccC2", ALLOCSET_SMALL_SIZES);
	mcxt_alloc(c, 5000);
	for (int i = 0; i < 100; i++)
		mcxt_alloc(p, 1000);	/* several blocks beyond the keeper */
	{
		mcxt_accounting_t before_p = acct(p, false);
		mcxt_accounting_t before_c = acct(c, true);

		CHECK(before_p.mem_allocated > kp);
		mcxt_reset(p);
		a = acct(p, false);
		CHECK_EQ(a.mem_allocated, kp);
		CHECK_EQ(a.bytes_alloc, before_p.bytes_alloc + before_c.bytes_alloc);
		CHECK_EQ(a.bytes_freed, before_p.bytes_freed + (before_p.mem_allocated - kp) + before_c.bytes_alloc);
		CHECK(a.max_bytes_held >= before_p.mem_allocated);
	}
	/* recursive peak reset */
	c = mcxt_aset_create(p, "AccC3", ALLOCSET_SMALL_SIZES);
	x = mcxt_alloc(c, 50000);
	mcxt_free(x);
	CHECK_EQ(acct(c, false).max_bytes_held, ks + sim_large_block(50000));
	mcxt_reset_peak(p, true);
	CHECK_EQ(acct(c, false).max_bytes_held, ks);
	CHECK_EQ(acct(p, false).max_bytes_held, kp);
	CHECK_EQ(acct(p, true).max_bytes_held, kp + ks);
	CHECK_EQ(mcxt_check(p), 0);
	mcxt_delete(p);
}

/* mem_consumed over a subtree is the sum of the members' own counters. */
static void
test_mem_consumed(void)
{
	mcxt_context_t *p = mcxt_aset_create(mcxt_top(), "ConsP", ALLOCSET_DEFAULT_SIZES);
	mcxt_context_t *c = mcxt_aset_create(p, "ConsC", ALLOCSET_SMALL_SIZES);
	mcxt_context_t *g = mcxt_aset_create(c, "ConsG", ALLOCSET_START_SMALL_SIZES);
	mcxt_context_t *all[3] = {p, c, g};
	mcxt_counters_t sum = {0, 0, 0, 0};
	mcxt_counters_t got;
	MemoryContextCounters pgc;

	for (int i = 0; i < 3; i++)
	{
		for (int j = 0; j < 20 + i * 10; j++)
		{
			void	   *x = mcxt_alloc(all[i], (size_t) (j * 37 + i));

			if (j % 3 == 0)
				mcxt_free(x);
		}
		mcxt_alloc(all[i], 12345);
	}
	for (int i = 0; i < 3; i++)
	{
		mcxt_mem_consumed(all[i], false, &got);
		CHECK_EQ(got.totalspace, mcxt_mem_allocated(all[i], false));
		CHECK(got.freespace < got.totalspace);
		CHECK(got.freechunks > 0);
		sum.nblocks += got.nblocks;
		sum.freechunks += got.freechunks;
		sum.totalspace += got.totalspace;
		sum.freespace += got.freespace;
	}
	mcxt_mem_consumed(p, true, &got);
	CHECK_EQ(got.nblocks, sum.nblocks);
	CHECK_EQ(got.freechunks, sum.freechunks);
	CHECK_EQ(got.totalspace, sum.totalspace);
	CHECK_EQ(got.freespace, sum.freespace);
	MemoryContextMemConsumed(p, &pgc);
	CHECK_EQ(pgc.totalspace, sum.totalspace);
	CHECK_EQ(MemoryContextMemAllocated(p, true), sum.totalspace);
	mcxt_delete(p);
}

/*
 * Recursive queries cover the subtree of the context asked, never its
 * siblings: a leaf's recursive figures are its own.
 */
static void
test_recursive_queries_stay_in_subtree(void)
{
	mcxt_context_t *p = mcxt_aset_create(mcxt_top(), "SubP", ALLOCSET_DEFAULT_SIZES);
	mcxt_context_t *older = mcxt_aset_create(p, "Older", ALLOCSET_SMALL_SIZES);
	mcxt_context_t *mid = mcxt_aset_create(p, "Mid", ALLOCSET_SMALL_SIZES);
	mcxt_context_t *newer = mcxt_aset_create(p, "Newer", ALLOCSET_SMALL_SIZES);
	mcxt_context_t *leaves[3] = {older, mid, newer};
	mcxt_accounting_t own, rec;
	mcxt_counters_t cown, crec;

	mcxt_free(mcxt_alloc(older, 20000));
	mcxt_free(mcxt_alloc(newer, 30000));
	mcxt_free(mcxt_alloc(p, 40000));
	for (int i = 0; i < 3; i++)
	{
		th_set_note("leaf %s", mcxt_name(leaves[i]));
		mcxt_get_accounting(leaves[i], false, &own);
		mcxt_get_accounting(leaves[i], true, &rec);
		CHECK_EQ(rec.mem_allocated, own.mem_allocated);
		CHECK_EQ(rec.bytes_alloc, own.bytes_alloc);
		CHECK_EQ(rec.bytes_freed, own.bytes_freed);
		CHECK_EQ(rec.max_bytes_held, own.max_bytes_held);
		mcxt_mem_consumed(leaves[i], false, &cown);
		mcxt_mem_consumed(leaves[i], true, &crec);
		CHECK(memcmp(&cown, &crec, sizeof(cown)) == 0);
		CHECK_EQ(mcxt_mem_allocated(leaves[i], true), mcxt_mem_allocated(leaves[i], false));
	}
	th_note[0] = '\0';
	/* resetting the peaks of one leaf leaves its siblings' and parent's alone */
	mcxt_reset_peak(mid, true);
	mcxt_get_accounting(older, false, &own);
	CHECK_EQ(own.max_bytes_held, own.mem_allocated + sim_large_block(20000));
	mcxt_get_accounting(newer, false, &own);
	CHECK_EQ(own.max_bytes_held, own.mem_allocated + sim_large_block(30000));
	mcxt_get_accounting(p, false, &own);
	CHECK_EQ(own.max_bytes_held, own.mem_allocated + sim_large_block(40000));
	mcxt_delete(p);
}

/* ---- recycling ----------------------------------------------------------- */

static void
test_recycled_contexts_are_fresh(void)
{
	for (int round = 0; round < 3; round++)
	{
		mcxt_context_t *a = mcxt_aset_create(mcxt_top(), "R1", ALLOCSET_DEFAULT_SIZES);
		mcxt_context_t *b = mcxt_aset_create(a, "R2", ALLOCSET_SMALL_SIZES);
		size_t		kp = first_size(ALLOCSET_DEFAULT_MINSIZE, ALLOCSET_DEFAULT_INITSIZE);
		size_t		ks = first_size(ALLOCSET_SMALL_MINSIZE, ALLOCSET_SMALL_INITSIZE);
		mcxt_accounting_t acc;
		asetsim		sim;

		sim_init(&sim, ALLOCSET_DEFAULT_SIZES);
		mcxt_get_accounting(a, false, &acc);
		CHECK(acc.mem_allocated == kp && acc.bytes_alloc == kp && acc.bytes_freed == 0 && acc.max_bytes_held == kp);
		mcxt_get_accounting(b, false, &acc);
		CHECK(acc.mem_allocated == ks && acc.bytes_alloc == ks && acc.bytes_freed == 0 && acc.max_bytes_held == ks);
		CHECK(mcxt_is_empty(b));
		CHECK(mcxt_ident(a) == NULL && mcxt_ident(b) == NULL);
		CHECK_STR(mcxt_name(a), "R1");
		CHECK(mcxt_parent(b) == a);
		{
			mcxt_counters_t c;
			mcxt_counters_t want;

			mcxt_mem_consumed(a, false, &c);
			sim_counters(&sim, &want);
			CHECK(memcmp(&c, &want, sizeof(c)) == 0);
		}
		for (int i = 0; i < 500; i++)
			mcxt_alloc(a, (size_t) i);
		mcxt_set_ident(a, "dirty");
		mcxt_alloc(b, 4000);
		add_cb(b, "b");
		log_clear();
		mcxt_delete(a);
		CHECK_LOG("b");
		CHECK_EQ(mcxt_check(mcxt_top()), 0);
	}
}

/*
 * Recycling is bounded: deleting many contexts of a standard size keeps at
 * most 100 of them per list (PostgreSQL's limit); the rest go back.
 */
static void
test_recycling_is_bounded(void)
{
	static mcxt_context_t *many[250];
	mcxt_block_stats_t before, after;

	mcxt_block_cache_trim();
	mcxt_block_stats(&before);
	for (int i = 0; i < 250; i++)
		many[i] = mcxt_aset_create(mcxt_top(), "Many", ALLOCSET_DEFAULT_SIZES);
	for (int i = 0; i < 250; i++)
		mcxt_delete(many[i]);
	mcxt_block_cache_trim();
	mcxt_block_stats(&after);
	CHECK_MSG(after.live_blocks <= before.live_blocks + 100,
			  "%ju blocks more after deleting 250 contexts", (uintmax_t) (after.live_blocks - before.live_blocks));
	CHECK_MSG(after.live_blocks > before.live_blocks, "no deleted context was kept for reuse");
	/* and they are reused: creating as many again takes no new block */
	for (int i = 0; i < 100 && i < (int) (after.live_blocks - before.live_blocks); i++)
		many[i] = mcxt_aset_create(mcxt_top(), "Reused", ALLOCSET_DEFAULT_SIZES);
	{
		mcxt_block_stats_t again;

		mcxt_block_stats(&again);
		CHECK_EQ(again.live_blocks, after.live_blocks);
	}
	for (int i = 0; i < 100 && i < (int) (after.live_blocks - before.live_blocks); i++)
		mcxt_delete(many[i]);
	CHECK_EQ(mcxt_check(mcxt_top()), 0);
}

/* Deleting the top context deletes the thread's tree; a new top follows. */
static void
test_delete_top(void)
{
	mcxt_context_t *top = mcxt_top();
	mcxt_context_t *c = mcxt_aset_create(top, "UnderTop", ALLOCSET_SMALL_SIZES);
	mcxt_context_t *fresh;

	mcxt_alloc(c, 5000);
	log_clear();
	add_cb(c, "under-top");
	add_cb(top, "top");
	mcxt_switch_to(c);
	mcxt_delete(top);
	CHECK_LOG("under-top,top");
	mcxt_switch_to(NULL);		/* the current context was in the deleted tree */
	fresh = mcxt_top();
	CHECK(fresh != NULL);
	CHECK(mcxt_parent(fresh) == NULL);
	CHECK(mcxt_current() == fresh);
	CHECK_EQ(mcxt_mem_allocated(fresh, true), mcxt_mem_allocated(fresh, false));
	CHECK(mcxt_chunk_context(mcxt_alloc(fresh, 10)) == fresh);
	CHECK_EQ(mcxt_check(fresh), 0);
}

int
main(void)
{
	th_catch_errors();
	RUN(test_current_and_top);
	RUN(test_reset_deletes_children);
	RUN(test_reset_only);
	RUN(test_reset_children);
	RUN(test_delete_and_delete_children);
	RUN(test_root_context);
	RUN(test_is_empty);
	RUN(test_set_parent);
	RUN(test_identifiers);
	RUN(test_callbacks);
	RUN(test_callback_order_tree);
	RUN(test_callback_creates_children);
	RUN(test_accounting);
	RUN(test_mem_consumed);
	RUN(test_recursive_queries_stay_in_subtree);
	RUN(test_recycled_contexts_are_fresh);
	RUN(test_recycling_is_bounded);
	RUN(test_delete_top);
	mcxt_thread_cleanup();
	return th_report();
}
