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
  /** With --paired: the raw encode run in the same process just before each warm build. */
  pairedRaw?: Timing[];
  hitsMs: number[];
  peakRssMiB: number;
  loadAfter: number;
}

export type RawSpeed = Omit<CorpusResult['raw'], 'backend' | 'twoProcessesTokensPerS'>;

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
  /** Two raw encoders at once, in two processes. */
  pairTokensPerS: number;
  threads: number;
  peakRssMiB: number;
}

/**
 * A pipeline row from one or more runs of the same build: the median run's numbers, and the
 * spread of the ratio over all of them. With `paired` raw runs (one just before each of `runs`),
 * each run's ratio divides by its own raw run, and a cold run by their median; otherwise every
 * ratio divides by the raw encoder's median speed.
 */
export function pipelineRow(
  baseline: Baseline,
  runs: Timing[],
  warm: boolean,
  loadAverage: number,
  paired?: Timing[],
): CorpusResult['pipeline'][number] {
  const { raw, speed, pairTokensPerS, threads } = baseline;
  const run = medianRun(runs);
  // The same encoding work as the raw run: its token count over the pipeline's time.
  const tokensPerS = (r: Timing): number => raw.tokens / r.seconds;
  const rawSeconds = (i: number): number => {
    if (paired === undefined || paired.length === 0) return speed.seconds;
    return (paired.length === runs.length ? paired[i] : medianRun(paired))?.seconds as number;
  };
  const ratios = runs.map((r, i) => rawSeconds(i) / (r.seconds * threads));
  return {
    threads,
    warm,
    runs: runs.length,
    seconds: run.seconds,
    mbPerS: raw.textBytes / run.seconds / 1e6,
    tokensPerS: tokensPerS(run),
    ratio: median(ratios),
    ratioRange: [Math.min(...ratios), Math.max(...ratios)],
    ratioToAvailable: tokensPerS(run) / (threads === 1 ? speed.tokensPerS : pairTokensPerS),
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
