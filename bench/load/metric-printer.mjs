// A trial program for bench/load/metric-ingest.ts: prints N metric lines (`loss=<value>`, one
// point each) as fast as its stdout takes them, in 64 KiB writes, waiting on the pipe when it
// is full (the agent stops reading while its window of unacknowledged batches is full).
const n = Number(process.argv[2]);
if (!Number.isSafeInteger(n) || n < 1) {
  console.error('usage: metric-printer.mjs LINES');
  process.exit(2);
}
let i = 0;
function more() {
  while (i < n) {
    let chunk = '';
    for (const end = Math.min(n, i + 4000); i < end; i++) chunk += `loss=${(1 / (i + 1)).toPrecision(6)}\n`;
    if (!process.stdout.write(chunk)) return void process.stdout.once('drain', more);
  }
}
more();
