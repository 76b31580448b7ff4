// CUDA graphs of replayed steps (cuda-graph.h). Compiled with N2N_CUDA_GRAPHS only where the build found the CUDA
// runtime headers libtorch's CUDA headers include (scripts/build-torch-addon.mjs probes for them).
#include "cuda-graph.h"

#include <exception>

#ifdef N2N_CUDA_GRAPHS
#include <ATen/cuda/CUDAGraph.h>
#include <c10/cuda/CUDAGuard.h>
#include <c10/cuda/CUDAStream.h>
#endif

namespace n2n {

#ifdef N2N_CUDA_GRAPHS

namespace {

class CudaStepGraph final : public StepGraph {
 public:
  at::cuda::CUDAGraph graph;
  void replay() override { graph.replay(); }
};

}  // namespace

bool cudaGraphsBuilt() { return true; }

std::unique_ptr<StepGraph> runThenCapture(const std::function<void()>& step, std::string& why) {
  // A capture must not run on the legacy default stream. The streams are ordered by waiting on the host: this runs
  // once per capture, not once per step.
  c10::cuda::getCurrentCUDAStream().synchronize();
  c10::cuda::CUDAStream side = c10::cuda::getStreamFromPool();
  {
    c10::cuda::CUDAStreamGuard onSide(side);
    step();
  }
  side.synchronize();
  auto captured = std::make_unique<CudaStepGraph>();
  c10::cuda::CUDAStreamGuard onSide(side);
  try {
    captured->graph.capture_begin();
  } catch (const std::exception& error) {
    why = std::string("capture_begin: ") + error.what();
    return nullptr;
  }
  try {
    step();
  } catch (const std::exception& error) {
    why = error.what();
    try {
      captured->graph.capture_end();
    } catch (const std::exception&) {
      // The capture is invalid already; its own error is the one to report.
    }
    return nullptr;
  }
  try {
    captured->graph.capture_end();
  } catch (const std::exception& error) {
    why = std::string("capture_end: ") + error.what();
    return nullptr;
  }
  return captured;
}

#else

bool cudaGraphsBuilt() { return false; }

std::unique_ptr<StepGraph> runThenCapture(const std::function<void()>& step, std::string& why) {
  step();
  why = "this build of the addon has no CUDA graphs (no CUDA runtime headers at build time)";
  return nullptr;
}

#endif

}  // namespace n2n
