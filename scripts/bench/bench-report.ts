/** Numbers of one corpus, as the bench prints them. */
export interface CorpusResult {
  corpus: string;
  task: string;
  seqLen: number;
  texts: number;
  textMB: number;
  /** The median of `runs` repeats; `tokensPerSRange` spans them all. */
  raw: {
    backend: string;
    runs: number;
    seconds: number;
    mbPerS: number;
    tokensPerS: number;
    tokensPerSRange: [number, number];
    cpuMBPerS: number;
    /** Cores other processes kept busy meanwhile (null: unknown, not Linux). */
    otherCores: number | null;
    /**
     * `lanes` raw encodes at once in one process, each pair of measurements taken just before a
     * warm pipeline build: what the cores give the encoder itself when all are busy.
     * `ofRawTimesLanes` is their speed over (raw × lanes), the median over the pairs.
     */
    lanes?: {
      lanes: number;
      tokensPerS: number;
      ofRawTimesLanes: number;
      range: [number, number];
    };
  };
  rawJs?: { mbPerS: number; tokensPerS: number; sameIds: boolean };
  /**
   * The native library behind the pipeline's piece cache, one thread: a first run (empty cache)
   * and a second (every piece seen); `sameIds` compares all ids with the library alone.
   */
  rawPieceCache: {
    cold: { mbPerS: number; tokensPerS: number };
    warm: { mbPerS: number; tokensPerS: number };
    sameIds: boolean;
  };
  pipeline: Array<{
    threads: number;
    /** Whether its threads ran with their piece cache (the default); false: the library alone. */
    pieceCache: boolean;
    /** False: first build in a new process. True: a second build with threads and tokenizer ready. */
    warm: boolean;
    /** Builds measured; the row shows the one of median time. */
    runs: number;
    seconds: number;
    mbPerS: number;
    tokensPerS: number;
    /**
     * pipeline / (raw × threads), by wall time: the median over runs, each against the raw encode
     * run just before it in the same process.
     */
    ratio: number;
    /** The lowest and highest ratio over the runs. */
    ratioRange: [number, number];
    /**
     * pipeline / what `threads` raw encodes at once achieved just before it (the median over
     * runs); null where they were not measured.
     */
    ratioToAvailable: number | null;
    /** raw CPU seconds / pipeline CPU seconds: the share of the pipeline's CPU spent encoding. */
    cpuEfficiency: number;
    /** Pipeline CPU seconds / wall seconds: how many cores it actually got. */
    coresUsed: number;
    /** Cores other processes kept busy meanwhile (null: unknown, not Linux). */
    otherCores: number | null;
    peakRssMiB: number;
    loadAverage: number;
  }>;
  /** Median of five repeats in the process that built the shards. */
  cacheHitMs: number;
  cacheHitMaxMs: number;
  /** One request in a new process (tokenizer hashes not yet cached). */
  cacheHitFreshProcessMs: number;
}

export interface BenchReport {
  machine: {
    cpus: number;
    loadAverageAtStart: number;
    loadAverageAtEnd: number;
    node: string;
    /** Runs of the raw encoder and of each warm build. */
    repeat: number;
  };
  corpora: CorpusResult[];
  rssFlat: { corpus: string; singleMiB: number; doubleMiB: number; growth: number };
  /** `met` null: reported for information, not a target. */
  targets: Array<{ target: string; measured: string; met: boolean | null }>;
}

const fixed = (value: number, digits: number): string => value.toFixed(digits);
const cores = (value: number | null): string => (value === null ? '?' : fixed(value, 2));

/** The report as a plain-text table, one row per measurement. */
export function formatReport(report: BenchReport): string {
  const rows: string[][] = [
    [
      'corpus',
      'measure',
      'MB/s',
      'tokens/s',
      'ratio',
      'vs avail.',
      'CPU eff.',
      'cores',
      'others',
      'peak RSS MiB',
      'load',
    ],
  ];
  for (const c of report.corpora) {
    const blank = ['', '', '', '', '', '', ''];
    rows.push([
      c.corpus,
      `raw ${c.raw.backend}, 1 thread${c.raw.runs > 1 ? ` (median of ${c.raw.runs})` : ''}`,
      fixed(c.raw.mbPerS, 2),
      fixed(c.raw.tokensPerS, 0),
      '',
      '',
      '',
      '',
      cores(c.raw.otherCores),
      '',
      '',
    ]);
    const lanes = c.raw.lanes;
    if (lanes !== undefined) {
      rows.push([
        c.corpus,
        `raw ${c.raw.backend}, ${lanes.lanes} at once (paired, range ` +
          `${fixed(lanes.range[0], 2)}–${fixed(lanes.range[1], 2)})`,
        '',
        fixed(lanes.tokensPerS, 0),
        fixed(lanes.ofRawTimesLanes, 2),
        '',
        '',
        '',
        '',
        '',
        '',
      ]);
    }
    if (c.rawJs) {
      const same = c.rawJs.sameIds ? 'same ids' : 'IDS DIFFER';
      rows.push([
        c.corpus,
        `raw js, 1 thread (${same})`,
        fixed(c.rawJs.mbPerS, 2),
        fixed(c.rawJs.tokensPerS, 0),
        ...blank,
      ]);
    }
    const cached = c.rawPieceCache;
    for (const [when, speed] of [
      ['cold', cached.cold],
      ['warm', cached.warm],
    ] as const) {
      const same = cached.sameIds ? 'same ids' : 'IDS DIFFER';
      rows.push([
        c.corpus,
        `raw native + piece cache, 1 thread, ${when} (${same})`,
        fixed(speed.mbPerS, 2),
        fixed(speed.tokensPerS, 0),
        ...blank,
      ]);
    }
    for (const p of c.pipeline) {
      const median = p.runs > 1 ? ` (median of ${p.runs})` : '';
      const library = p.pieceCache ? '' : ', no piece cache';
      rows.push([
        c.corpus,
        `pipeline, ${p.threads} thread${p.threads > 1 ? 's' : ''}${library}, ` +
          `${p.warm ? 'warm' : 'cold'}${median}`,
        fixed(p.mbPerS, 2),
        fixed(p.tokensPerS, 0),
        fixed(p.ratio, 2),
        p.ratioToAvailable === null ? '' : fixed(p.ratioToAvailable, 2),
        fixed(p.cpuEfficiency, 2),
        fixed(p.coresUsed, 2),
        cores(p.otherCores),
        fixed(p.peakRssMiB, 0),
        fixed(p.loadAverage, 1),
      ]);
    }
    const hits =
      `${fixed(c.cacheHitMs, 1)} ms (max ${fixed(c.cacheHitMaxMs, 1)}) / ` +
      `${fixed(c.cacheHitFreshProcessMs, 1)} ms`;
    rows.push([c.corpus, 'cache hit: serving process (median) / new process', hits, ...blank, '']);
  }
  const widths = rows[0]!.map((_, i) => Math.max(...rows.map((row) => (row[i] ?? '').length)));
  const line = (row: string[]): string =>
    row.map((cell, i) => (i < 2 ? cell.padEnd(widths[i]!) : cell.padStart(widths[i]!))).join('  ');
  const out = [
    line(rows[0]!),
    widths.map((w) => '-'.repeat(w)).join('  '),
    ...rows.slice(1).map(line),
  ];
  const { rssFlat, machine } = report;
  out.push(
    '',
    `load average ${fixed(machine.loadAverageAtStart, 2)} at the start, ` +
      `${fixed(machine.loadAverageAtEnd, 2)} at the end, on ${machine.cpus} CPUs; ` +
      `"others": cores that other processes used during the measurement`,
    'ratio: pipeline speed over raw single-thread speed × threads, each warm build against a raw ' +
      'encode run just before it in the same process (cold: their median); on the "at once" row, ' +
      'the same measure for the raw encoder itself; "vs avail.": pipeline speed over that many ' +
      'raw encodes at once, run just before it; peak RSS of pipeline rows includes the texts ' +
      'those raw encodes hold',
    `peak RSS, ${rssFlat.corpus}: ${fixed(rssFlat.singleMiB, 0)} MiB → ` +
      `${fixed(rssFlat.doubleMiB, 0)} MiB ` +
      `with the corpus doubled (${fixed(rssFlat.growth * 100, 1)}%)`,
    '',
    ...report.targets.map((t) => {
      const verdict = t.met === null ? 'INFO  ' : t.met ? 'MET   ' : 'MISSED';
      return `${verdict} ${t.target}: ${t.measured}`;
    }),
  );
  return out.join('\n');
}
