/*
 * selfread.c
 *	  See selfread.h.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/uio.h>
#include <sys/wait.h>
#include <unistd.h>

#include "selfread.h"

bool
selfread_open(selfread *s, pid_t pid)
{
	char		path[64];
	char		line[4096];
	FILE	   *f;
	size_t		cap = 0;

	memset(s, 0, sizeof(*s));
	s->pid = pid;
	snprintf(path, sizeof(path), "/proc/%d/maps", (int) pid);
	f = fopen(path, "r");
	if (f == NULL)
		return false;
	while (fgets(line, sizeof(line), f) != NULL)
	{
		unsigned long long start,
					end;
		char		perms[8];
		int			pos = 0;
		mcxt_region r;

		if (sscanf(line, "%llx-%llx %7s %*s %*s %*s%n", &start, &end, perms, &pos) < 3)
			continue;
		if (perms[0] != 'r' || strstr(line, "[vvar") != NULL || strstr(line, "[vsyscall]") != NULL)
			continue;
		memset(&r, 0, sizeof(r));
		r.start = start;
		r.end = end;
		r.writable = perms[1] == 'w' && perms[3] == 'p' && end - start <= SELFREAD_MAX_SCAN &&
			strstr(line, "[vdso]") == NULL;
		if (s->nregions == cap)
		{
			size_t		nc = cap ? cap * 2 : 64;
			mcxt_region *bigger = realloc(s->regions, nc * sizeof(*bigger));

			if (bigger == NULL)
			{
				fclose(f);
				return false;
			}
			s->regions = bigger;
			cap = nc;
		}
		s->regions[s->nregions++] = r;
	}
	fclose(f);
	return s->nregions > 0;
}

void
selfread_close(selfread *s)
{
	free(s->regions);
	s->regions = NULL;
	s->nregions = 0;
}

/* Bytes readable from addr: to the end of the run of adjacent regions. */
static uint64_t
selfread_avail(const selfread *s, uint64_t addr)
{
	size_t		lo = 0;
	size_t		hi = s->nregions;
	uint64_t	end;

	while (lo < hi)
	{
		size_t		mid = lo + (hi - lo) / 2;

		if (s->regions[mid].end <= addr)
			lo = mid + 1;
		else
			hi = mid;
	}
	if (lo >= s->nregions || s->regions[lo].start > addr)
		return 0;
	end = s->regions[lo].end;
	while (lo + 1 < s->nregions && s->regions[lo + 1].start == end)
		end = s->regions[++lo].end;
	return end - addr;
}

size_t
selfread_read(void *arg, uint64_t addr, void *buf, size_t len)
{
	selfread   *s = arg;
	uint64_t	avail = selfread_avail(s, addr);
	struct iovec local;
	struct iovec remote;
	ssize_t		got;

	if (avail < len)
		len = (size_t) avail;
	if (len == 0)
		return 0;
	local.iov_base = buf;
	local.iov_len = len;
	remote.iov_base = (void *) (uintptr_t) addr;
	remote.iov_len = len;
	got = process_vm_readv(s->pid, &local, 1, &remote, 1, 0);
	return got > 0 ? (size_t) got : 0;
}

bool
selfread_region(void *arg, size_t i, mcxt_region *out)
{
	selfread   *s = arg;

	if (i >= s->nregions)
		return false;
	*out = s->regions[i];
	return true;
}

mcxt_reader
selfread_reader(selfread *s)
{
	mcxt_reader r;

	memset(&r, 0, sizeof(r));
	r.arg = s;
	r.read = selfread_read;
	r.region = selfread_region;
	return r;
}

bool
selfread_peek(uint64_t addr, void *buf, size_t len)
{
	struct iovec local = {buf, len};
	struct iovec remote = {(void *) (uintptr_t) addr, len};

	return process_vm_readv(getpid(), &local, 1, &remote, 1, 0) == (ssize_t) len;
}

pid_t
selfread_fork_snapshot(void)
{
	pid_t		pid;

	fflush(NULL);
	pid = fork();
	if (pid == 0)
	{
		/* frozen until killed, and never outliving the test */
		prctl(PR_SET_PDEATHSIG, SIGKILL);
		for (;;)
			pause();
	}
	return pid;
}

void
selfread_kill(pid_t pid)
{
	int			status;

	kill(pid, SIGKILL);
	while (waitpid(pid, &status, 0) < 0 && errno == EINTR)
		;
}

__attribute__((noinline)) void
selfread_scrub_stack(void)
{
	volatile char pad[256 * 1024];

	memset((char *) pad, 0, sizeof(pad));
	__asm__ __volatile__("" : : "r"(pad) : "memory");
}
