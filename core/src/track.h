/* Sanitizer and valgrind hooks, with no-op defaults. Every place the runtime
 * switches stacks or hands a stack out goes through these macros, so that
 * AddressSanitizer and valgrind follow the task switches. */
#ifndef CTRIO_TRACK_H
#define CTRIO_TRACK_H

#include <stddef.h>

#if defined(__SANITIZE_ADDRESS__)
#define TR__ASAN 1
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
#define TR__ASAN 1
#endif
#endif

#ifdef TR__ASAN
void __sanitizer_start_switch_fiber(void **fake_stack_save, const void *bottom, size_t size);
void __sanitizer_finish_switch_fiber(void *fake_stack_save, const void **bottom_old,
                                     size_t *size_old);
/* About to switch to a stack [bottom, bottom+size); save points at the
 * leaving context's fake-stack slot, or is NULL when it never comes back. */
#define TR__TRACK_SWITCH_START(save, bottom, size) \
    __sanitizer_start_switch_fiber((save), (bottom), (size))
/* Arrived back on a context; bottom and size receive where we came from. */
#define TR__TRACK_SWITCH_FINISH(fake, bottom, size) \
    __sanitizer_finish_switch_fiber((fake), (bottom), (size))
void __asan_unpoison_memory_region(void const volatile *addr, size_t size);
/* A stack goes back to the pool: whatever frames it held (a task stopped in
 * the middle, by tr__run_kill) must not leave poison for the next task. */
#define TR__TRACK_STACK_UNPOISON(lo, size) __asan_unpoison_memory_region((lo), (size))
#else
#define TR__TRACK_STACK_UNPOISON(lo, size) ((void)(lo), (void)(size))
#define TR__TRACK_SWITCH_START(save, bottom, size) ((void)(save), (void)(bottom), (void)(size))
#define TR__TRACK_SWITCH_FINISH(fake, bottom, size) ((void)(fake), (void)(bottom), (void)(size))
#endif

#if defined(CTRIO_HAVE_VALGRIND_H)
#include <valgrind/valgrind.h>
/* A region now used as a stack / no longer used as one. */
#define TR__TRACK_STACK_REGISTER(lo, hi) VALGRIND_STACK_REGISTER((lo), (hi))
#define TR__TRACK_STACK_DEREGISTER(id) VALGRIND_STACK_DEREGISTER(id)
/* True when stacks must be registered (read once per run). */
#define TR__TRACK_STACKS_WANTED() (RUNNING_ON_VALGRIND != 0)
#else
#define TR__TRACK_STACKS_WANTED() 0
#define TR__TRACK_STACK_REGISTER(lo, hi) ((void)(lo), (void)(hi), 0u)
#define TR__TRACK_STACK_DEREGISTER(id) ((void)(id))
#endif

#endif
