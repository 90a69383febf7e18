/*
 * main.h
 *	  What the command files share with main.c: the command prototypes, the
 *	  options every command takes (the TARGET), and the argument helpers.
 *
 * Adding a command: write
 * cmd_NAME.c with do_NAME(argc, argv) and help_NAME(), declare them here,
 * add one line to commands[] in main.c, and document it in docs/mcxt.md.
 * A command parses its own argv (the words after its name), handing each
 * word to target_option() first, opens the image with target_open(), and
 * returns one of the MCXT_EXIT_* codes.
 */
#ifndef MCXT_TOOL_MAIN_H
#define MCXT_TOOL_MAIN_H

#include <stdbool.h>
#include <stdint.h>

#include "detect.h"
#include "image.h"
#include "output.h"

/* TARGET: a core file or --pid PID, plus the options that shape opening it. */
typedef struct target_args
{
	const char *core;
	int			pid;
	image_opts	opts;
	mcxt_alloc_opts alloc;		/* --pg-version, --pg-cassert, --no-pg-cassert */
	bool		help;
} target_args;

#define TARGET_USAGE \
	"TARGET is a core file (ELF, from gcore or the kernel) or --pid PID.\n" \
	"Target options:\n" \
	"  --pid PID       a live process: stopped with ptrace while its metadata is read\n" \
	"  --exe PATH      the executable, when the core's path to it is wrong or missing\n" \
	"  --pg-version N  PostgreSQL major version 10..18, or gp6/gp7 for Greenplum, instead of\n" \
	"                  the executable's version string\n" \
	"  --pg-cassert, --no-pg-cassert\n" \
	"                  PostgreSQL chunk headers with or without MEMORY_CONTEXT_CHECKING\n" \
	"                  (--enable-cassert builds); default: detected from the image\n" \
	"  --hold          keep the process stopped until the command finishes\n" \
	"  --no-freeze     do not stop the process at all (reads may be inconsistent)\n" \
	"  --json, -j      JSON on stdout (errors too, as {\"error\": ...})\n" \
	"  --help, -h      this help\n"

/*
 * If argv[*i] is a target option, consume it (and its value) and return 1;
 * return 0 if it is not one; -1 after printing a usage error.
 */
int			target_option(target_args *t, int argc, char **argv, int *i);

/* Take a positional argument as the core path if none yet; false if taken. */
bool		target_positional(target_args *t, const char *arg);

/* Open the target; NULL after printing the error (then exit MCXT_EXIT_INPUT). */
image_t    *target_open(target_args *t);

/* Value of an option given as "--name VALUE" or "--name=VALUE"; NULL if absent. */
const char *option_value(const char *name, int argc, char **argv, int *i, bool *err);

/* Parse an unsigned decimal/hex number; false on junk. */
bool		parse_u64(const char *s, uint64_t *v);

/* Usage error: prints "mcxt CMD: message" and a hint, returns MCXT_EXIT_USAGE. */
int			usage_error(const char *cmd, const char *fmt,...) __attribute__((format(printf, 2, 3)));

/* Commands. */
int			do_info(int argc, char **argv);
int			do_strings(int argc, char **argv);
int			do_find(int argc, char **argv);
void		help_info(void);
void		help_strings(void);
void		help_find(void);
/* cmd_walk.c: the commands that walk the context trees */
int			do_contexts(int argc, char **argv);
int			do_leaks(int argc, char **argv);
int			do_chunk(int argc, char **argv);
int			do_diff(int argc, char **argv);
void		help_contexts(void);
void		help_leaks(void);
void		help_chunk(void);
void		help_diff(void);

#endif							/* MCXT_TOOL_MAIN_H */
