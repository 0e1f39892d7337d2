/* assert.h for the macOS type-check (see TargetConditionals.h). */
#ifndef EKSOP_STUB_ASSERT_H
#define EKSOP_STUB_ASSERT_H
#define assert(e) ((void)0)
#endif
