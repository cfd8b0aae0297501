export type { Consumer, ConsumeOptions, Disposition, EventStore, LogRecord, LogStats, RecordHandler } from './event-store.js';
export { SqliteEventStore, type SqliteEventStoreOptions, type StoreTimers } from './sqlite-store.js';
