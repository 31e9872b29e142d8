/**
 * Reading a process' CPU time and memory from Linux /proc (the text formats, parsed pure so they
 * are unit-tested). CPU time is utime + stime in clock ticks (`getconf CLK_TCK`, 100 on every
 * Linux this runs on); memory is VmRSS and VmHWM (the process' peak resident set) in bytes.
 * Readers return undefined for a process that is gone or a /proc that does not exist (macOS):
 * accounting is then absent, never wrong.
 */
import { readFileSync } from 'node:fs';

/** USER_HZ: the unit of /proc/<pid>/stat times. Fixed at 100 by the Linux ABI on x86 and arm. */
export const CLOCK_TICKS_PER_SEC = 100;

export interface ProcSample {
  /** utime + stime, seconds. */
  readonly cpuSeconds: number;
  readonly rssBytes: number;
  /** VmHWM: the highest resident set the process ever had. */
  readonly peakRssBytes: number;
}

/**
 * /proc/<pid>/stat → CPU seconds (utime + stime). The command name (field 2) is in parentheses
 * and may hold spaces or ')', so fields are counted from the LAST ')'.
 */
export function parseStatCpuSeconds(text: string): number {
  const close = text.lastIndexOf(')');
  if (close < 0) throw new RangeError('not a /proc/<pid>/stat line: no ")"');
  // After ") ": field 3 (state) is index 0, so utime (field 14) is index 11 and stime index 12.
  const f = text
    .slice(close + 2)
    .trim()
    .split(/\s+/);
  const utime = Number(f[11]);
  const stime = Number(f[12]);
  if (!Number.isFinite(utime) || !Number.isFinite(stime)) throw new RangeError('not a /proc/<pid>/stat line: utime/stime missing');
  return (utime + stime) / CLOCK_TICKS_PER_SEC;
}

/** /proc/<pid>/status → VmRSS and VmHWM in bytes (0 when absent, e.g. a zombie). */
export function parseStatusMemory(text: string): { rssBytes: number; peakRssBytes: number } {
  const kb = (key: string) => {
    const m = new RegExp(`^${key}:\\s+(\\d+)\\s+kB`, 'm').exec(text);
    return m === null ? 0 : Number(m[1]) * 1024;
  };
  return { rssBytes: kb('VmRSS'), peakRssBytes: kb('VmHWM') };
}

/** The first line of /proc/stat → busy CPU seconds of the whole machine (all but idle and iowait). */
export function parseMachineBusySeconds(text: string): number {
  const line = text.split('\n', 1)[0] ?? '';
  const f = line.trim().split(/\s+/);
  if (f[0] !== 'cpu') throw new RangeError('not /proc/stat: the first line is not "cpu …"');
  const v = f.slice(1).map(Number);
  // user nice system idle iowait irq softirq steal [guest guest_nice: already inside user/nice]
  const busy = (v[0] ?? 0) + (v[1] ?? 0) + (v[2] ?? 0) + (v[5] ?? 0) + (v[6] ?? 0) + (v[7] ?? 0);
  return busy / CLOCK_TICKS_PER_SEC;
}

export function readProcSample(pid: number): ProcSample | undefined {
  try {
    const cpuSeconds = parseStatCpuSeconds(readFileSync(`/proc/${pid}/stat`, 'utf8'));
    return { cpuSeconds, ...parseStatusMemory(readFileSync(`/proc/${pid}/status`, 'utf8')) };
  } catch {
    return undefined;
  }
}

export function readMachineBusySeconds(): number | undefined {
  try {
    return parseMachineBusySeconds(readFileSync('/proc/stat', 'utf8'));
  } catch {
    return undefined;
  }
}
