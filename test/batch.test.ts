import { after, test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, statSync, writeFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { runBatch } from '../src/batch/batch-runner.ts';
import type { BatchReport } from '../src/batch/batch-runner.ts';
import { acquireBatchLock } from '../src/batch/batch-lock.ts';
import { processAlive } from '../src/io/wait-lock.ts';
import type { BatchStateData } from '../src/batch/batch-state.ts';
import { detectGpus, parseNvidiaSmiList } from '../src/batch/gpu-detection.ts';
import type { GpuInventory } from '../src/batch/gpu-detection.ts';
import { JobsFileError, mergeDefaultArgs, parseJobsFile } from '../src/batch/jobs-file.ts';
import type { BatchJob } from '../src/batch/jobs-file.ts';
import { shellQuote } from '../src/batch/shell-quote.ts';
import { sbatchValue, slurmArrayScript } from '../src/batch/slurm-script.ts';

const temporaryDirs: string[] = [];
function temporaryDir(prefix: string): string {
  const dir = mkdtempSync(join(tmpdir(), prefix));
  temporaryDirs.push(dir);
  return dir;
}
after(() => {
  for (const dir of temporaryDirs) rmSync(dir, { recursive: true, force: true });
});

/**
 * A fake job: prints its name, CUDA_VISIBLE_DEVICES and arguments as one JSON line, marks itself running in
 * <dir>/running/<name> (holding its GPU ids) and records which GPUs the jobs running at that moment hold; optionally
 * waits until `barrier` jobs run at once (exit 9 after 10 s otherwise), sleeps, and exits with the given code. With
 * --resumed among its arguments it exits 0 at once. On SIGTERM it prints "got SIGTERM" and exits 0.
 */
const PROBE = `
import { mkdirSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

const [dir, name, exitCode, sleepMs, barrier] = process.argv.slice(2);
const resumed = process.argv.includes('--resumed');
const running = join(dir, 'running');
mkdirSync(running, { recursive: true });
const marker = join(running, name);
writeFileSync(marker, process.env.CUDA_VISIBLE_DEVICES ?? '');
process.on('SIGTERM', () => { console.log('got SIGTERM'); rmSync(marker, { force: true }); process.exit(0); });
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));
await sleep(50);
const inUse = readdirSync(running).map((file) => { try { return readFileSync(join(running, file), 'utf8'); } catch { return null; } }).filter((x) => x !== null);
console.log(JSON.stringify({ name, cuda: process.env.CUDA_VISIBLE_DEVICES ?? null, argv: process.argv.slice(4), inUse }));
const started = Date.now();
while (Number(barrier ?? 0) > readdirSync(running).length) {
  if (Date.now() - started > 10000) { console.log('barrier timeout'); rmSync(marker, { force: true }); process.exit(9); }
  await sleep(20);
}
if (!resumed) await sleep(Number(sleepMs));
rmSync(marker, { force: true });
process.exit(resumed ? 0 : Number(exitCode));
`;

interface ProbeLine {
  name: string;
  cuda: string | null;
  argv: string[];
  inUse: string[];
}

function workspace(): { dir: string; probe: string; state: string } {
  const dir = temporaryDir('net2net-batch-');
  const probe = join(dir, 'probe.mjs');
  writeFileSync(probe, PROBE);
  return { dir, probe, state: join(dir, 'state') };
}

function probeJob(
  ws: { dir: string; probe: string },
  name: string,
  options: { exitCode?: number; sleepMs?: number; barrier?: number; gpus?: number } = {},
): BatchJob {
  return {
    name,
    kind: 'command',
    argv: [
      process.execPath,
      ws.probe,
      ws.dir,
      name,
      String(options.exitCode ?? 0),
      String(options.sleepMs ?? 0),
      String(options.barrier ?? 0),
    ],
    gpus: options.gpus,
    env: {},
    resumeArgs: ['--resumed'],
  };
}

function probeLines(logPath: string): ProbeLine[] {
  return readFileSync(logPath, 'utf8')
    .split('\n')
    .filter((line) => line.startsWith('{'))
    .map((line) => JSON.parse(line) as ProbeLine);
}

async function abortWhenLogged(logPath: string, controller: AbortController): Promise<void> {
  for (let waited = 0; waited < 30000; waited += 50) {
    if (probeLines(logPath).length > 0) break;
    await new Promise((done) => setTimeout(done, 50));
  }
  controller.abort();
}

const twoGpus: GpuInventory = { ids: ['0', '1'], source: 'test' };
const noGpu: GpuInventory = { ids: [], source: 'test' };

function row(report: BatchReport, name: string) {
  const found = report.rows.find((entry) => entry.name === name);
  assert.ok(found, `no row for ${name}`);
  return found;
}

test('two GPUs: two jobs at once, each with its own CUDA_VISIBLE_DEVICES, never more than two', async () => {
  const ws = workspace();
  const jobs = [
    probeJob(ws, 'pair-a', { barrier: 2 }),
    probeJob(ws, 'pair-b', { barrier: 2 }),
    probeJob(ws, 'tail-c', { sleepMs: 150 }),
    probeJob(ws, 'tail-d', { sleepMs: 150 }),
    probeJob(ws, 'tail-e', { sleepMs: 150 }),
  ];
  const report = await runBatch({ jobs, jobsFile: 'test.json', stateDir: ws.state, gpus: twoGpus });
  assert.deepEqual(
    report.rows.map((entry) => [entry.name, entry.status, entry.exitCode]),
    jobs.map((job) => [job.name, 'done', 0]),
  );
  const lines = jobs.map((job) => probeLines(join(ws.state, `${job.name}.log`))[0]!);
  // The barrier jobs could only finish by running together, so on different GPUs.
  assert.deepEqual(
    lines
      .slice(0, 2)
      .map((line) => line.cuda)
      .sort(),
    ['0', '1'],
  );
  for (const line of lines) {
    assert.ok(line.cuda === '0' || line.cuda === '1', `${line.name}: CUDA_VISIBLE_DEVICES=${line.cuda}`);
    assert.ok(line.inUse.length <= 2, `${line.name} saw ${line.inUse.length} jobs running`);
    assert.equal(new Set(line.inUse).size, line.inUse.length, `${line.name} saw a GPU shared: ${line.inUse}`);
  }
  assert.equal(report.failed, 0);
  assert.equal(report.interrupted, false);
});

test('a job needing two GPUs gets both; one needing more than exist, or a missing program, fails with the reason', async () => {
  const ws = workspace();
  const missing: BatchJob = { ...probeJob(ws, 'missing'), argv: [join(ws.dir, 'no-such-program')] };
  const jobs = [probeJob(ws, 'double', { gpus: 2 }), probeJob(ws, 'triple', { gpus: 3 }), missing];
  const report = await runBatch({ jobs, jobsFile: 'test.json', stateDir: ws.state, gpus: twoGpus });
  assert.equal(row(report, 'missing').status, 'failed');
  assert.match(row(report, 'missing').error ?? '', /cannot start .*no-such-program.*ENOENT/);
  assert.equal(probeLines(join(ws.state, 'double.log'))[0]!.cuda, '0,1');
  assert.equal(row(report, 'triple').status, 'failed');
  assert.match(row(report, 'triple').error ?? '', /needs 3 GPU\(s\), only 2/);
});

test('a failed job is reported with its exit code; after a restart done jobs are skipped and failed ones resume', async () => {
  const ws = workspace();
  const jobs = [probeJob(ws, 'good'), probeJob(ws, 'bad', { exitCode: 3 })];
  const first = await runBatch({ jobs, jobsFile: 'test.json', stateDir: ws.state, gpus: noGpu });
  assert.equal(row(first, 'good').status, 'done');
  assert.equal(row(first, 'bad').status, 'failed');
  assert.equal(row(first, 'bad').exitCode, 3);
  assert.equal(first.failed, 1);
  const badLine = first.table.split('\n').find((line) => line.startsWith('| bad '))!;
  assert.match(badLine, /\| failed +\| 3 +\|/);
  assert.ok(readFileSync(first.summaryPath, 'utf8').includes(badLine));
  // Without GPUs the variable is left as the runner found it.
  assert.equal(probeLines(join(ws.state, 'good.log'))[0]!.cuda, process.env.CUDA_VISIBLE_DEVICES ?? null);

  const second = await runBatch({ jobs, jobsFile: 'test.json', stateDir: ws.state, gpus: noGpu });
  assert.equal(row(second, 'good').ranThisTime, false);
  assert.equal(row(second, 'good').attempts, 1);
  assert.equal(probeLines(join(ws.state, 'good.log')).length, 1, 'the done job ran again');
  assert.equal(row(second, 'bad').status, 'done');
  assert.equal(row(second, 'bad').attempts, 2);
  const badRuns = probeLines(join(ws.state, 'bad.log'));
  assert.deepEqual(
    badRuns.map((line) => line.argv.includes('--resumed')),
    [false, true],
  );
  const state = JSON.parse(readFileSync(second.statePath, 'utf8')) as BatchStateData;
  assert.equal(state.jobs.bad!.status, 'done');
  assert.equal(state.jobs.bad!.exitCode, 0);
});

test('aborting stops the running job (recorded as interrupted), leaves queued ones pending, and a restart resumes', async () => {
  const ws = workspace();
  const jobs = [probeJob(ws, 'long', { sleepMs: 30000 }), probeJob(ws, 'queued')];
  const controller = new AbortController();
  const lines: string[] = [];
  const running = runBatch({
    jobs,
    jobsFile: 'test.json',
    stateDir: ws.state,
    gpus: noGpu,
    signal: controller.signal,
    killGraceMs: 5000,
    log: (line) => {
      lines.push(line);
      // Abort once the probe has printed its line (its SIGTERM handler is installed by then).
      if (line.includes('long: started')) void abortWhenLogged(join(ws.state, 'long.log'), controller);
    },
  });
  const report = await running;
  assert.equal(report.interrupted, true);
  assert.equal(row(report, 'long').status, 'interrupted');
  assert.equal(row(report, 'queued').status, 'pending');
  assert.equal(row(report, 'queued').attempts, 0);
  assert.match(readFileSync(join(ws.state, 'long.log'), 'utf8'), /got SIGTERM/);

  const resumed = await runBatch({ jobs, jobsFile: 'test.json', stateDir: ws.state, gpus: noGpu });
  assert.deepEqual(
    resumed.rows.map((entry) => [entry.name, entry.status]),
    [
      ['long', 'done'],
      ['queued', 'done'],
    ],
  );
  assert.ok(probeLines(join(ws.state, 'long.log'))[1]!.argv.includes('--resumed'));
  assert.ok(!probeLines(join(ws.state, 'queued.log'))[0]!.argv.includes('--resumed'));
});

test('the CLI on SIGTERM stops its jobs, records them as interrupted and exits 143', async () => {
  const ws = workspace();
  const jobsFile = join(ws.dir, 'jobs.json');
  const long = probeJob(ws, 'long', { sleepMs: 30000 });
  writeFileSync(jobsFile, JSON.stringify({ jobs: [{ name: 'long', command: long.argv }] }));
  const cli = spawn(
    process.execPath,
    ['--import', 'tsx', 'src/cli/batch.ts', jobsFile, '--state-dir', ws.state, '--gpus', 'none', '--kill-after', '5'],
    { stdio: ['ignore', 'pipe', 'pipe'] },
  );
  let stderr = '';
  cli.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
  const exited = new Promise<number | null>((done) => cli.once('exit', (code) => done(code)));
  const statePath = join(ws.state, 'state.json');
  let childPid: number | null = null;
  for (let waited = 0; waited < 30000 && childPid === null; waited += 100) {
    await new Promise((done) => setTimeout(done, 100));
    if (!existsSync(statePath)) continue;
    const state = JSON.parse(readFileSync(statePath, 'utf8')) as BatchStateData;
    // Wait for the probe's first line, so its SIGTERM handler is installed.
    if (state.jobs.long?.status === 'running' && probeLines(join(ws.state, 'long.log')).length > 0) {
      childPid = state.jobs.long.pid;
    }
  }
  assert.ok(childPid !== null, `the job never started: ${stderr}`);
  cli.kill('SIGTERM');
  assert.equal(await exited, 143, stderr);
  const state = JSON.parse(readFileSync(statePath, 'utf8')) as BatchStateData;
  assert.equal(state.jobs.long!.status, 'interrupted');
  assert.equal(processAlive(childPid), false);
  assert.ok(!existsSync(join(ws.state, 'batch.lock')));
});

test('a second runner on the same state folder is refused', () => {
  const ws = workspace();
  mkdirSync(ws.state, { recursive: true });
  const lock = join(ws.state, 'batch.lock');
  writeFileSync(lock, `${process.ppid}\n`);
  assert.throws(() => acquireBatchLock(lock), /another batch runner \(pid \d+\)/);
  writeFileSync(lock, '999999999\n');
  const release = acquireBatchLock(lock);
  assert.equal(readFileSync(lock, 'utf8').trim(), String(process.pid));
  release();
  assert.ok(!existsSync(lock));
});

test('jobs file: defaults, JSON lines, and errors that name the job and the reason', () => {
  const jobs = parseJobsFile(
    JSON.stringify({
      defaults: { args: ['--backend', 'tensorflow-gpu'], gpus: 1, env: { TF_CPP_MIN_LOG_LEVEL: '2' } },
      jobs: [
        { name: 'wider', args: ['wider', '--preset', 'paper'] },
        { name: 'prep', command: ['bash', '-c', 'echo hi'], gpus: 0, env: { A: 'b' } },
      ],
    }),
    'jobs.json',
  );
  assert.deepEqual(jobs[0], {
    name: 'wider',
    kind: 'experiment',
    argv: ['wider', '--preset', 'paper', '--backend', 'tensorflow-gpu'],
    gpus: 1,
    env: { TF_CPP_MIN_LOG_LEVEL: '2' },
    resumeArgs: ['--resume'],
  });
  assert.deepEqual(jobs[1], {
    name: 'prep',
    kind: 'command',
    argv: ['bash', '-c', 'echo hi'],
    gpus: 0,
    env: { TF_CPP_MIN_LOG_LEVEL: '2', A: 'b' },
    resumeArgs: [],
  });
  // A job's own option replaces the default's, value and all.
  assert.deepEqual(
    mergeDefaultArgs(
      ['wider', '--backend=wasm', '--steps', '5'],
      ['--backend', 'tensorflow-gpu', '--data', 'imagenet:/d', '--fast'],
    ),
    ['wider', '--backend=wasm', '--steps', '5', '--data', 'imagenet:/d', '--fast'],
  );
  const lines = parseJobsFile(
    '# overnight\n{"name":"a","args":["wider"]}\n\n{"name":"b","args":["deeper"],"gpus":2}\n',
    'jobs.jsonl',
  );
  assert.deepEqual(
    lines.map((job) => [job.name, job.argv, job.gpus]),
    [
      ['a', ['wider'], undefined],
      ['b', ['deeper'], 2],
    ],
  );
  const bad: [string, RegExp][] = [
    ['[{"name":"a","args":["wider"]},{"name":"a","args":["deeper"]}]', /"a" appears more than once/],
    ['[{"name":"a","args":["wider"],"command":["ls"]}]', /\("a"\): give exactly one of "args"/],
    ['[{"name":"../x","args":["wider"]}]', /name "\.\.\/x" must be letters/],
    ['[{"name":"a","args":["wider"],"gpu":1}]', /unknown field\(s\) gpu/],
    ['[{"name":"a","args":["wider"],"gpus":-1}]', /gpus must be a whole number/],
    ['{"jobs":[]}', /has no jobs/],
    ['{"name":"a"', /neither JSON .* nor JSON lines/],
  ];
  for (const [text, message] of bad) {
    assert.throws(() => parseJobsFile(text, 'jobs.json'), JobsFileError, text);
    assert.throws(() => parseJobsFile(text, 'jobs.json'), message, text);
  }
});

test('GPU detection: --gpus, then CUDA_VISIBLE_DEVICES, then nvidia-smi -L, then none', () => {
  const noSmi = () => null;
  assert.deepEqual(detectGpus('0,2', { CUDA_VISIBLE_DEVICES: '1' }, noSmi).ids, ['0', '2']);
  assert.deepEqual(detectGpus('none', { CUDA_VISIBLE_DEVICES: '1' }, noSmi).ids, []);
  assert.throws(() => detectGpus('0,0', {}, noSmi), /names a GPU twice/);
  assert.throws(() => detectGpus('first', {}, noSmi), /--gpus first/);
  assert.deepEqual(detectGpus(undefined, { CUDA_VISIBLE_DEVICES: '3,1' }, noSmi).ids, ['3', '1']);
  assert.deepEqual(detectGpus(undefined, { CUDA_VISIBLE_DEVICES: '' }, () => ['0']).ids, []);
  const smi = 'GPU 0: NVIDIA A100-SXM4-40GB (UUID: GPU-aaaa)\nGPU 1: NVIDIA A100-SXM4-40GB (UUID: GPU-bbbb)\n';
  assert.deepEqual(parseNvidiaSmiList(smi), ['0', '1']);
  assert.deepEqual(detectGpus(undefined, {}, () => parseNvidiaSmiList(smi)).ids, ['0', '1']);
  assert.deepEqual(detectGpus(undefined, {}, noSmi).ids, []);
});

test('--emit slurm: a job-array script that passes bash -n and runs the same command lines', () => {
  const ws = workspace();
  const tricky = `it's "quoted" $HOME \`x\` a b`;
  const jobs: BatchJob[] = [
    {
      name: 'wider',
      kind: 'experiment',
      argv: ['wider', '--preset', 'paper'],
      gpus: undefined,
      env: {},
      resumeArgs: ['--resume'],
    },
    { ...probeJob(ws, 'flaky', { exitCode: 3 }), env: { EXTRA: tricky } },
    { ...probeJob(ws, 'echo'), argv: [...probeJob(ws, 'echo').argv, tricky] },
  ];
  const scriptPath = join(ws.dir, 'batch.sbatch');
  const stateDir = join(ws.dir, 'slurm state');
  writeFileSync(scriptPath, slurmArrayScript(jobs, { workDir: ws.dir, stateDir, time: '1-00:00:00', maxParallel: 2 }));
  const script = readFileSync(scriptPath, 'utf8');
  assert.match(script, /^#SBATCH --array=0-2%2$/m);
  assert.match(script, /^#SBATCH --gres=gpu:1$/m);
  assert.match(script, /^#SBATCH --time=1-00:00:00$/m);
  assert.match(script, /node --import tsx src\/cli\/experiment\.ts wider --preset paper/);
  assert.match(script, /resume=\(--resume\)/);
  const syntax = spawnSync('bash', ['-n', scriptPath], { encoding: 'utf8' });
  assert.equal(syntax.status, 0, syntax.stderr);

  const runTask = (task: number) =>
    spawnSync('bash', [scriptPath], { encoding: 'utf8', env: { ...process.env, SLURM_ARRAY_TASK_ID: String(task) } });
  assert.equal(runTask(2).status, 0);
  const echoed = probeLines(join(stateDir, 'echo.log'))[0]!;
  assert.equal(echoed.argv.at(-1), tricky);
  // The flaky job fails, then a requeued task resumes it and marks it done; a third run skips it.
  assert.equal(runTask(1).status, 3);
  assert.equal(runTask(1).status, 0);
  const flaky = probeLines(join(stateDir, 'flaky.log'));
  assert.deepEqual(
    flaky.map((line) => line.argv.includes('--resumed')),
    [false, true],
  );
  assert.ok(existsSync(join(stateDir, 'flaky.done')));
  assert.equal(runTask(1).status, 0);
  assert.match(readFileSync(join(stateDir, 'flaky.log'), 'utf8'), /already done, skipped/);
  assert.equal(runTask(7).status, 2);
  assert.equal(shellQuote("a'b"), `'a'\\''b'`);
});

/** The arguments sbatch reads from an #SBATCH line: a port of _get_argument in Slurm's src/sbatch/opt.c. */
function sbatchArguments(line: string): string[] {
  const args: string[] = [];
  let i = 0;
  while (i < line.length) {
    while (i < line.length && /\s/.test(line[i]!)) i++;
    if (i >= line.length) break;
    let arg = '';
    let quote = '';
    let escape = false;
    while (i < line.length && (quote !== '' || !/\s/.test(line[i]!))) {
      const c = line[i++]!;
      if (escape) escape = false;
      else if (c === '\\') {
        escape = true;
        continue;
      } else if (quote !== '') {
        if (c === quote) {
          quote = '';
          continue;
        }
      } else if (c === '"' || c === "'") {
        quote = c;
        continue;
      }
      arg += c;
    }
    args.push(arg);
  }
  return args;
}

test('#SBATCH values survive sbatch parsing: spaces, quotes, backslashes; % is doubled in the output pattern', () => {
  const stateDir = `/scratch/my "odd" state\\dir it's 100%`;
  const jobName = `it's a "job"`;
  const script = slurmArrayScript(
    [{ name: 'a', kind: 'experiment', argv: ['wider'], gpus: 0, env: {}, resumeArgs: [] }],
    {
      workDir: '/w',
      stateDir,
      jobName,
      partition: 'gpu queue',
    },
  );
  const directive = (option: string) =>
    sbatchArguments(
      script
        .split('\n')
        .find((l) => l.startsWith(`#SBATCH --${option}=`))!
        .slice('#SBATCH'.length),
    );
  assert.deepEqual(directive('output'), [`--output=/scratch/my "odd" state\\dir it's 100%%/slurm-%A_%a.out`]);
  assert.deepEqual(directive('job-name'), [`--job-name=${jobName}`]);
  assert.deepEqual(directive('partition'), ['--partition=gpu queue']);
  assert.equal(sbatchValue('plain'), '"plain"');
});

test('npm run batch -- <jobs> --emit slurm --out <file> writes an executable script and exits 0', () => {
  const ws = workspace();
  const jobsFile = join(ws.dir, 'jobs.json');
  writeFileSync(
    jobsFile,
    JSON.stringify({
      defaults: { args: ['--backend', 'tensorflow-gpu'] },
      jobs: [
        { name: 'wider', args: ['wider', '--preset', 'paper'] },
        { name: 'deeper', args: ['deeper', '--preset', 'paper'] },
      ],
    }),
  );
  const out = join(ws.dir, 'net2net.sbatch');
  const cli = spawnSync(
    process.execPath,
    ['--import', 'tsx', 'src/cli/batch.ts', jobsFile, '--emit', 'slurm', '--out', out, '--state-dir', ws.state],
    { encoding: 'utf8' },
  );
  assert.equal(cli.status, 0, cli.stderr);
  assert.match(cli.stdout, /sbatch /);
  assert.ok((statSync(out).mode & 0o111) !== 0, 'the script is not executable');
  const script = readFileSync(out, 'utf8');
  assert.match(script, /^#SBATCH --array=0-1$/m);
  assert.match(script, /src\/cli\/experiment\.ts deeper --preset paper --backend tensorflow-gpu/);
  assert.equal(spawnSync('bash', ['-n', out]).status, 0);
  assert.ok(!existsSync(join(ws.state, 'state.json')), 'emitting a script must not start the batch');
});

test('the example jobs file parses, and its GPU experiments ask for --backend auto (torch on a GPU first)', () => {
  const jobs = parseJobsFile(readFileSync('experiments/jobs.example.json', 'utf8'), 'experiments/jobs.example.json');
  const gpuExperiments = jobs.filter((job) => job.kind === 'experiment' && (job.gpus ?? 0) > 0);
  assert.ok(gpuExperiments.length >= 3, 'the three paper experiments');
  for (const job of gpuExperiments) {
    const backend = job.argv[job.argv.indexOf('--backend') + 1];
    assert.equal(backend, 'auto', `${job.name}: tfjs-node-gpu needs CUDA 11.2; auto takes torch on a GPU first`);
  }
});
