# Shared by capture-fixtures.sh and capture-demo.sh: two network namespaces joined by a
# veth, a private rsyslogd (imkmsg, not imklog: other readers share the kernel log), and
# cleanup that runs whatever happens. Source it; it never touches the host's own firewall.
set -euo pipefail

KTCAP_ID=$(printf '%04x' $((RANDOM % 65536)))
NS_C="ktcap-c$KTCAP_ID"
NS_S="ktcap-s$KTCAP_ID"
IF_C="ktcapc$KTCAP_ID"
IF_S="ktcaps$KTCAP_ID"
BR_C="ktcapb$KTCAP_ID"
WORK=$(mktemp -d /tmp/ktcap-work.XXXXXX)
RSYSLOG_PID=""

cleanup() {
  if [[ -n "$RSYSLOG_PID" ]] && kill -0 "$RSYSLOG_PID" 2>/dev/null; then kill "$RSYSLOG_PID" || true; fi
  ip netns del "$NS_C" 2>/dev/null || true
  ip netns del "$NS_S" 2>/dev/null || true
  rm -rf "$WORK"
}
trap cleanup EXIT

in_c() { ip netns exec "$NS_C" "$@"; }
in_s() { ip netns exec "$NS_S" "$@"; }

# The bridge on the client side is there for realism: it makes the kernel print the
# ordinary "entered blocking state" lines a real host log is full of.
# KTCAP_LOG_ALL_NETNS=0 leaves nf_log_all_netns alone (NFLOG captures need no printk from namespaces).
make_namespaces() { # $1 client v4 addresses (space separated, /24), $2 client v6 (/64), $3 server v4, $4 server v6
  if [[ "${KTCAP_LOG_ALL_NETNS:-1}" == 1 ]]; then sysctl -qw net.netfilter.nf_log_all_netns=1; fi
  ip netns add "$NS_C"
  ip netns add "$NS_S"
  ip link add "$IF_C" type veth peer name "$IF_S"
  ip link set "$IF_C" netns "$NS_C"
  ip link set "$IF_S" netns "$NS_S"
  in_c ip link add "$BR_C" type bridge forward_delay 0
  in_c ip link set "$IF_C" master "$BR_C"
  in_c sysctl -qw net.ipv6.conf.all.accept_dad=0
  in_s sysctl -qw net.ipv6.conf.all.accept_dad=0
  for a in $1; do in_c ip addr add "$a" dev "$BR_C"; done
  for a in $2; do in_c ip -6 addr add "$a" dev "$BR_C" nodad; done
  in_s ip addr add "$3" dev "$IF_S"
  in_s ip -6 addr add "$4" dev "$IF_S" nodad
  in_c ip link set lo up
  in_s ip link set lo up
  in_c ip link set "$IF_C" up
  in_c ip link set "$BR_C" up
  in_s ip link set "$IF_S" up
  sleep 1 # let the bridge port reach forwarding (forward_delay is 0)
}

# Our own rsyslogd on /dev/kmsg; imkmsg replays the ring buffer, so the filter keeps only
# lines naming our prefix or our interfaces. Besides RSYSLOG_FileFormat in $1 it writes the
# same lines as $1.traditional (RSYSLOG_TraditionalFileFormat, in UTC) and $1.rfc5424.
start_rsyslogd() { # $1 output file, $2 regex (POSIX ERE) of messages to keep
  cat >"$WORK/own.conf" <<EOF
global(workDirectory="$WORK")
module(load="imkmsg")
if (\$syslogfacility-text == "kern" and re_match(\$msg, "$2")) then {
  action(type="omfile" file="$1" template="RSYSLOG_FileFormat")
  action(type="omfile" file="$1.traditional" template="RSYSLOG_TraditionalFileFormat")
  action(type="omfile" file="$1.rfc5424" template="RSYSLOG_SyslogProtocol23Format")
}
stop
EOF
  TZ=UTC rsyslogd -n -f "$WORK/own.conf" -i "$WORK/own.pid" &
  RSYSLOG_PID=$!
  sleep 1
}

stop_rsyslogd() {
  sleep 1
  kill "$RSYSLOG_PID"
  wait "$RSYSLOG_PID" 2>/dev/null || true
  RSYSLOG_PID=""
}

# ICMP / ICMPv6 echo requests without ping (not installed here): raw sockets, root only.
send_echo() { # $1 namespace, $2 destination, $3 optional source address
  ip netns exec "$1" /usr/bin/python3 - "$2" "${3:-}" <<'EOF'
import socket, struct, sys
dst, src = sys.argv[1], sys.argv[2]
v6 = ':' in dst
if v6:
    s = socket.socket(socket.AF_INET6, socket.SOCK_RAW, socket.IPPROTO_ICMPV6)
    packet = struct.pack('!BBHHH', 128, 0, 0, 0x4b54, 1) + b'knock!'  # kernel fills the v6 checksum
else:
    s = socket.socket(socket.AF_INET, socket.SOCK_RAW, socket.IPPROTO_ICMP)
    body = struct.pack('!BBHHH', 8, 0, 0, 0x4b54, 1) + b'knock!'
    total = sum(struct.unpack('!%dH' % (len(body) // 2), body))  # even length by choice
    total = (total >> 16) + (total & 0xffff); total += total >> 16
    packet = struct.pack('!BBHHH', 8, 0, ~total & 0xffff, 0x4b54, 1) + b'knock!'
if src:
    s.bind((src, 0))
s.sendto(packet, (dst, 0))
EOF
}
