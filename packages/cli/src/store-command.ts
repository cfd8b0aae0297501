import { Command, Option } from 'commander';
import { isSluiceError } from '@sluice/core';
import { STORE_TABLES, checkStore, salvageStore } from '@sluice/store';

const what = (table: string): string => STORE_TABLES.find((t) => t.table === table)?.what ?? table;
const fmt = (n: number): string => n.toLocaleString('en-US');

/**
 * `sluice store check|salvage [--data-dir D]`: SQLite's integrity check and the store format of a stopped data
 * directory, and a salvage of every readable row into a new store (docs/security.md, "Corrupt store").
 */
export function storeCommand(onExit: (code: number) => void): Command {
  const store = new Command('store').description("check or salvage a stopped data directory's store");
  const dataDir = (): Option => new Option('--data-dir <dir>', 'the data directory (as given to sluice run)').env('SLUICE_DATA_DIR').default('.sluice');
  const refuse = (verb: string, err: unknown): void => {
    if (!isSluiceError(err)) throw err;
    process.stderr.write(`sluice store ${verb}: ${err.message}\n`);
    onExit(1);
  };

  store
    .command('check')
    .description("run SQLite's integrity check and check the store format (Sluice must be stopped); exit 1 when the store cannot be used as it is")
    .addOption(dataDir())
    .action((f: { dataDir: string }) => {
      let r;
      try {
        r = checkStore(f.dataDir);
      } catch (err) {
        refuse('check', err);
        return;
      }
      process.stdout.write(`store: ${r.path}\n`);
      const format =
        r.format === undefined
          ? 'unreadable'
          : r.format > r.supported
            ? `${r.format} (newer than this Sluice reads: up to ${r.supported})`
            : r.format < r.supported
              ? `${r.format} (upgraded to ${r.supported} at the next start)`
              : `${r.format} (current)`;
      process.stdout.write(`format: ${format}\n`);
      const intact = r.integrity.length === 1 && r.integrity[0] === 'ok';
      process.stdout.write(`integrity: ${intact ? 'ok' : `${r.integrity.length} problem${r.integrity.length === 1 ? '' : 's'}`}\n`);
      if (!intact) for (const p of r.integrity) process.stdout.write(`  ${p}\n`);
      for (const [table, n] of Object.entries(r.rows)) process.stdout.write(`${what(table)}: ${typeof n === 'number' ? fmt(n) : `unreadable (${n})`}\n`);
      if (!r.ok) {
        process.stdout.write(
          r.format !== undefined && r.format > r.supported
            ? 'Run the Sluice that wrote it; this one leaves it untouched.\n'
            : `The store is damaged: \`sluice store salvage --data-dir ${f.dataDir}\` copies what is readable into a new store.\n`,
        );
      }
      onExit(r.ok ? 0 : 1);
    });

  store
    .command('salvage')
    .description('copy every readable event, dead letter and group offset into a new store; the old file is kept beside it (Sluice must be stopped)')
    .addOption(dataDir())
    .action((f: { dataDir: string }) => {
      let r;
      try {
        r = salvageStore(f.dataDir);
      } catch (err) {
        refuse('salvage', err);
        return;
      }
      for (const { table } of STORE_TABLES) {
        const why = r.unreadable[table];
        process.stdout.write(`${what(table)}: ${fmt(r.copied[table] ?? 0)} copied${why !== undefined ? ` (the table could not be read: ${why})` : ''}\n`);
      }
      for (const s of r.skipped) {
        process.stdout.write(`${what(s.table)}: ids ${fmt(s.from)}–${s.to === Number.MAX_SAFE_INTEGER ? 'end' : fmt(s.to)} unreadable, skipped\n`);
      }
      process.stdout.write(`new store: ${r.path}\nold store kept as: ${r.keptAs}\n`);
      onExit(0);
    });
  return store;
}
