import { SluiceError } from './errors.js';

/**
 * Loads a library on first use, once per process: `user` names who needs it (e.g. `KafkaSource default/orders`) for
 * the error when it cannot be loaded.
 */
export type LibraryLoader<T> = (user: string) => Promise<T>;

/**
 * A {@link LibraryLoader} for `library`, which `load` imports (`() => import('kafkajs')`). A configuration that never
 * needs the library never loads it: start-up stays short and the heap holds only what runs (every mark-compact marks
 * the code of every loaded module). A failed load is a `SLUICE_LIBRARY_UNAVAILABLE` error naming the user and the
 * library, and is tried again on the next call.
 */
export function lazyLibrary<T>(library: string, load: () => Promise<T>): LibraryLoader<T> {
  let loading: Promise<T> | undefined;
  return async (user) => {
    loading ??= load();
    try {
      return await loading;
    } catch (err) {
      loading = undefined;
      throw unavailable(library, user, err);
    }
  };
}

/**
 * {@link lazyLibrary} for a synchronous caller (a semantic check, which `sluice validate` runs synchronously): `load`
 * requires a CommonJS library (`createRequire(import.meta.url)('jsonata')`). Same once-per-process load and error.
 */
export function lazyLibrarySync<T>(library: string, load: () => T): (user: string) => T {
  let loaded: { readonly value: T } | undefined;
  return (user) => {
    if (loaded) return loaded.value;
    try {
      loaded = { value: load() };
    } catch (err) {
      throw unavailable(library, user, err);
    }
    return loaded.value;
  };
}

function unavailable(library: string, user: string, err: unknown): SluiceError {
  const reason = err instanceof Error ? (err.message.split('\n')[0] ?? err.message) : String(err);
  return new SluiceError('SLUICE_LIBRARY_UNAVAILABLE', `${user} needs ${library}, which could not be loaded (is Sluice installed with its dependencies?): ${reason}`, {
    cause: err,
    details: { library, user },
  });
}
