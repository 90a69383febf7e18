/*
 * elfread.c
 *	  Bounds-checked ELF64 helpers (see elfread.h).
 *
 * The one rule: no pointer into the buffer is formed before elf_in_bounds()
 * has approved the range, and every count read from the file is capped by
 * what the buffer could possibly hold, so a damaged file costs at most one
 * pass over its own bytes.
 */
#include "elfread.h"

#include <string.h>

uint16_t
elf_rd16(const unsigned char *p)
{
	return (uint16_t) (p[0] | (p[1] << 8));
}

uint32_t
elf_rd32(const unsigned char *p)
{
	return (uint32_t) p[0] | ((uint32_t) p[1] << 8) |
		((uint32_t) p[2] << 16) | ((uint32_t) p[3] << 24);
}

uint64_t
elf_rd64(const unsigned char *p)
{
	return (uint64_t) elf_rd32(p) | ((uint64_t) elf_rd32(p + 4) << 32);
}

bool
elf_in_bounds(uint64_t off, uint64_t len, uint64_t size)
{
	return off <= size && len <= size - off;
}

const char *
elf_check_header(const unsigned char *buf, size_t size, int want_type,
				 Elf64_Ehdr *eh, uint32_t *phnum)
{
	if (size < sizeof(Elf64_Ehdr))
		return "file is shorter than an ELF header";
	if (memcmp(buf, ELFMAG, SELFMAG) != 0)
		return "not an ELF file (bad magic)";
	memcpy(eh, buf, sizeof(*eh));
	if (eh->e_ident[EI_CLASS] != ELFCLASS64)
		return "not a 64-bit ELF file";
	if (eh->e_ident[EI_DATA] != ELFDATA2LSB)
		return "not a little-endian ELF file";
	if (eh->e_machine != EM_X86_64)
		return "not an x86-64 ELF file";
	if (want_type == ET_CORE && eh->e_type != ET_CORE)
		return "ELF file is not a core file (e_type is not ET_CORE)";
	if (want_type != ET_CORE && eh->e_type != ET_EXEC && eh->e_type != ET_DYN)
		return "ELF file is neither an executable nor a shared object";
	if (eh->e_phnum != 0 && eh->e_phentsize != sizeof(Elf64_Phdr))
		return "ELF program header entry size is wrong";

	*phnum = eh->e_phnum;
	if (eh->e_phnum == PN_XNUM)
	{
		/* the real count is in section header 0's sh_info */
		Elf64_Shdr	sh0;

		if (eh->e_shoff == 0 || !elf_shdr(buf, size, eh, 0, &sh0))
			return "ELF header says PN_XNUM but section header 0 is unreadable";
		*phnum = sh0.sh_info;
	}
	if (*phnum != 0 &&
		(eh->e_phoff == 0 ||
		 !elf_in_bounds(eh->e_phoff, (uint64_t) *phnum * sizeof(Elf64_Phdr), size)))
		return "ELF program headers lie outside the file";
	return NULL;
}

bool
elf_phdr(const unsigned char *buf, size_t size, const Elf64_Ehdr *eh,
		 uint32_t i, Elf64_Phdr *ph)
{
	uint64_t	off = eh->e_phoff + (uint64_t) i * sizeof(Elf64_Phdr);

	memset(ph, 0, sizeof(*ph));
	if (eh->e_phoff > size || (uint64_t) i > size / sizeof(Elf64_Phdr) ||
		!elf_in_bounds(off, sizeof(Elf64_Phdr), size))
		return false;
	memcpy(ph, buf + off, sizeof(*ph));
	return true;
}

bool
elf_shdr(const unsigned char *buf, size_t size, const Elf64_Ehdr *eh,
		 uint32_t i, Elf64_Shdr *sh)
{
	uint64_t	off = eh->e_shoff + (uint64_t) i * sizeof(Elf64_Shdr);

	memset(sh, 0, sizeof(*sh));
	if (eh->e_shentsize != sizeof(Elf64_Shdr) || eh->e_shoff > size ||
		(uint64_t) i > size / sizeof(Elf64_Shdr) ||
		!elf_in_bounds(off, sizeof(Elf64_Shdr), size))
		return false;
	memcpy(sh, buf + off, sizeof(*sh));
	return true;
}

/* Notes ------------------------------------------------------------------ */

static size_t
note_pad(uint64_t n, size_t align)
{
	return (size_t) ((n + align - 1) & ~(uint64_t) (align - 1));
}

void
elf_note_init(elf_note_iter *it, const unsigned char *p, size_t len, uint64_t align)
{
	it->p = p;
	it->len = len;
	it->pos = 0;
	it->align = align == 8 ? 8 : 4;
	it->damaged = false;
}

bool
elf_note_next(elf_note_iter *it, elf_note *n)
{
	size_t		left = it->len - it->pos;
	const unsigned char *h = it->p + it->pos;
	uint32_t	namesz,
				descsz;
	size_t		name_room,
				desc_room;

	if (left == 0)
		return false;
	if (left < 12)
	{
		it->damaged = true;
		return false;
	}
	namesz = elf_rd32(h);
	descsz = elf_rd32(h + 4);
	name_room = note_pad(namesz, it->align);
	desc_room = note_pad(descsz, it->align);
	/* 12-byte header; the last descriptor may omit its padding */
	if (name_room > left - 12 || descsz > left - 12 - name_room)
	{
		it->damaged = true;
		return false;
	}
	n->namesz = namesz;
	n->descsz = descsz;
	n->type = elf_rd32(h + 8);
	n->name = (const char *) h + 12;
	n->desc = h + 12 + name_room;
	if (desc_room > left - 12 - name_room)
		it->pos = it->len;
	else
		it->pos += 12 + name_room + desc_room;
	return true;
}

bool
elf_note_is(const elf_note *n, const char *owner)
{
	size_t		len = strlen(owner);

	/* namesz counts the terminating NUL; tolerate writers that omit it */
	if (n->namesz == len + 1)
		return memcmp(n->name, owner, len) == 0 && n->name[len] == '\0';
	return n->namesz == len && memcmp(n->name, owner, len) == 0;
}

/* Executables and shared objects ---------------------------------------- */

const char *
elf_obj_parse(elf_obj *o, const unsigned char *buf, size_t size)
{
	const char *why;
	Elf64_Phdr	ph;

	memset(o, 0, sizeof(*o));
	o->buf = buf;
	o->size = size;
	why = elf_check_header(buf, size, 0, &o->eh, &o->phnum);
	if (why)
		return why;
	for (uint32_t i = 0; i < o->phnum; i++)
	{
		if (!elf_phdr(buf, size, &o->eh, i, &ph))
			break;
		if (ph.p_type == PT_LOAD)
		{
			o->first_load_vaddr = ph.p_vaddr & ~(uint64_t) 0xfff;
			o->has_load = true;
			break;
		}
	}
	return NULL;
}

/*
 * Search one symbol table section (SHT_SYMTAB or SHT_DYNSYM) for name.
 * The string table is the section named by sh_link.
 */
static bool
elf_obj_search_symtab(const elf_obj *o, uint32_t want, const char *name,
					  uint64_t *value, uint64_t *size)
{
	size_t		namelen = strlen(name);
	uint32_t	shnum = o->eh.e_shnum;

	if (o->eh.e_shoff == 0)
		return false;
	if (shnum > o->size / sizeof(Elf64_Shdr))
		shnum = (uint32_t) (o->size / sizeof(Elf64_Shdr));
	for (uint32_t i = 0; i < shnum; i++)
	{
		Elf64_Shdr	sh,
					strsh;
		uint64_t	nsyms;

		if (!elf_shdr(o->buf, o->size, &o->eh, i, &sh))
			return false;
		if (sh.sh_type != want || sh.sh_entsize != sizeof(Elf64_Sym))
			continue;
		if (!elf_in_bounds(sh.sh_offset, sh.sh_size, o->size) ||
			!elf_shdr(o->buf, o->size, &o->eh, sh.sh_link, &strsh) ||
			strsh.sh_type != SHT_STRTAB ||
			!elf_in_bounds(strsh.sh_offset, strsh.sh_size, o->size))
			continue;
		nsyms = sh.sh_size / sizeof(Elf64_Sym);
		for (uint64_t s = 0; s < nsyms; s++)
		{
			Elf64_Sym	sym;

			memcpy(&sym, o->buf + sh.sh_offset + s * sizeof(Elf64_Sym), sizeof(sym));
			if (sym.st_shndx == SHN_UNDEF || sym.st_name >= strsh.sh_size)
				continue;
			if (strsh.sh_size - sym.st_name < namelen + 1)
				continue;
			if (memcmp(o->buf + strsh.sh_offset + sym.st_name, name, namelen + 1) == 0)
			{
				*value = sym.st_value;
				*size = sym.st_size;
				return true;
			}
		}
	}
	return false;
}

bool
elf_obj_symbol(const elf_obj *o, const char *name, uint64_t *value, uint64_t *size)
{
	return elf_obj_search_symtab(o, SHT_SYMTAB, name, value, size) ||
		elf_obj_search_symtab(o, SHT_DYNSYM, name, value, size);
}

bool
elf_obj_build_id(const elf_obj *o, const unsigned char **id, size_t *len,
				 uint64_t *note_vaddr)
{
	for (uint32_t i = 0; i < o->phnum; i++)
	{
		Elf64_Phdr	ph;
		elf_note_iter it;
		elf_note	n;

		if (!elf_phdr(o->buf, o->size, &o->eh, i, &ph))
			return false;
		if (ph.p_type != PT_NOTE || !elf_in_bounds(ph.p_offset, ph.p_filesz, o->size))
			continue;
		elf_note_init(&it, o->buf + ph.p_offset, ph.p_filesz, ph.p_align);
		while (elf_note_next(&it, &n))
		{
			if (n.type == NT_GNU_BUILD_ID && elf_note_is(&n, "GNU") && n.descsz > 0)
			{
				*id = n.desc;
				*len = n.descsz;
				*note_vaddr = ph.p_vaddr + (uint64_t) (n.desc - (o->buf + ph.p_offset));
				return true;
			}
		}
	}
	return false;
}

unsigned
elf_obj_prot_at(const elf_obj *o, uint64_t off)
{
	for (uint32_t i = 0; i < o->phnum; i++)
	{
		Elf64_Phdr	ph;

		if (!elf_phdr(o->buf, o->size, &o->eh, i, &ph))
			break;
		if (ph.p_type == PT_LOAD &&
			off >= (ph.p_offset & ~(uint64_t) 0xfff) &&
			off - (ph.p_offset & ~(uint64_t) 0xfff) < ph.p_filesz + (ph.p_offset & 0xfff))
			return ph.p_flags & (PF_R | PF_W | PF_X);
	}
	return 0;
}
