/*
 * image_reader.h
 *	  An image (image.h) as the walker's reader (walk.h): the one adapter
 *	  between the image layer and the layout/walker/analyses, shared by the
 *	  commands and the fuzz target.
 */
#ifndef MCXT_TOOL_IMAGE_READER_H
#define MCXT_TOOL_IMAGE_READER_H

#include "image.h"
#include "walk.h"

/* Fill r so the walker reads im: bytes, regions (writable ones scanned), symbols. */
void		image_reader_init(mcxt_reader *r, image_t *im);

#endif							/* MCXT_TOOL_IMAGE_READER_H */
