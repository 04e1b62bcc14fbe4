#!/usr/bin/env bash
# Capture REAL ulogd2 lines (NFLOG → BASE → IFINDEX → IP2STR → PRINTPKT → LOGEMU, the stack
# `knocktail install` renders for source "nflog") for the parser's fixture (root; re-runnable).
# Debian's ulogd2 runs in the server namespace with its own config, files and pid (never the
# host's service), TZ=UTC as knocktail's unit runs it; nf_log_all_netns is left as it is (0):
# NFLOG needs no printk. Writes __tests__/fixtures/ulogd-logemu.log, annotated by a reader
# written apart from the TypeScript parser (a "# expect:" line above each line).
KTCAP_LOG_ALL_NETNS=0
# shellcheck source=capture-fixtures.lib.sh
source "$(dirname "$0")/capture-fixtures.lib.sh"

ROOT=$(cd "$(dirname "$0")/.." && pwd)
OUT="$ROOT/__tests__/fixtures/ulogd-logemu.log"
PLUGINS=/usr/lib/x86_64-linux-gnu/ulogd
[[ -d $PLUGINS ]] || PLUGINS=$(dirname "$(find /usr/lib -name ulogd_inppkt_NFLOG.so | head -1)")
PREFIX="ktcap-$(printf '%04x%04x' $RANDOM $RANDOM): "
GROUP=$((100 + RANDOM % 900))
ULOGD_PID=""
stop_ulogd() { if [[ -n "$ULOGD_PID" ]] && kill -0 "$ULOGD_PID" 2>/dev/null; then kill "$ULOGD_PID" || true; wait "$ULOGD_PID" 2>/dev/null || true; fi; ULOGD_PID=""; }
trap 'stop_ulogd; cleanup' EXIT

C4=198.51.100.2 S4=198.51.100.1 C6=2001:db8:77::2 S6=2001:db8:77::1
make_namespaces "$C4/24" "$C6/64" "$S4/24" "$S6/64"

cat >"$WORK/ulogd.conf" <<CONF
[global]
logfile="$WORK/ulogd.log"
loglevel=3
plugin="$PLUGINS/ulogd_inppkt_NFLOG.so"
plugin="$PLUGINS/ulogd_raw2packet_BASE.so"
plugin="$PLUGINS/ulogd_filter_IFINDEX.so"
plugin="$PLUGINS/ulogd_filter_IP2STR.so"
plugin="$PLUGINS/ulogd_filter_PRINTPKT.so"
plugin="$PLUGINS/ulogd_output_LOGEMU.so"
stack=log1:NFLOG,base1:BASE,ifi1:IFINDEX,ip2str1:IP2STR,print1:PRINTPKT,emu1:LOGEMU

[log1]
group=$GROUP
netlink_qthreshold=1

[emu1]
file="$WORK/knocks.log"
sync=1
CONF
TZ=UTC ip netns exec "$NS_S" ulogd -c "$WORK/ulogd.conf" -p "$WORK/ulogd.pid" &
ULOGD_PID=$!
sleep 1

# Server: knock ports tagged for our group; 7004 with another prefix in the same group (not
# ours: ignored); 7005 to another group (never reaches our ulogd's file); OUTPUT: a packet the
# host sends (IN= empty: foreign). Then DROP, as the guard does.
tag() { # $1 binary, $2 group, $3 prefix, then the match
  local bin=$1 group=$2 prefix=$3
  shift 3
  in_s "$bin" "$@" -j NFLOG --nflog-group "$group" --nflog-prefix "$prefix" --nflog-threshold 1
}
tag iptables "$GROUP" "$PREFIX" -A INPUT -p tcp --dport 7000
tag iptables "$GROUP" "$PREFIX" -A INPUT -p udp --dport 8000
tag iptables "$GROUP" "$PREFIX" -A INPUT -p icmp --icmp-type echo-request
tag iptables "$GROUP" "other: " -A INPUT -p tcp --dport 7004
tag iptables $((GROUP + 1)) "$PREFIX" -A INPUT -p tcp --dport 7005
tag iptables "$GROUP" "$PREFIX" -A OUTPUT -p tcp --dport 7003
tag ip6tables "$GROUP" "$PREFIX" -A INPUT -p tcp --dport 7000
tag ip6tables "$GROUP" "$PREFIX" -A INPUT -p udp --dport 8000
tag ip6tables "$GROUP" "$PREFIX" -A INPUT -p icmpv6 --icmpv6-type echo-request
in_s iptables -A INPUT -p tcp -m multiport --dports 7000,7004,7005 -j DROP
in_s iptables -A INPUT -p udp --dport 8000 -j DROP
in_s ip6tables -A INPUT -p tcp --dport 7000 -j DROP
in_s ip6tables -A INPUT -p udp --dport 8000 -j DROP

connect() { # $1 namespace, $2 host, $3 port: one bounded connect attempt
  ip netns exec "$1" /usr/bin/python3 -c '
import socket, sys
s = socket.socket(socket.AF_INET6 if ":" in sys.argv[1] else socket.AF_INET); s.settimeout(0.3)
try: s.connect((sys.argv[1], int(sys.argv[2])))
except OSError: pass' "$2" "$3"
}
datagram() { # $1 namespace, $2 host, $3 port
  ip netns exec "$1" /usr/bin/python3 -c '
import socket, sys
s = socket.socket(socket.AF_INET6 if ":" in sys.argv[1] else socket.AF_INET, socket.SOCK_DGRAM)
s.sendto(b"knock", (sys.argv[1], int(sys.argv[2])))' "$2" "$3"
}
connect "$NS_C" "$S4" 7000
datagram "$NS_C" "$S4" 8000
send_echo "$NS_C" "$S4"
connect "$NS_C" "$S4" 7004
connect "$NS_C" "$S4" 7005
connect "$NS_S" "$C4" 7003
connect "$NS_C" "$S6" 7000
datagram "$NS_C" "$S6" 8000
send_echo "$NS_C" "$S6"
sleep 0.5
stop_ulogd

/usr/bin/python3 - "$WORK/knocks.log" "$OUT" "$PREFIX" "$S4" "$S6" <<'PY'
import ipaddress, json, re, sys
from datetime import datetime, timezone
log, out, prefix, local = sys.argv[1], sys.argv[2], sys.argv[3], sys.argv[4:]
FLAGS = ['CWR', 'ECE', 'URG', 'ACK', 'PSH', 'RST', 'SYN', 'FIN']
lines = open(log).read().splitlines()
year = datetime.now(timezone.utc).year
def at(stamp):
    t = datetime.strptime(f'{year} {stamp}', '%Y %b %d %H:%M:%S').replace(tzinfo=timezone.utc)
    return int(t.timestamp()) * 1000
def expect(message, ms):
    if not message.startswith(prefix + ' IN='): return {'kind': 'ignored'}
    words = message[len(prefix):].split()
    fields = {}
    for w in words:
        if '=' in w:
            k, v = w.split('=', 1)
            fields.setdefault(k, v)
    src, dst = ipaddress.ip_address(fields['SRC']), str(ipaddress.ip_address(fields['DST']))
    if fields['IN'] == '': return {'kind': 'foreign', 'reason': 'no-in'}
    if fields['OUT'] != '': return {'kind': 'foreign', 'reason': 'out-set'}
    if dst not in local: return {'kind': 'foreign', 'reason': 'dst-not-local'}
    e = {'kind': 'packet', 'at': datetime.fromtimestamp(ms / 1000, timezone.utc).strftime('%Y-%m-%dT%H:%M:%S.000Z'),
         'in': fields['IN'], 'family': src.version, 'src': str(src), 'dst': dst, 'proto': fields['PROTO'].lower(),
         'len': int(fields['LEN']), 'flags': [f for f in FLAGS if f in words]}
    if 'TTL' in fields: e['ttl'] = int(fields['TTL'])
    for key, name in (('SPT', 'sport'), ('DPT', 'dport'), ('TYPE', 'icmpType'), ('CODE', 'icmpCode')):
        if key in fields: e[name] = int(fields[key])
    return e
reference = max(at(line[:15]) for line in lines)
body = ['# Real capture: Debian ulogd2 (NFLOG, BASE, IFINDEX, IP2STR, PRINTPKT, LOGEMU), TZ=UTC. scripts/capture-ulogd-fixtures.sh',
        '# No "kernel:" tag: the file is written by knocktail\'s ulogd alone (docs/nflog.md). The knock on 7005 (another NFLOG group) is absent: other groups never reach this file.',
        '# context: ' + json.dumps({'prefix': prefix, 'header': 'ulogd', 'referenceTime': reference, 'localAddresses': local})]
for line in lines:
    m = re.match(r'(\w{3} [ \d]\d \d\d:\d\d:\d\d) \S+ (.*)$', line)
    body += ['# expect: ' + json.dumps(expect(m.group(2), at(m.group(1)))), line]
open(out, 'w').write('\n'.join(body) + '\n')
print(f'{len(lines)} lines → {out}')
PY
