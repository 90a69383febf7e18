/*
 * libmcxt_target.c
 *	  A real libmcxt program for the CLI tests: two threads each get their
 *	  top context from the library, the main thread leaks LEAK_COUNT
 *	  128-byte chunks holding "base/16392" into its top context (the redo
 *	  leak in miniature), and the expectations mcxt must meet are written to
 *	  a file: the registry's address (the library's exported mcxt_registry),
 *	  each thread's tid and top context, the count, and the stride the
 *	  on-heap layout implies (MCXT_ALIGN(128) + MCXT_CHUNK_HDRSZ, from
 *	  src/chunk.h).  Then it waits to be killed.
 *
 * Usage: libmcxt_target EXPECT_FILE
 */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include <fcntl.h>
#include <pthread.h>
#include <stdio.h>
#include <string.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <mcxt.h>

#include "../../src/chunk.h"

#define LEAK_COUNT	100
#define LEAK_SIZE	128

/* The library's registry (src/chunk.h documents its name and layout). */
extern struct mcxt_registry mcxt_registry;

static pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t cond = PTHREAD_COND_INITIALIZER;
static mcxt_context_t *worker_top;
static long worker_tid;

static void *
worker(void *arg)
{
	(void) arg;
	pthread_mutex_lock(&lock);
	worker_top = mcxt_top();
	worker_tid = syscall(SYS_gettid);
	pthread_cond_signal(&cond);
	pthread_mutex_unlock(&lock);
	for (;;)
		pause();
	return NULL;
}

int
main(int argc, char **argv)
{
	mcxt_context_t *top;
	pthread_t	t;
	char		tmp[4200];
	unsigned long long first = 0;
	int			fd;

	if (argc != 2)
	{
		fprintf(stderr, "usage: libmcxt_target EXPECT_FILE\n");
		return 2;
	}
	top = mcxt_top();
	for (int i = 0; i < LEAK_COUNT; i++)
	{
		char	   *p = mcxt_alloc(top, LEAK_SIZE);

		snprintf(p, LEAK_SIZE, "base/%u", 16392u);
		if (i == 0)
			first = (unsigned long long) (uintptr_t) p;
	}
	pthread_mutex_lock(&lock);
	if (pthread_create(&t, NULL, worker, NULL) != 0)
		return 1;
	while (!worker_top)
		pthread_cond_wait(&cond, &lock);
	pthread_mutex_unlock(&lock);

	snprintf(tmp, sizeof(tmp), "%s.tmp", argv[1]);
	fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC, 0644);
	if (fd < 0)
		return 1;
	dprintf(fd, "registry %llu\nlayout_version %d\nmain_tid %ld\nmain_top %llu\n"
			"worker_tid %ld\nworker_top %llu\nleak_prefix base/\nleak_number 16392\n"
			"leak_count %d\nleak_stride %llu\nleak_first %llu\n",
			(unsigned long long) (uintptr_t) &mcxt_registry, MCXT_LAYOUT_VERSION,
			(long) getpid(), (unsigned long long) (uintptr_t) top,
			worker_tid, (unsigned long long) (uintptr_t) worker_top, LEAK_COUNT,
			(unsigned long long) (MCXT_ALIGN(LEAK_SIZE) + MCXT_CHUNK_HDRSZ), first);
	close(fd);
	if (rename(tmp, argv[1]) != 0)
		return 1;
	for (;;)
		pause();
}
