#pragma once
// Whether this build runs under a sanitizer's runtime: GCC says so with __SANITIZE_ADDRESS__ and
// __SANITIZE_THREAD__, clang through __has_feature. Code that the runtimes cannot bear (a dlopen
// with RTLD_DEEPBIND) or that they would misreport (OpenMP threads of an uninstrumented libgomp)
// asks here.

namespace querylens::io {

#if defined(__SANITIZE_THREAD__)
inline constexpr bool kThreadSanitizer = true;
#elif defined(__has_feature)
#if __has_feature(thread_sanitizer)
inline constexpr bool kThreadSanitizer = true;
#else
inline constexpr bool kThreadSanitizer = false;
#endif
#else
inline constexpr bool kThreadSanitizer = false;
#endif

#if defined(__SANITIZE_ADDRESS__)
inline constexpr bool kAddressSanitizer = true;
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
inline constexpr bool kAddressSanitizer = true;
#else
inline constexpr bool kAddressSanitizer = false;
#endif
#else
inline constexpr bool kAddressSanitizer = false;
#endif

inline constexpr bool kSanitizerRuntime = kThreadSanitizer || kAddressSanitizer;

}  // namespace querylens::io
