// Process-wide device settings of the torch backend: cuDNN's flags, synchronizing a CUDA device before a time is read,
// and the switch that makes the ops with a CPU fast path take their device-generic branch (the one CUDA takes).
#pragma once

#include <node_api.h>

namespace n2n {

// True when NET2NET_TORCH_GENERIC_KERNELS=1 was set at load, or setGenericKernels(true) was called: the CPU fast
// paths (step, bnTraining, bnTrainingGrad) are skipped so that CI on a CPU tests the formulas CUDA runs.
bool genericKernels();

// Waits for the current CUDA device's queued kernels; returns whether there was a device to wait for.
bool synchronizeDevice();

// Sets cuDNN deterministic and benchmark off, reads NET2NET_TORCH_GENERIC_KERNELS, and adds cudnnFlags,
// setCudnnBenchmark, synchronize, genericKernels and setGenericKernels to the addon's exports.
void initDeviceControl(napi_env env, napi_value exports);

}  // namespace n2n
