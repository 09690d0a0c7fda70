/* POSIX extended regexes from untrusted text (exec pipes, applet patterns). */
#ifndef INSYNC_RX_H
#define INSYNC_RX_H
#include <regex.h>

#define RX_MAX_LEN 512      /* characters in a pattern */
#define RX_MAX_REPEAT 1000  /* product of all {m,n} bounds */

/* regcomp with limits checked first: glibc copies a subtree once per
 * repetition bound, so nested intervals like ((a{255}){255}){255} would
 * build millions of nodes, and back references match in exponential time.
 * 0, or a regcomp error code (REG_ESIZE for limits, REG_ESUBREG for a back
 * reference). */
int rx_compile(regex_t *re, const char *pattern, int cflags);
#endif
