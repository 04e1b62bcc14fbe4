import { describe, expect, test } from '@jest/globals';
import { importFwknopAccess } from '../../src/import/fwknop-access.js';

const KEY = 'Wzy4laWGn/U0OtQbVtnsJanA1VAkz5jPx6hq9ms/yPk=';
const HMAC = 'k6Pqm7HIl8GWo8Wjq+5bccne2I3RB6DJwliE1lOifn2RENBrf4STkUuRmogmJg2EA7QchkkTHovPpJN5wcXFkQ==';

const accessConf = `
# fwknopd access.conf
SOURCE              ANY
OPEN_PORTS          tcp/22
KEY_BASE64          ${KEY}
HMAC_KEY_BASE64     ${HMAC}
FW_ACCESS_TIMEOUT   60
REQUIRE_USERNAME    alice

SOURCE              198.51.100.0/24, 2001:db8::/32
OPEN_PORTS          tcp/22, udp/53
KEY_BASE64          ${KEY}
HMAC_KEY_BASE64     ${HMAC}
REQUIRE_SOURCE_ADDRESS Y

SOURCE              ANY
KEY                 passphrase

SOURCE              ANY
KEY_BASE64          ${KEY}
HMAC_KEY_BASE64     ${HMAC}
`;

describe('import fwknop access.conf', () => {
  const result = importFwknopAccess(accessConf);

  test('SOURCE, OPEN_PORTS, FW_ACCESS_TIMEOUT and REQUIRE_SOURCE_ADDRESS become SPA doors; the keys are handed back for their files', () => {
    expect(result.doors).toEqual([
      {
        name: 'spa',
        spa: { port: 62201, keyFile: 'spa.key', hmacKeyFile: 'spa-hmac.key' },
        open: ['tcp:22'],
        openFor: '60s',
      },
      {
        name: 'spa-2',
        spa: { port: 62201, keyFile: 'spa-2.key', hmacKeyFile: 'spa-2-hmac.key', requireSourceAddress: true },
        open: ['tcp:22', 'udp:53'],
        openFor: '30s',
        allowFrom: ['198.51.100.0/24', '2001:db8::/32'],
      },
    ]);
    expect(result.keys.get('spa')).toEqual({ key: KEY, hmacKey: HMAC });
  });

  test('what cannot be converted is reported with why', () => {
    const text = result.notes.map((note) => `${note.kind} ${note.where}: ${note.message}`);
    expect(text).toEqual(
      expect.arrayContaining([
        'ignored [stanza at line 3] line 8: REQUIRE_USERNAME is not converted',
        'skipped [stanza at line 16]: no KEY_BASE64 (a KEY passphrase): knocktail reads base64 Rijndael keys only',
        'skipped [stanza at line 19]: no OPEN_PORTS: fwknopd opens whatever port a packet asks for; a knocktail door needs the list',
        "changed [stanza at line 10]: FW_ACCESS_TIMEOUT not set: the door opens for 30s (fwknopd's default)",
      ]),
    );
    expect(text.filter((line) => line.includes('set spa.allowNat'))).toHaveLength(2);
  });
});
