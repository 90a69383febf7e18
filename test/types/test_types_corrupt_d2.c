/*
 * test_types_corrupt_d2.c
 *	  Linked against a MCXT_DEBUG=2 build of the library: a write one byte
 *	  past a Generation, Slab or Bump chunk is caught (at pfree/repalloc with
 *	  MCXT_ERR_CORRUPTION, and by mcxt_check as a warning), and so is a write
 *	  into a freed Generation or Slab chunk (by the check, and for a Slab
 *	  when the slot is handed out again).  The writes are deliberate, so this
 *	  program runs in plain builds only (labels nosanitize, novalgrind).
 */
#include "../testhelper.h"

#include <mcxt/palloc.h>

static void
test_write_past_end(void)
{
	mcxt_context_t *ctxs[3];

	ctxs[0] = GenerationContextCreate(mcxt_top(), "gen", 0, 8192, 65536);
	ctxs[1] = SlabContextCreate(mcxt_top(), "slab", 8192, 30);
	ctxs[2] = BumpContextCreate(mcxt_top(), "bump", 0, 8192, 65536);
	for (int k = 0; k < 3; k++)
	{
		char	   *p = MemoryContextAlloc(ctxs[k], 30);

		th_set_note("%s", mcxt_name(ctxs[k]));
		CHECK_EQ(mcxt_check(ctxs[k]), 0);
		p[30] = 'x';
		CHECK(mcxt_check(ctxs[k]) > 0);
		if (k < 2)
		{
			EXPECT_ERROR(MCXT_ERR_CORRUPTION, pfree(p));
			CHECK(strstr(th_err_msg, "detected write past chunk end") != NULL);
			EXPECT_ERROR(MCXT_ERR_CORRUPTION, (void) repalloc(p, 20));
		}
		p[30] = (char) 0x7E;	/* the sentinel back */
		CHECK_EQ(mcxt_check(ctxs[k]), 0);
		if (k < 2)
			pfree(p);
	}
	th_set_note("%s", "");
	for (int k = 0; k < 3; k++)
		mcxt_delete(ctxs[k]);
}

static void
test_write_after_free(void)
{
	mcxt_context_t *gen = GenerationContextCreate(mcxt_top(), "gen", 0, 8192, 65536);
	mcxt_context_t *slab = SlabContextCreate(mcxt_top(), "slab", 8192, 64);
	char	   *g = MemoryContextAlloc(gen, 64);
	char	   *keep = MemoryContextAlloc(gen, 64);	/* keeps g's block from emptying */
	char	   *s = MemoryContextAlloc(slab, 64);
	char	   *s2 = MemoryContextAlloc(slab, 64);	/* keeps s's block from emptying */

	pfree(g);
	g[20] = 1;
	CHECK(mcxt_check(gen) > 0);
	g[20] = (char) 0x7F;
	CHECK_EQ(mcxt_check(gen), 0);

	pfree(s);
	s[20] = 1;
	CHECK(mcxt_check(slab) > 0);
	EXPECT_ERROR(MCXT_ERR_CORRUPTION, (void) MemoryContextAlloc(slab, 64));
	CHECK(strstr(th_err_msg, "write after pfree") != NULL);
	s[20] = (char) 0x7F;
	CHECK(MemoryContextAlloc(slab, 64) == s);
	CHECK_EQ(mcxt_check(slab), 0);
	/* new memory is filled with the new-memory byte */
	CHECK_EQ((unsigned char) s[5], 0xA5);
	pfree(keep);
	pfree(s2);
	mcxt_delete(gen);
	mcxt_delete(slab);
	mcxt_thread_cleanup();
}

int
main(void)
{
	RUN(test_write_past_end);
	RUN(test_write_after_free);
	return th_report();
}
