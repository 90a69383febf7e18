/*
 * output.c
 *	  Errors as text or JSON, warnings, JSON string escaping.
 */
#include "output.h"

#include <stdarg.h>
#include <string.h>

bool		json_output;

void
json_str(FILE *f, const char *s, size_t len)
{
	putc('"', f);
	for (size_t i = 0; i < len; i++)
	{
		unsigned char c = (unsigned char) s[i];

		if (c == '"' || c == '\\')
		{
			putc('\\', f);
			putc(c, f);
		}
		else if (c == '\n')
			fputs("\\n", f);
		else if (c == '\t')
			fputs("\\t", f);
		else if (c < 0x20 || c >= 0x7f)
			fprintf(f, "\\u%04x", c);	/* bytes, not characters: keeps the JSON valid */
		else
			putc(c, f);
	}
	putc('"', f);
}

void
p_err(const char *fmt,...)
{
	char		buf[2048];
	va_list		ap;

	va_start(ap, fmt);
	vsnprintf(buf, sizeof(buf), fmt, ap);
	va_end(ap);
	if (json_output)
	{
		fputs("{\"error\":", stdout);
		json_str(stdout, buf, strlen(buf));
		fputs("}\n", stdout);
	}
	else
		fprintf(stderr, "mcxt: %s\n", buf);
}

void
p_warn(const char *fmt,...)
{
	va_list		ap;

	fputs("mcxt: warning: ", stderr);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
}

void
print_image_warnings(const image_t *im)
{
	for (size_t i = 0; i < image_nwarnings(im); i++)
		p_warn("%s", image_warning(im, i));
}
