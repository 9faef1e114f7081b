// Reads a systemd unit file the way systemd does for what the tests need:
// sections, repeated keys, comments, line continuations; and an
// EnvironmentFile's KEY=VALUE lines.

import * as fs from 'node:fs';

export type Unit = Map<string, Map<string, string[]>>;

export function parseUnit(text: string): Unit {
  const unit: Unit = new Map();
  let section: Map<string, string[]> | null = null;
  const lines = text.replace(/\\\n/g, ' ').split('\n');
  for (const raw of lines) {
    const line = raw.trim();
    if (line === '' || line.startsWith('#') || line.startsWith(';')) continue;
    const header = /^\[(.+)\]$/.exec(line);
    if (header !== null) {
      section = unit.get(header[1]) ?? new Map();
      unit.set(header[1], section);
      continue;
    }
    const eq = line.indexOf('=');
    if (section === null || eq < 1) throw new Error(`not a unit file line: ${raw}`);
    const key = line.slice(0, eq).trim();
    const value = line.slice(eq + 1).trim();
    section.set(key, [...(section.get(key) ?? []), value]);
  }
  return unit;
}

export function readUnit(file: string): Unit {
  return parseUnit(fs.readFileSync(file, 'utf8'));
}

/** The one value of a key; throws when the key is missing or repeated. */
export function single(unit: Unit, section: string, key: string): string {
  const values = unit.get(section)?.get(key) ?? [];
  if (values.length !== 1) throw new Error(`[${section}] ${key}= appears ${values.length} times`);
  return values[0];
}

/** Environment= lines: each holds one or more KEY=VALUE words (no quoting is used in our units). */
export function unitEnvironment(unit: Unit): Record<string, string> {
  const env: Record<string, string> = {};
  for (const line of unit.get('Service')?.get('Environment') ?? []) {
    for (const word of line.split(/\s+/)) {
      const eq = word.indexOf('=');
      if (eq < 1) throw new Error(`Environment word without '=': ${word}`);
      env[word.slice(0, eq)] = word.slice(eq + 1);
    }
  }
  return env;
}

/** An EnvironmentFile: KEY=VALUE lines, `#` comments, optional quotes around the value. */
export function parseEnvFile(text: string): Record<string, string> {
  const env: Record<string, string> = {};
  for (const raw of text.split('\n')) {
    const line = raw.trim();
    if (line === '' || line.startsWith('#')) continue;
    const m = /^([A-Za-z_][A-Za-z0-9_]*)=(.*)$/.exec(line);
    if (m === null) throw new Error(`not an environment line: ${raw}`);
    env[m[1]] = m[2].replace(/^"(.*)"$/, '$1').replace(/^'(.*)'$/, '$1');
  }
  return env;
}
