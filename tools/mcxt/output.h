/*
 * output.h
 *	  Errors, warnings and JSON helpers shared by every command.
 *
 * Errors go to stderr as "mcxt: <message>", or, with --json, to stdout as
 * {"error": "<message>"} so a script reading stdout always gets JSON.
 * Warnings always go to stderr ("mcxt: warning: ..."), so they never break a
 * JSON document on stdout.
 */
#ifndef MCXT_TOOL_OUTPUT_H
#define MCXT_TOOL_OUTPUT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>

#include "image.h"

/* Exit codes, documented in docs/mcxt.md. */
#define MCXT_EXIT_OK	0
#define MCXT_EXIT_INPUT 1		/* input unreadable or not understood */
#define MCXT_EXIT_USAGE 2		/* bad command line */

extern bool json_output;

void		p_err(const char *fmt,...) __attribute__((format(printf, 1, 2)));
void		p_warn(const char *fmt,...) __attribute__((format(printf, 1, 2)));

/* Print the image's warnings to stderr. */
void		print_image_warnings(const image_t *im);

/* Write s[0 .. len) as a JSON string literal (with quotes). */
void		json_str(FILE *f, const char *s, size_t len);

#endif							/* MCXT_TOOL_OUTPUT_H */
