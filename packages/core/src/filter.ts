import { SluiceError } from './errors.js';
import { attributeString, type CloudEvent } from './event.js';
import type { SubscriptionsAPIFilter } from './schema-types.js';
import { compileCesql } from './cesql/index.js';

/** A compiled event filter. */
export type EventPredicate = (event: CloudEvent) => boolean;

/** Compiles a CESQL expression into a predicate (true only when it evaluates to true without error). */
export type CesqlCompiler = (expression: string) => EventPredicate;

/** Options for {@link compileTriggerFilter}. */
export interface FilterOptions {
  /** Compiler for the `cesql` dialect (default: Sluice's CESQL v1 engine). */
  cesql?: CesqlCompiler;
}

/** The default `cesql` dialect: compiled once; an expression that errors on an event does not match it. */
export const compileCesqlFilter: CesqlCompiler = (expression) => {
  const program = compileCesql(expression);
  return (event) => program.matches(event.attributes);
};

const MATCH_ALL: EventPredicate = () => true;

function compileAttributes(attributes: Readonly<Record<string, string>>): EventPredicate {
  const entries = Object.entries(attributes);
  if (entries.length === 0) return MATCH_ALL;
  return (event) => {
    for (const [name, want] of entries) {
      const got = attributeString(event, name);
      if (got === undefined) return false;
      // Knative's TriggerAnyFilter: "" means "present and non-empty".
      if (want === '' ? got === '' : got !== want) return false;
    }
    return true;
  };
}

function compileStringTest(map: Readonly<Record<string, string>>, test: (value: string, operand: string) => boolean): EventPredicate {
  const entries = Object.entries(map);
  return (event) => {
    for (const [name, operand] of entries) {
      const got = attributeString(event, name);
      if (got === undefined || !test(got, operand)) return false;
    }
    return true;
  };
}

function all(predicates: EventPredicate[]): EventPredicate {
  if (predicates.length === 0) return MATCH_ALL;
  if (predicates.length === 1) return predicates[0]!;
  return (event) => {
    for (const p of predicates) if (!p(event)) return false;
    return true;
  };
}

function any(predicates: EventPredicate[]): EventPredicate {
  if (predicates.length === 0) return () => false;
  if (predicates.length === 1) return predicates[0]!;
  return (event) => {
    for (const p of predicates) if (p(event)) return true;
    return false;
  };
}

/** The dialect keys a Subscriptions API filter object may carry. */
export const FILTER_DIALECTS = ['exact', 'prefix', 'suffix', 'all', 'any', 'not', 'cesql'] as const;

/** Compiles one Subscriptions API filter object (exactly one dialect; validation has already checked it). */
export function compileSubscriptionsFilter(filter: SubscriptionsAPIFilter, options: FilterOptions = {}): EventPredicate {
  const dialects = FILTER_DIALECTS.filter((d) => filter[d] !== undefined);
  if (dialects.length !== 1) {
    throw new SluiceError('SLUICE_FILTER_INVALID', dialects.length === 0 ? 'filter has no dialect' : `multiple dialects found: ${dialects.join(', ')}`);
  }
  if (filter.exact) return compileStringTest(filter.exact, (v, o) => v === o);
  if (filter.prefix) return compileStringTest(filter.prefix, (v, o) => v.startsWith(o));
  if (filter.suffix) return compileStringTest(filter.suffix, (v, o) => v.endsWith(o));
  if (filter.all) return all(filter.all.map((f) => compileSubscriptionsFilter(f, options)));
  if (filter.any) return any(filter.any.map((f) => compileSubscriptionsFilter(f, options)));
  if (filter.not) {
    const inner = compileSubscriptionsFilter(filter.not, options);
    return (event) => !inner(event);
  }
  return (options.cesql ?? compileCesqlFilter)(filter.cesql!);
}

/**
 * Compiles a Trigger's filtering as Knative does: a non-empty `filters` list (implicit `all`) wins over the legacy
 * `filter.attributes`; with neither, every event passes.
 */
export function compileTriggerFilter(spec: { filter?: { attributes?: Record<string, string> }; filters?: SubscriptionsAPIFilter[] }, options: FilterOptions = {}): EventPredicate {
  if (spec.filters && spec.filters.length > 0) return all(spec.filters.map((f) => compileSubscriptionsFilter(f, options)));
  if (spec.filter?.attributes) return compileAttributes(spec.filter.attributes);
  return MATCH_ALL;
}
