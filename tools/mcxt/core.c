/*
 * core.c
 *	  The ELF core backend: map the file, read program headers and notes
 *	  into the image's regions, threads, auxv and file table.
 *
 * Both writers are handled.  The kernel emits a PT_LOAD for every mapping,
 * with p_filesz = 0 (or one page, for the ELF header of a file mapping) when
 * coredump_filter excluded it; gdb's gcore simply leaves such mappings out,
 * so they are known only from NT_FILE.  Either way the region gets the file
 * name and offset from NT_FILE and image.c reads the missing bytes from disk.
 *
 * Untrusted input: the core is mmapped read-only, and every offset, size and
 * count is checked against the mapping's size before use (elfread.c).  A
 * truncated segment keeps the bytes that exist and is flagged; damaged notes
 * are skipped with a warning; only an unreadable ELF header or program
 * header table makes the open fail.
 */
#define _GNU_SOURCE
#include "image_int.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

/* x86-64 struct elf_prstatus / elf_prpsinfo offsets (linux/elfcore.h). */
#define PRSTATUS_PID_OFF	32
#define PRSTATUS_REG_OFF	112
#define PRSTATUS_MIN_SIZE	(PRSTATUS_REG_OFF + IMG_NREGS * 8)
#define PRPSINFO_PID_OFF	24
#define PRPSINFO_FNAME_OFF	40
#define PRPSINFO_ARGS_OFF	56
#define PRPSINFO_ARGS_LEN	80
#define PRPSINFO_SIZE		136

#define NT_GDB_TDESC_TYPE	0xff000000u

static void
core_note_prstatus(image_t *im, const elf_note *n)
{
	image_thread *t;

	if (n->descsz < PRSTATUS_PID_OFF + 4)
	{
		image_warn(im, "%s: NT_PRSTATUS note too short (%u bytes); thread skipped",
				   im->target, n->descsz);
		return;
	}
	t = imgi_add_thread(im);
	if (!t)
		return;
	t->tid = (int32_t) elf_rd32(n->desc + PRSTATUS_PID_OFF);
	if (n->descsz >= PRSTATUS_MIN_SIZE)
	{
		t->has_regs = true;
		for (int i = 0; i < IMG_NREGS; i++)
			t->regs[i] = elf_rd64(n->desc + PRSTATUS_REG_OFF + 8 * i);
	}
}

static void
core_note_prpsinfo(image_t *im, const elf_note *n)
{
	char		args[PRPSINFO_ARGS_LEN + 1];
	size_t		len;

	if (n->descsz < PRPSINFO_SIZE)
		return;
	im->pid = (int32_t) elf_rd32(n->desc + PRPSINFO_PID_OFF);
	memcpy(args, n->desc + PRPSINFO_ARGS_OFF, PRPSINFO_ARGS_LEN);
	args[PRPSINFO_ARGS_LEN] = '\0';
	len = strlen(args);
	while (len > 0 && args[len - 1] == ' ')
		len--;
	for (size_t i = 0; i < len; i++)
		if ((unsigned char) args[i] < 0x20 || (unsigned char) args[i] > 0x7e)
			args[i] = '?';
	free(im->cmdline);
	im->cmdline = imgi_strdup(args, len);
}

static void
core_note_auxv(image_t *im, const elf_note *n)
{
	size_t		count = n->descsz / 16;

	free(im->auxv);
	im->auxv = imgi_alloc(count * 2 * sizeof(uint64_t));
	im->nauxv = 0;
	for (size_t i = 0; i < count; i++)
	{
		uint64_t	type = elf_rd64(n->desc + 16 * i);

		if (type == AT_NULL)
			break;
		im->auxv[2 * im->nauxv] = type;
		im->auxv[2 * im->nauxv + 1] = elf_rd64(n->desc + 16 * i + 8);
		im->nauxv++;
	}
}

/*
 * NT_FILE: count, page_size, count x {start, end, page offset}, then count
 * NUL-terminated names.  Applied after all PT_LOADs are known.
 */
static void
core_note_file(image_t *im, const elf_note *n)
{
	uint64_t	count,
				page;
	const char *names,
			   *names_end;
	size_t		nsorted;

	if (n->descsz < 16)
	{
		image_warn(im, "%s: NT_FILE note too short; mapped files unknown", im->target);
		return;
	}
	count = elf_rd64(n->desc);
	page = elf_rd64(n->desc + 8);
	if (page == 0 || (page & (page - 1)) != 0 || page > (1u << 30))
	{
		image_warn(im, "%s: NT_FILE note has an invalid page size %llu; mapped files unknown",
				   im->target, (unsigned long long) page);
		return;
	}
	if (count > (n->descsz - 16) / 24)
	{
		image_warn(im, "%s: NT_FILE note claims %llu entries but has room for %u; "
				   "extra entries ignored", im->target, (unsigned long long) count,
				   (n->descsz - 16) / 24);
		count = (n->descsz - 16) / 24;
	}
	im->has_nt_file = true;
	names = (const char *) n->desc + 16 + 24 * count;
	names_end = (const char *) n->desc + n->descsz;
	imgi_finish_regions(im);
	nsorted = im->nregions;
	for (uint64_t i = 0; i < count; i++)
	{
		const unsigned char *e = n->desc + 16 + 24 * i;
		uint64_t	start = elf_rd64(e),
					end = elf_rd64(e + 8),
					pgofs = elf_rd64(e + 16),
					ofs;
		const char *nul = memchr(names, '\0', (size_t) (names_end - names));

		if (!nul)
		{
			image_warn(im, "%s: NT_FILE names end early; %llu of %llu mapped files unnamed",
					   im->target, (unsigned long long) (count - i),
					   (unsigned long long) count);
			break;
		}
		if (end > start && !__builtin_mul_overflow(pgofs, page, &ofs) && names[0] != '\0')
			imgi_apply_file_map(im, nsorted, start, end, ofs, names);
		else
			image_warn(im, "%s: NT_FILE entry %llu is invalid; ignored", im->target,
					   (unsigned long long) i);
		names = nul + 1;
	}
	imgi_finish_regions(im);
}

static void
core_notes(image_t *im, const Elf64_Phdr *ph)
{
	elf_note_iter it;
	elf_note	n;
	uint64_t	len = ph->p_filesz;

	if (ph->p_offset >= im->size)
	{
		image_warn(im, "%s: note segment at offset %#llx lies beyond the end of the file "
				   "(%zu bytes); threads, auxv and mapped files unknown",
				   im->target, (unsigned long long) ph->p_offset, im->size);
		return;
	}
	if (len > im->size - ph->p_offset)
	{
		image_warn(im, "%s: note segment truncated (%llu of %llu bytes in the file)",
				   im->target, (unsigned long long) (im->size - ph->p_offset),
				   (unsigned long long) len);
		len = im->size - ph->p_offset;
	}
	elf_note_init(&it, im->map + ph->p_offset, (size_t) len, ph->p_align);
	while (elf_note_next(&it, &n))
	{
		if (elf_note_is(&n, "GDB") || n.type == NT_GDB_TDESC_TYPE)
			im->producer = IMG_BY_GDB;
		if (!elf_note_is(&n, "CORE"))
			continue;
		switch (n.type)
		{
			case NT_PRSTATUS:
				core_note_prstatus(im, &n);
				break;
			case NT_PRPSINFO:
				core_note_prpsinfo(im, &n);
				break;
			case NT_AUXV:
				core_note_auxv(im, &n);
				break;
			case NT_FILE:
				core_note_file(im, &n);
				break;
			default:
				break;
		}
	}
	if (it.damaged)
		image_warn(im, "%s: damaged note at offset %#llx of the note segment; later notes ignored",
				   im->target, (unsigned long long) it.pos);
}

static void
core_load(image_t *im, const Elf64_Phdr *ph, uint64_t *missing, uint64_t *want_size)
{
	image_region *r;
	uint64_t	filesz = ph->p_filesz;

	if (ph->p_memsz == 0)
		return;
	if (ph->p_vaddr + ph->p_memsz < ph->p_vaddr)
	{
		image_warn(im, "%s: segment at %#llx has an impossible size %#llx; ignored",
				   im->target, (unsigned long long) ph->p_vaddr,
				   (unsigned long long) ph->p_memsz);
		return;
	}
	if (filesz > ph->p_memsz)
	{
		image_warn(im, "%s: segment at %#llx has p_filesz > p_memsz; clipped",
				   im->target, (unsigned long long) ph->p_vaddr);
		filesz = ph->p_memsz;
	}
	r = imgi_add_region(im);
	if (!r)
	{
		image_warn(im, "%s: too many segments; the rest ignored", im->target);
		return;
	}
	r->start = ph->p_vaddr;
	r->end = ph->p_vaddr + ph->p_memsz;
	r->prot = ((ph->p_flags & PF_R) ? IMG_PROT_R : 0) |
		((ph->p_flags & PF_W) ? IMG_PROT_W : 0) |
		((ph->p_flags & PF_X) ? IMG_PROT_X : 0);
	r->expected = filesz;
	if (filesz > 0 && ph->p_offset + filesz > *want_size && ph->p_offset + filesz > ph->p_offset)
		*want_size = ph->p_offset + filesz;
	if (ph->p_offset < im->size)
	{
		r->present = filesz < im->size - ph->p_offset ? filesz : im->size - ph->p_offset;
		r->data = r->present ? im->map + ph->p_offset : NULL;
	}
	if (r->present < filesz)
	{
		r->flags |= IMG_REG_TRUNCATED;
		*missing += filesz - r->present;
	}
	if (r->start == 0xffffffffff600000ULL)
	{
		r->flags |= IMG_REG_SPECIAL;
		r->label = "[vsyscall]";
	}
}

/* Guess [vdso] (an executable anonymous segment that starts with an ELF header). */
static void
core_label_special(image_t *im)
{
	uint64_t	vdso;

	if (image_auxv(im, AT_SYSINFO_EHDR, &vdso))
	{
		for (size_t i = 0; i < im->nregions; i++)
		{
			image_region *r = &im->regions[i];

			if (r->start == vdso && r->path == NULL)
			{
				r->flags |= IMG_REG_SPECIAL;
				r->label = "[vdso]";
				/* [vvar] sits just below the vdso and is never dumped */
				if (i > 0 && im->regions[i - 1].end == vdso && im->regions[i - 1].path == NULL &&
					im->regions[i - 1].present == 0)
				{
					im->regions[i - 1].flags |= IMG_REG_SPECIAL;
					im->regions[i - 1].label = "[vvar]";
				}
			}
		}
	}
}

const char *
imgi_core_parse(image_t *im)
{
	static char why[256];
	Elf64_Ehdr	eh;
	uint32_t	phnum;
	const char *err;
	uint64_t	missing = 0,
				want_size = 0;
	bool		zero_filesz = false;
	Elf64_Phdr	ph;

	err = elf_check_header(im->map, im->size, ET_CORE, &eh, &phnum);
	if (err)
		return err;
	if (phnum == 0)
		return "core file has no program headers";

	for (uint32_t i = 0; i < phnum; i++)
	{
		if (!elf_phdr(im->map, im->size, &eh, i, &ph))
			break;
		if (ph.p_type == PT_LOAD)
		{
			core_load(im, &ph, &missing, &want_size);
			if (ph.p_filesz == 0 && ph.p_memsz > 0)
				zero_filesz = true;
		}
	}
	imgi_finish_regions(im);
	for (uint32_t i = 0; i < phnum; i++)
	{
		if (!elf_phdr(im->map, im->size, &eh, i, &ph))
			break;
		if (ph.p_type == PT_NOTE)
			core_notes(im, &ph);
	}
	if (im->nregions == 0)
	{
		snprintf(why, sizeof(why), "core file has no memory segments (no usable PT_LOAD among %u program headers)",
				 phnum);
		return why;
	}
	if (im->producer == IMG_BY_UNKNOWN && zero_filesz)
		im->producer = IMG_BY_KERNEL;
	core_label_special(im);

	if (missing > 0)
		image_warn(im, "%s: core file is truncated: %zu bytes, the segments need %llu; "
				   "%llu bytes of memory are missing and analysis will be partial",
				   im->target, im->size, (unsigned long long) want_size,
				   (unsigned long long) missing);
	if (im->nthreads == 0)
		image_warn(im, "%s: no NT_PRSTATUS notes: thread list unknown", im->target);
	if (im->nauxv == 0)
		image_warn(im, "%s: no NT_AUXV note: executable entry point and load bias unknown",
				   im->target);
	if (!im->has_nt_file)
		image_warn(im, "%s: no NT_FILE note: mapped files unknown, bytes the core left out "
				   "cannot be read from disk (give the executable with --exe)", im->target);
	imgi_index_files(im);
	imgi_find_exe(im, NULL);
	return NULL;
}

image_t *
image_open_buffer(const unsigned char *buf, size_t size, const image_opts *opts,
				  char *err, size_t errlen)
{
	image_t    *im = imgi_new(IMAGE_CORE, opts, "<buffer>");
	const char *why;

	im->map = buf;
	im->size = size;
	why = imgi_core_parse(im);
	if (why)
	{
		snprintf(err, errlen, "%s: %s", im->target, why);
		image_close(im);
		return NULL;
	}
	return im;
}

image_t *
image_open_core(const char *path, const image_opts *opts, char *err, size_t errlen)
{
	image_t    *im;
	struct stat st;
	int			fd;
	void	   *m;
	const char *why;

	fd = open(path, O_RDONLY | O_NONBLOCK | O_NOCTTY | O_CLOEXEC);
	if (fd < 0)
	{
		snprintf(err, errlen, "%s: cannot open: %s", path, strerror(errno));
		return NULL;
	}
	if (fstat(fd, &st) != 0 || !S_ISREG(st.st_mode))
	{
		snprintf(err, errlen, "%s: not a regular file", path);
		close(fd);
		return NULL;
	}
	if (st.st_size == 0)
	{
		snprintf(err, errlen, "%s: empty file, not a core", path);
		close(fd);
		return NULL;
	}
	m = mmap(NULL, (size_t) st.st_size, PROT_READ, MAP_PRIVATE, fd, 0);
	close(fd);
	if (m == MAP_FAILED)
	{
		snprintf(err, errlen, "%s: cannot map: %s", path, strerror(errno));
		return NULL;
	}
	im = imgi_new(IMAGE_CORE, opts, path);
	im->map = m;
	im->size = (size_t) st.st_size;
	im->own_map = true;
	why = imgi_core_parse(im);
	if (why)
	{
		snprintf(err, errlen, "%s: %s", path, why);
		image_close(im);
		return NULL;
	}
	return im;
}
