/*
 * cmd_walk.c
 *	  The commands that walk the memory-context trees of an image:
 *	    mcxt contexts TARGET     the trees, in MemoryContextStats' format
 *	    mcxt leaks TARGET        ranked leak suspects
 *	    mcxt chunk TARGET ADDR   the context, block and chunk holding ADDR
 *	    mcxt diff A B            what grew between two images
 *
 * Each opens its image(s), adapts the image to the walker's reader (the
 * walker reads nothing else), walks with libmcxt's layout from the
 * registry the walker finds by symbol or by its magic, and hands the walk
 * to the analyses and reports.  Problems in the image become warnings on
 * stderr (or inside the JSON); an image with no context tree at all is an
 * input error (exit 1).
 */
#define _GNU_SOURCE
#include "main.h"

#include <stdio.h>
#include <string.h>

#include "analyze.h"
#include "image_reader.h"
#include "layout.h"
#include "report.h"
#include "sitemap.h"
#include "walk.h"

typedef struct walked
{
	image_t    *im;
	mcxt_reader reader;
	mcxt_walk  *w;
	mcxt_detected det;			/* which allocator and layout (the walk points into it) */
} walked;

/*
 * Open a target and walk it with the layout detect.c chooses.  Returns
 * false after printing why (the exit code is then MCXT_EXIT_INPUT).  The
 * walked struct must stay where it is while the walk lives.
 */
static bool
walk_target(target_args *t, walked *out)
{
	char		err[1024];

	memset(out, 0, sizeof(*out));
	out->im = target_open(t);
	if (out->im == NULL)
		return false;
	image_reader_init(&out->reader, out->im);
	out->w = mcxt_detect_walk(out->im, &out->reader, &t->alloc, &out->det, err, sizeof(err));
	/* the process may run again: everything needed is in the walk */
	if (out->w == NULL)
	{
		print_image_warnings(out->im);
		p_err("%s: %s", image_target(out->im), err);
		image_close(out->im);
		return false;
	}
	if (out->w->nctx == 0)
	{
		mcxt_report_warnings_text(stderr, out->w);
		print_image_warnings(out->im);
		if (out->det.postgres)
			p_err("%s: no PostgreSQL context tree found (TopMemoryContext at 0x%llx is NULL "
				  "or its context is unreadable)", image_target(out->im),
				  (unsigned long long) out->det.root_var);
		else
			p_err("%s: no libmcxt context tree found (no registry by symbol or magic, "
				  "or its roots are unreadable), and the executable does not export "
				  "PostgreSQL's TopMemoryContext", image_target(out->im));
		mcxt_walk_free(out->w);
		image_close(out->im);
		return false;
	}
	/* a libmcxt image's registry says how its chunk headers read */
	mcxt_flavour_apply(out->w);
	return true;
}

static void
walked_close(walked *wk)
{
	if (!json_output)
		mcxt_report_warnings_text(stderr, wk->w);
	print_image_warnings(wk->im);
	mcxt_walk_free(wk->w);
	image_close(wk->im);
}

/* Options shared by the walking commands; returns 1 if consumed, -1 on error. */
static int
walk_option(const char *cmd, mcxt_report_opts *ro, int argc, char **argv, int *i)
{
	const char *v;
	bool		err = false;
	uint64_t	n;

	if ((v = option_value("--top", argc, argv, i, &err)) || err)
	{
		if (err || !parse_u64(v, &n))
			return usage_error(cmd, "--top needs a number"), -1;
		ro->top = (size_t) n;
		return 1;
	}
	if ((v = option_value("--max-level", argc, argv, i, &err)) || err)
	{
		if (err || !parse_u64(v, &n) || n == 0 || n > 100000)
			return usage_error(cmd, "--max-level needs a number from 1"), -1;
		ro->max_level = (int) n;
		return 1;
	}
	if ((v = option_value("--max-children", argc, argv, i, &err)) || err)
	{
		if (err || !parse_u64(v, &n) || n == 0 || n > 1000000)
			return usage_error(cmd, "--max-children needs a number from 1"), -1;
		ro->max_children = (int) n;
		return 1;
	}
	if (strcmp(argv[*i], "--pg-format") == 0)
	{
		ro->pg_format = true;
		return 1;
	}
	if (strcmp(argv[*i], "--pg-log-format") == 0)
	{
		ro->pg_log_format = true;
		ro->pg_format = true;
		return 1;
	}
	return 0;
}

/* ---- contexts ------------------------------------------------------------ */

void
help_contexts(void)
{
	printf("Usage: mcxt contexts TARGET [--pg-format | --pg-log-format] [--max-level N]\n"
		   "                     [--max-children N] [--json]\n"
		   "\n"
		   "Every memory-context tree of the image (one per thread of a libmcxt program;\n"
		   "TopMemoryContext's of a PostgreSQL or Greenplum process), one line per\n"
		   "context in PostgreSQL's MemoryContextStats format:\n"
		   "  NAME: T total in B blocks; F free (C chunks); U used[: IDENT]\n"
		   "indented two spaces per level, followed by the accounting fields (libmcxt:\n"
		   "current, cumulative allocated and freed, peak; PostgreSQL 13+: mem_allocated),\n"
		   "and a grand total.  PostgreSQL's rules apply to its processes: a dynahash\n"
		   "context is shown by its ident, Generation contexts add \"(N chunks)\".\n"
		   "\n"
		   "  --pg-format       PostgreSQL's lines only, without the accounting fields\n"
		   "  --pg-log-format   exactly the text pg_log_backend_memory_contexts() logs (each\n"
		   "                    line as after \"LOG:  \"): \"level: N; NAME: ...\", at most 100\n"
		   "                    children per parent, then the \"Grand total\" line\n"
		   "  --max-level N     levels shown (default 100); deeper contexts are summed\n"
		   "  --max-children N  children shown per parent (default 100); the rest are summed\n"
		   "JSON: {\"allocator\": \"libmcxt\"|\"postgresql\"|\"greenplum\", \"version\": N,\n"
		   "       \"cassert\": BOOL, \"contexts\": [{name, ident, type, level, parent, path,\n"
		   "       total_bytes, total_nblocks, free_bytes, free_chunks, used_bytes, ...}], ...}\n"
		   "\n%s", TARGET_USAGE);
}

int
do_contexts(int argc, char **argv)
{
	target_args t = {0};
	mcxt_report_opts ro = {0};
	walked		wk;

	for (int i = 0; i < argc; i++)
	{
		int			r = target_option(&t, argc, argv, &i);

		if (r == 0)
			r = walk_option("contexts", &ro, argc, argv, &i);
		if (r < 0)
			return MCXT_EXIT_USAGE;
		if (r > 0)
			continue;
		if (argv[i][0] == '-' && argv[i][1] != '\0')
			return usage_error("contexts", "unknown option '%s'", argv[i]);
		if (!target_positional(&t, argv[i]))
			return usage_error("contexts", "unexpected argument '%s'", argv[i]);
	}
	if (t.help)
	{
		help_contexts();
		return MCXT_EXIT_OK;
	}
	if (!t.core && !t.pid)
		return usage_error("contexts", "no TARGET: give a core file or --pid PID");
	if (!walk_target(&t, &wk))
		return MCXT_EXIT_INPUT;
	image_release(wk.im);
	if (json_output)
		mcxt_report_contexts_json(stdout, wk.w);
	else
		mcxt_report_contexts_text(stdout, wk.w, &ro);
	walked_close(&wk);
	return MCXT_EXIT_OK;
}

/* ---- leaks --------------------------------------------------------------- */

void
help_leaks(void)
{
	printf("Usage: mcxt leaks TARGET [--top N] [--no-ref-scan] [--by-site] [--json]\n"
		   "\n"
		   "Ranked leak suspects: live chunks grouped by context, chunk size and content\n"
		   "family (digits become %%u, hex %%x, pointers into the image %%p, so base/16392\n"
		   "and base/16393 are one family base/%%u), largest total first.  For each: the\n"
		   "context path, chunk size, count, bytes, share of the context, a sample, the\n"
		   "dominant stride between neighbouring members, the blocks they span, and how\n"
		   "many no word of writable memory points to (unreferenced: leaked for certain\n"
		   "in a long-lived context).  In an image of a program built with MCXT_SITES,\n"
		   "each suspect also names the allocation sites (file:line (function)) of its\n"
		   "members.\n"
		   "\n"
		   "  --top N          suspects shown (default 20)\n"
		   "  --no-ref-scan    skip the reference scan over writable memory\n"
		   "  --by-site        MCXT_SITES images: live chunks grouped by context and\n"
		   "                   allocation site instead, largest first\n"
		   "JSON: {\"suspects\": [{context, context_path, chunk_size, count, total_bytes,\n"
		   "       share, family, sample, stride, unreferenced, ..., sites}], ...};\n"
		   "      --by-site: {\"by_site\": [{context, context_path, site_id, file, line,\n"
		   "       func, count, total_bytes, requested_bytes}], ...}\n"
		   "\n%s", TARGET_USAGE);
}

/* mcxt leaks --by-site: an image without sites is an input error, said plainly. */
static int
leaks_by_site(walked *wk, mcxt_sitemap *sm, const mcxt_report_opts *ro)
{
	int			rc = MCXT_EXIT_OK;

	if (!sm->present)
	{
		p_err("%s: no allocation sites in this image (the program was not built with "
			  "MCXT_SITES%s)", image_target(wk->im),
			  sm->flavour == 0 && wk->w->layout->root_kind != MCXT_ROOT_REGISTRY
			  ? "; sites are a libmcxt feature" : "");
		rc = MCXT_EXIT_INPUT;
	}
	else if (!mcxt_sitemap_by_site(sm, wk->w))
	{
		p_err("%s: out of memory while grouping chunks by site", image_target(wk->im));
		rc = MCXT_EXIT_INPUT;
	}
	image_release(wk->im);
	if (rc == MCXT_EXIT_OK)
	{
		if (json_output)
			mcxt_report_sites_json(stdout, wk->w, sm, ro->top);
		else
			mcxt_report_sites_text(stdout, wk->w, sm, ro->top ? ro->top : 20);
	}
	mcxt_sitemap_close(sm);
	walked_close(wk);
	return rc;
}

int
do_leaks(int argc, char **argv)
{
	target_args t = {0};
	mcxt_report_opts ro = {0};
	mcxt_suspects_opts so = {0};
	mcxt_suspects *s;
	mcxt_sitemap sm;
	bool		by_site = false;
	walked		wk;

	for (int i = 0; i < argc; i++)
	{
		int			r = target_option(&t, argc, argv, &i);

		if (r == 0)
			r = walk_option("leaks", &ro, argc, argv, &i);
		if (r < 0)
			return MCXT_EXIT_USAGE;
		if (r > 0)
			continue;
		if (strcmp(argv[i], "--no-ref-scan") == 0)
			so.no_ref_scan = true;
		else if (strcmp(argv[i], "--by-site") == 0)
			by_site = true;
		else if (argv[i][0] == '-' && argv[i][1] != '\0')
			return usage_error("leaks", "unknown option '%s'", argv[i]);
		else if (!target_positional(&t, argv[i]))
			return usage_error("leaks", "unexpected argument '%s'", argv[i]);
	}
	if (t.help)
	{
		help_leaks();
		return MCXT_EXIT_OK;
	}
	if (!t.core && !t.pid)
		return usage_error("leaks", "no TARGET: give a core file or --pid PID");
	if (!walk_target(&t, &wk))
		return MCXT_EXIT_INPUT;
	(void) mcxt_sitemap_open(wk.w, &sm);
	if (by_site)
		return leaks_by_site(&wk, &sm, &ro);
	if (ro.top)
		so.scan_top = ro.top > 20 ? ro.top : 0;
	s = mcxt_suspects_find(wk.w, &so);
	/* the sites of the suspects shown, read before a live process runs again */
	if (s != NULL && !mcxt_sitemap_suspects(&sm, wk.w, s, ro.top ? ro.top : 20))
		mcxt_walk_warn(wk.w, "out of memory while reading allocation sites; some are not shown");
	image_release(wk.im);
	if (s == NULL)
	{
		p_err("%s: out of memory while grouping chunks", image_target(wk.im));
		walked_close(&wk);
		return MCXT_EXIT_INPUT;
	}
	if (json_output)
		mcxt_report_suspects_json(stdout, wk.w, s, &ro);
	else
		mcxt_report_suspects_text(stdout, wk.w, s, &ro);
	mcxt_suspects_free(s);
	mcxt_sitemap_close(&sm);
	walked_close(&wk);
	return MCXT_EXIT_OK;
}

/* ---- chunk ---------------------------------------------------------------- */

void
help_chunk(void)
{
	printf("Usage: mcxt chunk TARGET ADDR [--dump N] [--json]\n"
		   "\n"
		   "Decode the memory at ADDR (hex 0x... or decimal): the context that owns it\n"
		   "(name, path, accounting), the block, the chunk it falls in (start, size,\n"
		   "free or allocated, the requested size when the header records it), its\n"
		   "allocation site (file:line (function)) when the program was built with\n"
		   "MCXT_SITES, its neighbours, and a hex and text dump of the chunk.\n"
		   "\n"
		   "  --dump N     bytes of the chunk to dump (default 128)\n"
		   "\n%s", TARGET_USAGE);
}

int
do_chunk(int argc, char **argv)
{
	target_args t = {0};
	uint64_t	addr = 0;
	uint64_t	dump = 128;
	bool		have_addr = false;
	mcxt_decoded d;
	mcxt_sitemap sm;
	walked		wk;

	for (int i = 0; i < argc; i++)
	{
		int			r = target_option(&t, argc, argv, &i);
		const char *v;
		bool		err = false;

		if (r < 0)
			return MCXT_EXIT_USAGE;
		if (r > 0)
			continue;
		if ((v = option_value("--dump", argc, argv, &i, &err)) || err)
		{
			if (err || !parse_u64(v, &dump) || dump > (1u << 20))
				return usage_error("chunk", "--dump needs a number of bytes (at most 1 MB)");
		}
		else if (argv[i][0] == '-' && argv[i][1] != '\0')
			return usage_error("chunk", "unknown option '%s'", argv[i]);
		else if (t.core == NULL && !t.pid && target_positional(&t, argv[i]))
			continue;
		else if (!have_addr)
		{
			if (!parse_u64(argv[i], &addr))
				return usage_error("chunk", "'%s' is not an address", argv[i]);
			have_addr = true;
		}
		else
			return usage_error("chunk", "unexpected argument '%s'", argv[i]);
	}
	if (t.help)
	{
		help_chunk();
		return MCXT_EXIT_OK;
	}
	if (!t.core && !t.pid)
		return usage_error("chunk", "no TARGET: give a core file or --pid PID");
	if (!have_addr)
		return usage_error("chunk", "no ADDR to decode");
	if (!walk_target(&t, &wk))
		return MCXT_EXIT_INPUT;
	(void) mcxt_decode_addr(wk.w, addr, &d);
	if (mcxt_sitemap_open(wk.w, &sm) && d.has_chunk && !d.chunk.free)
		d.site = mcxt_sitemap_chunk(&sm, wk.w, &d.chunk);
	if (json_output)
		mcxt_report_decoded_json(stdout, wk.w, &d, (size_t) dump);
	else
		mcxt_report_decoded_text(stdout, wk.w, &d, (size_t) dump);
	image_release(wk.im);
	mcxt_sitemap_close(&sm);
	walked_close(&wk);
	/* an address in no context is an answer, not an error */
	return MCXT_EXIT_OK;
}

/* ---- diff ----------------------------------------------------------------- */

void
help_diff(void)
{
	printf("Usage: mcxt diff A B [--top N] [--json]\n"
		   "\n"
		   "Growth between two images of the same program (cores taken hours or days\n"
		   "apart, or a core and --pid): the contexts whose totals changed, matched by\n"
		   "context path, and the suspect families whose counts changed, largest growth\n"
		   "first.  A and B are core files; at most one of them may be --pid PID.\n"
		   "\n"
		   "  --top N     rows shown per table (default 20)\n"
		   "\n%s", TARGET_USAGE);
}

int
do_diff(int argc, char **argv)
{
	target_args ta = {0};
	target_args tb = {0};
	mcxt_report_opts ro = {0};
	mcxt_suspects_opts so = {.no_ref_scan = true};
	walked		wa;
	walked		wb;
	mcxt_suspects *sa;
	mcxt_suspects *sb;
	mcxt_diff  *df;
	int			rc = MCXT_EXIT_OK;

	for (int i = 0; i < argc; i++)
	{
		int			r;

		/* --pid and the shared options go to whichever target is still open */
		r = target_option(ta.core || ta.pid ? &tb : &ta, argc, argv, &i);
		if (r == 0)
			r = walk_option("diff", &ro, argc, argv, &i);
		if (r < 0)
			return MCXT_EXIT_USAGE;
		if (r > 0)
			continue;
		if (argv[i][0] == '-' && argv[i][1] != '\0')
			return usage_error("diff", "unknown option '%s'", argv[i]);
		if (!target_positional(&ta, argv[i]) && !target_positional(&tb, argv[i]))
			return usage_error("diff", "unexpected argument '%s'", argv[i]);
	}
	if (ta.help || tb.help)
	{
		help_diff();
		return MCXT_EXIT_OK;
	}
	if ((!ta.core && !ta.pid) || (!tb.core && !tb.pid))
		return usage_error("diff", "two images needed: mcxt diff A B");
	/* target options apply to both images, wherever they were given */
	if (ta.opts.exe == NULL)
		ta.opts.exe = tb.opts.exe;
	ta.opts.hold |= tb.opts.hold;
	ta.opts.no_freeze |= tb.opts.no_freeze;
	tb.opts = ta.opts;
	/* --pg-version and --pg-cassert anywhere apply to both images */
	if (tb.alloc.pg_major == 0)
	{
		tb.alloc.pg_major = ta.alloc.pg_major;
		tb.alloc.pg_greenplum = ta.alloc.pg_greenplum;
	}
	if (ta.alloc.pg_major == 0)
	{
		ta.alloc.pg_major = tb.alloc.pg_major;
		ta.alloc.pg_greenplum = tb.alloc.pg_greenplum;
	}
	if (!tb.alloc.pg_cassert_set)
	{
		tb.alloc.pg_cassert_set = ta.alloc.pg_cassert_set;
		tb.alloc.pg_cassert = ta.alloc.pg_cassert;
	}
	if (!ta.alloc.pg_cassert_set)
	{
		ta.alloc.pg_cassert_set = tb.alloc.pg_cassert_set;
		ta.alloc.pg_cassert = tb.alloc.pg_cassert;
	}
	if (!walk_target(&ta, &wa))
		return MCXT_EXIT_INPUT;
	image_release(wa.im);
	if (!walk_target(&tb, &wb))
	{
		walked_close(&wa);
		return MCXT_EXIT_INPUT;
	}
	image_release(wb.im);
	sa = mcxt_suspects_find(wa.w, &so);
	sb = mcxt_suspects_find(wb.w, &so);
	df = (sa && sb) ? mcxt_diff_compute(wa.w, sa, wb.w, sb) : NULL;
	if (df == NULL)
	{
		p_err("out of memory while comparing the images");
		rc = MCXT_EXIT_INPUT;
	}
	else if (json_output)
		mcxt_report_diff_json(stdout, df);
	else
		mcxt_report_diff_text(stdout, df, &ro);
	mcxt_diff_free(df);
	mcxt_suspects_free(sa);
	mcxt_suspects_free(sb);
	walked_close(&wa);
	walked_close(&wb);
	return rc;
}
