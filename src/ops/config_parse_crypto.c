/* Config parser: global crypto commands and the IKEv2 sub-modes (proposal,
 * policy, keyring with its peers, profile). Transform-sets and IPsec profiles
 * live in config_parse_ipsec.c. Names must be defined before they are used,
 * and an object still referenced cannot be removed with "no". */
#include "ops/config_parse.h"
#include "ops/config_util.h"
#include <arpa/inet.h>
#include <ctype.h>
#include <openssl/crypto.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define FIND_FN(fn, type, head)                                        \
	static struct type *fn(struct config *c, const char *name)     \
	{                                                              \
		for (struct type *x = c->head; x; x = x->next)         \
			if (strcmp(x->name, name) == 0)                \
				return x;                              \
		return NULL;                                           \
	}
FIND_FN(proposal_find, cfg_proposal, proposals)
FIND_FN(policy_find, cfg_policy, policies)
FIND_FN(keyring_find, cfg_keyring, keyrings)
FIND_FN(ike_profile_find, cfg_ike_profile, ike_profiles)

/* Append obj at the end of a list; returns -1 when the list is full. */
#define LIST_APPEND(p, head, obj, what)                        \
	({                                                     \
		__typeof__(obj) *pp_ = &(head);                \
		size_t n_ = 0;                                 \
		while (*pp_) {                                 \
			pp_ = &(*pp_)->next;                   \
			n_++;                                  \
		}                                              \
		int full_ = cfgp_list_full(p, n_, what);       \
		if (!full_)                                    \
			*pp_ = (obj);                          \
		full_ ? -1 : 0;                                \
	})

/* Unlink obj from a list. */
#define LIST_UNLINK(head, obj)                                 \
	do {                                                   \
		__typeof__(obj) *pp_ = &(head);                \
		while (*pp_ && *pp_ != (obj))                  \
			pp_ = &(*pp_)->next;                   \
		if (*pp_)                                      \
			*pp_ = (obj)->next;                    \
	} while (0)

/* ---- opening the IKEv2 blocks ---- */

static int open_proposal(struct cfgp *p, const char *name, int col)
{
	struct config *c = p->c;
	struct cfg_proposal *x = proposal_find(c, name);
	if (p->neg) {
		if (x == NULL) {
			cfgp_err(p, col, "crypto ikev2 proposal %s is not defined", name);
			return -1;
		}
		for (struct cfg_policy *pol = c->policies; pol; pol = pol->next)
			for (int i = 0; i < pol->n_proposals; i++)
				if (pol->proposals[i] == x) {
					cfgp_err(p, col, "crypto ikev2 proposal %s is in use by policy %s",
						 name, pol->name);
					return -1;
				}
		LIST_UNLINK(c->proposals, x);
		free(x);
		return 0;
	}
	if (x) {
		cfgp_err(p, col, "crypto ikev2 proposal %s is already defined", name);
		return -1;
	}
	x = cfgp_alloc(p, sizeof(*x));
	if (x == NULL)
		return -1;
	memcpy(x->name, name, sizeof(x->name));
	if (LIST_APPEND(p, c->proposals, x, "ikev2 proposals")) {
		free(x);
		return -1;
	}
	cfgp_push(p, CM_PROPOSAL, x, col);
	return 0;
}

static int open_policy(struct cfgp *p, const char *name, int col)
{
	struct config *c = p->c;
	struct cfg_policy *x = policy_find(c, name);
	if (p->neg) {
		if (x == NULL) {
			cfgp_err(p, col, "crypto ikev2 policy %s is not defined", name);
			return -1;
		}
		LIST_UNLINK(c->policies, x);
		free(x);
		return 0;
	}
	if (x) {
		cfgp_err(p, col, "crypto ikev2 policy %s is already defined", name);
		return -1;
	}
	x = cfgp_alloc(p, sizeof(*x));
	if (x == NULL)
		return -1;
	memcpy(x->name, name, sizeof(x->name));
	if (LIST_APPEND(p, c->policies, x, "ikev2 policies")) {
		free(x);
		return -1;
	}
	cfgp_push(p, CM_POLICY, x, col);
	return 0;
}

static int open_keyring(struct cfgp *p, const char *name, int col)
{
	struct config *c = p->c;
	struct cfg_keyring *x = keyring_find(c, name);
	if (p->neg) {
		if (x == NULL) {
			cfgp_err(p, col, "crypto ikev2 keyring %s is not defined", name);
			return -1;
		}
		for (struct cfg_ike_profile *pr = c->ike_profiles; pr; pr = pr->next)
			if (pr->keyring == x) {
				cfgp_err(p, col, "crypto ikev2 keyring %s is in use by profile %s", name,
					 pr->name);
				return -1;
			}
		LIST_UNLINK(c->keyrings, x);
		cfg_keyring_free(x);
		return 0;
	}
	if (x) {
		cfgp_err(p, col, "crypto ikev2 keyring %s is already defined", name);
		return -1;
	}
	x = cfgp_alloc(p, sizeof(*x));
	if (x == NULL)
		return -1;
	memcpy(x->name, name, sizeof(x->name));
	if (LIST_APPEND(p, c->keyrings, x, "ikev2 keyrings")) {
		free(x);
		return -1;
	}
	cfgp_push(p, CM_KEYRING, x, col);
	return 0;
}

static int open_ike_profile(struct cfgp *p, const char *name, int col)
{
	struct config *c = p->c;
	struct cfg_ike_profile *x = ike_profile_find(c, name);
	if (p->neg) {
		if (x == NULL) {
			cfgp_err(p, col, "crypto ikev2 profile %s is not defined", name);
			return -1;
		}
		for (struct cfg_ipsec_profile *ip = c->ipsec_profiles; ip; ip = ip->next)
			if (ip->ike_profile == x) {
				cfgp_err(p, col, "crypto ikev2 profile %s is in use by ipsec profile %s",
					 name, ip->name);
				return -1;
			}
		LIST_UNLINK(c->ike_profiles, x);
		free(x);
		return 0;
	}
	if (x) {
		cfgp_err(p, col, "crypto ikev2 profile %s is already defined", name);
		return -1;
	}
	x = cfgp_alloc(p, sizeof(*x));
	if (x == NULL)
		return -1;
	memcpy(x->name, name, sizeof(x->name));
	x->lifetime = CFG_DEFAULT_IKE_LIFETIME;
	if (LIST_APPEND(p, c->ike_profiles, x, "ikev2 profiles")) {
		free(x);
		return -1;
	}
	cfgp_push(p, CM_IKE_PROFILE, x, col);
	return 0;
}

/* ---- global crypto commands ---- */

/* crypto ikev2 nat keepalive SECONDS: RFC 3948 keepalives from behind a NAT. */
static int crypto_ikev2_nat(struct cfgp *p)
{
	static const char *const kws[] = { "keepalive", NULL };
	uint32_t sec = 0;
	int k;
	if (cfgp_kw(p, kws, &k) || (!p->neg && cfgp_u32(p, "keepalive seconds", 5, 3600, &sec)) ||
	    cfgp_eol(p))
		return -1;
	p->c->ikev2_nat_keepalive = sec;
	return 0;
}

/* crypto ikev2 cookie-challenge N: answer IKE_SA_INIT with a COOKIE (RFC 7296
 * §2.6) once N SAs are half-open. IOS has it off by default; insync has it on,
 * at 64, so that a spoofed-source flood never holds much state. */
static int crypto_ikev2_cookie(struct cfgp *p)
{
	uint32_t n = CFG_DEFAULT_COOKIE_CHALLENGE;
	if ((!p->neg && cfgp_u32(p, "half-open SAs", 1, 1000, &n)) || cfgp_eol(p))
		return -1;
	p->c->ikev2_cookie_challenge = n;
	return 0;
}

/* crypto ikev2 limit max-sa N | max-in-negotiation-sa N [incoming|outgoing]:
 * caps on all IKE SAs and on those still negotiating (no direction: both).
 * The no forms lift the cap and may repeat the number, as IOS allows. */
static int crypto_ikev2_limit(struct cfgp *p)
{
	static const char *const kws[] = { "max-sa", "max-in-negotiation-sa", NULL };
	static const char *const dirs[] = { "incoming", "outgoing", NULL };
	uint32_t n = 0, max;
	int k, d = -1;
	if (cfgp_kw(p, kws, &k))
		return -1;
	max = k == 0 ? CFG_IKE_MAX_SA_MAX : CFG_IKE_MAX_NEGO_MAX;
	if ((!p->neg || (cfgp_more(p) && isdigit((unsigned char)p->ln->w[p->pos].s[0]))) &&
	    cfgp_u32(p, "number of SAs", 1, max, &n))
		return -1;
	if (p->neg)
		n = 0;
	if (k == 1 && cfgp_more(p) && cfgp_kw(p, dirs, &d))
		return -1;
	if (cfgp_eol(p))
		return -1;
	if (k == 0)
		p->c->ikev2_max_sa = n;
	if (k == 1 && d != 1)
		p->c->ikev2_max_nego_in = n;
	if (k == 1 && d != 0)
		p->c->ikev2_max_nego_out = n;
	return 0;
}

static int crypto_ikev2(struct cfgp *p)
{
	static const char *const kws[] = { "keyring", "policy", "profile", "proposal", "nat",
					   "cookie-challenge", "limit", NULL };
	char name[CFG_NAME_MAX];
	int k, col;
	if (cfgp_kw(p, kws, &k))
		return -1;
	if (k == 4)
		return crypto_ikev2_nat(p);
	if (k == 5)
		return crypto_ikev2_cookie(p);
	if (k == 6)
		return crypto_ikev2_limit(p);
	col = cfgp_col(p);
	if (cfgp_name(p, "name", name, sizeof(name)) || cfgp_eol(p))
		return -1;
	switch (k) {
	case 0: return open_keyring(p, name, col);
	case 1: return open_policy(p, name, col);
	case 2: return open_ike_profile(p, name, col);
	default: return open_proposal(p, name, col);
	}
}

static int crypto_isakmp(struct cfgp *p)
{
	static const char *const kws[] = { "invalid-spi-recovery", "keepalive", NULL };
	static const char *const modes[] = { "on-demand", "periodic", NULL };
	struct config *c = p->c;
	int k, m = -1;
	if (cfgp_kw(p, kws, &k))
		return -1;
	if (k == 0) {
		if (cfgp_eol(p))
			return -1;
		c->invalid_spi_recovery = !p->neg;
		return 0;
	}
	/* keepalive SECONDS [RETRY] [periodic|on-demand] */
	uint32_t sec = 0, retry = CFG_DEFAULT_KEEPALIVE_RETRY;
	if (!p->neg) {
		if (cfgp_u32(p, "keepalive seconds", 10, 3600, &sec))
			return -1;
		if (cfgp_more(p) && p->ln->w[p->pos].s[0] >= '0' && p->ln->w[p->pos].s[0] <= '9' &&
		    cfgp_u32(p, "retry seconds", 2, 60, &retry))
			return -1;
		if (cfgp_more(p) && cfgp_kw(p, modes, &m))
			return -1;
	}
	if (cfgp_eol(p))
		return -1;
	c->has_keepalive = !p->neg;
	c->keepalive_sec = sec;
	c->keepalive_retry = retry;
	c->keepalive_mode = m == 1 ? CFG_DPD_PERIODIC : CFG_DPD_ON_DEMAND;
	return 0;
}

static int crypto_ipsec_global(struct cfgp *p, int k)
{
	static const char *const sa_kw[] = { "idle-time", "lifetime", "replay", NULL };
	static const char *const life_kw[] = { "kilobytes", "seconds", NULL };
	static const char *const replay_kw[] = { "window-size", NULL };
	static const char *const inv_kw[] = { "log-interval", NULL };
	struct config *c = p->c;
	int i;
	if (k == 0) { /* invalid-spi log-interval SECONDS (insync extension) */
		uint32_t v = CFG_DEFAULT_INV_SPI_LOG_INTERVAL;
		if (cfgp_kw(p, inv_kw, &i) ||
		    (!p->neg && cfgp_u32(p, "log interval seconds", 1, 86400, &v)) || cfgp_eol(p))
			return -1;
		c->invalid_spi_log_interval = v;
		return 0;
	}
	/* security-association ... */
	if (cfgp_kw(p, sa_kw, &k))
		return -1;
	if (k == 0) {
		uint32_t v = 0;
		if ((!p->neg && cfgp_u32(p, "idle seconds", 60, 86400, &v)) || cfgp_eol(p))
			return -1;
		c->sa_idle_time = v;
		return 0;
	}
	if (k == 1) {
		if (cfgp_kw(p, life_kw, &i))
			return -1;
		if (i == 0) {
			uint64_t v = CFG_DEFAULT_SA_LIFETIME_KB;
			if ((!p->neg && cfgp_num(p, "kilobytes", 2560, 4294967295u, &v)) || cfgp_eol(p))
				return -1;
			c->sa_lifetime_kb = v;
		} else {
			uint32_t v = CFG_DEFAULT_SA_LIFETIME_SEC;
			if ((!p->neg && cfgp_u32(p, "seconds", 120, 86400, &v)) || cfgp_eol(p))
				return -1;
			c->sa_lifetime_sec = v;
		}
		return 0;
	}
	uint32_t w = CFG_DEFAULT_REPLAY_WINDOW;
	int col;
	if (cfgp_kw(p, replay_kw, &i))
		return -1;
	col = cfgp_col(p);
	if ((!p->neg && cfgp_u32(p, "window size", 64, 4096, &w)) || cfgp_eol(p))
		return -1;
	if (w % 64) {
		cfgp_err(p, col, "%% Invalid input \"%u\": window size must be a multiple of 64", w);
		return -1;
	}
	c->replay_window = w;
	return 0;
}

int cfgp_crypto(struct cfgp *p)
{
	static const char *const kws[] = { "ikev2", "ipsec", "isakmp", NULL };
	static const char *const ipsec_kw[] = { "invalid-spi", "profile", "security-association",
						"transform-set", NULL };
	int k;
	if (cfgp_kw(p, kws, &k))
		return -1;
	if (k == 0)
		return crypto_ikev2(p);
	if (k == 2)
		return crypto_isakmp(p);
	if (cfgp_kw(p, ipsec_kw, &k))
		return -1;
	if (k == 1 || k == 3)
		return cfgp_ipsec_open(p, k == 3 ? 0 : 1);
	return crypto_ipsec_global(p, k == 0 ? 0 : 1);
}

/* ---- proposal ---- */

/* Read algorithm keywords into a list (append; or, for "no", remove the named
 * ones or, with none named, all). */
static int alg_list(struct cfgp *p, const char *what, const char *const *names, const int *vals,
		    int *list, int *n)
{
	int k;
	if (p->neg && !cfgp_more(p)) {
		*n = 0;
		return 0;
	}
	if (!cfgp_more(p))
		return cfgp_kw(p, names, &k); /* the "expected one of" error */
	while (cfgp_more(p)) {
		int col = cfgp_col(p), at = -1;
		if (cfgp_kw(p, names, &k))
			return -1;
		for (int i = 0; i < *n; i++)
			if (list[i] == vals[k])
				at = i;
		if (p->neg) {
			if (at < 0) {
				cfgp_err(p, col, "%s %s is not configured", what, names[k]);
				return -1;
			}
			memmove(list + at, list + at + 1, (size_t)(*n - at - 1) * sizeof(int));
			(*n)--;
		} else if (at >= 0) {
			cfgp_err(p, col, "%s %s is listed twice", what, names[k]);
			return -1;
		} else if (*n == CFG_MAX_ALGS) {
			cfgp_err(p, col, "too many %s algorithms (at most %d)", what, CFG_MAX_ALGS);
			return -1;
		} else {
			list[(*n)++] = vals[k];
		}
	}
	return 0;
}

static int proposal_line(struct cfgp *p, struct cfg_proposal *x)
{
	static const char *const kws[] = { "encryption", "group", "integrity", "prf", "no", NULL };
	static const char *const encr[] = { "aes-cbc-128", "aes-cbc-256", "aes-gcm-128",
					    "aes-gcm-256", NULL };
	static const int encr_v[] = { CFG_ENCR_AES_CBC_128, CFG_ENCR_AES_CBC_256,
				      CFG_ENCR_AES_GCM_128, CFG_ENCR_AES_GCM_256 };
	static const char *const hash[] = { "sha256", "sha384", "sha512", NULL };
	static const int hash_v[] = { 1, 2, 3 }; /* same numbers in cfg_prf and cfg_integ */
	static const char *const grp[] = { "14", "19", "20", "31", NULL };
	static const int grp_v[] = { 14, 19, 20, 31 };
	int k, list[CFG_MAX_ALGS], n;
	if (cfgp_cmd(p, kws, &k))
		return -1;
	switch (k) {
	case 0:
		n = x->n_encr;
		for (int i = 0; i < n; i++)
			list[i] = (int)x->encr[i];
		if (alg_list(p, "encryption", encr, encr_v, list, &n))
			return -1;
		for (int i = 0; i < n; i++)
			x->encr[i] = (enum cfg_ike_encr)list[i];
		x->n_encr = n;
		return 0;
	case 1:
		n = x->n_group;
		memcpy(list, x->group, sizeof(int) * (size_t)n);
		if (alg_list(p, "group", grp, grp_v, list, &n))
			return -1;
		memcpy(x->group, list, sizeof(int) * (size_t)n);
		x->n_group = n;
		return 0;
	case 2:
		n = x->n_integ;
		for (int i = 0; i < n; i++)
			list[i] = (int)x->integ[i];
		if (alg_list(p, "integrity", hash, hash_v, list, &n))
			return -1;
		for (int i = 0; i < n; i++)
			x->integ[i] = (enum cfg_integ)list[i];
		x->n_integ = n;
		return 0;
	default:
		n = x->n_prf;
		for (int i = 0; i < n; i++)
			list[i] = (int)x->prf[i];
		if (alg_list(p, "prf", hash, hash_v, list, &n))
			return -1;
		for (int i = 0; i < n; i++)
			x->prf[i] = (enum cfg_prf)list[i];
		x->n_prf = n;
		return 0;
	}
}

static void proposal_close(struct cfgp *p, struct cfgp_frame *f)
{
	struct cfg_proposal *x = f->obj;
	int gcm = 0, cbc = 0;
	for (int i = 0; i < x->n_encr; i++) {
		if (x->encr[i] == CFG_ENCR_AES_GCM_128 || x->encr[i] == CFG_ENCR_AES_GCM_256)
			gcm = 1;
		else
			cbc = 1;
	}
	const char *miss = NULL;
	if (x->n_encr == 0)
		miss = "encryption";
	else if (gcm && cbc)
		miss = "aes-gcm and aes-cbc in separate proposals";
	else if (gcm && x->n_integ)
		miss = "no integrity with aes-gcm";
	else if (cbc && x->n_integ == 0)
		miss = "integrity with aes-cbc";
	else if (gcm && x->n_prf == 0)
		miss = "prf";
	else if (x->n_group == 0)
		miss = "group";
	if (miss) {
		cfgp_err_at(p, f->line, f->col, "crypto ikev2 proposal %s is incomplete: expected %s",
			    x->name, miss);
		return;
	}
	if (x->n_prf == 0) { /* IOS: with aes-cbc the prf defaults to the integrity list */
		for (int i = 0; i < x->n_integ; i++)
			x->prf[i] = (enum cfg_prf)x->integ[i];
		x->n_prf = x->n_integ;
	}
}

/* ---- policy ---- */

static int policy_line(struct cfgp *p, struct cfg_policy *x)
{
	static const char *const kws[] = { "match", "proposal", "no", NULL };
	static const char *const fvrf[] = { "fvrf", NULL };
	static const char *const any[] = { "any", NULL };
	int k, i, col;
	char name[CFG_NAME_MAX];
	if (cfgp_cmd(p, kws, &k))
		return -1;
	if (k == 0) { /* only the default, "match fvrf any", exists here */
		return cfgp_kw(p, fvrf, &i) || cfgp_kw(p, any, &i) || cfgp_eol(p) ? -1 : 0;
	}
	col = cfgp_col(p);
	if (p->neg && !cfgp_more(p)) {
		x->n_proposals = 0;
		return 0;
	}
	if (cfgp_name(p, "proposal name", name, sizeof(name)) || cfgp_eol(p))
		return -1;
	struct cfg_proposal *pr = proposal_find(p->c, name);
	int at = -1;
	for (i = 0; i < x->n_proposals; i++)
		if (x->proposals[i] == pr)
			at = i;
	if (p->neg) {
		if (pr == NULL || at < 0) {
			cfgp_err(p, col, "proposal %s is not in this policy", name);
			return -1;
		}
		memmove(x->proposals + at, x->proposals + at + 1,
			(size_t)(x->n_proposals - at - 1) * sizeof(x->proposals[0]));
		x->n_proposals--;
		return 0;
	}
	if (pr == NULL) {
		cfgp_err(p, col, "crypto ikev2 proposal %s is not defined", name);
		return -1;
	}
	if (at >= 0) {
		cfgp_err(p, col, "proposal %s is listed twice", name);
		return -1;
	}
	if (x->n_proposals == CFG_MAX_ALGS) {
		cfgp_err(p, col, "too many proposals in one policy (at most %d)", CFG_MAX_ALGS);
		return -1;
	}
	x->proposals[x->n_proposals++] = pr;
	return 0;
}

/* ---- keyring and peer ---- */

static int keyring_line(struct cfgp *p, struct cfg_keyring *x)
{
	static const char *const kws[] = { "peer", "no", NULL };
	char name[CFG_NAME_MAX];
	int k, col;
	if (cfgp_cmd(p, kws, &k))
		return -1;
	col = cfgp_col(p);
	if (cfgp_name(p, "peer name", name, sizeof(name)) || cfgp_eol(p))
		return -1;
	struct cfg_keyring_peer **pp = &x->peers;
	size_t n = 0;
	while (*pp && strcmp((*pp)->name, name) != 0) {
		pp = &(*pp)->next;
		n++;
	}
	if (p->neg) {
		if (*pp == NULL) {
			cfgp_err(p, col, "peer %s is not defined", name);
			return -1;
		}
		struct cfg_keyring_peer *kp = *pp;
		*pp = kp->next;
		cfg_keyring_peer_free(kp);
		return 0;
	}
	if (*pp) {
		cfgp_err(p, col, "peer %s is already defined in keyring %s", name, x->name);
		return -1;
	}
	if (cfgp_list_full(p, n, "peers in one keyring"))
		return -1;
	struct cfg_keyring_peer *kp = cfgp_alloc(p, sizeof(*kp));
	if (kp == NULL)
		return -1;
	memcpy(kp->name, name, sizeof(name));
	*pp = kp;
	cfgp_push(p, CM_PEER, kp, col);
	return 0;
}

/* "address A.B.C.D" | "fqdn NAME" | "key-id ID" into an identity; mask_ok lets
 * an address carry an optional mask (match identity remote). */
static int identity(struct cfgp *p, int mask_ok, struct cfg_identity *id)
{
	static const char *const kws[] = { "address", "fqdn", "key-id", NULL };
	int k;
	memset(id, 0, sizeof(*id));
	if (cfgp_kw(p, kws, &k))
		return -1;
	if (k == 0) {
		id->type = CFG_ID_ADDR;
		id->mask = 0xffffffffu;
		if (cfgp_ipv4(p, "address", &id->addr))
			return -1;
		if (mask_ok && cfgp_more(p) && cfgp_mask(p, &id->mask))
			return -1;
		if (id->addr & ~id->mask) {
			cfgp_err(p, p->ln->w[p->pos - 1].col, "%% Inconsistent address and mask");
			return -1;
		}
		return 0;
	}
	id->type = k == 1 ? CFG_ID_FQDN : CFG_ID_KEYID;
	return cfgp_name(p, k == 1 ? "FQDN" : "key-id", id->value, sizeof(id->value));
}

static int psk_read(struct cfgp *p, char *psk, size_t *len)
{
	/* An optional key type first: only 0 (clear text) is understood. */
	if (p->pos + 1 < p->ln->nwords && !p->ln->w[p->pos].quoted) {
		const char *t = p->ln->w[p->pos].s;
		if (strcmp(t, "0") == 0) {
			p->pos++;
		} else if (strcmp(t, "6") == 0 || strcmp(t, "7") == 0) {
			cfgp_err(p, p->ln->w[p->pos].col,
				 "%% Invalid input \"%s\": only key type 0 (unencrypted) is supported", t);
			return -1;
		}
	}
	int col = cfgp_col(p);
	char tmp[CFG_PSK_MAX];
	if (cfgp_text(p, "pre-shared key", tmp, sizeof(tmp)))
		return -1;
	*len = strlen(tmp);
	if (*len == 0) {
		cfgp_err(p, col, "%% Invalid input: empty pre-shared key");
		return -1;
	}
	memcpy(psk, tmp, *len + 1);
	OPENSSL_cleanse(tmp, sizeof(tmp));
	return 0;
}

static int peer_line(struct cfgp *p, struct cfg_keyring_peer *x, struct cfgp_frame *f)
{
	static const char *const kws[] = { "address", "identity", "pre-shared-key", "no", NULL };
	static const char *const side[] = { "local", "remote", NULL };
	int k, col;
	if (cfgp_cmd(p, kws, &k))
		return -1;
	if (k == 0) { /* address A.B.C.D [MASK] */
		uint32_t a = 0, m = 0xffffffffu;
		col = cfgp_col(p);
		if (!p->neg && (cfgp_ipv4(p, "peer address", &a) ||
				(cfgp_more(p) && cfgp_mask(p, &m))))
			return -1;
		if (cfgp_eol(p))
			return -1;
		if (a & ~m) {
			cfgp_err(p, col, "%% Inconsistent address and mask");
			return -1;
		}
		x->addr = a;
		x->mask = p->neg ? 0 : m;
		x->has_addr = !p->neg;
		return 0;
	}
	if (k == 1) { /* identity address A | fqdn X | key-id X */
		struct cfg_identity id;
		char s[CFG_NAME_MAX + 16] = "";
		col = cfgp_col(p);
		if (!p->neg) {
			char ip[CFG_IP_STRLEN];
			if (identity(p, 0, &id))
				return -1;
			if (id.type == CFG_ID_ADDR)
				snprintf(s, sizeof(s), "address %s", cfg_ip_str(id.addr, ip));
			else
				snprintf(s, sizeof(s), "%s %s", id.type == CFG_ID_FQDN ? "fqdn" : "key-id",
					 id.value);
			if (strlen(s) >= sizeof(x->identity)) {
				cfgp_err(p, col, "%% Invalid input: identity is longer than %zu characters",
					 sizeof(x->identity) - 1);
				return -1;
			}
		}
		if (cfgp_eol(p))
			return -1;
		memcpy(x->identity, s, sizeof(x->identity));
		return 0;
	}
	/* pre-shared-key [local|remote] [0] KEY. The model has one key per peer,
	 * so local and remote keys must be the same. */
	int sd = -1;
	char psk[CFG_PSK_MAX];
	size_t len = 0;
	/* A side word only when a key follows it (the key itself could be "local"). */
	if (p->neg || p->pos + 1 < p->ln->nwords)
		cfgp_opt_kw(p, side, &sd);
	col = cfgp_col(p);
	if (!p->neg && psk_read(p, psk, &len))
		return -1;
	if (p->neg ? cfgp_eol(p) : cfgp_eol_secret(p)) {
		OPENSSL_cleanse(psk, sizeof(psk));
		return -1;
	}
	if (p->neg) {
		OPENSSL_cleanse(x->psk, sizeof(x->psk));
		x->psk_len = 0;
		f->aux_line[0] = f->aux_line[1] = 0;
		return 0;
	}
	if (sd >= 0 && f->aux_line[!sd] &&
	    (len != x->psk_len || memcmp(psk, x->psk, len) != 0)) {
		OPENSSL_cleanse(psk, sizeof(psk));
		cfgp_err(p, col,
			 "pre-shared-key %s differs from the %s key: asymmetric keys are not supported",
			 side[sd], side[!sd]);
		return -1;
	}
	if (sd < 0)
		f->aux_line[0] = f->aux_line[1] = 0;
	else
		f->aux_line[sd] = p->ln->lineno;
	OPENSSL_cleanse(x->psk, sizeof(x->psk));
	memcpy(x->psk, psk, len + 1);
	x->psk_len = len;
	OPENSSL_cleanse(psk, sizeof(psk));
	return 0;
}

static void peer_close(struct cfgp *p, struct cfgp_frame *f)
{
	struct cfg_keyring_peer *x = f->obj;
	if (x->psk_len == 0)
		cfgp_err_at(p, f->line, f->col, "peer %s is incomplete: expected pre-shared-key",
			    x->name);
	else if (!x->has_addr && x->identity[0] == '\0')
		cfgp_err_at(p, f->line, f->col, "peer %s is incomplete: expected address or identity",
			    x->name);
}

/* ---- ikev2 profile ---- */

static int ike_profile_line(struct cfgp *p, struct cfg_ike_profile *x)
{
	static const char *const kws[] = { "authentication", "dpd",	 "identity", "keyring",
					   "lifetime",	     "match",	 "no",	     NULL };
	static const char *const side[] = { "local", "remote", NULL };
	static const char *const psk[] = { "pre-share", NULL };
	static const char *const id_kw[] = { "identity", NULL };
	static const char *const remote[] = { "remote", NULL };
	static const char *const local[] = { "local", NULL };
	static const char *const dpd_mode[] = { "on-demand", "periodic", NULL };
	int k, i, col;
	if (cfgp_cmd(p, kws, &k))
		return -1;
	switch (k) {
	case 0: /* authentication local|remote pre-share */
		if (cfgp_kw(p, side, &i))
			return -1;
		if (p->neg)
			cfgp_opt_kw(p, psk, &k); /* "no authentication local [pre-share]" */
		else if (cfgp_kw(p, psk, &k))
			return -1;
		if (cfgp_eol(p))
			return -1;
		if (i == 0)
			x->auth_local_psk = !p->neg;
		else
			x->auth_remote_psk = !p->neg;
		return 0;
	case 1: { /* dpd INTERVAL RETRY on-demand|periodic */
		uint32_t iv = 0, rt = 0;
		int m = 0;
		if (!p->neg && (cfgp_u32(p, "dpd interval", 10, 3600, &iv) ||
				cfgp_u32(p, "dpd retry", 2, 60, &rt) || cfgp_kw(p, dpd_mode, &m)))
			return -1;
		if (cfgp_eol(p))
			return -1;
		x->has_dpd = !p->neg;
		x->dpd_interval = iv;
		x->dpd_retry = rt;
		x->dpd_mode = p->neg ? 0 : m == 1 ? CFG_DPD_PERIODIC : CFG_DPD_ON_DEMAND;
		return 0;
	}
	case 2: { /* identity local address A | fqdn X | key-id X */
		struct cfg_identity id;
		memset(&id, 0, sizeof(id));
		if (cfgp_kw(p, local, &i) || (!p->neg && identity(p, 0, &id)) || cfgp_eol(p))
			return -1;
		x->local = id;
		return 0;
	}
	case 3: { /* keyring local NAME */
		char name[CFG_NAME_MAX];
		if (cfgp_kw(p, local, &i))
			return -1;
		col = cfgp_col(p);
		if (p->neg) {
			if (cfgp_more(p) && cfgp_name(p, "keyring name", name, sizeof(name)))
				return -1;
			if (cfgp_eol(p))
				return -1;
			x->keyring = NULL;
			return 0;
		}
		if (cfgp_name(p, "keyring name", name, sizeof(name)) || cfgp_eol(p))
			return -1;
		struct cfg_keyring *kr = keyring_find(p->c, name);
		if (kr == NULL) {
			cfgp_err(p, col, "crypto ikev2 keyring %s is not defined", name);
			return -1;
		}
		x->keyring = kr;
		return 0;
	}
	case 4: { /* lifetime SECONDS */
		uint32_t v = CFG_DEFAULT_IKE_LIFETIME;
		if ((!p->neg && cfgp_u32(p, "lifetime seconds", 120, 86400, &v)) || cfgp_eol(p))
			return -1;
		x->lifetime = v;
		return 0;
	}
	default: { /* match identity remote address A [MASK] | fqdn X | key-id X */
		struct cfg_identity id;
		memset(&id, 0, sizeof(id));
		if (cfgp_kw(p, id_kw, &i) || cfgp_kw(p, remote, &i))
			return -1;
		col = cfgp_col(p);
		if ((!p->neg || cfgp_more(p)) && identity(p, 1, &id))
			return -1;
		if (cfgp_eol(p))
			return -1;
		if (!p->neg && x->match_remote.type != CFG_ID_NONE) {
			cfgp_err(p, col, "only one match identity remote is supported per profile");
			return -1;
		}
		if (p->neg)
			memset(&x->match_remote, 0, sizeof(x->match_remote));
		else
			x->match_remote = id;
		return 0;
	}
	}
}

static void ike_profile_close(struct cfgp *p, struct cfgp_frame *f)
{
	struct cfg_ike_profile *x = f->obj;
	const char *miss = NULL;
	if (!x->auth_local_psk)
		miss = "authentication local pre-share";
	else if (!x->auth_remote_psk)
		miss = "authentication remote pre-share";
	else if (x->keyring == NULL)
		miss = "keyring local";
	if (miss)
		cfgp_err_at(p, f->line, f->col, "crypto ikev2 profile %s is incomplete: expected %s",
			    x->name, miss);
}

int cfgp_crypto_sub(struct cfgp *p)
{
	struct cfgp_frame *f = &p->st[p->depth];
	switch (f->mode) {
	case CM_PROPOSAL: return proposal_line(p, f->obj);
	case CM_POLICY: return policy_line(p, f->obj);
	case CM_KEYRING: return keyring_line(p, f->obj);
	case CM_PEER: return peer_line(p, f->obj, f);
	case CM_IKE_PROFILE: return ike_profile_line(p, f->obj);
	default: return cfgp_ipsec_sub(p);
	}
}

int cfgp_crypto_close(struct cfgp *p, struct cfgp_frame *f)
{
	switch (f->mode) {
	case CM_PROPOSAL: proposal_close(p, f); break;
	case CM_POLICY:
		if (((struct cfg_policy *)f->obj)->n_proposals == 0)
			cfgp_err_at(p, f->line, f->col,
				    "crypto ikev2 policy %s is incomplete: expected proposal",
				    ((struct cfg_policy *)f->obj)->name);
		break;
	case CM_PEER: peer_close(p, f); break;
	case CM_IKE_PROFILE: ike_profile_close(p, f); break;
	case CM_KEYRING: break;
	default: return cfgp_ipsec_close(p, f);
	}
	return 0;
}
