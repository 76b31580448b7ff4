// CUDA graphs for replayed steps (step-capture.cc): where the addon was built with the CUDA runtime headers, a step
// is captured once into a graph and later steps are one graph launch. Without them every call reports so and runs
// nothing on a graph.
#pragma once

#include <functional>
#include <memory>
#include <string>

namespace n2n {

// One captured step: replay() launches it on the current CUDA stream.
class StepGraph {
 public:
  virtual ~StepGraph() = default;
  virtual void replay() = 0;
};

// Whether this build of the addon can capture CUDA graphs.
bool cudaGraphsBuilt();

// Runs `step` once on a side stream of the current CUDA device, ordered after and before the current stream's work
// (a real step, and the warm-up libtorch wants before a capture), then records a second call of `step` into a graph
// without running it. Returns null with `why` set when the build has no CUDA graphs or the capture failed; the
// first call has run either way.
std::unique_ptr<StepGraph> runThenCapture(const std::function<void()>& step, std::string& why);

}  // namespace n2n
