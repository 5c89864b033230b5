/**
 * Peer figures from the public benchmark's README (median log10 regret; Optuna 3.1 over 20 seeds,
 * BoTorch 0.18 over 10), so our tables can print them beside our own numbers.
 */

export type Mode = 'sequential' | 'batch8';
export const BUDGETS = [10, 25, 50, 100] as const;

export interface PeerFigure { peer: string; fn: string; mode: Mode; budget: number; median: number }

const rows: Array<[string, Mode, number, Record<string, number>]> = [
  // Sequential @100: random, tpe, tpe_mv, qmc, cmaes.
  ['branin', 'sequential', 100, { 'optuna random': -0.47, 'optuna tpe': -1.92, 'optuna tpe_mv': -1.14, 'optuna qmc': -0.57, 'optuna cmaes': -1.89 }],
  ['ackley5', 'sequential', 100, { 'optuna random': 1.23, 'optuna tpe': 0.9, 'optuna tpe_mv': 0.95, 'optuna qmc': 1.23, 'optuna cmaes': 0.81 }],
  ['rosenbrock4', 'sequential', 100, { 'optuna random': 2.93, 'optuna tpe': 1.79, 'optuna tpe_mv': 1.73, 'optuna qmc': 2.94, 'optuna cmaes': 1.65 }],
  ['mixed_a', 'sequential', 100, { 'optuna random': -1.28, 'optuna tpe': -1.67, 'optuna tpe_mv': -1.67, 'optuna qmc': -1.42 }],
  // Sequential @25 and @50: tpe, tpe_mv, cmaes.
  ['branin', 'sequential', 25, { 'optuna tpe': -0.24, 'optuna tpe_mv': -0.34, 'optuna cmaes': 0.38 }],
  ['branin', 'sequential', 50, { 'optuna tpe': -0.76, 'optuna tpe_mv': -0.8, 'optuna cmaes': -0.12 }],
  ['ackley5', 'sequential', 25, { 'optuna tpe': 1.2, 'optuna tpe_mv': 1.21, 'optuna cmaes': 1.09 }],
  ['ackley5', 'sequential', 50, { 'optuna tpe': 1.12, 'optuna tpe_mv': 1.06, 'optuna cmaes': 0.97 }],
  ['rosenbrock4', 'sequential', 25, { 'optuna tpe': 3.08, 'optuna tpe_mv': 2.82, 'optuna cmaes': 2.55 }],
  ['rosenbrock4', 'sequential', 50, { 'optuna tpe': 2.5, 'optuna tpe_mv': 2.37, 'optuna cmaes': 2.08 }],
  ['mixed_a', 'sequential', 25, { 'optuna tpe': -1.23, 'optuna tpe_mv': -1.18 }],
  ['mixed_a', 'sequential', 50, { 'optuna tpe': -1.4, 'optuna tpe_mv': -1.38 }],
  // Batch of 8 @100: tpe with constant liar, plain tpe, random.
  ['branin', 'batch8', 100, { 'optuna tpe_cl': -1.6, 'optuna tpe': -1.25, 'optuna random': -0.47 }],
  ['ackley5', 'batch8', 100, { 'optuna tpe_cl': 0.91, 'optuna tpe': 1.06, 'optuna random': 1.23 }],
  ['rosenbrock4', 'batch8', 100, { 'optuna tpe_cl': 1.51, 'optuna tpe': 2.28, 'optuna random': 2.93 }],
  ['mixed_a', 'batch8', 100, { 'optuna tpe_cl': -1.87, 'optuna tpe': -1.43, 'optuna random': -1.28 }],
  // BoTorch (10 seeds): sequential @25/@50, q=8 @50/@100.
  ['branin', 'sequential', 25, { botorch: -1.41 }],
  ['branin', 'sequential', 50, { botorch: -3.14 }],
  ['ackley5', 'sequential', 25, { botorch: 1.12 }],
  ['ackley5', 'sequential', 50, { botorch: 0.76 }],
  ['rosenbrock4', 'sequential', 25, { botorch: 2.76 }],
  ['rosenbrock4', 'sequential', 50, { botorch: 2.58 }],
  ['branin', 'batch8', 50, { botorch: -1.75 }],
  ['branin', 'batch8', 100, { botorch: -3.08 }],
  ['ackley5', 'batch8', 50, { botorch: 1.09 }],
  ['ackley5', 'batch8', 100, { botorch: 0.73 }],
  ['rosenbrock4', 'batch8', 50, { botorch: 3.06 }],
  ['rosenbrock4', 'batch8', 100, { botorch: 2.67 }],
];

export const PEER_FIGURES: readonly PeerFigure[] = rows.flatMap(([fn, mode, budget, byPeer]) =>
  Object.entries(byPeer).map(([peer, median]) => ({ peer, fn, mode, budget, median })));

/** Optuna's best median at a budget (the bar TPE has to clear), or undefined where none was published. */
export function bestOptuna(fn: string, mode: Mode, budget: number): PeerFigure | undefined {
  return PEER_FIGURES.filter((p) => p.fn === fn && p.mode === mode && p.budget === budget && p.peer.startsWith('optuna'))
    .sort((a, b) => a.median - b.median)[0];
}

export function botorch(fn: string, mode: Mode, budget: number): PeerFigure | undefined {
  return PEER_FIGURES.find((p) => p.fn === fn && p.mode === mode && p.budget === budget && p.peer === 'botorch');
}
