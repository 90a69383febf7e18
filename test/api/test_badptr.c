/*
 * test_badptr.c
 *	  pfree / repalloc / chunk queries on pointers that are not live chunks:
 *	  NULL, forged headers in our own buffers, interior pointers, double
 *	  frees, and chunks of a context that has been reset since.  Each must
 *	  raise MCXT_ERR_BAD_POINTER (caught by a longjmp handler), leave the
 *	  context healthy (mcxt_check) and the memory around it usable: under
 *	  ASan and valgrind, rejecting a pointer must not poison memory the
 *	  caller owns.
 *
 * Pointers whose 8 bytes in front are not ours to read (glibc-malloc'd
 * pointers) are in test_foreign.c, which runs unwrapped.
 */
#include "../testhelper.h"
#include "../unit/asetsim.h"

#include <mcxt/palloc.h>

/* ---- bad pointers -------------------------------------------------------- */

static bool
code_is_bad_pointer_or_misuse(void)
{
	return th_err_code == MCXT_ERR_BAD_POINTER || th_err_code == MCXT_ERR_MISUSE;
}

/* Run stmt expecting some error; the caller checks which. */
#define EXPECT_SOME_ERROR(stmt) \
	do { \
		th_err_code = 0; \
		mcxt_set_error_handler(th_error_handler); \
		if (setjmp(th_err_jmp) == 0) \
		{ \
			th_err_armed = true; \
			stmt; \
			th_err_armed = false; \
			th_check(false, "an error raised by: " #stmt, __FILE__, __LINE__); \
		} \
	} while (0)

static void
test_null_pointer(void)
{
	EXPECT_SOME_ERROR(mcxt_free(NULL));
	CHECK_MSG(code_is_bad_pointer_or_misuse(), "pfree(NULL) raised %d", th_err_code);
	EXPECT_SOME_ERROR(pfree(NULL));
	CHECK_MSG(code_is_bad_pointer_or_misuse(), "pfree(NULL) raised %d", th_err_code);
	EXPECT_SOME_ERROR((void) mcxt_realloc(NULL, 10));
	CHECK_MSG(code_is_bad_pointer_or_misuse(), "repalloc(NULL) raised %d", th_err_code);
}

static void
test_forged_pointers(void)
{
	mcxt_context_t *ctx = mcxt_aset_create(mcxt_top(), "Forged", ALLOCSET_DEFAULT_SIZES);
	uint64_t	stackbuf[16];
	char	   *p;

	/* a stack pointer after zeroed bytes (type 0) */
	memset(stackbuf, 0, sizeof(stackbuf));
	EXPECT_ERROR(MCXT_ERR_BAD_POINTER, mcxt_free(&stackbuf[1]));
	/* after 0xFF bytes (type 15) */
	memset(stackbuf, 0xFF, sizeof(stackbuf));
	EXPECT_ERROR(MCXT_ERR_BAD_POINTER, mcxt_free(&stackbuf[1]));
	/* an AllocSet-looking header whose "block" (the buffer itself) has no valid check word */
	memset(stackbuf, 0, sizeof(stackbuf));
	stackbuf[8] = mcxt_chunk_make_hdr(MCXT_TYPE_ASET, 4, 8 * sizeof(uint64_t), 0);
	stackbuf[0] = (uint64_t) (uintptr_t) ctx;	/* even a plausible aset pointer */
	EXPECT_ERROR(MCXT_ERR_BAD_POINTER, mcxt_free(&stackbuf[9]));
	EXPECT_ERROR(MCXT_ERR_BAD_POINTER, (void) mcxt_realloc(&stackbuf[9], 100));
	/* the message names the pointer */
	{
		char		addr[64];

		snprintf(addr, sizeof(addr), "%p", (void *) &stackbuf[9]);
		CHECK_MSG(strstr(th_err_msg, addr) != NULL, "message \"%s\" lacks %s", th_err_msg, addr);
	}
	/*
	 * A static pointer behind every type id that src/chunk.h reserves as
	 * never used (0..8, 14, 15), whatever the other bits say: rejected from
	 * the type alone, for free, repalloc and the chunk queries.
	 */
	for (volatile unsigned type = 0; type <= 15; type++)
	{
		static uint64_t statbuf[8];

		if (type > 8 && type < 14)
			continue;			/* ids of real context types */
		th_set_note("type id %u", type);
		statbuf[2] = mcxt_chunk_make_hdr(type, 1, 8, 0);
		EXPECT_ERROR(MCXT_ERR_BAD_POINTER, mcxt_free(&statbuf[3]));
		EXPECT_ERROR(MCXT_ERR_BAD_POINTER, (void) mcxt_realloc(&statbuf[3], 10));
		EXPECT_ERROR(MCXT_ERR_BAD_POINTER, (void) mcxt_chunk_context(&statbuf[3]));
		EXPECT_ERROR(MCXT_ERR_BAD_POINTER, (void) mcxt_chunk_space(&statbuf[3]));
		statbuf[2] = mcxt_chunk_make_hdr(type, 3, 16, MCXT_CHUNK_EXTERNAL);
		EXPECT_ERROR(MCXT_ERR_BAD_POINTER, mcxt_free(&statbuf[3]));
	}
	th_note[0] = '\0';

	/* interior pointers into a live chunk: the bytes before are user data */
	p = mcxt_alloc_zero(ctx, 64);
	EXPECT_ERROR(MCXT_ERR_BAD_POINTER, mcxt_free(p + 8));
	EXPECT_ERROR(MCXT_ERR_BAD_POINTER, mcxt_free(p + 16));
	memcpy(p, "abcdefghijklmnopqrstuvwxyz012345", 32);
	EXPECT_ERROR(MCXT_ERR_BAD_POINTER, mcxt_free(p + 24));
	EXPECT_ERROR(MCXT_ERR_BAD_POINTER, (void) mcxt_chunk_space(p + 8));
	/* the chunk is still fine */
	CHECK(mcxt_chunk_context(p) == ctx);
	mcxt_free(p);
	/* interior of a large chunk */
	p = mcxt_alloc_zero(ctx, 20000);
	EXPECT_ERROR(MCXT_ERR_BAD_POINTER, mcxt_free(p + 4096));
	mcxt_free(p);
	CHECK_EQ(mcxt_check(ctx), 0);
	mcxt_delete(ctx);
}

static void
test_double_free(void)
{
	mcxt_context_t *ctx = mcxt_aset_create(mcxt_top(), "DoubleFree", ALLOCSET_DEFAULT_SIZES);
	char	   *a = mcxt_alloc(ctx, 100);
	char	   *b = mcxt_alloc(ctx, 100);
	char	   *c = mcxt_alloc(ctx, 7);

	mcxt_free(a);
	EXPECT_ERROR(MCXT_ERR_BAD_POINTER, mcxt_free(a));
	CHECK(th_err_ctx == ctx);	/* found through the block: named */
	CHECK_MSG(strstr(th_err_msg, "DoubleFree") != NULL, "message \"%s\" lacks the context name", th_err_msg);
	EXPECT_ERROR(MCXT_ERR_BAD_POINTER, (void) mcxt_realloc(a, 200));
	mcxt_free(c);
	EXPECT_ERROR(MCXT_ERR_BAD_POINTER, mcxt_free(c));
	/* the freelist is intact: a and c come back once each, b is untouched */
	CHECK(mcxt_alloc(ctx, 100) == a);
	CHECK(mcxt_alloc(ctx, 100) != a);
	CHECK(mcxt_alloc(ctx, 1) == c);
	CHECK(mcxt_alloc(ctx, 1) != c);
	CHECK(mcxt_chunk_context(b) == ctx);
	CHECK_EQ(mcxt_check(ctx), 0);
	mcxt_delete(ctx);
}

/* A chunk that lay in the keeper block, beyond the rewound free pointer. */
static void
test_free_after_reset(void)
{
	mcxt_context_t *ctx = mcxt_aset_create(mcxt_top(), "ResetFree", ALLOCSET_DEFAULT_SIZES);
	char	   *p = mcxt_alloc(ctx, 100);
	char	   *q = mcxt_alloc(ctx, 200);

	memset(p, 1, 100);
	memset(q, 2, 200);
	mcxt_reset(ctx);
	EXPECT_ERROR(MCXT_ERR_BAD_POINTER, mcxt_free(q));
	EXPECT_ERROR(MCXT_ERR_BAD_POINTER, mcxt_free(p));
	EXPECT_ERROR(MCXT_ERR_BAD_POINTER, (void) mcxt_realloc(q, 10));
	CHECK_EQ(mcxt_check(ctx), 0);
	/* and the context is usable: the first chunk is p's place again */
	CHECK(mcxt_alloc(ctx, 100) == p);
	mcxt_delete(ctx);
}

int
main(void)
{
	th_catch_errors();
	RUN(test_null_pointer);
	RUN(test_forged_pointers);
	RUN(test_double_free);
	RUN(test_free_after_reset);
	mcxt_thread_cleanup();
	return th_report();
}
