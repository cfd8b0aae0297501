import { InvalidArgumentError } from 'commander';

/** Commander's parser of a repeatable option: each use adds one value to the list. */
export const collect = (value: string, previous: string[] | undefined): string[] => (previous ?? []).concat([value]);

/** Commander's parser of a repeatable option that also takes comma-separated values: each adds its values to the list. */
export const collectList = (value: string, previous: string[] | undefined): string[] =>
  (previous ?? []).concat(
    value
      .split(',')
      .map((v) => v.trim())
      .filter((v) => v !== ''),
  );

/** A whole-number option of at least `min`; anything else is a usage error naming the flag. */
export function intArg(name: string, min: number): (v: string) => number {
  return (v) => {
    const n = Number(v);
    if (!Number.isInteger(n) || n < min) throw new InvalidArgumentError(`${name} must be an integer ≥ ${min}`);
    return n;
  };
}

/** A TCP port: 0 (any free port) to 65535. */
export function portArg(name: string): (v: string) => number {
  return (v) => {
    const n = Number(v);
    if (!Number.isInteger(n) || n < 0 || n > 65535) throw new InvalidArgumentError(`${name} must be a port number from 0 to 65535, got "${v}"`);
    return n;
  };
}
