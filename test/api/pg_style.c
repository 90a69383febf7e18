/*
 * pg_style.c
 *	  A program written the way PostgreSQL code is written, against
 *	  <mcxt/palloc.h> alone.  test_install.sh builds it against an installed
 *	  libmcxt with pkg-config and compares its output with what PostgreSQL's
 *	  memory contexts would do.  Statistics go to stderr (MemoryContextStats)
 *	  and to stdout (MemoryContextStatsDetail(..., false)); the script checks
 *	  their shape, the rest of stdout exactly.
 */
#include <mcxt/palloc.h>

#include <stdio.h>
#include <string.h>

typedef struct Tuple
{
	int			id;
	char	   *name;
} Tuple;

static int	callbacks_run = 0;

static void
query_done(void *arg)
{
	printf("callback: %s\n", (const char *) arg);
	callbacks_run++;
}

static char *
describe(MemoryContext cxt, const char *fmt, ...)
{
	va_list		args;
	char		buf[8];
	size_t		needed;
	char	   *out;

	va_start(args, fmt);
	needed = pvsnprintf(buf, sizeof(buf), fmt, args);
	va_end(args);
	if (needed < sizeof(buf))
		return MemoryContextStrdup(cxt, buf);
	out = MemoryContextAlloc(cxt, needed);
	va_start(args, fmt);
	(void) pvsnprintf(out, needed, fmt, args);
	va_end(args);
	return out;
}

int
main(void)
{
	MemoryContext query_cxt;
	MemoryContext row_cxt;
	MemoryContext oldcxt;
	MemoryContextCallback cb;
	Tuple	   *tuples;
	char	   *names;
	int		   *arr;
	void	   *huge;

	MemoryContextInit();
	query_cxt = AllocSetContextCreate(TopMemoryContext, "QueryContext", ALLOCSET_DEFAULT_SIZES);
	row_cxt = AllocSetContextCreate(query_cxt, "RowContext", ALLOCSET_SMALL_SIZES);
	MemoryContextSetIdentifier(query_cxt, "SELECT * FROM t");
	oldcxt = MemoryContextSwitchTo(query_cxt);

	tuples = palloc0_array(Tuple, 10);
	for (int i = 0; i < 10; i++)
	{
		char	   *tmp;

		MemoryContextSwitchTo(row_cxt);
		tmp = psprintf("row-%d", i * 7);
		MemoryContextSwitchTo(query_cxt);
		tuples[i].id = i;
		tuples[i].name = pstrdup(tmp);
		MemoryContextReset(row_cxt);
	}
	printf("row context empty after reset: %s\n", MemoryContextIsEmpty(row_cxt) ? "yes" : "no");

	names = pstrdup("");
	for (int i = 0; i < 10; i++)
	{
		names = repalloc(names, strlen(names) + strlen(tuples[i].name) + 2);
		strcat(names, tuples[i].name);
		strcat(names, i < 9 ? "," : "");
	}
	printf("names: %s\n", names);
	printf("pnstrdup: %s\n", pnstrdup("memory context", 6));
	printf("describe: %s\n", describe(query_cxt, "%s has %d tuples", "t", 10));
	printf("tuples owned by QueryContext: %s\n",
		   GetMemoryChunkContext(tuples) == query_cxt ? "yes" : "no");
	printf("space of palloc(100): %zu\n", GetMemoryChunkSpace(palloc(100)));
	printf("space of palloc(0): %zu\n", GetMemoryChunkSpace(palloc(0)));
	arr = palloc_array(int, 4);
	arr = repalloc_array(arr, int, 5000);
	arr[4999] = 42;
	printf("space of grown array: %zu\n", GetMemoryChunkSpace(arr));
	huge = palloc_extended(MaxAllocHugeSize, MCXT_ALLOC_HUGE | MCXT_ALLOC_NO_OOM);
	printf("huge allocation: %s\n", huge == NULL ? "NULL" : "granted");
	printf("parent of RowContext: %s\n", MemoryContextGetParent(row_cxt) == query_cxt ? "QueryContext" : "?");

	cb.func = query_done;
	cb.arg = "QueryContext is going away";
	MemoryContextRegisterResetCallback(query_cxt, &cb);

	MemoryContextStats(query_cxt);
	fflush(stdout);
	MemoryContextStatsDetail(query_cxt, 100, 100, false);
	fflush(stdout);
	printf("allocated (recursive) >= own: %s\n",
		   MemoryContextMemAllocated(query_cxt, true) >= MemoryContextMemAllocated(query_cxt, false) ? "yes" : "no");
	MemoryContextCheck(query_cxt);

	MemoryContextSwitchTo(oldcxt);
	MemoryContextDelete(query_cxt);
	printf("callbacks run: %d\n", callbacks_run);
	printf("current is top: %s\n", CurrentMemoryContext == TopMemoryContext ? "yes" : "no");
	mcxt_thread_cleanup();
	return 0;
}
