/*
 * cmd_find.c
 *	  `mcxt find TARGET PATTERN`: every address where a string or byte
 *	  pattern occurs, and the histogram of distances between consecutive
 *	  matches (gdb find's job, plus the stride that gives a leak away: equal
 *	  chunks carved one after another from the same block sit a fixed
 *	  distance apart).
 */
#define _GNU_SOURCE
#include "main.h"

#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "scan.h"

#define FIND_DEFAULT_MAX		20
#define FIND_DEFAULT_MAX_JSON	1000
#define FIND_DEFAULT_STRIDES	10
#define FIND_MAX_PATTERN		4096

void
help_find(void)
{
	printf("Usage: mcxt find TARGET PATTERN [OPTIONS]\n"
		   "\n"
		   "Searches writable anonymous memory for PATTERN and prints how many times it\n"
		   "occurs, the first addresses, and the distances between consecutive matches in\n"
		   "the same region (strides), most frequent first.\n"
		   "\n"
		   "PATTERN is a string, or bytes in memory order when it starts with 0x\n"
		   "(0x626173652f finds \"base/\").  Explicit forms:\n"
		   "  --string S      the bytes of S (no terminating NUL)\n"
		   "  --hex H         bytes in memory order, hex digits with optional 0x\n"
		   "  --u64 V         an 8-byte little-endian value (e.g. a pointer), decimal or 0x\n"
		   "Options:\n"
		   "  --max N         addresses to print (default %d, %d with --json; 0: none)\n"
		   "  --strides N     strides to print (default %d)\n"
		   "  --all           search every readable region in the image\n"
		   "JSON: {\"count\": N, \"addresses\": [first N], \"strides\": [{\"stride\": S, \"count\": C}],\n"
		   "       \"regions\": R}   (addresses are numbers)\n"
		   "\n%s", FIND_DEFAULT_MAX, FIND_DEFAULT_MAX_JSON, FIND_DEFAULT_STRIDES, TARGET_USAGE);
}

/* Hex digits (optional 0x, even count) to bytes; false on junk. */
static bool
find_parse_hex(const char *s, unsigned char *out, size_t *len)
{
	size_t		n;

	if (s[0] == '0' && (s[1] == 'x' || s[1] == 'X'))
		s += 2;
	n = strlen(s);
	if (n == 0 || n % 2 != 0 || n / 2 > FIND_MAX_PATTERN)
		return false;
	for (size_t i = 0; i < n; i += 2)
	{
		char		b[3] = {s[i], s[i + 1], '\0'};

		if (!isxdigit((unsigned char) b[0]) || !isxdigit((unsigned char) b[1]))
			return false;
		out[i / 2] = (unsigned char) strtoul(b, NULL, 16);
	}
	*len = n / 2;
	return true;
}

static void
find_print_pattern(const unsigned char *p, size_t len)
{
	bool		text = true;

	for (size_t i = 0; i < len; i++)
		if (p[i] < 0x20 || p[i] > 0x7e)
			text = false;
	if (text)
		printf("\"%.*s\"", (int) len, (const char *) p);
	else
	{
		printf("0x");
		for (size_t i = 0; i < len; i++)
			printf("%02x", p[i]);
	}
}

int
do_find(int argc, char **argv)
{
	target_args t = {0};
	unsigned char pat[FIND_MAX_PATTERN];
	size_t		patlen = 0;
	bool		have_pat = false;
	uint64_t	max = 0,
				nstrides = FIND_DEFAULT_STRIDES;
	bool		max_set = false,
				only_positional = false;
	scan_scope	scope = SCAN_ANON_WRITABLE;
	const char *pos[3];
	int			npos = 0;
	image_t    *im;
	finder	   *f;
	const uint64_t *addrs;
	const stride_count *st;
	size_t		naddrs,
				nst;

	for (int i = 0; i < argc; i++)
	{
		int			r = only_positional ? 0 : target_option(&t, argc, argv, &i);
		const char *v;
		bool		err = false;
		uint64_t	u;

		if (r < 0)
			return MCXT_EXIT_USAGE;
		if (r > 0)
			continue;
		if (only_positional || argv[i][0] != '-' || argv[i][1] == '\0')
		{
			if (npos == 3)
				return usage_error("find", "unexpected argument '%s'", argv[i]);
			pos[npos++] = argv[i];
		}
		else if (strcmp(argv[i], "--") == 0)
			only_positional = true;
		else if ((v = option_value("--string", argc, argv, &i, &err)) || err)
		{
			if (err || !*v || strlen(v) > FIND_MAX_PATTERN || have_pat)
				return usage_error("find", "--string needs one non-empty pattern");
			patlen = strlen(v);
			memcpy(pat, v, patlen);
			have_pat = true;
		}
		else if ((v = option_value("--hex", argc, argv, &i, &err)) || err)
		{
			if (err || have_pat || !find_parse_hex(v, pat, &patlen))
				return usage_error("find", "--hex needs an even number of hex digits");
			have_pat = true;
		}
		else if ((v = option_value("--u64", argc, argv, &i, &err)) || err)
		{
			if (err || have_pat || !parse_u64(v, &u))
				return usage_error("find", "--u64 needs a number");
			for (int k = 0; k < 8; k++)
				pat[k] = (unsigned char) (u >> (8 * k));
			patlen = 8;
			have_pat = true;
		}
		else if ((v = option_value("--max", argc, argv, &i, &err)) || err)
		{
			if (err || !parse_u64(v, &max) || max > (1u << 24))
				return usage_error("find", "--max needs a number");
			max_set = true;
		}
		else if ((v = option_value("--strides", argc, argv, &i, &err)) || err)
		{
			if (err || !parse_u64(v, &nstrides))
				return usage_error("find", "--strides needs a number");
		}
		else if (strcmp(argv[i], "--all") == 0)
			scope = SCAN_ALL;
		else
			return usage_error("find", "unknown option '%s'", argv[i]);
	}
	if (t.help)
	{
		help_find();
		return MCXT_EXIT_OK;
	}
	/* positionals: [CORE] [PATTERN] */
	for (int i = 0; i < npos; i++)
	{
		if (!t.core && !t.pid)
			t.core = pos[i];
		else if (!have_pat)
		{
			const char *p = pos[i];

			if (p[0] == '0' && (p[1] == 'x' || p[1] == 'X'))
			{
				if (!find_parse_hex(p, pat, &patlen))
					return usage_error("find", "pattern '%s' starts with 0x but is not an even "
									   "number of hex digits (use --string for text)", p);
			}
			else
			{
				patlen = strlen(p);
				if (patlen == 0 || patlen > FIND_MAX_PATTERN)
					return usage_error("find", "the pattern must be 1 to %d bytes", FIND_MAX_PATTERN);
				memcpy(pat, p, patlen);
			}
			have_pat = true;
		}
		else
			return usage_error("find", "unexpected argument '%s'", pos[i]);
	}
	if (!t.core && !t.pid)
		return usage_error("find", "no TARGET: give a core file or --pid PID");
	if (!have_pat)
		return usage_error("find", "no PATTERN given");
	if (!max_set)
		max = json_output ? FIND_DEFAULT_MAX_JSON : FIND_DEFAULT_MAX;

	im = target_open(&t);
	if (!im)
		return MCXT_EXIT_INPUT;
	f = finder_new(pat, patlen, (size_t) max);
	(void) scan_memory(im, scope, patlen - 1, finder_feed, f);
	image_release(im);
	addrs = finder_addrs(f, &naddrs);
	st = finder_strides(f, &nst);
	if (nstrides < nst)
		nst = (size_t) nstrides;

	if (json_output)
	{
		printf("{\"count\":%llu,\"regions\":%llu,\"addresses\":[",
			   (unsigned long long) finder_count(f), (unsigned long long) finder_regions(f));
		for (size_t i = 0; i < naddrs; i++)
			printf("%s%llu", i ? "," : "", (unsigned long long) addrs[i]);
		printf("],\"strides\":[");
		for (size_t i = 0; i < nst; i++)
			printf("%s{\"stride\":%llu,\"count\":%llu}", i ? "," : "",
				   (unsigned long long) st[i].stride, (unsigned long long) st[i].count);
		printf("]}\n");
	}
	else
	{
		printf("%llu matches of ", (unsigned long long) finder_count(f));
		find_print_pattern(pat, patlen);
		printf(" (%zu bytes) in %llu regions of %s memory\n", patlen,
			   (unsigned long long) finder_regions(f),
			   scope == SCAN_ALL ? "readable" : "writable anonymous");
		if (naddrs)
		{
			printf("addresses (first %zu):\n", naddrs);
			for (size_t i = 0; i < naddrs; i++)
				printf("  %#llx\n", (unsigned long long) addrs[i]);
		}
		if (nst)
		{
			printf("strides between consecutive matches:\n%12s  %s\n", "stride", "count");
			for (size_t i = 0; i < nst; i++)
				printf("%12llu  %llu\n", (unsigned long long) st[i].stride,
					   (unsigned long long) st[i].count);
		}
	}
	print_image_warnings(im);
	finder_free(f);
	image_close(im);
	return MCXT_EXIT_OK;
}
