#!/usr/bin/env bash
# Record examples/demo.log: a REAL kernel log (RSYSLOG_FileFormat via a private rsyslogd on
# imkmsg) of knock scenarios against examples/config.json (doors classic, ssh, web6), with
# the ordinary kernel lines of building the test network left in. Root; takes about a minute.
#   (a) 203.0.113.10 knocks classic (tcp 31600, a blocking connect that retransmits)
#   (b) 203.0.113.20 does ssh: tcp 7000 (with a SYN retransmit), udp 8000, tcp 9000 -> open 30s
#   (c) 203.0.113.30 knocks ssh out of order (9000, 8000, 7000)           -> nothing opens
#   (d) 203.0.113.40 knocks 7000, 8000, waits 12 s, then 9000 (timeout 10s) -> nothing opens
#   (e) 2001:db8::40 knocks web6: udp 7100, then an ICMPv6 echo request    -> web6 opens
#   (a') 203.0.113.10 knocks classic's close (tcp 31601) after ssh's grant has expired
# shellcheck source=capture-fixtures.lib.sh
source "$(dirname "$0")/capture-fixtures.lib.sh"

ROOT=$(cd "$(dirname "$0")/.." && pwd)
OUT="$ROOT/examples/demo.log"
PREFIX="knocktail: "
S4=203.0.113.1 S6=2001:db8::1
MINE="ktcap[bcsde]$KTCAP_ID"

start_rsyslogd "$WORK/rsyslog.log" "^$PREFIX|ktcap"
make_namespaces "203.0.113.10/24 203.0.113.20/24 203.0.113.30/24 203.0.113.40/24" "2001:db8::40/64" "$S4/24" "$S6/64"

# The server logs and drops every knock port of the demo config, and echo requests.
for port in 31600 31601 7000 9000; do
  in_s iptables -A INPUT -p tcp --dport "$port" -j LOG --log-prefix "$PREFIX"
  in_s iptables -A INPUT -p tcp --dport "$port" -j DROP
done
in_s iptables -A INPUT -p udp --dport 8000 -j LOG --log-prefix "$PREFIX"
in_s iptables -A INPUT -p udp --dport 8000 -j DROP
in_s iptables -A INPUT -p icmp --icmp-type echo-request -j LOG --log-prefix "$PREFIX"
in_s iptables -A INPUT -p icmp --icmp-type echo-request -j DROP
in_s ip6tables -A INPUT -p udp --dport 7100 -j LOG --log-prefix "$PREFIX"
in_s ip6tables -A INPUT -p udp --dport 7100 -j DROP
in_s ip6tables -A INPUT -p icmpv6 --icmpv6-type echo-request -j LOG --log-prefix "$PREFIX"
in_s ip6tables -A INPUT -p icmpv6 --icmpv6-type echo-request -j DROP

tcp_knock() { # $1 source, $2 port, $3 seconds to keep retrying (a blocking connect retransmits its SYN)
  timeout "$3" ip netns exec "$NS_C" nc -s "$1" -w 5 "$S4" "$2" </dev/null || true
}
udp_knock() { # $1 source, $2 destination, $3 port
  echo knock | timeout 0.5 ip netns exec "$NS_C" nc -u -s "$1" "$2" "$3" || true
}

tcp_knock 203.0.113.10 31600 4                                  # (a) SYN at 0, 1, 3 s
sleep 3
tcp_knock 203.0.113.20 7000 1.5                                 # (b) SYN + one retransmit
udp_knock 203.0.113.20 "$S4" 8000
tcp_knock 203.0.113.20 9000 0.5
sleep 1
tcp_knock 203.0.113.30 9000 0.5                                 # (c) wrong order
udp_knock 203.0.113.30 "$S4" 8000
tcp_knock 203.0.113.30 7000 0.5
# An ordinary kernel event in the middle of the knocks: a second port joins the bridge.
in_c ip link add "ktcapd$KTCAP_ID" type veth peer name "ktcape$KTCAP_ID"
in_c ip link set "ktcapd$KTCAP_ID" master "$BR_C"
in_c ip link set "ktcapd$KTCAP_ID" up
in_c ip link set "ktcape$KTCAP_ID" up
tcp_knock 203.0.113.40 7000 0.5                                 # (d) too slow
udp_knock 203.0.113.40 "$S4" 8000
sleep 12
tcp_knock 203.0.113.40 9000 0.5
udp_knock 2001:db8::40 "$S6" 7100                               # (e) web6
sleep 0.5
send_echo "$NS_C" "$S6" 2001:db8::40
sleep 20                                                        # past ssh's 30 s grant
tcp_knock 203.0.113.10 31601 0.5                                # (a') close classic
sleep 1
ip netns del "$NS_C"                                            # teardown lines belong to the log too
ip netns del "$NS_S"
stop_rsyslogd

grep -E "$MINE" "$WORK/rsyslog.log" >"$OUT"
# Hand-made negative lines, one second after the capture's end, clearly marked.
last=$(tail -n 1 "$OUT" | cut -d' ' -f1)
at=$(date -u -d "$last + 1 second" +%Y-%m-%dT%H:%M:%S.%6N+00:00)
knock=$(grep -m1 -F "DPT=31600 " "$OUT" | sed -e 's/^.* kernel: //' -e 's/SRC=203\.0\.113\.10 /SRC=203.0.113.66 /')
{
  echo "# ---- hand-made negative lines (not captured): a userspace forgery of a knock, then a truncated line ----"
  echo "$at vm logger: $knock"
  echo "$at vm kernel: ${knock%%DPT=31600*}DPT=316"
} >>"$OUT"
wc -l "$OUT"
