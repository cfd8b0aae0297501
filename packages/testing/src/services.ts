// Test-side access to the real external services (Kafka, the Pub/Sub emulator), for unit and end-to-end tests.
//
// A test file that needs one declares it in its first lines with a marker comment:
//     // @needs kafka
//     // @needs pubsub
// scripts/run-tests.mjs reads the markers, starts each needed service once (deploy/local-services/*.mjs)
// unless its env var is already set, and passes the env var to the test process.
//
// In a test:
//     const brokers = requireService(t, 'kafka');
//     if (!brokers) return; // skipped (loudly) — never reached when CI=true, which fails instead
import type { TestContext } from 'node:test';

export type ServiceName = 'kafka' | 'pubsub';

/** The env var through which each service is handed to tests. */
export const SERVICE_ENV: Readonly<Record<ServiceName, string>> = {
  kafka: 'KAFKA_BROKERS',
  pubsub: 'PUBSUB_EMULATOR_HOST',
};

/** Set by scripts/run-tests.mjs when it tried to start a service and failed: the reason, for the message. */
export const SERVICE_ERROR_ENV: Readonly<Record<ServiceName, string>> = {
  kafka: 'SLUICE_SERVICE_ERROR_KAFKA',
  pubsub: 'SLUICE_SERVICE_ERROR_PUBSUB',
};

/**
 * Returns the service's address (`KAFKA_BROKERS` / `PUBSUB_EMULATOR_HOST`) when it is available.
 * When it is not: with `CI=true` it throws, so the test FAILS (CI never skips silently); otherwise it
 * marks the test skipped with a loud message and returns undefined — the caller must then return.
 */
export function requireService(t: TestContext, name: ServiceName): string | undefined {
  const envVar = SERVICE_ENV[name];
  const value = process.env[envVar]?.trim();
  if (value) return value;

  const startError = process.env[SERVICE_ERROR_ENV[name]]?.trim();
  const why = startError ? `starting it failed: ${startError.split('\n')[0]}` : `${envVar} is not set (run tests through \`node scripts/run-tests.mjs\`, which starts it, or set ${envVar} yourself)`;
  const message = `${name} not available: ${why}`;

  if (process.env.CI === 'true') {
    throw new Error(`${message} — CI=true, so this is a FAILURE, not a skip`);
  }
  const bar = '!'.repeat(78);
  console.error(`\n${bar}\n!!! SKIPPING "${t.name}": ${message}\n${bar}\n`);
  t.skip(message);
  return undefined;
}
