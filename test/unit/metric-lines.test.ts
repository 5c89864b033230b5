import { describe, expect, it } from 'vitest';
import { parseMetricLine, StepCounter } from '../../worker/metrics/parse-line.js';
import { checkBatch } from '../../shared/wire-limits.js';

describe('metric line parsing', () => {
  it('reads Katib-style name=value lines, with epoch as the step', () => {
    expect(parseMetricLine('epoch=3 loss=0.21 accuracy=9.3e-1')).toEqual({
      step: 3, values: [{ name: 'epoch', value: 3 }, { name: 'loss', value: 0.21 }, { name: 'accuracy', value: 0.93 }],
    });
  });

  it('reads JSON object lines and ignores their non-numeric fields', () => {
    expect(parseMetricLine('{"step": 10, "val/loss": 0.5, "note": "hi", "bad": null}')).toEqual({
      step: 10, values: [{ name: 'step', value: 10 }, { name: 'val/loss', value: 0.5 }],
    });
  });

  it.each(['Epoch 3 finished', 'loss=nan', 'loss=0.1 and more', 'x=1e999', '[1, 2]', '{"a": "b"}', '', 'a==1', '=3'])('ignores ordinary output: %j', (line) => {
    expect(parseMetricLine(line)).toBeUndefined();
  });

  it('numbers the reports of a metric when the line has no step', () => {
    const c = new StepCounter();
    expect(c.points(parseMetricLine('loss=1')!, 0).map((p) => p.step)).toEqual([1]);
    expect(c.points(parseMetricLine('loss=0.5 acc=0.1')!, 0).map((p) => p.step)).toEqual([2, 1]);
    expect(c.points(parseMetricLine('step=40 loss=0.2')!, 0).map((p) => p.step)).toEqual([40, 40]);
  });

  // The coordinator refuses a batch with a negative or unsafe step and fails the trial for it:
  // one `step=-1` line (an evaluation before training, say) must not cost the trial.
  it.each(['step=-1 loss=0.3', 'epoch=-2 loss=0.3', '{"step": -5, "loss": 1}', 'step=1e30 loss=2', 'step=9007199254740993 loss=2'])(
    'a step the coordinator would refuse is not the line\'s step: %j', (line) => {
      const parsed = parseMetricLine(line)!;
      expect(parsed.step).toBeUndefined();
      expect(() => checkBatch(new StepCounter().points(parsed, Date.now()))).not.toThrow();
    });
});

describe('metric batch checks', () => {
  const good = (over: Record<string, unknown> = {}) => ({ name: 'loss', value: 0.5, step: 1, timeMs: Date.now(), ...over });
  it('checks every point, also after points of the same name passed', () => {
    expect(() => checkBatch([good(), good({ step: 2 })])).not.toThrow();
    expect(() => checkBatch([good(), good({ value: Number.NaN })] as never)).toThrow(/metrics\.points\[1\]\.value/);
    expect(() => checkBatch([good(), good({ step: -1 })] as never)).toThrow(/metrics\.points\[1\]\.step/);
    expect(() => checkBatch([good(), good({ timeMs: 5 })] as never)).toThrow(/metrics\.points\[1\]\.timeMs/);
    expect(() => checkBatch([good(), good({ name: 'no spaces' })] as never)).toThrow(/metrics\.points\[1\]\.name/);
    expect(() => checkBatch([good(), good({ name: 'x'.repeat(300) })] as never)).toThrow(/longer than 200/);
  });
});
