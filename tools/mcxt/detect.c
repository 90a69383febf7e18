/*
 * detect.c
 *	  Choose the allocator layout of an image and walk it (see detect.h).
 *
 * PostgreSQL's header layout cannot be read off the image directly: a
 * build with MEMORY_CONTEXT_CHECKING (--enable-cassert) puts a
 * requested-size word in every chunk header, and nothing else says so.
 * Context and block headers are the same either way, so the tree is
 * walked once with the plain layout and then up to DETECT_SAMPLE AllocSet
 * blocks are read with both chunk headers (mcxt_walk_chunk_consistency);
 * under the wrong one the chunk chains miss the blocks' free pointers
 * almost at once.  The checking layout wins only when strictly more
 * blocks are consistent under it; then the tree is walked again with it
 * (a tree walk touches contexts and block headers only, so this is cheap).
 */
#define _GNU_SOURCE
#include "detect.h"

#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define DETECT_SAMPLE	256

bool
mcxt_parse_pg_version(const char *s, int *major, bool *greenplum)
{
	char	   *end;
	long		v;

	*greenplum = false;
	if (strncmp(s, "gp", 2) == 0)
	{
		s += 2;
		*greenplum = true;
	}
	else if (strncmp(s, "greenplum", 9) == 0)
	{
		s += 9;
		*greenplum = true;
	}
	if (!isdigit((unsigned char) *s))
		return false;
	v = strtol(s, &end, 10);
	if (*end != '\0')
		return false;
	if (*greenplum ? (v != 6 && v != 7) : (v < 10 || v > 18))
		return false;
	*major = (int) v;
	return true;
}

/* Parse one candidate "PostgreSQL N..." at p (len bytes to the string's end). */
static bool
detect_parse_version(const char *p, size_t len, int *major, bool *greenplum)
{
	const char *gp;
	size_t		k = strlen("PostgreSQL ");
	long		v = 0;

	if (len <= k || !isdigit((unsigned char) p[k]))
		return false;
	while (k < len && isdigit((unsigned char) p[k]) && v < 1000)
		v = v * 10 + (p[k++] - '0');
	if (k >= len || !(p[k] == '.' || isalpha((unsigned char) p[k])))
		return false;
	*major = (int) v;
	*greenplum = false;
	gp = memmem(p, len, "Greenplum Database ", strlen("Greenplum Database "));
	if (gp != NULL)
	{
		const char *q = gp + strlen("Greenplum Database ");

		v = 0;
		while (q < p + len && isdigit((unsigned char) *q) && v < 1000)
			v = v * 10 + (*q++ - '0');
		if (v > 0)
		{
			*major = (int) v;
			*greenplum = true;
		}
	}
	return true;
}

bool
mcxt_pg_version_from_bytes(const unsigned char *buf, size_t size, int *major, bool *greenplum,
						   char *str, size_t strsize)
{
	const char *b = (const char *) buf;
	const char *p = b;
	const char *best = NULL;
	size_t		best_len = 0;

	/* the full PG_VERSION_STR ("PostgreSQL 15.20 (...) on ..., compiled by ...") wins */
	while (size > 0 && (p = memmem(p, size - (size_t) (p - b), "PostgreSQL ", 11)) != NULL)
	{
		const char *nul = memchr(p, '\0', size - (size_t) (p - b));
		size_t		len = nul ? (size_t) (nul - p) : size - (size_t) (p - b);
		int			m;
		bool		g;

		if (detect_parse_version(p, len, &m, &g))
		{
			bool		full = memmem(p, len, "compiled by", 11) != NULL;

			if (best == NULL || full)
			{
				best = p;
				best_len = len;
				*major = m;
				*greenplum = g;
			}
			if (full)
				break;
		}
		p += 11;
	}
	if (best == NULL)
		return false;
	if (strsize > 0)
	{
		size_t		n = best_len < strsize - 1 ? best_len : strsize - 1;

		for (size_t i = 0; i < n; i++)
			str[i] = isprint((unsigned char) best[i]) ? best[i] : '?';
		str[n] = '\0';
	}
	return true;
}

/* The versions that have descriptors, for messages. */
static void
detect_known_versions(char *buf, size_t len)
{
	size_t		n = 0;

	buf[0] = '\0';
	for (int gp = 0; gp <= 1; gp++)
		for (int m = gp ? 6 : 10; m <= (gp ? 7 : 18); m++)
			if (mcxt_layout_pg_find(m, gp, false) != NULL && n < len)
				n += (size_t) snprintf(buf + n, len - n, "%s%s%d", n ? ", " : "", gp ? "gp" : "", m);
}

/*
 * NodeTags for a descriptor that does not know its version's (tags are
 * then relative to AllocSet), or a check of the ones it knows: the root
 * context is always an AllocSet.
 */
static const mcxt_layout *
detect_tags(image_t *im, const mcxt_layout *L, uint64_t top, mcxt_layout *copy)
{
	uint32_t	tag;
	int64_t		delta;

	if (top == 0 || image_read(im, top, &tag, sizeof(tag)) != sizeof(tag))
		return L;
	if (L->tags_verified)
	{
		if (tag == L->types[0].tag)
			return L;
		/* said once, for the plain layout; the tags are then taken from the root */
		if (!L->cassert)
			image_warn(im, "TopMemoryContext has NodeTag %u but %s's AllocSet is %llu: "
					   "is the version right (--pg-version)?",
					   tag, L->name, (unsigned long long) L->types[0].tag);
	}
	*copy = *L;
	delta = (int64_t) tag - (int64_t) L->types[0].tag;
	for (uint32_t i = 0; i < copy->ntypes; i++)
		copy->types[i].tag = (uint64_t) ((int64_t) copy->types[i].tag + delta);
	return copy;
}

static mcxt_walk *
detect_walk_with(const mcxt_layout *L, const mcxt_reader *reader, uint64_t root_var,
				 char *err, size_t errlen)
{
	mcxt_walk_opts wopts;
	mcxt_walk  *w;

	memset(&wopts, 0, sizeof(wopts));
	wopts.root_addr = root_var;
	w = mcxt_walk_new(L, reader, &wopts);
	if (w == NULL)
		snprintf(err, errlen, "out of memory while walking the context trees");
	return w;
}

mcxt_walk *
mcxt_detect_walk(image_t *im, const mcxt_reader *reader, const mcxt_alloc_opts *o,
				 mcxt_detected *d, char *err, size_t errlen)
{
	const char *exe_name;
	const char *where = NULL;
	const unsigned char *bytes;
	size_t		nbytes;
	uint64_t	addr;
	uint64_t	top = 0;
	char		why[512];
	int			exe_rc;
	const mcxt_layout *plain;
	const mcxt_layout *checked;
	mcxt_layout checked_copy;
	mcxt_walk  *w;
	bool		exports_top;

	memset(d, 0, sizeof(*d));
	why[0] = '\0';
	exe_name = image_exe_open_path(im);

	/* libmcxt first, unless PostgreSQL is forced */
	if (o->pg_major == 0 && image_symbol(im, "mcxt_registry", &addr, NULL))
		goto libmcxt;
	exports_top = image_symbol(im, "TopMemoryContext", &top, &where) &&
		where != NULL && exe_name != NULL && strcmp(where, exe_name) == 0;
	exe_rc = image_exe_check(im, why, sizeof(why));
	if (o->pg_major == 0 && !exports_top)
	{
		/* not PostgreSQL as far as the executable says; libmcxt by its magic */
		if (exe_rc > 0)
		{
			w = detect_walk_with(&mcxt_layout_libmcxt, reader, 0, err, errlen);
			if (w == NULL || w->nctx > 0)
			{
				d->layout = &mcxt_layout_libmcxt;
				return w;
			}
			mcxt_walk_free(w);
			snprintf(err, errlen, "the executable does not match the image: %s", why);
			return NULL;
		}
		goto libmcxt;
	}

	/* PostgreSQL or Greenplum */
	d->postgres = true;
	if (exe_rc > 0)
	{
		snprintf(err, errlen, "the executable does not match the image: %s", why);
		return NULL;
	}
	if (exe_rc < 0)
	{
		snprintf(err, errlen, "no usable executable: %s", why);
		return NULL;
	}
	if (!exports_top)
	{
		snprintf(err, errlen, "%s does not export TopMemoryContext: not a PostgreSQL server "
				 "executable (give the postgres binary with --exe)", exe_name ? exe_name : "the executable");
		return NULL;
	}
	d->root_var = top;
	if (image_exe_bytes(im, &bytes, &nbytes))
		(void) mcxt_pg_version_from_bytes(bytes, nbytes, &d->major, &d->greenplum,
										  d->version_string, sizeof(d->version_string));
	if (o->pg_major != 0)
	{
		d->major = o->pg_major;
		d->greenplum = o->pg_greenplum;
		d->version_forced = true;
	}
	else if (d->version_string[0] == '\0')
	{
		snprintf(err, errlen, "%s has no PostgreSQL version string; give --pg-version N",
				 exe_name);
		return NULL;
	}
	plain = mcxt_layout_pg_find(d->major, d->greenplum, false);
	checked = mcxt_layout_pg_find(d->major, d->greenplum, true);
	if (plain == NULL || checked == NULL)
	{
		char		known[200];

		detect_known_versions(known, sizeof(known));
		snprintf(err, errlen, "%s %d has no layout descriptor in this mcxt (known: %s)%s",
				 d->greenplum ? "Greenplum" : "PostgreSQL", d->major, known,
				 d->version_forced ? "" : "; --pg-version overrides the version string");
		return NULL;
	}
	{
		uint64_t	topctx = 0;

		if (image_read(im, top, &topctx, sizeof(topctx)) != sizeof(topctx))
			topctx = 0;
		plain = detect_tags(im, plain, topctx, &d->patched);
		checked = detect_tags(im, checked, topctx, &checked_copy);
	}

	if (o->pg_cassert_set)
	{
		d->cassert = o->pg_cassert != 0;
		d->cassert_how = d->cassert ? "--pg-cassert" : "--no-pg-cassert";
	}
	else
	{
		w = detect_walk_with(plain, reader, top, err, errlen);
		if (w == NULL)
			return NULL;
		d->blocks_plain = mcxt_walk_chunk_consistency(w, plain, DETECT_SAMPLE, &d->blocks_checked);
		d->blocks_cassert = mcxt_walk_chunk_consistency(w, checked, DETECT_SAMPLE, NULL);
		d->cassert = d->blocks_cassert > d->blocks_plain;
		d->cassert_how = d->blocks_checked > 0 ? "detected" : "assumed";
		if (!d->cassert && (w->partial || d->blocks_plain == 0))
		{
			/*
			 * Where the context header itself differs between the two
			 * (Greenplum 6 embeds its methods table, one pointer longer in
			 * checking builds), the plain walk may not reach a single
			 * block: then walk with the checking layout too and keep it if
			 * its own blocks are the consistent ones.
			 */
			mcxt_walk  *w2 = detect_walk_with(checked, reader, top, err, errlen);
			size_t		checked2 = 0;
			size_t		ok2;

			if (w2 == NULL)
			{
				mcxt_walk_free(w);
				return NULL;
			}
			ok2 = mcxt_walk_chunk_consistency(w2, checked, DETECT_SAMPLE, &checked2);
			if (ok2 > d->blocks_plain && !w2->partial)
			{
				d->cassert = true;
				d->cassert_how = "detected";
				d->blocks_cassert = ok2;
				d->blocks_checked = checked2;
			}
			mcxt_walk_free(w2);
		}
		if (!d->cassert)
		{
			d->layout = plain;
			return w;
		}
		mcxt_walk_free(w);
	}
	if (d->cassert)
	{
		/* the copy made for the checked layout must live as long as the walk */
		if (checked == &checked_copy)
		{
			d->patched = checked_copy;
			checked = &d->patched;
		}
		d->layout = checked;
	}
	else
		d->layout = plain;
	w = detect_walk_with(d->layout, reader, top, err, errlen);
	if (w != NULL && o->pg_cassert_set)
	{
		/* forced: say so when the image reads better the other way */
		const mcxt_layout *other = d->cassert ? plain : checked;
		size_t		n = 0;
		size_t		mine = mcxt_walk_chunk_consistency(w, d->layout, DETECT_SAMPLE, &n);
		size_t		theirs = mcxt_walk_chunk_consistency(w, other, DETECT_SAMPLE, NULL);

		if (theirs > mine)
			mcxt_walk_warn(w, "%s: of %zu AllocSet blocks, %zu read consistently with the %s chunk header, "
						   "%zu with the %s one: the image looks %s",
						   d->cassert_how, n, mine, d->cassert ? "checking" : "plain", theirs,
						   d->cassert ? "plain" : "checking",
						   d->cassert ? "built without assertions" : "built with --enable-cassert");
	}
	return w;

libmcxt:
	d->layout = &mcxt_layout_libmcxt;
	return detect_walk_with(&mcxt_layout_libmcxt, reader, 0, err, errlen);
}
