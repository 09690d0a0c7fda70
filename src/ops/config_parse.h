/* Internal interface between the pieces of the config parser (config_parse.c,
 * config_parse_crypto.c, config_parse_eem.c). Not for other modules.
 *
 * Every cfgp_ reader consumes words from the current line and returns 0, or
 * emits one "FILE:LINE:COL: message" error and returns -1; chain them with ||
 * and act only once the whole line has been read (validate, then act). */
#ifndef INSYNC_CONFIG_PARSE_H
#define INSYNC_CONFIG_PARSE_H
#include "ops/config.h"
#include "ops/config_lex.h"
#include <stdint.h>

enum cfgp_mode {
	CM_GLOBAL = 0,
	CM_SKIP, /* a block whose opening line failed: its lines are not checked */
	CM_PROPOSAL,
	CM_POLICY,
	CM_KEYRING,
	CM_PEER,
	CM_IKE_PROFILE,
	CM_TRANSFORM_SET,
	CM_IPSEC_PROFILE,
	CM_TUNNEL,
	CM_APPLET,
};

struct cfgp_frame {
	enum cfgp_mode mode;
	int indent; /* indent of the line that opened the block */
	void *obj;
	int line, col; /* where the block was opened (name column) */
	int aux_line[2], aux_col[2]; /* ipsec profile: where session keys were set */
	int bad; /* an error inside: skip the block's completeness checks */
};

#define CFGP_DEPTH 3
#define CFGP_MAX_ERRORS 50
#define CFGP_MAX_OBJECTS 20000 /* all objects of one file together */
#define CFGP_MAX_LIST 4096     /* objects of one kind */

struct cfgp {
	const char *fname;
	struct config *c;
	struct out *err;
	int nerr;
	struct cfg_line *ln;
	int pos; /* next word of ln */
	int neg; /* the line started with "no" */
	int depth;
	struct cfgp_frame st[CFGP_DEPTH + 1];
	unsigned nobj;
};

void cfgp_err(struct cfgp *p, int col, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
void cfgp_err_at(struct cfgp *p, int line, int col, const char *fmt, ...)
	__attribute__((format(printf, 4, 5)));
int cfgp_more(const struct cfgp *p);
/* Column of the next word, or just past the line's last word. */
int cfgp_col(const struct cfgp *p);
/* Next keyword out of the NULL-terminated set (case-insensitive, unambiguous
 * prefixes accepted as IOS does); *idx is its index. */
int cfgp_kw(struct cfgp *p, const char *const *set, int *idx);
/* Like cfgp_kw for an optional keyword: returns 1 and consumes it when the next
 * word matches exactly one of set, else 0 and consumes nothing. */
int cfgp_opt_kw(struct cfgp *p, const char *const *set, int *idx);
int cfgp_word(struct cfgp *p, const char *what, const struct cfg_word **w);
/* An object name: 1..63 printable ASCII characters, no quotes. */
int cfgp_name(struct cfgp *p, const char *what, char *dst, size_t cap);
/* A word of at most cap-1 bytes, quoted or not (messages, patterns, keys). */
int cfgp_text(struct cfgp *p, const char *what, char *dst, size_t cap);
int cfgp_num(struct cfgp *p, const char *what, uint64_t lo, uint64_t hi, uint64_t *v);
int cfgp_u32(struct cfgp *p, const char *what, uint32_t lo, uint32_t hi, uint32_t *v);
int cfgp_ipv4(struct cfgp *p, const char *what, uint32_t *be);
int cfgp_mask(struct cfgp *p, uint32_t *be);
int cfgp_eol(struct cfgp *p);
int cfgp_eol_secret(struct cfgp *p); /* after a key: the extra word is not quoted */
/* An SPI: decimal or 0x hex, 1..0xFFFFFFFF (IOS wants 256 and up, but the
 * shipped manual-keying examples use 0xB1). */
int cfgp_spi(struct cfgp *p, uint32_t *v);
/* The command keyword of a line; a leading "no" (when set holds it) sets p->neg. */
int cfgp_cmd(struct cfgp *p, const char *const *set, int *idx);
/* "Tunnel7" (any abbreviation of Tunnel, any case) -> 7; 0 or -1. */
int cfgp_tunnel_num(const char *s, unsigned *num);
/* Allocate a zeroed object, counting it against CFGP_MAX_OBJECTS. */
void *cfgp_alloc(struct cfgp *p, size_t n);
/* Open a sub-mode for the current line. */
void cfgp_push(struct cfgp *p, enum cfgp_mode mode, void *obj, int col);
/* Refuse a list that already holds CFGP_MAX_LIST objects. */
int cfgp_list_full(struct cfgp *p, size_t count, const char *what);

/* Keyword-driven handlers, one per area; p->pos is past the words matched. */
int cfgp_global(struct cfgp *p);      /* any line in global mode */
int cfgp_tunnel_sub(struct cfgp *p);  /* lines under interface TunnelN */
int cfgp_crypto(struct cfgp *p);      /* global "crypto ..." */
int cfgp_crypto_sub(struct cfgp *p);  /* lines in crypto sub-modes */
int cfgp_crypto_close(struct cfgp *p, struct cfgp_frame *f);
/* crypto ipsec transform-set / profile (k: 0 transform-set, 1 profile). */
int cfgp_ipsec_open(struct cfgp *p, int k);
int cfgp_ipsec_sub(struct cfgp *p);
int cfgp_ipsec_close(struct cfgp *p, struct cfgp_frame *f);
int cfgp_eem(struct cfgp *p);         /* global "event manager applet" */
int cfgp_eem_sub(struct cfgp *p);
int cfgp_eem_close(struct cfgp *p, struct cfgp_frame *f);

/* Model pieces freed by "no" forms (config_model.c); secrets are wiped. */
void cfg_keyring_free(struct cfg_keyring *k);
void cfg_keyring_peer_free(struct cfg_keyring_peer *kp);
void cfg_ipsec_profile_free(struct cfg_ipsec_profile *x);
void cfg_applet_free(struct cfg_applet *a);
#endif
