/* Small helpers around the configuration model, shared by the parser, the
 * printer and the show commands: address formatting and the IOS names of
 * algorithms, levels and operators. */
#ifndef INSYNC_CONFIG_UTIL_H
#define INSYNC_CONFIG_UTIL_H
#include "ops/config.h"
#include <stddef.h>
#include <stdint.h>

#define CFG_IP_STRLEN 16

/* Defaults the model starts from (and `no` forms return to). */
#define CFG_DEFAULT_LOG_BUFFER 4096
#define CFG_DEFAULT_BUFFERED_LEVEL 7   /* debugging */
#define CFG_DEFAULT_TRAP_LEVEL 6       /* informational */
#define CFG_DEFAULT_LOG_PORT 514
#define CFG_DEFAULT_IKE_LIFETIME 86400
#define CFG_DEFAULT_SA_LIFETIME_SEC 3600
#define CFG_DEFAULT_SA_LIFETIME_KB 4608000ULL
#define CFG_DEFAULT_REPLAY_WINDOW 64
#define CFG_DEFAULT_INV_SPI_LOG_INTERVAL 60
#define CFG_DEFAULT_KEEPALIVE_RETRY 2
#define CFG_DEFAULT_COOKIE_CHALLENGE 64
#define CFG_IKE_MAX_SA_MAX 1000000 /* crypto ikev2 limit max-sa */
#define CFG_IKE_MAX_NEGO_MAX 8192  /* the engine's own cap on half-open SAs */
#define CFG_DEFAULT_SNMP_MANAGER_PORT 162
#define CFG_DEFAULT_EEM_MAXRUN 20

/* A new model holding every default; NULL when out of memory. */
struct config *config_new(void);

/* Dotted quad of a network-order address into buf (>= CFG_IP_STRLEN bytes). */
const char *cfg_ip_str(uint32_t be, char *buf);
/* Strict dotted quad (four decimal octets, no leading zeros); 0 or -1. */
int cfg_ip_parse(const char *s, uint32_t *be);
/* 1 when a network-order mask is contiguous ones then zeros. */
int cfg_mask_valid(uint32_t be);
/* Prefix length of a contiguous mask. */
int cfg_mask_len(uint32_t be);

/* IOS severity names: emergencies .. debugging (0..7). */
const char *cfg_level_name(int level);
/* A level name (unambiguous prefix allowed) or a number 0..7; -1 if neither. */
int cfg_level_parse(const char *s);

const char *cfg_encr_name(enum cfg_ike_encr e);   /* "aes-gcm-256" */
const char *cfg_prf_name(enum cfg_prf p);         /* "sha256" */
const char *cfg_integ_name(enum cfg_integ i);     /* "sha256" */
const char *cfg_esp_cipher_name(enum cfg_esp_cipher c); /* "esp-gcm 256" */
const char *cfg_esp_auth_name(enum cfg_esp_auth a);     /* "esp-sha256-hmac" */
const char *cfg_dpd_mode_name(enum cfg_dpd_mode m);     /* "on-demand" */
const char *cfg_eem_op_name(enum cfg_eem_op op);        /* "eq" */
/* Bytes of keying material for a manual session key: the cipher part (GCM:
 * key plus 4-byte salt) and the HMAC key (0 for GCM). */
size_t cfg_esp_cipher_keylen(enum cfg_esp_cipher c);
size_t cfg_esp_auth_keylen(enum cfg_esp_auth a);

/* Parse an EEM action label ("1", "8.1", "1.0": up to 4 dot-separated decimal
 * components) into key[4]; returns the component count or -1. */
int cfg_label_parse(const char *s, uint32_t key[4]);
/* IOS order of action labels: numerically component by component, a missing
 * component sorting before 0 ("1" < "1.0" < "1.1" < "2" < "10"). */
int cfg_label_cmp(const struct cfg_eem_action *a, const struct cfg_eem_action *b);
#endif
