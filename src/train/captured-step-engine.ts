/**
 * Training steps on the `torch` backend without JavaScript in the loop. The first step of a batch shape runs as usual
 * (it makes the optimizer's slots); the second is recorded natively as it runs (every op call, upload and release:
 * native/torch-backend/step-capture.cc); from the third on, the recorded step is replayed in one native call with the
 * new batch bound to its inputs and the step's learning rate substituted. Variables (weights, RMSProp slots,
 * BatchNorm statistics) keep their tensor ids and get their new values in place, so the model, checkpoints and
 * evaluations see them as after a normal step. A replayed step computes what the normal step does, bit for bit: both
 * run the same native op functions on the same arguments.
 *
 * Evaluation batches (inference mode, every variable read where it is at the time) are captured the same way. A step
 * that cannot be replayed (it reads a value back, or leaves a tensor behind: the addon says why) keeps running the
 * normal way for that batch shape; a call after the set of variables changed is recorded anew.
 */
import * as tf from '@tensorflow/tfjs';
import type { ReplayMode } from '../backend/torch/addon.ts';
import type { TorchBackend } from '../backend/torch/torch-backend.ts';
import type { RmsPropConfig, StepResult } from './step-engine.ts';
import { LocalStepEngine, inferenceTensors, readStep } from './local-step-engine.ts';
import type { StepTensors } from './local-step-engine.ts';

interface CapturedStep {
  handle: number;
  /** Every registered variable when the step was captured, in the order the program binds them. */
  variables: tf.Variable[];
  /** Whether the log has said if the replays run as a CUDA graph (asked on CUDA only). */
  graphReported: boolean;
}

type ShapeState = CapturedStep | { refused: string } | 'seen';

/**
 * Captures and replays one kind of call (training steps, evaluation batches) per batch shape: the first call of a
 * shape runs normally, the second is recorded, later ones replay.
 */
class CallReplayer {
  private readonly byShape = new Map<string, ShapeState>();
  /** Calls answered by a replay. */
  replays = 0;

  constructor(
    private readonly backend: TorchBackend,
    private readonly what: string,
    private readonly log: (line: string) => void,
  ) {}

  /** `runNormally` is the call through TF.js; `replayed` runs after a replay (what the call does besides kernels). */
  async run(
    x: tf.Tensor4D,
    y: tf.Tensor1D,
    learningRate: number,
    runNormally: () => StepTensors,
    replayed: () => void = () => {},
  ): Promise<StepResult> {
    const key = `${x.shape}|${y.shape}|${x.dtype}|${y.dtype}`;
    const known = this.byShape.get(key);
    if (known === undefined) {
      this.byShape.set(key, 'seen');
      return readStep(runNormally());
    }
    if (known === 'seen') return this.capture(key, x, y, runNormally);
    if ('refused' in known) return readStep(runNormally());
    if (!sameVariables(known.variables)) {
      // Variables were added or removed since the capture: its program binds the old list; record this call anew.
      this.backend.releaseCapture(known.handle);
      return this.capture(key, x, y, runNormally);
    }
    const ids = known.variables.map((v) => this.backend.id(v));
    const [loss, correct] = this.backend.replay(known.handle, [x, y], ids, learningRate);
    this.replays++;
    if (!known.graphReported && this.backend.device.startsWith('cuda')) this.reportGraph(known, x.shape);
    replayed();
    return { loss: loss!, correct: correct! };
  }

  private async capture(
    key: string,
    x: tf.Tensor4D,
    y: tf.Tensor1D,
    runNormally: () => StepTensors,
  ): Promise<StepResult> {
    const variables = Object.values(tf.engine().registeredVariables);
    const before = variables.map((v) => this.backend.id(v));
    this.backend.captureBegin();
    let tensors;
    try {
      tensors = runNormally();
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
      this.log(`[capture] ${this.what} [${x.shape}]: not captured (${outcome.refused}); these run through TF.js`);
    } else {
      this.byShape.set(key, { handle: outcome.handle, variables, graphReported: false });
      this.log(
        `[capture] ${this.what} [${x.shape}]: replayed natively from now on, ${outcome.ops} ops in one call ` +
          `(${outcome.uploads} uploads, ${outcome.constants} constants held)`,
      );
    }
    return readStep(tensors);
  }

  /** Says once per program whether its replays are CUDA graph launches, or why not. */
  private reportGraph(step: CapturedStep, shape: number[]): void {
    const { mode, graphReplays, graphRefused } = this.backend.replayMode(step.handle);
    if (graphRefused !== undefined) {
      this.log(`[capture] ${this.what} [${shape}]: no CUDA graph (${graphRefused}); replayed op by op`);
    } else if (mode === 'graph' && graphReplays > 0) {
      this.log(`[capture] ${this.what} [${shape}]: one CUDA graph launch per call from now on`);
    } else {
      return;
    }
    step.graphReported = true;
  }

  /** How many batch shapes have a captured program (tests count them). */
  captured(): number {
    return [...this.byShape.values()].filter((s) => typeof s === 'object' && 'handle' in s).length;
  }

  /** How each captured program's last replay ran (plain, static or a CUDA graph). */
  modes(): ReplayMode['mode'][] {
    return [...this.byShape.values()].flatMap((s) =>
      typeof s === 'object' && 'handle' in s ? [this.backend.replayMode(s.handle).mode] : [],
    );
  }

  release(): void {
    for (const entry of this.byShape.values()) {
      if (typeof entry === 'object' && 'handle' in entry) this.backend.releaseCapture(entry.handle);
    }
    this.byShape.clear();
  }
}

export class CapturedStepEngine extends LocalStepEngine {
  private readonly steps: CallReplayer;
  private readonly evaluations: CallReplayer;

  constructor(
    model: tf.LayersModel,
    config: RmsPropConfig,
    backend: TorchBackend,
    log: (line: string) => void = () => {},
  ) {
    super(model, config);
    this.steps = new CallReplayer(backend, 'training step', log);
    this.evaluations = new CallReplayer(backend, 'evaluation batch', log);
  }

  override async step(x: tf.Tensor4D, y: tf.Tensor1D, learningRate: number): Promise<StepResult> {
    return this.steps.run(
      x,
      y,
      learningRate,
      () => this.runStep(x, y, learningRate),
      () => (this.optimizer as unknown as { incrementIterations(): void }).incrementIterations(),
    );
  }

  override async evaluateBatch(x: tf.Tensor4D, y: tf.Tensor1D): Promise<StepResult> {
    return this.evaluations.run(x, y, 0, () => inferenceTensors(this.model, x, y));
  }

  /** How many batch shapes run captured, and how many calls were replays: training steps and evaluation batches. */
  captureStats(): { steps: number; evaluations: number; replayedSteps: number; replayedEvaluations: number } {
    return {
      steps: this.steps.captured(),
      evaluations: this.evaluations.captured(),
      replayedSteps: this.steps.replays,
      replayedEvaluations: this.evaluations.replays,
    };
  }

  /** How the captured programs' last replays ran: training steps', then evaluation batches'. */
  replayModes(): ReplayMode['mode'][] {
    return [...this.steps.modes(), ...this.evaluations.modes()];
  }

  override async dispose(): Promise<void> {
    this.steps.release();
    this.evaluations.release();
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
