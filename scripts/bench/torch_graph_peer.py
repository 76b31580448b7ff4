"""PyTorch peer for `npm run bench -- train`: the same network as ours, built from the TensorFlow.js model's topology
(`model.toJSON()`, Keras format), trained with RMSProp on random data, timed like the TypeScript bench.

Usage: python3 torch_graph_peer.py --model-json FILE [--batch-size N] [--steps N] [--warmup N] [--threads N]
                                   [--device cpu|cuda] [--channels-last] [--weight-decay X]
                                   [--precision fp32|bf16|tf32] [--cudnn-benchmark]
--precision bf16 runs forward and loss under torch.autocast (bfloat16), as a PyTorch user would; tf32 (CUDA only)
lets cuDNN and cuBLAS round float32 inputs to TF32; fp32 and bf16 turn TF32 off, so the peer computes what ours does.
Prints one JSON line: train_img_per_s, infer_img_per_s, step_ms, step_cpu_ms, params, device, threads, peak RSS (and CUDA memory).

Layers: Conv2D, BatchNormalization, ReLU, MaxPooling2D, AveragePooling2D, Concatenate, GlobalAveragePooling2D, Dense
(what the project's builders use); anything else is an error naming the layer. 'same' padding is TensorFlow's
(asymmetric when strided; average pooling excludes the padding). Runs on Debian's PyTorch 1.13 and on torch 2.x.
"""
import argparse
import json
import math
import resource
import sys
import time

import torch
import torch.nn as nn
import torch.nn.functional as F


def same_padding(size, kernel, stride):
    """TensorFlow's 'same' padding along one axis: (before, after)."""
    out = math.ceil(size / stride)
    total = max((out - 1) * stride + kernel - size, 0)
    return total // 2, total - total // 2


class SamePad(nn.Module):
    """Pads H and W as TensorFlow's 'same' does for this input size, kernel and stride."""

    def __init__(self, kernel, stride, value=0.0):
        super().__init__()
        self.kernel, self.stride, self.value = kernel, stride, value

    def forward(self, x):
        top, bottom = same_padding(x.shape[2], self.kernel[0], self.stride[0])
        left, right = same_padding(x.shape[3], self.kernel[1], self.stride[1])
        if top == bottom and left == right and self.value == 0.0:
            return x if top == 0 and left == 0 else F.pad(x, (left, right, top, bottom))
        return F.pad(x, (left, right, top, bottom), value=self.value)


def pair(v):
    return tuple(v) if isinstance(v, (list, tuple)) else (v, v)


def conv_layer(cfg, channels):
    kernel, stride = pair(cfg["kernel_size"]), pair(cfg["strides"])
    if pair(cfg.get("dilation_rate", 1)) != (1, 1):
        raise ValueError(f"layer {cfg['name']}: dilated convolutions are not supported")
    conv = nn.Conv2d(channels, cfg["filters"], kernel, stride, bias=cfg["use_bias"])
    act = cfg.get("activation", "linear")
    if act not in ("linear", "relu"):
        raise ValueError(f"layer {cfg['name']}: activation {act} is not supported")
    layers = [conv]
    if cfg["padding"] == "same":
        symmetric = stride == (1, 1) and kernel[0] % 2 == 1 and kernel[1] % 2 == 1
        if symmetric:
            conv.padding = (kernel[0] // 2, kernel[1] // 2)
        else:
            layers.insert(0, SamePad(kernel, stride))
    if act == "relu":
        layers.append(nn.ReLU(inplace=True))
    return nn.Sequential(*layers) if len(layers) > 1 else conv, cfg["filters"]


def pool_layer(cfg, channels, kind):
    kernel, stride = pair(cfg["pool_size"]), pair(cfg["strides"] or cfg["pool_size"])
    same = cfg["padding"] == "same"
    if kind == "max":
        pool = nn.MaxPool2d(kernel, stride)
        return (nn.Sequential(SamePad(kernel, stride, float("-inf")), pool) if same else pool), channels
    if same:
        symmetric = stride == (1, 1) and kernel[0] % 2 == 1 and kernel[1] % 2 == 1
        if not symmetric:
            raise ValueError(f"layer {cfg['name']}: strided 'same' average pooling is not supported")
        return nn.AvgPool2d(kernel, stride, (kernel[0] // 2, kernel[1] // 2), count_include_pad=False), channels
    return nn.AvgPool2d(kernel, stride), channels


class GraphNet(nn.Module):
    """A functional Keras graph (single input, single output) as a PyTorch module, NCHW logical layout."""

    def __init__(self, topology):
        super().__init__()
        config = topology["config"]
        self.order, self.inputs_of, self.kinds = [], {}, {}
        self.mods = nn.ModuleDict()
        channels = {}
        self.keys = {}
        for layer in config["layers"]:
            name, cls, cfg = layer["name"], layer["class_name"], layer["config"]
            inbound = [node[0] for node in layer["inbound_nodes"][0]] if layer["inbound_nodes"] else []
            key = f"m{len(self.order)}"
            self.keys[name] = key
            self.order.append(name)
            self.inputs_of[name] = inbound
            self.kinds[name] = cls
            c_in = [channels[i] for i in inbound]
            if cls == "InputLayer":
                self.input_shape = cfg["batch_input_shape"][1:]
                channels[name] = self.input_shape[2]
                continue
            if cls == "Conv2D":
                mod, channels[name] = conv_layer(cfg, c_in[0])
            elif cls == "BatchNormalization":
                if cfg.get("axis", -1) not in (-1, 3):
                    raise ValueError(f"layer {name}: BatchNormalization on axis {cfg['axis']} is not supported")
                mod, channels[name] = nn.BatchNorm2d(c_in[0], eps=cfg["epsilon"], momentum=1 - cfg["momentum"]), c_in[0]
            elif cls == "ReLU" or (cls == "Activation" and cfg.get("activation") == "relu"):
                mod, channels[name] = nn.ReLU(inplace=False), c_in[0]
            elif cls == "MaxPooling2D":
                mod, channels[name] = pool_layer(cfg, c_in[0], "max")
            elif cls == "AveragePooling2D":
                mod, channels[name] = pool_layer(cfg, c_in[0], "avg")
            elif cls == "Concatenate":
                if cfg.get("axis", -1) not in (-1, 3):
                    raise ValueError(f"layer {name}: Concatenate on axis {cfg['axis']} is not supported")
                mod, channels[name] = None, sum(c_in)
            elif cls == "GlobalAveragePooling2D":
                mod, channels[name] = nn.Sequential(nn.AdaptiveAvgPool2d(1), nn.Flatten()), c_in[0]
            elif cls == "Dense":
                if cfg.get("activation", "linear") != "linear":
                    raise ValueError(f"layer {name}: Dense activation {cfg['activation']} is not supported")
                mod, channels[name] = nn.Linear(c_in[0], cfg["units"], bias=cfg["use_bias"]), cfg["units"]
            else:
                raise ValueError(f"layer {name}: class {cls} is not supported by the PyTorch peer")
            if mod is not None:
                self.mods[key] = mod
        outputs = config["output_layers"]
        if len(outputs) != 1 or len(config["input_layers"]) != 1:
            raise ValueError("the PyTorch peer takes models with one input and one output")
        self.output = outputs[0][0]

    def forward(self, x):
        values = {}
        for name in self.order:
            kind, inbound = self.kinds[name], self.inputs_of[name]
            if kind == "InputLayer":
                values[name] = x
            elif kind == "Concatenate":
                values[name] = torch.cat([values[i] for i in inbound], 1)
            else:
                values[name] = self.mods[self.keys[name]](values[inbound[0]])
        return values[self.output]


def main():
    p = argparse.ArgumentParser()
    p.add_argument("--model-json", required=True)
    p.add_argument("--batch-size", type=int, default=64)
    p.add_argument("--steps", type=int, default=5)
    p.add_argument("--warmup", type=int, default=2)
    p.add_argument("--threads", type=int, default=0, help="intra-op threads (0: PyTorch's default)")
    p.add_argument("--device", default="cpu", choices=["cpu", "cuda"])
    p.add_argument("--channels-last", action="store_true")
    p.add_argument("--weight-decay", type=float, default=4e-5)
    p.add_argument("--precision", default="fp32", choices=["fp32", "bf16", "tf32"])
    p.add_argument("--cudnn-benchmark", action="store_true")
    a = p.parse_args()
    if a.precision == "tf32" and a.device != "cuda":
        sys.exit("torch_graph_peer: --precision tf32 is CUDA-only")
    tf32 = a.precision == "tf32"
    torch.backends.cuda.matmul.allow_tf32 = tf32
    torch.backends.cudnn.allow_tf32 = tf32
    bf16 = a.precision == "bf16"

    if a.threads > 0:
        torch.set_num_threads(a.threads)
    if a.device == "cuda":
        if not torch.cuda.is_available():
            sys.exit("torch_graph_peer: --device cuda but torch.cuda.is_available() is False")
        torch.backends.cudnn.benchmark = a.cudnn_benchmark
    with open(a.model_json) as f:
        topology = json.load(f)
    torch.manual_seed(0)
    model = GraphNet(topology)
    h, w, c = model.input_shape
    fmt = torch.channels_last if a.channels_last else torch.contiguous_format
    device = torch.device(a.device)
    model = model.to(device=device, memory_format=fmt)
    x = torch.randn(a.batch_size, c, h, w, device=device).contiguous(memory_format=fmt)
    with torch.no_grad():
        classes = model(x[:1]).shape[1]
    y = torch.randint(0, classes, (a.batch_size,), device=device)
    opt = torch.optim.RMSprop(
        model.parameters(), lr=0.01, alpha=0.9, eps=1.0, momentum=0.9, weight_decay=a.weight_decay
    )
    lossf = nn.CrossEntropyLoss()
    sync = torch.cuda.synchronize if a.device == "cuda" else (lambda: None)

    def step():
        opt.zero_grad(set_to_none=True)
        with torch.autocast(a.device, dtype=torch.bfloat16, enabled=bf16):
            loss = lossf(model(x), y)
        loss.backward()
        opt.step()

    model.train()
    for _ in range(a.warmup):
        step()
    sync()
    t = time.perf_counter()
    cpu = time.process_time()
    for _ in range(a.steps):
        step()
    sync()
    train_s = time.perf_counter() - t
    train_cpu_s = time.process_time() - cpu
    model.eval()
    with torch.no_grad(), torch.autocast(a.device, dtype=torch.bfloat16, enabled=bf16):
        model(x)
        sync()
        t = time.perf_counter()
        for _ in range(a.steps):
            model(x)
        sync()
        infer_s = time.perf_counter() - t
    result = {
        "peer": "pytorch",
        "torch_version": torch.__version__,
        "device": a.device,
        "device_name": torch.cuda.get_device_name(0) if a.device == "cuda" else "cpu",
        "threads": torch.get_num_threads(),
        "channels_last": a.channels_last,
        "cudnn_benchmark": bool(a.device == "cuda" and a.cudnn_benchmark),
        "precision": a.precision,
        "batch_size": a.batch_size,
        "input": f"{h}x{w}x{c}",
        "params": sum(p.numel() for p in model.parameters()),
        "steps": a.steps,
        "warmup_steps": a.warmup,
        "train_img_per_s": round(a.batch_size * a.steps / train_s, 2),
        "infer_img_per_s": round(a.batch_size * a.steps / infer_s, 2),
        "step_ms": round(1000 * train_s / a.steps, 2),
        # CPU time of the process (all threads) per step: steadier than wall time on a shared machine.
        "step_cpu_ms": round(1000 * train_cpu_s / a.steps, 2),
        "peak_rss_mb": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1),
    }
    if a.device == "cuda":
        result["cuda_peak_mb"] = round(torch.cuda.max_memory_allocated() / 2**20, 1)
    print(json.dumps(result))


if __name__ == "__main__":
    main()
