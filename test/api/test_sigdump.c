/*
 * test_sigdump.c
 *	  mcxt_stats_on_signal: a signal sent from a second thread (pthread_kill
 *	  or kill) makes the target thread dump its tree at its next slow-path
 *	  call into the library, never inside the handler; the dump is exactly
 *	  what mcxt_stats_print shows at that moment, after a header line;
 *	  repeated signals before a safe point give one dump, each thread dumps
 *	  its own tree once per request, a thread born after a request does not
 *	  dump for it; bad arguments are misuse errors.
 *
 * Signals are made deterministic with sigsuspend: the main thread keeps
 * the signal blocked, the second thread sends it (it stays pending), and
 * sigsuspend runs the handler and returns, so the test knows the handler
 * has run before it looks at the file.
 */
#define _GNU_SOURCE
#include "../testhelper.h"

#include <pthread.h>
#include <signal.h>
#include <sys/stat.h>
#include <unistd.h>

#if defined(__has_include)
#if __has_include(<valgrind/valgrind.h>)
#include <valgrind/valgrind.h>
#endif
#endif
#ifndef RUNNING_ON_VALGRIND
#define RUNNING_ON_VALGRIND 0
#define VALGRIND_MEMPOOL_EXISTS(pool) 0
#endif

static char dump_path[64];
static char usr1_header[80];	/* ": memory context statistics (signal N, request " */
static pthread_t main_thread;
static sigset_t blocked_mask;	/* the main thread's mask, SIGUSR1 blocked */

/* The whole dump file; static, so nothing here allocates from a context. */
static char filebuf[256 * 1024];

static const char *
read_dump(void)
{
	FILE	   *f = fopen(dump_path, "r");
	size_t		n = 0;

	filebuf[0] = '\0';
	if (f == NULL)
		return filebuf;
	n = fread(filebuf, 1, sizeof(filebuf) - 1, f);
	filebuf[n] = '\0';
	fclose(f);
	return filebuf;
}

static int
count_of(const char *hay, const char *needle)
{
	int			n = 0;

	for (const char *p = hay; (p = strstr(p, needle)) != NULL; p++)
		n++;
	return n;
}

static void
truncate_dump(void)
{
	FILE	   *f = fopen(dump_path, "w");

	if (f != NULL)
		fclose(f);
}

/* Let the pending SIGUSR1 be delivered to this thread; returns after the handler ran. */
static void
take_pending_signal(void)
{
	sigset_t	wait_mask = blocked_mask;

	sigdelset(&wait_mask, SIGUSR1);
	sigsuspend(&wait_mask);
}

static void *
send_pthread_kill(void *arg)
{
	(void) arg;
	pthread_kill(main_thread, SIGUSR1);
	return NULL;
}

static void *
send_kill(void *arg)
{
	(void) arg;
	kill(getpid(), SIGUSR1);
	return NULL;
}

/* Send SIGUSR1 from a second thread with fn, and let this thread take it. */
static void
signal_from_thread(void *(*fn) (void *))
{
	pthread_t	t;

	if (pthread_create(&t, NULL, fn, NULL) != 0)
	{
		CHECK_MSG(false, "pthread_create failed");
		return;
	}
	pthread_join(t, NULL);
	take_pending_signal();
}

static void
test_dump_at_next_slow_path(void)
{
	mcxt_context_t *ctx;
	void	   *p;
	char	   *expected = NULL;
	size_t		explen = 0;
	FILE	   *mem;
	const char *dump;
	const char *body;

	th_catch_errors();
	truncate_dump();
	mcxt_stats_on_signal(SIGUSR1, dump_path);
	ctx = mcxt_aset_create(mcxt_top(), "SignalTarget", MCXT_DEFAULT_SIZES);
	p = mcxt_alloc(ctx, 64);
	mcxt_free(p);

	signal_from_thread(send_pthread_kill);
	/* the handler has run: it only counted the request */
	CHECK_STR(read_dump(), "");
	/* a chunk served from a freelist is the fast path: no check there */
	p = mcxt_alloc(ctx, 64);
	CHECK_STR(read_dump(), "");

	/* the statistics as they are now; the reset below dumps before it resets */
	mem = open_memstream(&expected, &explen);
	REQUIRE(mem != NULL);
	mcxt_stats_print(mcxt_top(), 100, 100, mem);
	if (mcxt_sites_enabled())
		mcxt_sites_report(mcxt_top(), true, 0, mem);	/* a sites build adds its report */
	fclose(mem);
	mcxt_reset(ctx);
	dump = read_dump();
	CHECK_EQ(count_of(dump, "mcxt: "), 1);
	CHECK_MSG(strstr(dump, usr1_header) != NULL &&
			  strstr(dump, " UTC pid ") != NULL, "bad header:\n%s", dump);
	body = strchr(dump, '\n');
	REQUIRE(body != NULL);
	CHECK_STR(body + 1, expected);
	CHECK(strstr(dump, "\n  SignalTarget: 8192 total in 1 blocks;") != NULL);
	free(expected);

	/* nothing more without another signal */
	mcxt_reset(ctx);
	mcxt_check_signal();
	CHECK_EQ(count_of(read_dump(), "mcxt: "), 1);
	mcxt_delete(ctx);
}

/*
 * Each slow path is a safe point: a large chunk (its own block), a new
 * block for small chunks, a context created (a recycled one obtains no
 * block), reparenting, and deleting.
 */
static void
test_each_safe_point(void)
{
	mcxt_context_t *ctx;
	mcxt_context_t *other;
	int			dumps = 0;

	th_catch_errors();
	truncate_dump();
	ctx = mcxt_aset_create(mcxt_top(), "SafePoints", MCXT_DEFAULT_SIZES);
	other = mcxt_aset_create(mcxt_top(), "Recycled", MCXT_SMALL_SIZES);
	mcxt_delete(other);			/* parked for reuse: the next create takes no block */

	signal_from_thread(send_pthread_kill);
	(void) mcxt_alloc(ctx, 100);	/* from the keeper block: no dump yet */
	CHECK_EQ(count_of(read_dump(), "mcxt: "), dumps);
	(void) mcxt_alloc(ctx, 20000);	/* a large chunk */
	CHECK_EQ(count_of(read_dump(), "mcxt: "), ++dumps);

	signal_from_thread(send_pthread_kill);
	for (int i = 0; i < 100 && count_of(read_dump(), "mcxt: ") == dumps; i++)
		(void) mcxt_alloc(ctx, 1000);	/* fills the keeper, then takes a new block */
	CHECK_EQ(count_of(read_dump(), "mcxt: "), ++dumps);
	CHECK(mcxt_mem_allocated(ctx, false) > 8192 + 20000);

	signal_from_thread(send_pthread_kill);
	other = mcxt_aset_create(mcxt_top(), "Recycled", MCXT_SMALL_SIZES);
	CHECK_EQ(count_of(read_dump(), "mcxt: "), ++dumps);

	signal_from_thread(send_pthread_kill);
	mcxt_set_parent(other, ctx);
	CHECK_EQ(count_of(read_dump(), "mcxt: "), ++dumps);

	signal_from_thread(send_pthread_kill);
	mcxt_delete(ctx);
	CHECK_EQ(count_of(read_dump(), "mcxt: "), ++dumps);
	/* the dump came before the delete: the context is in it */
	CHECK_EQ(count_of(read_dump(), "\n  SafePoints: "), dumps);
}

/*
 * A request that arrives while a context is being created, after its first
 * block was obtained (the block acquisition's own safe point had nothing to
 * do), is served at the end of the create, when the new context must be
 * complete, linked and, in an MCXT_VALGRIND build, registered with valgrind
 * as a mempool: the dump walks it.  The block source below sends the signal
 * from inside the create, for every type and for an AllocSet that takes the
 * general path (sizes with no recycle list), and remembers the block it
 * returned, which is where the new context (the pool) lives.  The dump goes
 * to stderr, swapped for a stream whose write function runs inside the
 * dump: under valgrind (the valgrind run of make check) it asks valgrind
 * whether that pool exists yet.  Everywhere the dump must have happened,
 * with the new context in it.  The source is malloc's, as the default one,
 * so blocks of either are the same.
 */
static volatile int signal_in_source;
static void *source_last;		/* the block handed out after the signal */
static int	pool_missing;		/* dump writes that found it unregistered */
static char capture[64 * 1024];
static size_t capture_len;

static void *
signalling_alloc(size_t size, void *arg)
{
	void	   *p;
	bool		signal = signal_in_source != 0;

	(void) arg;
	if (signal)
	{
		signal_in_source = 0;
		pthread_kill(main_thread, SIGUSR1);
		take_pending_signal();
	}
	p = malloc(size);
	if (signal)
		source_last = p;
	return p;
}

static void *
plain_realloc(void *block, size_t old_size, size_t new_size, void *arg)
{
	(void) old_size;
	(void) arg;
	return realloc(block, new_size);
}

static void
plain_free(void *block, size_t size, void *arg)
{
	(void) size;
	(void) arg;
	free(block);
}

/* Called by the dump itself (stdio flushes into it before the dump returns). */
static ssize_t
capture_write(void *cookie, const char *buf, size_t n)
{
	(void) cookie;
	if (RUNNING_ON_VALGRIND && source_last != NULL && !VALGRIND_MEMPOOL_EXISTS(source_last))
		pool_missing++;
	if (n > sizeof(capture) - 1 - capture_len)
		n = sizeof(capture) - 1 - capture_len;
	memcpy(capture + capture_len, buf, n);
	capture_len += n;
	capture[capture_len] = '\0';
	return (ssize_t) n;
}

static void
test_dump_during_create(void)
{
	static const char *const names[] = {"NewAllocSet", "NewGeneration", "NewSlab", "NewBump"};
	mcxt_block_source_t src = {signalling_alloc, plain_realloc, plain_free, NULL};
	cookie_io_functions_t io = {NULL, capture_write, NULL, NULL};
	mcxt_context_t *made[4];
	FILE	   *saved_stderr = stderr;
	FILE	   *cap;
	char		line[64];

	th_catch_errors();
	cap = fopencookie(NULL, "w", io);
	REQUIRE(cap != NULL);
	mcxt_stats_on_signal(SIGUSR1, "-");
	mcxt_set_block_source(&src);	/* also empties the block cache: every block is asked for */
	for (int i = 0; i < 4; i++)
	{
		stderr = cap;			/* only while creating: the checks report to the real one */
		capture_len = 0;
		capture[0] = '\0';
		source_last = NULL;
		pool_missing = 0;
		signal_in_source = 1;
		switch (i)
		{
			case 0:
				made[i] = mcxt_aset_create(mcxt_top(), names[i], 0, 4096, 65536);
				break;
			case 1:
				made[i] = mcxt_generation_create(mcxt_top(), names[i], MCXT_DEFAULT_SIZES);
				break;
			case 2:
				made[i] = mcxt_slab_create(mcxt_top(), names[i], 8192, 64);
				break;
			default:
				made[i] = mcxt_bump_create(mcxt_top(), names[i], MCXT_DEFAULT_SIZES);
				break;
		}
		fflush(cap);
		stderr = saved_stderr;
		CHECK_MSG(signal_in_source == 0 && source_last != NULL,
				  "%s: the create asked the source for nothing", names[i]);
		CHECK_MSG(source_last == (void *) made[i], "%s: the context is not at its first block",
				  names[i]);
		CHECK_EQ(count_of(capture, "mcxt: "), 1);
		snprintf(line, sizeof(line), "\n  %s: ", names[i]);
		CHECK_MSG(strstr(capture, line) != NULL,
				  "%s missing from the dump made at its creation:\n%s", names[i], capture);
		CHECK_MSG(pool_missing == 0, "%s was dumped before valgrind knew it as a mempool",
				  names[i]);
	}
	fclose(cap);
	source_last = NULL;
	for (int i = 0; i < 4; i++)
		mcxt_delete(made[i]);
	mcxt_set_block_source(NULL);
	mcxt_stats_on_signal(SIGUSR1, dump_path);
}

/* kill() from another thread; mcxt_check_signal() is a safe point of its own. */
static void
test_kill_and_check_signal(void)
{
	mcxt_context_t *ctx;

	th_catch_errors();
	truncate_dump();
	ctx = mcxt_aset_create(mcxt_top(), "KillTarget", MCXT_DEFAULT_SIZES);
	signal_from_thread(send_kill);
	CHECK_STR(read_dump(), "");
	mcxt_check_signal();
	CHECK_EQ(count_of(read_dump(), "mcxt: "), 1);
	CHECK(strstr(read_dump(), "\n  KillTarget: ") != NULL);
	CHECK(strstr(read_dump(), "\nGrand total: ") != NULL);
	mcxt_delete(ctx);
}

/* Signals before a safe point coalesce; each later one gives one more dump. */
static void
test_repeated_signals(void)
{
	th_catch_errors();
	truncate_dump();
	for (int i = 0; i < 3; i++)
		signal_from_thread(send_pthread_kill);
	CHECK_STR(read_dump(), "");
	mcxt_check_signal();
	mcxt_check_signal();
	CHECK_EQ(count_of(read_dump(), "mcxt: "), 1);
	for (int i = 0; i < 4; i++)
	{
		signal_from_thread(send_kill);
		mcxt_check_signal();
		CHECK_EQ(count_of(read_dump(), "mcxt: "), 2 + i);
	}
	CHECK_EQ(count_of(read_dump(), "\nGrand total: "), 5);
}

/* ---- several threads ------------------------------------------------------- */

static volatile int worker_step;	/* main -> worker */
static volatile int worker_done;	/* worker -> main */

static void
wait_for(volatile int *flag, int value)
{
	while (__atomic_load_n(flag, __ATOMIC_ACQUIRE) < value)
		sched_yield();
}

static void
set_flag(volatile int *flag, int value)
{
	__atomic_store_n(flag, value, __ATOMIC_RELEASE);
}

static void *
worker(void *arg)
{
	mcxt_context_t *mine;

	(void) arg;
	mine = mcxt_aset_create(mcxt_top(), "WorkerOnly", MCXT_DEFAULT_SIZES);
	(void) mcxt_alloc(mine, 1000);
	set_flag(&worker_done, 1);
	wait_for(&worker_step, 1);
	mcxt_check_signal();		/* dumps its own tree */
	set_flag(&worker_done, 2);
	wait_for(&worker_step, 2);
	mcxt_check_signal();		/* nothing pending for it any more */
	(void) mcxt_alloc(mcxt_aset_create(mine, "WorkerChild", MCXT_SMALL_SIZES), 10);
	set_flag(&worker_done, 3);
	return NULL;				/* the thread's tree is deleted at exit */
}

static void *
late_thread(void *arg)
{
	(void) arg;
	/* born after the request: creating its tree is a safe point, but not its request */
	(void) mcxt_alloc(mcxt_aset_create(mcxt_top(), "LateThread", MCXT_DEFAULT_SIZES), 100);
	mcxt_check_signal();
	return NULL;
}

static void
test_each_thread_dumps_its_own_tree(void)
{
	pthread_t	w;
	pthread_t	late;
	mcxt_context_t *ctx;
	const char *dump;
	const char *first;
	const char *second;

	th_catch_errors();
	truncate_dump();
	worker_step = worker_done = 0;
	ctx = mcxt_aset_create(mcxt_top(), "MainOnly", MCXT_DEFAULT_SIZES);
	REQUIRE(pthread_create(&w, NULL, worker, NULL) == 0);
	wait_for(&worker_done, 1);

	pthread_kill(main_thread, SIGUSR1);
	take_pending_signal();
	mcxt_check_signal();
	dump = read_dump();
	CHECK_EQ(count_of(dump, "mcxt: "), 1);
	CHECK(strstr(dump, "MainOnly") != NULL);
	CHECK(strstr(dump, "WorkerOnly") == NULL);

	set_flag(&worker_step, 1);
	wait_for(&worker_done, 2);
	dump = read_dump();
	CHECK_EQ(count_of(dump, "mcxt: "), 2);
	first = strstr(dump, "mcxt: ");
	second = first ? strstr(first + 1, "mcxt: ") : NULL;
	REQUIRE(second != NULL);
	/* the second dump is the worker's tree, not the main thread's */
	CHECK(strstr(second, "WorkerOnly") != NULL);
	CHECK(strstr(second, "MainOnly") == NULL);

	/* a thread born after the request does not dump for it */
	REQUIRE(pthread_create(&late, NULL, late_thread, NULL) == 0);
	pthread_join(late, NULL);
	set_flag(&worker_step, 2);
	pthread_join(w, NULL);
	mcxt_check_signal();
	dump = read_dump();
	CHECK_EQ(count_of(dump, "mcxt: "), 2);
	CHECK(strstr(dump, "LateThread") == NULL);
	CHECK(strstr(dump, "WorkerChild") == NULL);
	mcxt_delete(ctx);
}

static char errbuf[64 * 1024];

/* Call mcxt_check_signal() times times with stderr going to errbuf. */
static const char *
check_signal_capturing_stderr(int times)
{
	FILE	   *f = tmpfile();
	int			saved;
	size_t		n;

	errbuf[0] = '\0';
	if (f == NULL)
		return errbuf;
	fflush(stderr);
	saved = dup(2);
	dup2(fileno(f), 2);
	for (int i = 0; i < times; i++)
		mcxt_check_signal();
	fflush(stderr);
	dup2(saved, 2);
	close(saved);
	rewind(f);
	n = fread(errbuf, 1, sizeof(errbuf) - 1, f);
	errbuf[n] = '\0';
	fclose(f);
	return errbuf;
}

/* "-" dumps to stderr; the file is then left alone. */
static void
test_stderr(void)
{
	const char *buf;

	th_catch_errors();
	truncate_dump();
	mcxt_stats_on_signal(SIGUSR1, "-");
	signal_from_thread(send_pthread_kill);
	buf = check_signal_capturing_stderr(2);
	CHECK_EQ(count_of(buf, "mcxt: "), 1);
	CHECK_MSG(strstr(buf, usr1_header) != NULL, "%s", buf);
	CHECK(strstr(buf, "TopMemoryContext: ") != NULL);
	CHECK_STR(read_dump(), "");
	mcxt_stats_on_signal(SIGUSR1, dump_path);
}

/* Another signal replaces the first; the first gets its old action back. */
static void
test_replace_signal(void)
{
	struct sigaction sa;

	th_catch_errors();
	truncate_dump();
	mcxt_stats_on_signal(SIGUSR2, dump_path);
	sigaction(SIGUSR1, NULL, &sa);
	CHECK(sa.sa_handler == SIG_DFL);
	sigaction(SIGUSR2, NULL, &sa);
	CHECK(sa.sa_handler != SIG_DFL && sa.sa_handler != SIG_IGN);
	raise(SIGUSR2);				/* not blocked: handled before raise returns */
	mcxt_check_signal();
	{
		char		want[64];

		snprintf(want, sizeof(want), "(signal %d, request ", SIGUSR2);
		CHECK(strstr(read_dump(), want) != NULL);
	}
	mcxt_stats_on_signal(SIGUSR1, dump_path);
}

static void
test_bad_arguments(void)
{
	static const int bad[] = {0, -1, SIGKILL, SIGSTOP, SIGSEGV, SIGBUS, SIGFPE, SIGILL, NSIG, 100000};
	static char longpath[5000];

	for (volatile size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
	{
		EXPECT_ERROR(MCXT_ERR_MISUSE, mcxt_stats_on_signal(bad[i], dump_path));
		CHECK_MSG(strstr(th_err_msg, "cannot be used to request statistics") != NULL,
				  "signal %d: %s", bad[i], th_err_msg);
	}
	EXPECT_ERROR(MCXT_ERR_MISUSE, mcxt_stats_on_signal(SIGUSR1, NULL));
	CHECK(strstr(th_err_msg, "no file to dump to") != NULL);
	EXPECT_ERROR(MCXT_ERR_MISUSE, mcxt_stats_on_signal(SIGUSR1, ""));
	memset(longpath, 'x', sizeof(longpath) - 1);
	EXPECT_ERROR(MCXT_ERR_MISUSE, mcxt_stats_on_signal(SIGUSR1, longpath));
	CHECK(strstr(th_err_msg, "too long") != NULL);
}

/* A dump file that cannot be opened: a message on stderr, no crash, no retry loop. */
static void
test_unwritable_path(void)
{
	th_catch_errors();
	const char *err;

	mcxt_stats_on_signal(SIGUSR1, "/nonexistent-dir/mcxt-dump");
	signal_from_thread(send_pthread_kill);
	err = check_signal_capturing_stderr(3);
	CHECK_EQ(count_of(err, "mcxt: cannot open \"/nonexistent-dir/mcxt-dump\" for the memory "
					  "context statistics requested by signal "), 1);
	CHECK(strstr(err, "No such file or directory") != NULL);
	mcxt_stats_on_signal(SIGUSR1, dump_path);
}

int
main(void)
{
	int			fd;

	snprintf(dump_path, sizeof(dump_path), "/tmp/mcxt-sigdump-XXXXXX");
	fd = mkstemp(dump_path);
	if (fd < 0)
	{
		perror("mkstemp");
		return 1;
	}
	close(fd);
	snprintf(usr1_header, sizeof(usr1_header),
			 ": memory context statistics (signal %d, request ", SIGUSR1);
	main_thread = pthread_self();
	sigemptyset(&blocked_mask);
	sigaddset(&blocked_mask, SIGUSR1);
	pthread_sigmask(SIG_BLOCK, &blocked_mask, NULL);
	pthread_sigmask(SIG_BLOCK, NULL, &blocked_mask);
	mcxt_init();

	RUN(test_bad_arguments);
	RUN(test_dump_at_next_slow_path);
	RUN(test_each_safe_point);
	RUN(test_dump_during_create);
	RUN(test_kill_and_check_signal);
	RUN(test_repeated_signals);
	RUN(test_each_thread_dumps_its_own_tree);
	RUN(test_stderr);
	RUN(test_replace_signal);
	RUN(test_unwritable_path);
	unlink(dump_path);
	mcxt_thread_cleanup();
	return th_report();
}
