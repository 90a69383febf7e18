/*
 * pg_fake.c
 *	  A stand-in for a PostgreSQL server executable, for the error paths of
 *	  mcxt's PostgreSQL support: it exports TopMemoryContext in .dynsym (as
 *	  postgres does) and, per build, carries a version string or none.  It
 *	  has no context tree (TopMemoryContext stays NULL), so every command
 *	  on its core must end in a clear error.  Real servers are tested in
 *	  test/pg/.
 *
 * Usage: pg_fake READY_FILE   (writes its pid there, then sleeps until killed)
 */
#include <stdio.h>
#include <unistd.h>

/* what postgres exports; NULL here */
void	   *TopMemoryContext = NULL;

#ifdef PG_FAKE_VERSION
/* the shape of PG_VERSION_STR, which the tool reads the version from */
__attribute__((used))
static const char pg_fake_version[] = PG_FAKE_VERSION;
#endif

int
main(int argc, char **argv)
{
	FILE	   *f;

	if (argc != 2)
		return 2;
	f = fopen(argv[1], "w");
	if (f == NULL)
		return 1;
	fprintf(f, "%d\n", (int) getpid());
	fclose(f);
	for (;;)
		pause();
}
