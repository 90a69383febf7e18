/*
 * image_reader.c
 *	  The image as the walker's reader.  Regions are every region of the
 *	  image; writable ones (but not [vdso]-like specials) are scanned for
 *	  references; zero-copy bytes are offered only when the core holds the
 *	  whole region.
 */
#include "image_reader.h"

static size_t
reader_read(void *arg, uint64_t addr, void *buf, size_t len)
{
	return image_read((image_t *) arg, addr, buf, len);
}

static bool
reader_region(void *arg, size_t i, mcxt_region *out)
{
	image_t    *im = arg;
	const image_region *r;

	if (i >= image_nregions(im))
		return false;
	r = image_region_get(im, i);
	out->start = r->start;
	out->end = r->end;
	out->writable = (r->prot & IMG_PROT_W) != 0 && !(r->flags & IMG_REG_SPECIAL);
	out->data = (r->data != NULL && r->present == r->end - r->start) ? r->data : NULL;
	return true;
}

static bool
reader_symbol(void *arg, const char *name, uint64_t *addr)
{
	return image_symbol((image_t *) arg, name, addr, NULL);
}

void
image_reader_init(mcxt_reader *r, image_t *im)
{
	r->arg = im;
	r->read = reader_read;
	r->region = reader_region;
	r->symbol = reader_symbol;
}
