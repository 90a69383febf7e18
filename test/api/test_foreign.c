/*
 * test_foreign.c
 *	  pfree / repalloc / chunk queries on pointers the library never handed
 *	  out, where the 8 bytes in front belong to somebody else: glibc malloc's
 *	  size word, or uninitialised stack.
 *
 * The library must read that word to reject the pointer, which ASan and
 * valgrind rightly report as a read of a redzone or of uninitialised
 * memory, so this program is labelled nosanitize/novalgrind and runs in the
 * plain build only.  The forged-header cases that stay inside our own
 * buffers are in test_errors.c and run everywhere.
 */
#include "../testhelper.h"

#include <mcxt/palloc.h>

static void
test_malloc_pointer(void)
{
	static const size_t sizes[] = {1, 16, 24, 100, 1000, 4096, 100000, 1 << 20};

	for (volatile size_t i = 0; i < sizeof(sizes) / sizeof(sizes[0]); i++)
	{
		char	   *volatile m = malloc(sizes[i]);

		REQUIRE(m != NULL);
		th_set_note("malloc(%zu)", sizes[i]);
		EXPECT_ERROR(MCXT_ERR_BAD_POINTER, pfree(m));
		EXPECT_ERROR(MCXT_ERR_BAD_POINTER, (void) repalloc(m, 10));
		EXPECT_ERROR(MCXT_ERR_BAD_POINTER, (void) GetMemoryChunkContext(m));
		free(m);
	}
	th_note[0] = '\0';
	CHECK_EQ(mcxt_check(mcxt_top()), 0);
}

/*
 * A stack pointer whose front word is what stacks are full of: another
 * pointer (8-aligned, so its low nibble, the type id, is 0 or 8).
 */
static void __attribute__((noinline))
free_stack_pointer(void)
{
	void	   *buf[8];

	for (int i = 0; i < 8; i++)
		buf[i] = &buf[7 - i];
	pfree(&buf[2]);
}

static void
test_stack_pointer(void)
{
	EXPECT_ERROR(MCXT_ERR_BAD_POINTER, free_stack_pointer());
}

int
main(void)
{
	th_catch_errors();
	RUN(test_malloc_pointer);
	RUN(test_stack_pointer);
	mcxt_thread_cleanup();
	return th_report();
}
