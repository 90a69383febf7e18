/*
 * cmd_strings.c
 *	  `mcxt strings TARGET`: how often each printable string occurs in
 *	  writable anonymous memory (heap, stack, anonymous mmaps) - what
 *	  `strings core | sort | uniq -c | sort -nr` gave, without the noise of
 *	  mapped files and in one pass over the mapped core.
 */
#define _GNU_SOURCE
#include "main.h"

#include <stdio.h>
#include <string.h>

#include "scan.h"

#define STRINGS_DEFAULT_MIN		4
#define STRINGS_DEFAULT_TOP		20
#define STRINGS_DEFAULT_MEM_MB	256

void
help_strings(void)
{
	printf("Usage: mcxt strings TARGET [--min-len N] [--top N] [--all] [--json]\n"
		   "\n"
		   "Counts every run of at least N printable characters (0x20-0x7e and tab, ended\n"
		   "by any other byte) in writable anonymous memory and prints the most frequent,\n"
		   "most frequent first.\n"
		   "\n"
		   "  --min-len N     shortest string counted (default %d)\n"
		   "  --top N         how many to print (default %d; 0 prints all)\n"
		   "  --all           scan every readable region in the image, not just\n"
		   "                  writable anonymous memory\n"
		   "  --mem-limit MB  memory for the histogram (default %d); beyond it strings seen\n"
		   "                  rarely are dropped and a warning says so\n"
		   "JSON: [{\"string\": S, \"count\": N}, ...]\n"
		   "Strings longer than %d bytes are counted by their first %d bytes.\n"
		   "\n%s", STRINGS_DEFAULT_MIN, STRINGS_DEFAULT_TOP, STRINGS_DEFAULT_MEM_MB,
		   STRHIST_MAX_LEN, STRHIST_MAX_LEN, TARGET_USAGE);
}

static void
strings_print_text(const char *s, size_t len)
{
	for (size_t i = 0; i < len; i++)
		if (s[i] == '\t')
			fputs("\\t", stdout);
		else
			putchar(s[i]);
}

int
do_strings(int argc, char **argv)
{
	target_args t = {0};
	uint64_t	min_len = STRINGS_DEFAULT_MIN,
				top = STRINGS_DEFAULT_TOP,
				mem_mb = STRINGS_DEFAULT_MEM_MB;
	scan_scope	scope = SCAN_ANON_WRITABLE;
	image_t    *im;
	strhist    *h;
	const strhist_entry *e;
	size_t		n;
	uint64_t	scanned;

	for (int i = 0; i < argc; i++)
	{
		int			r = target_option(&t, argc, argv, &i);
		const char *v;
		bool		err = false;

		if (r < 0)
			return MCXT_EXIT_USAGE;
		if (r > 0)
			continue;
		if ((v = option_value("--min-len", argc, argv, &i, &err)) || err)
		{
			if (err || !parse_u64(v, &min_len) || min_len == 0 || min_len > STRHIST_MAX_LEN)
				return usage_error("strings", "--min-len needs a number from 1 to %d", STRHIST_MAX_LEN);
		}
		else if ((v = option_value("--top", argc, argv, &i, &err)) || err)
		{
			if (err || !parse_u64(v, &top))
				return usage_error("strings", "--top needs a number (0 for all)");
		}
		else if ((v = option_value("--mem-limit", argc, argv, &i, &err)) || err)
		{
			if (err || !parse_u64(v, &mem_mb) || mem_mb == 0 || mem_mb > (1u << 20))
				return usage_error("strings", "--mem-limit needs a size in MB");
		}
		else if (strcmp(argv[i], "--all") == 0)
			scope = SCAN_ALL;
		else if (argv[i][0] == '-' && argv[i][1] != '\0')
			return usage_error("strings", "unknown option '%s'", argv[i]);
		else if (!target_positional(&t, argv[i]))
			return usage_error("strings", "unexpected argument '%s'", argv[i]);
	}
	if (t.help)
	{
		help_strings();
		return MCXT_EXIT_OK;
	}
	if (!t.core && !t.pid)
		return usage_error("strings", "no TARGET: give a core file or --pid PID");
	im = target_open(&t);
	if (!im)
		return MCXT_EXIT_INPUT;

	h = strhist_new((size_t) min_len, (size_t) mem_mb << 20);
	scanned = scan_memory(im, scope, 0, strhist_feed, h);
	strhist_finish(h);
	image_release(im);
	if (strhist_pruned_below(h))
		image_warn(im, "the string histogram outgrew --mem-limit: strings seen %llu times or fewer "
				   "were dropped, counts may be low by up to that much",
				   (unsigned long long) strhist_pruned_below(h));
	if (scanned == 0)
		image_warn(im, "%s: no %s memory to scan", image_target(im),
				   scope == SCAN_ALL ? "readable" : "writable anonymous");

	e = strhist_sorted(h, &n);
	if (top && top < n)
		n = (size_t) top;
	if (json_output)
	{
		printf("[");
		for (size_t i = 0; i < n; i++)
		{
			printf("%s{\"string\":", i ? "," : "");
			json_str(stdout, e[i].str, e[i].len);
			printf(",\"count\":%llu}", (unsigned long long) e[i].count);
		}
		printf("]\n");
	}
	else
	{
		printf("%10s  %s\n", "count", "string");
		for (size_t i = 0; i < n; i++)
		{
			printf("%10llu  ", (unsigned long long) e[i].count);
			strings_print_text(e[i].str, e[i].len);
			putchar('\n');
		}
		printf("%llu strings of %llu+ characters in %llu bytes of %s memory\n",
			   (unsigned long long) strhist_total(h), (unsigned long long) min_len,
			   (unsigned long long) scanned, scope == SCAN_ALL ? "readable" : "writable anonymous");
	}
	print_image_warnings(im);
	strhist_free(h);
	image_close(im);
	return MCXT_EXIT_OK;
}
