/*
 * main.c
 *	  mcxt: find memory leaks in an ELF core file or a live process.
 *
 * The command line is `mcxt COMMAND TARGET [OPTIONS]`.  Commands live in a
 * table (name, handler, help, one-line summary); each handler parses its own
 * arguments with the helpers below and returns an exit code:
 *   0  done
 *   1  input unreadable or not understood (the message says what and where)
 *   2  usage error
 * Errors are text on stderr, or JSON on stdout with --json (output.c).
 */
#define _GNU_SOURCE
#include "main.h"

#include "../../src/chunk.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#ifndef MCXT_VERSION
#define MCXT_VERSION "unknown"
#endif

static int	do_help(int argc, char **argv);
static void help_help(void);

typedef struct command
{
	const char *name;
	int			(*run) (int argc, char **argv);
	void		(*help) (void);
	const char *summary;
} command;

static const command commands[] = {
	{"info", do_info, help_info, "what the image is: executable, mappings, threads, what is missing, libmcxt registry"},
	{"contexts", do_contexts, help_contexts, "the memory-context trees, in MemoryContextStats' format"},
	{"leaks", do_leaks, help_leaks, "ranked leak suspects: chunks grouped by context, size and content family"},
	{"chunk", do_chunk, help_chunk, "the context, block and chunk holding an address, with a dump"},
	{"diff", do_diff, help_diff, "what grew between two images of the same program"},
	{"strings", do_strings, help_strings, "histogram of printable strings in writable anonymous memory"},
	{"find", do_find, help_find, "addresses of a string or byte pattern, with a stride histogram"},
	{"help", do_help, help_help, "help for mcxt or one command"},
};

#define NCOMMANDS (sizeof(commands) / sizeof(commands[0]))

static void
usage(FILE *f)
{
	fprintf(f,
			"Usage: mcxt COMMAND TARGET [OPTIONS]\n"
			"       mcxt COMMAND --help\n"
			"       mcxt --version\n"
			"\n"
			"Find memory leaks in an ELF core file or a live process.\n"
			"\n"
			"Commands:\n");
	for (size_t i = 0; i < NCOMMANDS; i++)
		fprintf(f, "  %-9s %s\n", commands[i].name, commands[i].summary);
	fprintf(f, "\n%s\n"
			"Exit status: 0 done, 1 input unreadable or not understood, 2 usage error.\n",
			TARGET_USAGE);
}

static void
help_help(void)
{
	printf("Usage: mcxt help [COMMAND]\n\nPrints the help for mcxt, or for one command.\n");
}

static const command *
find_command(const char *name)
{
	for (size_t i = 0; i < NCOMMANDS; i++)
		if (strcmp(commands[i].name, name) == 0)
			return &commands[i];
	return NULL;
}

static int
do_help(int argc, char **argv)
{
	const command *c;

	if (argc == 0)
	{
		usage(stdout);
		return MCXT_EXIT_OK;
	}
	c = find_command(argv[0]);
	if (!c)
		return usage_error("help", "unknown command '%s'", argv[0]);
	c->help();
	return MCXT_EXIT_OK;
}

/* Helpers for the commands ---------------------------------------------- */

int
usage_error(const char *cmd, const char *fmt,...)
{
	char		buf[1024];
	va_list		ap;

	va_start(ap, fmt);
	vsnprintf(buf, sizeof(buf), fmt, ap);
	va_end(ap);
	if (json_output)
		p_err("%s%s%s", cmd ? cmd : "", cmd ? ": " : "", buf);
	else if (cmd)
		fprintf(stderr, "mcxt %s: %s\nTry 'mcxt %s --help' for more information.\n",
				cmd, buf, cmd);
	else
		fprintf(stderr, "mcxt: %s\nTry 'mcxt --help' for more information.\n", buf);
	return MCXT_EXIT_USAGE;
}

bool
parse_u64(const char *s, uint64_t *v)
{
	char	   *end;
	unsigned long long x;

	if (!s || !*s || *s == '-')
		return false;
	errno = 0;
	x = strtoull(s, &end, 0);
	if (errno || *end != '\0')
		return false;
	*v = x;
	return true;
}

const char *
option_value(const char *name, int argc, char **argv, int *i, bool *err)
{
	size_t		len = strlen(name);
	const char *a = argv[*i];

	if (strncmp(a, name, len) != 0)
		return NULL;
	if (a[len] == '=')
		return a + len + 1;
	if (a[len] != '\0')
		return NULL;
	if (*i + 1 >= argc)
	{
		*err = true;
		return NULL;
	}
	return argv[++*i];
}

int
target_option(target_args *t, int argc, char **argv, int *i)
{
	const char *a = argv[*i];
	const char *v;
	bool		err = false;
	uint64_t	n;

	if (strcmp(a, "--json") == 0 || strcmp(a, "-j") == 0)
	{
		json_output = true;
		return 1;
	}
	if (strcmp(a, "--help") == 0 || strcmp(a, "-h") == 0)
	{
		t->help = true;
		return 1;
	}
	if (strcmp(a, "--hold") == 0)
	{
		t->opts.hold = true;
		return 1;
	}
	if (strcmp(a, "--no-freeze") == 0)
	{
		t->opts.no_freeze = true;
		return 1;
	}
	if ((v = option_value("--pid", argc, argv, i, &err)) != NULL || err)
	{
		if (err || !parse_u64(v, &n) || n == 0 || n > 0x7fffffff)
			return usage_error(NULL, "--pid needs a process id"), -1;
		if (t->pid || t->core)
			return usage_error(NULL, "give one TARGET: a core file or --pid PID"), -1;
		t->pid = (int) n;
		return 1;
	}
	if ((v = option_value("--pg-version", argc, argv, i, &err)) != NULL || err)
	{
		if (err || !mcxt_parse_pg_version(v, &t->alloc.pg_major, &t->alloc.pg_greenplum))
			return usage_error(NULL, "--pg-version needs a major version 10..18, or gp6 or gp7"), -1;
		return 1;
	}
	if (strcmp(a, "--pg-cassert") == 0 || strcmp(a, "--no-pg-cassert") == 0)
	{
		if (t->alloc.pg_cassert_set && t->alloc.pg_cassert != (a[2] == 'p'))
			return usage_error(NULL, "give one of --pg-cassert and --no-pg-cassert"), -1;
		t->alloc.pg_cassert_set = true;
		t->alloc.pg_cassert = a[2] == 'p';
		return 1;
	}
	if ((v = option_value("--exe", argc, argv, i, &err)) != NULL || err)
	{
		if (err || !*v)
			return usage_error(NULL, "--exe needs a path"), -1;
		t->opts.exe = v;
		return 1;
	}
	return 0;
}

bool
target_positional(target_args *t, const char *arg)
{
	if (t->core || t->pid)
		return false;
	t->core = arg;
	return true;
}

image_t *
target_open(target_args *t)
{
	char		err[1024];
	image_t    *im;

	if (t->pid)
		im = image_open_pid(t->pid, &t->opts, err, sizeof(err));
	else
		im = image_open_core(t->core, &t->opts, err, sizeof(err));
	if (!im)
		p_err("%s", err);
	return im;
}

/* main ------------------------------------------------------------------ */

int
main(int argc, char **argv)
{
	const command *c;

	if (argc < 2)
	{
		usage(stderr);
		return MCXT_EXIT_USAGE;
	}
	if (strcmp(argv[1], "--version") == 0 || strcmp(argv[1], "-V") == 0)
	{
		printf("mcxt %s (libmcxt layout version %d)\n", MCXT_VERSION, MCXT_LAYOUT_VERSION);
		return MCXT_EXIT_OK;
	}
	if (strcmp(argv[1], "--help") == 0 || strcmp(argv[1], "-h") == 0)
	{
		usage(stdout);
		return MCXT_EXIT_OK;
	}
	/* so that even an early usage error comes out as JSON */
	for (int i = 2; i < argc && strcmp(argv[i], "--") != 0; i++)
		if (strcmp(argv[i], "--json") == 0 || strcmp(argv[i], "-j") == 0)
			json_output = true;
	if (argv[1][0] == '-')
		return usage_error(NULL, "expected a COMMAND before '%s'", argv[1]);
	c = find_command(argv[1]);
	if (!c)
		return usage_error(NULL, "unknown command '%s'", argv[1]);
	return c->run(argc - 2, argv + 2);
}
