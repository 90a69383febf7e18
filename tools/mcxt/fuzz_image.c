/*
 * fuzz_image.c
 *	  Fuzz target over the ELF parsing: the core parser (image_open_buffer)
 *	  with everything the commands do with an image afterwards (region reads,
 *	  zero-copy pointers, threads, auxv, the registry search, the string and
 *	  pattern scans, and the context walker (libmcxt's and PostgreSQL's
 *	  layouts, the allocator detection) with the leak grouping, chunk
 *	  decode and reports), and the executable/shared-object parser (symbols,
 *	  build-id) on the same bytes.
 *
 * Built two ways:
 *  - with clang and -fsanitize=fuzzer: a libFuzzer binary
 *    (cmake target mcxt_fuzz_image_libfuzzer);
 *  - with MCXT_FUZZ_REPLAY_MAIN: a replay program, `fuzz_image FILE|DIR...`,
 *    which runs every input once (the tests run it over test/cli/corpus
 *    under ASan and valgrind).
 * Files named by a fuzzed core are never opened (image_opts.no_files).
 */
#define _GNU_SOURCE
#include <dirent.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "analyze.h"
#include "detect.h"
#include "elfread.h"
#include "image.h"
#include "image_reader.h"
#include "registry.h"
#include "report.h"
#include "scan.h"
#include "sitemap.h"

int			LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/*
 * The walker on whatever context trees the image claims to hold: the walk,
 * leak grouping with a small reference scan, decoding addresses in the first
 * blocks, and every report (to /dev/null), all on untrusted bytes.
 */
static void
fuzz_walk_with(image_t *im, const mcxt_layout *L, const uint64_t *tops, size_t ntops)
{
	static FILE *devnull;
	mcxt_reader reader;
	mcxt_walk_opts wo = {.max_contexts = 4096, .max_warnings = 64};
	mcxt_suspects_opts so = {.scan_top = 4};
	mcxt_walk  *w;
	mcxt_suspects *s;
	mcxt_decoded d;
	mcxt_sitemap sm;
	mcxt_report_opts ro = {.pg_log_format = true, .pg_format = true};

	if (devnull == NULL && (devnull = fopen("/dev/null", "w")) == NULL)
		return;
	wo.tops = tops;
	wo.ntops = ntops;
	image_reader_init(&reader, im);
	w = mcxt_walk_new(L, &reader, &wo);
	if (w == NULL)
		return;
	if (L->root_kind == MCXT_ROOT_POINTER_VAR)
	{
		/* PostgreSQL's own paths: the cassert probe and the server-log format */
		(void) mcxt_walk_chunk_consistency(w, L, 16, NULL);
		mcxt_report_contexts_text(devnull, w, &ro);
	}
	mcxt_report_contexts_text(devnull, w, NULL);
	mcxt_report_contexts_json(devnull, w);
	/* a libmcxt image's flavour and, in a MCXT_SITES image, its allocation sites */
	(void) mcxt_sitemap_open(w, &sm);
	s = mcxt_suspects_find(w, &so);
	if (s != NULL)
	{
		(void) mcxt_sitemap_suspects(&sm, w, s, 4);
		mcxt_report_suspects_text(devnull, w, s, NULL);
		mcxt_report_suspects_json(devnull, w, s, NULL);
		if (s->n > 0)
		{
			(void) mcxt_decode_addr(w, s->items[0].sample_addr, &d);
			if (d.has_chunk && !d.chunk.free)
				d.site = mcxt_sitemap_chunk(&sm, w, &d.chunk);
			mcxt_report_decoded_json(devnull, w, &d, 64);
		}
		mcxt_suspects_free(s);
	}
	if (sm.present && mcxt_sitemap_by_site(&sm, w))
	{
		mcxt_report_sites_text(devnull, w, &sm, 0);
		mcxt_report_sites_json(devnull, w, &sm, 0);
	}
	mcxt_sitemap_close(&sm);
	for (size_t i = 0; i < w->nblocks && i < 4; i++)
	{
		(void) mcxt_decode_addr(w, w->blocks[i].addr + 48, &d);
		mcxt_report_decoded_text(devnull, w, &d, 64);
	}
	mcxt_report_warnings_text(devnull, w);
	mcxt_walk_free(w);
}

/*
 * libmcxt's trees as the tool finds them, then PostgreSQL's and Greenplum's
 * layouts (a fuzzed image has no executable to name the real
 * TopMemoryContext) from the starts of the first writable regions and from
 * the first words of the first writable region that point into the image:
 * in a generated seed (test/pg/gen, test/cli/make_pg_seed.sh) that is the
 * executable's data page holding TopMemoryContext.
 */
static void
fuzz_walk(image_t *im)
{
	static const mcxt_layout *const pg[] = {
		&mcxt_layout_pg15, &mcxt_layout_pg15_cassert, &mcxt_layout_pg13, &mcxt_layout_pg11,
		&mcxt_layout_pg10_cassert, &mcxt_layout_pg16_cassert, &mcxt_layout_pg17,
		&mcxt_layout_gp6_cassert, &mcxt_layout_gp7,
	};
	uint64_t	tops[6];
	size_t		ntops = 0;
	size_t		nwords = 0;

	fuzz_walk_with(im, &mcxt_layout_libmcxt, NULL, 0);
	for (size_t i = 0; i < image_nregions(im) && ntops < 4; i++)
	{
		const image_region *r = image_region_get(im, i);

		if ((r->prot & IMG_PROT_W) && r->present > 0)
		{
			tops[ntops] = r->start + (ntops % 2 ? 64 : 0);
			ntops++;
		}
	}
	for (size_t i = 0; i < image_nregions(im) && nwords == 0; i++)
	{
		const image_region *r = image_region_get(im, i);
		uint64_t	word;
		unsigned char b;

		if (!(r->prot & IMG_PROT_W) || r->present == 0)
			continue;
		for (uint64_t a = r->start; a + 8 <= r->end && a < r->start + 4096 && nwords < 2; a += 8)
			if (image_read(im, a, &word, 8) == 8 && word != 0 && image_read(im, word, &b, 1) == 1)
				tops[ntops + nwords++] = word;
	}
	ntops += nwords;
	if (ntops == 0)
		return;
	for (size_t k = 0; k < sizeof(pg) / sizeof(pg[0]); k++)
		fuzz_walk_with(im, pg[k], tops, ntops);
}

static void
fuzz_exercise_image(image_t *im)
{
	unsigned char buf[256];
	uint64_t	v;
	registry_info ri;
	strhist    *h;
	finder	   *f;
	size_t		n;

	for (size_t i = 0; i < image_nregions(im); i++)
	{
		const image_region *r = image_region_get(im, i);

		(void) image_read(im, r->start, buf, sizeof(buf));
		(void) image_read(im, r->end - 16, buf, 64);	/* runs into the next region */
		(void) image_ptr(im, r->start, 8);
		(void) image_region_source(im, r);
	}
	(void) image_read(im, UINT64_MAX - 8, buf, 64);
	for (size_t i = 0; i < image_nthreads(im); i++)
		(void) image_thread_get(im, i);
	(void) image_auxv(im, 9, &v);
	(void) image_exe_bias(im, &v);
	if (registry_find(im, &ri))
		registry_free(&ri);
	h = strhist_new(4, 1 << 20);
	(void) scan_memory(im, SCAN_ALL, 0, strhist_feed, h);
	strhist_finish(h);
	(void) strhist_sorted(h, &n);
	strhist_free(h);
	f = finder_new((const unsigned char *) "mcxt", 4, 8);
	(void) scan_memory(im, SCAN_ALL, 3, finder_feed, f);
	(void) finder_strides(f, &n);
	finder_free(f);
	fuzz_walk(im);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	image_opts	opts = {.no_files = true};
	char		err[512];
	image_t    *im;
	elf_obj		o;

	im = image_open_buffer(data, size, &opts, err, sizeof(err));
	if (im)
	{
		mcxt_alloc_opts ao = {.pg_major = 15};
		mcxt_detected det;
		mcxt_reader reader;
		mcxt_walk  *w;

		fuzz_exercise_image(im);
		/* PostgreSQL forced: the executable checks on an image without files */
		image_reader_init(&reader, im);
		w = mcxt_detect_walk(im, &reader, &ao, &det, err, sizeof(err));
		mcxt_walk_free(w);
		image_close(im);
	}
	{
		int			major;
		bool		gp;
		char		vs[64];

		(void) mcxt_pg_version_from_bytes(data, size, &major, &gp, vs, sizeof(vs));
	}
	if (elf_obj_parse(&o, data, size) == NULL)
	{
		uint64_t	value,
					sz,
					vaddr;
		const unsigned char *id;
		size_t		idlen;

		(void) elf_obj_symbol(&o, "mcxt_registry", &value, &sz);
		(void) elf_obj_build_id(&o, &id, &idlen, &vaddr);
		(void) elf_obj_prot_at(&o, 0);
	}
	return 0;
}

#ifdef MCXT_FUZZ_REPLAY_MAIN

int			main(int argc, char **argv);

/* Run one file; returns false if it cannot be read. */
static bool
replay_file(const char *path)
{
	FILE	   *fp = fopen(path, "rb");
	struct stat st;
	uint8_t    *buf;
	bool		ok;

	if (!fp || fstat(fileno(fp), &st) != 0)
	{
		fprintf(stderr, "fuzz_image: cannot read %s\n", path);
		if (fp)
			fclose(fp);
		return false;
	}
	/* exactly the file's size, so ASan and valgrind see any overread */
	buf = malloc(st.st_size ? (size_t) st.st_size : 1);
	ok = buf && fread(buf, 1, (size_t) st.st_size, fp) == (size_t) st.st_size;
	fclose(fp);
	if (ok)
		(void) LLVMFuzzerTestOneInput(buf, (size_t) st.st_size);
	else
		fprintf(stderr, "fuzz_image: cannot read %s\n", path);
	free(buf);
	return ok;
}

int
main(int argc, char **argv)
{
	size_t		count = 0;

	if (argc < 2)
	{
		fprintf(stderr, "usage: fuzz_image FILE|DIR...\n");
		return 2;
	}
	for (int i = 1; i < argc; i++)
	{
		struct stat st;

		if (stat(argv[i], &st) == 0 && S_ISDIR(st.st_mode))
		{
			struct dirent **list;
			int			n = scandir(argv[i], &list, NULL, alphasort);

			if (n < 0)
			{
				fprintf(stderr, "fuzz_image: cannot list %s\n", argv[i]);
				return 1;
			}
			for (int k = 0; k < n; k++)
			{
				char		path[4096];

				if (list[k]->d_name[0] != '.')
				{
					snprintf(path, sizeof(path), "%s/%s", argv[i], list[k]->d_name);
					if (!replay_file(path))
						return 1;
					count++;
				}
				free(list[k]);
			}
			free(list);
		}
		else
		{
			if (!replay_file(argv[i]))
				return 1;
			count++;
		}
	}
	printf("fuzz_image: replayed %zu inputs\n", count);
	return count > 0 ? 0 : 1;
}
#endif
