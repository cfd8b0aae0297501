import { BROKER_CLASS_ANNOTATION, SluiceError, objectKey, parseIsoDuration, type Broker } from '@sluice/core';
import type { SemanticCheck } from '@sluice/config';
import type { ArchiveRetention, DeadLetterRetention } from '@sluice/store';
import type { DeadLetterStoreMode } from './delivery-dispatcher.js';

/** Broker annotation: when exhausted events are kept in the broker's dead-letter store (`exhausted`, `always`, `off`). */
export const DEAD_LETTER_STORE_ANNOTATION = 'sluice.dev/dead-letter-store';
/** Broker annotation: how long dead letters are kept, an ISO-8601 duration (default `P7D`). */
export const DEAD_LETTER_RETENTION_ANNOTATION = 'sluice.dev/dead-letter-retention';
/** Broker annotation: total size of a broker's dead letters, bytes or with a Ki/Mi/Gi suffix (default `256Mi`). */
export const DEAD_LETTER_MAX_BYTES_ANNOTATION = 'sluice.dev/dead-letter-max-bytes';

/** Broker annotation: keep delivered events this long (ISO-8601) for `sluice replay`; absent = no archive. */
export const ARCHIVE_RETENTION_ANNOTATION = 'sluice.dev/archive-retention';
/** Broker annotation: total size of the archive, bytes or with a Ki/Mi/Gi suffix (default `1Gi`). */
export const ARCHIVE_MAX_BYTES_ANNOTATION = 'sluice.dev/archive-max-bytes';
/** Archive size bound when the broker sets a retention but no size. */
export const DEFAULT_ARCHIVE_MAX_BYTES = 1024 ** 3;
/** Broker classes whose store keeps an archive (the embedded store; Kafka classes through their topic's retention). */
const ARCHIVING_CLASSES = [undefined, 'MTChannelBasedBroker', 'Sluice', 'Kafka', 'KafkaNamespaced'];

const MODES: readonly DeadLetterStoreMode[] = ['exhausted', 'always', 'off'];
const UNITS: Readonly<Record<string, number>> = { '': 1, Ki: 1024, Mi: 1024 ** 2, Gi: 1024 ** 3 };

/** A broker's dead-letter settings. */
export interface DeadLetterSettings {
  readonly mode: DeadLetterStoreMode;
  readonly retention: DeadLetterRetention;
  /** The archive of delivered events, when the broker asks for one. */
  readonly archive: ArchiveRetention | undefined;
}

/** A problem in a broker's dead-letter annotations. */
export interface AnnotationProblem {
  readonly annotation: string;
  readonly message: string;
}

/** Problems in a broker's dead-letter annotations (empty when valid). */
export function deadLetterAnnotationProblems(annotations: Readonly<Record<string, string>>): AnnotationProblem[] {
  const problems: AnnotationProblem[] = [];
  const mode = annotations[DEAD_LETTER_STORE_ANNOTATION];
  if (mode !== undefined && !MODES.includes(mode as DeadLetterStoreMode)) {
    problems.push({ annotation: DEAD_LETTER_STORE_ANNOTATION, message: `expected one of ${MODES.join(', ')}, got ${JSON.stringify(mode)}` });
  }
  const age = annotations[DEAD_LETTER_RETENTION_ANNOTATION];
  if (age !== undefined) {
    try {
      if (parseIsoDuration(age) <= 0) problems.push({ annotation: DEAD_LETTER_RETENTION_ANNOTATION, message: 'must be longer than zero' });
    } catch (err) {
      problems.push({ annotation: DEAD_LETTER_RETENTION_ANNOTATION, message: (err as Error).message });
    }
  }
  for (const name of [DEAD_LETTER_MAX_BYTES_ANNOTATION, ARCHIVE_MAX_BYTES_ANNOTATION]) {
    const size = annotations[name];
    if (size !== undefined && parseSize(size) === undefined) problems.push({ annotation: name, message: `expected a positive size such as 1048576, 512Ki, 64Mi or 1Gi, got ${JSON.stringify(size)}` });
  }
  const archive = annotations[ARCHIVE_RETENTION_ANNOTATION];
  if (archive !== undefined) {
    try {
      if (parseIsoDuration(archive) <= 0) problems.push({ annotation: ARCHIVE_RETENTION_ANNOTATION, message: 'must be longer than zero' });
    } catch (err) {
      problems.push({ annotation: ARCHIVE_RETENTION_ANNOTATION, message: (err as Error).message });
    }
    if (!ARCHIVING_CLASSES.includes(annotations[BROKER_CLASS_ANNOTATION])) {
      problems.push({ annotation: ARCHIVE_RETENTION_ANNOTATION, message: `broker class ${annotations[BROKER_CLASS_ANNOTATION]} keeps no archive (the embedded store and the Kafka classes do)` });
    }
  }
  return problems;
}

/** `sluice validate` / `run`: reports invalid dead-letter annotations of brokers at the annotation's line. */
export function deadLetterChecks(): SemanticCheck {
  return (config, report) => {
    for (const r of config.resources) {
      if (r.kind !== 'Broker') continue;
      const annotations = (r.value['metadata'] as { annotations?: Record<string, string> }).annotations ?? {};
      for (const p of deadLetterAnnotationProblems(annotations)) report(r, ['metadata', 'annotations', p.annotation], `${p.annotation}: ${p.message}`, 'SLUICE_ANNOTATION_INVALID');
    }
  };
}

/** Reads a broker's dead-letter annotations; throws SLUICE_ANNOTATION_INVALID naming the broker when one is invalid. */
export function deadLetterSettings(broker: Broker, defaults: DeadLetterRetention): DeadLetterSettings {
  const problems = deadLetterAnnotationProblems(broker.metadata.annotations ?? {});
  if (problems.length > 0) throw new SluiceError('SLUICE_ANNOTATION_INVALID', `broker ${objectKey(broker.metadata)}: ${problems.map((p) => `${p.annotation}: ${p.message}`).join('; ')}`);
  const a = broker.metadata.annotations ?? {};
  const age = a[DEAD_LETTER_RETENTION_ANNOTATION];
  const size = a[DEAD_LETTER_MAX_BYTES_ANNOTATION];
  return {
    mode: (a[DEAD_LETTER_STORE_ANNOTATION] as DeadLetterStoreMode | undefined) ?? 'exhausted',
    retention: {
      maxAgeMs: age === undefined ? defaults.maxAgeMs : parseIsoDuration(age),
      maxBytes: size === undefined ? defaults.maxBytes : parseSize(size)!,
    },
    archive: archiveRetention(a),
  };
}

function archiveRetention(a: Readonly<Record<string, string>>): ArchiveRetention | undefined {
  const age = a[ARCHIVE_RETENTION_ANNOTATION];
  if (age === undefined) return undefined;
  const size = a[ARCHIVE_MAX_BYTES_ANNOTATION];
  return { maxAgeMs: parseIsoDuration(age), maxBytes: size === undefined ? DEFAULT_ARCHIVE_MAX_BYTES : parseSize(size)! };
}

function parseSize(text: string): number | undefined {
  const m = /^(\d+)(Ki|Mi|Gi)?$/.exec(text.trim());
  if (!m) return undefined;
  const n = Number(m[1]) * UNITS[m[2] ?? '']!;
  return n > 0 && Number.isSafeInteger(n) ? n : undefined;
}
