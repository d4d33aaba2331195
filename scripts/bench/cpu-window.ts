import { readFileSync } from 'node:fs';

/** What a timed piece of work cost, and what else the machine did meanwhile. */
export interface Measured<T> {
  value: T;
  seconds: number;
  /** CPU seconds of this process, every thread included. */
  cpuSeconds: number;
  /**
   * CPU seconds that other processes used meanwhile: on a machine shared with other work, the
   * reason a measurement came out slow. Null where /proc/stat is missing (not Linux).
   */
  othersCpuSeconds: number | null;
  /** Seconds the hypervisor gave this machine's CPUs to other guests; null off Linux. */
  stealSeconds: number | null;
}

/** /proc/stat counts in USER_HZ, which Linux fixes at 100 for user space. */
const TICKS_PER_SECOND = 100;

interface MachineTicks {
  busy: number;
  steal: number;
}

function machineTicks(): MachineTicks | null {
  let line: string;
  try {
    line = readFileSync('/proc/stat', 'utf8').split('\n', 1)[0] ?? '';
  } catch {
    return null;
  }
  const [user, nice, system, , , irq, softirq, steal] = line
    .trim()
    .split(/\s+/)
    .slice(1)
    .map(Number);
  const busy = (user ?? 0) + (nice ?? 0) + (system ?? 0) + (irq ?? 0) + (softirq ?? 0);
  return { busy, steal: steal ?? 0 };
}

function processCpuSeconds(): number {
  const usage = process.cpuUsage();
  return (usage.user + usage.system) / 1e6;
}

/** Runs `work` and measures its wall time, its CPU time and the machine's other load. */
export async function measure<T>(work: () => Promise<T>): Promise<Measured<T>> {
  const machine = machineTicks();
  const cpu = processCpuSeconds();
  const started = performance.now();
  const value = await work();
  const seconds = (performance.now() - started) / 1000;
  const cpuSeconds = processCpuSeconds() - cpu;
  const after = machineTicks();
  if (machine === null || after === null) {
    return { value, seconds, cpuSeconds, othersCpuSeconds: null, stealSeconds: null };
  }
  const busy = (after.busy - machine.busy) / TICKS_PER_SECOND;
  return {
    value,
    seconds,
    cpuSeconds,
    // Tick counts are coarse (10 ms per CPU); a small negative difference means none.
    othersCpuSeconds: Math.max(0, busy - cpuSeconds),
    stealSeconds: (after.steal - machine.steal) / TICKS_PER_SECOND,
  };
}
