import { describe, expect, test } from '@jest/globals';
import { readFileSync } from 'node:fs';
import { renderLogrotateSnippet } from '../../src/install/logrotate-snippet.js';
import { renderSystemdUnit } from '../../src/install/systemd-unit.js';

const unit = readFileSync(new URL('../../systemd/knocktail.service', import.meta.url), 'utf8');
const logrotate = readFileSync(new URL('../../logrotate/knocktail', import.meta.url), 'utf8');

describe('renderSystemdUnit', () => {
  test('the default directories leave the shipped unit as it is', () => {
    expect(renderSystemdUnit(unit, ['/var/lib/knocktail', '/var/log/knocktail'])).toBe(unit);
  });

  test('other directories are added to ReadWritePaths once, quoted when they hold spaces', () => {
    const text = renderSystemdUnit(unit, ['/srv/kt', '/srv/kt', '/srv/my logs']);
    expect(text).toMatch(/^ReadWritePaths=\/var\/lib\/knocktail \/var\/log\/knocktail \/run\/xtables.lock \/srv\/kt "\/srv\/my logs"$/m);
  });
});

describe('renderLogrotateSnippet', () => {
  test('the shipped snippet rotates by rename and only signals rsyslog', () => {
    expect(logrotate).not.toMatch(/^\s*copytruncate/m);
    expect(logrotate).toMatch(/^\s*delaycompress$/m);
    expect(logrotate).toMatch(/^\s*weekly$/m);
    expect(logrotate).toMatch(/systemctl kill --signal=HUP --kill-who=main rsyslog.service/);
    expect(logrotate).not.toMatch(/^[^#]*knocktail.service/m);
  });

  test('the configured log files replace the default ones', () => {
    const text = renderLogrotateSnippet(logrotate, { logFile: '/srv/k.log', auditLog: '/srv/my audit.log' });
    expect(text).toContain('/srv/k.log\n"/srv/my audit.log"\n{');
    expect(text).not.toContain('/var/log/knocktail/knocks.log');
  });
});
