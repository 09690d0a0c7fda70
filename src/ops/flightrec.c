/* The always-on flight recorder (see flightrec.h).
 *
 * Layout: a static pool of FR_MAX_PEERS rings, a chained hash from peer
 * address to ring index, one mutex. The pool lives in BSS, so untouched rings
 * cost no memory and recording never allocates. Records are written in place
 * as raw numbers; names and text come only from flightrec_dump(). */
#include "ops/flightrec.h"
#include "ops/exec.h"
#include "ops/log.h"
#include "ops/metrics.h"
#include "util/out.h"
#include <arpa/inet.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

_Static_assert((FR_RING_RECORDS & (FR_RING_RECORDS - 1)) == 0, "ring size must be a power of two");

#define FR_HASH_BITS 10
#define FR_HASH_SIZE (1u << FR_HASH_BITS)

struct fr_rec {
	uint64_t ts_ns; /* CLOCK_MONOTONIC */
	uint64_t a, b, c;
	uint16_t ev;
	uint16_t pad;
	uint32_t seq; /* per-peer sequence, low bits: shows gaps after wrap */
};
_Static_assert(sizeof(struct fr_rec) == 40, "records stay compact");

struct fr_peer {
	uint32_t addr;    /* network order; 0 = slot unused */
	int32_t next;     /* hash chain: index+1 of the next peer, 0 = end */
	int32_t newer, older; /* LRU list links (index+1, 0 = end) */
	uint64_t last_ns; /* last record */
	uint64_t total;   /* records ever written; head = total % FR_RING_RECORDS */
	uint64_t last_dump_ms;
	int dumped;
	struct fr_rec ring[FR_RING_RECORDS];
};

static pthread_mutex_t fr_lock = PTHREAD_MUTEX_INITIALIZER;
static struct fr_peer fr_peers[FR_MAX_PEERS];
static int32_t fr_hash[FR_HASH_SIZE]; /* index+1 of the first peer, 0 = empty */
static int32_t fr_newest, fr_oldest;  /* LRU list ends (index+1, 0 = empty) */
static size_t fr_used;
static uint64_t fr_evictions;
static atomic_int fr_enabled = 1;
static uint64_t fr_dump_interval_ms = FR_DUMP_INTERVAL_MS;
static uint64_t fr_all_last_dump_ms;
static int fr_all_dumped;

static uint64_t mono_ns(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

static unsigned fr_bucket(uint32_t addr)
{
	return (unsigned)((addr * 2654435761u) >> (32 - FR_HASH_BITS));
}

static struct fr_peer *fr_find(uint32_t addr)
{
	for (int32_t i = fr_hash[fr_bucket(addr)]; i; i = fr_peers[i - 1].next)
		if (fr_peers[i - 1].addr == addr)
			return &fr_peers[i - 1];
	return NULL;
}

static void fr_unlink(struct fr_peer *p)
{
	int32_t idx = (int32_t)(p - fr_peers) + 1;
	int32_t *pp = &fr_hash[fr_bucket(p->addr)];
	while (*pp && *pp != idx)
		pp = &fr_peers[*pp - 1].next;
	if (*pp)
		*pp = p->next;
	p->next = 0;
}

static void lru_remove(struct fr_peer *p)
{
	if (p->newer)
		fr_peers[p->newer - 1].older = p->older;
	else
		fr_newest = p->older;
	if (p->older)
		fr_peers[p->older - 1].newer = p->newer;
	else
		fr_oldest = p->newer;
	p->newer = p->older = 0;
}

static void lru_push(struct fr_peer *p)
{
	int32_t idx = (int32_t)(p - fr_peers) + 1;
	p->newer = 0;
	p->older = fr_newest;
	if (fr_newest)
		fr_peers[fr_newest - 1].newer = idx;
	fr_newest = idx;
	if (!fr_oldest)
		fr_oldest = idx;
}

/* Find or take a ring for addr and make it the most recently active; reuses
 * the least recently active ring when the pool is full. Called with fr_lock held,
 * and only by flightrec_record(): everything else looks peers up with fr_find(),
 * so only an event gives a peer a ring. */
static struct fr_peer *fr_get(uint32_t addr, uint64_t now)
{
	struct fr_peer *p = fr_find(addr);
	if (p) {
		if (fr_newest != (int32_t)(p - fr_peers) + 1) {
			lru_remove(p);
			lru_push(p);
		}
		return p;
	}
	if (fr_used < FR_MAX_PEERS) {
		p = &fr_peers[fr_used++];
	} else {
		p = &fr_peers[fr_oldest - 1];
		lru_remove(p);
		fr_unlink(p);
		fr_evictions++;
	}
	lru_push(p);
	p->addr = addr;
	p->last_ns = now;
	p->total = 0;
	p->dumped = 0;
	p->last_dump_ms = 0;
	unsigned b = fr_bucket(addr);
	p->next = fr_hash[b];
	fr_hash[b] = (int32_t)(p - fr_peers) + 1;
	return p;
}

void flightrec_record(uint32_t peer_be, enum fr_event ev, uint64_t a, uint64_t b, uint64_t c)
{
	if (peer_be == 0 || !atomic_load_explicit(&fr_enabled, memory_order_relaxed))
		return;
	uint64_t now = mono_ns();
	pthread_mutex_lock(&fr_lock);
	struct fr_peer *p = fr_get(peer_be, now);
	struct fr_rec *r = &p->ring[p->total & (FR_RING_RECORDS - 1)];
	r->ts_ns = now;
	r->a = a;
	r->b = b;
	r->c = c;
	r->ev = (uint16_t)ev;
	r->pad = 0;
	r->seq = (uint32_t)p->total;
	p->total++;
	p->last_ns = now;
	pthread_mutex_unlock(&fr_lock);
}

/* ---- formatting (dump path only) ---- */

static const char *const fr_names[FR_EVENT_COUNT] = {
	[FR_NONE] = "NONE",
	[FR_IKE_SENT] = "IKE_SENT",
	[FR_IKE_RECV] = "IKE_RECV",
	[FR_IKE_RETRANSMIT] = "IKE_RETRANSMIT",
	[FR_IKE_STATE] = "IKE_STATE",
	[FR_IKE_ERROR] = "IKE_ERROR",
	[FR_CHILD_INSTALL] = "CHILD_INSTALL",
	[FR_CHILD_REMOVE] = "CHILD_REMOVE",
	[FR_REKEY_START] = "REKEY_START",
	[FR_REKEY_DONE] = "REKEY_DONE",
	[FR_REKEY_COLLISION] = "REKEY_COLLISION",
	[FR_DPD_SENT] = "DPD_SENT",
	[FR_DPD_ACK] = "DPD_ACK",
	[FR_DPD_DEAD] = "DPD_DEAD",
	[FR_INVALID_SPI] = "INVALID_SPI",
	[FR_INVALID_SPI_NOTIFY_SENT] = "INVALID_SPI_NOTIFY_SENT",
	[FR_INVALID_SPI_NOTIFY_RECV] = "INVALID_SPI_NOTIFY_RECV",
	[FR_DELETE_SENT] = "DELETE_SENT",
	[FR_DELETE_RECV] = "DELETE_RECV",
	[FR_INITIAL_CONTACT] = "INITIAL_CONTACT",
	[FR_RECOVERY_START] = "RECOVERY_START",
	[FR_RECOVERY_DONE] = "RECOVERY_DONE",
	[FR_NOTE] = "NOTE",
};

const char *flightrec_event_name(enum fr_event ev)
{
	if ((unsigned)ev < FR_EVENT_COUNT && fr_names[ev])
		return fr_names[ev];
	return "UNKNOWN";
}

static const char *xchg_name(uint64_t t)
{
	switch (t) {
	case 34: return "IKE_SA_INIT";
	case 35: return "IKE_AUTH";
	case 36: return "CREATE_CHILD_SA";
	case 37: return "INFORMATIONAL";
	default: return NULL;
	}
}

/* Mirrors enum ike_sa_state in ike/ike.h (kept by number so this file does not
 * depend on the IKE engine's headers). */
static const char *state_name(uint64_t s)
{
	static const char *const n[] = { "CREATED",  "CONNECTING", "ESTABLISHED", "REKEYING",
					 "REKEYED",  "DELETING",   "DEAD" };
	return s < sizeof(n) / sizeof(n[0]) ? n[s] : NULL;
}

static const char *reason_name(uint64_t r)
{
	static const char *const n[] = { "none", "delete",	 "rekey",	    "expire", "idle",
					 "dpd",	 "invalid-spi", "initial-contact", "admin" };
	return r < sizeof(n) / sizeof(n[0]) ? n[r] : "?";
}

static const char *proto_name(uint64_t p)
{
	return p == 1 ? "IKE" : p == 3 ? "ESP" : p == 2 ? "AH" : "?";
}

/* RFC 7296 section 3.2 payload type names, indexed by type - 32. */
static void put_payloads(struct out *o, uint64_t mask)
{
	static const char *const n[] = { NULL,	  "SA",	 "KE", "IDi",  "IDr", "CERT", "CERTREQ",
					 "AUTH",  "Nonce", "N",  "D",	 "V",	"TSi",	"TSr",
					 "SK",	  "CP",	 "EAP", "GSPM", "IDg", "GSA",	"KD",
					 "SKF" };
	const char *sep = "";
	for (unsigned i = 0; i < 63; i++) {
		if (!(mask & ((uint64_t)1 << i)))
			continue;
		if (i < sizeof(n) / sizeof(n[0]) && n[i])
			out_printf(o, "%s%s", sep, n[i]);
		else
			out_printf(o, "%s#%u", sep, i + 32);
		sep = ",";
	}
	if (*sep == '\0')
		out_printf(o, "none");
}

static void put_xchg(struct out *o, uint64_t t)
{
	const char *n = xchg_name(t);
	if (n)
		out_printf(o, "%s", n);
	else
		out_printf(o, "exchange#%llu", (unsigned long long)t);
}

static void put_state(struct out *o, uint64_t s)
{
	const char *n = state_name(s);
	if (n)
		out_printf(o, "%s", n);
	else
		out_printf(o, "state#%llu", (unsigned long long)s);
}

static void fr_format_args(struct out *o, const struct fr_rec *r)
{
	unsigned long long a = r->a, b = r->b, c = r->c;
	const char *kind = a ? "IKE" : "CHILD";
	switch ((enum fr_event)r->ev) {
	case FR_IKE_SENT:
	case FR_IKE_RECV:
		put_xchg(o, a);
		out_printf(o, " %s msgid=%llu payloads=", (c >> 63) ? "response" : "request", b);
		put_payloads(o, c & ~((uint64_t)1 << 63));
		break;
	case FR_IKE_RETRANSMIT:
		put_xchg(o, a);
		out_printf(o, " msgid=%llu attempt=%llu", b, c);
		break;
	case FR_IKE_STATE:
		put_state(o, a);
		out_printf(o, " -> ");
		put_state(o, b);
		out_printf(o, " spi_i=%016llx", c);
		break;
	case FR_IKE_ERROR:
		out_printf(o, "notify=%llu msgid=%llu %s", a, b, c ? "sent" : "received");
		break;
	case FR_CHILD_INSTALL:
		out_printf(o, "spi_in=0x%08llx spi_out=0x%08llx", a, b);
		if ((uint32_t)c != 0xffffffffu)
			out_printf(o, " Tunnel%llu", c);
		break;
	case FR_CHILD_REMOVE:
		out_printf(o, "spi_in=0x%08llx spi_out=0x%08llx reason=%s", a, b, reason_name(c));
		break;
	case FR_REKEY_START:
		out_printf(o, "%s old_spi=0x%llx", kind, b);
		break;
	case FR_REKEY_DONE:
		out_printf(o, "%s old_spi=0x%llx new_spi=0x%llx", kind, b, c);
		break;
	case FR_REKEY_COLLISION:
		out_printf(o, "%s %s spi=0x%llx", kind,
			   b == 0 ? "ours lost" : b == 1 ? "ours won" : b == 2 ? "peer's request crossed ours" : "found late",
			   c);
		break;
	case FR_DPD_SENT:
		out_printf(o, "msgid=%llu attempt=%llu", a, b);
		break;
	case FR_DPD_ACK:
		out_printf(o, "msgid=%llu rtt=%llums", a, b);
		break;
	case FR_DPD_DEAD:
		out_printf(o, "after %llu attempts", a);
		break;
	case FR_INVALID_SPI:
		out_printf(o, "spi=0x%08llx count=%llu", a, b);
		break;
	case FR_INVALID_SPI_NOTIFY_SENT:
	case FR_INVALID_SPI_NOTIFY_RECV:
		out_printf(o, "spi=0x%08llx", a);
		break;
	case FR_DELETE_SENT:
	case FR_DELETE_RECV:
		out_printf(o, "%s spi=0x%llx count=%llu", proto_name(a), b, c);
		break;
	case FR_INITIAL_CONTACT:
		out_printf(o, "%s", a ? "sent" : "received");
		break;
	case FR_RECOVERY_START:
		out_printf(o, "trigger=%s spi=0x%08llx", reason_name(a), b);
		break;
	case FR_RECOVERY_DONE:
		out_printf(o, "%s in %llums", b ? "ok" : "FAILED", a);
		break;
	default:
		out_printf(o, "a=0x%llx b=0x%llx c=0x%llx", a, b, c);
		break;
	}
}

/* "*Mmm dd hh:mm:ss.mmm" (IOS log stamp style) for a monotonic time. */
static void put_stamp(struct out *o, uint64_t ts_ns, int64_t real_minus_mono_ns)
{
	int64_t rt = (int64_t)ts_ns + real_minus_mono_ns;
	time_t sec = (time_t)(rt / 1000000000);
	unsigned ms = (unsigned)((rt % 1000000000) / 1000000);
	struct tm tm;
	char buf[32];
	localtime_r(&sec, &tm);
	strftime(buf, sizeof(buf), "%b %d %H:%M:%S", &tm);
	out_printf(o, "*%s.%03u", buf, ms);
}

static int64_t clock_offset(void)
{
	struct timespec rt;
	clock_gettime(CLOCK_REALTIME, &rt);
	int64_t real = (int64_t)rt.tv_sec * 1000000000 + rt.tv_nsec;
	return real - (int64_t)mono_ns();
}

/* A snapshot of one ring, copied under the lock and formatted without it. */
struct fr_snap {
	uint32_t addr;
	uint64_t total;
	size_t n;
	struct fr_rec rec[FR_RING_RECORDS];
};

static void snap_take(const struct fr_peer *p, struct fr_snap *s)
{
	s->addr = p->addr;
	s->total = p->total;
	s->n = p->total < FR_RING_RECORDS ? (size_t)p->total : FR_RING_RECORDS;
	uint64_t first = p->total - s->n;
	for (size_t i = 0; i < s->n; i++)
		s->rec[i] = p->ring[(first + i) & (FR_RING_RECORDS - 1)];
}

static void snap_format(const struct fr_snap *s, uint64_t now, int64_t off, struct out *o)
{
	char a[INET_ADDRSTRLEN];
	inet_ntop(AF_INET, &s->addr, a, sizeof(a));
	out_printf(o, "Flight recorder for peer %s: %zu records shown, %llu recorded\n", a, s->n,
		   (unsigned long long)s->total);
	for (size_t i = 0; i < s->n; i++) {
		const struct fr_rec *r = &s->rec[i];
		uint64_t age_ms = now > r->ts_ns ? (now - r->ts_ns) / 1000000 : 0;
		out_printf(o, "  ");
		put_stamp(o, r->ts_ns, off);
		out_printf(o, " (-%llu.%03llus) #%-5u %-23s ", (unsigned long long)(age_ms / 1000),
			   (unsigned long long)(age_ms % 1000), r->seq, flightrec_event_name(r->ev));
		fr_format_args(o, r);
		out_printf(o, "\n");
	}
}

void flightrec_dump(uint32_t peer_be, struct out *o)
{
	struct fr_snap *s = malloc(sizeof(*s));
	uint64_t now = mono_ns();
	int64_t off = clock_offset();
	if (s == NULL) {
		out_printf(o, "%% Out of memory\n");
		return;
	}
	if (peer_be) {
		int found = 0;
		pthread_mutex_lock(&fr_lock);
		struct fr_peer *p = fr_find(peer_be);
		if (p) {
			snap_take(p, s);
			found = 1;
		}
		pthread_mutex_unlock(&fr_lock);
		if (found) {
			snap_format(s, now, off, o);
		} else {
			char a[INET_ADDRSTRLEN];
			inet_ntop(AF_INET, &peer_be, a, sizeof(a));
			out_printf(o, "Flight recorder for peer %s: no records\n", a);
		}
		goto out;
	}
	pthread_mutex_lock(&fr_lock);
	size_t n = fr_used;
	uint64_t ev = fr_evictions;
	pthread_mutex_unlock(&fr_lock);
	out_printf(o, "Flight recorder: %zu peer(s), %d records per peer, %llu ring(s) reused\n", n,
		   FR_RING_RECORDS, (unsigned long long)ev);
	/* Slots are only ever added at the end, so index i stays valid; a ring may be
	 * reused for another peer between snapshots, which a dump tolerates. */
	for (size_t i = 0; i < n && i < FR_MAX_PEERS; i++) {
		pthread_mutex_lock(&fr_lock);
		snap_take(&fr_peers[i], s);
		pthread_mutex_unlock(&fr_lock);
		out_printf(o, "\n");
		snap_format(s, now, off, o);
	}
out:
	free(s);
}

/* ---- dumps to disk0: ---- */

static uint64_t mono_ms(void)
{
	return mono_ns() / 1000000;
}

/* May a dump of peer_be (0 = all peers) go now? 0: yes (the rate limit is
 * charged), 1: suppressed by the rate limit, 2: no ring for that peer. The
 * peer is only looked up: a dump must never create a ring, or dumps of
 * addresses we never talked to would take rings (and, through the file cap,
 * delete real dumps). */
static int dump_check(uint32_t peer_be, uint64_t now_ms)
{
	int rc = 0;
	pthread_mutex_lock(&fr_lock);
	uint64_t *last = &fr_all_last_dump_ms;
	int *dumped = &fr_all_dumped;
	if (peer_be) {
		struct fr_peer *p = fr_find(peer_be);
		if (p == NULL || p->total == 0) {
			rc = 2;
			goto out;
		}
		last = &p->last_dump_ms;
		dumped = &p->dumped;
	}
	if (*dumped && fr_dump_interval_ms && now_ms - *last < fr_dump_interval_ms) {
		rc = 1;
		goto out;
	}
	*last = now_ms;
	*dumped = 1;
out:
	pthread_mutex_unlock(&fr_lock);
	return rc;
}

static int is_dump_name(const char *n)
{
	size_t l = strlen(n);
	return strncmp(n, "flightrec-", 10) == 0 && l > 14 && strcmp(n + l - 4, ".txt") == 0;
}

/* Keep at most FR_DUMP_FILES_MAX dump files in dir: remove the oldest. */
static void prune_dumps(const char *dir)
{
	for (int round = 0; round < 64; round++) {
		DIR *d = opendir(dir);
		if (d == NULL)
			return;
		size_t count = 0;
		char oldest[256] = "";
		struct timespec omt = { 0, 0 };
		struct dirent *e;
		while ((e = readdir(d)) != NULL) {
			struct stat st;
			if (!is_dump_name(e->d_name) || fstatat(dirfd(d), e->d_name, &st, AT_SYMLINK_NOFOLLOW) ||
			    !S_ISREG(st.st_mode))
				continue;
			count++;
			int older = oldest[0] == '\0' || st.st_mtim.tv_sec < omt.tv_sec ||
				    (st.st_mtim.tv_sec == omt.tv_sec &&
				     (st.st_mtim.tv_nsec < omt.tv_nsec ||
				      (st.st_mtim.tv_nsec == omt.tv_nsec && strcmp(e->d_name, oldest) < 0)));
			if (older && strlen(e->d_name) < sizeof(oldest)) {
				snprintf(oldest, sizeof(oldest), "%s", e->d_name);
				omt = st.st_mtim;
			}
		}
		if (count > FR_DUMP_FILES_MAX && oldest[0])
			unlinkat(dirfd(d), oldest, 0);
		closedir(d);
		if (count <= FR_DUMP_FILES_MAX + 1)
			return;
	}
}

static int write_all(int fd, const char *p, size_t n)
{
	while (n) {
		ssize_t w = write(fd, p, n);
		if (w < 0 && errno == EINTR)
			continue;
		if (w <= 0)
			return -1;
		p += w;
		n -= (size_t)w;
	}
	return 0;
}

int flightrec_dump_file(uint32_t peer_be, const char *reason, char *name_out, size_t cap)
{
	char who[INET_ADDRSTRLEN] = "all", name[96], path[4096], stamp[32];
	struct out o;
	int ret = -1, fd = -1;
	out_init(&o);
	if (reason == NULL)
		reason = "manual";
	if (peer_be)
		inet_ntop(AF_INET, &peer_be, who, sizeof(who));
	int why = dump_check(peer_be, mono_ms());
	if (why != 0) {
		ret = why;
		goto out;
	}
	time_t t = time(NULL);
	struct tm tm;
	localtime_r(&t, &tm);
	strftime(stamp, sizeof(stamp), "%Y%m%d-%H%M%S", &tm);
	snprintf(name, sizeof(name), "disk0:flightrec-%s-%s.txt", who, stamp);
	if (exec_resolve_file(name, path, sizeof(path)) < 0)
		goto out;
	out_printf(&o, "insync flight recorder dump\npeer: %s\nreason: %s\n\n", who, reason);
	flightrec_dump(peer_be, &o);
	if (o.oom)
		goto out;
	fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC | O_NOFOLLOW, 0600);
	if (fd < 0 || write_all(fd, o.buf, o.len) < 0) {
		log_ios(LOG_SEV_ERR, "CRYPTO", "FLIGHTREC_DUMP_FAIL",
			"cannot write flight recorder for peer %s to %s: %s", who, name,
			strerror(errno));
		goto out;
	}
	close(fd);
	fd = -1;
	char *slash = strrchr(path, '/');
	if (slash) {
		*slash = '\0';
		prune_dumps(path[0] ? path : "/");
	}
	metrics_inc(MC_FLIGHTREC_DUMPS);
	log_ios(LOG_SEV_NOTICE, "CRYPTO", "FLIGHTREC_DUMP",
		"flight recorder for peer %s written to %s (reason: %s)", who, name, reason);
	if (name_out && cap)
		snprintf(name_out, cap, "%s", name);
	ret = 0;
out:
	if (fd >= 0)
		close(fd);
	out_free(&o);
	return ret;
}

/* ---- control ---- */

size_t flightrec_count(uint32_t peer_be)
{
	size_t n = 0;
	pthread_mutex_lock(&fr_lock);
	struct fr_peer *p = fr_find(peer_be);
	if (p)
		n = p->total < FR_RING_RECORDS ? (size_t)p->total : FR_RING_RECORDS;
	pthread_mutex_unlock(&fr_lock);
	return n;
}

size_t flightrec_peers(void)
{
	pthread_mutex_lock(&fr_lock);
	size_t n = fr_used;
	pthread_mutex_unlock(&fr_lock);
	return n;
}

void flightrec_clear(void)
{
	pthread_mutex_lock(&fr_lock);
	memset(fr_hash, 0, sizeof(fr_hash));
	for (size_t i = 0; i < fr_used; i++) {
		fr_peers[i].addr = 0;
		fr_peers[i].next = fr_peers[i].newer = fr_peers[i].older = 0;
		fr_peers[i].total = 0;
	}
	fr_newest = fr_oldest = 0;
	fr_used = 0;
	fr_evictions = 0;
	fr_all_dumped = 0;
	pthread_mutex_unlock(&fr_lock);
}

void flightrec_set_dump_interval(uint64_t ms)
{
	pthread_mutex_lock(&fr_lock);
	fr_dump_interval_ms = ms;
	pthread_mutex_unlock(&fr_lock);
}

void flightrec_set_enabled(int on)
{
	atomic_store(&fr_enabled, on ? 1 : 0);
}

static int cmd_show(struct exec_ctx *ctx, int argc, char **argv, struct out *o)
{
	struct in_addr a = { 0 };
	if (argc >= 5 && inet_pton(AF_INET, argv[argc - 1], &a) != 1) {
		out_printf(o, "%% Invalid address: %s\n", argv[argc - 1]);
		return 1;
	}
	flightrec_dump(a.s_addr, o);
	return 0;
}

static int cmd_clear(struct exec_ctx *ctx, int argc, char **argv, struct out *o)
{
	flightrec_clear();
	return 0;
}

static int cmd_dump(struct exec_ctx *ctx, int argc, char **argv, struct out *o)
{
	struct in_addr a = { 0 };
	char name[128];
	if (argc >= 5 && inet_pton(AF_INET, argv[argc - 1], &a) != 1) {
		out_printf(o, "%% Invalid address: %s\n", argv[argc - 1]);
		return 1;
	}
	int r = flightrec_dump_file(a.s_addr, "operator request", name, sizeof(name));
	if (r == 0)
		out_printf(o, "Flight recorder written to %s\n", name);
	else if (r == 2)
		out_printf(o, "%% No flight-recorder records for %s\n", argv[argc - 1]);
	else if (r == 1)
		out_printf(o, "%% Flight recorder dump suppressed (one per %llus per peer)\n",
			   (unsigned long long)(fr_dump_interval_ms / 1000));
	else
		out_printf(o, "%% Flight recorder dump failed\n");
	return r == 0 ? 0 : 1;
}

void flightrec_register_commands(void)
{
	exec_register("show crypto flight-recorder", cmd_show, "Always-on per-peer event recorder");
	exec_register("show crypto flight-recorder peer A.B.C.D", cmd_show,
		      "Flight recorder of one peer");
	exec_register("clear crypto flight-recorder", cmd_clear, "Empty the flight recorder");
	exec_register("crypto flight-recorder dump", cmd_dump, "Write the flight recorder to disk0:");
	exec_register("crypto flight-recorder dump peer A.B.C.D", cmd_dump,
		      "Write one peer's flight recorder to disk0:");
}
