/*
 * cli_target.c
 *	  The program the CLI tests take cores of: it fills memory with known
 *	  strings at known strides and counts, builds a libmcxt registry by hand
 *	  (the layout contract in src/chunk.h), writes what a correct mcxt must
 *	  report into an expectations file, then waits.
 *
 * Usage: cli_target EXPECT_FILE [CMD_FIFO REPLY_FIFO]
 *   With the fifos it answers "ping" lines with "pong N", N being a counter a
 *   worker thread keeps incrementing: proof that it runs normally after mcxt
 *   attached and detached.  Without them it sleeps until killed.
 *
 * Contents (all computed here, nothing hard-coded in the tests):
 *   family A: A_COUNT palloc-like chunks in one block, a 16-byte header
 *             {size 128, context pointer} then a 128-byte payload holding
 *             "needle/alpha/4711": stride 144, like the PostgreSQL 15 leak;
 *   family B: B_COUNT separate malloc(64) holding "needle-beta:quux";
 *   3 threads; a registry listing 2 of them with fake top contexts.
 * The full strings are never written anywhere else in writable memory (the
 * expectations file gets them in two pieces), so the counts are exact.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

#include "../../src/chunk.h"

#define A_COUNT		1500
#define A_CHUNK		128
#define A_HDR		16
#define B_COUNT		300
#define B_SIZE		64

/* Exported, as libmcxt does; found through .symtab by the tool. */
struct mcxt_registry mcxt_registry;

static volatile uint64_t counter;
static volatile pid_t worker_tid;
static int	block_pipe[2];
static uint64_t fake_context_anchor;

static void *
worker_count(void *arg)
{
	struct timespec ts = {0, 1000000};

	(void) arg;
	worker_tid = (pid_t) syscall(SYS_gettid);
	for (;;)
	{
		counter++;
		nanosleep(&ts, NULL);
	}
	return NULL;
}

static void *
worker_block(void *arg)
{
	char		c;

	(void) arg;
	while (read(block_pipe[0], &c, 1) < 0 && errno == EINTR)
		;
	return NULL;
}

static int
cmp_u64(const void *a, const void *b)
{
	uint64_t	x = *(const uint64_t *) a,
				y = *(const uint64_t *) b;

	return x < y ? -1 : x > y;
}

/* The most frequent difference between consecutive sorted addresses. */
static void
top_stride(uint64_t *addrs, size_t n, uint64_t *stride, uint64_t *count)
{
	uint64_t   *d = calloc(n, sizeof(uint64_t));
	size_t		nd = 0;

	qsort(addrs, n, sizeof(uint64_t), cmp_u64);
	for (size_t i = 1; i < n; i++)
		d[nd++] = addrs[i] - addrs[i - 1];
	qsort(d, nd, sizeof(uint64_t), cmp_u64);
	*stride = 0;
	*count = 0;
	for (size_t i = 0; i < nd;)
	{
		size_t		j = i;

		while (j < nd && d[j] == d[i])
			j++;
		if (j - i > *count || (j - i == *count && d[i] < *stride))
		{
			*count = j - i;
			*stride = d[i];
		}
		i = j;
	}
	free(d);
}

static mcxt_context *
fake_top_context(void)
{
	mcxt_context *c = calloc(1, sizeof(mcxt_aset));

	c->magic = MCXT_CONTEXT_MAGIC;
	c->type = MCXT_TYPE_ASET;
	c->flags = MCXT_CTXFLAG_TOP;
	return c;
}

int
main(int argc, char **argv)
{
	char	   *block;
	uint64_t	a_first = 0;
	uint64_t   *b_addrs;
	uint64_t	b_stride,
				b_stride_count;
	mcxt_thread_entry *e1,
			   *e2;
	pthread_t	t1,
				t2;
	char		exe[4096];
	ssize_t		n;
	char		tmp[4200];
	int			fd;
	FILE	   *cmd = NULL,
			   *reply = NULL;

	if (argc != 2 && argc != 4)
	{
		fprintf(stderr, "usage: cli_target EXPECT_FILE [CMD_FIFO REPLY_FIFO]\n");
		return 2;
	}
	if (pipe(block_pipe) != 0 ||
		pthread_create(&t1, NULL, worker_count, NULL) != 0 ||
		pthread_create(&t2, NULL, worker_block, NULL) != 0)
	{
		perror("cli_target");
		return 1;
	}
	while (worker_tid == 0)
		usleep(1000);

	/* family A: one block of chunks, header + payload, stride 144 */
	block = calloc(1, (size_t) A_COUNT * (A_HDR + A_CHUNK));
	for (int i = 0; i < A_COUNT; i++)
	{
		char	   *chunk = block + (size_t) i * (A_HDR + A_CHUNK);
		uint64_t	hdr[2] = {A_CHUNK, (uint64_t) (uintptr_t) &fake_context_anchor};

		memcpy(chunk, hdr, sizeof(hdr));
		snprintf(chunk + A_HDR, A_CHUNK, "needle/alpha/%u", 4711u);
		if (i == 0)
			a_first = (uint64_t) (uintptr_t) (chunk + A_HDR);
	}

	/* family B: separate small mallocs */
	b_addrs = calloc(B_COUNT, sizeof(uint64_t));
	for (int i = 0; i < B_COUNT; i++)
	{
		char	   *p = malloc(B_SIZE);

		memset(p, 0, B_SIZE);
		memcpy(p, "needle-beta", 11);
		memcpy(p + 11, ":quux", 5);
		b_addrs[i] = (uint64_t) (uintptr_t) p;
	}
	top_stride(b_addrs, B_COUNT, &b_stride, &b_stride_count);

	/* the registry, as libmcxt would fill it */
	e1 = calloc(1, sizeof(*e1));
	e2 = calloc(1, sizeof(*e2));
	e1->magic = e2->magic = MCXT_THREAD_MAGIC;
	e1->tid = (int64_t) getpid();
	e1->top = fake_top_context();
	e2->tid = (int64_t) worker_tid;
	e2->top = fake_top_context();
	e1->next = e2;
	memcpy(mcxt_registry.magic, MCXT_REGISTRY_MAGIC, 16);
	mcxt_registry.layout_version = MCXT_LAYOUT_VERSION;
	mcxt_registry.sizeof_context = sizeof(mcxt_context);
	mcxt_registry.sizeof_aset = sizeof(mcxt_aset);
	mcxt_registry.sizeof_aset_block = sizeof(mcxt_aset_block);
	mcxt_registry.chunk_hdrsz = MCXT_CHUNK_HDRSZ;
	mcxt_registry.nthreads = 2;
	mcxt_registry.threads = e1;

	n = readlink("/proc/self/exe", exe, sizeof(exe) - 1);
	exe[n > 0 ? n : 0] = '\0';

	/* expectations: written to a temporary name, then renamed (atomic) */
	snprintf(tmp, sizeof(tmp), "%s.tmp", argv[1]);
	fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC, 0644);
	if (fd < 0)
	{
		perror(tmp);
		return 1;
	}
	dprintf(fd,
			"pid %d\nthreads 3\nexe %s\n"
			"a_prefix needle/alpha/\na_number 4711\na_count %d\na_stride %d\na_first %llu\n"
			"b_prefix needle-beta\nb_suffix :quux\nb_count %d\nb_stride %llu\nb_stride_count %llu\n"
			"registry %llu\nreg_nthreads 2\nreg_tid0 %lld\nreg_top0 %llu\nreg_tid1 %lld\nreg_top1 %llu\n",
			(int) getpid(), exe, A_COUNT, A_HDR + A_CHUNK, (unsigned long long) a_first,
			B_COUNT, (unsigned long long) b_stride, (unsigned long long) b_stride_count,
			(unsigned long long) (uintptr_t) &mcxt_registry,
			(long long) e1->tid, (unsigned long long) (uintptr_t) e1->top,
			(long long) e2->tid, (unsigned long long) (uintptr_t) e2->top);
	close(fd);
	if (rename(tmp, argv[1]) != 0)
	{
		perror(argv[1]);
		return 1;
	}

	if (argc == 2)
		for (;;)
			pause();

	cmd = fopen(argv[2], "r");
	reply = fopen(argv[3], "w");
	if (!cmd || !reply)
	{
		perror("cli_target: fifo");
		return 1;
	}
	{
		char		line[64];

		while (fgets(line, sizeof(line), cmd))
		{
			if (strncmp(line, "ping", 4) == 0)
				fprintf(reply, "pong %llu\n", (unsigned long long) counter);
			else if (strncmp(line, "quit", 4) == 0)
				break;
			fflush(reply);
		}
	}
	return 0;
}
