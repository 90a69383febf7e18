/*
 * test_types_bump_checked.c
 *	  Linked against a MCXT_DEBUG=1 build of the library (whatever this
 *	  build's own settings): there every bump chunk has a header, so pfree,
 *	  repalloc, GetMemoryChunkContext and GetMemoryChunkSpace of a bump chunk
 *	  are refused with MCXT_ERR_MISUSE and a message naming the allocator and
 *	  the context.  (In release builds they cannot be detected; see
 *	  src/README.md.)
 */
#include "../testhelper.h"

#include <mcxt/palloc.h>

static void
test_bump_refuses(void)
{
	mcxt_context_t *ctx = BumpContextCreate(mcxt_top(), "tuples", 0, 8192, 65536);
	char	   *small = MemoryContextAlloc(ctx, 40);
	char	   *large = MemoryContextAlloc(ctx, 20000);
	char	   *ptrs[2];

	ptrs[0] = small;
	ptrs[1] = large;
	for (int i = 0; i < 2; i++)
	{
		char	   *p = ptrs[i];

		EXPECT_ERROR(MCXT_ERR_MISUSE, pfree(p));
		CHECK(strstr(th_err_msg, "pfree is not supported by the bump memory allocator") != NULL);
		CHECK(strstr(th_err_msg, "\"tuples\"") != NULL);
		CHECK(th_err_ctx == ctx);
		EXPECT_ERROR(MCXT_ERR_MISUSE, (void) repalloc(p, 10));
		CHECK(strstr(th_err_msg, "repalloc is not supported by the bump memory allocator") != NULL);
		EXPECT_ERROR(MCXT_ERR_MISUSE, (void) GetMemoryChunkContext(p));
		CHECK(strstr(th_err_msg, "GetMemoryChunkContext is not supported") != NULL);
		EXPECT_ERROR(MCXT_ERR_MISUSE, (void) GetMemoryChunkSpace(p));
		CHECK(strstr(th_err_msg, "GetMemoryChunkSpace is not supported") != NULL);
	}
	/* the refusals left the context intact and usable */
	CHECK_EQ(mcxt_check(ctx), 0);
	memset(MemoryContextAlloc(ctx, 100), 1, 100);
	mcxt_reset(ctx);
	/* after a reset, the old chunk is out of the keeper's used part: still refused, not freed */
	EXPECT_ERROR(MCXT_ERR_MISUSE, pfree(small));
	mcxt_delete(ctx);
	mcxt_thread_cleanup();
}

int
main(void)
{
	RUN(test_bump_refuses);
	return th_report();
}
