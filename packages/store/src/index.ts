export type { BrokerClass, Consumer, ConsumeOptions, Disposition, EventStore, LogRecord, LogStats, RecordHandler, StoreTimers } from './event-store.js';
export { STORE_FORMAT, SqliteEventStore, type SqliteEventStoreOptions } from './sqlite-store.js';
