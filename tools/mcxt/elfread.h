/*
 * elfread.h
 *	  Bounds-checked reading of ELF64 little-endian x86-64 files: headers,
 *	  program headers, notes, symbols and the GNU build-id.
 *
 * Everything here works on a byte buffer (usually an mmapped file) whose
 * size is known, and treats every offset and count found in it as untrusted:
 * a value is used only after it has been checked against the buffer size,
 * with overflow-safe arithmetic.  Nothing allocates; nothing loops more
 * often than the buffer has bytes.  Both the core parser (core.c) and the
 * on-disk executable/library reader (for symbols and for bytes a core left
 * out) are built on these helpers, so the fuzz target covers both.
 */
#ifndef MCXT_TOOL_ELFREAD_H
#define MCXT_TOOL_ELFREAD_H

#include <elf.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* Read little-endian integers from possibly unaligned memory. */
uint16_t	elf_rd16(const unsigned char *p);
uint32_t	elf_rd32(const unsigned char *p);
uint64_t	elf_rd64(const unsigned char *p);

/* True if [off, off + len) lies inside a buffer of 'size' bytes. */
bool		elf_in_bounds(uint64_t off, uint64_t len, uint64_t size);

/*
 * Check the ELF header of buf (size bytes): ELF64, little-endian, x86-64,
 * and e_type == want_type (ET_CORE, or 0 meaning ET_EXEC or ET_DYN).  On
 * success copies the header to *eh, sets *phnum (PN_XNUM resolved through
 * section header 0) and returns NULL; on failure returns a static message
 * saying what is wrong.
 */
const char *elf_check_header(const unsigned char *buf, size_t size, int want_type,
							 Elf64_Ehdr *eh, uint32_t *phnum);

/*
 * Copy program header i into *ph.  Returns false (and leaves *ph zeroed) if
 * it lies outside the buffer.
 */
bool		elf_phdr(const unsigned char *buf, size_t size, const Elf64_Ehdr *eh,
					 uint32_t i, Elf64_Phdr *ph);

/* Copy section header i; false if outside the buffer. */
bool		elf_shdr(const unsigned char *buf, size_t size, const Elf64_Ehdr *eh,
					 uint32_t i, Elf64_Shdr *sh);

/*
 * Iterate the notes in [p, p + len).  align is 4 or 8 (from p_align).
 * elf_note_next returns false at the end or at the first note that does not
 * fit; it then sets it->damaged when bytes were left over.
 */
typedef struct elf_note_iter
{
	const unsigned char *p;
	size_t		len;
	size_t		pos;
	size_t		align;
	bool		damaged;
} elf_note_iter;

typedef struct elf_note
{
	uint32_t	type;
	const char *name;			/* not necessarily NUL-terminated */
	uint32_t	namesz;			/* including the NUL, as in the file */
	const unsigned char *desc;
	uint32_t	descsz;
} elf_note;

void		elf_note_init(elf_note_iter *it, const unsigned char *p, size_t len, uint64_t align);
bool		elf_note_next(elf_note_iter *it, elf_note *n);
bool		elf_note_is(const elf_note *n, const char *owner);

/*
 * A parsed ELF executable or shared object in memory (mmapped file).  Only
 * pointers into the buffer and checked counts are kept.
 */
typedef struct elf_obj
{
	const unsigned char *buf;
	size_t		size;
	Elf64_Ehdr	eh;
	uint32_t	phnum;
	uint64_t	first_load_vaddr;	/* p_vaddr of the first PT_LOAD, page-aligned down */
	bool		has_load;
} elf_obj;

/* Parse buf as ET_EXEC or ET_DYN.  NULL on success, else a static message. */
const char *elf_obj_parse(elf_obj *o, const unsigned char *buf, size_t size);

/*
 * Look a symbol up by name in .symtab, then .dynsym.  Defined symbols only.
 * Returns true and sets *value (the unrelocated st_value) and *size.
 */
bool		elf_obj_symbol(const elf_obj *o, const char *name, uint64_t *value, uint64_t *size);

/* The GNU build-id note's bytes, from the program headers; false if none. */
bool		elf_obj_build_id(const elf_obj *o, const unsigned char **id, size_t *len,
							 uint64_t *note_vaddr);

/* PF_R/PF_W/PF_X flags of the PT_LOAD containing file offset off, or 0. */
unsigned	elf_obj_prot_at(const elf_obj *o, uint64_t off);

#endif							/* MCXT_TOOL_ELFREAD_H */
