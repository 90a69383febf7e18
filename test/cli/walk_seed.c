/*
 * walk_seed.c
 *	  The program whose core seeds the fuzz target's walker (see
 *	  make_walk_seed.sh): a small libmcxt tree with every kind of chunk the
 *	  walker decodes (small, free, external, a child with an ident, a
 *	  Generation and a Slab context) and a leak of base/%u strings, all
 *	  within the first few kilobytes of the heap so a shrunk core keeps it.
 *	  Writes "ready" to argv[1], then waits to be killed.
 */
#define _POSIX_C_SOURCE 200809L
#include <stdio.h>
#include <unistd.h>

#include <mcxt.h>

int
main(int argc, char **argv)
{
	mcxt_context_t *top = mcxt_top();
	mcxt_context_t *child = mcxt_aset_create(top, "child", MCXT_SMALL_SIZES);
	mcxt_context_t *gen = mcxt_generation_create(top, "gen", 0, 1024, 8192);
	mcxt_context_t *slab = mcxt_slab_create(top, "slab", 1024, 48);
	FILE	   *f;

	mcxt_set_ident(child, "seed ident");
	for (int i = 0; i < 12; i++)
		(void) mcxt_sprintf(top, "base/%d", 16384 + i);
	mcxt_free(mcxt_alloc(child, 40));
	(void) mcxt_alloc(child, 2000);	/* external in a small context */
	(void) mcxt_alloc(gen, 100);
	(void) mcxt_alloc(slab, 48);
	if (argc < 2 || (f = fopen(argv[1], "w")) == NULL)
		return 1;
	fputs("ready\n", f);
	fclose(f);
	for (;;)
		pause();
}
