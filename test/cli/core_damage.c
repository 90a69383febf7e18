/*
 * core_damage.c
 *	  Make damaged (or shrunken) copies of a real ELF core for the
 *	  robustness tests and the fuzz seed corpus.
 *
 * Usage: core_damage IN OUT MODE [ARG]
 *   truncate N          the first N bytes only
 *   ehdr-class | ehdr-machine | ehdr-type | ehdr-magic
 *   phoff-huge | phnum-big | phnum-xnum | phentsize
 *   load-offset-huge | load-filesz-huge | load-vaddr-wrap | load-overlap | load-all-huge
 *   note-offset-huge | note-filesz-huge | note-namesz-huge | note-descsz-huge
 *   note-prstatus-short | auxv-garbage
 *   ntfile-count-huge | ntfile-pagesize-zero | ntfile-pagesize-odd | ntfile-names-unterminated
 *   ntfile-ranges-absurd
 *   flip N SEED         flip N pseudo-random bytes in the headers and notes
 *   shrink K            keep headers and notes, at most K bytes of each segment
 *                       (p_filesz < p_memsz afterwards): small valid seeds
 * The input is a core the test just made with gcore or the kernel; this
 * tool trusts it only as far as it needs to find the fields it damages, and
 * exits 1 if it cannot find them.
 */
#define _GNU_SOURCE
#include <elf.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static unsigned char *buf;
static size_t size;

static _Noreturn void
die(const char *msg)
{
	fprintf(stderr, "core_damage: %s\n", msg);
	exit(1);
}

static Elf64_Ehdr *
ehdr(void)
{
	if (size < sizeof(Elf64_Ehdr))
		die("input too short");
	return (Elf64_Ehdr *) buf;
}

static Elf64_Phdr *
phdr(int i)
{
	Elf64_Ehdr *eh = ehdr();

	if (eh->e_phoff + (uint64_t) (i + 1) * sizeof(Elf64_Phdr) > size)
		die("program header outside the input");
	return (Elf64_Phdr *) (buf + eh->e_phoff + (size_t) i * sizeof(Elf64_Phdr));
}

static Elf64_Phdr *
find_phdr(uint32_t type, int nth, int need_filesz)
{
	int			seen = 0;

	for (int i = 0; i < ehdr()->e_phnum; i++)
	{
		Elf64_Phdr *ph = phdr(i);

		if (ph->p_type == type && (!need_filesz || ph->p_filesz > 0) && seen++ == nth)
			return ph;
	}
	die("no such program header");
	return NULL;
}

/* Header of the first note of the given type (4-byte aligned notes). */
static unsigned char *
find_note(uint32_t type)
{
	Elf64_Phdr *ph = find_phdr(PT_NOTE, 0, 1);
	size_t		pos = ph->p_offset,
				end = ph->p_offset + ph->p_filesz;

	while (pos + 12 <= end && end <= size)
	{
		uint32_t	namesz,
					descsz,
					t;

		memcpy(&namesz, buf + pos, 4);
		memcpy(&descsz, buf + pos + 4, 4);
		memcpy(&t, buf + pos + 8, 4);
		if (t == type)
			return buf + pos;
		pos += 12 + ((namesz + 3) & ~3u) + ((descsz + 3) & ~3u);
	}
	die("note not found");
	return NULL;
}

static unsigned char *
note_desc(unsigned char *n)
{
	uint32_t	namesz;

	memcpy(&namesz, n, 4);
	return n + 12 + ((namesz + 3) & ~3u);
}

static void
put64(unsigned char *p, uint64_t v)
{
	memcpy(p, &v, 8);
}

static void
put32(unsigned char *p, uint32_t v)
{
	memcpy(p, &v, 4);
}

static void
write_out(const char *path, const unsigned char *b, size_t n)
{
	FILE	   *f = fopen(path, "wb");

	if (!f || fwrite(b, 1, n, f) != n || fclose(f) != 0)
		die("cannot write output");
}

/* Keep headers and notes, at most k bytes of each PT_LOAD. */
static void
shrink(const char *out, uint64_t k)
{
	Elf64_Ehdr	eh = *ehdr();
	size_t		cap = sizeof(eh) + (size_t) eh.e_phnum * sizeof(Elf64_Phdr);
	unsigned char *o;
	size_t		len;
	Elf64_Phdr *phs;

	for (int i = 0; i < eh.e_phnum; i++)
		cap += (phdr(i)->p_type == PT_NOTE ? phdr(i)->p_filesz : k) + 8;
	o = calloc(1, cap);
	eh.e_phoff = sizeof(eh);
	eh.e_shoff = 0;
	eh.e_shnum = 0;
	eh.e_shstrndx = 0;
	memcpy(o, &eh, sizeof(eh));
	phs = (Elf64_Phdr *) (o + sizeof(eh));
	len = sizeof(eh) + (size_t) eh.e_phnum * sizeof(Elf64_Phdr);
	for (int i = 0; i < eh.e_phnum; i++)
	{
		Elf64_Phdr	ph = *phdr(i);
		uint64_t	keep = ph.p_type == PT_NOTE ? ph.p_filesz :
			(ph.p_filesz < k ? ph.p_filesz : k);

		if (ph.p_offset + keep > size)
			die("segment outside the input");
		len = (len + 7) & ~(size_t) 7;
		memcpy(o + len, buf + ph.p_offset, keep);
		ph.p_offset = len;
		ph.p_filesz = keep;
		len += keep;
		phs[i] = ph;
	}
	write_out(out, o, len);
	free(o);
}

int
main(int argc, char **argv)
{
	FILE	   *f;
	const char *mode;
	uint64_t	arg = argc > 4 ? strtoull(argv[4], NULL, 0) : 0;
	long		fsz = 0;

	if (argc < 4)
	{
		fprintf(stderr, "usage: core_damage IN OUT MODE [ARG]\n");
		return 2;
	}
	mode = argv[3];
	f = fopen(argv[1], "rb");
	if (!f || fseek(f, 0, SEEK_END) != 0 || (fsz = ftell(f)) <= 0)
		die("cannot read input");
	size = (size_t) fsz;
	buf = malloc(size);
	rewind(f);
	if (!buf || fread(buf, 1, size, f) != size)
		die("cannot read input");
	fclose(f);

	if (strcmp(mode, "truncate") == 0)
	{
		write_out(argv[2], buf, arg < size ? (size_t) arg : size);
		return 0;
	}
	if (strcmp(mode, "shrink") == 0)
	{
		shrink(argv[2], arg);
		return 0;
	}
	if (strcmp(mode, "ehdr-class") == 0)
		buf[EI_CLASS] = ELFCLASS32;
	else if (strcmp(mode, "ehdr-magic") == 0)
		buf[1] = 'X';
	else if (strcmp(mode, "ehdr-machine") == 0)
		ehdr()->e_machine = EM_386;
	else if (strcmp(mode, "ehdr-type") == 0)
		ehdr()->e_type = ET_EXEC;
	else if (strcmp(mode, "phoff-huge") == 0)
		ehdr()->e_phoff = 0xffffffffffff0000ULL;
	else if (strcmp(mode, "phnum-big") == 0)
		ehdr()->e_phnum = 60000;
	else if (strcmp(mode, "phnum-xnum") == 0)
		ehdr()->e_phnum = PN_XNUM;
	else if (strcmp(mode, "phentsize") == 0)
		ehdr()->e_phentsize = 32;
	else if (strcmp(mode, "load-offset-huge") == 0)
		find_phdr(PT_LOAD, 0, 1)->p_offset = 1ULL << 62;
	else if (strcmp(mode, "load-filesz-huge") == 0)
	{
		Elf64_Phdr *ph = find_phdr(PT_LOAD, 0, 1);

		ph->p_filesz = ph->p_memsz = 1ULL << 62;
	}
	else if (strcmp(mode, "load-vaddr-wrap") == 0)
	{
		Elf64_Phdr *ph = find_phdr(PT_LOAD, 0, 1);

		ph->p_vaddr = 0xfffffffffffff000ULL;
		ph->p_memsz = 0x100000;
	}
	else if (strcmp(mode, "load-overlap") == 0)
	{
		for (int i = 0; i < ehdr()->e_phnum; i++)
			if (phdr(i)->p_type == PT_LOAD)
				phdr(i)->p_vaddr = 0x400000;
	}
	else if (strcmp(mode, "load-all-huge") == 0)
	{
		for (int i = 0; i < ehdr()->e_phnum; i++)
			if (phdr(i)->p_type == PT_LOAD)
			{
				phdr(i)->p_memsz = 0x7fffffffffffULL;
				phdr(i)->p_vaddr = 0x1000;
			}
	}
	else if (strcmp(mode, "note-offset-huge") == 0)
		find_phdr(PT_NOTE, 0, 1)->p_offset = 1ULL << 62;
	else if (strcmp(mode, "note-filesz-huge") == 0)
		find_phdr(PT_NOTE, 0, 1)->p_filesz = 1ULL << 62;
	else if (strcmp(mode, "note-namesz-huge") == 0)
		put32(find_note(NT_PRSTATUS), 0xffffffffu);
	else if (strcmp(mode, "note-descsz-huge") == 0)
		put32(find_note(NT_PRSTATUS) + 4, 0xfffffff0u);
	else if (strcmp(mode, "note-prstatus-short") == 0)
		put32(find_note(NT_PRSTATUS) + 4, 8);
	else if (strcmp(mode, "auxv-garbage") == 0)
	{
		unsigned char *n = find_note(NT_AUXV);
		uint32_t	descsz;

		memcpy(&descsz, n + 4, 4);
		memset(note_desc(n), 0xff, descsz);
	}
	else if (strcmp(mode, "ntfile-count-huge") == 0)
		put64(note_desc(find_note(NT_FILE)), 1ULL << 60);
	else if (strcmp(mode, "ntfile-pagesize-zero") == 0)
		put64(note_desc(find_note(NT_FILE)) + 8, 0);
	else if (strcmp(mode, "ntfile-pagesize-odd") == 0)
		put64(note_desc(find_note(NT_FILE)) + 8, 12345);
	else if (strcmp(mode, "ntfile-names-unterminated") == 0)
	{
		unsigned char *n = find_note(NT_FILE);
		unsigned char *d = note_desc(n);
		uint32_t	descsz;
		uint64_t	count;

		memcpy(&descsz, n + 4, 4);
		memcpy(&count, d, 8);
		if (16 + 24 * count > descsz)
			die("NT_FILE too small");
		memset(d + 16 + 24 * count, 'A', descsz - 16 - 24 * count);
	}
	else if (strcmp(mode, "ntfile-ranges-absurd") == 0)
	{
		unsigned char *d = note_desc(find_note(NT_FILE));
		uint64_t	count;

		memcpy(&count, d, 8);
		for (uint64_t i = 0; i < count; i++)
		{
			put64(d + 16 + 24 * i, i % 2 ? 0 : 0xfffffffffffff000ULL);
			put64(d + 16 + 24 * i + 8, i % 2 ? UINT64_MAX : 0x1000);
			put64(d + 16 + 24 * i + 16, UINT64_MAX / 2);
		}
	}
	else if (strcmp(mode, "flip") == 0)
	{
		uint64_t	seed = argc > 5 ? strtoull(argv[5], NULL, 0) : 1;
		Elf64_Phdr *note = find_phdr(PT_NOTE, 0, 1);
		size_t		span = note->p_offset + note->p_filesz;

		if (span > size)
			span = size;
		for (uint64_t i = 0; i < arg; i++)
		{
			seed = seed * 6364136223846793005ULL + 1442695040888963407ULL;
			buf[(seed >> 33) % span] ^= (unsigned char) (1u << ((seed >> 20) & 7));
		}
	}
	else
	{
		fprintf(stderr, "core_damage: unknown mode %s\n", mode);
		return 2;
	}
	write_out(argv[2], buf, size);
	return 0;
}
