import { readFile } from 'node:fs/promises';
import { dirname, join, resolve } from 'node:path';
import { schemaPath } from '../config/schema-path.js';
import { KnocktailError } from '../model/errors.js';

// The deployment files shipped in the package (rsyslog/, systemd/, logrotate/), read as
// templates for the plan.
export interface ShippedAssets {
  readonly rsyslogDropin: string;
  readonly systemdUnit: string;
  readonly logrotate: string;
}

/** The package root: the schema lives at <root>/src/config/schema.json. */
export function packageRoot(): string {
  return resolve(dirname(schemaPath()), '..', '..');
}

async function readAsset(root: string, path: string): Promise<string> {
  try {
    return await readFile(join(root, path), 'utf8');
  } catch (error) {
    throw new KnocktailError('NOT_FOUND', `Expected the package to ship ${path} below ${root}; it could not be read`, {
      cause: error,
    });
  }
}

export async function readShippedAssets(root = packageRoot()): Promise<ShippedAssets> {
  return {
    rsyslogDropin: await readAsset(root, 'rsyslog/30-knocktail.conf'),
    systemdUnit: await readAsset(root, 'systemd/knocktail.service'),
    logrotate: await readAsset(root, 'logrotate/knocktail'),
  };
}
