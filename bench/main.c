/*
 * main.c
 *	  Command line and measurement of the peer-comparison harness.
 *
 *	  mcxt_bench[_peers] ALLOCATOR W1..W6 REPS [SCALE_DIV]
 *	  mcxt_bench[_peers] --list		(name, workloads it runs, description)
 *
 * Runs REPS repetitions of one workload in this (fresh) process and prints
 * one line per repetition:
 *
 *	  R alloc=pg15 wl=W1 rep=0 scale=1 ops=... cpu_ns=... wall_ns=...
 *		minflt=... rss_base_kb=... hwm_kb=... live=... ctx_bytes=...
 *		stride=... checksum=... errors=0
 *
 * Repetition 0 is cold (fresh process, fresh memory); later ones are warm.
 * cpu_ns is the thread's CPU time over the timed region (it includes the
 * kernel's page-fault work, not time spent preempted); hwm_kb is VmHWM
 * after the region, the peak having been reset to the current RSS just
 * before it (/proc/self/clear_refs), and rss_base_kb the RSS then, so
 * hwm_kb - rss_base_kb is the memory the region needed.  Under valgrind
 * --tool=callgrind the region is bracketed by CALLGRIND_ZERO_STATS and
 * CALLGRIND_DUMP_STATS, so dump N holds exactly repetition N-1.
 *
 * Exit status: 0, 1 on a content mismatch or failure, 2 on usage errors.
 * Nothing here allocates with malloc during a run: the harness's arrays
 * come from mmap and /proc is read with read(2).
 */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/resource.h>
#include <time.h>
#include <unistd.h>

#ifdef BENCH_HAVE_CALLGRIND
#include <valgrind/callgrind.h>
#else
#define CALLGRIND_ZERO_STATS
#define CALLGRIND_DUMP_STATS
#endif

#include "bench.h"

/* The allocators linked into this program. */
#ifdef BENCH_HAVE_MCXT
extern const bench_allocator bench_alloc_mcxt,
			bench_alloc_mcxt_gen,
			bench_alloc_mcxt_bump,
			bench_alloc_mcxt_slab,
			bench_alloc_mcxt_limit;
#endif
#ifdef BENCH_HAVE_PG15
extern const bench_allocator bench_alloc_pg15;
#endif
#ifdef BENCH_HAVE_MALLOC
extern const bench_allocator bench_alloc_glibc,
			bench_alloc_jemalloc,
			bench_alloc_mimalloc,
			bench_alloc_tcmalloc;
#endif
#ifdef BENCH_HAVE_TALLOC
extern const bench_allocator bench_alloc_talloc;
#endif
#ifdef BENCH_HAVE_APR
extern const bench_allocator bench_alloc_apr;
#endif
#ifdef BENCH_HAVE_BUMP
extern const bench_allocator bench_alloc_bump;
#endif

static const bench_allocator *const allocators[] = {
#ifdef BENCH_HAVE_MCXT
	&bench_alloc_mcxt, &bench_alloc_mcxt_gen, &bench_alloc_mcxt_bump, &bench_alloc_mcxt_slab,
	&bench_alloc_mcxt_limit,
#endif
#ifdef BENCH_HAVE_PG15
	&bench_alloc_pg15,
#endif
#ifdef BENCH_HAVE_MALLOC
	&bench_alloc_glibc, &bench_alloc_jemalloc, &bench_alloc_mimalloc, &bench_alloc_tcmalloc,
#endif
#ifdef BENCH_HAVE_TALLOC
	&bench_alloc_talloc,
#endif
#ifdef BENCH_HAVE_APR
	&bench_alloc_apr,
#endif
#ifdef BENCH_HAVE_BUMP
	&bench_alloc_bump,
#endif
	NULL
};

/* ---- services for the template ------------------------------------------- */

uint16_t	bench_size_table[1 << BENCH_SIZE_TABLE_BITS];

/* Quantiles of the mix: 60 % of the entries 16-64, 30 % 65-256, 10 % 257-1024. */
static void
bench_size_table_init(void)
{
	const size_t n = (size_t) 1 << BENCH_SIZE_TABLE_BITS;
	const size_t n1 = n * 60 / 100,
				n2 = n * 90 / 100;

	for (size_t i = 0; i < n; i++)
	{
		size_t		v;

		if (i < n1)
			v = 16 + i * (64 - 16 + 1) / n1;
		else if (i < n2)
			v = 65 + (i - n1) * (256 - 65 + 1) / (n2 - n1);
		else
			v = 257 + (i - n2) * (1024 - 257 + 1) / (n - n2);
		bench_size_table[i] = (uint16_t) v;
	}
}

void
bench_fail(const char *fmt,...)
{
	va_list		ap;

	fputs("mcxt_bench: ", stderr);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
	exit(1);
}

void *
bench_array(size_t bytes)
{
	void	   *p = mmap(NULL, bytes, PROT_READ | PROT_WRITE,
						 MAP_PRIVATE | MAP_ANONYMOUS | MAP_POPULATE, -1, 0);

	if (p == MAP_FAILED)
		bench_fail("mmap(%zu) failed", bytes);
	memset(p, 0, bytes);		/* fault it in now, not in a timed region */
	return p;
}

void
bench_array_free(void *p, size_t bytes)
{
	munmap(p, bytes);
}

/* One "Key:   N kB" field of /proc/self/status, read without malloc. */
static uint64_t
status_kb(const char *key)
{
	char		buf[4096];
	int			fd = open("/proc/self/status", O_RDONLY);
	ssize_t		n;
	char	   *s;
	size_t		klen = strlen(key);

	if (fd < 0)
		return 0;
	n = read(fd, buf, sizeof(buf) - 1);
	close(fd);
	if (n <= 0)
		return 0;
	buf[n] = '\0';
	for (s = buf; s && *s; s = strchr(s, '\n') ? strchr(s, '\n') + 1 : NULL)
		if (strncmp(s, key, klen) == 0 && s[klen] == ':')
			return strtoull(s + klen + 1, NULL, 10);
	return 0;
}

static void
reset_peak_rss(void)
{
	int			fd = open("/proc/self/clear_refs", O_WRONLY);

	if (fd >= 0)
	{
		if (write(fd, "5", 1) != 1)
		{
			/* peak stays the process's lifetime peak; reported as such */
		}
		close(fd);
	}
}

static uint64_t
clock_ns(clockid_t id)
{
	struct timespec ts;

	clock_gettime(id, &ts);
	return (uint64_t) ts.tv_sec * 1000000000u + (uint64_t) ts.tv_nsec;
}

static uint64_t
minflt_now(void)
{
	struct rusage ru;

	getrusage(RUSAGE_THREAD, &ru);
	return (uint64_t) ru.ru_minflt;
}

static struct
{
	int			active;
	int			done;
	uint64_t	rss_base_kb,
				hwm_kb;
	uint64_t	cpu0,
				wall0,
				flt0;
	uint64_t	cpu_ns,
				wall_ns,
				minflt;
} region;

__attribute__((noinline)) void
bench_region_begin(void)
{
	if (region.active || region.done)
		bench_fail("timed region entered twice");
	reset_peak_rss();
	region.rss_base_kb = status_kb("VmRSS");
	region.active = 1;
	region.flt0 = minflt_now();
	region.wall0 = clock_ns(CLOCK_MONOTONIC);
	region.cpu0 = clock_ns(CLOCK_THREAD_CPUTIME_ID);
	CALLGRIND_ZERO_STATS;
}

__attribute__((noinline)) void
bench_region_end(void)
{
	CALLGRIND_DUMP_STATS;
	region.cpu_ns = clock_ns(CLOCK_THREAD_CPUTIME_ID) - region.cpu0;
	region.wall_ns = clock_ns(CLOCK_MONOTONIC) - region.wall0;
	region.minflt = minflt_now() - region.flt0;
	region.hwm_kb = status_kb("VmHWM");
	if (!region.active)
		bench_fail("timed region ended without a begin");
	region.active = 0;
	region.done = 1;
}

/* ---- main ------------------------------------------------------------------ */

static void
usage(void)
{
	fprintf(stderr,
			"usage: mcxt_bench ALLOCATOR W1..W6 REPS [SCALE_DIV]\n"
			"       mcxt_bench --list\n");
	exit(2);
}

int
main(int argc, char **argv)
{
	const bench_allocator *a = NULL;
	bench_params bp;
	int			reps;
	int			failed = 0;

	static char outbuf[1 << 14];

	setvbuf(stdout, outbuf, _IOFBF, sizeof(outbuf));	/* no malloc by stdio */
	if (argc == 2 && strcmp(argv[1], "--list") == 0)
	{
		/* name, the workloads it runs, description */
		for (int i = 0; allocators[i]; i++)
		{
			printf("%s\t", allocators[i]->name);
			for (int w = 1; w <= BENCH_NWORKLOADS; w++)
				if (allocators[i]->workloads == 0 || (allocators[i]->workloads & (1u << (w - 1))))
					printf("%sW%d", w > 1 && (allocators[i]->workloads == 0 ||
											  (allocators[i]->workloads & ((1u << (w - 1)) - 1))) ? "," : "", w);
			printf("\t%s\n", allocators[i]->describe);
		}
		return 0;
	}
	if (argc < 4 || argc > 5)
		usage();
	for (int i = 0; allocators[i]; i++)
		if (strcmp(allocators[i]->name, argv[1]) == 0)
			a = allocators[i];
	if (a == NULL)
	{
		fprintf(stderr, "mcxt_bench: allocator '%s' is not built into this program\n", argv[1]);
		return 2;
	}
	if ((argv[2][0] != 'W' && argv[2][0] != 'w') || argv[2][1] < '1' ||
		argv[2][1] > '0' + BENCH_NWORKLOADS || argv[2][2] != '\0')
		usage();
	bp.workload = argv[2][1] - '0';
	if (a->workloads != 0 && !(a->workloads & (1u << (bp.workload - 1))))
	{
		fprintf(stderr, "mcxt_bench: %s cannot run W%d\n", a->name, bp.workload);
		return 2;
	}
	reps = atoi(argv[3]);
	bp.scale_div = argc == 5 ? atoi(argv[4]) : 1;
	if (reps < 1 || bp.scale_div < 1)
		usage();

	bench_size_table_init();
	if (a->init(a->name) != 0)
		bench_fail("%s: initialisation failed", a->name);

	for (int rep = 0; rep < reps; rep++)
	{
		bench_result r;

		memset(&r, 0, sizeof(r));
		memset(&region, 0, sizeof(region));
		bp.rep = rep;
		a->run(&bp, &r);
		if (!region.done)
			bench_fail("%s W%d: the workload never timed anything", a->name, bp.workload);
		if (r.ops == 0)
			bench_fail("%s W%d: no operations", a->name, bp.workload);
		printf("R alloc=%s wl=W%d rep=%d scale=%d ops=%llu cpu_ns=%llu wall_ns=%llu "
			   "minflt=%llu rss_base_kb=%llu hwm_kb=%llu live=%llu ctx_bytes=%llu "
			   "stride=%llu checksum=%llx errors=%llu\n",
			   a->name, bp.workload, rep, bp.scale_div,
			   (unsigned long long) r.ops,
			   (unsigned long long) region.cpu_ns,
			   (unsigned long long) region.wall_ns,
			   (unsigned long long) region.minflt,
			   (unsigned long long) region.rss_base_kb,
			   (unsigned long long) region.hwm_kb,
			   (unsigned long long) r.live_chunks,
			   (unsigned long long) r.ctx_bytes,
			   (unsigned long long) r.stride,
			   (unsigned long long) r.checksum,
			   (unsigned long long) r.errors);
		fflush(stdout);
		if (r.errors)
		{
			fprintf(stderr, "mcxt_bench: %s W%d rep %d: %llu content mismatches\n",
					a->name, bp.workload, rep, (unsigned long long) r.errors);
			failed = 1;
		}
	}
	a->finish();
	return failed;
}
