/*
 * image.c
 *	  The backend-independent half of the image: the region table, reads
 *	  that fall back to mapped files on disk, symbol lookup with load bias,
 *	  warnings.
 *
 * Regions are kept sorted and non-overlapping (imgi_finish_regions enforces
 * it, whatever the core said), so a lookup is a binary search.  Mapped files
 * are opened lazily, only as regular files (never a FIFO or a device a
 * damaged core might name), mmapped read-only, and checked once against the
 * image: a mapped offset beyond the file's end, or a GNU build-id that
 * differs from the one in the image, makes the file unusable for reads and
 * produces one warning.
 */
#define _GNU_SOURCE
#include "image_int.h"

#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

/* Memory ---------------------------------------------------------------- */

void *
imgi_alloc(size_t n)
{
	void	   *p = calloc(1, n ? n : 1);

	if (!p)
	{
		fprintf(stderr, "mcxt: out of memory (%zu bytes)\n", n);
		exit(1);
	}
	return p;
}

/* Make room for need elements of elem bytes in *p (capacity *cap). */
void *
imgi_grow(void *p, size_t *cap, size_t need, size_t elem)
{
	size_t		ncap;
	void	   *np;

	if (need <= *cap)
		return p;
	ncap = *cap ? *cap * 2 : 16;
	while (ncap < need)
		ncap *= 2;
	np = realloc(p, ncap * elem);
	if (!np)
	{
		fprintf(stderr, "mcxt: out of memory (%zu bytes)\n", ncap * elem);
		exit(1);
	}
	memset((char *) np + *cap * elem, 0, (ncap - *cap) * elem);
	*cap = ncap;
	return np;
}

char *
imgi_strdup(const char *s, size_t len)
{
	char	   *d = imgi_alloc(len + 1);

	memcpy(d, s, len);
	d[len] = '\0';
	return d;
}

image_t *
imgi_new(image_kind kind, const image_opts *opts, const char *target)
{
	image_t    *im = imgi_alloc(sizeof(*im));
	static const image_opts none;

	im->kind = kind;
	im->opts = opts ? *opts : none;
	if (im->opts.exe)
	{
		im->exe_opt = imgi_strdup(im->opts.exe, strlen(im->opts.exe));
		im->opts.exe = im->exe_opt;
	}
	im->target = imgi_strdup(target, strlen(target));
	im->exe_file = -1;
	im->pid = -1;
	im->memfd = -1;
	return im;
}

/* Warnings -------------------------------------------------------------- */

void
image_warn(image_t *im, const char *fmt,...)
{
	char		buf[1024];
	va_list		ap;

	va_start(ap, fmt);
	vsnprintf(buf, sizeof(buf), fmt, ap);
	va_end(ap);
	for (size_t i = 0; i < im->nwarnings; i++)
		if (strcmp(im->warnings[i], buf) == 0)
			return;
	if (im->nwarnings >= IMG_MAX_WARNINGS)
	{
		im->warnings_dropped = true;
		return;
	}
	im->warnings = realloc(im->warnings, (im->nwarnings + 1) * sizeof(char *));
	if (!im->warnings)
	{
		fprintf(stderr, "mcxt: out of memory\n");
		exit(1);
	}
	im->warnings[im->nwarnings++] = imgi_strdup(buf, strlen(buf));
}

size_t
image_nwarnings(const image_t *im)
{
	return im->nwarnings + (im->warnings_dropped ? 1 : 0);
}

const char *
image_warning(const image_t *im, size_t i)
{
	if (i < im->nwarnings)
		return im->warnings[i];
	return "more warnings were suppressed";
}

/* Regions --------------------------------------------------------------- */

image_region *
imgi_add_region(image_t *im)
{
	image_region *r;

	if (im->nregions >= IMG_MAX_REGIONS)
		return NULL;
	im->regions = imgi_grow(im->regions, &im->cap_regions, im->nregions + 1,
							sizeof(image_region));
	r = &im->regions[im->nregions++];
	memset(r, 0, sizeof(*r));
	r->file = -1;
	return r;
}

static int
region_cmp(const void *a, const void *b)
{
	const image_region *x = a,
			   *y = b;

	if (x->start != y->start)
		return x->start < y->start ? -1 : 1;
	return x->end < y->end ? -1 : x->end > y->end;
}

/* Drop the first delta bytes of r (delta < r->end - r->start). */
static void
region_cut_front(image_region *r, uint64_t delta)
{
	uint64_t	p = delta < r->present ? delta : r->present;

	r->start += delta;
	r->file_ofs += delta;
	if (r->data)
		r->data += p;
	r->present -= p;
	r->expected = r->expected > delta ? r->expected - delta : 0;
	if (r->present == 0)
		r->data = NULL;
}

/* Keep only the first len bytes of r. */
static void
region_cut_back(image_region *r, uint64_t len)
{
	r->end = r->start + len;
	if (r->present > len)
		r->present = len;
	if (r->expected > len)
		r->expected = len;
}

void
imgi_finish_regions(image_t *im)
{
	size_t		out = 0;
	bool		overlap = false;

	if (im->nregions > 1)
		qsort(im->regions, im->nregions, sizeof(image_region), region_cmp);
	for (size_t i = 0; i < im->nregions; i++)
	{
		image_region r = im->regions[i];

		if (r.end <= r.start)
			continue;
		if (out > 0 && r.start < im->regions[out - 1].end)
		{
			overlap = true;
			if (r.end <= im->regions[out - 1].end)
				continue;
			region_cut_front(&r, im->regions[out - 1].end - r.start);
		}
		im->regions[out++] = r;
	}
	im->nregions = out;
	if (overlap)
		image_warn(im, "%s: overlapping memory segments; later ones were clipped", im->target);
}

size_t
image_nregions(const image_t *im)
{
	return im->nregions;
}

const image_region *
image_region_get(const image_t *im, size_t i)
{
	return i < im->nregions ? &im->regions[i] : NULL;
}

const image_region *
image_region_find(const image_t *im, uint64_t addr)
{
	size_t		lo = 0,
				hi = im->nregions;

	while (lo < hi)
	{
		size_t		mid = lo + (hi - lo) / 2;
		const image_region *r = &im->regions[mid];

		if (addr < r->start)
			hi = mid;
		else if (addr >= r->end)
			lo = mid + 1;
		else
			return r;
	}
	return NULL;
}

bool
image_region_is_anon_writable(const image_region *r)
{
	if (!(r->prot & IMG_PROT_W) || (r->flags & IMG_REG_SPECIAL))
		return false;
	if (r->path == NULL)
		return true;
	/* shared anonymous memory shows up under these names */
	return strncmp(r->path, "/dev/zero", 9) == 0 || strncmp(r->path, "/SYSV", 5) == 0;
}

static uint64_t
path_hash(const char *s)
{
	uint64_t	h = 1469598103934665603ULL;

	for (; *s; s++)
		h = (h ^ (unsigned char) *s) * 1099511628211ULL;
	return h;
}

/* Index of path in the file table, adding it if new; -1 when full. */
int
imgi_file_index(image_t *im, const char *path)
{
	size_t		slot;
	image_file *f;

	if (im->nfiles * 2 >= im->fhcap)
	{
		size_t		ncap = im->fhcap ? im->fhcap * 2 : 64;
		int		   *nh = imgi_alloc(ncap * sizeof(int));

		for (size_t i = 0; i < ncap; i++)
			nh[i] = -1;
		for (size_t i = 0; i < im->nfiles; i++)
		{
			slot = path_hash(im->files[i].path) & (ncap - 1);
			while (nh[slot] >= 0)
				slot = (slot + 1) & (ncap - 1);
			nh[slot] = (int) i;
		}
		free(im->fhash);
		im->fhash = nh;
		im->fhcap = ncap;
	}
	slot = path_hash(path) & (im->fhcap - 1);
	while (im->fhash[slot] >= 0)
	{
		if (strcmp(im->files[im->fhash[slot]].path, path) == 0)
			return im->fhash[slot];
		slot = (slot + 1) & (im->fhcap - 1);
	}
	if (im->nfiles >= IMG_MAX_FILES)
		return -1;
	im->files = imgi_grow(im->files, &im->cap_files, im->nfiles + 1, sizeof(image_file));
	f = &im->files[im->nfiles];
	f->path = imgi_strdup(path, strlen(path));
	f->open_path = f->path;
	im->fhash[slot] = (int) im->nfiles;
	return (int) im->nfiles++;
}

/*
 * Record that [start, end) maps path at file_ofs (an NT_FILE entry).  Core
 * regions inside it get the path; parts of regions straddling its edges are
 * split off; parts no PT_LOAD covers become IMG_REG_NO_LOAD regions whose
 * bytes come from the file.  regions[0 .. nsorted) must be sorted and
 * disjoint; new pieces are appended after them, so the caller runs
 * imgi_finish_regions once after the last entry.
 */
void
imgi_apply_file_map(image_t *im, size_t nsorted, uint64_t start, uint64_t end,
					uint64_t file_ofs, const char *path)
{
	int			fidx = imgi_file_index(im, path);
	const char *p = fidx >= 0 ? im->files[fidx].path : NULL;
	uint64_t	cur = start;
	size_t		lo = 0,
				hi = nsorted;

	if (end <= start || fidx < 0)
		return;
	/* first sorted region ending after start */
	while (lo < hi)
	{
		size_t		mid = lo + (hi - lo) / 2;

		if (im->regions[mid].end <= start)
			lo = mid + 1;
		else
			hi = mid;
	}
	for (size_t i = lo; i < nsorted && cur < end; i++)
	{
		image_region *r = &im->regions[i];

		if (r->end <= cur)
			continue;
		if (r->start >= end)
			break;
		if (r->start > cur)
		{
			/* a hole before r: the file bytes no segment holds */
			image_region *h = imgi_add_region(im);

			if (!h)
				return;
			r = &im->regions[i];
			h->start = cur;
			h->end = r->start;
			h->prot = IMG_PROT_R;
			h->flags = IMG_REG_NO_LOAD;
			h->path = p;
			h->file = fidx;
			h->file_ofs = file_ofs + (cur - start);
			cur = r->start;
		}
		if (r->start < cur)
		{
			/* split r at cur: the front keeps its old identity */
			size_t		ti;

			if (!imgi_add_region(im))
				return;
			ti = im->nregions - 1;
			r = &im->regions[i];
			im->regions[ti] = *r;
			region_cut_back(r, cur - r->start);
			region_cut_front(&im->regions[ti], cur - im->regions[ti].start);
			im->regions[ti].path = p;
			im->regions[ti].file = fidx;
			im->regions[ti].file_ofs = file_ofs + (cur - start);
			if (im->regions[ti].end > end)
			{
				if (!imgi_add_region(im))
					return;
				im->regions[im->nregions - 1] = im->regions[ti];
				region_cut_back(&im->regions[ti], end - im->regions[ti].start);
				region_cut_front(&im->regions[im->nregions - 1],
								 end - im->regions[im->nregions - 1].start);
				im->regions[im->nregions - 1].path = NULL;
				im->regions[im->nregions - 1].file = -1;
			}
			cur = im->regions[ti].end;
			continue;
		}
		if (r->end > end)
		{
			image_region *t = imgi_add_region(im);

			if (!t)
				return;
			r = &im->regions[i];
			*t = *r;
			region_cut_back(r, end - r->start);
			region_cut_front(t, end - t->start);
		}
		r->path = p;
		r->file = fidx;
		r->file_ofs = file_ofs + (r->start - start);
		cur = r->end;
	}
	if (cur < end)
	{
		image_region *h = imgi_add_region(im);

		if (!h)
			return;
		h->start = cur;
		h->end = end;
		h->prot = IMG_PROT_R;
		h->flags = IMG_REG_NO_LOAD;
		h->path = p;
		h->file = fidx;
		h->file_ofs = file_ofs + (cur - start);
	}
}

/* Files ----------------------------------------------------------------- */

/* Start of the lowest mapping of offset 0 of file idx; false if none. */
static bool
file_header_addr(const image_t *im, int idx, uint64_t *addr)
{
	const image_file *f = &im->files[idx];

	for (size_t k = f->rl_start; k < f->rl_start + f->rl_count; k++)
		if (im->regions[im->file_rlist[k]].file_ofs == 0)
		{
			*addr = im->regions[im->file_rlist[k]].start;
			return true;
		}
	return false;
}

/*
 * Group region indices by file (a counting sort), so per-file work costs
 * only that file's regions.  Called once the region table is final.
 */
void
imgi_index_files(image_t *im)
{
	size_t		pos = 0;

	free(im->file_rlist);
	im->file_rlist = imgi_alloc(im->nregions * sizeof(size_t));
	for (size_t i = 0; i < im->nfiles; i++)
		im->files[i].rl_count = 0;
	for (size_t i = 0; i < im->nregions; i++)
		if (im->regions[i].file >= 0)
			im->files[im->regions[i].file].rl_count++;
	for (size_t i = 0; i < im->nfiles; i++)
	{
		im->files[i].rl_start = pos;
		pos += im->files[i].rl_count;
		im->files[i].rl_count = 0;
	}
	for (size_t i = 0; i < im->nregions; i++)
	{
		image_file *f;

		if (im->regions[i].file < 0)
			continue;
		f = &im->files[im->regions[i].file];
		im->file_rlist[f->rl_start + f->rl_count++] = i;
	}
}

/*
 * Does the file on disk differ from the one the process had mapped?  Both
 * writers put the first page of a file mapping (its ELF header) in the core,
 * so compare that, then the GNU build-id where the image holds it.  Returns
 * -1 if it cannot tell, 0 if it looks the same, 1 if it differs.
 */
static int
file_differs(image_t *im, int idx)
{
	image_file *f = &im->files[idx];
	const unsigned char *id,
			   *mem;
	size_t		len;
	uint64_t	hdr,
				vaddr;
	int			verdict = -1;

	if (im->kind == IMAGE_LIVE || !file_header_addr(im, idx, &hdr))
		return -1;				/* live memory is the file itself */
	mem = image_ptr(im, hdr, sizeof(Elf64_Ehdr));
	if (mem && f->size >= sizeof(Elf64_Ehdr) && memcmp(mem, ELFMAG, SELFMAG) == 0)
	{
		/* what loading depends on; not the section fields strip rewrites */
		if (memcmp(mem, f->map, offsetof(Elf64_Ehdr, e_shoff)) != 0 ||
			memcmp(mem + offsetof(Elf64_Ehdr, e_flags), f->map + offsetof(Elf64_Ehdr, e_flags),
				   offsetof(Elf64_Ehdr, e_shentsize) - offsetof(Elf64_Ehdr, e_flags)) != 0)
			return 1;
		verdict = 0;
	}
	if (f->is_elf && f->elf.has_load && hdr >= f->elf.first_load_vaddr &&
		elf_obj_build_id(&f->elf, &id, &len, &vaddr))
	{
		mem = image_ptr(im, vaddr + (hdr - f->elf.first_load_vaddr), len);
		if (mem)
			return memcmp(mem, id, len) != 0;
	}
	return verdict;
}

/* Lowest mapping of offset 0 of file idx, minus its first PT_LOAD vaddr. */
static void
file_compute_bias(image_t *im, int idx)
{
	image_file *f = &im->files[idx];
	uint64_t	entry;

	if (!f->is_elf)
		return;
	if (f->elf.eh.e_type == ET_EXEC)
	{
		f->bias = 0;
		f->has_bias = true;
		return;
	}
	if (idx == im->exe_file && image_auxv(im, AT_ENTRY, &entry) && entry >= f->elf.eh.e_entry)
	{
		f->bias = entry - f->elf.eh.e_entry;
		f->has_bias = true;
		return;
	}
	{
		uint64_t	hdr;

		if (file_header_addr(im, idx, &hdr) && f->elf.has_load && hdr >= f->elf.first_load_vaddr)
		{
			f->bias = hdr - f->elf.first_load_vaddr;
			f->has_bias = true;
		}
	}
}

static void
file_mark_bad(image_t *im, int idx)
{
	image_file *f = &im->files[idx];

	f->usable = false;
	for (size_t k = f->rl_start; k < f->rl_start + f->rl_count; k++)
		im->regions[im->file_rlist[k]].flags |= IMG_REG_FILE_BAD;
}

/* Open, map and check file idx once; true if its bytes may be used. */
static bool
file_load(image_t *im, int idx)
{
	image_file *f = &im->files[idx];
	struct stat st;
	int			fd;
	void	   *m;

	if (f->tried)
		return f->usable;
	f->tried = true;
	if (im->opts.no_files)
		return false;
	/*
	 * Shared anonymous memory (/dev/zero, SysV segments) shows up as a
	 * deleted file: there is nothing on disk to read, and nothing to warn
	 * about (a core holds those bytes or it does not).
	 */
	if (strcmp(f->open_path, "/dev/zero (deleted)") == 0 ||
		(strncmp(f->open_path, "/SYSV", 5) == 0 && strstr(f->open_path, " (deleted)") != NULL))
	{
		snprintf(f->why_bad, sizeof(f->why_bad), "%s is shared anonymous memory", f->open_path);
		file_mark_bad(im, idx);
		return false;
	}
	fd = open(f->open_path, O_RDONLY | O_NONBLOCK | O_NOCTTY | O_CLOEXEC);
	if (fd < 0)
	{
		snprintf(f->why_bad, sizeof(f->why_bad), "cannot open %s: %s", f->open_path,
				 strerror(errno));
		image_warn(im, "mapped file %s: %s; its bytes missing from the image are unavailable",
				   f->open_path, strerror(errno));
		file_mark_bad(im, idx);
		return false;
	}
	if (fstat(fd, &st) != 0 || !S_ISREG(st.st_mode) || st.st_size <= 0)
	{
		snprintf(f->why_bad, sizeof(f->why_bad), "%s is not a regular non-empty file",
				 f->open_path);
		image_warn(im, "mapped file %s is not a regular non-empty file; not read", f->open_path);
		close(fd);
		file_mark_bad(im, idx);
		return false;
	}
	m = mmap(NULL, (size_t) st.st_size, PROT_READ, MAP_PRIVATE, fd, 0);
	close(fd);
	if (m == MAP_FAILED)
	{
		snprintf(f->why_bad, sizeof(f->why_bad), "cannot map %s", f->open_path);
		image_warn(im, "mapped file %s: mmap failed: %s", f->open_path, strerror(errno));
		file_mark_bad(im, idx);
		return false;
	}
	f->map = m;
	f->size = (size_t) st.st_size;
	f->usable = true;
	f->is_elf = elf_obj_parse(&f->elf, f->map, f->size) == NULL;
	file_compute_bias(im, idx);

	/* regions known only from NT_FILE: take r/w/x from the file's segments */
	for (size_t k = f->rl_start; f->is_elf && k < f->rl_start + f->rl_count; k++)
	{
		image_region *r = &im->regions[im->file_rlist[k]];
		unsigned	pf;

		if (!(r->flags & IMG_REG_NO_LOAD))
			continue;
		pf = elf_obj_prot_at(&f->elf, r->file_ofs);
		if (pf)
			r->prot = ((pf & PF_R) ? IMG_PROT_R : 0) | ((pf & PF_X) ? IMG_PROT_X : 0);
	}

	/* does it still look like what the process had mapped? */
	for (size_t k = f->rl_start; k < f->rl_start + f->rl_count; k++)
	{
		const image_region *r = &im->regions[im->file_rlist[k]];

		if (r->file_ofs >= f->size && im->kind == IMAGE_CORE)
		{
			snprintf(f->why_bad, sizeof(f->why_bad),
					 "%s differs from the file the process had mapped: it is %zu bytes, "
					 "the image maps offset %#llx",
					 f->open_path, f->size, (unsigned long long) r->file_ofs);
			image_warn(im, "mapped file %s differs from the one in the image: "
					   "it is %zu bytes, the image maps offset %#llx; not read",
					   f->open_path, f->size, (unsigned long long) r->file_ofs);
			file_mark_bad(im, idx);
			return false;
		}
	}
	if (file_differs(im, idx) == 1)
	{
		snprintf(f->why_bad, sizeof(f->why_bad),
				 "%s differs from the file the process had mapped (ELF header or GNU build-id)",
				 f->open_path);
		image_warn(im, "mapped file %s differs from the one in the image (ELF header or GNU "
				   "build-id); its bytes and symbols are not used",
				   f->open_path);
		file_mark_bad(im, idx);
		return false;
	}
	return true;
}

void
image_load_files(image_t *im)
{
	for (size_t i = 0; i < im->nfiles; i++)
		(void) file_load(im, (int) i);
}

image_source
image_region_source(const image_t *im, const image_region *r)
{
	uint64_t	len = r->end - r->start;

	if (im->kind == IMAGE_LIVE || r->present >= len)
		return IMG_SRC_IMAGE;
	if (r->present)
		return IMG_SRC_PARTIAL;
	if (r->path && !(r->flags & IMG_REG_FILE_BAD))
		return IMG_SRC_FILE;
	return IMG_SRC_MISSING;
}

/* Executable ------------------------------------------------------------ */

void
imgi_find_exe(image_t *im, const char *exe_hint)
{
	uint64_t	entry;
	const image_region *r = NULL;
	int			idx = -1;

	if (image_auxv(im, AT_ENTRY, &entry))
		r = image_region_find(im, entry);
	if (r && r->file >= 0)
		idx = r->file;
	else if (exe_hint)
	{
		for (size_t i = 0; i < im->nfiles; i++)
			if (strcmp(im->files[i].path, exe_hint) == 0)
				idx = (int) i;
		if (idx < 0)
			idx = imgi_file_index(im, exe_hint);
	}
	if (im->opts.exe)
	{
		if (idx < 0)
			idx = imgi_file_index(im, im->opts.exe);
		else
			im->files[idx].open_path = im->exe_opt;
	}
	im->exe_file = idx;
	if (idx >= 0)
		(void) file_load(im, idx);
}

int
image_exe_check(image_t *im, char *why, size_t whylen)
{
	image_file *f;
	uint64_t	entry;
	uint64_t	hdr;

	if (im->exe_file < 0)
	{
		snprintf(why, whylen, "the image names no executable (no NT_FILE entry at AT_ENTRY); give --exe PATH");
		return -1;
	}
	f = &im->files[im->exe_file];
	if (!file_load(im, im->exe_file))
	{
		snprintf(why, whylen, "%s", f->why_bad[0] ? f->why_bad : "the executable cannot be read");
		return f->why_bad[0] && strstr(f->why_bad, "differs") ? 1 : -1;
	}
	if (!f->is_elf)
	{
		snprintf(why, whylen, "%s is not an ELF executable", f->open_path);
		return 1;
	}
	/* the entry point must fall where the image maps the file's first segment */
	if (im->kind == IMAGE_CORE && f->elf.eh.e_type == ET_DYN && f->elf.has_load &&
		image_auxv(im, AT_ENTRY, &entry) && file_header_addr(im, im->exe_file, &hdr) &&
		(entry < f->elf.eh.e_entry || hdr < f->elf.first_load_vaddr ||
		 entry - f->elf.eh.e_entry != hdr - f->elf.first_load_vaddr))
	{
		snprintf(why, whylen, "%s does not match the image: its entry point %#llx puts it at %#llx, "
				 "the image maps it at %#llx",
				 f->open_path, (unsigned long long) f->elf.eh.e_entry,
				 (unsigned long long) (entry - f->elf.eh.e_entry),
				 (unsigned long long) (hdr - f->elf.first_load_vaddr));
		return 1;
	}
	return 0;
}

bool
image_exe_bytes(image_t *im, const unsigned char **buf, size_t *size)
{
	if (im->exe_file < 0 || !file_load(im, im->exe_file))
		return false;
	*buf = im->files[im->exe_file].map;
	*size = im->files[im->exe_file].size;
	return true;
}

const char *
image_exe_open_path(const image_t *im)
{
	return im->exe_file >= 0 ? im->files[im->exe_file].open_path : NULL;
}

const char *
image_exe_path(const image_t *im)
{
	return im->exe_file >= 0 ? im->files[im->exe_file].path : NULL;
}

bool
image_exe_bias(image_t *im, uint64_t *bias)
{
	image_file *f;

	if (im->exe_file < 0 || !file_load(im, im->exe_file))
		return false;
	f = &im->files[im->exe_file];
	*bias = f->bias;
	return f->has_bias;
}

/* Reads ----------------------------------------------------------------- */

/* Read from region r at offset off; returns bytes available. */
static size_t
region_read(image_t *im, const image_region *r, uint64_t off, unsigned char *buf, size_t want)
{
	size_t		got = 0;
	image_file *f;
	uint64_t	fo;

	if (im->kind == IMAGE_LIVE)
		return imgi_live_read(im, r->start + off, buf, want);
	if (off < r->present)
	{
		got = r->present - off < want ? (size_t) (r->present - off) : want;
		memcpy(buf, r->data + off, got);
		if (got == want)
			return got;
	}
	if (r->file < 0 || !file_load(im, r->file))
		return got;
	f = &im->files[r->file];
	fo = r->file_ofs + off + got;
	if (fo < r->file_ofs || fo >= f->size)
		return got;
	{
		size_t		n = f->size - fo < want - got ? (size_t) (f->size - fo) : want - got;

		memcpy(buf + got, f->map + fo, n);
		got += n;
	}
	return got;
}

size_t
image_read(image_t *im, uint64_t addr, void *buf, size_t len)
{
	size_t		done = 0;

	while (done < len)
	{
		uint64_t	a = addr + done;
		const image_region *r;
		size_t		want,
					got;

		if (a < addr)
			break;				/* wrapped around */
		r = image_region_find(im, a);
		if (!r)
			break;
		want = r->end - a < len - done ? (size_t) (r->end - a) : len - done;
		got = region_read(im, r, a - r->start, (unsigned char *) buf + done, want);
		done += got;
		if (got < want)
			break;
	}
	return done;
}

const void *
image_ptr(image_t *im, uint64_t addr, size_t len)
{
	const image_region *r = image_region_find(im, addr);

	if (!r || !r->data || addr - r->start > r->present ||
		len > r->present - (addr - r->start))
		return NULL;
	return r->data + (addr - r->start);
}

/* Threads, auxv, symbols ------------------------------------------------ */

image_thread *
imgi_add_thread(image_t *im)
{
	if (im->nthreads >= IMG_MAX_THREADS)
		return NULL;
	im->threads = realloc(im->threads, (im->nthreads + 1) * sizeof(image_thread));
	if (!im->threads)
	{
		fprintf(stderr, "mcxt: out of memory\n");
		exit(1);
	}
	memset(&im->threads[im->nthreads], 0, sizeof(image_thread));
	return &im->threads[im->nthreads++];
}

size_t
image_nthreads(const image_t *im)
{
	return im->nthreads;
}

const image_thread *
image_thread_get(const image_t *im, size_t i)
{
	return i < im->nthreads ? &im->threads[i] : NULL;
}

bool
image_auxv(const image_t *im, uint64_t type, uint64_t *val)
{
	for (size_t i = 0; i < im->nauxv; i++)
		if (im->auxv[2 * i] == type)
		{
			*val = im->auxv[2 * i + 1];
			return true;
		}
	return false;
}

static bool
symbol_in_file(image_t *im, int idx, const char *name, uint64_t *addr)
{
	image_file *f = &im->files[idx];
	uint64_t	value,
				size;

	if (!file_load(im, idx))
		return false;
	if (!f->is_elf || !f->has_bias || !elf_obj_symbol(&f->elf, name, &value, &size))
		return false;
	*addr = value + f->bias;
	return true;
}

bool
image_symbol(image_t *im, const char *name, uint64_t *addr, const char **where)
{
	if (im->exe_file >= 0 && symbol_in_file(im, im->exe_file, name, addr))
	{
		if (where)
			*where = im->files[im->exe_file].open_path;
		return true;
	}
	for (size_t i = 0; i < im->nfiles; i++)
	{
		if ((int) i == im->exe_file)
			continue;
		if (symbol_in_file(im, (int) i, name, addr))
		{
			if (where)
				*where = im->files[i].open_path;
			return true;
		}
	}
	return false;
}

/* Facts ----------------------------------------------------------------- */

image_kind
image_get_kind(const image_t *im)
{
	return im->kind;
}

const char *
image_target(const image_t *im)
{
	return im->target;
}

int
image_pid(const image_t *im)
{
	return im->pid;
}

const char *
image_cmdline(const image_t *im)
{
	return im->cmdline;
}

image_producer
image_get_producer(const image_t *im)
{
	return im->producer;
}

uint64_t
image_file_size(const image_t *im)
{
	return im->size;
}

bool
image_has_nt_file(const image_t *im)
{
	return im->has_nt_file;
}

bool
image_coredump_filter(const image_t *im, unsigned *filter)
{
	*filter = im->cdfilter;
	return im->has_cdfilter;
}

void
image_release(image_t *im)
{
	if (im->kind == IMAGE_LIVE)
		imgi_live_release(im);
}

void
image_close(image_t *im)
{
	if (!im)
		return;
	image_release(im);
	if (im->memfd >= 0)
		close(im->memfd);
	if (im->own_map && im->map)
		munmap((void *) im->map, im->size);
	for (size_t i = 0; i < im->nfiles; i++)
	{
		if (im->files[i].map)
			munmap((void *) im->files[i].map, im->files[i].size);
		free(im->files[i].path);
	}
	for (size_t i = 0; i < im->nregions; i++)
		if (im->regions[i].label && im->kind == IMAGE_LIVE)
			free((char *) im->regions[i].label);
	for (size_t i = 0; i < im->nwarnings; i++)
		free(im->warnings[i]);
	free(im->warnings);
	free(im->files);
	free(im->fhash);
	free(im->file_rlist);
	free(im->regions);
	free(im->threads);
	free(im->auxv);
	free(im->stopped);
	free(im->cmdline);
	free(im->target);
	free(im->exe_opt);
	free(im);
}
