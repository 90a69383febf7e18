/*
 * strings.c
 *	  String helpers that allocate in a context: strdup, strndup and the
 *	  psprintf family.
 *
 * mcxt_sprintf follows PostgreSQL's psprintf: guess a 128-byte buffer,
 * format, and if the result did not fit, allocate exactly what vsnprintf
 * said it needs and format again.  (This is why the leak in our story was
 * made of 128-byte chunks: every short path string psprintf builds costs a
 * full 128-byte chunk.)
 */
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "mcxt_int.h"

char *
mcxt_strdup(mcxt_context_t *ctx, const char *s)
{
	size_t		len = strlen(s) + 1;
	char	   *p = mcxt_alloc(ctx, len);

	memcpy(p, s, len);
	return p;
}

char *
mcxt_strndup(mcxt_context_t *ctx, const char *s, size_t n)
{
	size_t		len = strnlen(s, n);
	char	   *p = mcxt_alloc(ctx, len + 1);

	memcpy(p, s, len);
	p[len] = '\0';
	return p;
}

size_t
mcxt_vsnprintf(char *buf, size_t len, const char *fmt, va_list args)
{
	int			n = vsnprintf(buf, len, fmt, args);

	if (n < 0)
		mcxti_error(MCXT_ERR_MISUSE, NULL, "vsnprintf failed for format \"%s\"", fmt);
	if ((size_t) n < len)
		return (size_t) n;
	/* did not fit: say how big a buffer it needs, NUL included */
	if ((size_t) n >= MCXT_MAX_ALLOC_SIZE)
		mcxti_error(MCXT_ERR_INVALID_SIZE, NULL, "formatted string too long (%d bytes)", n);
	return (size_t) n + 1;
}

char *
mcxt_vsprintf(mcxt_context_t *ctx, const char *fmt, va_list args)
{
	size_t		len = 128;		/* PostgreSQL's initial guess */

	for (;;)
	{
		char	   *buf = mcxt_alloc(ctx, len);
		va_list		copy;
		size_t		need;

		va_copy(copy, args);
		need = mcxt_vsnprintf(buf, len, fmt, copy);
		va_end(copy);
		if (need < len)
			return buf;
		mcxt_free(buf);
		len = need;
	}
}

char *
mcxt_sprintf(mcxt_context_t *ctx, const char *fmt, ...)
{
	va_list		args;
	char	   *result;

	va_start(args, fmt);
	result = mcxt_vsprintf(ctx, fmt, args);
	va_end(args);
	return result;
}
