import type { LoadedResource, SluiceConfig } from '@sluice/config';

/** A configuration of plain resources (tests of logic read kind, apiVersion, names and value). */
export function configOf(...values: Record<string, unknown>[]): SluiceConfig {
  const resources = values.map((v) => {
    const meta = v['metadata'] as { name: string; namespace?: string };
    const namespace = meta.namespace ?? 'default';
    return {
      apiVersion: v['apiVersion'],
      kind: v['kind'],
      name: meta.name,
      namespace,
      key: `${namespace}/${meta.name}`,
      value: v,
      file: 'x.yaml',
      position: () => ({ line: 1, col: 1 }),
    } as unknown as LoadedResource;
  });
  return { resources, brokers: [], triggers: [] };
}
