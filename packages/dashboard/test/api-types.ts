// The dashboard's browser bundle restates the shapes of the admin API's JSON (web/src/api-types.ts): it is
// type-checked on its own, with DOM types only, and cannot import the Node packages' types. This file is type-checked
// with the tests (`npm run typecheck`, tsconfig.test.json) and fails to compile when the two drift apart: a field the
// dashboard reads that Sluice does not serve, or a served field whose type no longer fits what the dashboard expects.
import type { AdminIdentity, CircuitView, DeadLetterView } from '@sluice/admin';
import type { Condition as ServedCondition, DeliveryFigures } from '@sluice/core';
// eslint-disable-next-line no-restricted-imports -- this package's own browser sources, not another package's src
import type { Circuit, Condition, DeadLetter, Figures, Identity } from '../web/src/api-types.js';

/** Compiles only when `Served` is assignable to `Read`. */
type Fits<Served extends Read, Read> = Served;
/** Compiles only when `Keys` is empty: keys the dashboard reads that the served shape lacks. */
type NoneOf<Keys extends never> = Keys;
/** The JSON of `T`: a property that may be undefined is left out of it, so it is optional there. */
type Json<T> = { [K in keyof T as undefined extends T[K] ? never : K]: T[K] } & { [K in keyof T as undefined extends T[K] ? K : never]?: Exclude<T[K], undefined> };

export type Checks = [
  Fits<Json<DeliveryFigures>, Figures>,
  NoneOf<Exclude<keyof Figures, keyof DeliveryFigures>>,
  Fits<Json<CircuitView>, Circuit>,
  NoneOf<Exclude<keyof Circuit, keyof CircuitView>>,
  Fits<ServedCondition, Condition>,
  NoneOf<Exclude<keyof Condition, keyof ServedCondition>>,
  // A dead letter's event is a CloudEvent, whose data the JSON carries as the admin API renders it.
  Fits<Omit<Json<DeadLetterView>, 'event'>, Omit<DeadLetter, 'event'>>,
  NoneOf<Exclude<keyof DeadLetter, keyof DeadLetterView>>,
  Fits<AdminIdentity, Identity>,
  NoneOf<Exclude<keyof Identity, keyof AdminIdentity>>,
];
