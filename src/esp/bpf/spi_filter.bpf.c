/* Kernel-side SPI filter, attached to the data plane's ESP sockets with
 * SO_ATTACH_BPF (loaded by src/esp/spi_filter.c). An ESP packet whose SPI is
 * not one of ours, from a source that is not a peer, is dropped before it is
 * queued: no copy to user space, no wakeup, one counter. That is a random-SPI
 * flood. Everything else passes, and so does one unknown-SPI packet per
 * millisecond per CPU, so the data plane still logs and classifies the flood
 * (rate-limited, as without the filter). Unknown SPIs from peers always pass:
 * invalid-SPI recovery needs every one of them. */
#include <linux/bpf.h>
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_endian.h>

#define SAMPLE_NS 1000000ULL /* one unknown-SPI packet per ms per CPU reaches user space */

/* Sizes: the kernel allocates a hash map's bucket array (16 B per entry) when
 * the map is created, even without preallocation: 1M entries cost 16 MiB and
 * 9 ms of start-up each. Data-plane SAs exist only for Tunnel interfaces
 * (at most DP_MAX_HANDLES = 4096), a few inbound SAs each during rekeys.
 * A full map switches the filter off (fail open, logged), never drops ESP. */

/* Inbound SPIs (host order) of installed SAs. */
struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(map_flags, BPF_F_NO_PREALLOC);
	__uint(max_entries, 1 << 17);
	__type(key, __u32);
	__type(value, __u8);
} spis SEC(".maps");

/* Peer addresses (network order): tunnel destinations and SA peers, refcounted. */
struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(map_flags, BPF_F_NO_PREALLOC);
	__uint(max_entries, 1 << 14);
	__type(key, __u32);
	__type(value, __u32);
} peers SEC(".maps");

/* Slots; spi_filter.c reads them by these numbers. */
enum { C_DROPPED_RAW, C_DROPPED_UDP, C_SAMPLED, C_LAST_PASS_NS, C_MAX };
struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, C_MAX);
	__type(key, __u32);
	__type(value, __u64);
} ctr SEC(".maps");

static __always_inline __u64 *slot(__u32 i)
{
	return bpf_map_lookup_elem(&ctr, &i);
}

static __always_inline int verdict(struct __sk_buff *skb, __u32 spi_be, __u32 src, __u32 dropped)
{
	__u32 spi = bpf_ntohl(spi_be);
	__u64 *last, *n, now;

	if (spi == 0 || bpf_map_lookup_elem(&spis, &spi) || bpf_map_lookup_elem(&peers, &src))
		return skb->len;
	now = bpf_ktime_get_ns();
	last = slot(C_LAST_PASS_NS);
	if (last && now - *last >= SAMPLE_NS) {
		*last = now;
		if ((n = slot(C_SAMPLED)))
			*n += 1;
		return skb->len;
	}
	if ((n = slot(dropped)))
		*n += 1;
	return 0;
}

/* Raw IPPROTO_ESP socket: the packet starts at the IPv4 header. */
SEC("socket")
int esp_raw(struct __sk_buff *skb)
{
	__u8 vihl;
	__u32 src, spi;

	if (bpf_skb_load_bytes(skb, 0, &vihl, 1) || (vihl >> 4) != 4)
		return skb->len;
	if (bpf_skb_load_bytes(skb, (vihl & 0xf) * 4, &spi, 4) || bpf_skb_load_bytes(skb, 12, &src, 4))
		return skb->len; /* too short for ESP: user space counts it malformed */
	return verdict(skb, spi, src, C_DROPPED_RAW);
}

/* UDP 4500 ESP socket: the packet starts at the UDP header. A keepalive or a
 * non-ESP marker (IKE that missed the steering) has SPI 0 or is too short. */
SEC("socket")
int esp_udp(struct __sk_buff *skb)
{
	__u32 src, spi;

	if (bpf_skb_load_bytes(skb, 8, &spi, 4) ||
	    bpf_skb_load_bytes_relative(skb, 12, &src, 4, BPF_HDR_START_NET))
		return skb->len;
	return verdict(skb, spi, src, C_DROPPED_UDP);
}

char LICENSE[] SEC("license") = "Dual BSD/GPL";
