export type { BrokerClass, Consumer, ConsumeOptions, Disposition, EventStore, LogRecord, LogStats, RecordHandler, StoreTimers } from './event-store.js';
export { STORE_FORMAT, STORE_LIMIT_DEFAULTS, SqliteEventStore, type SqliteEventStoreOptions } from './sqlite-store.js';
