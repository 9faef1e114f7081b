// `npm run bench [-- --only PREFIX]`: runs the benchmarks whose name starts
// with PREFIX (all by default), one after another so they do not disturb
// each other, and prints each figure as a JSON line.

import { benchCatalogPgSearch } from './catalog-pg-search.bench';
import { benchBackup100k, benchRebuild100k } from './catalog-recovery.bench';
import { benchCatalogPg } from './catalog-pg.bench';
import { benchClientCachedGet, benchClientDirectUrl } from './client-cache.bench';
import { benchGatewayGet } from './gateway-get.bench';
import { benchGatewayDownload200k } from './download-memory.bench';
import { benchMemoryMixed } from './memory-mixed.bench';
import { benchRangeRead } from './range-read.bench';
import { benchHash } from './hash.bench';
import { benchGetUnderLoad } from './get-under-load.bench';
import { benchStore256m } from './large-store.bench';
import { benchGatewayStore200k, benchGatewayStore64m } from './gateway-store.bench';
import { benchSidecarGet } from './sidecar-get.bench';
import { benchSpoolThreshold, SPOOL_SIZES_MIB } from './spool-threshold.bench';
import { benchSearchScale, benchSearchWorst } from './search.bench';
import { benchStore200k } from './store.bench';
import { benchWriterInsert } from './writer-insert.bench';
import { benchMetricsScrape } from './metrics-scrape.bench';
import { benchUpdateRecord } from './update-record.bench';
import { benchCheckRecords } from './check-records.bench';
import { benchClientAddress } from './client-address.bench';

const BENCHES: Array<{ names: string[]; run: () => Promise<void> }> = [
  { names: ['writer.insert'], run: benchWriterInsert },
  { names: ['catalog.pg.search.20k', 'catalog.pg.migrate.20k'], run: benchCatalogPgSearch },
  { names: ['sidecar.getPhoto'], run: benchSidecarGet },
  { names: ['store.200k.c16'], run: benchStore200k },
  { names: ['gateway.getPhoto'], run: benchGatewayGet },
  { names: ['gateway.store.200k.c16'], run: benchGatewayStore200k },
  { names: ['gateway.download.200k.c16'], run: benchGatewayDownload200k },
  { names: ['memory.mixed'], run: benchMemoryMixed },
  { names: ['gateway.store.64m'], run: benchGatewayStore64m },
  { names: ['hash.worker1', 'hash.worker2'], run: benchHash },
  { names: ['store.256m'], run: benchStore256m },
  { names: ['sidecar.getPhoto.underLoad', 'sidecar.getPhoto.underLoad.sameProcess'], run: benchGetUnderLoad },
  { names: ['s3.rangeRead.2m', 's3.rangeRead.2m.chunked'], run: benchRangeRead },
  { names: ['client.cachedGet'], run: benchClientCachedGet },
  { names: ['client.directUrl'], run: benchClientDirectUrl },
  { names: ['catalog.backup.100k', 'catalog.backup.100k.getPhoto'], run: benchBackup100k },
  { names: ['catalog.rebuild.100k'], run: benchRebuild100k },
  { names: ['catalog.pg.store.200k.c16', 'catalog.pg.getPhoto'], run: benchCatalogPg },
  { names: ['search.scale', 'search.scale.pageOfOne', 'search.scale.everyRow'], run: benchSearchScale },
  { names: ['search.worst', 'search.oneWord.thread'], run: benchSearchWorst },
  { names: ['metrics.bucketTotals.1m'], run: benchMetricsScrape },
  { names: ['update.record.fs', 'update.record.fs.c1', 'update.record.minio', 'update.record.minio.c1'], run: benchUpdateRecord },
  { names: ['check.records.10k.fs', 'check.records.10k.minio'], run: benchCheckRecords },
  { names: SPOOL_SIZES_MIB.map((mib) => `spool.threshold.${mib}m`), run: benchSpoolThreshold },
  { names: ['gateway.clientAddress.oneHop', 'gateway.clientAddress.trustedChain16k', 'gateway.clientAddress.untrustedPeer16k'], run: benchClientAddress },
];

function parseOnly(argv: string[]): string | null {
  const at = argv.indexOf('--only');
  if (at === -1) return null;
  const value = argv[at + 1];
  if (value === undefined || value.startsWith('--')) {
    process.stderr.write('usage: npm run bench -- [--only NAME_PREFIX]\n');
    process.exit(64);
  }
  return value;
}

async function main(): Promise<void> {
  const only = parseOnly(process.argv.slice(2));
  const selected = BENCHES.filter((b) => only === null || b.names.some((n) => n.startsWith(only)));
  if (selected.length === 0) {
    process.stderr.write(`no benchmark name starts with '${only}'; known: ${BENCHES.flatMap((b) => b.names).join(', ')}\n`);
    process.exit(64);
  }
  // One broken benchmark must not hide the figures of the others: each failure
  // is told as it happens, the rest still run, and the exit code says so.
  const failed: string[] = [];
  for (const bench of selected) {
    try {
      await bench.run();
    } catch (err) {
      failed.push(bench.names.join(', '));
      process.stderr.write(`benchmark failed (${bench.names.join(', ')}): ${err instanceof Error ? err.stack : String(err)}\n`);
    }
  }
  if (failed.length > 0) {
    process.stderr.write(`${failed.length} of ${selected.length} benchmarks failed: ${failed.join('; ')}\n`);
    process.exitCode = 1;
  }
}

main().then(
  () => process.exit(),
  (err) => {
    process.stderr.write(`benchmark failed: ${err instanceof Error ? err.stack : String(err)}\n`);
    process.exit(1);
  },
);
