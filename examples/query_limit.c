/*
 * query_limit.c
 *	  A subtree memory limit on a query, as docs/limits.md shows it.
 *
 * A "query" context gets a hard limit of 4 MB and a soft limit of 1 MB.
 * Its hash aggregate builds groups in a child context; the soft callback
 * only raises a flag, and the aggregate, at its next row, "spills": it
 * writes its groups out (here: counts them) and resets its context, as
 * PostgreSQL's HashAgg does when it exceeds work_mem.  Then a runaway sort
 * asks for more than the hard limit allows: once with MCXT_ALLOC_NO_OOM
 * (NULL), once with palloc (the error handler, whose message names the
 * limit).  The statistics show the limit on the query's line.
 *
 * Run it: build/release/examples/query_limit
 */
#include <setjmp.h>
#include <stdio.h>
#include <string.h>

#include <mcxt.h>
#include <mcxt/palloc.h>

static bool spill_requested;
static int	ncrossings;
static jmp_buf on_error;

/* The soft callback: note the crossing; the operator acts at its next row. */
static void
soft_limit_reached(mcxt_context_t *ctx, size_t held, size_t soft, void *arg)
{
	(void) arg;
	spill_requested = true;
	if (++ncrossings > 2 && ncrossings < 13)
		return;					/* the middle of the story is the same */
	printf("soft limit: \"%s\" holds %zu bytes, above %zu: spill requested\n",
		   mcxt_name(ctx), held, soft);
}

static void
error_handler(mcxt_error_t code, mcxt_context_t *ctx, const char *message)
{
	(void) ctx;
	printf("error %d: %s\n", (int) code, message);
	longjmp(on_error, 1);
}

int
main(void)
{
	MemoryContext query;
	MemoryContext hashagg;
	MemoryContext sort;
	mcxt_limit_info_t li;
	int			spills = 0;
	long		groups = 0;
	void	   *big;

	query = AllocSetContextCreate(TopMemoryContext, "query", ALLOCSET_DEFAULT_SIZES);
	MemoryContextSetIdentifier(query, "SELECT k, count(*) FROM t GROUP BY k");
	if (!mcxt_set_limit(query, 4 * 1024 * 1024, 1024 * 1024, soft_limit_reached, NULL))
		return 1;
	hashagg = AllocSetContextCreate(query, "HashAgg", ALLOCSET_DEFAULT_SIZES);

	/* 100,000 rows, one 48-byte group entry each */
	for (int row = 0; row < 100000; row++)
	{
		if (spill_requested)
		{
			mcxt_limit_info_t now;

			(void) mcxt_get_limit(query, &now);
			if (++spills <= 2 || spills >= 13)
				printf("spill %d: writing %ld groups out, query holds %zu bytes\n",
					   spills, groups, now.held);
			else if (spills == 3)
				printf("...\n");
			MemoryContextReset(hashagg);
			groups = 0;
			spill_requested = false;
		}
		memset(MemoryContextAlloc(hashagg, 48), 0, 48);
		groups++;
	}
	(void) mcxt_get_limit(query, &li);
	printf("aggregate done: %d spills, %ld groups in memory, query holds %zu bytes "
		   "(peak %zu, %llu soft crossings)\n",
		   spills, groups, li.held, li.peak, (unsigned long long) li.soft_crossings);

	/* a sort that wants more than the query may have */
	sort = AllocSetContextCreate(query, "Sort", ALLOCSET_DEFAULT_SIZES);
	big = MemoryContextAllocExtended(sort, 5 * 1024 * 1024, MCXT_ALLOC_NO_OOM);
	printf("5 MB with MCXT_ALLOC_NO_OOM: %s\n", big == NULL ? "NULL" : "allocated");
	mcxt_set_error_handler(error_handler);
	if (setjmp(on_error) == 0)
		(void) MemoryContextAlloc(sort, 4 * 1024 * 1024);
	mcxt_set_error_handler(NULL);
	/* what does fit: 2 MB, which takes the query above its soft limit again */
	(void) MemoryContextAlloc(sort, 2 * 1024 * 1024);

	MemoryContextStatsDetail(query, 100, 100, false);
	(void) mcxt_get_limit(query, &li);
	printf("limit of \"query\": hard %zu, soft %zu, held %zu, peak %zu, "
		   "%llu soft crossings, %llu refusals\n",
		   li.hard, li.soft, li.held, li.peak,
		   (unsigned long long) li.soft_crossings, (unsigned long long) li.hard_refusals);
	MemoryContextDelete(query);
	return 0;
}
