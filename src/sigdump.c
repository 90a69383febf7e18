/*
 * sigdump.c
 *	  Statistics on request: a signal makes each thread dump its own tree at
 *	  its next safe point, as PostgreSQL's pg_log_backend_memory_contexts
 *	  makes a backend log its contexts at its next CHECK_FOR_INTERRUPTS.
 *
 * Design decisions:
 *  - The handler only increments a process-wide request counter (a
 *    lock-free atomic, so async-signal-safe).  Walking a tree, formatting
 *    and writing a file are done by the thread itself, outside the handler,
 *    at a point where its contexts are consistent.  A handler that walked
 *    the tree could find it in the middle of a pfree.
 *  - Each thread remembers the last request it served (thread-local), so
 *    every thread dumps its own tree once per request, however many
 *    threads there are and whichever thread the kernel delivered the
 *    signal to; only a thread can safely walk its own contexts.  Requests
 *    that arrive before a thread's next safe point give one dump.
 *  - The safe points are the library's slow paths: obtaining a block from
 *    the cache or the source (a new block, a large chunk, a context's first
 *    block), and every tree operation (create, reset, delete, reparent),
 *    plus mcxt_check_signal() for a program's own main loop.  The chunk
 *    fast paths (aset_fast.h) do not look: a loop that is served entirely
 *    from freelists dumps at its next reset or new block, and a program
 *    that can run long without either calls mcxt_check_signal().  Each
 *    check is a relaxed load of one global and a compare with a
 *    thread-local, in functions that cost hundreds of instructions anyway.
 *  - A thread that has no top context yet (it never used the library)
 *    just records the request: a thread born after a signal does not dump
 *    for it.
 *  - Dumps of several threads are serialized by a mutex and each is
 *    appended with its own header line, so the file stays readable.
 */
#include <errno.h>
#include <limits.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

#include "mcxt_int.h"

#define SIGDUMP_PATH_MAX 4096

uint64_t	mcxti_sigdump_requests;
MCXT_TLS uint64_t mcxti_sigdump_seen;

static pthread_mutex_t sigdump_lock = PTHREAD_MUTEX_INITIALIZER;
static char sigdump_path[SIGDUMP_PATH_MAX];	/* under sigdump_lock */
static int	sigdump_signo;		/* under sigdump_lock; 0: none installed */
static struct sigaction sigdump_prev;	/* the action sigdump_signo had before */

static MCXT_TLS bool sigdump_running;

static void
sigdump_handler(int signo)
{
	(void) signo;
	__atomic_fetch_add(&mcxti_sigdump_requests, 1, __ATOMIC_RELAXED);
}

void
mcxt_stats_on_signal(int signo, const char *path)
{
	struct sigaction sa;
	struct sigaction prev;
	size_t		len;

	_Static_assert(__atomic_always_lock_free(sizeof(uint64_t), 0),
				   "the signal handler needs a lock-free 64-bit atomic");
	if (signo <= 0 || signo >= NSIG || signo == SIGKILL || signo == SIGSTOP ||
		signo == SIGSEGV || signo == SIGBUS || signo == SIGFPE || signo == SIGILL)
		mcxti_error(MCXT_ERR_MISUSE, NULL,
					"mcxt_stats_on_signal: signal %d cannot be used to request statistics "
					"(need a catchable signal that is not a fault, e.g. SIGUSR1)", signo);
	if (path == NULL || path[0] == '\0')
		mcxti_error(MCXT_ERR_MISUSE, NULL,
					"mcxt_stats_on_signal: no file to dump to (give a path, or \"-\" for stderr)");
	len = strlen(path);
	if (len >= SIGDUMP_PATH_MAX)
		mcxti_error(MCXT_ERR_MISUSE, NULL,
					"mcxt_stats_on_signal: path of %zu bytes is too long (at most %d)",
					len, SIGDUMP_PATH_MAX - 1);

	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = sigdump_handler;
	sigemptyset(&sa.sa_mask);
	sa.sa_flags = SA_RESTART;

	pthread_mutex_lock(&sigdump_lock);
	memcpy(sigdump_path, path, len + 1);
	if (signo != sigdump_signo)
	{
		if (sigaction(signo, &sa, &prev) != 0)
		{
			int			err = errno;

			pthread_mutex_unlock(&sigdump_lock);
			mcxti_error(MCXT_ERR_MISUSE, NULL,
						"mcxt_stats_on_signal: cannot install a handler for signal %d: %s",
						signo, strerror(err));
		}
		/* the signal used before gets its old action back */
		if (sigdump_signo != 0)
			sigaction(sigdump_signo, &sigdump_prev, NULL);
		sigdump_prev = prev;
		sigdump_signo = signo;
	}
	pthread_mutex_unlock(&sigdump_lock);
}

/* The header line of one dump: when, which process and thread, why. */
static void
sigdump_header(FILE *out, uint64_t request, int signo)
{
	struct timespec ts;
	struct tm	tm;
	char		when[40];

	clock_gettime(CLOCK_REALTIME, &ts);
	gmtime_r(&ts.tv_sec, &tm);
	strftime(when, sizeof(when), "%Y-%m-%d %H:%M:%S", &tm);
	fprintf(out, "mcxt: %s.%03ld UTC pid %d thread %ld: memory context statistics "
			"(signal %d, request %llu)\n",
			when, ts.tv_nsec / 1000000, (int) getpid(), (long) syscall(SYS_gettid),
			signo, (unsigned long long) request);
}

void
mcxti_sigdump_run(void)
{
	uint64_t	request = __atomic_load_n(&mcxti_sigdump_requests, __ATOMIC_RELAXED);
	mcxt_context *top;
	FILE	   *out;
	bool		to_stderr;

	/* served first: an error while dumping must not make every call retry */
	mcxti_sigdump_seen = request;
	if (sigdump_running)
		return;
	top = mcxti_thread_top();
	if (top == NULL || top->magic != MCXT_CONTEXT_MAGIC)
		return;
	sigdump_running = true;
	pthread_mutex_lock(&sigdump_lock);
	to_stderr = strcmp(sigdump_path, "-") == 0;
	out = to_stderr ? stderr : fopen(sigdump_path, "a");
	if (out == NULL)
		fprintf(stderr, "mcxt: cannot open \"%s\" for the memory context statistics "
				"requested by signal %d: %s\n", sigdump_path, sigdump_signo, strerror(errno));
	else
	{
		sigdump_header(out, request, sigdump_signo);
		mcxt_stats_print(top, 100, 100, out);
#if MCXT_SITES
		/* and which lines of code hold that memory */
		mcxt_sites_report(top, true, 0, out);
#endif
		if (to_stderr)
			fflush(out);
		else if (fclose(out) != 0)
			fprintf(stderr, "mcxt: cannot write \"%s\": %s\n", sigdump_path, strerror(errno));
	}
	pthread_mutex_unlock(&sigdump_lock);
	sigdump_running = false;
}

void
mcxt_check_signal(void)
{
	mcxti_sigdump_poll();
}
