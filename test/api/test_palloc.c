/*
 * test_palloc.c
 *	  The PostgreSQL spellings of include/mcxt/palloc.h that the other API
 *	  tests do not already go through, each checked for what it does in
 *	  PostgreSQL, not merely for compiling.
 */
#include "../testhelper.h"
#include "../unit/asetsim.h"

#include <mcxt/palloc.h>

typedef struct Pair
{
	int64_t		a;
	int64_t		b;
} Pair;

static int	cb_calls;

static void
count_cb(void *arg)
{
	(*(int *) arg)++;
}

static void
test_limits_and_types(void)
{
	Size		s = MaxAllocSize;
	MemoryContextCallbackFunction fn = count_cb;

	CHECK_EQ(s, (size_t) 0x3fffffff);
	CHECK_EQ(MaxAllocHugeSize, SIZE_MAX / 2);
	CHECK_EQ(InvalidAllocSize, SIZE_MAX);
	CHECK(AllocSizeIsValid(MaxAllocSize));
	CHECK(!AllocSizeIsValid(MaxAllocSize + 1));
	CHECK(AllocHugeSizeIsValid(MaxAllocSize + 1));
	CHECK(AllocHugeSizeIsValid(MaxAllocHugeSize));
	CHECK(!AllocHugeSizeIsValid(InvalidAllocSize));
	CHECK_EQ(ALLOCSET_SEPARATE_THRESHOLD, 8192);
	CHECK_EQ(ALLOCSET_DEFAULT_INITSIZE, 8192);
	CHECK_EQ(ALLOCSET_DEFAULT_MAXSIZE, 8 * 1024 * 1024);
	CHECK_EQ(ALLOCSET_SMALL_INITSIZE, 1024);
	CHECK_EQ(ALLOCSET_SMALL_MAXSIZE, 8192);
	CHECK_EQ(ALLOCSET_DEFAULT_MINSIZE, 0);
	CHECK_EQ(ALLOCSET_SMALL_MINSIZE, 0);
	CHECK(fn == count_cb);
}

static void
test_objects_and_resizing(void)
{
	MemoryContext cxt = AllocSetContextCreateInternal(TopMemoryContext, "Objects",
													  ALLOCSET_DEFAULT_MINSIZE,
													  ALLOCSET_DEFAULT_INITSIZE,
													  ALLOCSET_DEFAULT_MAXSIZE);
	MemoryContext old = MemoryContextSwitchTo(cxt);
	Pair	   *p = palloc_object(Pair);
	Pair	   *z;
	char	   *r;

	CHECK(MemoryContextGetParent(cxt) == TopMemoryContext);
	CHECK_EQ(GetMemoryChunkSpace(p), sim_space(8192, sizeof(Pair)));
	CHECK(GetMemoryChunkContext(p) == cxt);
	p->a = 1;
	p->b = 2;
	pfree(p);
	z = palloc0_object(Pair);
	CHECK(z == p);				/* the freed chunk, zeroed */
	CHECK(z->a == 0 && z->b == 0);

	r = palloc(10);
	memcpy(r, "123456789", 10);
	r = repalloc_extended(r, 5000, MCXT_ALLOC_NO_OOM);
	CHECK(r != NULL && strcmp(r, "123456789") == 0);
	CHECK(GetMemoryChunkContext(r) == cxt);
	r = repalloc_extended(r, 6000, MCXT_ALLOC_ZERO);
	CHECK(r != NULL && strcmp(r, "123456789") == 0);
	r = repalloc_huge(r, 20000);
	CHECK(strcmp(r, "123456789") == 0);
	CHECK_EQ(GetMemoryChunkSpace(r), sim_space(8192, 20000));
	pfree(r);
	MemoryContextCheck(cxt);
	CHECK_EQ(mcxt_check(cxt), 0);
	MemoryContextSwitchTo(old);
	MemoryContextDelete(cxt);
}

/* ResetOnly, ResetChildren and DeleteChildren, PostgreSQL spellings. */
static void
test_tree_spellings(void)
{
	MemoryContext parent = AllocSetContextCreate(TopMemoryContext, "P", ALLOCSET_SMALL_SIZES);
	MemoryContext child = AllocSetContextCreate(parent, "C", ALLOCSET_SMALL_SIZES);
	MemoryContextCallback pcb = {count_cb, &cb_calls, NULL};
	MemoryContextCallback ccb = {count_cb, &cb_calls, NULL};
	char	   *ps = MemoryContextStrdup(parent, "parent");
	char	   *cs = MemoryContextStrdup(child, "child");
	size_t		ks = sim_first_block_size(ALLOCSET_SMALL_MINSIZE, ALLOCSET_SMALL_INITSIZE);

	cb_calls = 0;
	MemoryContextRegisterResetCallback(parent, &pcb);
	MemoryContextRegisterResetCallback(child, &ccb);
	/* ResetOnly: the parent's chunks go, the child's stay */
	MemoryContextResetOnly(parent);
	CHECK_EQ(cb_calls, 1);
	CHECK_STR(cs, "child");
	CHECK(MemoryContextGetParent(child) == parent);
	/* ResetChildren: the child's chunks go, the parent's stay */
	ps = MemoryContextStrdup(parent, "parent again");
	MemoryContextResetChildren(parent);
	CHECK_EQ(cb_calls, 2);
	CHECK_STR(ps, "parent again");
	CHECK(MemoryContextIsEmpty(child));
	/* DeleteChildren: the child goes */
	MemoryContextDeleteChildren(parent);
	CHECK_EQ(MemoryContextMemAllocated(parent, true), ks);
	CHECK_STR(ps, "parent again");
	MemoryContextDelete(parent);
	CHECK_EQ(cb_calls, 2);
}

int
main(void)
{
	th_catch_errors();
	RUN(test_limits_and_types);
	RUN(test_objects_and_resizing);
	RUN(test_tree_spellings);
	mcxt_thread_cleanup();
	return th_report();
}
