import { createRequire } from 'node:module';
import type Database from 'better-sqlite3';
import { lazyLibrarySync } from '@sluice/core';

/**
 * better-sqlite3, required when the first store is opened: `sluice validate` and the commands that open no store never
 * load it.
 */
export const sqliteLibrary: (user: string) => typeof Database = lazyLibrarySync('better-sqlite3', () => createRequire(import.meta.url)('better-sqlite3') as typeof Database);
