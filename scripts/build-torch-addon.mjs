#!/usr/bin/env node
/**
 * Builds the native `torch` backend (native/torch-backend/*.cc) against a libtorch found on this machine, offline:
 * `LIBTORCH=<dir>` (the official C++ distribution), else the Python `torch` package (its bundled include/ and lib/),
 * else Debian/Ubuntu's libtorch-dev. Node-API headers come from the node-api-headers package or the local Node.
 *
 *   node scripts/build-torch-addon.mjs            build (exit 1 on failure)
 *   node scripts/build-torch-addon.mjs --install  as `npm install` runs it: never fails the install; without a
 *                                                 libtorch or a compiler it prints one line saying how to get torch
 *   node scripts/build-torch-addon.mjs --print-plan   what a build would use (libtorch, C++ standard, link flags),
 *                                                 as JSON, without building
 *
 * The C++ standard is C++17 unless the torch headers refuse it (newer torch releases need C++20): a one-line probe
 * compiles `#include <c10/core/Device.h>` under C++17 first. A pip-installed CUDA torch keeps cuDNN, cuBLAS and the
 * CUDA runtime in `site-packages/nvidia/<package>/lib`, which Python finds by preloading them and a Node process
 * would not: the addon gets those folders as its RPATH (DT_RPATH, which the dynamic loader also searches for
 * libtorch_cuda's own dependencies) and links the ones libtorch_cuda needs directly, so loading the addon loads them.
 *
 * Environment: LIBTORCH, CXX (compiler, default g++), NET2NET_TORCH_PYTHON (default python3),
 * NET2NET_TORCH_SYSTEM_PREFIX (default /usr; where libtorch-dev installs), NET2NET_TORCH_BUILD_DIR (output folder,
 * default native/build). Output: <build dir>/torch-backend.node and torch-backend.json (what it was built against).
 * The ops' argument structs are generated first from native/torch-backend/op-declarations.json into
 * <build dir>/generated/op-declarations.h (scripts/native-op-declarations.mjs).
 */
/* global process, console */
import { spawn, spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, readdirSync, readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { cppHeader, readOpDeclarations } from './native-op-declarations.mjs';

const root = resolve(dirname(fileURLToPath(import.meta.url)), '..');
const sourceDir = join(root, 'native', 'torch-backend');
const buildDir = resolve(process.env.NET2NET_TORCH_BUILD_DIR ?? join(root, 'native', 'build'));
const installMode = process.argv.includes('--install');
const printPlan = process.argv.includes('--print-plan');
const HOW_TO =
  'net2net: the native torch backend is not built (%s); everything runs on wasm. To enable it: ' +
  'apt-get install libtorch-dev g++ (Debian/Ubuntu), or install PyTorch (pip install torch), or set ' +
  'LIBTORCH=<libtorch dir>; then run `node scripts/build-torch-addon.mjs`.';

function run(command, args) {
  const result = spawnSync(command, args, { encoding: 'utf8' });
  return result.status === 0 ? result.stdout.trim() : null;
}

function libtorchFromDir(dir, origin) {
  const include = join(dir, 'include');
  const lib = join(dir, 'lib');
  if (!existsSync(join(include, 'ATen', 'ATen.h')) || !existsSync(join(lib, 'libtorch_cpu.so'))) return null;
  let abi = 1;
  const config = join(dir, 'share', 'cmake', 'Torch', 'TorchConfig.cmake');
  if (existsSync(config)) {
    const match = /_GLIBCXX_USE_CXX11_ABI=([01])/.exec(readFileSync(config, 'utf8'));
    if (match) abi = Number(match[1]);
  }
  return { origin, include: [include, join(include, 'torch', 'csrc', 'api', 'include')], lib, abi, version: null };
}

function libtorchFromPython() {
  const python = process.env.NET2NET_TORCH_PYTHON ?? 'python3';
  const probe =
    'import os, torch; print(os.path.dirname(torch.__file__)); print(int(torch._C._GLIBCXX_USE_CXX11_ABI)); ' +
    'print(torch.__version__)';
  const out = run(python, ['-c', probe]);
  if (out === null) return null;
  const [dir, abi, version] = out.split('\n');
  const found = libtorchFromDir(dir, `Python torch ${version} (${dir})`);
  return found && { ...found, abi: Number(abi), version };
}

function libtorchFromSystem() {
  const prefix = process.env.NET2NET_TORCH_SYSTEM_PREFIX ?? '/usr';
  const include = join(prefix, 'include');
  if (!existsSync(join(include, 'ATen', 'ATen.h'))) return null;
  const libRoot = join(prefix, 'lib');
  const candidates = [libRoot];
  if (existsSync(libRoot)) {
    for (const entry of readdirSync(libRoot)) if (/-linux-gnu/.test(entry)) candidates.push(join(libRoot, entry));
  }
  const lib = candidates.find((dir) => existsSync(join(dir, 'libtorch_cpu.so')));
  if (!lib) return null;
  const extra = join(include, 'torch', 'csrc', 'api', 'include');
  return { origin: `system libtorch (${include}, ${lib})`, include: [include, extra], lib, abi: 1, version: null };
}

function findLibtorch() {
  if (process.env.LIBTORCH) {
    const found = libtorchFromDir(resolve(process.env.LIBTORCH), `LIBTORCH=${process.env.LIBTORCH}`);
    if (!found) throw new Error(`LIBTORCH=${process.env.LIBTORCH} has no include/ATen/ATen.h and lib/libtorch_cpu.so`);
    return found;
  }
  return libtorchFromPython() ?? libtorchFromSystem();
}

function nodeApiInclude() {
  try {
    const pkg = createRequire(import.meta.url).resolve('node-api-headers/package.json');
    const dir = join(dirname(pkg), 'include');
    if (existsSync(join(dir, 'node_api.h'))) return dir;
  } catch {
    // fall through to the local Node's headers
  }
  const local = [join(dirname(process.execPath), '..', 'include', 'node'), '/usr/include/node'];
  return local.find((dir) => existsSync(join(dir, 'node_api.h'))) ?? null;
}

function compile(compiler, args) {
  return new Promise((resolveRun) => {
    const child = spawn(compiler, args, { stdio: ['ignore', 'inherit', 'pipe'] });
    let stderr = '';
    child.stderr.on('data', (chunk) => (stderr += chunk));
    child.on('error', (err) => resolveRun({ ok: false, stderr: String(err) }));
    child.on('close', (code) => resolveRun({ ok: code === 0, stderr }));
  });
}

/** Include flags for the torch headers (the compiler's default include dirs must not be repeated). */
function torchIncludeFlags(torch) {
  // #include_next in libstdc++ depends on the order of the default dirs.
  return torch.include
    .filter((dir) => existsSync(dir) && !['/usr/include', '/usr/local/include'].includes(dir))
    .flatMap((dir) => ['-isystem', dir]);
}

/** C++17, or C++20 where the torch headers refuse C++17 (a syntax-only probe of one header). */
function cxxStandard(compiler, torch) {
  const probe = ['-x', 'c++', '-fsyntax-only', `-D_GLIBCXX_USE_CXX11_ABI=${torch.abi}`, ...torchIncludeFlags(torch)];
  for (const std of ['c++17', 'c++20']) {
    const result = spawnSync(compiler, [...probe, `-std=${std}`, '-'], {
      input: '#include <c10/core/Device.h>\n',
      encoding: 'utf8',
    });
    if (result.status === 0) return std;
  }
  return 'c++20';
}

/** The shared libraries `file` needs (its DT_NEEDED entries, from readelf), or [] when they cannot be read. */
function neededLibraries(file) {
  const out = run('readelf', ['-d', file]);
  if (out === null) return [];
  return [...out.matchAll(/\(NEEDED\)\s+Shared library: \[([^\]]+)\]/g)].map((m) => m[1]);
}

/**
 * A pip wheel's NVIDIA library folders (`<site-packages>/nvidia/<package>/lib`, beside the torch package) and the
 * libraries in them that libtorch_cuda and libc10_cuda need.
 */
function wheelNvidiaLibraries(torch) {
  const nvidia = join(dirname(dirname(torch.lib)), 'nvidia');
  if (!existsSync(nvidia)) return { dirs: [], libs: [] };
  const dirs = readdirSync(nvidia)
    .map((name) => join(nvidia, name, 'lib'))
    .filter((dir) => existsSync(dir))
    .map((dir) => resolve(dir))
    .sort();
  const needed = new Set(
    ['libtorch_cuda.so', 'libc10_cuda.so'].flatMap((name) => neededLibraries(join(torch.lib, name))),
  );
  const libs = dirs.flatMap((dir) =>
    readdirSync(dir)
      .filter((name) => needed.has(name))
      .map((name) => join(dir, name)),
  );
  return { dirs, libs };
}

/**
 * The include folders under which libtorch's CUDA graph header compiles (it includes the CUDA runtime's headers,
 * which a pip wheel keeps in `nvidia/<package>/include` and a toolkit in `$CUDA_HOME/include`, `$CUDA_PATH/include` or,
 * with neither set, /usr/local/cuda/include), or null: the addon
 * is then built without CUDA graphs (native/torch-backend/cuda-graph.cc).
 */
function cudaGraphIncludes(compiler, torch, std) {
  const nvidia = join(dirname(dirname(torch.lib)), 'nvidia');
  const wheel = existsSync(nvidia)
    ? readdirSync(nvidia)
        .map((name) => join(nvidia, name, 'include'))
        .filter((dir) => existsSync(dir))
    : [];
  const named = [process.env.CUDA_HOME, process.env.CUDA_PATH].filter(Boolean);
  const toolkit = (named.length > 0 ? named : ['/usr/local/cuda']).map((dir) => join(dir, 'include'));
  const dirs = [...wheel, ...toolkit].filter((dir) => existsSync(dir));
  const probe = spawnSync(
    compiler,
    ['-x', 'c++', '-fsyntax-only', `-std=${std}`, `-D_GLIBCXX_USE_CXX11_ABI=${torch.abi}`, ...torchIncludeFlags(torch)]
      .concat(dirs.flatMap((dir) => ['-isystem', dir]))
      .concat(['-']),
    { input: '#include <ATen/cuda/CUDAGraph.h>\n', encoding: 'utf8' },
  );
  return probe.status === 0 ? dirs : null;
}

/**
 * The shared oneDNN libtorch_cpu links (Debian's libtorch does; a pip wheel carries oneDNN inside libtorch_cpu), when
 * its headers compile here too: the addon then runs convolutions as oneDNN primitives of its own
 * (native/torch-backend/onednn-conv.cc, which also checks at load that the loaded library is the headers' version).
 * Null otherwise.
 */
function sharedOneDnn(compiler, torch, std) {
  const library = neededLibraries(join(torch.lib, 'libtorch_cpu.so')).find((name) => /^libdnnl\.so/.test(name));
  if (!library) return null;
  const probe = spawnSync(compiler, ['-x', 'c++', '-fsyntax-only', `-std=${std}`, '-'], {
    input: '#include <oneapi/dnnl/dnnl.hpp>\n',
    encoding: 'utf8',
  });
  return probe.status === 0 ? library : null;
}

/** What a build against `torch` compiles and links with. */
function buildPlan(compiler, torch, napi) {
  const cuda = ['libtorch_cuda.so', 'libc10_cuda.so'].every((name) => existsSync(join(torch.lib, name)));
  const std = cxxStandard(compiler, torch);
  const cudaGraphs = cuda ? cudaGraphIncludes(compiler, torch, std) : null;
  const oneDnn = sharedOneDnn(compiler, torch, std);
  const nvidia = cuda ? wheelNvidiaLibraries(torch) : { dirs: [], libs: [] };
  const rpaths = [torch.lib, ...nvidia.dirs];
  const link = [
    `-L${torch.lib}`,
    '-Wl,--disable-new-dtags',
    ...rpaths.map((dir) => `-Wl,-rpath,${dir}`),
    '-Wl,--no-as-needed',
    '-ltorch_cpu',
    '-lc10',
    ...(cuda ? ['-ltorch_cuda', '-lc10_cuda'] : []),
    ...(oneDnn ? [`-l:${oneDnn}`] : []),
    ...nvidia.libs,
  ];
  const { origin: libtorch, version, abi } = torch;
  return { libtorch, version, abi, cuda, cudaGraphs, oneDnn, std, napi, rpaths, link };
}

/** The compiler flags every source file gets. */
function compileFlags(plan, torch, generatedDir) {
  return [
    '-O3',
    '-fPIC',
    `-std=${plan.std}`,
    `-D_GLIBCXX_USE_CXX11_ABI=${torch.abi}`,
    '-DNAPI_VERSION=8',
    '-DNODE_GYP_MODULE_NAME=torch_backend',
    `-I${plan.napi}`,
    `-I${sourceDir}`,
    `-I${generatedDir}`,
    ...torchIncludeFlags(torch),
    ...(plan.cudaGraphs ? ['-DN2N_CUDA_GRAPHS=1', ...plan.cudaGraphs.flatMap((dir) => ['-isystem', dir])] : []),
    ...(plan.oneDnn ? ['-DN2N_ONEDNN=1'] : []),
  ];
}

/**
 * The parts of the addon that are never worth a failed build, by source file: each compiles again without the part
 * when it does not compile with it (the part then reports itself off at run). Built against headers that no machine
 * here has (a pip wheel's libtorch 2.x, CUDA's runtime), they are where a build elsewhere would break.
 */
const OPTIONAL_PARTS = {
  'cuda-graph.cc': { what: 'CUDA graphs', withoutIt: (flags) => flags.filter((f) => f !== '-DN2N_CUDA_GRAPHS=1') },
  'onednn-conv.cc': { what: 'oneDNN primitives', withoutIt: (flags) => flags.filter((f) => f !== '-DN2N_ONEDNN=1') },
  'cpu-block-cache.cc': { what: 'the CPU block cache', withoutIt: (flags) => [...flags, '-DN2N_NO_CPU_BLOCK_CACHE=1'] },
};

/** Compiles every source into `objectOf(name)`; returns the first failure (or null) and the optional parts left out. */
async function compileSources(compiler, common, sources, objectOf) {
  const compileOne = (name, flags) => compile(compiler, [...flags, '-c', join(sourceDir, name), '-o', objectOf(name)]);
  const results = await Promise.all(sources.map((name) => compileOne(name, common)));
  const leftOut = [];
  for (const [index, name] of sources.entries()) {
    const part = OPTIONAL_PARTS[name];
    const without = part?.withoutIt(common);
    if (results[index].ok || !part || without.join(' ') === common.join(' ')) continue;
    const error = results[index].stderr.split('\n').slice(0, 10).join('\n');
    console.log(`net2net: ${name} is built without ${part.what}, which did not compile here:\n${error}`);
    results[index] = await compileOne(name, without);
    leftOut.push(name);
  }
  return { failed: results.find((r) => !r.ok) ?? null, leftOut };
}

/** torch-backend.json beside the addon: what it was built against, written atomically. */
function writeBuildInfo(info) {
  const infoFile = join(buildDir, 'torch-backend.json');
  writeFileSync(`${infoFile}.${process.pid}.tmp`, `${JSON.stringify(info, null, 2)}\n`);
  renameSync(`${infoFile}.${process.pid}.tmp`, infoFile);
}

async function build() {
  const compiler = process.env.CXX ?? 'g++';
  if (run(compiler, ['--version']) === null) return { skipped: `no C++ compiler '${compiler}'` };
  const torch = findLibtorch();
  if (!torch) return { skipped: 'no libtorch found' };
  const napi = nodeApiInclude();
  if (!napi) return { skipped: 'no Node-API headers (node-api-headers package or the Node install)' };

  const plan = buildPlan(compiler, torch, napi);
  if (printPlan) {
    console.log(JSON.stringify(plan, null, 2));
    return { planned: true };
  }
  const { cuda } = plan;
  const generatedDir = join(buildDir, 'generated');
  mkdirSync(generatedDir, { recursive: true });
  writeFileSync(join(generatedDir, 'op-declarations.h'), cppHeader(readOpDeclarations()));
  const objectDir = join(buildDir, 'obj');
  mkdirSync(objectDir, { recursive: true });
  const sources = readdirSync(sourceDir).filter((name) => name.endsWith('.cc'));
  const withCuda = cuda
    ? ` with CUDA${plan.cudaGraphs ? ' and CUDA graphs' : ', without CUDA graphs (no CUDA runtime headers)'}`
    : '';
  const withOneDnn = plan.oneDnn ? `, oneDNN primitives from ${plan.oneDnn}` : '';
  console.log(`net2net: building the torch backend against ${torch.origin}${withCuda}${withOneDnn} (${plan.std})`);
  const started = Date.now();
  const objectOf = (name) => join(objectDir, name.replace(/\.cc$/, '.o'));
  const compiled = await compileSources(compiler, compileFlags(plan, torch, generatedDir), sources, objectOf);
  if (compiled.failed) {
    return { failed: `compile error:\n${compiled.failed.stderr.split('\n').slice(0, 30).join('\n')}` };
  }

  const output = join(buildDir, 'torch-backend.node');
  const partial = `${output}.${process.pid}.tmp`;
  const link = await compile(compiler, ['-shared', ...sources.map(objectOf), '-o', partial, ...plan.link]);
  if (!link.ok) return { failed: `link error:\n${link.stderr.split('\n').slice(0, 30).join('\n')}` };
  renameSync(partial, output);
  writeBuildInfo({
    libtorch: torch.origin,
    version: torch.version,
    cuda,
    cudaGraphs: Boolean(plan.cudaGraphs) && !compiled.leftOut.includes('cuda-graph.cc'),
    oneDnn: compiled.leftOut.includes('onednn-conv.cc') ? null : plan.oneDnn,
    cpuBlockCache: !compiled.leftOut.includes('cpu-block-cache.cc'),
    abi: torch.abi,
    std: plan.std,
    rpaths: plan.rpaths,
    builtAt: new Date().toISOString(),
  });
  rmSync(objectDir, { recursive: true, force: true });
  console.log(`net2net: built ${output} in ${((Date.now() - started) / 1000).toFixed(0)} s`);
  return { built: output };
}

let outcome;
try {
  outcome = await build();
} catch (err) {
  outcome = { failed: String(err instanceof Error ? err.message : err) };
}
if (outcome.skipped) {
  console.log(HOW_TO.replace('%s', outcome.skipped));
} else if (outcome.failed) {
  console.error(`net2net: building the torch backend failed: ${outcome.failed}`);
  if (installMode) console.log(HOW_TO.replace('%s', 'the build failed, see above'));
  else process.exitCode = 1;
}
