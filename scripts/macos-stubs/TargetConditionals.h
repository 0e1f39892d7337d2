/* The few TargetConditionals.h macros ring's C sources test, for type-checking the macOS
   build on Linux (`cargo check --target aarch64-apple-darwin`; nothing is linked). */
#ifndef EKSOP_STUB_TARGETCONDITIONALS_H
#define EKSOP_STUB_TARGETCONDITIONALS_H
#define TARGET_OS_MAC 1
#define TARGET_OS_OSX 1
#define TARGET_OS_IPHONE 0
#define TARGET_OS_IOS 0
#define TARGET_OS_TV 0
#define TARGET_OS_WATCH 0
#define TARGET_OS_SIMULATOR 0
#endif
