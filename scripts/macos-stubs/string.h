/* The mem* prototypes ring's C includes, for the macOS type-check (see TargetConditionals.h). */
#ifndef EKSOP_STUB_STRING_H
#define EKSOP_STUB_STRING_H
#include <stddef.h>
void *memcpy(void *dst, const void *src, size_t n);
void *memmove(void *dst, const void *src, size_t n);
void *memset(void *dst, int c, size_t n);
int memcmp(const void *a, const void *b, size_t n);
#endif
