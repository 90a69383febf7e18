/*
 * test_memory.c
 *	  Memory efficiency of the chunk header: 1,000,000 pallocs of 128 bytes
 *	  in one AllocSet (ALLOCSET_DEFAULT_SIZES) must hold at most 136 MB + 1%
 *	  of blocks (136 bytes per chunk: 128 + an 8-byte header; PostgreSQL 15
 *	  needs 144, which would take 144 MB here), and consecutive chunks must lie 136 bytes apart except
 *	  where a new block starts.
 *
 * Labelled novalgrind: 136 MB under valgrind's shadow memory is slow and
 * proves nothing the sanitized run does not.
 */
#include "../testhelper.h"
#include "asetsim.h"

#include <mcxt/palloc.h>

#define NCHUNKS 1000000

static char *ptrs[NCHUNKS];

static void
test_million_128(void)
{
	mcxt_context_t *ctx = AllocSetContextCreate(TopMemoryContext, "Million", ALLOCSET_DEFAULT_SIZES);
	MemoryContext old = MemoryContextSwitchTo(ctx);
	mcxt_counters_t c;
	size_t		allocated;
	/*
	 * MB as the block sizes count it (2^20): blocks grow to 8 MB, so the
	 * holding is a whole number of 8 MB blocks, 17 of them for 136e6 bytes
	 * of chunks; 136 MB + 1% leaves room for the header and keeper.
	 */
	size_t		limit = (size_t) 136 * 1024 * 1024 + (size_t) 136 * 1024 * 1024 / 100;
	size_t		breaks = 0;

	for (int i = 0; i < NCHUNKS; i++)
	{
		ptrs[i] = palloc(128);
		ptrs[i][0] = (char) i;
		ptrs[i][127] = (char) (i >> 8);
	}
	MemoryContextSwitchTo(old);

	allocated = MemoryContextMemAllocated(ctx, false);
	mcxt_mem_consumed(ctx, false, &c);
	fprintf(stderr, "(%zu bytes in %zu blocks, %.3f bytes per chunk) ", allocated, c.nblocks,
			(double) allocated / NCHUNKS);
	CHECK_MSG(allocated <= limit, "%zu bytes of blocks for %d chunks of 128 bytes; limit %zu",
			  allocated, NCHUNKS, limit);
	CHECK(allocated >= (size_t) 136 * NCHUNKS);
	CHECK_EQ(c.totalspace, allocated);
	CHECK(c.totalspace - c.freespace >= (size_t) 136 * NCHUNKS);
	CHECK_EQ(GetMemoryChunkSpace(ptrs[0]), 136);
	CHECK_EQ(GetMemoryChunkSpace(ptrs[NCHUNKS - 1]), 136);

	/* within a block, consecutive chunks are 136 bytes apart */
	for (int i = 1; i < NCHUNKS; i++)
		if (ptrs[i] - ptrs[i - 1] != 136)
			breaks++;
	CHECK_MSG(breaks < c.nblocks, "%zu places where the next chunk is not 136 bytes on, %zu blocks",
			  breaks, c.nblocks);
	for (int i = 0; i < NCHUNKS; i += 9973)
		CHECK(ptrs[i][0] == (char) i && ptrs[i][127] == (char) (i >> 8) &&
			  GetMemoryChunkContext(ptrs[i]) == ctx);
	CHECK_EQ(mcxt_check(ctx), 0);
	MemoryContextDelete(ctx);
}

int
main(void)
{
	if (SIM_TAIL != 0)
	{
		fprintf(stderr, "skipped: the library reserves tail room after every chunk in this build "
				"(checking or memory-tool build); the 136-byte layout is the release build's\n");
		return 77;
	}
	th_catch_errors();
	RUN(test_million_128);
	mcxt_thread_cleanup();
	return th_report();
}
