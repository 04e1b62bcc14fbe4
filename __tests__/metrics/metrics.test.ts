import { afterEach, beforeEach, describe, expect, test } from '@jest/globals';
import { mkdtemp, readdir, readFile, rm } from 'node:fs/promises';
import { request } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Metrics } from '../../src/metrics/metrics.js';
import { isLoopbackHost, serveMetrics } from '../../src/metrics/metrics-server.js';
import { writeTextfile } from '../../src/metrics/metrics-textfile.js';
import { FIXTURE_RECORDS } from '../audit/fixture-records.js';

function get(port: number, path: string, method = 'GET'): Promise<{ status: number; type: string; body: string }> {
  return new Promise((resolve, reject) => {
    const req = request({ host: '127.0.0.1', port, path, method }, (response) => {
      let body = '';
      response.on('data', (data: Buffer) => (body += data.toString()));
      response.on('end', () =>
        resolve({ status: response.statusCode ?? 0, type: String(response.headers['content-type']), body }),
      );
    });
    req.on('error', reject);
    req.end();
  });
}

describe('Metrics', () => {
  test('counts what the audit records say, by door and reason', async () => {
    const metrics = new Metrics();
    for (const record of FIXTURE_RECORDS) {
      if (record.event === 'reject') metrics.incRejected(record.door, record.reason);
      else metrics.record(record);
    }
    const text = await metrics.text();
    expect(text).toContain('knocktail_opens_total{door="ssh"} 4');
    expect(text).toContain('knocktail_opens_total{door="classic"} 1');
    expect(text).toContain('knocktail_refreshes_total{door="ssh"} 1');
    expect(text).toContain('knocktail_closes_total{door="ssh",reason="expired-while-down"} 1');
    expect(text).toContain('knocktail_closes_total{door="classic",reason="close-sequence"} 1');
    expect(text).toContain('knocktail_rejected_total{door="ssh",reason="banned"} 1');
    expect(text).toContain('knocktail_firewall_failures_total{action="open"} 1');
  });

  test('pipeline counters follow the running totals without double counting', async () => {
    const metrics = new Metrics();
    metrics.syncCounters({ lines: 10, packets: 8, malformed: 1 });
    metrics.syncCounters({ lines: 25, packets: 8, knocks: 3 });
    metrics.inc('ignored', 2);
    const text = await metrics.text();
    expect(text).toContain('knocktail_lines_total 25');
    expect(text).toContain('knocktail_packets_total 8');
    expect(text).toContain('knocktail_malformed_lines_total 1');
    expect(text).toContain('knocktail_knocks_total 3');
    expect(text).toContain('knocktail_ignored_lines_total 2');
  });

  test('gauges and the firewall latency histogram appear with their values', async () => {
    const metrics = new Metrics();
    metrics.setGauges({ openGrants: 2, trackedSources: 7, scanners: 3, lagBytes: 4096 });
    metrics.observeFirewallLatency('open', 0.003);
    metrics.observeFirewallLatency('open', 0.2);
    const text = await metrics.text();
    expect(text).toContain('knocktail_open_grants 2');
    expect(text).toContain('knocktail_tracked_sources 7');
    expect(text).toContain('knocktail_scanners_marked 3');
    expect(text).toContain('knocktail_follower_lag_bytes 4096');
    expect(text).toContain('knocktail_firewall_command_seconds_bucket{le="0.005",action="open"} 1');
    expect(text).toContain('knocktail_firewall_command_seconds_count{action="open"} 2');
  });

  test('tracked counters and gauges are read at each scrape', async () => {
    const metrics = new Metrics();
    const totals = { lines: 3, knocks: 1 };
    let open = 1;
    metrics.trackCounters(() => totals);
    metrics.trackGauges(() => ({ openGrants: open }));
    expect(await metrics.text()).toContain('knocktail_open_grants 1');
    totals.lines = 10;
    open = 0;
    const text = await metrics.text();
    expect(text).toContain('knocktail_lines_total 10');
    expect(text).toContain('knocktail_knocks_total 1');
    expect(text).toContain('knocktail_open_grants 0');
  });

  test('process metrics are opt-in and land on the own registry', async () => {
    const metrics = new Metrics();
    expect(await metrics.text()).not.toContain('process_resident_memory_bytes');
    metrics.collectProcessMetrics();
    expect(await metrics.text()).toContain('process_resident_memory_bytes');
    expect(await new Metrics().text()).not.toContain('process_resident_memory_bytes');
  });

  test('two instances never share counts (no global registry)', async () => {
    const one = new Metrics();
    const two = new Metrics();
    one.incOpen('ssh');
    expect(await two.text()).not.toContain('knocktail_opens_total{door="ssh"}');
  });
});

describe('serveMetrics', () => {
  test('answers GET /metrics on 127.0.0.1 with an ephemeral port', async () => {
    const metrics = new Metrics();
    metrics.incOpen('ssh');
    const server = await serveMetrics(metrics, '127.0.0.1:0');
    try {
      expect(server.port).toBeGreaterThan(0);
      const answer = await get(server.port, '/metrics');
      expect(answer.status).toBe(200);
      expect(answer.type).toMatch(/^text\/plain; version=0\.0\.4/);
      expect(answer.body).toContain('knocktail_opens_total{door="ssh"} 1');
      expect((await get(server.port, '/')).status).toBe(404);
      expect((await get(server.port, '/metrics', 'POST')).status).toBe(405);
    } finally {
      await server.close();
    }
  });

  test('refuses a non-loopback address unless allowed, and warns when allowed', async () => {
    await expect(serveMetrics(new Metrics(), '0.0.0.0:0')).rejects.toMatchObject({
      code: 'CONFIG_INVALID',
      message: expect.stringContaining('loopback'),
    });
    const warnings: string[] = [];
    const server = await serveMetrics(new Metrics(), '0.0.0.0:0', {
      allowRemote: true,
      warn: (message) => warnings.push(message),
    });
    await server.close();
    expect(warnings).toEqual(['metrics are served on 0.0.0.0:0, reachable from other hosts']);
  });

  test('a bare port means 127.0.0.1; a malformed listen address says what was expected', async () => {
    const server = await serveMetrics(new Metrics(), ':0');
    expect((await get(server.port, '/metrics')).status).toBe(200);
    await server.close();
    await expect(serveMetrics(new Metrics(), 'localhost:http')).rejects.toThrow(
      /Expected metrics.listen to be host:port/,
    );
    await expect(serveMetrics(new Metrics(), '127.0.0.1:70000')).rejects.toMatchObject({ code: 'CONFIG_INVALID' });
  });

  test('loopback means 127/8, ::1 and localhost', () => {
    expect(['127.0.0.1', '127.1.2.3', '::1', 'localhost', '0:0:0:0:0:0:0:1'].every(isLoopbackHost)).toBe(true);
    expect(['0.0.0.0', '::', '203.0.113.9', 'example.com', '::ffff:7f00:1x'].some(isLoopbackHost)).toBe(false);
  });
});

describe('writeTextfile', () => {
  let dir: string;
  beforeEach(async () => {
    dir = await mkdtemp(join(tmpdir(), 'knocktail-metrics-'));
  });
  afterEach(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  test('replaces the file whole and leaves no temporary behind', async () => {
    const metrics = new Metrics();
    const path = join(dir, 'knocktail.prom');
    await writeTextfile(metrics, path);
    metrics.incOpen('ssh');
    await writeTextfile(metrics, path);
    expect(await readFile(path, 'utf8')).toContain('knocktail_opens_total{door="ssh"} 1');
    expect(await readdir(dir)).toEqual(['knocktail.prom']);
  });

  test('a failed write leaves the old file and no temporary', async () => {
    await expect(writeTextfile(new Metrics(), join(dir, 'missing-dir', 'x.prom'))).rejects.toThrow();
    expect(await readdir(dir)).toEqual([]);
  });
});
