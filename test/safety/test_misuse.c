/*
 * test_misuse.c
 *	  Every kind of bad input from issue 3 and its documented outcome
 *	  (docs/debugging.md), at the checking level this program was built
 *	  against (TEST_LEVEL, set by CMake to the library variant's MCXT_DEBUG).
 *
 * The program does on purpose what memory tools report (it reads the
 * header in front of malloc'd and freed memory), so it runs only in plain
 * builds: labels nosanitize and novalgrind.  That the tools themselves
 * catch such misuse is test_tools.sh's job.
 */
#include <pthread.h>
#include <stdatomic.h>
#include <string.h>

#include "../testhelper.h"

#ifndef TEST_LEVEL
#error "TEST_LEVEL must be the MCXT_DEBUG level of the library under test"
#endif

static mcxt_context_t *
new_ctx(void)
{
	return mcxt_aset_create(mcxt_top(), "misuse", MCXT_DEFAULT_SIZES);
}

static void
test_null_and_foreign_pointers(void)
{
	uint64_t	stack[16] = {0};
	char	   *m = malloc(64);
	mcxt_context_t *c = new_ctx();
	char	   *p = mcxt_alloc(c, 100);

	EXPECT_ERROR(MCXT_ERR_BAD_POINTER, mcxt_free(NULL));
	EXPECT_ERROR(MCXT_ERR_BAD_POINTER, (void) mcxt_realloc(NULL, 10));
	/* glibc's size word in front of a malloc'd pointer has type id 0..7 */
	EXPECT_ERROR(MCXT_ERR_BAD_POINTER, mcxt_free(m));
	EXPECT_ERROR(MCXT_ERR_BAD_POINTER, (void) mcxt_realloc(m, 100));
	/*
	 * A stack pointer: a zero header, then one forged to claim AllocSet
	 * with its "block" 64 bytes back, still inside the array, where no
	 * check word is.
	 */
	EXPECT_ERROR(MCXT_ERR_BAD_POINTER, mcxt_free(&stack[9]));
	stack[8] = 9 | ((uint64_t) 8 << 36);
	EXPECT_ERROR(MCXT_ERR_BAD_POINTER, mcxt_free(&stack[9]));
	/* an interior pointer: the 8 bytes in front of it are user data */
	memset(p, 0, 100);
	EXPECT_ERROR(MCXT_ERR_BAD_POINTER, mcxt_free(p + 16));
	memset(p, 0xFF, 100);
	EXPECT_ERROR(MCXT_ERR_BAD_POINTER, mcxt_free(p + 16));
	EXPECT_ERROR(MCXT_ERR_BAD_POINTER, (void) mcxt_chunk_space(p + 24));
	/* none of that disturbed the context or the real chunk */
	CHECK_EQ(mcxt_check(c), 0);
	EXPECT_NO_ERROR(mcxt_free(p));
	free(m);
	mcxt_delete(c);
}

static void
test_freed_chunks(void)
{
	mcxt_context_t *c = new_ctx();
	char	   *small = mcxt_alloc(c, 100);
	char	   *large = mcxt_alloc(c, 100000);
	char	   *keep = mcxt_alloc(c, 100);

	strcpy(keep, "untouched");
	mcxt_free(small);
	EXPECT_ERROR(MCXT_ERR_BAD_POINTER, mcxt_free(small));	/* double free */
	EXPECT_ERROR(MCXT_ERR_BAD_POINTER, (void) mcxt_realloc(small, 10));
	EXPECT_ERROR(MCXT_ERR_BAD_POINTER, (void) mcxt_chunk_context(small));
	mcxt_free(large);				/* its block went back at once */
	(void) mcxt_alloc(c, 100000);	/* ... and may come back; the old header is gone */
	CHECK_STR(keep, "untouched");
	CHECK_EQ(mcxt_check(c), 0);
	mcxt_delete(c);
}

static void
test_chunks_of_reset_and_deleted_contexts(void)
{
	mcxt_context_t *c = new_ctx();
	char	   *in_keeper = mcxt_alloc(c, 100);
	char	   *in_block;
	mcxt_context_t *custom;
	char	   *p;

	for (int i = 0; i < 200; i++)
		in_block = mcxt_alloc(c, 500);	/* past the keeper: a block of its own */
	mcxt_reset(c);
	/* the keeper was rewound: the chunk lies beyond its free pointer */
	EXPECT_ERROR(MCXT_ERR_BAD_POINTER, mcxt_free(in_keeper));
	/* the other block was given back (to the block cache): its check word is gone */
	EXPECT_ERROR(MCXT_ERR_BAD_POINTER, mcxt_free(in_block));

	/* a deleted context of standard sizes is parked for reuse: still detectable */
	p = mcxt_alloc(c, 100);
	mcxt_delete(c);
	EXPECT_ERROR(MCXT_ERR_BAD_POINTER, mcxt_free(p));
	EXPECT_ERROR(MCXT_ERR_MISUSE, mcxt_reset(c));
	EXPECT_ERROR(MCXT_ERR_MISUSE, mcxt_delete(c));
	EXPECT_ERROR(MCXT_ERR_MISUSE, (void) mcxt_aset_create(c, "orphan", MCXT_DEFAULT_SIZES));
#if TEST_LEVEL >= 1
	EXPECT_ERROR(MCXT_ERR_MISUSE, (void) mcxt_alloc(c, 10));
#endif

	/* a deleted context of other sizes whose storage went to the block cache */
	custom = mcxt_aset_create(mcxt_top(), "custom", 8192, 8192, 65536);
	p = mcxt_alloc(custom, 100);
	mcxt_delete(custom);
	EXPECT_ERROR(MCXT_ERR_BAD_POINTER, mcxt_free(p));
	CHECK_EQ(mcxt_check(mcxt_top()), 0);
}

static void
test_sizes(void)
{
	mcxt_context_t *c = new_ctx();
	char	   *p = mcxt_alloc(c, 10);

	EXPECT_ERROR(MCXT_ERR_INVALID_SIZE, (void) mcxt_alloc(c, SIZE_MAX));
	EXPECT_ERROR(MCXT_ERR_INVALID_SIZE, (void) mcxt_alloc(c, MCXT_MAX_ALLOC_SIZE + 1));
	EXPECT_ERROR(MCXT_ERR_INVALID_SIZE, (void) mcxt_alloc(c, SIZE_MAX / 2));
	EXPECT_ERROR(MCXT_ERR_INVALID_SIZE,
				 (void) mcxt_alloc_extended(c, SIZE_MAX, MCXT_ALLOC_HUGE));
	EXPECT_ERROR(MCXT_ERR_INVALID_SIZE,
				 (void) mcxt_alloc_extended(c, SIZE_MAX, MCXT_ALLOC_HUGE | MCXT_ALLOC_NO_OOM));
	EXPECT_ERROR(MCXT_ERR_INVALID_SIZE,
				 (void) mcxt_alloc_extended(c, MCXT_MAX_ALLOC_SIZE + 1, MCXT_ALLOC_NO_OOM));
	/* allowed with HUGE, but no machine has it: the block source fails */
	EXPECT_ERROR(MCXT_ERR_OOM, (void) mcxt_alloc_extended(c, SIZE_MAX / 2, MCXT_ALLOC_HUGE));
	CHECK(mcxt_alloc_extended(c, SIZE_MAX / 2, MCXT_ALLOC_HUGE | MCXT_ALLOC_NO_OOM) == NULL);
	EXPECT_ERROR(MCXT_ERR_INVALID_SIZE, (void) mcxt_realloc(p, SIZE_MAX));
	EXPECT_ERROR(MCXT_ERR_INVALID_SIZE, (void) mcxt_realloc(p, MCXT_MAX_ALLOC_SIZE + 1));
	EXPECT_ERROR(MCXT_ERR_OOM, (void) mcxt_realloc_extended(p, SIZE_MAX / 2, MCXT_ALLOC_HUGE));
	/* the failed calls left the chunk and the context as they were */
	CHECK_EQ(mcxt_chunk_context(p), c);
	CHECK_EQ(mcxt_check(c), 0);
	mcxt_delete(c);
}

static void
test_overrun(void)
{
	mcxt_context_t *c = new_ctx();
	char	   *p = mcxt_alloc(c, 128);
	char	   *q = mcxt_alloc(c, 128);

	memset(q, 'q', 128);
	p[128] = 'x';				/* one byte past the end */
#if TEST_LEVEL >= 2
	/* the sentinel catches it: a warning from the check, an error at pfree */
	CHECK_EQ(mcxt_check(c), 1);
	EXPECT_ERROR(MCXT_ERR_CORRUPTION, mcxt_free(p));
	CHECK(strstr(th_err_msg, "write past chunk end") != NULL);
	CHECK(strstr(th_err_msg, "requested size 128") != NULL);
	p[128] = (char) 0x7E;		/* repair, so level 3's check at delete passes */
#else
	/*
	 * Documented: without the sentinel's slack the byte lands on the next
	 * chunk's header, which the check sees and pfree of that chunk refuses.
	 */
	CHECK(mcxt_check(c) >= 1);
	EXPECT_ERROR(MCXT_ERR_BAD_POINTER, mcxt_free(q));
#endif
	/* either way, it never reaches the next chunk's data */
	for (int i = 0; i < 128; i++)
		CHECK(q[i] == 'q');
	mcxt_delete(c);
}

static void
test_write_after_free(void)
{
	mcxt_context_t *c = new_ctx();
	char	   *p = mcxt_alloc(c, 100);

	mcxt_free(p);
	p[50] = 'x';
#if TEST_LEVEL >= 2
	CHECK_EQ(mcxt_check(c), 1);
	EXPECT_ERROR(MCXT_ERR_CORRUPTION, (void) mcxt_alloc(c, 100));
	CHECK(strstr(th_err_msg, "write after pfree") != NULL);
	p[50] = (char) 0x7F;		/* repair, so level 3's check at delete passes */
#else
	CHECK_EQ(mcxt_check(c), 0);
#endif
	mcxt_delete(c);
}

/* Two threads in one context at the same moment. */
static mcxt_context_t *shared_ctx;
static atomic_int misuse_seen;
static atomic_bool stop;

static void
thread_error_handler(mcxt_error_t code, mcxt_context_t *ctx, const char *message)
{
	(void) ctx;
	(void) message;
	if (code == MCXT_ERR_MISUSE)
		atomic_fetch_add(&misuse_seen, 1);
	atomic_store(&stop, true);
	pthread_exit(NULL);			/* the offending thread stops here */
}

static void *
hammer(void *arg)
{
	(void) arg;
	/* bounded: two threads overlap long before this on any machine */
	for (long i = 0; i < 50000000 && !atomic_load(&stop); i++)
	{
		void	   *p = mcxt_alloc(shared_ctx, 64);

		mcxt_free(p);
	}
	return NULL;
}

static void
test_concurrent_use(void)
{
	pthread_t	t[2];

	shared_ctx = new_ctx();
#if TEST_LEVEL >= 1
	atomic_store(&misuse_seen, 0);
	atomic_store(&stop, false);
	mcxt_set_error_handler(thread_error_handler);
	for (int i = 0; i < 2; i++)
		pthread_create(&t[i], NULL, hammer, NULL);
	for (int i = 0; i < 2; i++)
		pthread_join(t[i], NULL);
	mcxt_set_error_handler(th_error_handler);
	/* caught as soon as the two threads overlapped inside the context */
	CHECK(atomic_load(&misuse_seen) >= 1);
#else
	(void) t;
	(void) hammer;
	(void) thread_error_handler;
#endif
	mcxt_delete(shared_ctx);
}

int
main(void)
{
	th_catch_errors();
	RUN(test_null_and_foreign_pointers);
	RUN(test_freed_chunks);
	RUN(test_chunks_of_reset_and_deleted_contexts);
	RUN(test_sizes);
	RUN(test_overrun);
	RUN(test_write_after_free);
	RUN(test_concurrent_use);
	mcxt_thread_cleanup();
	return th_report();
}
