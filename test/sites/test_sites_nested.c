/*
 * test_sites_nested.c
 *	  Allocating macros nested in each other's arguments, in a sites build.
 *
 * With MCXT_SITES every allocating macro of mcxt.h expands to a statement
 * expression with temporaries of its own; a call inside another's arguments
 * (palloc(strlen(pstrdup(x))), psprintf inside mcxt_alloc's size) once
 * declared the same names twice, and -Wshadow -Werror refused such code.
 * This file is built with those flags (test/sites/CMakeLists.txt), so the
 * build is the first half of the test; running it checks that each level
 * of the nesting still records its own site and restores the outer one.
 */
#define _GNU_SOURCE
#include <stdio.h>
#include <string.h>

#include <mcxt.h>
#include <mcxt/palloc.h>

#include "testhelper.h"

static void
check_site(const void *p, int line)
{
	mcxt_site_stats_t s;

	REQUIRE(mcxt_chunk_site(p, &s));
	CHECK_EQ(s.line, line);
	CHECK_STR(s.func, "test_nested");
}

static void
test_nested(void)
{
	mcxt_context_t *ctx = mcxt_aset_create(mcxt_top(), "nested", MCXT_DEFAULT_SIZES);
	mcxt_context_t *old = MemoryContextSwitchTo(ctx);
	char	   *dup = NULL;
	char	   *fmt = NULL;
	int			l1;
	int			l2;
	int			l3;

	/* the inner chunks are kept through pointers assigned inside the arguments */
	char	   *a = palloc(strlen(dup = pstrdup("nested")) + 1); l1 = __LINE__;
	char	   *b = mcxt_alloc(ctx, strlen(fmt = psprintf("%d-%s", 42, "x")) + 1); l2 = __LINE__;
	char	   *c = pstrdup(psprintf("%s/%s", pstrdup("a"), mcxt_strdup(ctx, "b"))); l3 = __LINE__;

	strcpy(a, dup);
	strcpy(b, fmt);
	CHECK_STR(a, "nested");
	CHECK_STR(b, "42-x");
	CHECK_STR(c, "a/b");
	check_site(a, l1);
	check_site(dup, l1);
	check_site(b, l2);
	check_site(fmt, l2);
	check_site(c, l3);
	/* after the outermost call the pending site is gone again */
	CHECK(mcxt_site_pending == NULL);
	MemoryContextSwitchTo(old);
	mcxt_delete(ctx);
}

int
main(void)
{
	RUN(test_nested);
	mcxt_thread_cleanup();
	return th_report();
}
