/*
 * image.h
 *	  "Give me N bytes at address A": one interface over an ELF core file and
 *	  a live process, for every analysis in the tool.
 *
 * An image is a sorted list of non-overlapping regions (address ranges with
 * protection, the file they map if any, and how many of their bytes the
 * image itself holds), a thread list, the auxiliary vector and a symbol
 * lookup.  Bytes a core left out but that a mapped file holds (the
 * executable's .rodata, shared libraries) are read from that file on disk,
 * so callers never care where a byte came from; image_read simply returns
 * how many bytes were available.
 *
 * Ownership: everything returned (regions, threads, strings) belongs to the
 * image and lives until image_close.  Problems found while opening or
 * reading (truncated segments, missing files, damaged notes) are collected
 * as warnings, each once; the commands print them.
 *
 * Extension point: a later layer (layouts, walker) needs only image_read,
 * image_ptr, image_symbol and the region iterator below.
 */
#ifndef MCXT_TOOL_IMAGE_H
#define MCXT_TOOL_IMAGE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define IMG_PROT_R		1u
#define IMG_PROT_W		2u
#define IMG_PROT_X		4u

/* Where a region's bytes come from. */
typedef enum image_source
{
	IMG_SRC_IMAGE,				/* every byte is in the core / the process */
	IMG_SRC_PARTIAL,			/* a prefix is in the core (p_filesz < p_memsz or file cut short) */
	IMG_SRC_FILE,				/* not in the core; read from the mapped file on disk */
	IMG_SRC_MISSING				/* not in the core and no file to read it from */
} image_source;

/* Region flags. */
#define IMG_REG_TRUNCATED	0x01	/* the core file ends inside this segment */
#define IMG_REG_NO_LOAD		0x02	/* known from NT_FILE only: no PT_LOAD (gcore omitted it) */
#define IMG_REG_SPECIAL		0x04	/* [vdso], [vvar], [vsyscall]: never scanned */
#define IMG_REG_SHARED		0x08	/* MAP_SHARED (live processes only; cores do not say) */
#define IMG_REG_FILE_BAD	0x10	/* mapped file missing, unreadable or different */

/*
 * One address range.  Invariants: start < end; regions are sorted and do not
 * overlap; present <= end - start; data != NULL iff present > 0 and the image
 * is a core (then data[0 .. present) are the bytes at start).
 */
typedef struct image_region
{
	uint64_t	start;
	uint64_t	end;
	unsigned	prot;			/* IMG_PROT_* */
	unsigned	flags;			/* IMG_REG_* */
	const char *path;			/* mapped file, or NULL for anonymous memory */
	const char *label;			/* "[heap]", "[stack]", "[vdso]"... or NULL */
	uint64_t	file_ofs;		/* byte offset of start in path */
	uint64_t	present;		/* bytes from start held by the image itself */
	uint64_t	expected;		/* core: p_filesz as written (present < expected if truncated) */
	const unsigned char *data;	/* core only: the present bytes, in the mapped core */
	uint64_t	resident;		/* live only: bytes in RAM or swap (smaps Rss + Swap) */
	bool		resident_known;
	int			file;			/* internal: index of path in the file table, or -1 */
} image_region;

/* One thread, with the general registers (user_regs_struct order). */
#define IMG_NREGS		27
#define IMG_REG_RIP		16
#define IMG_REG_RSP		19
typedef struct image_thread
{
	int64_t		tid;
	bool		has_regs;
	uint64_t	regs[IMG_NREGS];
} image_thread;

typedef enum image_kind
{
	IMAGE_CORE,
	IMAGE_LIVE
} image_kind;

/* How the core was written, as far as we can tell. */
typedef enum image_producer
{
	IMG_BY_UNKNOWN,
	IMG_BY_KERNEL,
	IMG_BY_GDB
} image_producer;

/* Options for opening. */
typedef struct image_opts
{
	const char *exe;			/* --exe: executable to use for symbols / omitted bytes */
	bool		no_files;		/* never open files named by the image (fuzzing) */
	bool		no_freeze;		/* live: do not stop the process */
	bool		hold;			/* live: keep it stopped until image_close */
} image_opts;

typedef struct image image_t;

/*
 * Open a core file / a core already in memory / a live process.  On failure
 * returns NULL and writes a message (what and where) into err.  Warnings are
 * kept in the image.  A memory buffer must outlive the image.
 */
image_t    *image_open_core(const char *path, const image_opts *opts, char *err, size_t errlen);
image_t    *image_open_buffer(const unsigned char *buf, size_t size, const image_opts *opts,
							  char *err, size_t errlen);
image_t    *image_open_pid(int pid, const image_opts *opts, char *err, size_t errlen);
void		image_close(image_t *im);

/* Resume a held live process now (no-op otherwise). */
void		image_release(image_t *im);

/*
 * Copy up to len bytes at addr into buf.  Returns how many consecutive bytes
 * from addr were available (0 if addr is not readable at all).  Never fails
 * otherwise; missing bytes are simply not counted.
 */
size_t		image_read(image_t *im, uint64_t addr, void *buf, size_t len);

/*
 * Zero-copy access: a pointer to len bytes at addr if they lie within one
 * region's present core bytes, else NULL (then use image_read).
 */
const void *image_ptr(image_t *im, uint64_t addr, size_t len);

/* Regions, sorted by address. */
size_t		image_nregions(const image_t *im);
const image_region *image_region_get(const image_t *im, size_t i);
const image_region *image_region_find(const image_t *im, uint64_t addr);
image_source image_region_source(const image_t *im, const image_region *r);

/*
 * Open and check every mapped file now (normally done lazily), so region
 * flags (IMG_REG_FILE_BAD) and warnings are complete.
 */
void		image_load_files(image_t *im);

/* True for writable memory no file backs: heap, stack, anonymous mmaps. */
bool		image_region_is_anon_writable(const image_region *r);

size_t		image_nthreads(const image_t *im);
const image_thread *image_thread_get(const image_t *im, size_t i);

/* Auxiliary vector entry (AT_*), false if absent. */
bool		image_auxv(const image_t *im, uint64_t type, uint64_t *val);

/*
 * Resolve a symbol: the executable's .symtab/.dynsym first, then every other
 * mapped ELF file, plus that file's load bias.  Returns true and sets *addr;
 * *where (if not NULL) names the file it came from.
 */
bool		image_symbol(image_t *im, const char *name, uint64_t *addr, const char **where);

/* Descriptive facts. */
image_kind	image_get_kind(const image_t *im);
const char *image_target(const image_t *im);	/* core path, or "pid N" */
const char *image_exe_path(const image_t *im);	/* may be NULL */
const char *image_exe_open_path(const image_t *im);	/* the file read (--exe), may be NULL */

/*
 * Is the executable (the image's, or --exe) there and the one the image
 * had mapped?  0 yes; 1 it differs (ELF header, GNU build-id, size, or an
 * entry point that does not fit the mapping); -1 there is none or it
 * cannot be read.  why gets a sentence either way but 0.
 */
int			image_exe_check(image_t *im, char *why, size_t whylen);

/* The executable file's bytes (mapped), false if it cannot be read. */
bool		image_exe_bytes(image_t *im, const unsigned char **buf, size_t *size);
bool		image_exe_bias(image_t *im, uint64_t *bias);	/* load bias of the executable */
int			image_pid(const image_t *im);	/* process id, or -1 */
const char *image_cmdline(const image_t *im);	/* may be NULL */
image_producer image_get_producer(const image_t *im);
uint64_t	image_file_size(const image_t *im);	/* core size in bytes */
bool		image_has_nt_file(const image_t *im);
double		image_freeze_ms(const image_t *im);	/* live: how long the process was stopped */
bool		image_coredump_filter(const image_t *im, unsigned *filter);	/* live only */

/* Warnings collected so far. */
size_t		image_nwarnings(const image_t *im);
const char *image_warning(const image_t *im, size_t i);
void		image_warn(image_t *im, const char *fmt,...) __attribute__((format(printf, 2, 3)));

#endif							/* MCXT_TOOL_IMAGE_H */
