// Step capture. While a capture is open, every op call, upload (fromArray) and release of the step is recorded with
// value numbers instead of table ids: each tensor the step makes gets a new value, and a tensor made before the step
// (an external) gets one at its first use, so that table ids reused within the step cannot be confused.
//
// captureEnd classifies the externals with what JavaScript says about the step: its inputs (the batch), every
// variable's id before and after it, and its outputs (loss, metrics). It refuses a step that cannot be replayed: a
// value read back during the step, an external freed that is not a variable's old value, a tensor made by the step
// that outlives it and is neither a variable's new value nor an output.
//
// replay runs the same op functions on the same stored arguments (so a replayed step computes what the recorded one
// did, bit for bit, given the same inputs), binding the new inputs and substituting the learning rate. A variable
// keeps its table id: its new tensor is put into its slot at the end of the step, so JavaScript's variables need no
// update. Intermediates are released where the recorded step released them; constants (externals that are neither
// inputs nor variables) are held by the program.
//
// A CUDA graph replays kernels on the memory they were captured with, so on CUDA a program runs as a static step:
// the batch is copied into buffers of the program, each variable's tensor is adopted as its fixed buffer (copied
// into, and put back in its slot, when a normal step replaced it), the step writes each variable's new value into
// that buffer at its end, and its outputs stay allocated. Such a step is captured once per learning rate (the rate
// is an argument baked into the graph; the schedules change it every few epochs) and replayed as one graph launch.
// setStaticReplay(true) runs the static step op by op on any device, so the CPU tests its bookkeeping.
#include "step-capture.h"

#include <chrono>
#include <map>
#include <memory>
#include <stdexcept>
#include <string>
#include <unordered_map>
#include <unordered_set>

#include "cuda-graph.h"
#include "device-control.h"
#include "napi-call.h"
#include "precision.h"

namespace n2n {

namespace {

enum class ArgKind { kTensor, kOptionalTensor, kTensors, kTensorId, kInt, kNumber, kFlag, kInts, kText, kDtype };

struct OpArguments {
  std::vector<ArgKind> kinds;
  std::vector<std::string> names;
};

ArgKind argKind(const std::string& kind, const char* op) {
  static const std::unordered_map<std::string, ArgKind> byName = {
      {"tensor", ArgKind::kTensor}, {"tensor?", ArgKind::kOptionalTensor}, {"tensors", ArgKind::kTensors},
      {"tensorId", ArgKind::kTensorId}, {"int", ArgKind::kInt}, {"number", ArgKind::kNumber},
      {"flag", ArgKind::kFlag}, {"ints", ArgKind::kInts}, {"text", ArgKind::kText},
      {"dtype", ArgKind::kDtype}};
  auto found = byName.find(kind);
  if (found == byName.end()) throw std::runtime_error(std::string("op '") + op + "': unknown argument kind " + kind);
  return found->second;
}

// The declared arguments of op `index`, parsed once from its signature `name(argument: kind, ...)`.
const OpArguments& argumentsOf(size_t index) {
  static std::vector<std::unique_ptr<OpArguments>> parsed(opTable().size());
  auto& slot = parsed.at(index);
  if (slot) return *slot;
  const OpEntry& op = opTable()[index];
  std::string signature = op.signature;
  auto open = signature.find('(');
  auto close = signature.rfind(')');
  auto result = std::make_unique<OpArguments>();
  std::string list = signature.substr(open + 1, close - open - 1);
  size_t pos = 0;
  while (pos < list.size()) {
    size_t end = list.find(", ", pos);
    if (end == std::string::npos) end = list.size();
    std::string item = list.substr(pos, end - pos);
    size_t colon = item.find(": ");
    result->names.push_back(item.substr(0, colon));
    result->kinds.push_back(argKind(item.substr(colon + 2), op.name));
    pos = end + 2;
  }
  if (result->kinds.size() != op.arity) throw std::runtime_error(std::string("op '") + op.name + "': bad signature");
  slot = std::move(result);
  return *slot;
}

bool isTensorKind(ArgKind kind) {
  return kind == ArgKind::kTensor || kind == ArgKind::kOptionalTensor || kind == ArgKind::kTensorId ||
         kind == ArgKind::kTensors;
}

// One recorded instruction.
struct Instruction {
  enum class Kind { kOp, kUpload, kRelease };
  Kind kind = Kind::kOp;
  size_t op = 0;
  // kOp: the stored arguments, tensor arguments holding value numbers.
  std::vector<ArgValue> args;
  // kOp: the values of its outputs; kUpload: the value it makes.
  std::vector<int32_t> outputs;
  // kOp: the index of its learningRate argument (substituted at replay), or -1.
  int32_t learningRateArg = -1;
  // kUpload: the uploaded tensor.
  at::Tensor constant;
  // kRelease: the value released.
  int32_t value = -1;
};

enum class Role { kMade, kInput, kState, kConstant };

struct Value {
  Role role = Role::kMade;
  // kInput / kState: the index among the inputs / variables JavaScript passes to replay.
  int32_t index = -1;
  // Externals: the tensor at capture (kept for constants, dropped for inputs and variables).
  at::Tensor held;
  int32_t capturedId = -1;
  bool released = false;
};

struct StaticStep;

struct Program {
  std::vector<Instruction> instructions;
  std::vector<Value> values;
  // Per input: its value (or -1 when the step never used it), shape and dtype.
  std::vector<int32_t> inputValues;
  std::vector<std::vector<int64_t>> inputShapes;
  std::vector<at::ScalarType> inputDtypes;
  // Per variable: the value of its old tensor (or -1) and of its new tensor (or -1: the step does not change it).
  std::vector<int32_t> stateBefore;
  std::vector<int32_t> stateAfter;
  std::vector<std::vector<int64_t>> stateShapes;
  std::vector<int32_t> outputs;
  // Table ids holding the constants while the program lives.
  std::vector<int32_t> pinned;
  size_t opCalls = 0;
  size_t uploads = 0;
  size_t releases = 0;
  // Fixed buffers and graph, made at the first static replay.
  std::shared_ptr<StaticStep> fixed;
};

// A program's fixed buffers (undefined where the step does not use the input or variable) and its CUDA graph.
struct StaticStep {
  std::vector<at::Tensor> inputs;
  std::vector<at::Tensor> state;
  std::vector<at::Tensor> outputs;
  std::unique_ptr<StepGraph> graph;
  double graphLearningRate = 0;
  // Why no graph is used ("" while none was tried or one is in use).
  std::string graphRefused;
  size_t graphReplays = 0;
};

bool staticReplayForced = false;

struct Recorder {
  Program program;
  std::unordered_map<int32_t, int32_t> valueOf;
  std::string refused;
};

std::unique_ptr<Recorder> recorder;
std::vector<std::unique_ptr<Program>> programs;

// Per op name: time spent in replayed calls and their count, while profiling is on (replayProfile(true)).
struct OpTime {
  double ms = 0;
  int64_t calls = 0;
};
bool profiling = false;
std::map<std::string, OpTime> replayTimes;

int32_t newValue(Program& program, Value value) {
  program.values.push_back(std::move(value));
  return static_cast<int32_t>(program.values.size() - 1);
}

// The value of a live table id, an external made at its first use.
int32_t use(int32_t id) {
  auto found = recorder->valueOf.find(id);
  if (found != recorder->valueOf.end()) return found->second;
  Value external;
  external.role = Role::kConstant;
  external.held = get(id);
  external.capturedId = id;
  int32_t value = newValue(recorder->program, std::move(external));
  recorder->valueOf[id] = value;
  return value;
}

int32_t made(int32_t id) {
  int32_t value = newValue(recorder->program, Value{});
  recorder->valueOf[id] = value;
  return value;
}

std::string shapeText(at::IntArrayRef sizes) {
  std::string text = "[";
  for (size_t i = 0; i < sizes.size(); i++) text += (i ? "," : "") + std::to_string(sizes[i]);
  return text + "]";
}

std::vector<int32_t> idList(napi_env env, napi_value array, const char* name) {
  std::vector<int32_t> ids;
  uint32_t length;
  if (napi_get_array_length(env, array, &length) != napi_ok) {
    throw std::runtime_error(std::string(name) + " must be an array of tensor ids");
  }
  for (uint32_t k = 0; k < length; k++) {
    napi_value element;
    int32_t id;
    N2N_CHECK(napi_get_element(env, array, k, &element));
    if (napi_get_value_int32(env, element, &id) != napi_ok) {
      throw std::runtime_error(std::string(name) + " must be an array of tensor ids");
    }
    ids.push_back(id);
  }
  return ids;
}

napi_value number(napi_env env, double value) { return numberValue(env, value); }

Program& program(napi_env env, napi_value handle) {
  int32_t index;
  N2N_CHECK(napi_get_value_int32(env, handle, &index));
  if (index < 0 || static_cast<size_t>(index) >= programs.size() || !programs[index]) {
    throw std::runtime_error("no captured step with handle " + std::to_string(index));
  }
  return *programs[index];
}

// ---- closing a capture: classify the externals, refuse what cannot be replayed ----

using ValueOf = std::unordered_map<int32_t, int32_t>;

// Marks the externals that are the step's inputs (a batch the step frees cannot be rebound).
std::string classifyInputs(Program& p, const ValueOf& externalOf, const std::vector<int32_t>& inputIds) {
  for (size_t k = 0; k < inputIds.size(); k++) {
    auto found = externalOf.find(inputIds[k]);
    int32_t v = found == externalOf.end() ? -1 : found->second;
    p.inputValues.push_back(v);
    if (v < 0) {
      p.inputShapes.emplace_back();
      p.inputDtypes.push_back(at::kFloat);
      continue;
    }
    Value& value = p.values[v];
    if (value.released) return "the step freed its input " + std::to_string(k);
    value.role = Role::kInput;
    value.index = static_cast<int32_t>(k);
    p.inputShapes.push_back(value.held.sizes().vec());
    p.inputDtypes.push_back(value.held.scalar_type());
  }
  return "";
}

// Marks each variable's old tensor (an external) and finds its new one (made by the step); `newValues` gets the
// values holding new variable tensors.
std::string classifyVariables(Program& p, const ValueOf& externalOf, const ValueOf& live,
                              const std::vector<int32_t>& before, const std::vector<int32_t>& after,
                              std::unordered_set<int32_t>& newValues) {
  for (size_t k = 0; k < before.size(); k++) {
    auto found = externalOf.find(before[k]);
    int32_t v = found == externalOf.end() ? -1 : found->second;
    int32_t newValue = -1;
    if (after[k] != before[k]) {
      auto made = live.find(after[k]);
      if (made == live.end() || p.values[made->second].role != Role::kMade) {
        return "variable " + std::to_string(k) + " holds a tensor after the step that the step did not make";
      }
      newValue = made->second;
      newValues.insert(newValue);
    } else if (v >= 0 && p.values[v].released) {
      return "the step freed variable " + std::to_string(k) + "'s tensor and kept it";
    }
    p.stateBefore.push_back(v);
    p.stateAfter.push_back(newValue);
    if (v < 0) {
      p.stateShapes.emplace_back();
      continue;
    }
    if (p.values[v].role == Role::kInput) return "variable " + std::to_string(k) + " is also an input";
    if (p.values[v].role == Role::kState) return "variable " + std::to_string(k) + " shares its tensor with another";
    p.values[v].role = Role::kState;
    p.values[v].index = static_cast<int32_t>(k);
    p.stateShapes.push_back(p.values[v].held.sizes().vec());
  }
  return "";
}

// Finds the outputs, then refuses a freed constant or a tensor of the step that outlives it unaccounted for.
std::string classifyOutputs(Program& p, const ValueOf& live, const std::vector<int32_t>& outputIds,
                            const std::unordered_set<int32_t>& newValues) {
  std::unordered_set<int32_t> outputs;
  for (int32_t id : outputIds) {
    auto found = live.find(id);
    if (found == live.end() || p.values[found->second].role != Role::kMade) {
      return "output tensor " + std::to_string(id) + " was not made by the step";
    }
    if (newValues.count(found->second)) return "an output is also a variable's new tensor";
    p.outputs.push_back(found->second);
    outputs.insert(found->second);
  }
  for (const Value& value : p.values) {
    if (value.role == Role::kConstant && value.released) {
      return "the step freed tensor " + std::to_string(value.capturedId) +
             ", made before it, that is no variable's old tensor";
    }
  }
  size_t outliving = 0;
  for (const auto& [id, v] : live) {
    if (p.values[v].role == Role::kMade && !outputs.count(v) && !newValues.count(v)) outliving++;
  }
  if (outliving > 0) {
    return std::to_string(outliving) + " tensor(s) the step made outlive it, neither outputs nor variables";
  }
  return "";
}

// The values an op call reads (its tensor arguments, side-data ids included).
std::vector<int32_t> valuesRead(const Instruction& instruction) {
  const auto& declared = argumentsOf(instruction.op);
  std::vector<int32_t> read;
  for (size_t i = 0; i < instruction.args.size(); i++) {
    const ArgValue& arg = instruction.args[i];
    switch (declared.kinds[i]) {
      case ArgKind::kTensor:
      case ArgKind::kTensorId:
        read.push_back(static_cast<int32_t>(arg.integer));
        break;
      case ArgKind::kOptionalTensor:
        if (arg.integer >= 0) read.push_back(static_cast<int32_t>(arg.integer));
        break;
      case ArgKind::kTensors:
        for (int64_t v : arg.integers) read.push_back(static_cast<int32_t>(v));
        break;
      default:
        break;
    }
  }
  return read;
}

// Drops the op calls (and uploads) whose results nothing reads: no later op, no output, no variable's new value.
// TensorFlow.js computes some gradients nobody asked for (a fused convolution's gradient function returns the
// input's gradient too, for the network's first layer the gradient of the batch), and its tape releases them
// unread. Every op of the table returns new tensors and changes none of its arguments, so dropping a call whose
// outputs are all unread changes nothing else; a call without outputs is kept.
void dropUnreadOps(Program& p) {
  std::vector<bool> read(p.values.size(), false), dropped(p.values.size(), false);
  for (int32_t v : p.outputs) read[v] = true;
  for (int32_t v : p.stateAfter) {
    if (v >= 0) read[v] = true;
  }
  std::vector<bool> keep(p.instructions.size(), true);
  for (size_t i = p.instructions.size(); i-- > 0;) {
    const Instruction& instruction = p.instructions[i];
    if (instruction.kind == Instruction::Kind::kRelease) continue;
    bool used = instruction.outputs.empty();
    for (int32_t v : instruction.outputs) used = used || read[v];
    if (!used) {
      keep[i] = false;
      for (int32_t v : instruction.outputs) dropped[v] = true;
      if (instruction.kind == Instruction::Kind::kOp) p.opCalls--;
      if (instruction.kind == Instruction::Kind::kUpload) p.uploads--;
      continue;
    }
    if (instruction.kind == Instruction::Kind::kOp) {
      for (int32_t v : valuesRead(instruction)) read[v] = true;
    }
  }
  std::vector<Instruction> kept;
  kept.reserve(p.instructions.size());
  for (size_t i = 0; i < p.instructions.size(); i++) {
    Instruction& instruction = p.instructions[i];
    bool releasesDropped = instruction.kind == Instruction::Kind::kRelease && dropped[instruction.value];
    if (keep[i] && !releasesDropped) kept.push_back(std::move(instruction));
  }
  p.instructions = std::move(kept);
}

// Classifies the recorded values with what JavaScript says of the step; returns why it cannot be replayed, or "".
// A replayable program then holds its constants under table ids of its own and drops the other externals' tensors.
std::string finish(Program& p, const ValueOf& live, const std::vector<int32_t>& inputIds,
                   const std::vector<int32_t>& before, const std::vector<int32_t>& after,
                   const std::vector<int32_t>& outputIds) {
  ValueOf externalOf;
  for (size_t v = 0; v < p.values.size(); v++) {
    if (p.values[v].role != Role::kMade) externalOf[p.values[v].capturedId] = static_cast<int32_t>(v);
  }
  std::unordered_set<int32_t> newValues;
  std::string refused = classifyInputs(p, externalOf, inputIds);
  if (refused.empty()) refused = classifyVariables(p, externalOf, live, before, after, newValues);
  if (refused.empty()) refused = classifyOutputs(p, live, outputIds, newValues);
  if (!refused.empty()) return refused;
  dropUnreadOps(p);
  for (auto& value : p.values) {
    if (value.role == Role::kConstant) {
      value.index = static_cast<int32_t>(p.pinned.size());
      p.pinned.push_back(put(value.held));
    }
    value.held = at::Tensor();
  }
  return "";
}

napi_value CaptureBegin(napi_env env, napi_callback_info) {
  return guarded(env, [&]() -> napi_value {
    if (recorder) throw std::runtime_error("a step capture is already open");
    recorder = std::make_unique<Recorder>();
    return nullptr;
  });
}

napi_value CaptureAbort(napi_env env, napi_callback_info) {
  return guarded(env, [&]() -> napi_value {
    recorder.reset();
    return nullptr;
  });
}

// captureEnd(inputIds, variableIdsBefore, variableIdsAfter, outputIds) -> { handle, ops } or { refused: reason }.
napi_value CaptureEnd(napi_env env, napi_callback_info info) {
  return guarded(env, [&]() -> napi_value {
    if (!recorder) throw std::runtime_error("no step capture is open");
    std::unique_ptr<Recorder> closed = std::move(recorder);
    auto args = callArgs(env, info, 4);
    if (args.size() != 4) throw std::runtime_error("captureEnd takes 4 arguments");
    auto inputs = idList(env, args[0], "inputIds");
    auto before = idList(env, args[1], "variableIdsBefore");
    auto after = idList(env, args[2], "variableIdsAfter");
    auto outputs = idList(env, args[3], "outputIds");
    if (before.size() != after.size()) throw std::runtime_error("variable id lists differ in length");
    napi_value result;
    N2N_CHECK(napi_create_object(env, &result));
    std::string refused = closed->refused;
    auto program = std::make_unique<Program>(std::move(closed->program));
    if (refused.empty()) refused = finish(*program, closed->valueOf, inputs, before, after, outputs);
    if (!refused.empty()) {
      for (int32_t id : program->pinned) release(id);
      napi_value reason;
      N2N_CHECK(napi_create_string_utf8(env, refused.c_str(), NAPI_AUTO_LENGTH, &reason));
      N2N_CHECK(napi_set_named_property(env, result, "refused", reason));
      return result;
    }
    N2N_CHECK(napi_set_named_property(env, result, "ops", number(env, static_cast<double>(program->opCalls))));
    N2N_CHECK(napi_set_named_property(env, result, "uploads", number(env, static_cast<double>(program->uploads))));
    N2N_CHECK(napi_set_named_property(env, result, "constants",
                                      number(env, static_cast<double>(program->pinned.size()))));
    programs.push_back(std::move(program));
    N2N_CHECK(napi_set_named_property(env, result, "handle", number(env, static_cast<double>(programs.size() - 1))));
    return result;
  });
}

// ---- replay ----

void runInstruction(const Instruction& instruction, std::vector<int32_t>& live, std::vector<ArgValue>& scratch,
                    double learningRate) {
  const auto& declared = argumentsOf(instruction.op);
  scratch = instruction.args;
  auto idOf = [&](int64_t value) -> int64_t {
    int32_t id = live[static_cast<size_t>(value)];
    if (id < 0) throw std::runtime_error("replay: value " + std::to_string(value) + " is not live");
    return id;
  };
  for (size_t i = 0; i < scratch.size(); i++) {
    switch (declared.kinds[i]) {
      case ArgKind::kTensor:
      case ArgKind::kTensorId:
        scratch[i].integer = idOf(scratch[i].integer);
        break;
      case ArgKind::kOptionalTensor:
        if (scratch[i].integer >= 0) scratch[i].integer = idOf(scratch[i].integer);
        break;
      case ArgKind::kTensors:
        for (auto& v : scratch[i].integers) v = idOf(v);
        break;
      default:
        break;
    }
  }
  if (instruction.learningRateArg >= 0) scratch[instruction.learningRateArg].number = learningRate;
  const OpEntry& op = opTable()[instruction.op];
  Args args(&scratch);
  Result result;
  auto started = profiling ? std::chrono::steady_clock::now() : std::chrono::steady_clock::time_point();
  try {
    op.run(args, result);
    if (profiling) {
      synchronizeDevice();
      OpTime& time = replayTimes[op.name];
      time.ms += std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - started).count();
      time.calls++;
    }
  } catch (const std::exception& error) {
    throw std::runtime_error(std::string("op '") + op.name + "': " + describe(error));
  }
  if (result.outputs.size() != instruction.outputs.size()) {
    throw std::runtime_error(std::string("replay: op '") + op.name + "' made " +
                             std::to_string(result.outputs.size()) + " outputs, the captured call " +
                             std::to_string(instruction.outputs.size()));
  }
  for (size_t j = 0; j < result.outputs.size(); j++) {
    live[instruction.outputs[j]] = put(std::move(result.outputs[j]));
  }
  if (result.aux.defined() && !instruction.outputs.empty()) attach(live[instruction.outputs[0]], result.aux);
}

// The table ids a replay starts from, per value: the new inputs, the variables' current tensors (shapes checked
// against the captured ones), the program's constants; -1 for what the step makes.
std::vector<int32_t> bindValues(const Program& p, const std::vector<int32_t>& inputs,
                                const std::vector<int32_t>& variables) {
  if (inputs.size() != p.inputValues.size() || variables.size() != p.stateBefore.size()) {
    throw std::runtime_error("replay: the captured step has " + std::to_string(p.inputValues.size()) + " inputs and " +
                             std::to_string(p.stateBefore.size()) + " variables, got " +
                             std::to_string(inputs.size()) + " and " + std::to_string(variables.size()));
  }
  std::vector<int32_t> live(p.values.size(), -1);
  for (size_t k = 0; k < inputs.size(); k++) {
    int32_t v = p.inputValues[k];
    if (v < 0) continue;
    const at::Tensor& input = get(inputs[k]);
    if (input.sizes() != at::IntArrayRef(p.inputShapes[k]) || input.scalar_type() != p.inputDtypes[k]) {
      throw std::runtime_error("replay: input " + std::to_string(k) + " has shape " + shapeText(input.sizes()) +
                               ", the captured step's " + shapeText(p.inputShapes[k]));
    }
    live[v] = inputs[k];
  }
  for (size_t k = 0; k < variables.size(); k++) {
    int32_t v = p.stateBefore[k];
    if (v < 0) continue;
    if (get(variables[k]).sizes() != at::IntArrayRef(p.stateShapes[k])) {
      throw std::runtime_error("replay: variable " + std::to_string(k) + " has shape " +
                               shapeText(get(variables[k]).sizes()) + ", the captured step's " +
                               shapeText(p.stateShapes[k]));
    }
    live[v] = variables[k];
  }
  for (size_t v = 0; v < p.values.size(); v++) {
    if (p.values[v].role == Role::kConstant) live[v] = p.pinned[p.values[v].index];
  }
  return live;
}

// Runs the recorded instructions; on an error, what the step made so far is released (the variables are untouched:
// they get their new tensors only after the last instruction).
void runInstructions(const Program& p, std::vector<int32_t>& live, double learningRate) {
  std::vector<ArgValue> scratch;
  try {
    for (const Instruction& instruction : p.instructions) {
      switch (instruction.kind) {
        case Instruction::Kind::kOp:
          runInstruction(instruction, live, scratch, learningRate);
          break;
        case Instruction::Kind::kUpload:
          live[instruction.outputs[0]] = put(instruction.constant);
          break;
        case Instruction::Kind::kRelease:
          if (p.values[instruction.value].role == Role::kMade) {
            release(live[instruction.value]);
            live[instruction.value] = -1;
          }
          break;
      }
    }
  } catch (...) {
    for (size_t v = 0; v < p.values.size(); v++) {
      if (p.values[v].role == Role::kMade && live[v] >= 0) release(live[v]);
    }
    throw;
  }
}

// The outputs' values (read back), then each variable's new tensor into its slot; the step's tensors released.
std::vector<double> finishPlain(const Program& p, std::vector<int32_t>& live, const std::vector<int32_t>& variables) {
  std::vector<double> values;
  for (int32_t v : p.outputs) {
    values.push_back(get(live[v]).to(at::kCPU).to(at::kDouble).item<double>());
    release(live[v]);
  }
  for (size_t k = 0; k < variables.size(); k++) {
    int32_t v = p.stateAfter[k];
    if (v < 0) continue;
    at::Tensor updated = get(live[v]);
    release(live[v]);
    forgetDerived(variables[k]);
    get(variables[k]) = std::move(updated);
  }
  return values;
}

// ---- static replay ----

bool usesVariable(const Program& p, size_t k) { return p.stateBefore[k] >= 0 || p.stateAfter[k] >= 0; }

// The fixed buffers, made at the first static replay: a copy of each input, each variable's current tensor.
StaticStep& fixedBuffers(Program& p, const std::vector<int32_t>& inputs, const std::vector<int32_t>& variables) {
  if (p.fixed) return *p.fixed;
  auto fixed = std::make_shared<StaticStep>();
  for (size_t k = 0; k < inputs.size(); k++) {
    fixed->inputs.push_back(p.inputValues[k] >= 0 ? get(inputs[k]).clone() : at::Tensor());
  }
  for (size_t k = 0; k < variables.size(); k++) {
    fixed->state.push_back(usesVariable(p, k) ? get(variables[k]) : at::Tensor());
  }
  p.fixed = fixed;
  return *fixed;
}

// The batch into the fixed input buffers; each variable back onto its fixed buffer where a normal step replaced it.
void loadFixed(StaticStep& fixed, const std::vector<int32_t>& inputs, const std::vector<int32_t>& variables) {
  for (size_t k = 0; k < inputs.size(); k++) {
    if (fixed.inputs[k].defined()) fixed.inputs[k].copy_(get(inputs[k]));
  }
  for (size_t k = 0; k < variables.size(); k++) {
    if (!fixed.state[k].defined()) continue;
    at::Tensor& slot = get(variables[k]);
    if (slot.is_same(fixed.state[k])) continue;
    fixed.state[k].copy_(slot);
    forgetDerived(variables[k]);
    slot = fixed.state[k];
  }
}

// One static step op by op: bound to the fixed buffers, each variable's new value copied into its buffer at the end,
// the outputs kept in the program. What a CUDA graph captures.
void runFixed(const Program& p, StaticStep& fixed, const std::vector<int32_t>& variables, double learningRate) {
  std::vector<int32_t> inputIds;
  for (const at::Tensor& input : fixed.inputs) inputIds.push_back(input.defined() ? put(input) : -1);
  auto releaseInputs = [&]() {
    for (int32_t id : inputIds) {
      if (id >= 0) release(id);
    }
  };
  try {
    std::vector<int32_t> live = bindValues(p, inputIds, variables);
    runInstructions(p, live, learningRate);
    fixed.outputs.clear();
    for (int32_t v : p.outputs) {
      fixed.outputs.push_back(get(live[v]));
      release(live[v]);
    }
    for (size_t k = 0; k < variables.size(); k++) {
      int32_t v = p.stateAfter[k];
      if (v < 0) continue;
      fixed.state[k].copy_(get(live[v]));
      release(live[v]);
    }
  } catch (...) {
    releaseInputs();
    throw;
  }
  releaseInputs();
}

std::vector<double> fixedOutputValues(const StaticStep& fixed) {
  std::vector<double> values;
  for (const at::Tensor& output : fixed.outputs) values.push_back(output.to(at::kCPU).to(at::kDouble).item<double>());
  return values;
}

// Drops the cached derived copies of the fixed variables (precision.h): a graph replay changes their values without
// bumping their version counters, which is what the cache checks.
void forgetFixedVariables(const StaticStep& fixed, const std::vector<int32_t>& variables) {
  for (size_t k = 0; k < variables.size(); k++) {
    if (fixed.state[k].defined()) forgetDerived(variables[k]);
  }
}

// This step op by op on a side stream, then a graph of the next one captured without running it (cuda-graph.h);
// returns this step's outputs. Each call starts with no derived copies of the variables cached, so the capture
// records the kernels that make them instead of reading a copy made outside the graph, which replays would not refresh.
std::vector<double> runAndCaptureGraph(const Program& p, StaticStep& fixed, const std::vector<int32_t>& variables,
                                       double learningRate) {
  fixed.graph.reset();
  std::vector<double> values;
  bool ran = false;
  std::string why;
  fixed.graph = runThenCapture(
      [&]() {
        forgetFixedVariables(fixed, variables);
        runFixed(p, fixed, variables, learningRate);
        // Read before the capture makes the outputs names of graph memory.
        if (!ran) values = fixedOutputValues(fixed);
        ran = true;
      },
      why);
  fixed.graphRefused = fixed.graph ? "" : why;
  fixed.graphLearningRate = learningRate;
  return values;
}

// A static step: the graph where one is captured for this learning rate; else, on CUDA, this step and the capture
// of a graph; else op by op.
std::vector<double> replayStatic(Program& p, const std::vector<int32_t>& inputs, const std::vector<int32_t>& variables,
                                 double learningRate, bool cuda) {
  StaticStep& fixed = fixedBuffers(p, inputs, variables);
  loadFixed(fixed, inputs, variables);
  std::vector<double> values;
  if (fixed.graph && fixed.graphLearningRate == learningRate && !profiling) {
    fixed.graph->replay();
    fixed.graphReplays++;
    values = fixedOutputValues(fixed);
  } else if (cuda && fixed.graphRefused.empty() && !profiling) {
    values = runAndCaptureGraph(p, fixed, variables, learningRate);
  } else {
    runFixed(p, fixed, variables, learningRate);
    values = fixedOutputValues(fixed);
  }
  forgetFixedVariables(fixed, variables);
  return values;
}

bool onCuda(const std::vector<int32_t>& inputs) {
  for (int32_t id : inputs) {
    if (id >= 0) return get(id).device().is_cuda();
  }
  return false;
}

// replay(handle, inputIds, variableIds, learningRate) -> the outputs' values (each a one-element tensor).
napi_value Replay(napi_env env, napi_callback_info info) {
  return guarded(env, [&]() -> napi_value {
    if (recorder) throw std::runtime_error("replay while a step capture is open");
    auto args = callArgs(env, info, 4);
    if (args.size() != 4) throw std::runtime_error("replay takes 4 arguments");
    Program& p = program(env, args[0]);
    auto inputs = idList(env, args[1], "inputIds");
    auto variables = idList(env, args[2], "variableIds");
    // Checks the inputs' and variables' shapes on every path (a static step copies the batch into fixed buffers,
    // where copy_ would broadcast a wrong shape instead of refusing it).
    std::vector<int32_t> live = bindValues(p, inputs, variables);
    double learningRate;
    N2N_CHECK(napi_get_value_double(env, args[3], &learningRate));
    // On CUDA a program whose graph was refused goes back to plain replays (a static step only adds copies).
    bool cuda = onCuda(inputs) && cudaGraphsBuilt();
    bool graphRefused = p.fixed && !p.fixed->graphRefused.empty();
    std::vector<double> values;
    if (staticReplayForced || (cuda && !graphRefused)) {
      values = replayStatic(p, inputs, variables, learningRate, cuda);
    } else {
      runInstructions(p, live, learningRate);
      values = finishPlain(p, live, variables);
    }
    napi_value result;
    N2N_CHECK(napi_create_array_with_length(env, values.size(), &result));
    for (size_t k = 0; k < values.size(); k++) {
      N2N_CHECK(napi_set_element(env, result, static_cast<uint32_t>(k), number(env, values[k])));
    }
    return result;
  });
}

// replayMode(handle) -> { mode: 'plain' | 'static' | 'graph', graphReplays, graphRefused? }: how the program's
// last replay ran.
napi_value ReplayMode(napi_env env, napi_callback_info info) {
  return guarded(env, [&]() -> napi_value {
    auto args = callArgs(env, info, 1);
    const Program& p = program(env, args.at(0));
    napi_value result, text;
    N2N_CHECK(napi_create_object(env, &result));
    // A program whose graph was refused replays plain again unless static replays are forced (Replay).
    bool refused = p.fixed && !p.fixed->graphRefused.empty();
    const char* mode = !p.fixed || (refused && !staticReplayForced) ? "plain" : p.fixed->graph ? "graph" : "static";
    N2N_CHECK(napi_create_string_utf8(env, mode, NAPI_AUTO_LENGTH, &text));
    N2N_CHECK(napi_set_named_property(env, result, "mode", text));
    double replays = p.fixed ? static_cast<double>(p.fixed->graphReplays) : 0;
    N2N_CHECK(napi_set_named_property(env, result, "graphReplays", number(env, replays)));
    if (refused) {
      N2N_CHECK(napi_create_string_utf8(env, p.fixed->graphRefused.c_str(), NAPI_AUTO_LENGTH, &text));
      N2N_CHECK(napi_set_named_property(env, result, "graphRefused", text));
    }
    return result;
  });
}

// setStaticReplay(on): replays run as static steps on any device (op by op; a graph needs CUDA). Returns the setting.
napi_value SetStaticReplay(napi_env env, napi_callback_info info) {
  return guarded(env, [&]() -> napi_value {
    staticReplayForced = flagArgument(env, info, "setStaticReplay");
    return booleanValue(env, staticReplayForced);
  });
}

// replayProfile(on): true starts timing each replayed op (the device synchronized after each); false stops and
// returns { op: { ms, calls } } of the calls since.
napi_value ReplayProfile(napi_env env, napi_callback_info info) {
  return guarded(env, [&]() -> napi_value {
    bool on = flagArgument(env, info, "replayProfile");
    napi_value result;
    N2N_CHECK(napi_create_object(env, &result));
    if (!on) {
      for (const auto& [name, time] : replayTimes) {
        napi_value entry;
        N2N_CHECK(napi_create_object(env, &entry));
        N2N_CHECK(napi_set_named_property(env, entry, "ms", number(env, time.ms)));
        N2N_CHECK(napi_set_named_property(env, entry, "calls", number(env, static_cast<double>(time.calls))));
        N2N_CHECK(napi_set_named_property(env, result, name.c_str(), entry));
      }
    }
    replayTimes.clear();
    profiling = on;
    return result;
  });
}

napi_value ReleaseCapture(napi_env env, napi_callback_info info) {
  return guarded(env, [&]() -> napi_value {
    auto args = callArgs(env, info, 1);
    Program& p = program(env, args.at(0));
    for (int32_t id : p.pinned) release(id);
    for (auto& owned : programs) {
      if (owned.get() == &p) owned.reset();
    }
    return nullptr;
  });
}

}  // namespace

bool capturing() { return recorder != nullptr; }

std::vector<ArgValue> storedArgs(size_t opIndex, napi_env env, napi_value* values, size_t count) {
  const auto& declared = argumentsOf(opIndex);
  Args args(env, values, count);
  std::vector<ArgValue> stored(count);
  for (size_t i = 0; i < count; i++) {
    const char* name = declared.names[i].c_str();
    ArgValue& value = stored[i];
    switch (declared.kinds[i]) {
      case ArgKind::kTensor:
      case ArgKind::kTensorId:
      case ArgKind::kOptionalTensor:
      case ArgKind::kInt:
      case ArgKind::kDtype:
        value.kind = ArgValue::Kind::kInteger;
        value.integer = args.integer(i, name);
        break;
      case ArgKind::kTensors:
      case ArgKind::kInts:
        value.kind = ArgValue::Kind::kIntegers;
        value.integers = args.integers(i, name);
        break;
      case ArgKind::kNumber:
        value.kind = ArgValue::Kind::kNumber;
        value.number = args.number(i, name);
        break;
      case ArgKind::kFlag:
        value.kind = ArgValue::Kind::kFlag;
        value.flag = args.flag(i, name);
        break;
      case ArgKind::kText:
        value.kind = ArgValue::Kind::kText;
        value.text = args.text(i, name);
        break;
    }
  }
  return stored;
}

void recordOp(size_t opIndex, const std::vector<ArgValue>& args, const std::vector<int32_t>& outputIds) {
  const auto& declared = argumentsOf(opIndex);
  Instruction instruction;
  instruction.op = opIndex;
  instruction.args = args;
  for (size_t i = 0; i < args.size(); i++) {
    ArgValue& value = instruction.args[i];
    if (!isTensorKind(declared.kinds[i])) {
      if (declared.kinds[i] == ArgKind::kNumber && declared.names[i] == "learningRate") {
        instruction.learningRateArg = static_cast<int32_t>(i);
      }
      continue;
    }
    if (declared.kinds[i] == ArgKind::kTensors) {
      for (auto& id : value.integers) id = use(static_cast<int32_t>(id));
    } else if (value.integer >= 0 || declared.kinds[i] != ArgKind::kOptionalTensor) {
      value.integer = use(static_cast<int32_t>(value.integer));
    }
  }
  for (int32_t id : outputIds) instruction.outputs.push_back(made(id));
  recorder->program.instructions.push_back(std::move(instruction));
  recorder->program.opCalls++;
}

void recordUpload(int32_t id) {
  Instruction instruction;
  instruction.kind = Instruction::Kind::kUpload;
  instruction.constant = get(id);
  instruction.outputs.push_back(made(id));
  recorder->program.instructions.push_back(std::move(instruction));
  recorder->program.uploads++;
}

void recordRelease(int32_t id) {
  int32_t value = use(id);
  recorder->program.values[value].released = true;
  recorder->valueOf.erase(id);
  Instruction instruction;
  instruction.kind = Instruction::Kind::kRelease;
  instruction.value = value;
  recorder->program.instructions.push_back(std::move(instruction));
  recorder->program.releases++;
}

void recordRead(int32_t id) {
  if (recorder->refused.empty()) {
    recorder->refused = "tensor " + std::to_string(id) + " was read back during the step";
  }
}

void initStepCapture(napi_env env, napi_value exports) {
  struct Entry {
    const char* name;
    napi_callback callback;
  };
  const Entry entries[] = {{"captureBegin", CaptureBegin},
                           {"captureEnd", CaptureEnd},
                           {"captureAbort", CaptureAbort},
                           {"replay", Replay},
                           {"releaseCapture", ReleaseCapture},
                           {"replayProfile", ReplayProfile},
                           {"replayMode", ReplayMode},
                           {"setStaticReplay", SetStaticReplay}};
  for (const auto& entry : entries) exportFunction(env, exports, entry.name, entry.callback);
}

}  // namespace n2n
