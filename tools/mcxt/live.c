/*
 * live.c
 *	  The live-process backend: /proc/PID/maps for regions, /proc/PID/auxv,
 *	  /proc/PID/task for threads, /proc/PID/mem for bytes.
 *
 * The process is frozen while its metadata is read: every thread is
 * attached with PTRACE_SEIZE and stopped with PTRACE_INTERRUPT (no signal
 * is sent, so the process and its parent see nothing), the task list is
 * re-read until no new thread appears, registers are taken, and all
 * threads are detached again, which resumes them.  The time between the
 * first stop and the last detach is reported.  With opts.hold the threads
 * stay stopped until image_release/image_close (a consistent snapshot for
 * long reads); with opts.no_freeze nothing is stopped at all.
 *
 * Memory itself is read with pread on /proc/PID/mem, which needs the same
 * permission as ptrace but not a stopped tracee.
 */
#define _GNU_SOURCE
#include "image_int.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ptrace.h>
#include <sys/uio.h>
#include <sys/user.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#define LIVE_MAX_ROUNDS 8		/* task-list re-reads while threads appear */

static double
live_now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1e3 + ts.tv_nsec / 1e6;
}

static bool
live_is_stopped(const image_t *im, int64_t tid)
{
	for (size_t i = 0; i < im->nstopped; i++)
		if (im->stopped[i] == tid)
			return true;
	return false;
}

/* Seize and interrupt one thread; false if it is gone or refuses. */
static bool
live_stop_thread(image_t *im, int64_t tid, int *err)
{
	int			status;

	if (ptrace(PTRACE_SEIZE, (pid_t) tid, NULL, NULL) != 0)
	{
		*err = errno;
		return false;
	}
	im->stopped = realloc(im->stopped, (im->nstopped + 1) * sizeof(int64_t));
	if (!im->stopped)
	{
		fprintf(stderr, "mcxt: out of memory\n");
		exit(1);
	}
	im->stopped[im->nstopped++] = tid;
	if (ptrace(PTRACE_INTERRUPT, (pid_t) tid, NULL, NULL) != 0)
		return true;			/* exiting; detach will clean up */
	while (waitpid((pid_t) tid, &status, __WALL) < 0 && errno == EINTR)
		;
	return true;
}

/*
 * Stop every thread of the process.  Returns an errno value if not even the
 * main thread could be stopped.
 */
static int
live_freeze(image_t *im)
{
	char		path[64];
	int			first_err = 0;

	snprintf(path, sizeof(path), "/proc/%d/task", im->pid);
	for (int round = 0; round < LIVE_MAX_ROUNDS; round++)
	{
		DIR		   *d = opendir(path);
		struct dirent *de;
		bool		added = false;

		if (!d)
			return errno;
		while ((de = readdir(d)) != NULL)
		{
			char	   *end;
			long		tid = strtol(de->d_name, &end, 10);
			int			err = 0;

			if (*end != '\0' || tid <= 0 || live_is_stopped(im, tid))
				continue;
			if (live_stop_thread(im, tid, &err))
				added = true;
			else if (!first_err && err != ESRCH)
				first_err = err;
		}
		closedir(d);
		if (!added)
			break;
	}
	if (im->nstopped == 0)
		return first_err ? first_err : ESRCH;
	return 0;
}

void
imgi_live_release(image_t *im)
{
	if (im->nstopped == 0)
		return;
	for (size_t i = 0; i < im->nstopped; i++)
		(void) ptrace(PTRACE_DETACH, (pid_t) im->stopped[i], NULL, NULL);
	im->nstopped = 0;
	im->freeze_ms = live_now_ms() - im->freeze_ms;
	im->released = true;
}

/* How long the process has been (or was) stopped, in milliseconds. */
double
image_freeze_ms(const image_t *im)
{
	if (im->kind != IMAGE_LIVE || im->opts.no_freeze)
		return 0;
	return im->released ? im->freeze_ms : live_now_ms() - im->freeze_ms;
}

static void
live_read_regs(image_t *im, int64_t tid)
{
	image_thread *t = imgi_add_thread(im);
	struct user_regs_struct regs;

	if (!t)
		return;
	t->tid = tid;
	if (live_is_stopped(im, tid) &&
		ptrace(PTRACE_GETREGS, (pid_t) tid, NULL, &regs) == 0)
	{
		_Static_assert(sizeof(regs) == IMG_NREGS * 8, "user_regs_struct size");
		memcpy(t->regs, &regs, sizeof(regs));
		t->has_regs = true;
	}
}

static void
live_threads(image_t *im)
{
	char		path[64];
	DIR		   *d;
	struct dirent *de;

	snprintf(path, sizeof(path), "/proc/%d/task", im->pid);
	d = opendir(path);
	if (!d)
		return;
	while ((de = readdir(d)) != NULL)
	{
		char	   *end;
		long		tid = strtol(de->d_name, &end, 10);

		if (*end == '\0' && tid > 0)
			live_read_regs(im, tid);
	}
	closedir(d);
}

/* One line of /proc/PID/maps: "start-end perms offset dev inode   path". */
static void
live_maps_line(image_t *im, const char *line)
{
	unsigned long long start,
				end,
				ofs;
	char		perms[8];
	int			pos = 0;
	image_region *r;
	const char *name;

	if (sscanf(line, "%llx-%llx %7s %llx %*s %*s %n", &start, &end, perms, &ofs, &pos) < 4 ||
		end <= start)
		return;
	name = line + pos;
	r = imgi_add_region(im);
	if (!r)
		return;
	r->start = start;
	r->end = end;
	r->present = end - start;
	r->expected = r->present;
	r->prot = (perms[0] == 'r' ? IMG_PROT_R : 0) | (perms[1] == 'w' ? IMG_PROT_W : 0) |
		(perms[2] == 'x' ? IMG_PROT_X : 0);
	if (perms[3] == 's')
		r->flags |= IMG_REG_SHARED;
	if (name[0] == '/')
	{
		int			idx = imgi_file_index(im, name);

		r = &im->regions[im->nregions - 1];
		if (idx >= 0)
		{
			r->file = idx;
			r->path = im->files[idx].path;
			r->file_ofs = ofs;
		}
	}
	else if (name[0] == '[')
	{
		r->label = imgi_strdup(name, strlen(name));
		if (strcmp(name, "[vdso]") == 0 || strcmp(name, "[vvar]") == 0 ||
			strcmp(name, "[vsyscall]") == 0 || strncmp(name, "[vvar", 5) == 0)
			r->flags |= IMG_REG_SPECIAL;
	}
}

/*
 * /proc/PID/smaps: the maps lines, each followed by "Field:  N kB" lines, of
 * which Rss and Swap say how much of the mapping holds anything (falls back
 * to /proc/PID/maps, without residency, if smaps cannot be read).
 */
static bool
live_maps(image_t *im)
{
	char		path[64];
	FILE	   *f;
	char	   *line = NULL;
	size_t		cap = 0;
	ssize_t		n;
	bool		smaps = true;
	image_region *cur = NULL;

	snprintf(path, sizeof(path), "/proc/%d/smaps", im->pid);
	f = fopen(path, "re");
	if (!f)
	{
		smaps = false;
		snprintf(path, sizeof(path), "/proc/%d/maps", im->pid);
		f = fopen(path, "re");
	}
	if (!f)
		return false;
	while ((n = getline(&line, &cap, f)) > 0)
	{
		unsigned long long kb;
		size_t		before = im->nregions;

		if (line[n - 1] == '\n')
			line[n - 1] = '\0';
		if (cur && (sscanf(line, "Rss: %llu kB", &kb) == 1 || sscanf(line, "Swap: %llu kB", &kb) == 1))
		{
			cur->resident += (uint64_t) kb * 1024;
			continue;
		}
		live_maps_line(im, line);
		if (im->nregions > before)
		{
			cur = &im->regions[im->nregions - 1];
			cur->resident_known = smaps;
		}
	}
	free(line);
	fclose(f);
	imgi_finish_regions(im);
	return true;
}

/* Read a small /proc file whole; returns bytes read or -1. */
static ssize_t
live_slurp(int pid, const char *what, char *buf, size_t len)
{
	char		path[64];
	int			fd;
	ssize_t		n,
				total = 0;

	snprintf(path, sizeof(path), "/proc/%d/%s", pid, what);
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return -1;
	while ((size_t) total < len && (n = read(fd, buf + total, len - total)) > 0)
		total += n;
	close(fd);
	return total;
}

static void
live_misc(image_t *im)
{
	char		buf[4096];
	ssize_t		n;

	n = live_slurp(im->pid, "auxv", buf, sizeof(buf));
	if (n > 0)
	{
		size_t		count = (size_t) n / 16;

		im->auxv = imgi_alloc(count * 2 * sizeof(uint64_t));
		for (size_t i = 0; i < count; i++)
		{
			uint64_t	type,
						val;

			memcpy(&type, buf + 16 * i, 8);
			memcpy(&val, buf + 16 * i + 8, 8);
			if (type == AT_NULL)
				break;
			im->auxv[2 * im->nauxv] = type;
			im->auxv[2 * im->nauxv + 1] = val;
			im->nauxv++;
		}
	}
	n = live_slurp(im->pid, "cmdline", buf, sizeof(buf) - 1);
	if (n > 0)
	{
		for (ssize_t i = 0; i < n; i++)
			if (buf[i] == '\0')
				buf[i] = ' ';
			else if ((unsigned char) buf[i] < 0x20 || (unsigned char) buf[i] > 0x7e)
				buf[i] = '?';
		while (n > 0 && buf[n - 1] == ' ')
			n--;
		im->cmdline = imgi_strdup(buf, (size_t) n);
	}
	n = live_slurp(im->pid, "coredump_filter", buf, sizeof(buf) - 1);
	if (n > 0)
	{
		buf[n] = '\0';
		im->cdfilter = (unsigned) strtoul(buf, NULL, 16);
		im->has_cdfilter = true;
	}
}

size_t
imgi_live_read(image_t *im, uint64_t addr, void *buf, size_t len)
{
	size_t		done = 0;

	if (addr > (uint64_t) INT64_MAX || im->memfd < 0)
		return 0;
	while (done < len)
	{
		ssize_t		n = pread(im->memfd, (char *) buf + done, len - done,
							  (off_t) (addr + done));

		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			break;
		done += (size_t) n;
	}
	return done;
}

image_t *
image_open_pid(int pid, const image_opts *opts, char *err, size_t errlen)
{
	char		target[32],
				path[64],
				exe[4096];
	image_t    *im;
	ssize_t		n;
	int			e;

	snprintf(target, sizeof(target), "pid %d", pid);
	snprintf(path, sizeof(path), "/proc/%d", pid);
	if (pid <= 0 || access(path, F_OK) != 0)
	{
		snprintf(err, errlen, "pid %d: no such process", pid);
		return NULL;
	}
	if (pid == getpid())
	{
		snprintf(err, errlen, "pid %d: that is mcxt itself", pid);
		return NULL;
	}
	im = imgi_new(IMAGE_LIVE, opts, target);
	im->pid = pid;
	im->freeze_ms = live_now_ms();
	if (!im->opts.no_freeze && (e = live_freeze(im)) != 0)
	{
		snprintf(err, errlen, "pid %d: cannot stop the process with ptrace: %s%s", pid,
				 strerror(e), e == EPERM ?
				 " (needs CAP_SYS_PTRACE or the same user, and kernel.yama.ptrace_scope allowing it)" : "");
		image_close(im);
		return NULL;
	}
	snprintf(path, sizeof(path), "/proc/%d/mem", pid);
	im->memfd = open(path, O_RDONLY | O_CLOEXEC);
	if (im->memfd < 0)
	{
		snprintf(err, errlen, "pid %d: cannot open %s: %s", pid, path, strerror(errno));
		image_close(im);
		return NULL;
	}
	if (!live_maps(im))
	{
		snprintf(err, errlen, "pid %d: cannot read /proc/%d/maps: %s", pid, pid, strerror(errno));
		image_close(im);
		return NULL;
	}
	live_threads(im);
	live_misc(im);
	snprintf(path, sizeof(path), "/proc/%d/exe", pid);
	n = readlink(path, exe, sizeof(exe) - 1);
	if (n > 0)
		exe[n] = '\0';
	imgi_index_files(im);
	imgi_find_exe(im, n > 0 ? exe : NULL);
	if (!im->opts.hold)
		imgi_live_release(im);
	if (im->opts.no_freeze)
	{
		image_warn(im, "pid %d: not stopped (--no-freeze): what is read may be inconsistent", pid);
	}
	return im;
}
