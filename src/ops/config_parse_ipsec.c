/* Config parser: crypto ipsec transform-set and crypto ipsec profile, with the
 * insync extensions "set udp-encapsulation" and manual "set session-key". */
#include "ops/config_parse.h"
#include "ops/config_util.h"
#include <openssl/crypto.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static struct cfg_transform_set *ts_find(struct config *c, const char *name)
{
	for (struct cfg_transform_set *x = c->transform_sets; x; x = x->next)
		if (strcmp(x->name, name) == 0)
			return x;
	return NULL;
}

static struct cfg_ipsec_profile *profile_find(struct config *c, const char *name)
{
	for (struct cfg_ipsec_profile *x = c->ipsec_profiles; x; x = x->next)
		if (strcmp(x->name, name) == 0)
			return x;
	return NULL;
}

static struct cfg_ike_profile *ike_profile_find(struct config *c, const char *name)
{
	for (struct cfg_ike_profile *x = c->ike_profiles; x; x = x->next)
		if (strcmp(x->name, name) == 0)
			return x;
	return NULL;
}

/* esp-gcm [128|256] | esp-aes [128|256] esp-sha{256,384,512}-hmac, any order. */
static int transforms(struct cfgp *p, enum cfg_esp_cipher *cipher, enum cfg_esp_auth *auth)
{
	static const char *const kws[] = { "esp-aes", "esp-gcm", "esp-sha256-hmac",
					   "esp-sha384-hmac", "esp-sha512-hmac", NULL };
	static const char *const bits[] = { "128", "256", NULL };
	int col0 = cfgp_col(p), k, b;
	*cipher = 0;
	*auth = CFG_ESP_AUTH_NONE;
	do {
		int col = cfgp_col(p);
		if (cfgp_kw(p, kws, &k))
			return -1;
		if (k >= 2) {
			if (*auth) {
				cfgp_err(p, col, "%% Invalid input \"%s\": only one integrity transform",
					 kws[k]);
				return -1;
			}
			*auth = (enum cfg_esp_auth)(k - 1);
			continue;
		}
		if (*cipher) {
			cfgp_err(p, col, "%% Invalid input \"%s\": only one encryption transform", kws[k]);
			return -1;
		}
		b = 0; /* IOS: the key size defaults to 128 */
		if (cfgp_more(p) && p->ln->w[p->pos].s[0] >= '0' && p->ln->w[p->pos].s[0] <= '9' &&
		    cfgp_kw(p, bits, &b))
			return -1;
		*cipher = k == 1 ? (b ? CFG_ESP_GCM_256 : CFG_ESP_GCM_128)
				 : (b ? CFG_ESP_AES_256 : CFG_ESP_AES_128);
	} while (cfgp_more(p));
	int gcm = *cipher == CFG_ESP_GCM_128 || *cipher == CFG_ESP_GCM_256;
	if (*cipher == 0) {
		cfgp_err(p, col0, "expected an encryption transform (esp-gcm or esp-aes)");
		return -1;
	}
	if (gcm && *auth) {
		cfgp_err(p, col0, "esp-gcm cannot be combined with an integrity transform");
		return -1;
	}
	if (!gcm && !*auth) {
		cfgp_err(p, cfgp_col(p),
			 "%% Incomplete command: esp-aes needs one of: esp-sha256-hmac, esp-sha384-hmac, esp-sha512-hmac");
		return -1;
	}
	return 0;
}

static int open_ts(struct cfgp *p, const char *name, int col)
{
	struct config *c = p->c;
	struct cfg_transform_set *x = ts_find(c, name);
	enum cfg_esp_cipher ci;
	enum cfg_esp_auth au;
	if (p->neg) {
		if (cfgp_eol(p))
			return -1;
		if (x == NULL) {
			cfgp_err(p, col, "crypto ipsec transform-set %s is not defined", name);
			return -1;
		}
		for (struct cfg_ipsec_profile *ip = c->ipsec_profiles; ip; ip = ip->next)
			if (ip->ts == x) {
				cfgp_err(p, col, "transform-set %s is in use by ipsec profile %s", name,
					 ip->name);
				return -1;
			}
		struct cfg_transform_set **pp = &c->transform_sets;
		while (*pp != x)
			pp = &(*pp)->next;
		*pp = x->next;
		free(x);
		return 0;
	}
	if (transforms(p, &ci, &au))
		return -1;
	if (x) {
		cfgp_err(p, col, "crypto ipsec transform-set %s is already defined", name);
		return -1;
	}
	struct cfg_transform_set **pp = &c->transform_sets;
	size_t n = 0;
	for (; *pp; pp = &(*pp)->next)
		n++;
	if (cfgp_list_full(p, n, "transform-sets"))
		return -1;
	x = cfgp_alloc(p, sizeof(*x));
	if (x == NULL)
		return -1;
	memcpy(x->name, name, sizeof(x->name));
	x->cipher = ci;
	x->auth = au;
	x->mode_tunnel = 1;
	*pp = x;
	cfgp_push(p, CM_TRANSFORM_SET, x, col);
	return 0;
}

static int open_profile(struct cfgp *p, const char *name, int col)
{
	struct config *c = p->c;
	struct cfg_ipsec_profile *x = profile_find(c, name);
	if (cfgp_eol(p))
		return -1;
	if (p->neg) {
		if (x == NULL) {
			cfgp_err(p, col, "crypto ipsec profile %s is not defined", name);
			return -1;
		}
		for (struct cfg_tunnel *t = c->tunnels; t; t = t->next)
			if (t->protection == x) {
				cfgp_err(p, col, "crypto ipsec profile %s is in use by %s", name, t->name);
				return -1;
			}
		struct cfg_ipsec_profile **pp = &c->ipsec_profiles;
		while (*pp != x)
			pp = &(*pp)->next;
		*pp = x->next;
		cfg_ipsec_profile_free(x);
		return 0;
	}
	if (x) {
		cfgp_err(p, col, "crypto ipsec profile %s is already defined", name);
		return -1;
	}
	struct cfg_ipsec_profile **pp = &c->ipsec_profiles;
	size_t n = 0;
	for (; *pp; pp = &(*pp)->next)
		n++;
	if (cfgp_list_full(p, n, "ipsec profiles"))
		return -1;
	x = cfgp_alloc(p, sizeof(*x));
	if (x == NULL)
		return -1;
	memcpy(x->name, name, sizeof(x->name));
	*pp = x;
	cfgp_push(p, CM_IPSEC_PROFILE, x, col);
	return 0;
}

int cfgp_ipsec_open(struct cfgp *p, int k)
{
	char name[CFG_NAME_MAX];
	int col = cfgp_col(p);
	if (cfgp_name(p, k == 0 ? "transform-set name" : "profile name", name, sizeof(name)))
		return -1;
	return k == 0 ? open_ts(p, name, col) : open_profile(p, name, col);
}

static int ts_line(struct cfgp *p, struct cfg_transform_set *x)
{
	static const char *const kws[] = { "mode", "no", NULL };
	static const char *const modes[] = { "transport", "tunnel", NULL };
	int k, m = 1, col;
	if (cfgp_cmd(p, kws, &k))
		return -1;
	col = cfgp_col(p);
	if ((!p->neg || cfgp_more(p)) && cfgp_kw(p, modes, &m))
		return -1;
	if (cfgp_eol(p))
		return -1;
	if (!p->neg && m == 0) {
		cfgp_err(p, col, "%% Invalid input \"transport\": only mode tunnel is supported");
		return -1;
	}
	x->mode_tunnel = 1; /* "no mode" returns to the default, which is tunnel */
	return 0;
}

/* Hex string of at most CFG_KEY_MAX bytes. */
static int hex_key(struct cfgp *p, const char *what, uint8_t *dst, size_t *len)
{
	const struct cfg_word *w;
	if (cfgp_word(p, what, &w))
		return -1;
	size_t n = w->len;
	int ok = !w->quoted && n > 0 && n % 2 == 0 && n / 2 <= CFG_KEY_MAX;
	for (size_t i = 0; ok && i < n; i++)
		ok = (w->s[i] >= '0' && w->s[i] <= '9') || (w->s[i] >= 'a' && w->s[i] <= 'f') ||
		     (w->s[i] >= 'A' && w->s[i] <= 'F');
	if (!ok) {
		cfgp_err(p, w->col, "%% Invalid input: expected %s as an even number of hex digits (at most %d bytes)",
			 what, CFG_KEY_MAX);
		return -1;
	}
	for (size_t i = 0; i < n / 2; i++) {
		unsigned v;
		sscanf(w->s + 2 * i, "%2x", &v);
		dst[i] = (uint8_t)v;
	}
	*len = n / 2;
	return 0;
}

/* set session-key inbound|outbound esp SPI cipher HEX [authenticator HEX] */
static int session_key(struct cfgp *p, struct cfg_ipsec_profile *x, struct cfgp_frame *f)
{
	static const char *const dirs[] = { "inbound", "outbound", NULL };
	static const char *const esp[] = { "esp", NULL };
	static const char *const cipher[] = { "cipher", NULL };
	static const char *const auth[] = { "authenticator", NULL };
	struct cfg_session_key k;
	int d, i, col;
	memset(&k, 0, sizeof(k));
	if (cfgp_kw(p, dirs, &d))
		return -1;
	struct cfg_session_key *cur = d == 0 ? &x->key_in : &x->key_out;
	if (p->neg) {
		col = cfgp_col(p);
		if (cfgp_more(p) && (cfgp_kw(p, esp, &i) || cfgp_spi(p, &k.spi)))
			return -1;
		if (cfgp_eol(p))
			return -1;
		if (k.spi && (!cur->present || cur->spi != k.spi)) {
			cfgp_err(p, col, "no such %s session key", dirs[d]);
			return -1;
		}
		OPENSSL_cleanse(cur, sizeof(*cur));
		return 0;
	}
	col = cfgp_col(p);
	if (cfgp_kw(p, esp, &i) || cfgp_spi(p, &k.spi))
		goto bad;
	int spi_col = p->ln->w[p->pos - 1].col;
	if (cfgp_kw(p, cipher, &i) || hex_key(p, "cipher key", k.cipher, &k.cipher_len))
		goto bad;
	if (cfgp_opt_kw(p, auth, &i) && hex_key(p, "authenticator key", k.auth, &k.auth_len))
		goto bad;
	if (cfgp_eol_secret(p))
		goto bad;
	if (d == 0) { /* inbound SPIs name SAs in one table: they must be unique */
		for (struct cfg_ipsec_profile *o = p->c->ipsec_profiles; o; o = o->next) {
			if (o != x && o->key_in.present && o->key_in.spi == k.spi) {
				cfgp_err(p, spi_col, "inbound SPI 0x%08X is already used by profile %s",
					 k.spi, o->name);
				goto bad;
			}
		}
	}
	k.present = 1;
	OPENSSL_cleanse(cur, sizeof(*cur));
	*cur = k;
	OPENSSL_cleanse(&k, sizeof(k));
	f->aux_line[d] = p->ln->lineno;
	f->aux_col[d] = col;
	return 0;
bad:
	OPENSSL_cleanse(&k, sizeof(k));
	return -1;
}

static int profile_line(struct cfgp *p, struct cfg_ipsec_profile *x, struct cfgp_frame *f)
{
	static const char *const kws[] = { "set", "no", NULL };
	static const char *const set_kw[] = { "ikev2-profile", "pfs", "security-association",
					      "session-key", "transform-set", "udp-encapsulation",
					      NULL };
	static const char *const sa_kw[] = { "idle-time", "lifetime", NULL };
	static const char *const life_kw[] = { "kilobytes", "seconds", NULL };
	static const char *const pfs[] = { "group14", "group19", "group20", "group31", NULL };
	static const int pfs_v[] = { 14, 19, 20, 31 };
	char name[CFG_NAME_MAX];
	int k, i, col;
	if (cfgp_cmd(p, kws, &k) || cfgp_kw(p, set_kw, &k))
		return -1;
	col = cfgp_col(p);
	switch (k) {
	case 0: /* set ikev2-profile NAME */
	case 4: { /* set transform-set NAME */
		const char *what = k == 0 ? "crypto ikev2 profile" : "crypto ipsec transform-set";
		void *obj = NULL;
		if ((!p->neg || cfgp_more(p)) && cfgp_name(p, "name", name, sizeof(name)))
			return -1;
		if (cfgp_eol(p))
			return -1;
		if (!p->neg) {
			obj = k == 0 ? (void *)ike_profile_find(p->c, name) : (void *)ts_find(p->c, name);
			if (obj == NULL) {
				cfgp_err(p, col, "%s %s is not defined", what, name);
				return -1;
			}
		}
		if (k == 0)
			x->ike_profile = obj;
		else
			x->ts = obj;
		return 0;
	}
	case 1: { /* set pfs groupN */
		int g = 0;
		if ((!p->neg || cfgp_more(p)) && cfgp_kw(p, pfs, &g))
			return -1;
		if (cfgp_eol(p))
			return -1;
		x->pfs_group = p->neg ? 0 : pfs_v[g];
		return 0;
	}
	case 2: /* set security-association idle-time N | lifetime seconds N | kilobytes N */
		if (cfgp_kw(p, sa_kw, &i))
			return -1;
		if (i == 0) {
			uint32_t v = 0;
			if ((!p->neg && cfgp_u32(p, "idle seconds", 60, 86400, &v)) || cfgp_eol(p))
				return -1;
			x->idle_time = v;
			return 0;
		}
		if (cfgp_kw(p, life_kw, &i))
			return -1;
		if (i == 0) {
			uint64_t v = 0;
			if ((!p->neg && cfgp_num(p, "kilobytes", 2560, 4294967295u, &v)) || cfgp_eol(p))
				return -1;
			x->lifetime_kb = v;
		} else {
			uint32_t v = 0;
			if ((!p->neg && cfgp_u32(p, "seconds", 120, 86400, &v)) || cfgp_eol(p))
				return -1;
			x->lifetime_sec = v;
		}
		return 0;
	case 3:
		return session_key(p, x, f);
	default: /* set udp-encapsulation (insync extension) */
		if (cfgp_eol(p))
			return -1;
		x->udp_encap = !p->neg;
		return 0;
	}
}

/* Key lengths are checked when the block ends: the transform-set may be named
 * after the keys. The error points at the session-key line. */
static void key_check(struct cfgp *p, struct cfgp_frame *f, int d)
{
	struct cfg_ipsec_profile *x = f->obj;
	const struct cfg_session_key *k = d == 0 ? &x->key_in : &x->key_out;
	const struct cfg_transform_set *ts = x->ts;
	if (!k->present)
		return;
	size_t want = cfg_esp_cipher_keylen(ts->cipher), want_a = cfg_esp_auth_keylen(ts->auth);
	int gcm = ts->cipher == CFG_ESP_GCM_128 || ts->cipher == CFG_ESP_GCM_256;
	if (k->cipher_len != want)
		cfgp_err_at(p, f->aux_line[d], f->aux_col[d],
			    "session key cipher is %zu bytes: transform-set %s (%s) needs %zu%s",
			    k->cipher_len, ts->name, cfg_esp_cipher_name(ts->cipher), want,
			    gcm ? " (key and 4-byte salt)" : "");
	else if (gcm && k->auth_len)
		cfgp_err_at(p, f->aux_line[d], f->aux_col[d],
			    "session key: transform-set %s (%s) takes no authenticator", ts->name,
			    cfg_esp_cipher_name(ts->cipher));
	else if (!gcm && k->auth_len != want_a)
		cfgp_err_at(p, f->aux_line[d], f->aux_col[d],
			    "session key authenticator is %zu bytes: transform-set %s (%s) needs %zu",
			    k->auth_len, ts->name, cfg_esp_auth_name(ts->auth), want_a);
}

int cfgp_ipsec_sub(struct cfgp *p)
{
	struct cfgp_frame *f = &p->st[p->depth];
	if (f->mode == CM_TRANSFORM_SET)
		return ts_line(p, f->obj);
	return profile_line(p, f->obj, f);
}

int cfgp_ipsec_close(struct cfgp *p, struct cfgp_frame *f)
{
	if (f->mode != CM_IPSEC_PROFILE)
		return 0;
	struct cfg_ipsec_profile *x = f->obj;
	if (x->ts == NULL) {
		cfgp_err_at(p, f->line, f->col,
			    "crypto ipsec profile %s is incomplete: expected set transform-set", x->name);
		return -1;
	}
	key_check(p, f, 0);
	key_check(p, f, 1);
	return 0;
}
