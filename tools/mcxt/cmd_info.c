/*
 * cmd_info.c
 *	  `mcxt info TARGET`: what the image is (executable, process, threads,
 *	  mappings), what it lacks (segments gcore left out, truncated segments,
 *	  memory coredump_filter excluded), whether analysis will be partial, and
 *	  where libmcxt's registry is.
 *
 * Everything is gathered first (summary, registry), then printed as text or
 * as one JSON object; warnings always also go to stderr.
 */
#define _GNU_SOURCE
#include "main.h"

#include <elf.h>
#include <stdio.h>
#include <string.h>

#include "../../src/chunk.h"
#include "image_reader.h"
#include "registry.h"
#include "walk.h"

void
help_info(void)
{
	printf("Usage: mcxt info TARGET [--json]\n"
		   "\n"
		   "Describes the image: the core file and who wrote it (kernel or gdb's gcore),\n"
		   "the process and its executable (with the load bias), threads with their\n"
		   "instruction and stack pointers, every mapping with where its bytes come from\n"
		   "(image: in the core; partial: a prefix is; file: read from the mapped file on\n"
		   "disk; missing: nowhere), what is missing and why (coredump_filter, truncated\n"
		   "file), and libmcxt's registry (found by the symbol mcxt_registry or by its\n"
		   "magic) with each thread's top context.  Without a registry, a PostgreSQL or\n"
		   "Greenplum server (its executable exports TopMemoryContext): the version (from\n"
		   "the executable's version string, or --pg-version), whether the chunk headers\n"
		   "are a MEMORY_CONTEXT_CHECKING build's (and how many blocks said so), and how\n"
		   "many contexts the tree has.\n"
		   "\n%s", TARGET_USAGE);
}

typedef struct info_summary
{
	uint64_t	total;
	uint64_t	in_image;
	size_t		file_regions;
	uint64_t	file_bytes;
	size_t		missing_regions;
	uint64_t	missing_bytes;
	size_t		anon_missing_regions;	/* writable anonymous memory not dumped */
	uint64_t	anon_missing_bytes;
	size_t		truncated_regions;
	uint64_t	truncated_bytes;
	size_t		stale_regions;	/* writable file mappings read from disk */
	size_t		bad_file_regions;
	bool		partial;
} info_summary;

static const char *
source_name(image_source s)
{
	switch (s)
	{
		case IMG_SRC_IMAGE:
			return "image";
		case IMG_SRC_PARTIAL:
			return "partial";
		case IMG_SRC_FILE:
			return "file";
		case IMG_SRC_MISSING:
			return "missing";
	}
	return "?";
}

static void
perm_string(const image_region *r, char out[5])
{
	out[0] = (r->prot & IMG_PROT_R) ? 'r' : '-';
	out[1] = (r->prot & IMG_PROT_W) ? 'w' : '-';
	out[2] = (r->prot & IMG_PROT_X) ? 'x' : '-';
	out[3] = (r->flags & IMG_REG_SHARED) ? 's' : 'p';
	out[4] = '\0';
}

static void
info_summarize(image_t *im, info_summary *s)
{
	memset(s, 0, sizeof(*s));
	for (size_t i = 0; i < image_nregions(im); i++)
	{
		const image_region *r = image_region_get(im, i);
		uint64_t	len = r->end - r->start;
		uint64_t	absent = len - (r->present < len ? r->present : len);

		s->total += len;
		s->in_image += len - absent;
		if (r->flags & IMG_REG_TRUNCATED)
		{
			s->truncated_regions++;
			s->truncated_bytes += r->expected - r->present;
		}
		if (absent == 0 || (r->flags & IMG_REG_SPECIAL) || !(r->prot & IMG_PROT_R))
			continue;			/* guard pages hold nothing to miss */
		if (r->path && !(r->flags & IMG_REG_FILE_BAD))
		{
			s->file_regions++;
			s->file_bytes += absent;
			if ((r->prot & IMG_PROT_W) && !image_region_is_anon_writable(r))
				s->stale_regions++;
		}
		else
		{
			s->missing_regions++;
			s->missing_bytes += absent;
			if (r->path)
				s->bad_file_regions++;
			if (image_region_is_anon_writable(r))
			{
				s->anon_missing_regions++;
				s->anon_missing_bytes += absent;
			}
		}
	}
	s->partial = s->truncated_regions > 0 || s->anon_missing_regions > 0 ||
		s->bad_file_regions > 0;
}

static const char *
human(uint64_t n, char *buf, size_t len)
{
	const char *u[] = {"B", "KB", "MB", "GB", "TB"};
	double		v = (double) n;
	int			k = 0;

	while (v >= 1024 && k < 4)
	{
		v /= 1024;
		k++;
	}
	if (k == 0)
		snprintf(buf, len, "%llu B", (unsigned long long) n);
	else
		snprintf(buf, len, "%.1f %s", v, u[k]);
	return buf;
}

static const char *
producer_name(image_producer p)
{
	return p == IMG_BY_GDB ? "gdb gcore" : p == IMG_BY_KERNEL ? "the kernel" : "unknown";
}

/* What a core taken from this process now would hold (live only). */
static void
info_print_filter(unsigned f)
{
	printf("coredump_filter %#x: a core would include%s%s%s%s%s; ", f,
		   (f & 1) ? " anonymous-private" : "", (f & 2) ? " anonymous-shared" : "",
		   (f & 4) ? " file-private" : "", (f & 8) ? " file-shared" : "",
		   (f & 16) ? " ELF-headers" : "");
	if (!(f & 1))
		printf("it would MISS the heap: echo 0x33 > /proc/PID/coredump_filter before gcore\n");
	else
		printf("the heap would be in it\n");
}

/* PostgreSQL / Greenplum: what detect.c found (only without a libmcxt registry). */
typedef struct info_pg
{
	bool		tried;
	bool		ok;				/* a PostgreSQL tree was walked */
	mcxt_detected det;
	char		err[1024];
	size_t		nctx;
	bool		partial;
} info_pg;

static void
info_pg_detect(image_t *im, const target_args *t, info_pg *pg)
{
	mcxt_reader rd;
	mcxt_walk  *w;

	memset(pg, 0, sizeof(*pg));
	pg->tried = true;
	image_reader_init(&rd, im);
	w = mcxt_detect_walk(im, &rd, &t->alloc, &pg->det, pg->err, sizeof(pg->err));
	if (w != NULL)
	{
		pg->ok = pg->det.postgres && w->nctx > 0;
		pg->nctx = w->nctx;
		pg->partial = w->partial;
		if (pg->det.postgres && w->nctx == 0)
			snprintf(pg->err, sizeof(pg->err), "TopMemoryContext at %#llx is NULL or unreadable",
					 (unsigned long long) pg->det.root_var);
		mcxt_walk_free(w);
	}
}

static void
info_pg_text(const info_pg *pg)
{
	const mcxt_detected *d = &pg->det;

	if (!pg->tried || (!d->postgres && pg->err[0] == '\0'))
		return;
	if (!d->postgres)
	{
		printf("postgresql:  %s\n", pg->err);
		return;
	}
	printf("postgresql:  %s %d%s", d->greenplum ? "Greenplum" : "PostgreSQL", d->major,
		   d->version_forced ? " (--pg-version)" : "");
	if (d->version_string[0])
		printf(", version string \"%s\"", d->version_string);
	printf("\n");
	if (!pg->ok && pg->err[0])
	{
		printf("  error: %s\n", pg->err);
		return;
	}
	printf("  TopMemoryContext variable at %#llx; %zu contexts%s; layout %s\n",
		   (unsigned long long) d->root_var, pg->nctx, pg->partial ? " (partial walk)" : "",
		   d->layout ? d->layout->name : "?");
	if (strcmp(d->cassert_how, "detected") == 0)
		printf("  cassert (MEMORY_CONTEXT_CHECKING): %s, detected: of %zu AllocSet blocks, "
			   "%zu read consistently with the plain chunk header, %zu with the checking one\n",
			   d->cassert ? "yes" : "no", d->blocks_checked, d->blocks_plain, d->blocks_cassert);
	else
		printf("  cassert (MEMORY_CONTEXT_CHECKING): %s (%s)\n", d->cassert ? "yes" : "no",
			   d->cassert_how);
}

static void
info_pg_json(const info_pg *pg)
{
	const mcxt_detected *d = &pg->det;

	printf(",\"postgresql\":");
	if (!pg->tried || !d->postgres)
	{
		printf("null");
		return;
	}
	printf("{\"allocator\":\"%s\",\"version\":%d,\"version_forced\":%s,\"version_string\":",
		   d->greenplum ? "greenplum" : "postgresql", d->major, d->version_forced ? "true" : "false");
	json_str(stdout, d->version_string, strlen(d->version_string));
	printf(",\"ok\":%s", pg->ok ? "true" : "false");
	if (!pg->ok)
	{
		printf(",\"error\":");
		json_str(stdout, pg->err, strlen(pg->err));
		printf("}");
		return;
	}
	printf(",\"layout\":");
	json_str(stdout, d->layout->name, strlen(d->layout->name));
	printf(",\"cassert\":%s,\"cassert_how\":\"%s\",\"blocks_checked\":%zu,"
		   "\"blocks_plain\":%zu,\"blocks_cassert\":%zu,\"top_memory_context_var\":%llu,"
		   "\"contexts\":%zu,\"partial\":%s}",
		   d->cassert ? "true" : "false", d->cassert_how, d->blocks_checked, d->blocks_plain,
		   d->blocks_cassert, (unsigned long long) d->root_var, pg->nctx,
		   pg->partial ? "true" : "false");
}

/* How the library was built, as its registry says (layout 4+). */
static void
info_flavour_text(const registry_info *ri)
{
	uint32_t	f = ri->flavour;

	printf("  build: MCXT_DEBUG %u%s%s%s, tail room %u",
		   f & MCXT_FLAVOUR_DEBUG_MASK,
		   (f & MCXT_FLAVOUR_CHECKED) ? ", requested sizes in chunk headers" : "",
		   (f & MCXT_FLAVOUR_VALGRIND) ? ", Valgrind" : "",
		   (f & MCXT_FLAVOUR_ASAN) ? ", AddressSanitizer" : "",
		   (f >> MCXT_FLAVOUR_TAIL_SHIFT) & 0xff);
	if (f & MCXT_FLAVOUR_SITES)
		printf(", allocation sites (%u in its table)", ri->nsites);
	printf("\n");
}

static void
info_text(image_t *im, const info_summary *s, const registry_info *ri, bool have_reg)
{
	char		b1[32],
				b2[32],
				b3[32],
				b4[32];
	uint64_t	bias;
	unsigned	filter;

	if (image_get_kind(im) == IMAGE_CORE)
		printf("target:      core file %s (%s, written by %s)\n", image_target(im),
			   human(image_file_size(im), b1, sizeof(b1)), producer_name(image_get_producer(im)));
	else
		printf("target:      live process %s (stopped for %.1f ms while its metadata was read)\n",
			   image_target(im), image_freeze_ms(im));
	if (image_pid(im) > 0 || image_cmdline(im))
		printf("process:     pid %d: %s\n", image_pid(im), image_cmdline(im) ? image_cmdline(im) : "?");
	if (image_exe_path(im))
	{
		printf("executable:  %s", image_exe_path(im));
		if (image_exe_bias(im, &bias))
			printf(" (load bias %#llx)", (unsigned long long) bias);
		printf("\n");
	}
	else
		printf("executable:  unknown\n");
	printf("threads:     %zu\n", image_nthreads(im));
	for (size_t i = 0; i < image_nthreads(im); i++)
	{
		const image_thread *t = image_thread_get(im, i);

		printf("  tid %-8lld", (long long) t->tid);
		if (t->has_regs)
			printf(" rip %#014llx  rsp %#014llx", (unsigned long long) t->regs[IMG_REG_RIP],
				   (unsigned long long) t->regs[IMG_REG_RSP]);
		printf("\n");
	}
	printf("mappings:    %zu regions, %s; in the image %s, from files %s, missing %s\n",
		   image_nregions(im), human(s->total, b1, sizeof(b1)), human(s->in_image, b2, sizeof(b2)),
		   human(s->file_bytes, b3, sizeof(b3)), human(s->missing_bytes, b4, sizeof(b4)));
	printf("  %-14s %-14s %-4s %10s  %-7s %s\n", "start", "end", "perm", "size", "source", "file");
	for (size_t i = 0; i < image_nregions(im); i++)
	{
		const image_region *r = image_region_get(im, i);
		char		perm[5];

		perm_string(r, perm);
		printf("  %014llx %014llx %s %10s  %-7s %s", (unsigned long long) r->start,
			   (unsigned long long) r->end, perm, human(r->end - r->start, b1, sizeof(b1)),
			   (r->prot & IMG_PROT_R) ? source_name(image_region_source(im, r)) : "-",
			   r->path ? r->path : r->label ? r->label : "");
		if (r->path)
			printf(" @%#llx", (unsigned long long) r->file_ofs);
		if (r->flags & IMG_REG_TRUNCATED)
			printf(" [truncated]");
		if (r->flags & IMG_REG_FILE_BAD)
			printf(" [file unusable]");
		printf("\n");
	}

	printf("missing:     ");
	if (s->file_regions == 0 && s->missing_regions == 0 && s->truncated_regions == 0)
		printf("nothing\n");
	else
	{
		printf("\n");
		if (s->file_regions)
			printf("  %zu file-backed regions (%s) are not in the image; read from the mapped files on disk\n"
				   "    (normal: gcore and the kernel leave unmodified file mappings out)\n",
				   s->file_regions, human(s->file_bytes, b1, sizeof(b1)));
		if (s->stale_regions)
			printf("  %zu of them are writable: if the process changed them, the file shows old bytes\n",
				   s->stale_regions);
		if (s->truncated_regions)
			printf("  %zu segments are cut short by the end of the core file (%s lost): the core is truncated\n"
				   "    (disk full, ulimit -c, or systemd-coredump's ProcessSizeMax?)\n",
				   s->truncated_regions, human(s->truncated_bytes, b1, sizeof(b1)));
		if (s->anon_missing_regions)
			printf("  %zu writable anonymous regions (%s) were not dumped: coredump_filter bit 0\n"
				   "    (private) or 1 (shared) was off, or the memory was madvise(MADV_DONTDUMP)\n",
				   s->anon_missing_regions, human(s->anon_missing_bytes, b1, sizeof(b1)));
		if (s->bad_file_regions)
			printf("  %zu file-backed regions cannot be read: their file is missing or differs\n",
				   s->bad_file_regions);
	}
	if (image_get_kind(im) == IMAGE_CORE && image_get_producer(im) == IMG_BY_GDB)
		printf("  note: gcore writes no segment for memory coredump_filter excluded, so such gaps\n"
			   "    cannot be seen here; gcore's default (0x33) includes all anonymous memory\n");
	if (image_coredump_filter(im, &filter))
	{
		printf("  ");
		info_print_filter(filter);
	}
	if (s->partial)
		printf("partial:     yes: memory is missing, analyses will be incomplete (see warnings)\n");

	if (have_reg)
	{
		printf("libmcxt:     registry at %#llx (%s%s%s), layout version %u%s, %u threads\n",
			   (unsigned long long) ri->addr,
			   ri->by_symbol ? "symbol " REGISTRY_SYMBOL " in " : "found by its magic",
			   ri->by_symbol ? ri->symbol_file : "", "",
			   ri->layout_version, ri->layout_matches ? "" : " (UNKNOWN to this mcxt)",
			   ri->nthreads);
		if (ri->has_flavour)
			info_flavour_text(ri);
		for (size_t i = 0; i < ri->nthreads_read; i++)
			printf("  tid %-8lld top context %#llx\n", (long long) ri->threads[i].tid,
				   (unsigned long long) ri->threads[i].top);
	}
	else
		printf("libmcxt:     no registry found (not a libmcxt program, or its memory is missing)\n");
}

static void
json_u64(const char *key, uint64_t v, bool comma)
{
	printf("\"%s\":%llu%s", key, (unsigned long long) v, comma ? "," : "");
}

static void
info_json(image_t *im, const info_summary *s, const registry_info *ri, bool have_reg,
		  const info_pg *pg)
{
	uint64_t	bias;
	unsigned	filter;

	printf("{\"target\":");
	json_str(stdout, image_target(im), strlen(image_target(im)));
	printf(",\"kind\":\"%s\",", image_get_kind(im) == IMAGE_CORE ? "core" : "live");
	if (image_get_kind(im) == IMAGE_CORE)
	{
		printf("\"producer\":\"%s\",", image_get_producer(im) == IMG_BY_GDB ? "gdb" :
			   image_get_producer(im) == IMG_BY_KERNEL ? "kernel" : "unknown");
		json_u64("core_size", image_file_size(im), true);
	}
	else
		printf("\"freeze_ms\":%.3f,", image_freeze_ms(im));
	if (image_coredump_filter(im, &filter))
		json_u64("coredump_filter", filter, true);
	printf("\"pid\":%d,\"cmdline\":", image_pid(im));
	if (image_cmdline(im))
		json_str(stdout, image_cmdline(im), strlen(image_cmdline(im)));
	else
		printf("null");
	printf(",\"executable\":");
	if (image_exe_path(im))
		json_str(stdout, image_exe_path(im), strlen(image_exe_path(im)));
	else
		printf("null");
	if (image_exe_bias(im, &bias))
		printf(",\"load_bias\":%llu", (unsigned long long) bias);
	printf(",\"threads\":[");
	for (size_t i = 0; i < image_nthreads(im); i++)
	{
		const image_thread *t = image_thread_get(im, i);

		printf("%s{\"tid\":%lld", i ? "," : "", (long long) t->tid);
		if (t->has_regs)
			printf(",\"rip\":%llu,\"rsp\":%llu", (unsigned long long) t->regs[IMG_REG_RIP],
				   (unsigned long long) t->regs[IMG_REG_RSP]);
		printf("}");
	}
	printf("],\"regions\":[");
	for (size_t i = 0; i < image_nregions(im); i++)
	{
		const image_region *r = image_region_get(im, i);
		char		perm[5];

		perm_string(r, perm);
		printf("%s{", i ? "," : "");
		json_u64("start", r->start, true);
		json_u64("end", r->end, true);
		printf("\"perm\":\"%s\",\"source\":\"%s\",", perm, source_name(image_region_source(im, r)));
		json_u64("present", r->present, true);
		printf("\"truncated\":%s,\"path\":", (r->flags & IMG_REG_TRUNCATED) ? "true" : "false");
		if (r->path)
		{
			json_str(stdout, r->path, strlen(r->path));
			printf(",\"offset\":%llu", (unsigned long long) r->file_ofs);
		}
		else
			printf("null");
		if (r->label)
		{
			printf(",\"label\":");
			json_str(stdout, r->label, strlen(r->label));
		}
		printf("}");
	}
	printf("],\"missing\":{");
	json_u64("file_backed_regions", s->file_regions, true);
	json_u64("file_backed_bytes", s->file_bytes, true);
	json_u64("missing_regions", s->missing_regions, true);
	json_u64("missing_bytes", s->missing_bytes, true);
	json_u64("anon_missing_regions", s->anon_missing_regions, true);
	json_u64("anon_missing_bytes", s->anon_missing_bytes, true);
	json_u64("truncated_regions", s->truncated_regions, true);
	json_u64("truncated_bytes", s->truncated_bytes, false);
	printf("},\"partial\":%s,\"registry\":", s->partial ? "true" : "false");
	if (have_reg)
	{
		printf("{");
		json_u64("address", ri->addr, true);
		printf("\"found_by\":\"%s\",", ri->by_symbol ? "symbol" : "magic");
		json_u64("layout_version", ri->layout_version, true);
		printf("\"layout_matches\":%s,", ri->layout_matches ? "true" : "false");
		json_u64("nthreads", ri->nthreads, true);
		printf("\"threads\":[");
		for (size_t i = 0; i < ri->nthreads_read; i++)
			printf("%s{\"tid\":%lld,\"top\":%llu}", i ? "," : "", (long long) ri->threads[i].tid,
				   (unsigned long long) ri->threads[i].top);
		printf("]");
		if (ri->has_flavour)
			printf(",\"flavour\":{\"debug\":%u,\"checked\":%s,\"valgrind\":%s,\"asan\":%s,"
				   "\"tail_room\":%u,\"sites\":%s,\"nsites\":%u}",
				   ri->flavour & MCXT_FLAVOUR_DEBUG_MASK,
				   (ri->flavour & MCXT_FLAVOUR_CHECKED) ? "true" : "false",
				   (ri->flavour & MCXT_FLAVOUR_VALGRIND) ? "true" : "false",
				   (ri->flavour & MCXT_FLAVOUR_ASAN) ? "true" : "false",
				   (ri->flavour >> MCXT_FLAVOUR_TAIL_SHIFT) & 0xff,
				   (ri->flavour & MCXT_FLAVOUR_SITES) ? "true" : "false", ri->nsites);
		printf("}");
	}
	else
		printf("null");
	info_pg_json(pg);
	printf(",\"warnings\":[");
	for (size_t i = 0; i < image_nwarnings(im); i++)
	{
		printf("%s", i ? "," : "");
		json_str(stdout, image_warning(im, i), strlen(image_warning(im, i)));
	}
	printf("]}\n");
}

int
do_info(int argc, char **argv)
{
	target_args t = {0};
	image_t    *im;
	info_summary s;
	registry_info ri;
	bool		have_reg;
	info_pg		pg;

	for (int i = 0; i < argc; i++)
	{
		int			r = target_option(&t, argc, argv, &i);

		if (r < 0)
			return MCXT_EXIT_USAGE;
		if (r > 0)
			continue;
		if (argv[i][0] == '-' && argv[i][1] != '\0')
			return usage_error("info", "unknown option '%s'", argv[i]);
		if (!target_positional(&t, argv[i]))
			return usage_error("info", "unexpected argument '%s'", argv[i]);
	}
	if (t.help)
	{
		help_info();
		return MCXT_EXIT_OK;
	}
	if (!t.core && !t.pid)
		return usage_error("info", "no TARGET: give a core file or --pid PID");
	im = target_open(&t);
	if (!im)
		return MCXT_EXIT_INPUT;
	image_load_files(im);
	info_summarize(im, &s);
	have_reg = registry_find(im, &ri);
	memset(&pg, 0, sizeof(pg));
	if (!have_reg)
		info_pg_detect(im, &t, &pg);
	image_release(im);
	if (s.partial)
		image_warn(im, "analysis will be partial: %s%s%s",
				   s.truncated_regions ? "the core is truncated; " : "",
				   s.anon_missing_regions ? "anonymous memory was not dumped; " : "",
				   s.bad_file_regions ? "some mapped files are missing or differ" : "");
	if (json_output)
		info_json(im, &s, &ri, have_reg, &pg);
	else
	{
		info_text(im, &s, &ri, have_reg);
		info_pg_text(&pg);
	}
	print_image_warnings(im);
	registry_free(&ri);
	image_close(im);
	return MCXT_EXIT_OK;
}
