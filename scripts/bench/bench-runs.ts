import type { CorpusResult } from './bench-report.js';
import type { Measured } from './cpu-window.js';

/** One timed run as a probe reports it. */
export type Timing = Omit<Measured<unknown>, 'value'>;

/** What `ingest-probe --mode raw` prints. */
export interface RawRun {
  runs: Timing[];
  texts: number;
  tokens: number;
  textBytes: number;
  idsSha256: string;
}

/** What `ingest-probe --mode pipeline` prints. */
export interface PipelineRun {
  cold: Timing;
  warm: Timing[];
  /** With --paired: raw encodes in the same process just before each warm build. */
  paired?: PairedRaw;
  hitsMs: number[];
  peakRssMiB: number;
  loadAfter: number;
}

export type RawSpeed = Omit<CorpusResult['raw'], 'backend' | 'lanes'>;

/** The run of median wall time (the upper one of an even count). */
function medianRun(runs: Timing[]): Timing {
  const sorted = [...runs].sort((a, b) => a.seconds - b.seconds);
  return sorted[Math.floor(sorted.length / 2)] as Timing;
}

/** Cores other processes kept busy during a run; null where that is unknown. */
function otherCores(run: Timing): number | null {
  return run.othersCpuSeconds === null ? null : run.othersCpuSeconds / run.seconds;
}

/** The raw encoder's speed from the median of its runs. */
export function rawSpeed(raw: RawRun): RawSpeed & { cpuSeconds: number } {
  const run = medianRun(raw.runs);
  const speeds = raw.runs.map((r) => raw.tokens / r.seconds);
  return {
    runs: raw.runs.length,
    seconds: run.seconds,
    cpuSeconds: run.cpuSeconds,
    mbPerS: raw.textBytes / run.seconds / 1e6,
    tokensPerS: raw.tokens / run.seconds,
    tokensPerSRange: [Math.min(...speeds), Math.max(...speeds)],
    cpuMBPerS: raw.textBytes / run.cpuSeconds / 1e6,
    otherCores: otherCores(run),
  };
}

interface Baseline {
  raw: RawRun;
  speed: ReturnType<typeof rawSpeed>;
  threads: number;
  /** Whether the pipeline's threads ran with their piece cache. */
  pieceCache: boolean;
  peakRssMiB: number;
}

/** Raw encodes measured in the pipeline's process, each just before one of its warm builds. */
export interface PairedRaw {
  /** One raw encode. */
  single: Timing[];
  /** `threads` raw encodes at once (absent for one thread). */
  lanes?: Timing[];
}

/** The paired measurement of run `i` of `count`: its own, or the median for a lone (cold) run. */
function pairedWith(paired: Timing[], i: number, count: number): Timing {
  return paired.length === count ? (paired[i] as Timing) : medianRun(paired);
}

/**
 * Several raw encodes at once against one: their speed, and how much of `raw × lanes` it is
 * (what the machine's cores give the encoder itself when all of them are busy).
 */
export function lanesSpeed(
  raw: RawRun,
  single: Timing[],
  atOnce: Timing[],
  lanes: number,
): NonNullable<CorpusResult['raw']['lanes']> {
  const scaling = atOnce.map((r, i) => pairedWith(single, i, atOnce.length).seconds / r.seconds);
  return {
    lanes,
    tokensPerS: (lanes * raw.tokens) / medianRun(atOnce).seconds,
    ofRawTimesLanes: median(scaling),
    range: [Math.min(...scaling), Math.max(...scaling)],
  };
}

/**
 * A pipeline row from one or more runs of the same build: the median run's numbers, and the
 * spread of the ratio over all of them. With `paired` raw runs (one just before each of `runs`),
 * each run's ratio divides by its own raw run, and a cold run by their median; otherwise every
 * ratio divides by the raw encoder's median speed. `ratioToAvailable` divides by the paired
 * raw encodes at once instead (by the single one for one thread); null without them.
 */
export function pipelineRow(
  baseline: Baseline,
  runs: Timing[],
  warm: boolean,
  loadAverage: number,
  paired?: PairedRaw,
): CorpusResult['pipeline'][number] {
  const { raw, speed, threads, pieceCache } = baseline;
  const run = medianRun(runs);
  // The same encoding work as the raw run: its token count over the pipeline's time.
  const tokensPerS = (r: Timing): number => raw.tokens / r.seconds;
  const single = paired?.single ?? [];
  const rawSeconds = (i: number): number =>
    single.length === 0 ? speed.seconds : pairedWith(single, i, runs.length).seconds;
  const ratios = runs.map((r, i) => rawSeconds(i) / (r.seconds * threads));
  const lanes = threads === 1 ? single : (paired?.lanes ?? []);
  const toAvailable = runs.map(
    (r, i) => pairedWith(lanes, i, runs.length).seconds / (r.seconds * threads),
  );
  return {
    threads,
    pieceCache,
    warm,
    runs: runs.length,
    seconds: run.seconds,
    mbPerS: raw.textBytes / run.seconds / 1e6,
    tokensPerS: tokensPerS(run),
    ratio: median(ratios),
    ratioRange: [Math.min(...ratios), Math.max(...ratios)],
    ratioToAvailable: lanes.length === 0 ? null : median(toAvailable),
    cpuEfficiency: speed.cpuSeconds / run.cpuSeconds,
    coresUsed: run.cpuSeconds / run.seconds,
    otherCores: otherCores(run),
    peakRssMiB: baseline.peakRssMiB,
    loadAverage,
  };
}

/** The middle value (the upper one of an even count). */
export function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.floor(sorted.length / 2)] as number;
}
