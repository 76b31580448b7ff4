/**
 * Training steps on the `torch` backend without JavaScript in the loop. The first step of a batch shape runs as usual
 * (it makes the optimizer's slots); the second is recorded natively as it runs (every op call, upload and release:
 * native/torch-backend/step-capture.cc); from the third on, the recorded step is replayed in one native call with the
 * new batch bound to its inputs and the step's learning rate substituted. Variables (weights, RMSProp slots,
 * BatchNorm statistics) keep their tensor ids and get their new values in place, so the model, checkpoints and
 * evaluations see them as after a normal step. A replayed step computes what the normal step does, bit for bit: both
 * run the same native op functions on the same arguments.
 *
 * A step that cannot be replayed (it reads a value back, or leaves a tensor behind: the addon says why) keeps running
 * the normal way for that batch shape; so does a step after the set of variables changed.
 */
import * as tf from '@tensorflow/tfjs';
import type { TorchBackend } from '../backend/torch/torch-backend.ts';
import type { RmsPropConfig, StepResult } from './step-engine.ts';
import { LocalStepEngine, readStep } from './local-step-engine.ts';

interface CapturedStep {
  handle: number;
  /** Every registered variable when the step was captured, in the order the program binds them. */
  variables: tf.Variable[];
}

export class CapturedStepEngine extends LocalStepEngine {
  /** Per batch shape: the captured step, the reason it cannot be captured, or 'seen' after one normal step. */
  private readonly byShape = new Map<string, CapturedStep | { refused: string } | 'seen'>();

  constructor(
    model: tf.LayersModel,
    config: RmsPropConfig,
    private readonly backend: TorchBackend,
    private readonly log: (line: string) => void = () => {},
  ) {
    super(model, config);
  }

  override async step(x: tf.Tensor4D, y: tf.Tensor1D, learningRate: number): Promise<StepResult> {
    const key = `${x.shape}|${y.shape}|${x.dtype}|${y.dtype}`;
    const known = this.byShape.get(key);
    if (known === undefined || typeof known !== 'object') {
      if (known === 'seen') return this.capture(key, x, y, learningRate);
      this.byShape.set(key, 'seen');
      return super.step(x, y, learningRate);
    }
    if ('refused' in known || !sameVariables(known.variables)) return super.step(x, y, learningRate);
    const [loss, correct] = this.backend.replay(
      known.handle,
      [x, y],
      known.variables.map((v) => this.backend.id(v)),
      learningRate,
    );
    (this.optimizer as unknown as { incrementIterations(): void }).incrementIterations();
    return { loss: loss!, correct: correct! };
  }

  private async capture(key: string, x: tf.Tensor4D, y: tf.Tensor1D, learningRate: number): Promise<StepResult> {
    const variables = Object.values(tf.engine().registeredVariables);
    const before = variables.map((v) => this.backend.id(v));
    this.backend.captureBegin();
    let tensors;
    try {
      tensors = this.runStep(x, y, learningRate);
    } catch (err) {
      this.backend.captureAbort();
      throw err;
    }
    const after = variables.map((v) => this.backend.id(v));
    const outcome = this.backend.captureEnd([x, y], before, after, [
      tensors.crossEntropy,
      tensors.correct,
      ...tensors.others,
    ]);
    if ('refused' in outcome) {
      this.byShape.set(key, { refused: outcome.refused });
      this.log(`[capture] batch [${x.shape}]: not captured (${outcome.refused}); steps run the normal way`);
    } else {
      this.byShape.set(key, { handle: outcome.handle, variables });
      this.log(
        `[capture] batch [${x.shape}]: later steps replay ${outcome.ops} native ops in one call ` +
          `(${outcome.uploads} uploads, ${outcome.constants} constants held)`,
      );
    }
    return readStep(tensors);
  }

  override async dispose(): Promise<void> {
    for (const entry of this.byShape.values()) {
      if (typeof entry === 'object' && 'handle' in entry) this.backend.releaseCapture(entry.handle);
    }
    this.byShape.clear();
    await super.dispose();
  }
}

/** Whether the registered variables are still exactly those a step was captured with. */
function sameVariables(captured: tf.Variable[]): boolean {
  const now = tf.engine().registeredVariables;
  let count = 0;
  for (const name in now) {
    if (now[name] !== captured[count]) return false;
    count++;
  }
  return count === captured.length;
}
