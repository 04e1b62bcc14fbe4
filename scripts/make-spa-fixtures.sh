#!/bin/sh
# Records SPA packets from Debian's real fwknop client (fwknop-client 2.6.10) as unit-test
# fixtures: __tests__/fixtures/spa/packets.json. Nothing is sent (--test); each packet is
# saved with --save-packet next to the keys and the fields the client reports with -v.
# Usage: scripts/make-spa-fixtures.sh   (needs fwknop on PATH; run from the repository root)
set -eu
out=__tests__/fixtures/spa/packets.json
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
HOME=$work
export HOME
keys=$(fwknop --key-gen --use-hmac)
key=$(printf '%s\n' "$keys" | sed -n 's/^KEY_BASE64: //p')
hmac=$(printf '%s\n' "$keys" | sed -n 's/^HMAC_KEY_BASE64: //p')
keys2=$(fwknop --key-gen --use-hmac)
other_hmac=$(printf '%s\n' "$keys2" | sed -n 's/^HMAC_KEY_BASE64: //p')

# name|extra fwknop arguments
cases='access|-A tcp/22 -a 203.0.113.9
two-ports|-A tcp/22,udp/53 -a 203.0.113.9
client-timeout|-A tcp/22 -a 203.0.113.9 -f 45
source-address|-A tcp/22 -s
nat-access|-A tcp/22 -a 203.0.113.9 -N 198.51.100.5:22
stale|-A tcp/22 -a 203.0.113.9 --time-offset-minus 10m
other-hmac-key|-A tcp/22 -a 203.0.113.9 HMAC2'

printf '{\n  "client": "%s",\n  "key": "%s",\n  "hmacKey": "%s",\n  "packets": [\n' "$(fwknop --version | head -1)" "$key" "$hmac" >"$out.tmp"
first=1
printf '%s\n' "$cases" | while IFS='|' read -r name args; do
  hmac_arg=$hmac
  case $args in *HMAC2) hmac_arg=$other_hmac; args=${args% HMAC2} ;; esac
  # shellcheck disable=SC2086 # $args is a word list on purpose
  report=$(fwknop $args -D 127.0.0.1 -p 62201 --use-hmac --key-base64-rijndael "$key" --key-base64-hmac "$hmac_arg" \
    --test --no-save-args -v --save-packet "$work/packet")
  field() { printf '%s\n' "$report" | sed -n "s/^ *$1: //p" | head -1; }
  [ $first -eq 1 ] || printf ',\n' >>"$out.tmp"
  first=0
  printf '    { "name": "%s", "args": "%s", "packet": "%s", "timestamp": %s, "messageType": %s, "message": "%s", "clientTimeout": %s, "user": "%s" }' \
    "$name" "$args" "$(cat "$work/packet")" "$(field Timestamp)" "$(field 'Message Type' | cut -d' ' -f1)" \
    "$(field 'Message String')" "$(field 'Client Timeout')" "$(field Username)" >>"$out.tmp"
done
printf '\n  ]\n}\n' >>"$out.tmp"
mv "$out.tmp" "$out"
echo "wrote $out"
