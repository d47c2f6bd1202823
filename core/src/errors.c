/* Names and meanings of the codes ctrio returns, from the X-macro lists in
 * ctrio.h, so the docs, the tests and tr_strerror cannot disagree. */
#define _GNU_SOURCE
#include "internal.h"

#include <string.h>

#define TR__MESSAGE(name, value, text) case value: return #name ": " text;
#define TR__TEXT(name, value, text) case value: return text;
#define TR__NAME(name, value, text) case value: return #name;

const char *tr_strerror(int code) {
    switch (code) {
    case 0: return "success";
    TR_ERRORS_OWN(TR__MESSAGE)
    TR_ERRORS_ERRNO(TR__MESSAGE)
    default: break;
    }
    if (code < 0 && code > -4096) return strerror(-code);
    return "unknown error";
}

const char *tr_error_name(int code) {
    switch (code) {
    TR_ERRORS_OWN(TR__NAME)
    TR_ERRORS_ERRNO(TR__NAME)
    default: break;
    }
#if defined(__GLIBC__) && (__GLIBC__ > 2 || (__GLIBC__ == 2 && __GLIBC_MINOR__ >= 32))
    if (code < 0 && code > -4096) return strerrorname_np(-code);
#endif
    return NULL;
}

/* The meaning alone, without the name (for reports that print the name). */
const char *tr__error_text(int code) {
    switch (code) {
    TR_ERRORS_OWN(TR__TEXT)
    TR_ERRORS_ERRNO(TR__TEXT)
    default: return tr_strerror(code);
    }
}
