#!/usr/bin/env python3
# Turn the raw captures of capture-fixtures.sh into annotated fixtures (fail2ban style: a
# "# expect: {json}" line above each log line). Written independently of the TypeScript
# parser on purpose, so the fixtures check it rather than echo it: take the outer header
# (everything before the first "[" after IN=), read KEY=VALUE words and bare flag words.
import ipaddress, json, re, sys
from datetime import datetime, timezone
from pathlib import Path

raw = Path(sys.argv[1])
out = Path(sys.argv[2])
prefix = (raw / 'prefix').read_text()
boot = int((raw / 'boot-time-ms').read_text())
FLAGS = ['CWR', 'ECE', 'URG', 'ACK', 'PSH', 'RST', 'SYN', 'FIN']
# The server namespace's addresses (capture-fixtures.lib.sh): the client namespace's own
# LOG lines (its ICMP errors, its OUTPUT packets) are in the same kernel log, and foreign.
LOCAL = ['198.51.100.1', '2001:db8:77::1']


def expect(message, at):
    body = message[len(prefix):].split('[', 1)[0]
    words = body.split()
    fields = {}
    for w in words:
        if '=' in w:
            k, v = w.split('=', 1)
            fields.setdefault(k, v)  # first occurrence: IP LEN before UDP LEN, IP ID before ICMP ID
    src = ipaddress.ip_address(fields['SRC'])
    dst = str(ipaddress.ip_address(fields['DST']))
    if fields['IN'] == '': return {'kind': 'foreign', 'reason': 'no-in'}
    if fields['OUT'] != '': return {'kind': 'foreign', 'reason': 'out-set'}
    if dst not in LOCAL: return {'kind': 'foreign', 'reason': 'dst-not-local'}
    proto = fields['PROTO'].lower()
    e = {'kind': 'packet', 'at': at, 'in': fields['IN'], 'family': src.version,
         'src': str(src), 'dst': dst, 'proto': proto,
         'len': int(fields['LEN']), 'flags': [f for f in FLAGS if f in words]}
    if 'TTL' in fields: e['ttl'] = int(fields['TTL'])
    if 'SPT' in fields: e['sport'] = int(fields['SPT'])
    if 'DPT' in fields: e['dport'] = int(fields['DPT'])
    if 'TYPE' in fields: e['icmpType'] = int(fields['TYPE'])
    if 'CODE' in fields: e['icmpCode'] = int(fields['CODE'])
    return e


def iso(ms):
    return datetime.fromtimestamp(ms / 1000, timezone.utc).strftime('%Y-%m-%dT%H:%M:%S.') + '%03dZ' % (ms % 1000)


def write(name, title, context, items):
    lines = [f'# {title}', f'# context: {json.dumps(context)}']
    for e, line in items:
        lines += [f'# expect: {json.dumps(e)}', line]
    (out / name).write_text('\n'.join(lines) + '\n')


rs = []
for line in (raw / 'rsyslog.log').read_text().splitlines():
    m = re.match(r'(\S+) \S+ kernel: (.*)$', line)
    stamp = datetime.fromisoformat(m.group(1))
    ms = int(stamp.timestamp()) * 1000 + stamp.microsecond // 1000
    rs.append((expect(m.group(2), iso(ms)), line))
write('rsyslog-file-format.log', 'Real capture: private rsyslogd (imkmsg), RSYSLOG_FileFormat. scripts/capture-fixtures.sh',
      {'prefix': prefix, 'bootTime': boot, 'localAddresses': LOCAL}, rs)

km = []
for line in (raw / 'kmsg.log').read_text().splitlines():
    head, message = line.split(';', 1)
    us = int(head.split(',')[2])
    km.append((expect(message, iso(boot + us // 1000)), line))
write('kmsg.log', 'Real capture: raw /dev/kmsg records (at = bootTime + uptime). scripts/capture-fixtures.sh',
      {'prefix': prefix, 'bootTime': boot, 'localAddresses': LOCAL}, km)

dm = []
for line in (raw / 'dmesg.log').read_text().splitlines():
    m = re.match(r'\[\s*(\d+)\.(\d{6})\] (.*)$', line)
    us = int(m.group(1)) * 1000000 + int(m.group(2))
    dm.append((expect(m.group(3), iso(boot + us // 1000)), line))
write('dmesg.log', 'Real capture: plain dmesg (at = bootTime + uptime). scripts/capture-fixtures.sh',
      {'prefix': prefix, 'bootTime': boot, 'localAddresses': LOCAL}, dm)

# RSYSLOG_TraditionalFileFormat (written in UTC, whole seconds, no year) and RFC 5424.
reference = max(int(datetime.fromisoformat(line.split(' ', 1)[0]).timestamp() * 1000) for line in (raw / 'rsyslog.log').read_text().splitlines())
tr = []
for line in (raw / 'rsyslog-traditional.log').read_text().splitlines():
    m = re.match(r'(\w{3} [ \d]\d \d\d:\d\d:\d\d) \S+ kernel: (.*)$', line)
    year = datetime.fromtimestamp(reference / 1000, timezone.utc).year
    stamp = datetime.strptime(f'{year} {m.group(1)}', '%Y %b %d %H:%M:%S').replace(tzinfo=timezone.utc)
    tr.append((expect(m.group(2), iso(int(stamp.timestamp()) * 1000)), line))
write('rsyslog-traditional.log', 'Real capture: RSYSLOG_TraditionalFileFormat (TZ=UTC; the tests read it in zone UTC). scripts/capture-fixtures.sh',
      {'prefix': prefix, 'bootTime': boot, 'referenceTime': reference, 'localAddresses': LOCAL}, tr)

r5 = []
for line in (raw / 'rsyslog-rfc5424.log').read_text().splitlines():
    m = re.match(r'<\d+>1 (\S+) \S+ kernel - - - (.*)$', line)
    stamp = datetime.fromisoformat(m.group(1))
    r5.append((expect(m.group(2), iso(int(stamp.timestamp()) * 1000 + stamp.microsecond // 1000)), line))
write('rsyslog-rfc5424.log', 'Real capture: RFC 5424 (RSYSLOG_SyslogProtocol23Format). scripts/capture-fixtures.sh',
      {'prefix': prefix, 'bootTime': boot, 'localAddresses': LOCAL}, r5)
