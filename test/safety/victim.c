/*
 * victim.c
 *	  Commits one memory bug on purpose, chosen by argv[1], so that
 *	  test_tools.sh can prove each checking mode reports it:
 *	    uaf          write into a chunk after pfree
 *	    uaf-read     read a chunk after pfree
 *	    after-reset  read a chunk after its context was reset
 *	    overrun      write one byte past a chunk, then pfree it
 *	    overrun-check  the same, then MemoryContextCheck instead of pfree
 *	    uninit       branch on palloc memory never written
 *	    leak         lose the only pointer to a chunk of a context that is
 *	                 never deleted (valgrind's leak check must see it)
 *	    clean        none of this (every mode must stay silent)
 *	  It prints "survived" if the bug went unnoticed.
 */
#include <stdio.h>
#include <string.h>

#include <mcxt.h>

static mcxt_context_t *leaky;

int
main(int argc, char **argv)
{
	mcxt_context_t *c = mcxt_aset_create(mcxt_top(), "victim", MCXT_DEFAULT_SIZES);
	char	   *p = mcxt_alloc(c, 100);
	char	   *q = mcxt_alloc(c, 128);
	volatile char sink = 0;
	const char *mode = argc > 1 ? argv[1] : "clean";

	memset(p, 'p', 100);
	memset(q, 'q', 128);
	if (strcmp(mode, "uaf") == 0)
	{
		mcxt_free(p);
		p[50] = 'x';
	}
	else if (strcmp(mode, "uaf-read") == 0)
	{
		mcxt_free(p);
		sink = p[50];
	}
	else if (strcmp(mode, "after-reset") == 0)
	{
		mcxt_reset(c);
		sink = q[0];
	}
	else if (strcmp(mode, "overrun") == 0)
	{
		q[128] = 'x';
		mcxt_free(q);
	}
	else if (strcmp(mode, "overrun-check") == 0)
	{
		q[128] = 'x';
		printf("problems=%d\n", mcxt_check(c));
	}
	else if (strcmp(mode, "uninit") == 0)
	{
		char	   *u = mcxt_alloc(c, 64);

		if (u[10] == 'z')
			sink = 1;
	}
	else if (strcmp(mode, "leak") == 0)
	{
		leaky = mcxt_aset_create(NULL, "never deleted", MCXT_DEFAULT_SIZES);
		p = mcxt_alloc(leaky, 4000);
		memset(p, 0, 4000);
		p = NULL;
	}
	(void) sink;
	printf("survived\n");
	fflush(stdout);
	if (strcmp(mode, "leak") != 0)
	{
		mcxt_delete(c);
		mcxt_thread_cleanup();
	}
	return 0;
}
