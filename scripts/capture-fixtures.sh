#!/usr/bin/env bash
# Capture REAL kernel LOG lines for the parser's fixtures (root; re-runnable).
# Writes the raw captures to __tests__/fixtures/raw/: rsyslog RSYSLOG_FileFormat,
# RSYSLOG_TraditionalFileFormat and RFC 5424 through a private rsyslogd (imkmsg), the
# /dev/kmsg records and dmesg's view of the same packets.
# The annotated fixture files are written from these by scripts/capture-fixtures-annotate.py.
# shellcheck source=capture-fixtures.lib.sh
source "$(dirname "$0")/capture-fixtures.lib.sh"

ROOT=$(cd "$(dirname "$0")/.." && pwd)
OUT="$ROOT/__tests__/fixtures/raw"
mkdir -p "$OUT"
PREFIX="ktcap-$(printf '%04x%04x' $RANDOM $RANDOM): "

C4=198.51.100.2 S4=198.51.100.1 C6=2001:db8:77::2 S6=2001:db8:77::1
make_namespaces "$C4/24" "$C6/64" "$S4/24" "$S6/64"
start_rsyslogd "$WORK/rsyslog.log" "^$PREFIX"

# Server: LOG then DROP the knock ports; 7001 logs every optional field; 7002 REJECTs.
in_s iptables -A INPUT -p tcp --dport 7000 -j LOG --log-prefix "$PREFIX"
in_s iptables -A INPUT -p tcp --dport 7001 -j LOG --log-prefix "$PREFIX" --log-tcp-sequence --log-tcp-options --log-ip-options
in_s iptables -A INPUT -p tcp --dport 7002 -j REJECT
in_s iptables -A INPUT -p udp --dport 8000 -j LOG --log-prefix "$PREFIX"
in_s iptables -A INPUT -p udp --dport 8002 -j LOG --log-prefix "$PREFIX" --log-macdecode
in_s iptables -A INPUT -p icmp --icmp-type echo-request -j LOG --log-prefix "$PREFIX"
in_s iptables -A INPUT -p tcp -m multiport --dports 7000,7001 -j DROP
in_s iptables -A INPUT -p udp -m multiport --dports 8000,8002 -j DROP
in_s iptables -A INPUT -p icmp --icmp-type echo-request -j DROP
in_s ip6tables -A INPUT -p tcp --dport 7000 -j LOG --log-prefix "$PREFIX"
in_s ip6tables -A INPUT -p udp --dport 8000 -j LOG --log-prefix "$PREFIX"
in_s ip6tables -A INPUT -p icmpv6 --icmpv6-type echo-request -j LOG --log-prefix "$PREFIX"
in_s ip6tables -A INPUT -p tcp --dport 7000 -j DROP
in_s ip6tables -A INPUT -p udp --dport 8000 -j DROP
in_s ip6tables -A INPUT -p icmpv6 --icmpv6-type echo-request -j DROP
# Client: log the ICMP errors that come back (they quote our own packet) and one locally
# generated packet with its owner (--log-uid needs the socket, so OUTPUT).
in_c iptables -A INPUT -p icmp --icmp-type destination-unreachable -j LOG --log-prefix "$PREFIX"
in_c ip6tables -A INPUT -p icmpv6 --icmpv6-type destination-unreachable -j LOG --log-prefix "$PREFIX"
in_c iptables -A OUTPUT -p tcp --dport 7003 -j LOG --log-prefix "$PREFIX" --log-uid

# TCP SYN with real retransmits: a blocking connect to a dropped port, bounded.
timeout 4 ip netns exec "$NS_C" nc -w 3 "$S4" 7000 </dev/null || true
# Every optional field: TCP options are on any SYN; IP options set on the socket.
in_c /usr/bin/python3 - "$S4" <<'EOF' || true
import socket, sys
s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
s.setsockopt(socket.IPPROTO_IP, socket.IP_OPTIONS, bytes([1, 1, 1, 0]))  # NOP NOP NOP EOL
s.settimeout(0.5)
try: s.connect((sys.argv[1], 7001))
except OSError: pass
EOF
timeout 2 ip netns exec "$NS_C" nc -w 1 "$S4" 7002 </dev/null || true
timeout 2 ip netns exec "$NS_C" nc -w 1 "$S4" 7003 </dev/null || true
echo knock | timeout 2 ip netns exec "$NS_C" nc -u -w 1 "$S4" 8000 || true
echo knock | timeout 2 ip netns exec "$NS_C" nc -u -w 1 "$S4" 8001 || true
echo knock | timeout 2 ip netns exec "$NS_C" nc -u -w 1 "$S4" 8002 || true
send_echo "$NS_C" "$S4"
timeout 2 ip netns exec "$NS_C" nc -6 -w 1 "$S6" 7000 </dev/null || true
echo knock | timeout 2 ip netns exec "$NS_C" nc -6 -u -w 1 "$S6" 8000 || true
echo knock | timeout 2 ip netns exec "$NS_C" nc -6 -u -w 1 "$S6" 8001 || true
send_echo "$NS_C" "$S6"

stop_rsyslogd
# /dev/kmsg blocks at its end: read for a bounded second, keep our records only.
timeout 1 cat /dev/kmsg >"$WORK/kmsg" || true
grep -a -F ";$PREFIX" "$WORK/kmsg" >"$OUT/kmsg.log" || true
dmesg | grep -a -F "] $PREFIX" >"$OUT/dmesg.log" || true
cp "$WORK/rsyslog.log" "$OUT/rsyslog.log"
cp "$WORK/rsyslog.log.traditional" "$OUT/rsyslog-traditional.log"
cp "$WORK/rsyslog.log.rfc5424" "$OUT/rsyslog-rfc5424.log"
# The boot time the kmsg/dmesg uptimes are relative to, for the annotations.
echo "$(($(date +%s%N) / 1000000 - $(awk '{printf "%d", $1 * 1000}' /proc/uptime)))" >"$OUT/boot-time-ms"
printf '%s' "$PREFIX" >"$OUT/prefix"
wc -l "$OUT"/*.log
/usr/bin/python3 "$ROOT/scripts/capture-fixtures-annotate.py" "$OUT" "$ROOT/__tests__/fixtures"
