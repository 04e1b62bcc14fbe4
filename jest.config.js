// Two projects: fast unit tests with fakes, and system tests that drive real
// iptables/nft/ipset/rsyslog inside network namespaces (serial, root only).
const common = {
  extensionsToTreatAsEsm: ['.ts'],
  moduleNameMapper: { '^(\\.{1,2}/.*)\\.js$': '$1' },
  transform: { '^.+\\.ts$': ['ts-jest', { useESM: true, tsconfig: 'tsconfig.json' }] },
  testEnvironment: 'node',
  // The .deb's staging tree holds a second package.json named knocktail.
  modulePathIgnorePatterns: ['<rootDir>/build/'],
};

export default {
  projects: [
    {
      ...common,
      displayName: 'unit',
      testMatch: ['<rootDir>/__tests__/**/*.test.ts'],
      testPathIgnorePatterns: ['/__tests__/system/'],
    },
    { ...common, displayName: 'system', testMatch: ['<rootDir>/__tests__/system/**/*.test.ts'] },
  ],
};
