#!/usr/bin/env python3
"""Summarise bench/run.sh results (results.tsv) as Markdown tables.

Each line of results.tsv is: PART <tab> LABEL <tab> RUN <tab> KEY=VALUE ...
Throughput: median and min-max of Mbit/s per path, the VPN processes' CPU
(cores, both ends together), ratios insync/strongSwan and insync/wireguard-go.
Flood: packets/s sent, seen by A's interface, dropped by the kernel socket
queue, counted by insync; insync's CPU; throughput with and without flood.
IKE: setups/s, responder CPU, RSS per tunnel.
usage: report.py results.tsv [env.txt]"""
import glob
import os
import statistics
import sys

PATHS = [
    ("insync-manual", "insync, manual keys (raw ESP, AES-GCM-256)"),
    ("insync-manual-udp", "insync, manual keys, ESP in UDP 4500"),
    ("insync-ike", "insync, IKEv2 (raw ESP, AES-GCM-256)"),
    ("insync-ike-udp", "insync, IKEv2, ESP in UDP 4500 (set udp-encapsulation)"),
    ("strongswan", "strongSwan 5.9.8 kernel-libipsec (ESP-in-UDP, AES-GCM-256)"),
    ("wireguard-go", "wireguard-go (ChaCha20-Poly1305)"),
    ("veth", "bare veth (no tunnel)"),
]
# The tunnel beside a flood (label prefix, how its description says it).
FLOOD_TUNNELS = [("insync-manual", ""), ("insync-manual-udp", " (ESP in UDP)")]


def load(path):
    rows = []
    for line in open(path):
        f = line.rstrip("\n").split("\t")
        if len(f) < 3:
            continue
        kv = {}
        for w in f[3:]:
            if "=" in w:
                k, v = w.split("=", 1)
                kv[k] = v
        rows.append((f[0], f[1], f[2], kv))
    return rows


def num(v, default=0.0):
    try:
        return float(v)
    except (TypeError, ValueError):
        return default


def med(xs):
    return statistics.median(xs) if xs else 0.0


def main():
    if len(sys.argv) < 2:
        print(__doc__)
        return 2
    rows = load(sys.argv[1])
    if len(sys.argv) > 2:
        try:
            print("```")
            print(open(sys.argv[2]).read().rstrip())
            print("```\n")
        except OSError:
            pass
    tput = {}
    cpu = {}
    errors = {}
    for part, label, run, kv in rows:
        if part != "tput":
            continue
        if "error" in kv:
            errors.setdefault(label, []).append(kv["error"])
            continue
        tput.setdefault(label, []).append(num(kv.get("mbps")))
        if num(kv.get("cpu"), -1) >= 0:
            cpu.setdefault(label, []).append(num(kv.get("cpu")))

    def med_of(label):
        return med(tput.get(label, []))

    if tput or errors:
        print("### Throughput (iperf3 TCP, 1 stream, A->B)\n")
        print("| path | median Mbit/s | min-max | runs | VPN CPU (cores, both ends) | Mbit/s per VPN core |")
        print("|---|---:|---:|---:|---:|---:|")
        for label, desc in PATHS + [(t + suf, d) for t, enc in FLOOD_TUNNELS for suf, d in (
                ("-pair", "insync, manual keys%s, run just before each flood run" % enc),
                ("-flood", "insync, manual keys%s, during the ESP flood" % enc))]:
            xs = tput.get(label, [])
            if not xs and label not in errors:
                continue
            if not xs:
                print("| %s | failed (%s) | | 0 | | |" % (desc, ", ".join(errors[label])))
                continue
            c = med(cpu.get(label, []))
            per_core = "%.0f" % (med(xs) / c) if c > 0 else "-"
            print("| %s | %.0f | %.0f-%.0f | %d | %s | %s |" % (
                desc, med(xs), min(xs), max(xs), len(xs), "%.2f" % c if c > 0 else "-", per_core))
        print()
        ins = [("insync-manual", "insync manual"), ("insync-manual-udp", "insync manual ESP-in-UDP"),
               ("insync-ike", "insync IKE"), ("insync-ike-udp", "insync IKE ESP-in-UDP")]
        for ref, rname, goal in (("strongswan", "strongSwan", 8), ("wireguard-go", "wireguard-go", 5)):
            r = med_of(ref)
            for label, name in ins:
                v = med_of(label)
                if r > 0 and v > 0:
                    print("- %s / %s: **%.2fx** (goal >= %dx: %s)" % (
                        name, rname, v / r, goal, "met" if v / r >= goal else "not met"))
        print()

    fl = [r for r in rows if r[0] == "flood"]
    if fl:
        udp = "BENCH_FLOOD_UDP=1" in open(sys.argv[2]).read() if len(sys.argv) > 2 else False
        print("### Invalid-SPI flood (%s, random SPIs, %d-byte packets, toward A)\n" % (
            "ESP in UDP 4500" if udp else "raw ESP", 100 if udp else 92))
        print("| run | secs | flooder sent pps | A's interface rx pps | dropped at insync's socket queue /s "
              "| counted by insync /s | insync control thread (cores) | insync data-plane thread (cores) "
              "| drops per data-plane core-second | drops per insync core-second (both threads) "
              "| whole host busy (cores) | of it softirq |")
        print("|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|")
        for part, label, run, kv in fl:
            s = num(kv.get("secs"), 1) or 1
            dp = num(kv.get("cpu_dp"))
            ins = num(kv.get("insync_drops")) / s
            tot = dp + num(kv.get("cpu_ctl"))
            print("| %s #%s | %.0f | %.0f | %.0f | %.0f | %.0f | %.2f | %.2f | %s | %s | %s | %s |" % (
                label, run, s, num(kv.get("sent_pps")), num(kv.get("rx_if")) / s,
                num(kv.get("sock_drops")) / s, ins, num(kv.get("cpu_ctl")), dp,
                "%.0f" % (ins / dp) if dp > 0 else "-", "%.0f" % (ins / tot) if tot > 0 else "-",
                kv.get("cpu_host", "-"), kv.get("cpu_sirq", "-")))
        for t, enc in FLOOD_TUNNELS:
            base, fx = tput.get(t, []), tput.get(t + "-flood", [])
            if base and fx:
                print("\n- tunnel%s throughput during the flood: median %.0f Mbit/s vs %.0f without (%.0f%%)" % (
                    enc, med(fx), med(base), 100.0 * med(fx) / med(base)))
            pair = tput.get(t + "-pair", [])
            shares = [100.0 * f / p for p, f in zip(pair, fx) if p > 0]
            if shares:
                print("- share kept%s, each flood run against the run without flood just before it: %s "
                      "(median %.0f%%)" % (enc, ", ".join("%.0f%%" % x for x in shares), med(shares)))
        print()

    ik = [r for r in rows if r[0] == "ike"]
    if any(r[1] == "responder" for r in ik):
        print("### IKE setup rate (IKE_SA_INIT + IKE_AUTH with first CHILD_SA, PSK, group 19, AES-GCM-256)\n")
        mem = None
        speed = {}
        for part, label, run, kv in ik:
            if label == "esp-sa-mem":
                mem = num(kv.get("bytes_per_pair"))
            if label == "openssl-speed":
                speed = kv
        for part, label, run, kv in ik:
            if label != "responder":
                continue
            if "error" in kv:
                print("- responder failed: %s" % kv["error"])
                continue
            n, ok = num(kv.get("n")), num(kv.get("ok"))
            cs = num(kv.get("resp_cpu_s"))
            d_kb = num(kv.get("rss1_kb")) - num(kv.get("rss0_kb"))
            print("| measure | value |")
            print("|---|---:|")
            print("| tunnels requested / established (loader) / on the responder (show crypto ikev2 stats) | %d / %d / %s |" % (
                n, ok, kv.get("sa_on_responder", "?").replace("_", " ")))
            print("| wall time | %s s |" % kv.get("secs"))
            print("| setups/s (wall, loader and responder on one core each) | %s |" % kv.get("rate"))
            print("| responder CPU | %.2f s |" % cs)
            print("| setups per responder core-second | %s |" % ("%.0f" % (ok / cs) if cs > 0 else "-"))
            print("| setup latency ms (loader) | %s |" % kv.get("lat", "").replace("_", " "))
            if num(speed.get("ecdh_p256")) > 0:
                print("| `openssl speed ecdhp256` on the responder's core, same run | %.0f derivations/s |" % num(speed.get("ecdh_p256")))
            print("| responder VmRSS before / after | %d / %d KiB |" % (num(kv.get("rss0_kb")), num(kv.get("rss1_kb"))))
            print("| RSS per tunnel (IKE SA + CHILD_SA state, no data-plane SA) | %.0f bytes |" % (
                d_kb * 1024 / ok if ok else 0))
            for p2, l2, r2, k2 in ik:
                if l2 != "responder-more":
                    continue
                ok2, cs2 = num(k2.get("ok")), num(k2.get("resp_cpu_s"))
                print("| %d more (group 19) on top: setups/s wall, per responder core-second | %s, %s |" % (
                    num(k2.get("n")), k2.get("rate"), "%.0f" % (ok2 / cs2) if cs2 > 0 else "-"))
                print("| responder SAs after both batches | %s |" % k2.get("sa_on_responder", "?").replace("_", " "))
                d2 = num(k2.get("rss2_kb")) - num(k2.get("rss1_kb"))
                print("| marginal RSS per tunnel (the second batch: VmRSS %d -> %d KiB) | %.0f bytes |" % (
                    num(k2.get("rss1_kb")), num(k2.get("rss2_kb")), d2 * 1024 / ok2 if ok2 else 0))
                if mem:
                    print("| marginal per static tunnel incl. its ESP SA pair | %.0f bytes |" % (
                        (d2 * 1024 / ok2 if ok2 else 0) + mem))
            if mem:
                print("| heap per ESP SA pair (in+out, AES-GCM-256; a static tunnel adds it) | %.0f bytes |" % mem)
                print("| estimated per tunnel incl. ESP SAs | %.0f bytes |" % (
                    (d_kb * 1024 / ok if ok else 0) + mem))
        for part, label, run, kv in ik:
            if label != "responder-g31":
                continue
            cs = num(kv.get("resp_cpu_s"))
            if num(speed.get("ecdh_x25519")) > 0:
                print("\n`openssl speed ecdhx25519` on the responder's core, same run: %.0f derivations/s" % num(speed.get("ecdh_x25519")))
            print("\nWith X25519 (group 31), %s more tunnels: %s/%s established in %s s = %s setups/s; responder CPU %.2f s = %s setups per core-second; latency %s" % (
                kv.get("n"), kv.get("ok"), kv.get("n"), kv.get("secs"), kv.get("rate"), cs,
                "%.0f" % (num(kv.get("ok")) / cs) if cs > 0 else "-", kv.get("lat", "").replace("_", " ")))
        for part, label, run, kv in ik:
            if label != "responder-burst":
                continue
            cs = num(kv.get("resp_cpu_s"))
            print("\nA burst, %s setups in flight (X25519; the responder's cookie-challenge is %s), %s more tunnels: "
                  "%s/%s established in %s s = %s setups/s; responder CPU %.2f s = %s setups per core-second; "
                  "COOKIEs sent %s; datagrams dropped at the responder's full socket %s; loader retransmits %s; latency %s" % (
                kv.get("window"), kv.get("cookie_challenge"), kv.get("n"), kv.get("ok"), kv.get("n"), kv.get("secs"), kv.get("rate"), cs,
                "%.0f" % (num(kv.get("ok")) / cs) if cs > 0 else "-", kv.get("cookies"), kv.get("rcvbuf_errors"),
                kv.get("retransmits"), kv.get("lat", "").replace("_", " ")))
        print()

    for part, label, run, kv in ik:
        if label != "scale":
            continue
        ok, r0, r10, rn = num(kv.get("ok")), num(kv.get("rss0_kb")), num(kv.get("rss10k_kb")), num(kv.get("rssn_kb"))
        print("### IKE scale: %d tunnels on one responder (group 19, batches of 10,000)\n" % ok)
        print("| measure | value |")
        print("|---|---:|")
        print("| tunnels on the responder (show crypto ikev2 stats) | %s |" % kv.get("sa_on_responder", "?").replace("_", " "))
        print("| VmRSS at start / after 10,000 / at the end | %d / %d / %d KiB |" % (r0, r10, rn))
        if ok > 10000:
            print("| RSS per tunnel from 10,000 to %d (IKE SA + CHILD_SA state) | %.0f bytes |" % (
                ok, (rn - r10) * 1024.0 / (ok - 10000)))
        if ok:
            print("| RSS per tunnel over all %d, fixed costs included | %.0f bytes |" % (ok, (rn - r0) * 1024.0 / ok))
        print("| responder CPU for all of them | %s s |" % kv.get("resp_cpu_s"))
        print()

    micro = sorted(glob.glob(os.path.join(os.path.dirname(os.path.abspath(sys.argv[1])), "micro-*.txt")))
    if micro:
        print("### Micro-benchmarks\n")
        for f in micro:
            print("%s:\n```\n%s\n```\n" % (os.path.basename(f)[6:-4], open(f).read().rstrip()))

    profs = sorted(glob.glob(os.path.join(os.path.dirname(os.path.abspath(sys.argv[1])), "perf-*.txt")))
    if profs:
        print("### perf profiles (cpu-clock, self time, top entries)\n")
        for f in profs:
            lines = [l.rstrip() for l in open(f) if l.strip()][:24]
            print("%s:\n```\n%s\n```\n" % (os.path.basename(f)[:-4], "\n".join(lines)))
    return 0


if __name__ == "__main__":
    sys.exit(main())
