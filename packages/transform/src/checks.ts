import { checkDestination, resourcesOfKind, type LoadedResource, type ReportFn, type SemanticCheck } from '@sluice/config';
import { checkExpression } from './expression.js';

function checkJsonata(r: LoadedResource, path: (string | number)[], expression: string, report: ReportFn): void {
  const problem = checkExpression(expression, `EventTransform ${r.key}`);
  if (problem) report(r, [...path, 'expression'], `invalid JSONata expression: ${problem.message}`, 'SLUICE_CONFIG_JSONATA', problem.offset);
}

/**
 * Checks of EventTransforms beyond the schema, as Knative's webhook makes them plus what it cannot: the expressions
 * compile (Knative only finds out when the transform's Deployment starts), `reply` needs a sink and sets either
 * `jsonata` or `discard: true`, the sink is a declared or absolute destination without `CACerts`.
 */
export function transformChecks(): SemanticCheck {
  return (config, report) => {
    const declared = new Set(config.resources.map((r) => `${r.kind}:${r.key}`));
    for (const r of resourcesOfKind(config.resources, 'EventTransform')) {
      const spec = r.value.spec;
      checkJsonata(r, ['spec', 'jsonata'], spec.jsonata.expression, report);
      if (spec.sink) {
        checkDestination(r, ['spec', 'sink'], spec.sink, declared, report);
        if (spec.sink.CACerts !== undefined) {
          report(r, ['spec', 'sink', 'CACerts'], 'CACerts for the sink is not supported for JSONata transformations (as in Knative)');
        }
      }
      if (spec.reply) {
        if (!spec.sink) report(r, ['spec', 'reply'], 'reply is set without spec.sink (the reply transforms what the sink answers)');
        if (spec.reply.jsonata && spec.reply.discard === true) {
          report(r, ['spec', 'reply', 'discard'], 'reply sets both jsonata and discard: true; set one of them');
        }
        if (spec.reply.jsonata) checkJsonata(r, ['spec', 'reply', 'jsonata'], spec.reply.jsonata.expression, report);
      }
    }
  };
}
