/*
 * json_check.c
 *	  Validate that a file (or stdin) holds exactly one JSON value (RFC 8259
 *	  syntax), so the CLI tests check that --json output parses, not just
 *	  that it contains the right substrings.
 *
 * Usage: json_check [FILE]   exit 0 valid, 1 invalid (with the offset), 2 usage.
 */
#include <ctype.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define MAX_DEPTH 64

static const char *s;
static size_t pos,
			len;

static bool value(int depth);

static void
ws(void)
{
	while (pos < len && (s[pos] == ' ' || s[pos] == '\t' || s[pos] == '\n' || s[pos] == '\r'))
		pos++;
}

static bool
lit(const char *w)
{
	size_t		n = strlen(w);

	if (len - pos < n || memcmp(s + pos, w, n) != 0)
		return false;
	pos += n;
	return true;
}

static bool
string(void)
{
	if (pos >= len || s[pos] != '"')
		return false;
	pos++;
	while (pos < len && s[pos] != '"')
	{
		unsigned char c = (unsigned char) s[pos];

		if (c < 0x20)
			return false;
		if (c == '\\')
		{
			pos++;
			if (pos >= len)
				return false;
			if (s[pos] == 'u')
			{
				for (int i = 1; i <= 4; i++)
					if (pos + i >= len || !isxdigit((unsigned char) s[pos + i]))
						return false;
				pos += 4;
			}
			else if (!strchr("\"\\/bfnrt", s[pos]))
				return false;
		}
		pos++;
	}
	if (pos >= len)
		return false;
	pos++;
	return true;
}

static bool
number(void)
{
	size_t		start = pos;

	if (pos < len && s[pos] == '-')
		pos++;
	if (pos < len && s[pos] == '0')
		pos++;
	else if (pos < len && s[pos] >= '1' && s[pos] <= '9')
		while (pos < len && isdigit((unsigned char) s[pos]))
			pos++;
	else
		return false;
	if (pos < len && s[pos] == '.')
	{
		pos++;
		if (pos >= len || !isdigit((unsigned char) s[pos]))
			return false;
		while (pos < len && isdigit((unsigned char) s[pos]))
			pos++;
	}
	if (pos < len && (s[pos] == 'e' || s[pos] == 'E'))
	{
		pos++;
		if (pos < len && (s[pos] == '+' || s[pos] == '-'))
			pos++;
		if (pos >= len || !isdigit((unsigned char) s[pos]))
			return false;
		while (pos < len && isdigit((unsigned char) s[pos]))
			pos++;
	}
	return pos > start;
}

static bool
container(int depth, char close)
{
	bool		first = true;

	pos++;
	ws();
	if (pos < len && s[pos] == close)
	{
		pos++;
		return true;
	}
	for (;;)
	{
		if (!first)
		{
			ws();
			if (pos < len && s[pos] == close)
			{
				pos++;
				return true;
			}
			if (pos >= len || s[pos] != ',')
				return false;
			pos++;
		}
		first = false;
		ws();
		if (close == '}')
		{
			if (!string())
				return false;
			ws();
			if (pos >= len || s[pos] != ':')
				return false;
			pos++;
		}
		if (!value(depth + 1))
			return false;
	}
}

static bool
value(int depth)
{
	if (depth > MAX_DEPTH)
		return false;
	ws();
	if (pos >= len)
		return false;
	switch (s[pos])
	{
		case '{':
			return container(depth, '}');
		case '[':
			return container(depth, ']');
		case '"':
			return string();
		case 't':
			return lit("true");
		case 'f':
			return lit("false");
		case 'n':
			return lit("null");
		default:
			return number();
	}
}

int
main(int argc, char **argv)
{
	FILE	   *f = argc > 1 ? fopen(argv[1], "rb") : stdin;
	char	   *b = NULL;
	size_t		cap = 0,
				n;

	if (argc > 2 || !f)
	{
		fprintf(stderr, "usage: json_check [FILE]\n");
		return 2;
	}
	for (;;)
	{
		b = realloc(b, cap + 65536);
		if (!b)
			return 2;
		n = fread(b + cap, 1, 65536, f);
		cap += n;
		if (n < 65536)
			break;
	}
	s = b;
	len = cap;
	if (!value(0))
	{
		fprintf(stderr, "json_check: invalid JSON at byte %zu\n", pos);
		return 1;
	}
	ws();
	if (pos != len)
	{
		fprintf(stderr, "json_check: trailing bytes at %zu\n", pos);
		return 1;
	}
	free(b);
	return 0;
}
