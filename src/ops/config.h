/* The typed configuration model built from the IOS-dialect config file.
 * config_parse() builds a complete new model or none: reload swaps models
 * atomically. Names are bounded; lists are small fixed arrays or linked lists. */
#ifndef INSYNC_CONFIG_H
#define INSYNC_CONFIG_H
#include <stddef.h>
#include <stdint.h>

#define CFG_NAME_MAX 64
#define CFG_MAX_ALGS 8
#define CFG_KEY_MAX 128
#define CFG_PSK_MAX 256
#define CFG_EEM_ACTIONS_MAX 1000 /* per applet; the parser refuses more */
#define CFG_SNMP_HOSTS_MAX 32    /* snmp-server host lines; the parser refuses more */

struct out;

/* IKEv2 transform identifiers we accept (values are IANA's). */
enum cfg_ike_encr { CFG_ENCR_AES_CBC_128 = 1, CFG_ENCR_AES_CBC_256, CFG_ENCR_AES_GCM_128, CFG_ENCR_AES_GCM_256 };
enum cfg_prf { CFG_PRF_SHA256 = 1, CFG_PRF_SHA384, CFG_PRF_SHA512 };
enum cfg_integ { CFG_INTEG_NONE = 0, CFG_INTEG_SHA256, CFG_INTEG_SHA384, CFG_INTEG_SHA512 };

struct cfg_proposal {
	char name[CFG_NAME_MAX];
	int n_encr, n_prf, n_integ, n_group;
	enum cfg_ike_encr encr[CFG_MAX_ALGS];
	enum cfg_prf prf[CFG_MAX_ALGS];
	enum cfg_integ integ[CFG_MAX_ALGS];
	int group[CFG_MAX_ALGS]; /* 14, 19, 20, 31 */
	struct cfg_proposal *next;
};

struct cfg_policy {
	char name[CFG_NAME_MAX];
	int n_proposals;
	struct cfg_proposal *proposals[CFG_MAX_ALGS];
	struct cfg_policy *next;
};

struct cfg_keyring_peer {
	char name[CFG_NAME_MAX];
	uint32_t addr, mask; /* network order; 0.0.0.0 0.0.0.0 is a wildcard */
	int has_addr;
	char identity[CFG_NAME_MAX]; /* optional "identity ..." */
	char psk[CFG_PSK_MAX];       /* secret: zeroized on free, masked in show */
	size_t psk_len;
	struct cfg_keyring_peer *next;
};

struct cfg_keyring {
	char name[CFG_NAME_MAX];
	struct cfg_keyring_peer *peers;
	struct cfg_keyring *next;
};

enum cfg_id_type { CFG_ID_NONE = 0, CFG_ID_ADDR, CFG_ID_FQDN, CFG_ID_KEYID };
enum cfg_dpd_mode { CFG_DPD_PERIODIC = 1, CFG_DPD_ON_DEMAND };

struct cfg_identity {
	enum cfg_id_type type;
	uint32_t addr, mask; /* CFG_ID_ADDR (mask only for match identity remote) */
	char value[CFG_NAME_MAX]; /* FQDN or key-id */
};

struct cfg_ike_profile {
	char name[CFG_NAME_MAX];
	struct cfg_identity match_remote;
	struct cfg_identity local;
	int auth_local_psk, auth_remote_psk;
	struct cfg_keyring *keyring;
	uint32_t lifetime; /* seconds, 120..86400, default 86400 */
	int has_dpd;
	uint32_t dpd_interval, dpd_retry; /* 10..3600, 2..60 */
	enum cfg_dpd_mode dpd_mode;
	struct cfg_ike_profile *next;
};

enum cfg_esp_cipher { CFG_ESP_GCM_128 = 1, CFG_ESP_GCM_256, CFG_ESP_AES_128, CFG_ESP_AES_256 };
enum cfg_esp_auth { CFG_ESP_AUTH_NONE = 0, CFG_ESP_SHA256, CFG_ESP_SHA384, CFG_ESP_SHA512 };

struct cfg_transform_set {
	char name[CFG_NAME_MAX];
	enum cfg_esp_cipher cipher;
	enum cfg_esp_auth auth;
	int mode_tunnel; /* only tunnel mode is supported */
	struct cfg_transform_set *next;
};

struct cfg_session_key {
	int present;
	uint32_t spi;
	uint8_t cipher[CFG_KEY_MAX]; /* for GCM: key followed by the 4-byte salt */
	size_t cipher_len;
	uint8_t auth[CFG_KEY_MAX];
	size_t auth_len;
};

struct cfg_ipsec_profile {
	char name[CFG_NAME_MAX];
	struct cfg_transform_set *ts;
	struct cfg_ike_profile *ike_profile;
	uint32_t lifetime_sec; /* 0 = global default (3600) */
	uint64_t lifetime_kb;  /* 0 = global default (4608000) */
	uint32_t idle_time;    /* 0 = global */
	int pfs_group;         /* 0 = none */
	int udp_encap;         /* insync extension: set udp-encapsulation */
	struct cfg_session_key key_in, key_out;
	struct cfg_ipsec_profile *next;
};

struct cfg_tunnel {
	unsigned num; /* TunnelN */
	char name[CFG_NAME_MAX];
	char description[CFG_NAME_MAX * 2];
	uint32_t addr, mask;
	int has_addr;
	uint32_t src;                     /* tunnel source address, or 0 with src_if */
	char src_if[CFG_NAME_MAX];        /* tunnel source INTERFACE */
	uint32_t dst;
	int mode_ipsec_v4;
	struct cfg_ipsec_profile *protection;
	int shutdown;
	struct cfg_tunnel *next;
};

struct cfg_route {
	uint32_t prefix, mask;
	char ifname[CFG_NAME_MAX]; /* TunnelN, or empty with next hop */
	uint32_t nexthop;
	struct cfg_route *next;
};

struct cfg_log_host {
	uint32_t addr;
	uint16_t port; /* default 514 */
	struct cfg_log_host *next;
};

struct cfg_snmp_host {
	uint32_t addr;
	char community[CFG_NAME_MAX];
	int version; /* 1 or 2 (2c) */
	int traps_event_manager;
	struct cfg_snmp_host *next;
};

enum cfg_eem_event {
	EEM_EV_NONE = 1,
	EEM_EV_SYSLOG,
	EEM_EV_SNMP_NOTIF,
	EEM_EV_TIMER_COUNTDOWN,
	EEM_EV_TIMER_WATCHDOG,
};
enum cfg_eem_op { EEM_OP_EQ = 1, EEM_OP_NE, EEM_OP_GT, EEM_OP_GE, EEM_OP_LT, EEM_OP_LE };
enum cfg_eem_action_kind { EEM_ACT_CLI = 1, EEM_ACT_WAIT, EEM_ACT_SYSLOG, EEM_ACT_SNMP_TRAP };

struct cfg_eem_action {
	char label[16];        /* as written: "1", "8.1", "1.0" */
	uint32_t label_key[4]; /* numeric components, for IOS ordering */
	enum cfg_eem_action_kind kind;
	char text[512];        /* cli command / syslog msg / trap strdata */
	int priority;          /* syslog priority, -1 = default (informational) */
	uint32_t wait_sec;
	int has_int2;
	long long intdata1, intdata2;
	struct cfg_eem_action *next; /* kept sorted by label_key */
};

struct cfg_applet {
	char name[CFG_NAME_MAX];
	enum cfg_eem_event event;
	char pattern[256]; /* syslog regex (validated with regcomp) */
	uint32_t occurs, period;
	char oid[128];     /* snmp-notification oid; trailing '.' = prefix */
	char oid_val[128];
	enum cfg_eem_op op;
	uint32_t src_ip;
	uint32_t timer_sec;
	uint32_t maxrun; /* default 20 */
	struct cfg_eem_action *actions;
	struct cfg_applet *next;
};

struct config {
	char hostname[CFG_NAME_MAX];
	/* logging */
	size_t log_buffered_size; /* 0 = off */
	int log_buffered_level;   /* default 7 (debugging) */
	struct cfg_log_host *log_hosts;
	int log_trap_level;
	/* crypto globals */
	int invalid_spi_recovery;
	int has_keepalive;
	uint32_t ikev2_nat_keepalive; /* crypto ikev2 nat keepalive SECONDS (0: off) */
	uint32_t ikev2_cookie_challenge; /* half-open SAs before COOKIE, 1..1000, default 64 */
	uint32_t ikev2_max_sa;           /* crypto ikev2 limit max-sa (0: none) */
	uint32_t ikev2_max_nego_in, ikev2_max_nego_out; /* ... max-in-negotiation-sa (0: none) */
	uint32_t keepalive_sec, keepalive_retry; /* retry default 2 */
	enum cfg_dpd_mode keepalive_mode;        /* default on-demand */
	uint32_t sa_idle_time;                   /* 0 = off */
	uint32_t sa_lifetime_sec;                /* global default 3600 */
	uint64_t sa_lifetime_kb;                 /* global default 4608000 */
	uint32_t replay_window;                  /* 64..4096, default 64 */
	uint32_t invalid_spi_log_interval;       /* default 60 */
	/* objects */
	struct cfg_proposal *proposals;
	struct cfg_policy *policies;
	struct cfg_keyring *keyrings;
	struct cfg_ike_profile *ike_profiles;
	struct cfg_transform_set *transform_sets;
	struct cfg_ipsec_profile *ipsec_profiles;
	struct cfg_tunnel *tunnels;
	struct cfg_route *routes;
	/* snmp / eem */
	int snmp_traps_eem;
	struct cfg_snmp_host *snmp_hosts;
	int snmp_manager;
	uint16_t snmp_manager_port; /* default 162; insync extension: snmp-server manager port N */
	struct cfg_applet *applets;
	/* metrics (insync extension) */
	uint32_t metrics_addr;
	uint16_t metrics_port; /* 0 = off */
};

/* Parse a whole file's text. On success returns 0 and *out; on failure returns -1
 * and appends "FILE:LINE:COL: message" lines to err (if non-NULL); *out is NULL. */
int config_parse(const char *fname, const char *text, size_t len, struct config **out,
		 struct out *err);
int config_load_file(const char *path, struct config **out, struct out *err);
/* Free and zeroize secrets. Accepts NULL. */
void config_free(struct config *c);
/* Canonical config text; secrets masked unless unmasked. */
void config_print(const struct config *c, int unmasked, struct out *o);

/* Lookups (borrowed pointers). */
struct cfg_tunnel *config_tunnel_by_dst(const struct config *c, uint32_t dst);
struct cfg_tunnel *config_tunnel_by_name(const struct config *c, const char *name);
/* Find the PSK for a peer address in a keyring (exact match first, then widest-mask). */
const struct cfg_keyring_peer *config_keyring_lookup(const struct cfg_keyring *k, uint32_t addr);
#endif
