/* assets.h: files built into the binary (the dashboard, the OpenAPI
 * document), generated from web/ by tools/embed.c at build time. */
#ifndef SEGUE_ASSETS_H
#define SEGUE_ASSETS_H

#include <stddef.h>

typedef struct asset {
	const char *path;          /* URL path, "/index.html" */
	const char *type;          /* Content-Type */
	const unsigned char *data; /* bytes (NUL-terminated for convenience) */
	size_t len;                /* bytes, excluding that NUL */
} asset;

extern const asset assets[];
extern const size_t nassets;

/* Finds an asset by URL path; NULL when absent. */
const asset *asset_find(const char *path);

#endif
