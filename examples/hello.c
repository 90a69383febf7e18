/*
 * hello.c
 *	  The usage example of the README, verbatim: a query context with a
 *	  per-row child that is reset every iteration.
 */
#include <stdio.h>
#include <mcxt/palloc.h>

int main(void)
{
    MemoryContext query = AllocSetContextCreate(TopMemoryContext, "ExecutorState",
                                                ALLOCSET_DEFAULT_SIZES);
    MemoryContext row = AllocSetContextCreate(query, "ExprContext", ALLOCSET_SMALL_SIZES);
    MemoryContext old = MemoryContextSwitchTo(row);

    for (int i = 0; i < 1000; i++)
    {
        char *line = psprintf("row %d", i);      /* lives until the reset */
        if (i == 999)
            puts(line);
        MemoryContextReset(row);                 /* frees everything of this row */
    }
    MemoryContextSwitchTo(old);
    MemoryContextStats(TopMemoryContext);        /* PostgreSQL's format, on stderr */
    MemoryContextDelete(query);                  /* frees query, row and all chunks */
    return 0;
}
