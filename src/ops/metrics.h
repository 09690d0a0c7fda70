/* Prometheus metrics: text exposition format 0.0.4 served at GET /metrics by
 * `metrics listen A.B.C.D PORT` (an insync extension), from the control
 * thread's event loop. Modules register sources that append their metric
 * families; a few global counters and histograms live here so any thread can
 * bump them. Metric names are listed in docs/observability.md. */
#ifndef INSYNC_METRICS_H
#define INSYNC_METRICS_H
#include <stddef.h>
#include <stdint.h>

struct out;
struct config;

/* ---- global counters (thread-safe, lock-free) ---- */
enum metrics_counter {
	MC_RECOVERIES_OK = 0,     /* insync_recoveries_total{result="ok"} */
	MC_RECOVERIES_FAILED,     /* insync_recoveries_total{result="failed"} */
	MC_INVALID_SPI_SENT,      /* insync_invalid_spi_notify_total{direction="sent"} */
	MC_INVALID_SPI_RECV,      /* insync_invalid_spi_notify_total{direction="received"} */
	MC_DPD_SENT,              /* insync_dpd_sent_total */
	MC_DPD_FAILED,            /* insync_dpd_failed_total */
	MC_REKEYS_IKE,            /* insync_rekeys_total{sa="ike"} */
	MC_REKEYS_CHILD,          /* insync_rekeys_total{sa="child"} */
	MC_REKEY_COLLISIONS,      /* insync_rekey_collisions_total */
	MC_IKE_SA_ESTABLISHED,    /* insync_ike_sa_established_total */
	MC_IKE_SA_FAILED,         /* insync_ike_sa_failed_total */
	MC_FLIGHTREC_DUMPS,       /* insync_flightrec_dumps_total */
	MC_COUNT
};

enum metrics_hist_id {
	MH_RECOVERY_SECONDS = 0, /* insync_recovery_duration_seconds */
	MH_IKE_SETUP_SECONDS,    /* insync_ike_setup_duration_seconds */
	MH_COUNT
};

void metrics_inc(enum metrics_counter c);
void metrics_add(enum metrics_counter c, uint64_t n);
uint64_t metrics_get(enum metrics_counter c);
void metrics_observe(enum metrics_hist_id h, double seconds);

/* ---- sources ---- */
typedef void (*metrics_source_fn)(struct out *o, void *arg);
/* Add a source called on every scrape; 0, or -1 when the table is full. */
int metrics_register_source(metrics_source_fn fn, void *arg);
void metrics_unregister_source(metrics_source_fn fn, void *arg);
/* The whole exposition text: built-in families, then every source. */
void metrics_render(struct out *o);

/* ---- text builders ----
 * labels: NULL, or a NULL-terminated array of alternating names and values,
 * e.g. (const char *[]){ "peer", "192.0.2.2", "cause", "replay", NULL }.
 * Values are escaped (\\, \", \n); names must be valid label names. */
void metrics_family(struct out *o, const char *name, const char *type, const char *help);
void metrics_sample(struct out *o, const char *name, const char *const *labels, double value);
void metrics_sample_u64(struct out *o, const char *name, const char *const *labels, uint64_t value);
/* Append a label value with exposition escaping. */
void metrics_escape_label(struct out *o, const char *v);

#define METRICS_HIST_MAX_BUCKETS 16
/* A histogram with fixed upper bounds (seconds, increasing; +Inf implicit).
 * Not locked: callers that share one across threads serialise observe/emit. */
struct metrics_hist {
	size_t n;
	double le[METRICS_HIST_MAX_BUCKETS];
	uint64_t bucket[METRICS_HIST_MAX_BUCKETS + 1]; /* not cumulative; last = +Inf */
	uint64_t count;
	double sum;
};
/* 0, or -1 if n is too large or the bounds do not increase. */
int metrics_hist_init(struct metrics_hist *h, const double *le, size_t n);
void metrics_hist_observe(struct metrics_hist *h, double v);
/* name is the family name (no suffix): emits name_bucket{...,le=}, name_sum, name_count.
 * The family line (TYPE histogram) is the caller's. */
void metrics_hist_emit(struct out *o, const char *name, const char *const *labels,
		       const struct metrics_hist *h);

/* ---- HTTP ---- */
#define METRICS_REQ_MAX 8192     /* request head bytes */
#define METRICS_CONN_MAX 16      /* concurrent connections */
#define METRICS_CONN_TIMEOUT_MS 5000

enum metrics_http_method { MHTTP_GET = 1, MHTTP_HEAD, MHTTP_OTHER };

struct metrics_http_req {
	enum metrics_http_method method;
	int minor;       /* HTTP/1.minor */
	int is_metrics;  /* path is /metrics (query string ignored) */
	size_t n_headers;
};

/* Parse one request head in p[0..len). Returns the head's length (> 0) when a
 * complete head (through the empty line) is present and valid, 0 when more
 * bytes are needed, or a negative HTTP status: -400 malformed, -431 too many
 * or too long header lines, -505 unsupported version. Pure; never reads past len. */
int metrics_http_parse(const uint8_t *p, size_t len, struct metrics_http_req *req);

/* Start, move or stop the listener from cfg->metrics_addr/metrics_port
 * (0 port = off; address 0 = 127.0.0.1). Rebinds only on a change. 0 or -1. */
int metrics_apply(const struct config *cfg);
/* Close the listener and all connections. */
void metrics_shutdown(void);
/* Exec command: show metrics. */
void metrics_register_commands(void);
/* Bound port of the listener (tests; 0 if none). */
uint16_t metrics_bound_port(void);
#endif
