/*
 * testhelper.h
 *	  The tiny harness every mcxt test program includes.
 *
 * One executable per test file, registered with CTest.  A program is a list
 * of test functions run by RUN(); each CHECK that fails prints where and what,
 * and marks the running test as failed without stopping it (REQUIRE stops
 * the test function).  th_report() prints "N passed, N failed" and returns
 * the exit status: nonzero when anything failed.
 *
 * The harness never allocates: it keeps its state in static variables and
 * writes only to stderr, which is unbuffered, so it cannot disturb the block
 * statistics or leak checks of the library under test.
 *
 * Library errors: EXPECT_ERROR(code, statement) installs a handler that
 * records the error and longjmps back, runs the statement, and checks that
 * the library raised exactly that error.  An error raised outside
 * EXPECT_ERROR makes the handler return, so the library aborts and the test
 * fails loudly.
 */
#ifndef MCXT_TESTHELPER_H
#define MCXT_TESTHELPER_H

#include <inttypes.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <mcxt.h>

#if defined(__GNUC__)
#define TH_UNUSED __attribute__((unused))
#else
#define TH_UNUSED
#endif

static int	th_passed;			/* test functions that passed */
static int	th_failed;			/* test functions that failed */
static int	th_cur_failed;		/* failed checks in the running test */
static const char *th_cur_name = "(none)";

/*
 * Extra words printed with every failure, e.g. "seed=42 step=1234", so that
 * a randomized test says how to reproduce it.  Set it with th_set_note().
 */
static char th_note[256];

static TH_UNUSED void
th_set_note(const char *fmt, ...) MCXT_PRINTF(1, 2);

static TH_UNUSED void
th_set_note(const char *fmt, ...)
{
	va_list		ap;

	va_start(ap, fmt);
	vsnprintf(th_note, sizeof(th_note), fmt, ap);
	va_end(ap);
}

static TH_UNUSED void
th_fail_header(const char *file, int line)
{
	if (th_cur_failed == 0)
		fputc('\n', stderr);
	th_cur_failed++;
	fprintf(stderr, "  %s:%d: ", file, line);
	if (th_note[0] != '\0')
		fprintf(stderr, "[%s] ", th_note);
}

static TH_UNUSED bool
th_check(bool ok, const char *expr, const char *file, int line)
{
	if (!ok)
	{
		th_fail_header(file, line);
		fprintf(stderr, "check failed: %s\n", expr);
	}
	return ok;
}

static TH_UNUSED bool
th_check_eq(uintmax_t a, uintmax_t b, const char *ea, const char *eb,
			const char *file, int line)
{
	if (a != b)
	{
		th_fail_header(file, line);
		fprintf(stderr, "check failed: %s == %s (%ju != %ju)\n", ea, eb, a, b);
	}
	return a == b;
}

static TH_UNUSED bool
th_check_str(const char *a, const char *b, const char *ea, const char *eb,
			 const char *file, int line)
{
	bool		ok = (a != NULL && b != NULL) ? strcmp(a, b) == 0 : a == b;

	if (!ok)
	{
		th_fail_header(file, line);
		fprintf(stderr, "check failed: %s equals %s\n--- got:\n%s\n--- expected:\n%s\n---\n",
				ea, eb, a ? a : "(null)", b ? b : "(null)");
	}
	return ok;
}

/* A failure with a message of the test's own. */
static TH_UNUSED bool
th_check_msg(bool ok, const char *file, int line, const char *fmt, ...) MCXT_PRINTF(4, 5);

static TH_UNUSED bool
th_check_msg(bool ok, const char *file, int line, const char *fmt, ...)
{
	va_list		ap;

	if (ok)
		return true;
	th_fail_header(file, line);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
	return false;
}

#define CHECK(expr)			th_check((expr) ? true : false, #expr, __FILE__, __LINE__)
#define CHECK_EQ(a, b)		th_check_eq((uintmax_t) (a), (uintmax_t) (b), #a, #b, __FILE__, __LINE__)
#define CHECK_STR(a, b)		th_check_str((a), (b), #a, #b, __FILE__, __LINE__)
#define CHECK_MSG(ok, ...)	th_check_msg((ok) ? true : false, __FILE__, __LINE__, __VA_ARGS__)
/* Stop the running test function when the check fails. */
#define REQUIRE(expr)		do { if (!CHECK(expr)) return; } while (0)

static TH_UNUSED void
th_run(const char *name, void (*fn) (void))
{
	th_cur_name = name;
	th_cur_failed = 0;
	th_note[0] = '\0';
	fprintf(stderr, "test: %s ... ", name);
	fn();
	if (th_cur_failed == 0)
	{
		fprintf(stderr, "ok\n");
		th_passed++;
	}
	else
	{
		fprintf(stderr, "test: %s FAILED (%d failed checks)\n", name, th_cur_failed);
		th_failed++;
	}
}

#define RUN(fn)		th_run(#fn, fn)

/* Print the summary; the program's exit status. */
static TH_UNUSED int
th_report(void)
{
	fprintf(stderr, "\n%d passed, %d failed\n", th_passed, th_failed);
	return th_failed == 0 ? 0 : 1;
}

/* ---- captured output ------------------------------------------------------ */

/*
 * All of f (a tmpfile the code under test wrote to) as a string, and f
 * closed: for checking what the stats and report functions print.  The
 * buffer is static and reused by the next call; output past 64 kB is cut.
 */
static char th_slurp_buf[64 * 1024];

static TH_UNUSED const char *
th_slurp(FILE *f)
{
	size_t		n;

	fflush(f);
	rewind(f);
	n = fread(th_slurp_buf, 1, sizeof(th_slurp_buf) - 1, f);
	th_slurp_buf[n] = '\0';
	fclose(f);
	return th_slurp_buf;
}

/* ---- catching library errors -------------------------------------------- */

static jmp_buf th_err_jmp;
static volatile bool th_err_armed;
static volatile int th_err_code;		/* last error code seen, 0: none */
static volatile int th_err_count;		/* errors seen since the last EXPECT_ERROR */
static mcxt_context_t *volatile th_err_ctx;
static char th_err_msg[1024];

static TH_UNUSED void
th_error_handler(mcxt_error_t code, mcxt_context_t *ctx, const char *message)
{
	th_err_code = (int) code;
	th_err_ctx = ctx;
	th_err_count++;
	snprintf(th_err_msg, sizeof(th_err_msg), "%s", message ? message : "(null)");
	if (th_err_armed)
	{
		th_err_armed = false;
		longjmp(th_err_jmp, 1);
	}
	/* Not expected: returning makes the library abort, failing the program. */
	fprintf(stderr, "\nunexpected mcxt error %d in test %s: %s\n",
			(int) code, th_cur_name, message ? message : "(null)");
}

static TH_UNUSED void
th_catch_errors(void)
{
	mcxt_set_error_handler(th_error_handler);
}

/*
 * Run stmt, which must raise library error `expected` (and not return).
 * Evaluates to nothing; check th_err_ctx / th_err_msg afterwards if needed.
 * Variables that stmt assigns and the caller reads afterwards must be
 * volatile (setjmp rules).
 */
#define EXPECT_ERROR(expected, stmt) \
	do { \
		th_err_code = 0; \
		th_err_count = 0; \
		th_err_ctx = NULL; \
		th_err_msg[0] = '\0'; \
		mcxt_set_error_handler(th_error_handler); \
		if (setjmp(th_err_jmp) == 0) \
		{ \
			th_err_armed = true; \
			stmt; \
			th_err_armed = false; \
			th_check(false, "error " #expected " raised by: " #stmt, __FILE__, __LINE__); \
		} \
		else \
			th_check_eq((uintmax_t) th_err_code, (uintmax_t) (expected), \
						"error raised by: " #stmt, #expected, __FILE__, __LINE__); \
	} while (0)

/*
 * Run stmt, which must not raise any library error; if it does, the error is
 * reported as a failed check and the statement is abandoned.
 */
#define EXPECT_NO_ERROR(stmt) \
	do { \
		th_err_code = 0; \
		th_err_count = 0; \
		mcxt_set_error_handler(th_error_handler); \
		if (setjmp(th_err_jmp) == 0) \
		{ \
			th_err_armed = true; \
			stmt; \
			th_err_armed = false; \
		} \
		else \
			th_check_msg(false, __FILE__, __LINE__, "%s raised error %d: %s", \
						 #stmt, th_err_code, th_err_msg); \
	} while (0)

#endif							/* MCXT_TESTHELPER_H */
