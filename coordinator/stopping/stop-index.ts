/**
 * Layout of the early-stopping indexes' members. Each index is one sorted set per study whose
 * members all score 0 and sort by their bytes (Redis lex order), so a range of it is one rung
 * (or one step) and a rank inside the range is an O(log n) ZRANK minus a ZLEXCOUNT:
 *
 *   rungs, candidates: "bb:kk:<value>:<number>"  (bracket, rung, value at the rung, trial)
 *   averages:          "<step>:<average>:<number>"
 *
 * Numbers are fixed-width so byte order is numeric order: values as the 16 hex digits of an
 * order-preserving transform of their IEEE-754 bits, trial numbers as 10 decimal digits. Within
 * a rung, members therefore sort by (value, trial number): exactly the rules' ranking order.
 */

/** 16 hex digits whose byte order is the numeric order of `x` (-0 is 0; no NaN: see asLoss). */
export function sortableHex(x: number): string {
  const view = new DataView(new ArrayBuffer(8));
  view.setFloat64(0, x === 0 ? 0 : x);
  let bits = view.getBigUint64(0);
  bits = bits >> 63n ? ~bits & 0xffff_ffff_ffff_ffffn : bits | (1n << 63n);
  return bits.toString(16).padStart(16, '0');
}

export function fromSortableHex(hex: string): number {
  let bits = BigInt(`0x${hex}`);
  bits = bits >> 63n ? bits & ~(1n << 63n) : ~bits & 0xffff_ffff_ffff_ffffn;
  const view = new DataView(new ArrayBuffer(8));
  view.setBigUint64(0, bits);
  return view.getFloat64(0);
}

const pad = (n: number, width: number): string => String(n).padStart(width, '0');
const trialPart = (n: number): string => pad(n, 10);

/** A lex range: [prefix, prefix with its last ':' raised to ';'), and `below` = everything under it. */
export interface LexRange { lo: string; hi: string; below: string }
const rangeOf = (prefix: string): LexRange => ({ lo: `[${prefix}:`, hi: `(${prefix};`, below: `(${prefix}:` });

export const rungRange = (bracket: number, rung: number): LexRange => rangeOf(`${pad(bracket, 2)}:${pad(rung, 2)}`);
export const rungMember = (bracket: number, rung: number, value: number, trial: number): string =>
  `${pad(bracket, 2)}:${pad(rung, 2)}:${sortableHex(value)}:${trialPart(trial)}`;
export function parseRungMember(m: string): { bracket: number; rung: number; value: number; trial: number } {
  const [b, k, v, n] = m.split(':') as [string, string, string, string];
  return { bracket: Number(b), rung: Number(k), value: fromSortableHex(v), trial: Number(n) };
}

export const stepRange = (step: number): LexRange => rangeOf(sortableHex(step));
export const averageMember = (step: number, average: number, trial: number): string => `${sortableHex(step)}:${sortableHex(average)}:${trialPart(trial)}`;
export const averageOf = (m: string): number => fromSortableHex(m.split(':')[1]!);

/**
 * A trial's index state (`c:<n>`): reports indexed, rungs of its bracket reached, and the sum and
 * minimum of its losses so far, accumulated in report order as the rules' reference code does,
 * so the indexed decision is bit-for-bit the reference one.
 */
export interface TrialIndexState { reports: number; reached: number; sum: number; min: number }
export const EMPTY_STATE: TrialIndexState = { reports: 0, reached: 0, sum: 0, min: Infinity };
export const formatState = (s: TrialIndexState): string => `${s.reports} ${s.reached} ${s.sum} ${s.min}`;
export function parseState(v: string | undefined): TrialIndexState {
  if (!v) return { ...EMPTY_STATE };
  const [reports, reached, sum, min] = v.split(' ').map(Number) as [number, number, number, number];
  return { reports, reached, sum, min };
}
