/**
 * A data-parallel replica in a worker thread: rebuilds the model from its topology on its own backend, and for each
 * step copies the published weights into its variables, computes its shard's gradient, writes the result into shared
 * memory and signals the step's generation through Atomics.
 */
import { parentPort, workerData } from 'node:worker_threads';
import * as tf from '@tensorflow/tfjs';
import { selectBackend } from '../../backend/backend.ts';
import { publishedSlot, type ReplicaInit, type ReplicaMessage, type StepRequest } from './replica-protocol.ts';
import { computeShardGradients, type ReplicaVariables } from './shard-gradients.ts';
import { variablesInLayout } from './weight-layout.ts';

const port = parentPort;
if (port === null) throw new Error('replica-worker.ts must run in a worker thread');
const init = workerData as ReplicaInit;
const send = (message: ReplicaMessage): void => port.postMessage(message);
const messageOf = (err: unknown): string => (err instanceof Error ? err.message : String(err));

async function buildReplica(): Promise<{ model: tf.LayersModel; variables: ReplicaVariables }> {
  await selectBackend(init.backend, () => {});
  const model = await tf.models.modelFromJSON({
    modelTopology: init.modelTopology as tf.io.ModelJSON['modelTopology'],
  });
  const variables = {
    trainable: variablesInLayout(model, init.layout.trainable, true),
    nonTrainable: variablesInLayout(model, init.layout.nonTrainable, false),
  };
  return { model, variables };
}

const weights = new Float32Array(init.weights);
const result = new Float32Array(init.result);
const scores = new Float64Array(init.scores);
const signals = new Int32Array(init.signals);

function loadPublishedWeights(variables: ReplicaVariables): void {
  tf.tidy(() => {
    const assign = (vars: tf.Variable[], slots: typeof init.layout.trainable) =>
      vars.forEach((v, i) => {
        const { offset, size, shape } = slots[i];
        // slice(): a private copy; the cpu backend would otherwise keep a view of the shared buffer.
        v.assign(tf.tensor(weights.slice(offset, offset + size), shape, 'float32'));
      });
    assign(variables.trainable, init.layout.trainable);
    assign(variables.nonTrainable, init.layout.nonTrainable);
  });
}

async function runStep({ model, variables }: Replica, request: StepRequest): Promise<void> {
  const published = Atomics.load(signals, publishedSlot(signals));
  if (published !== request.generation)
    throw new Error(`step ${request.generation} arrived but the published weights are of step ${published}`);
  loadPublishedWeights(variables);
  const x = tf.tensor4d(request.x, request.xShape, 'float32');
  const y = tf.tensor1d(request.y, request.yDtype);
  try {
    const { loss, correct } = await computeShardGradients(
      model,
      variables,
      init.layout,
      x,
      y,
      request.weightDecay,
      result,
    );
    scores[2 * init.index] = loss;
    scores[2 * init.index + 1] = correct;
  } finally {
    x.dispose();
    y.dispose();
  }
  Atomics.store(signals, init.index, request.generation);
  Atomics.notify(signals, init.index);
}

type Replica = Awaited<ReturnType<typeof buildReplica>>;

try {
  const replica = await buildReplica();
  // Steps run one after another even if a request arrives while an earlier one awaits.
  let queue = Promise.resolve();
  port.on('message', (request: StepRequest) => {
    queue = queue.then(() =>
      runStep(replica, request).catch((err: unknown) =>
        send({ type: 'step-error', generation: request.generation, message: messageOf(err) }),
      ),
    );
  });
  send({ type: 'ready', tfBackend: tf.getBackend() });
} catch (err) {
  // The main thread terminates this worker when it reads this.
  send({ type: 'start-error', message: messageOf(err) });
}
