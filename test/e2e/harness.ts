// The end-to-end tests' helpers are the shared test-support package (also used by the benchmarks and unit tests):
// the real `sluice` CLI spawned like a user does, real HTTP subscribers, polling.
export * from '@sluice/testing';
