import { describe, expect, test } from '@jest/globals';
import { readFileSync } from 'node:fs';
import { renderLogrotateSnippet } from '../../src/install/logrotate-snippet.js';
import type { KnocktailError } from '../../src/model/errors.js';
import { checkUnitSandbox, renderSystemdUnit } from '../../src/install/systemd-unit.js';

const unit = readFileSync(new URL('../../systemd/knocktail.service', import.meta.url), 'utf8');
const logrotate = readFileSync(new URL('../../logrotate/knocktail', import.meta.url), 'utf8');

describe('renderSystemdUnit', () => {
  test('the default directories leave the shipped unit as it is', () => {
    expect(renderSystemdUnit(unit, ['/var/lib/knocktail', '/var/log/knocktail'])).toBe(unit);
  });

  test('other directories are added to ReadWritePaths once, quoted when they hold spaces', () => {
    const text = renderSystemdUnit(unit, ['/srv/kt', '/srv/kt', '/srv/my logs']);
    expect(text).toMatch(
      /^ReadWritePaths=\/var\/lib\/knocktail \/var\/log\/knocktail -\/run\/xtables.lock \/srv\/kt "\/srv\/my logs"$/m,
    );
  });

  test('the unit runs as the knocktail user with only the two network capabilities', () => {
    expect(unit).toMatch(/^User=knocktail$/m);
    expect(unit).toMatch(/^Group=knocktail$/m);
    // Its own group reads the knock log: adm would also open auth.log and every other adm log.
    expect(unit).not.toMatch(/^SupplementaryGroups=/m);
    expect(unit).toMatch(/^AmbientCapabilities=CAP_NET_ADMIN CAP_NET_RAW$/m);
    expect(unit).toMatch(/^StateDirectory=knocktail$/m);
    expect(unit).toMatch(/^LogsDirectory=knocktail$/m);
    expect(unit).toMatch(/^RuntimeDirectory=knocktail$/m);
    expect(unit).toMatch(/^ExecStartPre=\+\/usr\/bin\/chgrp knocktail \/run\/xtables.lock$/m);
  });

  test('given the real node and CLI, every command of the unit runs them instead of /usr/bin/knocktail', () => {
    const text = renderSystemdUnit(unit, [], { node: '/usr/bin/node', cli: '/opt/knock tail/dist/src/cli/main.js' });
    expect(text).toMatch(/^ExecStartPre=\/usr\/bin\/node "\/opt\/knock tail\/dist\/src\/cli\/main.js" check-config$/m);
    expect(text).toMatch(/^ExecStart=\/usr\/bin\/node "\/opt\/knock tail\/dist\/src\/cli\/main.js" run$/m);
    expect(text).not.toMatch(/^[^#]*\/usr\/bin\/knocktail/m);
    expect(text).toMatch(/^ExecStartPre=\+\/usr\/bin\/touch \/run\/xtables.lock$/m);
  });

  test.each([
    ['/root/knocktail/dist/src/cli/main.js', '/usr/bin/node'],
    ['/home/ada/src/knocktail/dist/src/cli/main.js', '/usr/bin/node'],
    ['/usr/lib/node_modules/knocktail/dist/src/cli/main.js', '/home/ada/.nvm/versions/node/v20.19.0/bin/node'],
  ])('a CLI at %s run by %s is refused, since ProtectHome=yes hides it from the service', (cli, node) => {
    expect(() => renderSystemdUnit(unit, [], { node, cli })).toThrow(
      /ProtectHome=yes, so the service could not read it/,
    );
    try {
      renderSystemdUnit(unit, [], { node, cli });
    } catch (error) {
      expect((error as KnocktailError).code).toBe('USAGE');
      expect((error as KnocktailError).details.join('\n')).toMatch(/npm install -g|apt-get install nodejs/);
    }
  });

  test('a clone under /tmp is refused: the unit has PrivateTmp=yes, so the service sees its own empty /tmp', () => {
    expect(() =>
      renderSystemdUnit(unit, [], { node: '/usr/bin/node', cli: '/tmp/knocktail/dist/src/cli/main.js' }),
    ).toThrow(
      'Expected the knocktail CLI where the service can read it, got /tmp/knocktail/dist/src/cli/main.js: the unit has PrivateTmp=yes, so the service sees its own empty /tmp and /var/tmp, not this path',
    );
    // Read from the unit as rendered: a unit without PrivateTmp= runs it.
    expect(
      renderSystemdUnit(unit.replace(/^PrivateTmp=yes\n/m, ''), [], {
        node: '/usr/bin/node',
        cli: '/tmp/knocktail/dist/src/cli/main.js',
      }),
    ).toMatch(/^ExecStart=\/usr\/bin\/node \/tmp\/knocktail/m);
  });

  test('checkUnitSandbox refuses writes ProtectSystem= or ProtectHome=read-only forbid, and allows what ReadWritePaths= opens', () => {
    const need = (path: string, write = true) => [{ what: 'the state directory', path, write, fixes: ['move it'] }];
    expect(() => checkUnitSandbox(unit, need('/srv/knocktail'))).toThrow(
      'the unit has ProtectSystem=strict and no ReadWritePaths= for it, so the service could not write it',
    );
    expect(() =>
      checkUnitSandbox(renderSystemdUnit(unit, ['/srv/knocktail']), need('/srv/knocktail/state')),
    ).not.toThrow();
    expect(() => checkUnitSandbox(unit, need('/srv/knocktail', false))).not.toThrow();
    const readOnlyHome = unit.replace(/^ProtectHome=yes$/m, 'ProtectHome=read-only');
    expect(() => checkUnitSandbox(readOnlyHome, need('/home/ada/kt.log', false))).not.toThrow();
    expect(() => checkUnitSandbox(readOnlyHome, need('/home/ada/state'))).toThrow(
      'the unit has ProtectHome=read-only, so the service could not write it',
    );
  });

  test('a unit relaxed to ProtectHome=read-only runs a CLI from a home directory', () => {
    const relaxed = unit.replace(/^ProtectHome=yes$/m, 'ProtectHome=read-only');
    const text = renderSystemdUnit(relaxed, [], {
      node: '/usr/bin/node',
      cli: '/home/ada/knocktail/dist/src/cli/main.js',
    });
    expect(text).toMatch(/^ExecStart=\/usr\/bin\/node \/home\/ada\/knocktail\/dist\/src\/cli\/main.js run$/m);
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
