export type {
  ArchiveRetention,
  AsyncEventArchive,
  ArchivedEvent,
  BrokerClass,
  Consumer,
  ConsumeOptions,
  DeadLetter,
  DeadLetterInput,
  DeadLetterQuery,
  DeadLetterRetention,
  DeadLetterStats,
  DeadLetterMirror,
  DeadLetterStore,
  Disposition,
  EventArchive,
  EventStore,
  GroupStats,
  LogRecord,
  LogStats,
  RecordHandler,
  ForgetOptions,
  ForgottenGroup,
  StoreTimers,
} from './event-store.js';
export { isAsyncEventArchive } from './event-store.js';
export { DEFAULT_DEAD_LETTER_RETENTION, STORE_FORMAT, STORE_LIMIT_DEFAULTS, SqliteEventStore, type SqliteEventStoreOptions } from './sqlite-store.js';
export { forgetStaleGroups } from './stale-groups.js';
export { LOCK_FILE, lockDataDir, type DataDirLock } from './data-dir-lock.js';
export { STORE_FILE, STORE_TABLES, checkStore, salvageStore, type SalvageReport, type SkippedRange, type StoreCheckReport } from './store-repair.js';
