/* Helpers shared by config parsing, printing and show commands. */
#include "ops/config_util.h"
#include <arpa/inet.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>

const char *cfg_ip_str(uint32_t be, char *buf)
{
	uint32_t h = ntohl(be);
	snprintf(buf, CFG_IP_STRLEN, "%u.%u.%u.%u", h >> 24, (h >> 16) & 255, (h >> 8) & 255,
		 h & 255);
	return buf;
}

int cfg_ip_parse(const char *s, uint32_t *be)
{
	uint32_t h = 0;
	for (int oct = 0; oct < 4; oct++) {
		if (oct > 0 && *s++ != '.')
			return -1;
		if (*s < '0' || *s > '9')
			return -1;
		unsigned v = 0;
		int nd = 0;
		while (*s >= '0' && *s <= '9' && nd < 4) {
			v = v * 10 + (unsigned)(*s++ - '0');
			nd++;
		}
		if (nd > 3 || v > 255 || (nd > 1 && s[-nd] == '0'))
			return -1;
		h = h << 8 | v;
	}
	if (*s != '\0')
		return -1;
	*be = htonl(h);
	return 0;
}

int cfg_mask_valid(uint32_t be)
{
	uint32_t h = ntohl(be);
	uint32_t inv = ~h; /* contiguous: the host part is 0...01...1 */
	return (inv & (inv + 1)) == 0;
}

int cfg_mask_len(uint32_t be)
{
	uint32_t h = ntohl(be);
	int n = 0;
	while (n < 32 && (h & (0x80000000u >> n)))
		n++;
	return n;
}

static const char *const levels[] = { "emergencies", "alerts",	      "critical",      "errors",
				      "warnings",    "notifications", "informational", "debugging" };

const char *cfg_level_name(int level)
{
	return level >= 0 && level < 8 ? levels[level] : "?";
}

int cfg_level_parse(const char *s)
{
	if (s[0] >= '0' && s[0] <= '7' && s[1] == '\0')
		return s[0] - '0';
	size_t n = strlen(s);
	int hit = -1;
	for (int i = 0; i < 8; i++) {
		if (strcasecmp(s, levels[i]) == 0)
			return i;
		if (n > 0 && strncasecmp(s, levels[i], n) == 0)
			hit = hit == -1 ? i : -2;
	}
	return hit < 0 ? -1 : hit;
}

const char *cfg_encr_name(enum cfg_ike_encr e)
{
	switch (e) {
	case CFG_ENCR_AES_CBC_128: return "aes-cbc-128";
	case CFG_ENCR_AES_CBC_256: return "aes-cbc-256";
	case CFG_ENCR_AES_GCM_128: return "aes-gcm-128";
	case CFG_ENCR_AES_GCM_256: return "aes-gcm-256";
	}
	return "?";
}

const char *cfg_prf_name(enum cfg_prf p)
{
	switch (p) {
	case CFG_PRF_SHA256: return "sha256";
	case CFG_PRF_SHA384: return "sha384";
	case CFG_PRF_SHA512: return "sha512";
	}
	return "?";
}

const char *cfg_integ_name(enum cfg_integ i)
{
	switch (i) {
	case CFG_INTEG_NONE: return "none";
	case CFG_INTEG_SHA256: return "sha256";
	case CFG_INTEG_SHA384: return "sha384";
	case CFG_INTEG_SHA512: return "sha512";
	}
	return "?";
}

const char *cfg_esp_cipher_name(enum cfg_esp_cipher c)
{
	switch (c) {
	case CFG_ESP_GCM_128: return "esp-gcm 128";
	case CFG_ESP_GCM_256: return "esp-gcm 256";
	case CFG_ESP_AES_128: return "esp-aes 128";
	case CFG_ESP_AES_256: return "esp-aes 256";
	}
	return "?";
}

const char *cfg_esp_auth_name(enum cfg_esp_auth a)
{
	switch (a) {
	case CFG_ESP_AUTH_NONE: return "";
	case CFG_ESP_SHA256: return "esp-sha256-hmac";
	case CFG_ESP_SHA384: return "esp-sha384-hmac";
	case CFG_ESP_SHA512: return "esp-sha512-hmac";
	}
	return "?";
}

const char *cfg_dpd_mode_name(enum cfg_dpd_mode m)
{
	return m == CFG_DPD_PERIODIC ? "periodic" : "on-demand";
}

const char *cfg_eem_op_name(enum cfg_eem_op op)
{
	static const char *const n[] = { "?", "eq", "ne", "gt", "ge", "lt", "le" };
	return op >= EEM_OP_EQ && op <= EEM_OP_LE ? n[op] : "?";
}

size_t cfg_esp_cipher_keylen(enum cfg_esp_cipher c)
{
	switch (c) {
	case CFG_ESP_GCM_128: return 16 + 4;
	case CFG_ESP_GCM_256: return 32 + 4;
	case CFG_ESP_AES_128: return 16;
	case CFG_ESP_AES_256: return 32;
	}
	return 0;
}

size_t cfg_esp_auth_keylen(enum cfg_esp_auth a)
{
	switch (a) {
	case CFG_ESP_AUTH_NONE: return 0;
	case CFG_ESP_SHA256: return 32;
	case CFG_ESP_SHA384: return 48;
	case CFG_ESP_SHA512: return 64;
	}
	return 0;
}

int cfg_label_parse(const char *s, uint32_t key[4])
{
	int n = 0;
	memset(key, 0, 4 * sizeof(key[0]));
	for (;;) {
		if (n == 4 || *s < '0' || *s > '9')
			return -1;
		uint64_t v = 0;
		int nd = 0;
		while (*s >= '0' && *s <= '9') {
			v = v * 10 + (uint64_t)(*s++ - '0');
			if (++nd > 9)
				return -1;
		}
		key[n++] = (uint32_t)v;
		if (*s == '\0')
			return n;
		if (*s++ != '.')
			return -1;
	}
}

static int label_ncomp(const char *s)
{
	int n = 1;
	for (; *s; s++)
		n += *s == '.';
	return n;
}

int cfg_label_cmp(const struct cfg_eem_action *a, const struct cfg_eem_action *b)
{
	int na = label_ncomp(a->label), nb = label_ncomp(b->label);
	for (int i = 0; i < 4; i++) {
		if (i >= na || i >= nb) {
			if (na != nb)
				return na < nb ? -1 : 1; /* shorter prefix first */
			break;
		}
		if (a->label_key[i] != b->label_key[i])
			return a->label_key[i] < b->label_key[i] ? -1 : 1;
	}
	return strcmp(a->label, b->label); /* "01" vs "1": same key, still distinct */
}
