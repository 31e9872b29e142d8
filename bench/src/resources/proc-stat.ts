/**
 * Reading a process' CPU time and memory from Linux /proc (the text formats, parsed pure so they
 * are unit-tested). CPU time is utime + stime in clock ticks (`getconf CLK_TCK`, 100 on every
 * Linux this runs on); memory is VmRSS and VmHWM (the process' peak resident set) in bytes.
 * Context switches are summed over the process' threads (/proc/<pid>/task/<tid>/status): on a VM
 * each one (a thread going to sleep and being woken, or preempted) has a price of its own, often
 * larger than the work it wakes for (docs/measurements.md, "What a message costs").
 * Readers return undefined for a process that is gone or a /proc that does not exist (macOS):
 * accounting is then absent, never wrong.
 */
import { readdirSync, readFileSync } from 'node:fs';

/** USER_HZ: the unit of /proc/<pid>/stat times. Fixed at 100 by the Linux ABI on x86 and arm. */
export const CLOCK_TICKS_PER_SEC = 100;

export interface ProcSample {
  /** utime + stime, seconds. */
  readonly cpuSeconds: number;
  readonly rssBytes: number;
  /** VmHWM: the highest resident set the process ever had. */
  readonly peakRssBytes: number;
  /** Voluntary + involuntary context switches of all its threads; undefined when unreadable. */
  readonly contextSwitches?: number;
}

/**
 * /proc/<pid>/stat → CPU seconds (utime + stime). The command name (field 2) is in parentheses
 * and may hold spaces or ')', so fields are counted from the LAST ')'.
 */
export function parseStatCpuSeconds(text: string): number {
  // Field 3 (state) is index 0, so utime (field 14) is index 11 and stime index 12.
  const f = statFields(text);
  const utime = Number(f[11]);
  const stime = Number(f[12]);
  if (!Number.isFinite(utime) || !Number.isFinite(stime)) throw new RangeError('not a /proc/<pid>/stat line: utime/stime missing');
  return (utime + stime) / CLOCK_TICKS_PER_SEC;
}

/** The fields of a /proc/<pid>/stat (or task/<tid>/stat) line after the command name: field N is index N - 3. */
export function statFields(text: string): string[] {
  const close = text.lastIndexOf(')');
  if (close < 0) throw new RangeError('not a /proc/<pid>/stat line: no ")"');
  return text
    .slice(close + 2)
    .trim()
    .split(/\s+/);
}

/** /proc/<pid>/status → VmRSS and VmHWM in bytes (0 when absent, e.g. a zombie). */
export function parseStatusMemory(text: string): { rssBytes: number; peakRssBytes: number } {
  const kb = (key: string) => {
    const m = new RegExp(`^${key}:\\s+(\\d+)\\s+kB`, 'm').exec(text);
    return m === null ? 0 : Number(m[1]) * 1024;
  };
  return { rssBytes: kb('VmRSS'), peakRssBytes: kb('VmHWM') };
}

/** /proc/<pid>/task/<tid>/status → voluntary_ctxt_switches + nonvoluntary_ctxt_switches (0 when absent). */
export function parseStatusSwitches(text: string): number {
  let n = 0;
  for (const m of text.matchAll(/^(?:non)?voluntary_ctxt_switches:\s+(\d+)/gm)) n += Number(m[1]);
  return n;
}

/** The sum over a process' threads; threads that end while being read are skipped. */
export function readThreadSwitches(pid: number): number | undefined {
  let tids: string[];
  try {
    tids = readdirSync(`/proc/${pid}/task`);
  } catch {
    return undefined;
  }
  let n = 0;
  for (const tid of tids) {
    try {
      n += parseStatusSwitches(readFileSync(`/proc/${pid}/task/${tid}/status`, 'utf8'));
    } catch {
      // The thread ended between readdir and read: its switches leave the sum with it.
    }
  }
  return n;
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
    const memory = parseStatusMemory(readFileSync(`/proc/${pid}/status`, 'utf8'));
    return { cpuSeconds, ...memory, contextSwitches: readThreadSwitches(pid) };
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
